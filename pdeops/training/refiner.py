"""The Spectral-Refiner's training stage (Cao et al., arXiv 2405.17211, ICLR 2025): train a ``SpatiotemporalFNO`` end
to end for a few epochs, before its output layer is refined on the equation's residual with no data
(``pdeops.evaluation.refine``).

- ``SpectralRefinerTask``: ``SpatiotemporalTask`` with a window that may start after a warm-up (``start_step``) and
  the plain space–time relative L2 loss.
"""

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from pdeops.training.tasks import SpatiotemporalTask

Tensor = torch.Tensor


class SpectralRefinerTask(SpatiotemporalTask):
    """Training stage of the Spectral-Refiner: frames ``[start, start + T_in)`` in, the next ``T_out`` out.

    The loss is the plain relative L2 error over the whole space–time window, per trajectory, averaged over the
    batch: ``‖pred − true‖₂ / ‖true‖₂`` over ``(T, C, X, Y)`` (the paper's training loss without its Sobolev
    weighting; the reference code's "rel L2" is an H¹-type norm divided by √T instead).

    Args:
        model: a trajectory network, e.g. ``SpatiotemporalFNO``; a network with an ``output_steps`` attribute must
            have ``output_steps`` equal to the task's.
        input_steps, channels, spatial_dims: see ``SpatiotemporalTask``.
        output_steps: frames out; None (the default) takes the network's ``output_steps``, so a config states it
            once, on the network.
        start_step: frames to skip at the start of every stored trajectory (a warm-up recorded in the file).
        compile: see ``BaseOperatorTask``.
        optimizer, lr_scheduler: see ``BaseOperatorTask``; the reference trains with Adam and a one-cycle schedule
            stepped every batch (``configs/ns2d/st_fno.yaml``).
    """

    def __init__(
        self,
        model: nn.Module,
        input_steps: int = 10,
        output_steps: int | None = None,
        channels: int = 1,
        spatial_dims: int = 2,
        start_step: int = 0,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        compile: bool = False,
    ):
        model_steps = getattr(model, "output_steps", None)
        output_steps = output_steps if output_steps is not None else model_steps
        if output_steps is None or (model_steps is not None and model_steps != output_steps) or start_step < 0:
            raise ValueError(
                f"SpectralRefinerTask needs start_step >= 0 and the model's output_steps ({model_steps}) equal to "
                f"the task's output_steps ({output_steps}); got start_step={start_step}. Give output_steps once, "
                "on the network (or on the task for a network without that attribute)."
            )
        # the resolved output_steps is what the checkpoint records (save_task_hyperparameters reads this frame)
        super().__init__(model, input_steps, output_steps, channels, spatial_dims, optimizer, lr_scheduler, compile)
        self.start_step = start_step

    @property
    def frames_needed(self) -> int:
        return self.start_step + super().frames_needed

    def _window_description(self) -> str:
        return f"start_step {self.start_step} + {super()._window_description()}"

    def evaluation_windows(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """``SpatiotemporalTask``'s windows, taken after the first ``start_step`` frames."""
        return super().evaluation_windows({"trajectory": batch["trajectory"][:, self.start_step :]})

    def loss(self, pred: Tensor, true: Tensor) -> Tensor:
        """Plain space–time relative L2, mean over the batch; inputs ``(B, T, C, *S)``."""
        return ((pred - true).flatten(1).norm(dim=1) / true.flatten(1).norm(dim=1)).mean()
