"""NeuralStagger's training (``pdeops.training.stagger``): block_residual, StatePool, StaggeredPhysicsTask."""

import functools
import math

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from pdeops.losses import VorticityResidual
from pdeops.models.stagger import NeuralStagger
from pdeops.training import PhysicsTask
from pdeops.training.stagger import StaggeredPhysicsTask, StatePool, block_residual
from solvers import Grid, NavierStokes2D, fno_forcing, gaussian_random_field
from tests._stagger import FNO, fields

NO_TRAINER_LOG = r"ignore:You are trying to `self\.log\(\)`"
VISCOSITY, DT = 1e-3, 0.1


def ns_frames(n: int, batch: int, frames: int, seed: int) -> torch.Tensor:
    """Solver trajectories of the FNO setting, ``(batch, frames, 1, n, n)``, ``DT`` apart, from GRF states."""
    grid = Grid((n, n), 1.0, dtype=torch.float32)
    w0 = gaussian_random_field(grid, batch, generator=torch.Generator().manual_seed(seed), sigma=math.sqrt(2) * 7**1.5)
    solver = NavierStokes2D(grid, viscosity=VISCOSITY, forcing=fno_forcing(grid), dt=DT / 20)
    return solver.solve(w0, [i * DT for i in range(frames)])[:, :, None]


def residual() -> VorticityResidual:
    return VorticityResidual(viscosity=VISCOSITY, dt=DT, forcing="fno")


# --- the physics-constrained loss ------------------------------------------------------------------------------------
@pytest.mark.filterwarnings(NO_TRAINER_LOG)
def test_loss_at_factor_one_equals_the_plain_fine_physics_loss() -> None:
    torch.manual_seed(0)
    network = NeuralStagger(1, 1, FNO, [1, 1])
    batch = {"input": ns_frames(16, 3, 1, seed=7)}
    plain = PhysicsTask(network.operators[0], residual())
    stagger = StaggeredPhysicsTask(network, residual(), increment_scale=None)
    for task in (plain, stagger):
        task.normalizer.std.fill_(0.3)
    assert torch.equal(stagger.training_step(batch, 0), plain.training_step(batch, 0))
    w0 = batch["input"][:, 0]
    assert torch.equal(
        block_residual(residual(), batch["input"], stagger(batch["input"])), residual()(w0, plain(batch["input"])[:, 0])
    )


def test_loss_is_near_zero_on_solver_output_and_large_on_a_perturbed_field() -> None:
    frames = ns_frames(16, 2, 4, seed=8)  # blocks of s_T = 2: [w0, w1 ‖ w2, w3]
    inputs, outputs = frames[:, :2], frames[:, 2:]
    loss = float(block_residual(residual(), inputs, outputs))
    tendency = float(((frames[:, 1:] - frames[:, :-1]) / DT).pow(2).mean())
    assert loss < 1e-4 * tendency  # the Crank–Nicolson discretisation error, O(Δt⁴) in mean square
    noise = 0.01 * frames.std() * fields(outputs.shape, seed=9).float()
    assert float(block_residual(residual(), inputs, outputs + noise)) > 100 * loss


def test_loss_covers_every_consecutive_pair_the_block_boundary_included() -> None:
    frames = ns_frames(16, 2, 4, seed=12) + 0.01 * fields((2, 4, 1, 16, 16), seed=13).float()
    pairs = [residual()(frames[:, t], frames[:, t + 1]) for t in range(3)]  # (w0, w1), (w1 ‖ w2), (w2, w3)
    loss = block_residual(residual(), frames[:, :2], frames[:, 2:])
    torch.testing.assert_close(loss, torch.stack(pairs).mean(), rtol=1e-6, atol=0)


class Ones(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(x)


def test_increments_and_block_rollout() -> None:
    task = StaggeredPhysicsTask(Ones(), residual(), history=2, unroll=2, increment_scale=0.1)
    task.normalizer.std.fill_(0.5)
    frames = fields((3, 2, 1, 8, 8), seed=14).float()
    change = 2 * 0.1 * 0.5  # k·c standard deviations per block
    torch.testing.assert_close(task(frames), frames + change)
    rollout = task.rollout(frames, 3)
    assert rollout.shape == (3, 3, 1, 8, 8)
    torch.testing.assert_close(rollout[:, 2], frames[:, 0] + 2 * change)


# --- training --------------------------------------------------------------------------------------------------------
def test_pool_seeds_advances_and_reseeds_states() -> None:
    pool = StatePool(size=4, horizon=2)
    fresh = torch.arange(4.0).reshape(4, 1, 1)
    states, index = pool.draw(fresh)
    assert torch.equal(states, fresh)  # all entries start expired, so the first draw seeds them in batch order
    pool.update(index, states + 10, advanced=1)
    advanced = torch.empty_like(fresh)
    advanced[index] = fresh + 10  # entry index[j] now holds where state j was taken
    states, index = pool.draw(fresh + 100)
    assert torch.equal(states, advanced[index])
    pool.update(index, states + 10, advanced=1)
    states, _ = pool.draw(fresh + 100)
    assert torch.equal(states, fresh + 100)


def test_task_names_inconsistent_settings() -> None:
    stagger = NeuralStagger(2, 1, FNO, [2, 2], temporal_factor=2)
    with pytest.raises(ValueError, match="set data.history"):
        StaggeredPhysicsTask(stagger, residual(), history=1, unroll=2)
    with pytest.raises(ValueError, match="multiple of history"):
        StaggeredPhysicsTask(stagger, residual(), history=2, unroll=3)
    with pytest.raises(ValueError, match="pool_size"):
        StaggeredPhysicsTask(stagger, residual(), history=2, unroll=2, data_weight=1.0, pool_size=8)


def test_tiny_data_free_run_lowers_the_loss_and_tracks_the_solver() -> None:
    L.seed_everything(0, verbose=False)
    grid = Grid((16, 16), 1.0, dtype=torch.float32)
    states = gaussian_random_field(grid, 64, generator=torch.Generator().manual_seed(10), sigma=math.sqrt(2) * 7**1.5)
    items = [{"input": w[None, None]} for w in states]  # a list is a map-style dataset
    loader: DataLoader[dict[str, torch.Tensor]] = DataLoader(items, batch_size=16, shuffle=True)  # type: ignore[arg-type]
    stagger = NeuralStagger(1, 1, FNO, [2, 2], weights="shared")
    adam = functools.partial(torch.optim.Adam, lr=1e-2)
    task = StaggeredPhysicsTask(stagger, residual(), pool_size=64, pool_horizon=10, optimizer=adam)
    task.normalizer.std.fill_(float(states.std()))
    truth = ns_frames(16, 4, 4, seed=11)  # unseen initial states and the solver's next 3 frames
    with torch.no_grad():
        before = float(block_residual(task.residual, truth[:, :1], task.rollout(truth[:, :1], 3)))
    trainer = L.Trainer(
        max_steps=200, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(task, loader)
    with torch.no_grad():
        prediction = task.rollout(truth[:, :1], 3)
    after = float(block_residual(task.residual, truth[:, :1], prediction))
    assert after < 0.5 * before
    error = (prediction - truth[:, 1:]).flatten(2).norm(dim=-1) / truth[:, 1:].flatten(2).norm(dim=-1)
    persistence = (truth[:, :1] - truth[:, 1:]).flatten(2).norm(dim=-1) / truth[:, 1:].flatten(2).norm(dim=-1)
    assert float(error[:, -1].mean()) < 0.6 * float(persistence[:, -1].mean())
