"""LightningModules, one per kind of training: autoregressive one-step operators, spatiotemporal operators, and
physics-constrained training.

Batches come from ``PDEDataModule`` in physical units: windows ``{"input": (B, k, C, *S), "target": (B, h, C, *S)}``
or trajectories ``{"trajectory": (B, T, C, *S)}``. Each task owns the normalisation (per-channel mean and std of the
training split, kept as buffers so that a checkpoint alone can roll out) and applies it around the network, so the
network sees normalised fields and every loss and metric is computed in physical units.

Losses are neuraloperator's ``LpLoss`` (relative L2 over space per sample and channel, mean over the batch: the
reduction of Li et al.'s FNO experiments).

Checkpoints are self-contained. The networks are constructor arguments that ``save_hyperparameters`` leaves out
(they are modules, not settings, and LightningCLI drops them too), so each task also writes ``CHECKPOINT_KEY``: its
own class path and, per network argument, the ``{"class_path", "init_args"}`` record (jsonargparse's layout) that
rebuilds it, in plain data that ``torch.load(weights_only=True)`` reads. neuraloperator models, ``pdeops.models``
among them, keep their constructor arguments (``_init_kwargs``), which is where the record comes from; another
network gets ``None`` and must be passed to ``pdeops.evaluation.load_task`` by the caller.
"""

import inspect
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from neuralop.losses import LpLoss
from torch import nn

Tensor = torch.Tensor

CHECKPOINT_KEY = "pdeops"
"""The checkpoint entry ``{"task": class path, "modules": {argument: constructor_record(...) or None}}``."""

_NEURALOP_METADATA = "_metadata"  # the state-dict entry where neuraloperator's BaseModel puts its _init_kwargs
_PLAIN = (type(None), bool, int, float, str)


def class_path(cls: type) -> str:
    """``module.QualifiedName`` of a class, which ``importlib`` resolves back to it."""
    return f"{cls.__module__}.{cls.__qualname__}"


def constructor_record(module: nn.Module) -> dict[str, Any] | None:
    """How to rebuild ``module``: ``{"class_path": ..., "init_args": {...}}`` in plain data, or None if unknown.

    The arguments come from neuraloperator's ``_init_kwargs`` (keyword arguments with the defaults filled in, the
    positional ones under ``"args"``). An argument that is not plain data (numbers, strings, None, and lists, tuples
    and dicts of them), e.g. the function ``non_linearity=F.gelu``, is left out when it is the constructor's
    default, which rebuilding reuses; any other such argument makes the module unrecordable.

    Args:
        module: a network.

    Returns:
        The record, or None for a module that kept no constructor arguments or kept some that are not plain data.
    """
    recorded = getattr(module, "_init_kwargs", None)
    if not isinstance(recorded, dict):
        return None
    parameters = inspect.signature(type(module)).parameters
    positional = [name for name, p in parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    args = tuple(recorded.get("args", ()))
    if len(args) > len(positional):
        return None
    given = {name: value for name, value in recorded.items() if name in parameters}
    given.update(zip(positional, args, strict=False))  # positional values, over the defaults filled in for them
    init_args = {}
    for name, value in given.items():
        if _is_plain(value):
            init_args[name] = value
        elif value is not parameters[name].default:
            return None
    return {"class_path": class_path(type(module)), "init_args": init_args}


def _is_plain(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_plain(item) for key, item in value.items())
    return isinstance(value, _PLAIN)


def relative_l2_per_step(pred: Tensor, true: Tensor) -> Tensor:
    """``‖pred_t − true_t‖₂ / ‖true_t‖₂`` over (C, *S) for ``(B, T, C, *S)``; returns ``(B, T)`` in the input dtype.

    The training-time twin of ``pdeops.evaluation.metrics.relative_lp_per_step`` (which works in float64 and
    cannot be imported here: evaluation imports the tasks).
    """
    return (pred - true).flatten(2).norm(dim=-1) / true.flatten(2).norm(dim=-1).clamp_min(1e-12)


class BaseOperatorTask(L.LightningModule):
    """Normalisation buffers, the loss, and logging shared by the operator tasks.

    Args:
        model: the network (channels-first; see the subclass for its input and output).
        channels: physical channels C of the data (linked from the data module).
        spatial_dims: number of spatial axes (linked from the data module).
    """

    norm_mean: Tensor  # buffers (C,): the training split's per-channel statistics
    norm_std: Tensor
    normalizer_fitted: Tensor

    def __init__(self, model: nn.Module, channels: int = 1, spatial_dims: int = 2):
        super().__init__()
        self.model = model
        self.channels, self.spatial_dims = channels, spatial_dims
        self.register_buffer("norm_mean", torch.zeros(channels))
        self.register_buffer("norm_std", torch.ones(channels))
        self.register_buffer("normalizer_fitted", torch.tensor(False))
        self.loss_fn = LpLoss(d=spatial_dims, p=2, reduction="mean")

    # --- normalisation ---------------------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """Take the training split's statistics from the data module once (a restored checkpoint has them)."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if bool(self.normalizer_fitted) or datamodule is None or getattr(datamodule, "normalizer", None) is None:
            return
        normalizer = datamodule.normalizer
        self.norm_mean.copy_(torch.as_tensor(normalizer.mean, dtype=self.norm_mean.dtype).reshape(-1))
        self.norm_std.copy_(torch.as_tensor(normalizer.std, dtype=self.norm_std.dtype).reshape(-1))
        self.normalizer_fitted.fill_(True)

    def _channel_view(self, x: Tensor) -> tuple[Tensor, Tensor]:
        shape = (-1,) + (1,) * self.spatial_dims
        return self.norm_mean.reshape(shape).to(x.dtype), self.norm_std.reshape(shape).to(x.dtype)

    def normalize(self, x: Tensor) -> Tensor:
        """``(..., C, *S)`` physical → normalised."""
        mean, std = self._channel_view(x)
        return (x - mean) / std

    def denormalize(self, x: Tensor) -> Tensor:
        """``(..., C, *S)`` normalised → physical."""
        mean, std = self._channel_view(x)
        return x * std + mean

    def loss(self, pred: Tensor, true: Tensor) -> Tensor:
        """Relative L2 over space, mean over batch, time and channels; inputs ``(B, T, C, *S)``."""
        return self.loss_fn(pred.flatten(1, 2), true.flatten(1, 2))

    # --- checkpoints -----------------------------------------------------------------------------------------------
    @classmethod
    def network_arguments(cls) -> list[str]:
        """The constructor arguments typed ``nn.Module`` (``model``, and e.g. ``residual``), kept as attributes."""
        parameters = inspect.signature(cls.__init__).parameters
        return [name for name, parameter in parameters.items() if parameter.annotation is nn.Module]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Write ``CHECKPOINT_KEY`` (see the module docstring) and drop neuraloperator's ``_metadata`` entry.

        That entry (``_init_kwargs`` again, functions included) is no tensor: it would stop ``weights_only``
        loading, and the task's ``load_state_dict`` would reject it as an unexpected key.
        """
        checkpoint["state_dict"].pop(_NEURALOP_METADATA, None)
        modules = {name: constructor_record(getattr(self, name)) for name in self.network_arguments()}
        checkpoint[CHECKPOINT_KEY] = {"task": class_path(type(self)), "modules": modules}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        # neuraloperator models add their init kwargs to state_dict() under an unprefixed "_metadata" key, which
        # a strict load of the task then rejects; it is not a tensor of ours.
        checkpoint["state_dict"].pop("_metadata", None)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def _evaluate(self, batch: dict[str, Tensor], split: str) -> None:
        """Log ``{split}/loss`` and ``{split}/rollout_l2`` (and more) for one batch."""
        raise NotImplementedError

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """AdamW at lr 1e-3 from Python; ``pdeops fit`` replaces it with the config's optimizer and scheduler."""
        return torch.optim.AdamW(self.parameters(), lr=1e-3)


class AutoregressiveTask(BaseOperatorTask):
    """A one-step operator advanced autoregressively: ``k`` frames in (folded into channels), the next frame out.

    The network maps ``(B, k·C, *S) -> (B, C, *S)``. Training unrolls ``unroll`` steps (backpropagating through all
    of them, or with ``pushforward`` only through the last one, the trick of Brandstetter et al. 2022) and can add
    Gaussian noise of std ``noise_std`` (in normalised units) to the inputs. Validation logs the one-step loss and
    the relative L2 of a ``rollout_steps``-step rollout, per step and mean.

    Args:
        model: network ``(B, history·channels, *S) -> (B, channels, *S)``.
        history: input frames k (linked from ``data.history``).
        channels, spatial_dims: see ``BaseOperatorTask`` (linked from the data).
        unroll: steps per training window (``data.horizon`` is linked to it).
        pushforward: backpropagate through the last unrolled step only.
        noise_std: input noise, in normalised units.
        rollout_steps: validation rollout length (``data.eval_horizon`` is linked to it).
    """

    def __init__(
        self,
        model: nn.Module,
        history: int = 1,
        channels: int = 1,
        spatial_dims: int = 2,
        unroll: int = 1,
        pushforward: bool = False,
        noise_std: float = 0.0,
        rollout_steps: int = 10,
    ):
        super().__init__(model, channels, spatial_dims)
        if history < 1 or unroll < 1 or rollout_steps < 1:
            raise ValueError(
                f"history, unroll and rollout_steps must be >= 1, got {history}, {unroll}, {rollout_steps}."
            )
        self.save_hyperparameters(ignore=["model", "residual", "loss_fn"])  # modules, subclasses' included
        self.history, self.unroll, self.pushforward = history, unroll, pushforward
        self.noise_std, self.rollout_steps = noise_std, rollout_steps

    def forward(self, frames: Tensor) -> Tensor:
        """Next frame from the last ``history`` frames: ``(B, k, C, *S) -> (B, C, *S)``, physical units."""
        x = self.normalize(frames[:, -self.history :])
        return self.denormalize(self.model(x.flatten(1, 2)))

    def rollout(self, frames: Tensor, steps: int, *, grad_steps: int | None = None) -> Tensor:
        """``steps`` autoregressive steps from ``(B, ≥k, C, *S)``; returns ``(B, steps, C, *S)``.

        Args:
            grad_steps: keep the graph for only the last ``grad_steps`` steps (None: all).
        """
        window, out = frames[:, -self.history :], []
        for step in range(steps):
            keep_graph = grad_steps is None or step >= steps - grad_steps
            with torch.set_grad_enabled(keep_graph and torch.is_grad_enabled()):
                nxt = self(window)
            out.append(nxt)
            window = torch.cat([window[:, 1:], nxt.unsqueeze(1)], dim=1)
        return torch.stack(out, dim=1)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        inputs, target = batch["input"], batch["target"][:, : self.unroll]
        if self.noise_std > 0:
            inputs = inputs + self.noise_std * torch.randn_like(inputs) * self._channel_view(inputs)[1]
        pred = self.rollout(inputs, target.shape[1], grad_steps=1 if self.pushforward else None)
        loss = self.loss(pred, target)
        self.log("train/loss", loss, prog_bar=True, batch_size=inputs.shape[0])
        return loss

    def _evaluate(self, batch: dict[str, Tensor], split: str) -> None:
        inputs, target = batch["input"], batch["target"]
        steps = min(self.rollout_steps, target.shape[1])
        pred = self.rollout(inputs, steps)
        batch_size = inputs.shape[0]
        self.log(f"{split}/loss", self.loss(pred[:, :1], target[:, :1]), sync_dist=True, batch_size=batch_size)
        per_step = relative_l2_per_step(pred, target[:, :steps]).mean(0)
        self.log(f"{split}/rollout_l2", per_step.mean(), prog_bar=True, sync_dist=True, batch_size=batch_size)
        for step, value in enumerate(per_step, start=1):
            self.log(f"{split}/rollout_l2_step{step}", value, sync_dist=True, batch_size=batch_size)


class SpatiotemporalTask(BaseOperatorTask):
    """A trajectory-to-trajectory operator: the first ``input_steps`` frames in, the next ``output_steps`` out.

    The network maps trajectories ``(B, T_in, C, *S) -> (B, T_out, C, *S)`` (it permutes inside if it wants time as
    a grid axis).

    Args:
        model: network on trajectories.
        input_steps, output_steps: frames in and out; a stored trajectory must have at least their sum.
    """

    def __init__(
        self,
        model: nn.Module,
        input_steps: int = 10,
        output_steps: int = 10,
        channels: int = 1,
        spatial_dims: int = 2,
    ):
        super().__init__(model, channels, spatial_dims)
        self.save_hyperparameters(ignore=["model"])
        self.input_steps, self.output_steps = input_steps, output_steps

    def forward(self, frames: Tensor) -> Tensor:
        """``(B, T_in, C, *S) -> (B, T_out, C, *S)``, physical units."""
        return self.denormalize(self.model(self.normalize(frames)))

    def _split(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        trajectory = batch["trajectory"]
        needed = self.input_steps + self.output_steps
        if trajectory.shape[1] < needed:
            raise ValueError(
                f"Trajectories have {trajectory.shape[1]} frames but input_steps + output_steps = {needed}; "
                "shorten them or use a dataset with longer trajectories."
            )
        return trajectory[:, : self.input_steps], trajectory[:, self.input_steps : needed]

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        inputs, target = self._split(batch)
        loss = self.loss(self(inputs), target)
        self.log("train/loss", loss, prog_bar=True, batch_size=inputs.shape[0])
        return loss

    def _evaluate(self, batch: dict[str, Tensor], split: str) -> None:
        inputs, target = self._split(batch)
        pred = self(inputs)
        per_step = relative_l2_per_step(pred, target).mean(0)
        self.log(f"{split}/loss", self.loss(pred, target), sync_dist=True, batch_size=inputs.shape[0])
        self.log(f"{split}/rollout_l2", per_step.mean(), prog_bar=True, sync_dist=True, batch_size=inputs.shape[0])


Residual = Callable[[Tensor, Tensor], Tensor]


class PhysicsTask(AutoregressiveTask):
    """A one-step operator trained on the residual of the equation, with or without data.

    ``loss = physics_weight · residual(previous, predicted) + data_weight · relative L2(predicted, target)``; with
    ``data_weight = 0`` no target is needed (data-free training; the windows still supply the input frames).

    Args:
        residual: ``residual(previous (B, C, *S), predicted (B, C, *S)) -> scalar``, in physical units, e.g.
            ``pdeops.losses.VorticityResidual``.
        physics_weight, data_weight: the two loss weights.
        (the rest as ``AutoregressiveTask``)
    """

    def __init__(
        self,
        model: nn.Module,
        residual: nn.Module,
        physics_weight: float = 1.0,
        data_weight: float = 0.0,
        history: int = 1,
        channels: int = 1,
        spatial_dims: int = 2,
        unroll: int = 1,
        rollout_steps: int = 10,
    ):
        super().__init__(model, history, channels, spatial_dims, unroll=unroll, rollout_steps=rollout_steps)
        self.save_hyperparameters(ignore=["model", "residual"])
        self.residual = residual
        self.physics_weight, self.data_weight = physics_weight, data_weight

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        inputs = batch["input"]
        pred = self.rollout(inputs, self.unroll)
        previous = torch.cat([inputs[:, -1:], pred[:, :-1]], dim=1)
        physics = self.residual(previous.flatten(0, 1), pred.flatten(0, 1))
        loss = self.physics_weight * physics
        batch_size = inputs.shape[0]
        if self.data_weight > 0:
            data = self.loss(pred, batch["target"][:, : self.unroll])
            loss = loss + self.data_weight * data
            self.log("train/data_loss", data, batch_size=batch_size)
        self.log("train/physics_loss", physics, batch_size=batch_size)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        return loss
