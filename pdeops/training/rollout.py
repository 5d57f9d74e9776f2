"""The one autoregressive rollout: a stepping function applied to its own output, block after block.

Validation, the staggered physics task, ``pdeops.evaluation.rollout`` (and so ``pdeops evaluate``, ``pdeops
rollout`` and the benchmark) all advance a task through this function; a task only states how it steps.
"""

from collections.abc import Callable

import torch

Tensor = torch.Tensor


def rollout(
    step: Callable[[Tensor], Tensor],
    initial: Tensor,
    steps: int,
    *,
    input_frames: int,
    output_frames: int,
    grad_steps: int | None = None,
) -> Tensor:
    """Advance ``step`` from ``initial`` until ``steps`` frames are predicted.

    Each call of ``step`` sees the last ``input_frames`` frames (of ``initial`` and of what it has predicted so far)
    and returns the next ``output_frames``; the last block is cut to ``steps``.

    Args:
        step: ``(B, input_frames, C, *S) -> (B, output_frames, C, *S)``.
        initial: ``(B, K, C, *S)`` with ``K ≥ input_frames``; the last ``input_frames`` are used.
        steps: frames to predict, ≥ 1.
        input_frames, output_frames: what ``step`` reads and returns.
        grad_steps: keep the autograd graph only for the blocks that produce one of the last ``grad_steps`` frames
            (pushforward training); None keeps it for all (when grad is enabled at all).

    Returns:
        ``(B, steps, C, *S)``.
    """
    if steps < 1 or initial.shape[1] < input_frames:
        raise ValueError(
            f"a rollout needs steps >= 1 and at least {input_frames} initial frame(s), got steps={steps} and "
            f"{initial.shape[1]} frame(s)."
        )
    window, blocks, produced = initial[:, -input_frames:], [], 0
    while produced < steps:
        keep_graph = grad_steps is None or produced + output_frames > steps - grad_steps
        with torch.set_grad_enabled(keep_graph and torch.is_grad_enabled()):
            block = step(window)
        blocks.append(block)
        produced += block.shape[1]
        window = torch.cat([window, block], dim=1)[:, -input_frames:]
    return torch.cat(blocks, dim=1)[:, :steps]
