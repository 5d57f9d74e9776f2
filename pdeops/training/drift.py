"""``NormalizedLossTask``: an ``AutoregressiveTask`` trained on a loss of our choosing, on normalised fields.

DRIFT-Net and its scOT baseline train with ``pdeops.losses.drift.DRIFTLoss`` on z-scored fields (the reference's
protocol), where ``AutoregressiveTask`` uses relative L2 in physical units. Everything else (normalisation, unrolling,
rollout validation, checkpoints) is ``AutoregressiveTask``'s. The network is called without a lead time, so a
time-conditioned ``DRIFTNet``/``ScOT`` uses its constant ``lead_time``: one-step training (t -> t+1) has a single
lead time.
"""

from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn

from pdeops.training.tasks import AutoregressiveTask


class NormalizedLossTask(AutoregressiveTask):
    """``AutoregressiveTask`` whose training and validation loss is ``loss_fn`` on normalised fields.

    Args:
        model: network ``(B, history·channels, *S) -> (B, channels, *S)``.
        loss_fn: ``loss_fn(pred, true) -> scalar`` on normalised fields ``(B·T, C, *S)`` (unrolled steps folded into
            the batch), e.g. ``pdeops.losses.drift.DRIFTLoss``.
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
        )
        self.loss_fn = loss_fn

    def loss(self, pred: Tensor, true: Tensor) -> Tensor:
        """``loss_fn`` on normalised ``(B, T, C, *S)`` trajectories, with T folded into the batch."""
        return self.loss_fn(self.normalize(pred).flatten(0, 1), self.normalize(true).flatten(0, 1))
