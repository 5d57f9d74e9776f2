"""Physics-constrained training of block operators, NeuralStagger's and the fine solver it is compared with.

A block operator maps the last ``k`` frames to the next ``k`` (``k = s_T`` for ``pdeops.models.NeuralStagger``; the
fine one-step solver is ``k = 1``). Its loss is the vanilla fine physics loss of the reassembled field: the residual
of one fine step (e.g. ``pdeops.losses.VorticityResidual``, one Crank–Nicolson step of Δt) over every consecutive pair
of frames in [input block ‖ predicted frames], the pair across the block boundary included (our reading of Fig. 1 of
Huang et al. 2023; the pairs inside the input block carry no gradient). With ``k = 1`` and one predicted frame it is
``residual(previous, predicted)``, the loss of ``PhysicsTask``.

Data-free training needs input states. As physics-constrained solvers usually do, a ``StatePool`` keeps states that
the network advances itself (detached), seeded with the data's input frames, so the training distribution follows the
flow as it develops; a state is re-seeded once it has been advanced ``pool_horizon`` frames. Seed it with initial
conditions only (frame 0, and the ``k - 1`` solver frames after it when ``k > 1``) for training without solver data.
"""

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from pdeops.training.tasks import PhysicsTask, Residual

Tensor = torch.Tensor


def block_residual(residual: Residual, inputs: Tensor, outputs: Tensor) -> Tensor:
    """The fine residual over every consecutive pair of frames in ``[inputs ‖ outputs]``.

    Args:
        residual: ``residual(previous (N, C, *S), next (N, C, *S)) -> scalar`` (mean over the N pairs).
        inputs: ``(B, k, C, *S)``, the input block.
        outputs: ``(B, T, C, *S)``, the frames that follow it.

    Returns:
        The residual of the ``B·(k + T − 1)`` pairs, batch-major.
    """
    frames = torch.cat([inputs, outputs], dim=1)
    return residual(frames[:, :-1].flatten(0, 1), frames[:, 1:].flatten(0, 1))


class StatePool:
    """A pool of ``size`` states that the network advances itself, each re-seeded after ``horizon`` frames.

    Every entry starts expired, so the first draws seed the pool with the fresh states they are given.

    Args:
        size: number of states kept.
        horizon: frames a state is advanced before it is replaced by a fresh one.
    """

    def __init__(self, size: int, horizon: int):
        if size < 1 or horizon < 1:
            raise ValueError(f"pool size and horizon must be >= 1, got size={size}, horizon={horizon}.")
        self.size, self.horizon = size, horizon
        self.states: Tensor | None = None  # (size, k, C, *S)
        self.age: Tensor | None = None  # (size,): frames each state has been advanced since it was seeded

    def draw(self, fresh: Tensor) -> tuple[Tensor, Tensor]:
        """``B`` random states, the expired ones replaced by the fresh ones at the same batch positions.

        Args:
            fresh: ``(B, k, C, *S)`` seed states, ``B <= size``.

        Returns:
            The states ``(B, k, C, *S)`` and their pool indices ``(B,)``.
        """
        if fresh.shape[0] > self.size:
            raise ValueError(f"the batch ({fresh.shape[0]} states) is larger than the pool ({self.size} states).")
        if self.states is None or self.age is None or self.states.shape[1:] != fresh.shape[1:]:
            self.states = torch.empty((self.size, *fresh.shape[1:]), dtype=fresh.dtype, device=fresh.device)
            self.age = torch.full((self.size,), self.horizon, device=fresh.device)
        index = torch.randperm(self.size, device=fresh.device)[: fresh.shape[0]]
        expired = self.age[index] >= self.horizon
        self.states[index[expired]] = fresh[expired]
        self.age[index[expired]] = 0
        return self.states[index], index

    def update(self, index: Tensor, states: Tensor, advanced: int) -> None:
        """Replace the drawn states by where the network took them, ``advanced`` frames later (detached)."""
        if self.states is None or self.age is None:
            raise RuntimeError("StatePool.update before draw: there is no state to replace.")
        self.states[index] = states.detach()
        self.age[index] += advanced


class StaggeredPhysicsTask(PhysicsTask):
    """A block operator (``k`` frames in, the next ``k`` out) trained on the fine residual, with or without data.

    ``loss = physics_weight · block_residual(residual, inputs, predicted) + data_weight · relative L2(predicted,
    target)``. ``k`` is ``history`` (``data.history`` in a config), which must equal a NeuralStagger's
    ``temporal_factor``; ``unroll`` (``data.horizon``) predicted frames per training state, a multiple of ``k``.

    The network maps ``(B, k·C, *S) -> (B, k·C, *S)`` in normalised units. With ``increment_scale = c`` it predicts
    each frame's change over the ``k·Δt`` step: output frame m is input frame m plus ``k·c`` times the network's
    output m, so one unit of output stands for a change of ``c`` standard deviations per fine step. A network at
    initialisation is then close to persistence, with outputs of order one, and data-free training need not first
    learn the identity to the accuracy that the residual's 1/Δt demands (our choice: without it, or with c = 1, tiny
    data-free runs stalled at persistence for most seeds). Good values of c are near the relative change of a frame
    over one fine step (0.05 per Δt = 0.1 in the FNO setting). With None the output is the next frames themselves,
    as in ``PhysicsTask``.
    The fine physics-constrained solver is this task with ``k = 1`` and a fine network, e.g. ``neuralop.models.FNO``.

    Args:
        model: the block network, e.g. ``pdeops.models.NeuralStagger``.
        residual: the fine residual ``residual(previous (N, C, *S), next (N, C, *S)) -> scalar``; None: the data
            file's (see ``PhysicsTask``).
        physics_weight, data_weight: the loss weights; ``data_weight = 0`` is data-free.
        history: ``k``, frames per block.
        channels, spatial_dims: see ``BaseOperatorTask`` (linked from the data).
        unroll: frames predicted per training state (a multiple of ``history``).
        rollout_steps: validation rollout length in frames.
        increment_scale: ``c`` above, or None to predict the frames themselves.
        pool_size: states in the ``StatePool`` (0: train on the data windows' input frames, as ``PhysicsTask``).
        pool_horizon: frames a pool state is advanced before it is re-seeded from the data.
        optimizer, lr_scheduler, compile: see ``pdeops.training.tasks.BaseOperatorTask``.
    """

    def __init__(
        self,
        model: nn.Module,
        residual: nn.Module | None = None,
        physics_weight: float = 1.0,
        data_weight: float = 0.0,
        history: int = 1,
        channels: int = 1,
        spatial_dims: int = 2,
        unroll: int = 1,
        rollout_steps: int = 10,
        increment_scale: float | None = 0.1,
        pool_size: int = 0,
        pool_horizon: int = 10,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        compile: bool = False,
    ):
        super().__init__(
            model,
            residual,
            physics_weight=physics_weight,
            data_weight=data_weight,
            history=history,
            channels=channels,
            spatial_dims=spatial_dims,
            unroll=unroll,
            rollout_steps=rollout_steps,
            optimizer=optimizer,
            lr_scheduler=lr_scheduler,
            compile=compile,
        )
        _check_block_settings(model, history, unroll, data_weight, pool_size)
        self.increment_scale = increment_scale
        self.pool = StatePool(pool_size, pool_horizon) if pool_size > 0 else None

    @property
    def output_frames(self) -> int:
        return self.history

    def step(self, window: Tensor) -> Tensor:
        """The next block: ``(B, ≥k, C, *S) -> (B, k, C, *S)``, physical units (the last ``k`` frames are used)."""
        x = self.normalize(window[:, -self.history :])
        out = self.model(x.flatten(1, 2))
        if out.shape[1] != x.shape[1] * x.shape[2] or out.shape[2:] != x.shape[3:]:
            raise ValueError(
                f"The network returned {tuple(out.shape)} for input {tuple(x.flatten(1, 2).shape)}; a block "
                f"operator returns (B, history·channels, *S) = (B, {self.history * self.channels}, *S)."
            )
        out = out.unflatten(1, (self.history, self.channels))
        if self.increment_scale is None:
            return self.denormalize(out)
        return self.denormalize(x + self.history * self.increment_scale * out)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        inputs = batch["input"][:, -self.history :]
        if self.pool is not None:
            inputs, index = self.pool.draw(inputs)
        pred = self.rollout(inputs, self.unroll)
        physics = block_residual(self.physics_residual(), inputs, pred)
        loss = self.physics_weight * physics
        batch_size = inputs.shape[0]
        if self.data_weight > 0:
            data = self.loss(pred, batch["target"][:, : self.unroll])
            loss = loss + self.data_weight * data
            self.log("train/data_loss", data, batch_size=batch_size)
        if self.pool is not None:
            self.pool.update(index, pred[:, -self.history :], self.unroll)
        self.log("train/physics_loss", physics, batch_size=batch_size)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        return loss


def _check_block_settings(model: nn.Module, history: int, unroll: int, data_weight: float, pool_size: int) -> None:
    temporal_factor = getattr(model, "temporal_factor", history)
    if temporal_factor != history:
        raise ValueError(
            f"The model advances blocks of temporal_factor={temporal_factor} frames but history={history}; set "
            f"data.history (or history) to {temporal_factor}."
        )
    if unroll % history:
        raise ValueError(
            f"unroll ({unroll}, data.horizon in a config) must be a multiple of history ({history}) so that every "
            "sub-solver of a block is trained."
        )
    if pool_size < 0 or (pool_size > 0 and data_weight > 0):
        raise ValueError(
            f"pool_size must be >= 0, and 0 when data_weight > 0 (pool states have no data targets); got "
            f"pool_size={pool_size}, data_weight={data_weight}."
        )
