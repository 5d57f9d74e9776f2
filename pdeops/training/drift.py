"""``NormalizedLossTask``: an ``AutoregressiveTask`` trained on a loss of our choosing, on normalised fields.

DRIFT-Net and its scOT baseline train with ``pdeops.losses.drift.DRIFTLoss`` on z-scored fields (the reference's
protocol), where ``AutoregressiveTask`` uses relative L2 in physical units. Everything else (normalisation, unrolling,
rollout validation, checkpoints) is ``AutoregressiveTask``'s. The network is called without a lead time, so a
time-conditioned ``DRIFTNet``/``ScOT`` uses its constant ``lead_time``: one-step training (t -> t+1) has a single
lead time.

**Diagnostics** (``diagnostics=True``): on the training steps whose logs the trainer writes (every
``trainer.log_every_n_steps``), the task logs, for a ``DRIFTLoss``, its two terms and their ratio
(``train/relative_l1``, ``train/hf_penalty`` = λ · penalty, ``train/hf_to_l1``), and, for a network with DRIFT
spectral blocks, the band gate's α per band over every layer, sample and channel (``gate/band{b}/mean``, ``std``,
``min``, ``max``; ``pdeops.models.drift.gate_statistics``). Other steps compute nothing extra: the loss terms are
the loss's own, and the gate keeps its α only on those steps.
"""

from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn

from pdeops.losses.drift import DRIFTLoss
from pdeops.models.drift import gate_statistics, record_gates
from pdeops.training.tasks import AutoregressiveTask


class NormalizedLossTask(AutoregressiveTask):
    """``AutoregressiveTask`` whose training and validation loss is ``loss_fn`` on normalised fields.

    Args:
        model: network ``(B, history·channels, *S) -> (B, channels, *S)``.
        loss_fn: ``loss_fn(pred, true) -> scalar`` on normalised fields ``(B·T, C, *S)`` (unrolled steps folded into
            the batch), e.g. ``pdeops.losses.drift.DRIFTLoss``.
        diagnostics: log the loss terms and the gate's α on the steps the trainer writes (see the module docstring).
        (the rest as ``AutoregressiveTask``)
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: nn.Module,
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
        diagnostics: bool = True,
    ):
        super().__init__(
            model,
            history,
            channels,
            spatial_dims,
            unroll,
            pushforward,
            noise_std,
            rollout_steps,
            optimizer,
            lr_scheduler,
            compile,
            increment_scale,
        )
        self.loss_fn = loss_fn
        self.diagnostics = diagnostics
        self._diagnosing = False

    def loss(self, pred: Tensor, true: Tensor) -> Tensor:
        """``loss_fn`` on normalised ``(B, T, C, *S)`` trajectories, with T folded into the batch."""
        pred, true = self.normalize(pred).flatten(0, 1), self.normalize(true).flatten(0, 1)
        if not (self._diagnosing and isinstance(self.loss_fn, DRIFTLoss)):
            return self.loss_fn(pred, true)
        relative, penalty = self.loss_fn.terms(pred, true)
        batch_size = pred.shape[0]
        self.log("train/relative_l1", relative.detach(), batch_size=batch_size)
        self.log("train/hf_penalty", penalty.detach(), batch_size=batch_size)
        self.log("train/hf_to_l1", (penalty / relative.clamp_min(1e-30)).detach(), batch_size=batch_size)
        return relative + penalty

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        self._diagnosing = self.diagnostics and self._logs_written_now()
        record_gates(self.model, self._diagnosing)
        try:
            loss = super().training_step(batch, batch_idx)
            if self._diagnosing:
                for key, value in gate_statistics(self.model).items():
                    self.log(f"gate/{key}", value, batch_size=batch["input"].shape[0])
        finally:
            self._diagnosing = False
            record_gates(self.model, False)
        return loss

    def _logs_written_now(self) -> bool:
        """Whether the trainer writes this step's logs (Lightning writes when ``(step + 1) % every == 0``)."""
        every = int(getattr(self.trainer, "log_every_n_steps", 0))  # set by the trainer's logger connector
        return every > 0 and self.trainer.logger is not None and (self.global_step + 1) % every == 0
