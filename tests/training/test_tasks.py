"""Training through real Lightning Trainers on a real (tiny) generated dataset."""

import copy
import functools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import lightning as L
import pytest
import torch
from neuralop.models import FNO
from torch import nn

from pdeops.data import Normalizer, PDEDataModule
from pdeops.losses import VorticityResidual
from pdeops.training import AutoregressiveTask, PhysicsTask, SpatiotemporalTask

ROOT = Path(__file__).resolve().parents[2]


def trainer(tmp_path: Path, **kwargs) -> L.Trainer:
    defaults = dict(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    return L.Trainer(**{**defaults, **kwargs})


def fno_task(history: int = 2, **kwargs) -> AutoregressiveTask:
    return AutoregressiveTask(FNO([6, 6], history, 1, 16), history=history, channels=1, spatial_dims=2, **kwargs)


class TimeAsChannels(nn.Module):
    """A small trajectory network for the spatiotemporal task: (B, T_in, C, X, Y) -> (B, T_out, C, X, Y)."""

    def __init__(self, steps_in: int, steps_out: int):
        super().__init__()
        self.steps_out = steps_out
        self.net = nn.Sequential(
            nn.Conv2d(steps_in, 16, 3, padding=1, padding_mode="circular"),
            nn.GELU(),
            nn.Conv2d(16, steps_out, 3, padding=1, padding_mode="circular"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x[:, :, 0]).unsqueeze(2)


def test_fast_dev_run_autoregressive(ns_tiny: Path, tmp_path: Path) -> None:
    data = PDEDataModule(str(ns_tiny), history=2, horizon=2, eval_horizon=3, batch_size=4)
    trainer(tmp_path, fast_dev_run=True).fit(fno_task(unroll=2, rollout_steps=3, noise_std=0.01), data)


def test_fast_dev_run_pushforward(ns_tiny: Path, tmp_path: Path) -> None:
    data = PDEDataModule(str(ns_tiny), history=2, horizon=3, batch_size=4)
    trainer(tmp_path, fast_dev_run=True).fit(fno_task(unroll=3, pushforward=True), data)


def test_fast_dev_run_spatiotemporal(ns_tiny: Path, tmp_path: Path) -> None:
    data = PDEDataModule(str(ns_tiny), task="trajectory", batch_size=4)
    task = SpatiotemporalTask(TimeAsChannels(4, 6), input_steps=4, output_steps=6, channels=1, spatial_dims=2)
    trainer(tmp_path, fast_dev_run=True).fit(task, data)


def test_physics_task_lowers_the_residual_without_data(ns_tiny: Path, tmp_path: Path) -> None:
    data = PDEDataModule(str(ns_tiny), history=1, horizon=1, eval_horizon=2, batch_size=8)
    residual = VorticityResidual(viscosity=1e-3, dt=0.5, forcing="fno")
    adam = functools.partial(torch.optim.Adam, lr=3e-3)
    task = PhysicsTask(
        FNO([6, 6], 1, 1, 16), residual, history=1, channels=1, spatial_dims=2, rollout_steps=2, optimizer=adam
    )
    data.setup()
    batch = next(iter(data.train_dataloader()))
    t = trainer(tmp_path, max_epochs=4, enable_checkpointing=False)
    t.strategy.connect(task)  # so task.setup sees no data module: fit below fits the normaliser first
    t.fit(task, data)
    with torch.no_grad():
        after = float(residual(batch["input"][:, -1], task(batch["input"])[:, 0]))
    fresh = PhysicsTask(FNO([6, 6], 1, 1, 16), residual, history=1, channels=1, spatial_dims=2)
    fresh.normalizer.load_statistics(task.normalizer)
    with torch.no_grad():
        before = float(residual(batch["input"][:, -1], fresh(batch["input"])[:, 0]))
    assert after < 0.5 * before


def test_a_small_fno_learns_and_beats_persistence(ns_tiny: Path, tmp_path: Path) -> None:
    data = PDEDataModule(str(ns_tiny), history=2, horizon=1, eval_horizon=4, batch_size=8)
    task = fno_task(rollout_steps=4, optimizer=functools.partial(torch.optim.Adam, lr=3e-3))
    t = trainer(tmp_path, max_epochs=12, enable_checkpointing=False)
    t.fit(task, data)
    batch = next(iter(data.val_dataloader()))
    persistence = (batch["input"][:, -1:] - batch["target"]).flatten(2).norm(dim=-1)
    persistence = float((persistence / batch["target"].flatten(2).norm(dim=-1)).mean())
    rollout = float(t.callback_metrics["val/rollout_l2"])
    assert float(t.callback_metrics["train/loss"]) < 0.1
    assert rollout < 0.5 * persistence, f"rollout {rollout:.3f} vs persistence {persistence:.3f}"


class Constant(nn.Module):
    """``(B, k·C, X, Y) -> (B, C, X, Y)`` filled with one number (a network whose output we know)."""

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x[:, :1], self.value)


def test_an_increment_network_adds_its_scaled_output_to_the_last_frame_in_normalised_units() -> None:
    window = torch.randn(3, 2, 1, 8, 8)
    for value, scale in ((0.0, 0.1), (2.0, 0.1), (2.0, 1.0)):
        task = AutoregressiveTask(Constant(value), history=2, increment_scale=scale)
        task.normalizer.load_statistics(Normalizer(torch.tensor([0.5]), torch.tensor([4.0]), spatial_dims=2))
        expected = window[:, -1:] + 4.0 * scale * value  # the std times the normalised increment
        torch.testing.assert_close(task.step(window), expected)
    frame = AutoregressiveTask(Constant(2.0), history=2)  # the default: the network returns the frame itself
    frame.normalizer.load_statistics(Normalizer(torch.tensor([0.5]), torch.tensor([4.0]), spatial_dims=2))
    torch.testing.assert_close(frame.step(window), torch.full_like(window[:, -1:], 0.5 + 4.0 * 2.0))


def test_resume_from_last_checkpoint_continues_exactly(ns_tiny: Path, tmp_path: Path) -> None:
    def run(root: Path, epochs: int, ckpt: str | None = None) -> AutoregressiveTask:
        L.seed_everything(0)
        data = PDEDataModule(str(ns_tiny), history=2, horizon=1, eval_horizon=2, batch_size=8)
        adam = functools.partial(torch.optim.Adam, lr=1e-3)
        halving = functools.partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)  # stepped per epoch
        task = fno_task(rollout_steps=2, optimizer=adam, lr_scheduler=halving)
        counter = BatchCounter()
        t = trainer(root, max_epochs=epochs, callbacks=[counter])
        t.fit(task, data, ckpt_path=ckpt)
        task.batches_run = counter.count  # type: ignore[attr-defined]
        task.final_step = t.global_step  # type: ignore[attr-defined]
        task.final_lr = t.lr_scheduler_configs[0].scheduler.get_last_lr()  # type: ignore[attr-defined]
        return task

    straight = run(tmp_path / "straight", 3)
    run(tmp_path / "resumed", 2)
    last = next((tmp_path / "resumed").rglob("*.ckpt"))
    resumed = run(tmp_path / "resumed2", 3, ckpt=str(last))
    assert resumed.final_step == straight.final_step  # type: ignore[attr-defined]
    assert resumed.batches_run == straight.batches_run // 3  # type: ignore[attr-defined]  # only the third epoch ran
    assert resumed.final_lr == straight.final_lr  # type: ignore[attr-defined]
    tensors = {name: value for name, value in straight.state_dict().items() if isinstance(value, torch.Tensor)}
    resumed_state = resumed.state_dict()
    for name, value in tensors.items():
        assert torch.equal(value, resumed_state[name]), name


def test_the_task_fits_the_training_statistics_once_and_its_checkpoint_restores_them(
    ns_tiny: Path, tmp_path: Path
) -> None:
    first = fno_task()
    run = trainer(tmp_path, max_steps=1, limit_val_batches=0, enable_checkpointing=False)
    run.fit(first, PDEDataModule(str(ns_tiny), history=2, batch_size=4))
    reference = Normalizer.fit(ns_tiny, ["vorticity"], range(16))  # the training split: 16 of 20 trajectories
    assert torch.equal(first.normalizer.mean, reference.mean) and torch.equal(first.normalizer.std, reference.std)
    run.save_checkpoint(tmp_path / "one.ckpt")
    resumed = fno_task()  # the other split below would give other statistics: the checkpoint's must win
    other = PDEDataModule(str(ns_tiny), history=2, batch_size=4, split=(0.5, 0.3, 0.2))
    trainer(tmp_path, max_steps=2, limit_val_batches=0).fit(resumed, other, ckpt_path=tmp_path / "one.ckpt")
    assert torch.equal(resumed.normalizer.mean, reference.mean)


class BatchCounter(L.Callback):
    def __init__(self) -> None:
        self.count = 0

    def on_train_batch_start(self, *args) -> None:
        self.count += 1


DDP_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import lightning as L, torch
    from pdeops.data import Normalizer, PDEDataModule
    from neuralop.models import FNO
    from pdeops.training import AutoregressiveTask

    class Record(L.Callback):
        def __init__(self): self.seen = []
        def on_train_batch_start(self, trainer, module, batch, idx):
            self.seen += [[int(s), int(t)] for s, t in zip(batch["sample"], batch["start"])]

    path, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    L.seed_everything(0)
    data = PDEDataModule(path, history=2, horizon=1, eval_horizon=2, batch_size=4)
    task = AutoregressiveTask(FNO([4, 4], 2, 1, 8), history=2, channels=1, spatial_dims=2, rollout_steps=2)
    record = Record()
    trainer = L.Trainer(accelerator="cpu", strategy="ddp", devices=2, max_epochs=1, logger=False,
                        enable_progress_bar=False, enable_checkpointing=False, callbacks=[record])
    trainer.fit(task, data)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
    with open(f"{out}/rank{trainer.global_rank}.json", "w") as f:
        json.dump({"seen": record.seen, "metrics": metrics, "world": trainer.world_size}, f)
    """
)


def test_two_process_ddp_on_cpu_splits_the_data_and_agrees_on_metrics(ns_tiny: Path, tmp_path: Path) -> None:
    script = tmp_path / "ddp_run.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(script), str(ns_tiny), str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(rank["world"] == 2 for rank in ranks)
    seen = [{tuple(w) for w in rank["seen"]} for rank in ranks]
    assert seen[0] and seen[1] and not seen[0] & seen[1]  # distinct windows on each rank
    n_train = 16 * (13 - 2)  # 16 training trajectories × 11 windows
    assert len(seen[0] | seen[1]) == n_train
    assert ranks[0]["metrics"] == ranks[1]["metrics"] and "val/rollout_l2" in ranks[0]["metrics"]


@pytest.mark.slow  # compiling forward and backward takes ~20 s on 2 cores
def test_a_compiled_task_predicts_and_learns_like_the_eager_one() -> None:
    """``compile=True`` compiles the network in place: the same parameters by name, the same predictions to float32
    rounding, and a training step that moves them the same way."""
    torch.manual_seed(0)
    network = FNO(n_modes=(4, 4), hidden_channels=4, in_channels=2, out_channels=1, n_layers=1)
    eager = AutoregressiveTask(network, history=2)
    compiled = AutoregressiveTask(copy.deepcopy(network), history=2, compile=True)
    assert list(compiled.state_dict()) == list(eager.state_dict())
    x, y = torch.randn(2, 2, 1, 8, 8), torch.randn(2, 1, 1, 8, 8)
    for task in (eager, compiled):
        optimizer = torch.optim.SGD(task.parameters(), lr=0.1)
        task.loss(task.step(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        expected, got = eager.step(x), compiled.step(x)
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()))
