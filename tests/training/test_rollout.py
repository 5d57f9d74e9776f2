"""``pdeops.training.rollout``: the one autoregressive rollout."""

import pytest
import torch

from pdeops.training import rollout


def test_blocks_chain_on_their_own_output_and_the_last_is_cut() -> None:
    """A step that returns the next 2 frames as the last input frame + 1 and + 2, from a 3-frame window."""
    seen: list[torch.Tensor] = []

    def step(window: torch.Tensor) -> torch.Tensor:
        seen.append(window[0, :, 0, 0].clone())
        return window[:, -1:] + torch.arange(1.0, 3.0).reshape(1, 2, 1, 1)

    initial = torch.arange(5.0).reshape(1, 5, 1, 1)  # frames 0..4: the step sees 2, 3, 4
    out = rollout(step, initial, 5, input_frames=3, output_frames=2)
    assert out[0, :, 0, 0].tolist() == [5.0, 6.0, 7.0, 8.0, 9.0]
    assert [w.tolist() for w in seen] == [[2.0, 3.0, 4.0], [4.0, 5.0, 6.0], [6.0, 7.0, 8.0]]


def test_grad_steps_keeps_the_graph_of_the_last_blocks_only() -> None:
    weight = torch.ones((), requires_grad=True)
    graphs: list[bool] = []

    def step(window: torch.Tensor) -> torch.Tensor:
        out = weight * window[:, -1:]
        graphs.append(out.requires_grad)
        return out

    rollout(step, torch.ones(1, 1, 1), 4, input_frames=1, output_frames=1, grad_steps=1)
    assert graphs == [False, False, False, True]  # pushforward: backpropagate through the last step only


def test_too_few_initial_frames_are_named() -> None:
    with pytest.raises(ValueError, match="at least 3 initial frame"):
        rollout(lambda w: w, torch.zeros(1, 2, 1), 1, input_frames=3, output_frames=1)
