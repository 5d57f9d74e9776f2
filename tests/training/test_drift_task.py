"""``NormalizedLossTask`` (``pdeops.training.drift``): its loss on normalised fields and its checkpoint round trip."""

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

from pdeops.config import init_arguments
from pdeops.data import Normalizer
from pdeops.evaluation import load_task
from pdeops.losses.drift import DRIFTLoss
from pdeops.models.drift import DRIFTNet
from pdeops.training.drift import NormalizedLossTask


def test_normalized_loss_task_scores_normalised_fields() -> None:
    loss = DRIFTLoss()
    task = NormalizedLossTask(torch.nn.Identity(), loss, channels=2)
    task.normalizer.load_statistics(Normalizer(torch.tensor([10.0, -3.0]), torch.tensor([2.0, 0.5]), spatial_dims=2))
    pred, true = torch.randn(2, 3, 2, 8, 8), torch.randn(2, 3, 2, 8, 8)
    mean, std = torch.tensor([10.0, -3.0]).reshape(2, 1, 1), torch.tensor([2.0, 0.5]).reshape(2, 1, 1)
    z = lambda u: ((u - mean) / std).flatten(0, 1)  # noqa: E731
    torch.testing.assert_close(task.loss(pred, true), loss(z(pred), z(true)))


# --- checkpoints --------------------------------------------------------------------------------------------------
def test_load_task_round_trips_a_drift_net_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(0)
    network = DRIFTNet(2, 2, size="mini", image_size=32, frequencies="index", cutoff=0.5)
    task = NormalizedLossTask(network, DRIFTLoss(channel_groups=[0, 1, 2], spectral_weight=0.2), channels=2)
    batches = [{"input": torch.randn(2, 1, 2, 32, 32), "target": torch.randn(2, 1, 2, 32, 32)}]
    trainer = L.Trainer(
        max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
    )
    trainer.fit(task, train_dataloaders=DataLoader(batches, batch_size=None))  # type: ignore[arg-type]
    trainer.save_checkpoint(tmp_path / "drift.ckpt")
    loaded = load_task(tmp_path / "drift.ckpt")
    assert isinstance(loaded, NormalizedLossTask) and isinstance(loaded.model, DRIFTNet)
    assert init_arguments(loaded.model) == init_arguments(network)
    assert init_arguments(loaded.model)["frequencies"] == "index" and init_arguments(loaded.model)["cutoff"] == 0.5
    assert init_arguments(loaded.loss_fn) == {
        "channel_groups": [0, 1, 2],
        "spectral_weight": 0.2,
        "spectral_exponent": 1.5,
    }
    frames = torch.randn(1, 1, 2, 32, 32)
    torch.testing.assert_close(loaded(frames), task.eval()(frames))
