"""LightningModules, one per kind of training: autoregressive one-step operators, spatiotemporal operators, and
physics-constrained training.

Batches come from ``PDEDataModule`` in physical units: windows ``{"input": (B, k, C, *S), "target": (B, h, C, *S)}``
or trajectories ``{"trajectory": (B, T, C, *S)}``.

The spine every operator task shares (``BaseOperatorTask``):

- **Normalisation**: the task owns a ``pdeops.data.Normalizer`` (per-channel mean and std of the training split,
  asked of the data module once and kept as buffers, so a checkpoint alone can roll out) and applies it around the
  network: the network sees normalised fields, every loss and metric is in physical units.
- **Optimiser and schedule** are constructor arguments (``optimizer``, ``lr_scheduler``; see
  ``pdeops.training.optim``), set from YAML or Python the same way.
- **Stepping**: a task states ``input_frames``, ``output_frames`` and ``step(window) -> block``; training
  unrolls, validation and evaluation roll out through the one ``pdeops.training.rollout.rollout``.
- **Checkpoints** record the task as a config tree (``pdeops.config``; the networks nested in it) under
  ``CHECKPOINT_KEY``, so ``pdeops.evaluation.load_task`` rebuilds it from the checkpoint alone.

Losses are neuraloperator's ``LpLoss`` (relative L2 over space per sample and channel, mean over the batch: the
reduction of Li et al.'s FNO experiments).
"""

import inspect
from collections.abc import Callable
from typing import Any, get_args

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from neuralop.layers.spectral_convolution import SpectralConv
from neuralop.losses import LpLoss
from torch import nn

from pdeops.config import Config, ConfigError, RecordsArguments, class_path, init_arguments, module_config
from pdeops.data.datasets import Normalizer
from pdeops.losses.physics import VorticityResidual
from pdeops.metrics import relative_lp_per_step
from pdeops.training import optim
from pdeops.training.rollout import rollout

Tensor = torch.Tensor

CHECKPOINT_KEY = "pdeops"
"""The checkpoint entry ``{"task": task_config(task)}``."""

TRAINING_ARGUMENTS = ("optimizer", "lr_scheduler")
"""Constructor arguments that only training needs: left out of the checkpoint's record and hyperparameters."""

_NEURALOP_METADATA = "_metadata"  # the state-dict entry where neuraloperator's BaseModel puts its _init_kwargs


class Task(RecordsArguments, L.LightningModule):
    """What every pdeops task has: recorded constructor arguments, networks among them, and a checkpoint record."""

    @classmethod
    def network_arguments(cls) -> list[str]:
        """The constructor arguments typed as modules (``model``, and e.g. ``residual`` or ``loss_fn``)."""
        parameters = inspect.signature(cls).parameters
        return [name for name, parameter in parameters.items() if _is_module_type(parameter.annotation)]

    def save_task_hyperparameters(self) -> None:
        """Lightning's ``save_hyperparameters`` for every argument but the networks and the optimiser factories
        (the first are modules, the second functions: neither is a hyperparameter a logger or checkpoint can hold)."""
        self.save_hyperparameters(ignore=[*self.network_arguments(), *TRAINING_ARGUMENTS], frame=_caller_frame())

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Write ``CHECKPOINT_KEY`` and drop neuraloperator's ``_metadata`` entry.

        That entry (``_init_kwargs`` again, functions included) is no tensor: it would stop ``weights_only``
        loading, and the task's ``load_state_dict`` would reject it as an unexpected key.
        """
        checkpoint["state_dict"].pop(_NEURALOP_METADATA, None)
        checkpoint[CHECKPOINT_KEY] = {"task": task_config(self)}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["state_dict"].pop(_NEURALOP_METADATA, None)


def _is_module_type(annotation: Any) -> bool:
    """Whether an annotation is a module class, or a union of one with None."""
    if isinstance(annotation, type):
        return issubclass(annotation, nn.Module)
    arguments = [argument for argument in get_args(annotation) if argument is not type(None)]
    return len(arguments) == 1 and _is_module_type(arguments[0])


def _caller_frame() -> Any:
    """The frame of the ``__init__`` that called ``save_task_hyperparameters``, where Lightning starts collecting."""
    frame = inspect.currentframe()
    return frame.f_back.f_back if frame is not None and frame.f_back is not None else None


def task_config(task: Task) -> Config:
    """The task as a config tree, without its optimiser and schedule.

    A network that recorded no constructor arguments is written as ``{"unrecorded": class path, "reason": ...}``:
    the checkpoint still saves, and loading it needs that network passed in (``load_task(path, model=...)``).
    """
    arguments = init_arguments(task)
    networks: dict[str, Any] = {}
    for name in type(task).network_arguments():
        if arguments[name] is None:
            networks[name] = None
            continue
        try:
            networks[name] = module_config(arguments[name])
        except ConfigError as error:
            networks[name] = {"unrecorded": class_path(type(arguments[name])), "reason": str(error)}
    config = module_config(task, exclude=(*TRAINING_ARGUMENTS, *networks))
    config["init_args"].update(networks)
    return config


def refuse_modes_beyond_the_grid(model: nn.Module) -> None:
    """Make every neuraloperator spectral layer in ``model`` refuse a grid that has fewer Fourier modes than it keeps
    (it would drop the weights of the missing ones silently)."""
    for module in model.modules():
        if isinstance(module, SpectralConv):
            module.register_forward_pre_hook(_check_modes)


def _check_modes(layer: SpectralConv, args: tuple[Any, ...]) -> None:
    grid = tuple(args[0].shape[2:])
    available = [*grid[:-1], grid[-1] // 2 + 1]  # the last axis keeps the non-negative frequencies of the rfft
    if len(grid) == len(layer.n_modes) and any(m > a for m, a in zip(layer.n_modes, available, strict=True)):
        wanted = [*layer.n_modes[:-1], 2 * (layer.n_modes[-1] - 1)]  # as given to the layer
        raise ValueError(
            f"A spectral layer keeps n_modes {wanted} but sees a {grid} grid, which resolves at most {list(grid)} "
            "modes per axis: lower n_modes to fit the grid, or use data on a finer grid."
        )


class BaseOperatorTask(Task):
    """Normalisation, the optimiser, stepping, validation by rollout and logging shared by the operator tasks.

    Subclasses give ``input_frames``, ``output_frames``, ``step`` and ``training_step``, and set ``rollout_steps``
    (the validation rollout length).

    Args:
        model: the network (channels-first; see the subclass for its input and output).
        channels: physical channels C of the data (linked from the data module).
        spatial_dims: number of spatial axes (linked from the data module).
        optimizer: ``params -> Optimizer``; None: AdamW with torch's defaults (lr 1e-3, weight decay 0.01). (A class
            default here would leak its arguments into a config that names another optimiser: jsonargparse keeps
            init_args across a class_path change.)
        lr_scheduler: ``optimizer -> LRScheduler`` or None (see ``pdeops.training.optim``).
        compile: compile the network with ``torch.compile`` for training and rollouts (in place: checkpoints keep
            the eager parameter names). Off by default: compiling takes tens of seconds and pays only where the
            network's elementwise work dominates (``scripts/bench_compile.py`` measures it).
    """

    rollout_steps: int

    def __init__(
        self,
        model: nn.Module,
        channels: int = 1,
        spatial_dims: int = 2,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        compile: bool = False,
    ):
        super().__init__()
        self.model = model
        refuse_modes_beyond_the_grid(model)
        if compile:
            self.model.compile()
        self.channels, self.spatial_dims = channels, spatial_dims
        self.normalizer = Normalizer.identity(channels, spatial_dims)
        self.optimizer_factory, self.scheduler_factory = optimizer, lr_scheduler
        self.loss_fn: Callable[[Tensor, Tensor], Tensor] = LpLoss(d=spatial_dims, p=2, reduction="mean")

    # --- normalisation ---------------------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """Fit the normaliser on the data module's training split once (a restored checkpoint has it)."""
        fit_normalizer = getattr(getattr(self.trainer, "datamodule", None), "fit_normalizer", None)
        if not bool(self.normalizer.fitted) and fit_normalizer is not None:
            self.normalizer.load_statistics(fit_normalizer())

    def normalize(self, x: Tensor) -> Tensor:
        """``(..., C, *S)`` physical → normalised."""
        return self.normalizer.normalize(x)

    def denormalize(self, x: Tensor) -> Tensor:
        """``(..., C, *S)`` normalised → physical."""
        return self.normalizer.denormalize(x)

    def loss(self, pred: Tensor, true: Tensor) -> Tensor:
        """Relative L2 over space, mean over batch, time and channels; inputs ``(B, T, C, *S)``."""
        return self.loss_fn(pred.flatten(1, 2), true.flatten(1, 2))

    # --- stepping --------------------------------------------------------------------------------------------------
    @property
    def input_frames(self) -> int:
        """Frames a step reads."""
        raise NotImplementedError

    @property
    def output_frames(self) -> int:
        """Frames a step returns."""
        raise NotImplementedError

    def step(self, window: Tensor) -> Tensor:
        """The next block: ``(B, input_frames, C, *S) -> (B, output_frames, C, *S)``, physical units."""
        raise NotImplementedError

    def forward(self, window: Tensor) -> Tensor:
        """``step``."""
        return self.step(window)

    def rollout(self, frames: Tensor, steps: int, *, grad_steps: int | None = None) -> Tensor:
        """``steps`` frames after ``(B, ≥ input_frames, C, *S)``; returns ``(B, steps, C, *S)``.

        Args:
            grad_steps: keep the graph only for the blocks that produce one of the last ``grad_steps`` frames.
        """
        return rollout(
            self.step,
            frames,
            steps,
            input_frames=self.input_frames,
            output_frames=self.output_frames,
            grad_steps=grad_steps,
        )

    # --- validation and test ---------------------------------------------------------------------------------------
    def evaluation_windows(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """``(inputs (B, k, C, *S), target (B, n, C, *S))`` of a validation or test batch."""
        return batch["input"], batch["target"]

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._score(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._score(batch, "test")

    def _score(self, batch: dict[str, Tensor], split: str) -> None:
        """Log ``{split}/loss`` (the first block), ``{split}/rollout_l2`` and its value per step, for one batch."""
        inputs, target = self.evaluation_windows(batch)
        steps = min(self.rollout_steps, target.shape[1])
        pred = self.rollout(inputs, steps)
        first = min(self.output_frames, steps)
        batch_size = inputs.shape[0]
        self.log(f"{split}/loss", self.loss(pred[:, :first], target[:, :first]), sync_dist=True, batch_size=batch_size)
        per_step = relative_lp_per_step(pred, target[:, :steps]).mean(0).to(pred.dtype)
        self.log(f"{split}/rollout_l2", per_step.mean(), prog_bar=True, sync_dist=True, batch_size=batch_size)
        for step, value in enumerate(per_step, start=1):
            self.log(f"{split}/rollout_l2_step{step}", value, sync_dist=True, batch_size=batch_size)

    # --- optimisation ----------------------------------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        """The ``optimizer`` and ``lr_scheduler`` arguments applied to the task's parameters."""
        return optim.configure_optimizers(
            self.parameters(),
            self.optimizer_factory,
            self.scheduler_factory,
            lambda: self.trainer.estimated_stepping_batches,
        )


class AutoregressiveTask(BaseOperatorTask):
    """A one-step operator advanced autoregressively: ``k`` frames in (folded into channels), the next frame out.

    The network maps ``(B, k·C, *S) -> (B, C, *S)``. Training unrolls ``unroll`` steps (backpropagating through all
    of them, or with ``pushforward`` only through the last one, the trick of Brandstetter et al. 2022) and can add
    Gaussian noise of std ``noise_std`` (in normalised units) to the inputs. Validation logs the one-step loss and
    the relative L2 of a ``rollout_steps``-step rollout, per step and mean.

    With ``increment_scale = s`` the network predicts the change instead of the frame: ``next = last + s · out`` in
    normalised units (PDEArena's and NeuralStagger's choice). Where a frame differs from the last by a few percent,
    a network that must return the whole frame spends its budget learning the identity, and persistence beats it.

    Args:
        model: network ``(B, history·channels, *S) -> (B, channels, *S)``.
        history: input frames k (linked from ``data.history``).
        channels, spatial_dims: see ``BaseOperatorTask`` (linked from the data).
        unroll: steps per training window (``data.horizon`` is linked to it).
        pushforward: backpropagate through the last unrolled step only.
        noise_std: input noise, in normalised units.
        rollout_steps: validation rollout length (``data.eval_horizon`` is linked to it).
        optimizer, lr_scheduler, compile: see ``BaseOperatorTask``.
        increment_scale: ``s`` above, or None (the default) for a network that returns the next frame itself.
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
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        compile: bool = False,
        increment_scale: float | None = None,
    ):
        super().__init__(model, channels, spatial_dims, optimizer, lr_scheduler, compile)
        if history < 1 or unroll < 1 or rollout_steps < 1:
            raise ValueError(
                f"history, unroll and rollout_steps must be >= 1, got {history}, {unroll}, {rollout_steps}."
            )
        self.save_task_hyperparameters()
        self.history, self.unroll, self.pushforward = history, unroll, pushforward
        self.noise_std, self.rollout_steps = noise_std, rollout_steps
        self.increment_scale = increment_scale

    @property
    def input_frames(self) -> int:
        return self.history

    @property
    def output_frames(self) -> int:
        return 1

    def step(self, window: Tensor) -> Tensor:
        """The next frame from the last ``history``: ``(B, ≥k, C, *S) -> (B, 1, C, *S)``, physical units."""
        x = self.normalize(window[:, -self.history :])
        out = self.model(x.flatten(1, 2))
        if out.shape != x[:, 0].shape:
            raise ValueError(
                f"The network returned {tuple(out.shape)} for input {tuple(x.flatten(1, 2).shape)}; a one-step "
                f"operator returns the next frame (B, channels, *S) = {tuple(x[:, 0].shape)}."
            )
        if self.increment_scale is not None:
            out = x[:, -1] + self.increment_scale * out
        return self.denormalize(out).unsqueeze(1)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        inputs, target = batch["input"], batch["target"][:, : self.unroll]
        if self.noise_std > 0:
            inputs = inputs + self.noise_std * torch.randn_like(inputs) * self.normalizer.broadcast(inputs)[1]
        pred = self.rollout(inputs, target.shape[1], grad_steps=1 if self.pushforward else None)
        loss = self.loss(pred, target)
        self.log("train/loss", loss, prog_bar=True, batch_size=inputs.shape[0])
        return loss


class SpatiotemporalTask(BaseOperatorTask):
    """A trajectory-to-trajectory operator: the first ``input_steps`` frames in, the next ``output_steps`` out.

    The network maps trajectories ``(B, T_in, C, *S) -> (B, T_out, C, *S)`` (it permutes inside if it wants time as
    a grid axis). Validation compares one block.

    Args:
        model: network on trajectories.
        input_steps, output_steps: frames in and out; a stored trajectory must have at least their sum.
        channels, spatial_dims, optimizer, lr_scheduler, compile: see ``BaseOperatorTask``.
    """

    def __init__(
        self,
        model: nn.Module,
        input_steps: int = 10,
        output_steps: int = 10,
        channels: int = 1,
        spatial_dims: int = 2,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        compile: bool = False,
    ):
        super().__init__(model, channels, spatial_dims, optimizer, lr_scheduler, compile)
        self.save_task_hyperparameters()
        self.input_steps, self.output_steps = input_steps, output_steps
        self.rollout_steps = output_steps

    @property
    def input_frames(self) -> int:
        return self.input_steps

    @property
    def output_frames(self) -> int:
        return self.output_steps

    def step(self, window: Tensor) -> Tensor:
        """``(B, ≥T_in, C, *S) -> (B, T_out, C, *S)``, physical units (the last ``T_in`` frames are used)."""
        return self.denormalize(self.model(self.normalize(window[:, -self.input_steps :])))

    @property
    def frames_needed(self) -> int:
        """Frames a stored trajectory must have for one training window."""
        return self.input_steps + self.output_steps

    def setup(self, stage: str) -> None:
        """Fit the normaliser, after checking that the data's trajectories are long enough for a window."""
        layout = getattr(getattr(self.trainer, "datamodule", None), "layout", None)
        if layout is not None and layout.num_times < self.frames_needed:
            raise ValueError(
                f"{layout.path} has {layout.num_times} frames per trajectory, fewer than the {self.frames_needed} "
                f"a window of {type(self).__name__} needs ({self._window_description()}). Generate longer "
                "trajectories (pdeops generate --horizon) or shorten the window."
            )
        super().setup(stage)

    def _window_description(self) -> str:
        return f"input_steps {self.input_steps} + output_steps {self.output_steps}"

    def evaluation_windows(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """The first ``input_steps`` frames of each trajectory and the ``output_steps`` after them."""
        trajectory = batch["trajectory"]
        needed = self.input_steps + self.output_steps
        if trajectory.shape[1] < needed:
            raise ValueError(
                f"Trajectories have {trajectory.shape[1]} frames but input_steps + output_steps = {needed}; "
                "shorten them or use a dataset with longer trajectories."
            )
        return trajectory[:, : self.input_steps], trajectory[:, self.input_steps : needed]

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        inputs, target = self.evaluation_windows(batch)
        loss = self.loss(self(inputs), target)
        self.log("train/loss", loss, prog_bar=True, batch_size=inputs.shape[0])
        return loss


Residual = Callable[[Tensor, Tensor], Tensor]


class PhysicsTask(AutoregressiveTask):
    """A one-step operator trained on the residual of the equation, with or without data.

    ``loss = physics_weight · residual(previous, predicted) + data_weight · relative L2(predicted, target)``; with
    ``data_weight = 0`` no target is needed (data-free training; the windows still supply the input frames).

    Args:
        residual: ``residual(previous (B, C, *S), predicted (B, C, *S)) -> scalar``, in physical units, e.g.
            ``pdeops.losses.VorticityResidual``; None builds the one of the data module's file (its vorticity
            equation, one Crank–Nicolson step per record interval) when training starts.
        physics_weight, data_weight: the two loss weights.
        (the rest as ``AutoregressiveTask``)
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
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        compile: bool = False,
    ):
        super().__init__(
            model,
            history,
            channels,
            spatial_dims,
            unroll=unroll,
            rollout_steps=rollout_steps,
            optimizer=optimizer,
            lr_scheduler=lr_scheduler,
            compile=compile,
        )
        self.residual = residual
        self.physics_weight, self.data_weight = physics_weight, data_weight

    def setup(self, stage: str) -> None:
        """Fit the normaliser, and build the residual of the data file's equation if none was given."""
        super().setup(stage)
        if self.residual is None:
            attrs = getattr(getattr(self.trainer, "datamodule", None), "attrs", None)
            if attrs is None:
                raise ValueError(
                    f"{type(self).__name__} was given no residual and has no data module whose file names its "
                    "equation; pass residual= (e.g. pdeops.losses.VorticityResidual)."
                )
            self.residual = VorticityResidual.from_attributes(attrs)

    def physics_residual(self) -> nn.Module:
        """The residual: the one given, or the one ``setup`` built from the data file."""
        if self.residual is None:
            raise RuntimeError(
                f"{type(self).__name__} has no residual yet: a Trainer's setup builds it from the data module's file; "
                "outside a Trainer, pass residual=."
            )
        return self.residual

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        inputs = batch["input"]
        pred = self.rollout(inputs, self.unroll)
        previous = torch.cat([inputs[:, -1:], pred[:, :-1]], dim=1)
        physics = self.physics_residual()(previous.flatten(0, 1), pred.flatten(0, 1))
        loss = self.physics_weight * physics
        batch_size = inputs.shape[0]
        if self.data_weight > 0:
            data = self.loss(pred, batch["target"][:, : self.unroll])
            loss = loss + self.data_weight * data
            self.log("train/data_loss", data, batch_size=batch_size)
        self.log("train/physics_loss", physics, batch_size=batch_size)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        return loss
