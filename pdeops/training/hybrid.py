"""``HybridTask``: a hybrid learned solver, the coarse reference solver in the loop with a learned correction.

Its step advances the stored (coarse) grid by one frame with the differentiable pseudo-spectral solver of the data's
own equation (``solvers.NavierStokes2D``, built by ``pdeops.losses.physics.VorticityOperators``, the operators the
physics residuals use) and corrects the solved state with a network, every ``correct_every`` solver steps::

    repeat solver_steps_per_frame / correct_every times:
        ω ← S^m(ω)                                   m = correct_every solver steps of dt = frame_interval / n
        ω ← ω + s · σ ⊙ network(normalised last (history − 1) frames, normalised ω)

with n = ``solver_steps_per_frame``, σ the per-channel std of the training split and s = ``correction_scale``. The
solver acts on physical fields; the network sees normalised ones and returns the correction in normalised units (σ
turns it into physical ones). This is the solver-in-the-loop model of Um et al. (2020, "Solver-in-the-Loop: Learning
from Differentiable Physics to Interact with Iterative PDE-Solvers", NeurIPS; their SOL setting: the correction
trained through unrolled solver steps), the learned correction of Kochkov et al. (2021, PNAS, "Machine learning-
accelerated computational fluid dynamics", the "LC" model) and, with a spectral solver, of Dresdner et al. (2022,
"Learning to correct spectral methods for simulating turbulent flows"). Training unrolls ``unroll`` frames and
backpropagates through every solver step and correction (the solvers are plain differentiable torch code).

What is recorded: the equation (``VorticityOperators``: ν, domain length, drag, forcing, spectral-viscosity cutoff),
the frame interval, the scheme and the step counts are constructor arguments, plain values, so a checkpoint rebuilds
the task, solver included, from its record alone. Left out (None), the equation and the frame interval come from the
data module's file when training starts (its recipe and ``record_every``, as ``PhysicsTask``'s residual does) and the
task records them as if they had been given.

Cost: the solver runs inside ``step``, so every timing of a rollout (``pdeops evaluate``, the benchmark's cost) counts
its steps with the network's; ``scripts/bench_corrector.py`` times a hybrid step against a plain solver step.
"""

import math
from typing import Any

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from pdeops.config import init_arguments, record_arguments
from pdeops.losses import VorticityOperators
from pdeops.losses.physics import vorticity_equation
from pdeops.training.tasks import BaseOperatorTask
from solvers import ETDRK4, SCHEMES, IMEXRungeKuttaCN, make_scheme

Tensor = torch.Tensor

FRAME_INTERVAL_TOLERANCE = 1e-9
"""Relative difference allowed between a given ``frame_interval`` and the data's ``record_every``."""


class HybridTask(BaseOperatorTask):
    """Coarse solver steps, each group followed by a learned correction; one stored frame per ``step``.

    The network maps ``(B, history·C, *S) -> (B, C, *S)`` (the last ``history − 1`` stored frames and the solved
    state, normalised, folded into channels; ``in_channels`` and ``out_channels`` are linked from the data). The
    solver advances one field, the vorticity (C = 1), on the data's grid, in the data's dtype and on its device.

    Args:
        model: the corrector, e.g. ``pdeops.models.CircularCNN`` (with ``zero_output=True`` the untrained task is
            the plain coarse solver), ``neuralop.models.FNO`` or ``pdeops.models.UNet``. A network whose untrained
            output is not small needs a small ``correction_scale`` (e.g. 0.01), or the first corrections throw the
            solver off.
        equation: the vorticity equation the solver integrates; None: the data file's (its recipe's forcing and its
            recorded ν, drag and domain; see ``pdeops.losses.physics.vorticity_equation``).
        frame_interval: time between stored frames, which one ``step`` advances; None: the data file's
            ``record_every``. A given one must equal it.
        solver_steps_per_frame: solver steps per frame n; the solver's dt is ``frame_interval / n``. Choose it near
            the scheme's stability limit on the coarse grid (e.g. CFL ≈ 1; the solver does not check stability
            inside a step, where a correction may change the state).
        correct_every: solver steps m between two corrections; it must divide ``solver_steps_per_frame``. m = n:
            one correction per frame; m = 1: after every solver step (Um et al.; Kochkov et al.).
        scheme: the solver's time scheme, one of ``solvers.SCHEMES`` (``rk4cn``, ``rk3cn``, ``etdrk4``).
        correction_scale: s above: the physical correction is ``s · σ · network(...)``.
        history: stored frames the network sees (the last one through the solver); linked from ``data.history``.
        channels, spatial_dims: linked from the data (one field on a 2-D grid).
        unroll: frames per training window, backpropagated through; ``data.horizon`` is linked to it.
        rollout_steps: validation rollout length (``data.eval_horizon`` is linked to it).
        optimizer, lr_scheduler, compile: see ``BaseOperatorTask``.
    """

    def __init__(
        self,
        model: nn.Module,
        equation: VorticityOperators | None = None,
        frame_interval: float | None = None,
        solver_steps_per_frame: int = 1,
        correct_every: int = 1,
        scheme: str = "rk4cn",
        correction_scale: float = 1.0,
        history: int = 1,
        channels: int = 1,
        spatial_dims: int = 2,
        unroll: int = 1,
        rollout_steps: int = 10,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        compile: bool = False,
    ):
        super().__init__(model, channels, spatial_dims, optimizer, lr_scheduler, compile)
        if channels != 1 or spatial_dims != 2:
            raise ValueError(
                f"HybridTask's solver advances one field, the vorticity, on a 2-D grid; got {channels} channel(s) on "
                f"{spatial_dims} spatial axes. Train it on the vorticity alone (data.fields: [vorticity])."
            )
        if min(solver_steps_per_frame, correct_every, history, unroll, rollout_steps) < 1:
            raise ValueError(
                "solver_steps_per_frame, correct_every, history, unroll and rollout_steps must be >= 1, got "
                f"{solver_steps_per_frame}, {correct_every}, {history}, {unroll}, {rollout_steps}."
            )
        if solver_steps_per_frame % correct_every:
            raise ValueError(
                f"correct_every = {correct_every} must divide solver_steps_per_frame = {solver_steps_per_frame}, so "
                "that a correction falls on every stored frame; choose e.g. correct_every = 1 or "
                f"{solver_steps_per_frame}."
            )
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}.")
        if frame_interval is not None and not 0 < frame_interval < math.inf:
            raise ValueError(f"frame_interval must be a positive time (or None for the data's), got {frame_interval}.")
        self.save_task_hyperparameters()
        self.equation, self.frame_interval = equation, frame_interval
        self.solver_steps_per_frame, self.correct_every = solver_steps_per_frame, correct_every
        self.scheme, self.correction_scale = scheme, correction_scale
        self.history, self.unroll, self.rollout_steps = history, unroll, rollout_steps
        self._steppers: dict[tuple[Any, ...], IMEXRungeKuttaCN | ETDRK4] = {}

    @property
    def input_frames(self) -> int:
        return self.history

    @property
    def output_frames(self) -> int:
        return 1

    @property
    def dt(self) -> float:
        """The solver's time step, ``frame_interval / solver_steps_per_frame``."""
        return self._frame_interval() / self.solver_steps_per_frame

    # --- the solver ------------------------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """Fit the normaliser, and take the equation and frame interval the task was not given from the data file
        (recording them, so that checkpoints rebuild the same solver)."""
        super().setup(stage)
        data = getattr(self.trainer, "datamodule", None)
        attrs = getattr(data, "attrs", None)
        if attrs is None:
            if self.equation is None or self.frame_interval is None:
                raise ValueError(
                    "HybridTask was given no equation or frame_interval and has no data module whose file records "
                    "them; pass equation= (pdeops.losses.physics.VorticityOperators) and frame_interval=."
                )
            return
        fields = tuple(getattr(data, "fields", ("vorticity",)))
        if fields != ("vorticity",):
            raise ValueError(
                f"HybridTask's solver advances the vorticity, but the data module gives the fields {fields}; set "
                "data.fields: [vorticity]."
            )
        if "record_every" not in attrs:
            raise ValueError(
                "HybridTask needs the time between the data file's frames (its record_every attribute, which "
                "pdeops generate writes); this file lacks it. Pass frame_interval= explicitly."
            )
        record_every = float(attrs["record_every"])
        if self.frame_interval is not None and not math.isclose(
            self.frame_interval, record_every, rel_tol=FRAME_INTERVAL_TOLERANCE
        ):
            raise ValueError(
                f"HybridTask's frame_interval {self.frame_interval} differs from the data's time between frames, "
                f"{record_every}: one step must advance one stored frame. Leave frame_interval out (it is taken "
                "from the data) or use data stored every frame_interval."
            )
        equation = self.equation or VorticityOperators(**vorticity_equation(attrs))
        self._adopt(equation, record_every)

    def _adopt(self, equation: VorticityOperators, frame_interval: float) -> None:
        """Use ``equation`` and ``frame_interval``, and record them as constructor arguments (the checkpoint's
        record, ``pdeops.training.tasks.task_config``, is built from those)."""
        self.equation, self.frame_interval = equation, frame_interval
        self._steppers.clear()  # they were built from the equation and dt before
        self.hparams["frame_interval"] = frame_interval
        record_arguments(
            self, type(self), (), {**init_arguments(self), "equation": equation, "frame_interval": frame_interval}
        )

    def _frame_interval(self) -> float:
        if self.frame_interval is None:
            raise RuntimeError(
                "HybridTask has no frame_interval yet: a Trainer's setup takes it from the data module's file; "
                "outside a Trainer, pass frame_interval= (and equation=)."
            )
        return self.frame_interval

    def solve(self, w: Tensor, steps: int) -> Tensor:
        """``steps`` solver steps of ``dt`` from the physical vorticity ``w (B, H, W)``; returns ``(B, H, W)``.

        Differentiable. The equation is autonomous (its forcing does not change in time), so the steps start at
        t = 0 whatever the frame.
        """
        if self.equation is None:
            raise RuntimeError(
                "HybridTask has no equation yet: a Trainer's setup takes it from the data module's file; outside a "
                "Trainer, pass equation= (pdeops.losses.physics.VorticityOperators)."
            )
        solver = self.equation.solver(w)
        key = (tuple(w.shape[-2:]), w.dtype, w.device, self.dt)
        if key not in self._steppers:
            self._steppers[key] = make_scheme(self.scheme, solver, self.dt)
        stepper, grid = self._steppers[key], solver.grid
        w_hat = grid.rfft(w)
        for _ in range(steps):
            w_hat = stepper(w_hat, 0.0)
        return grid.irfft(w_hat)

    # --- stepping --------------------------------------------------------------------------------------------------
    def step(self, window: Tensor) -> Tensor:
        """The next frame: ``(B, ≥ history, 1, H, W) -> (B, 1, 1, H, W)``, physical units."""
        frames = window[:, -self.history :]
        context = self.normalize(frames[:, :-1]).flatten(1, 2)  # (B, history − 1, H, W)
        scale = self.correction_scale * self.normalizer.broadcast(frames[:, -1])[1]  # σ, (1, 1, 1)
        w = frames[:, -1, 0]
        for _ in range(self.solver_steps_per_frame // self.correct_every):
            w = self.solve(w, self.correct_every)
            inputs = torch.cat([context, self.normalize(w.unsqueeze(1))], dim=1)
            correction = self.model(inputs)
            if correction.shape != (w.shape[0], 1, *w.shape[1:]):
                raise ValueError(
                    f"The corrector returned {tuple(correction.shape)} for input {tuple(inputs.shape)}; it must "
                    f"return the correction of the vorticity, (B, 1, H, W) = {(w.shape[0], 1, *w.shape[1:])}."
                )
            w = w + (scale * correction)[:, 0]
        return w[:, None, None]

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        """Relative L2 of ``unroll`` frames rolled out from the window's input, backpropagated through every solver
        step and correction."""
        inputs, target = batch["input"], batch["target"][:, : self.unroll]
        loss = self.loss(self.rollout(inputs, target.shape[1]), target)
        self.log("train/loss", loss, prog_bar=True, batch_size=inputs.shape[0])
        return loss
