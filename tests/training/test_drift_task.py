"""``NormalizedLossTask`` (``pdeops.training.drift``): its loss on normalised fields and its checkpoint round trip."""

from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from pdeops.config import init_arguments
from pdeops.data import Normalizer
from pdeops.evaluation import load_task
from pdeops.losses.drift import DRIFTLoss
from pdeops.models.drift import DRIFTNet, ScOT
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
    assert isinstance(loaded.loss_fn, DRIFTLoss)
    assert init_arguments(loaded.loss_fn) == {
        "channel_groups": [0, 1, 2],
        "spectral_weight": 0.2,
        "spectral_exponent": 1.5,
        "penalty": "mean",
    }
    frames = torch.randn(1, 1, 2, 32, 32)
    torch.testing.assert_close(loaded(frames), task.eval()(frames))


# --- diagnostics --------------------------------------------------------------------------------------------------
def test_training_logs_the_gate_and_the_loss_terms_when_the_trainer_writes(tmp_path: Path) -> None:
    import csv

    from lightning.pytorch.loggers import CSVLogger

    torch.manual_seed(0)
    rows = {}
    for name, network in (
        ("drift", DRIFTNet(2, 2, size="mini", image_size=32)),
        ("scot", ScOT(2, 2, size="mini", image_size=32)),
    ):
        task = NormalizedLossTask(network, DRIFTLoss(), channels=2)
        batches = [{"input": torch.randn(2, 1, 2, 32, 32), "target": torch.randn(2, 1, 2, 32, 32)}] * 4
        trainer = L.Trainer(
            max_steps=4, log_every_n_steps=2, logger=CSVLogger(tmp_path, name=name), enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False,
        )  # fmt: skip
        trainer.fit(task, train_dataloaders=DataLoader(batches, batch_size=None))  # type: ignore[arg-type]
        with open(Path(str(trainer.log_dir)) / "metrics.csv") as file:
            rows[name] = [row for row in csv.DictReader(file) if row.get("train/hf_to_l1")]
    drift, scot = rows["drift"], rows["scot"]
    assert [int(row["step"]) for row in drift] == [1, 3]  # the steps Lightning writes, nothing in between
    for row in drift:
        ratio = float(row["train/hf_to_l1"])
        assert ratio == pytest.approx(float(row["train/hf_penalty"]) / float(row["train/relative_l1"]), rel=1e-4)
        assert 0 < ratio < 1e-3  # the paper's penalty hardly counts
        assert 0 < float(row["gate/band0/min"]) <= float(row["gate/band0/mean"]) <= float(row["gate/band0/max"]) < 1
    assert scot and all("gate/band0/mean" not in row or not row["gate/band0/mean"] for row in scot)
