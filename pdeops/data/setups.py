"""How each recipe is solved: the solver on the solve grid, sample i's initial condition, and descriptive attributes.

``pdeops.data.recipes`` is the catalogue (names, defaults, parameters) and imports no torch; this module holds the
physics, and ``pdeops.data.generate`` and ``pdeops evaluate`` use it through ``build_setup``. ``spun_up`` runs a
config's spin-up (the burn-in before the first stored frame). ``probe_cost`` times a few solver steps of a config and
extrapolates them to whole samples, spin-up included (``pdeops generate RECIPE --help``).
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from typing_extensions import Unpack

from pdeops._progress import duration
from pdeops.data.recipes import Resolved
from solvers import (
    AdvectionDiffusion2D,
    Burgers1D,
    ConvectionDiffusion,
    Grid,
    NavierStokes2D,
    SteppingOptions,
    fno_forcing,
    gaussian_random_field,
    kolmogorov_forcing,
    mcwilliams_vorticity,
    random_fourier_series,
    sine,
)

Tensor = torch.Tensor


@dataclass(frozen=True)
class Setup:
    """What generation needs: a solver with ``solve(u0, times, callback=None)`` (``callback(i, times[i])`` after
    each recorded frame), sample i's initial condition, and attributes.

    ``derive`` (for a recipe with ``derived`` variables) maps solved states ``(..., *solve_shape)`` to those
    variables on the same grid, ``{name: (..., *solve_shape)}`` in the recipe's ``derived`` order."""

    solve: Callable[..., Tensor]
    initial_condition: Callable[[torch.Generator], Tensor]
    attrs: dict[str, Any]
    derive: Callable[[Tensor], dict[str, Tensor]] | None = None


def sample_generator(seed: int, index: int, device: str = "cpu") -> torch.Generator:
    """Sample ``index``'s own random stream: the same whether drawn alone, in a batch or in a shard."""
    return torch.Generator(device).manual_seed(seed * 1_000_003 + index)


def spun_up(r: Resolved, setup: Setup, u0: Tensor, callback: Callable[[int, float], None] | None = None) -> Tensor:
    """The states at the end of ``r``'s spin-up from the initial states ``u0``: ``(B, *solve_shape)`` in and out.

    The spin-up is solved like the stored frames (the same solver, grid, scheme and dt), through the times of
    ``r.spinup_times``; ``callback(j, t)`` is called after each (progress). Without a spin-up ``u0`` itself is
    returned, so a config with ``spinup = 0`` stores exactly what it did before spin-ups existed. A sample's spin-up
    starts from its own seed's initial state, and a resumed run solves the same batches, so it recomputes the
    spin-up of the samples it resumes bit for bit.
    """
    times = r.spinup_times
    if not times:
        return u0
    return setup.solve(u0, times, callback=callback)[:, -1]


def _attributes(r: Resolved, amplitude: str = "") -> dict[str, str]:
    """The recipe's descriptive attributes; ``amplitude`` completes the initial condition's description."""
    recipe = r.recipe
    forcing = {} if recipe.forcing is None else {"forcing": recipe.forcing}
    return {"equation": recipe.equation, **forcing, "initial_condition": recipe.initial_condition + amplitude}


def _ns2d_fno(grid: Grid, p: dict[str, float], r: Resolved, stepping: SteppingOptions) -> Setup:
    solver = NavierStokes2D(grid, viscosity=p["viscosity"], forcing=fno_forcing(grid), **stepping)
    sigma = math.sqrt(2) * p["tau"] ** (p["alpha"] - 1)  # the FNO reference sampler's amplitude

    def initial(generator: torch.Generator) -> Tensor:
        return gaussian_random_field(grid, 1, generator=generator, alpha=p["alpha"], tau=p["tau"], sigma=sigma)[0]

    return Setup(solver.solve, initial, _attributes(r, f", sigma={sigma:.6g}"))


def _ns2d_kolmogorov(grid: Grid, p: dict[str, float], r: Resolved, stepping: SteppingOptions) -> Setup:
    forcing = kolmogorov_forcing(grid, wavenumber=int(p["forcing_wavenumber"]), amplitude=p["forcing_amplitude"])
    solver = NavierStokes2D(grid, viscosity=p["viscosity"], drag=p["drag"], forcing=forcing, **stepping)

    def initial(generator: torch.Generator) -> Tensor:
        return random_fourier_series(grid, 1, generator=generator, max_mode=4, std=p["initial_std"])[0]

    return Setup(solver.solve, initial, _attributes(r))


def _ns2d_decaying(grid: Grid, p: dict[str, float], r: Resolved, stepping: SteppingOptions) -> Setup:
    solver = NavierStokes2D(grid, viscosity=p["viscosity"], **stepping)

    def initial(generator: torch.Generator) -> Tensor:
        return mcwilliams_vorticity(grid, 1, generator=generator, peak_wavenumber=p["peak_wavenumber"])[0]

    return Setup(solver.solve, initial, _attributes(r))


def _convection_1d(grid: Grid, p: dict[str, float], r: Resolved, stepping: SteppingOptions) -> Setup:
    solver = ConvectionDiffusion(grid, velocity=p["beta"], diffusivity=p["viscosity"])

    def initial(generator: torch.Generator) -> Tensor:
        return sine(grid)  # deterministic: samples differ only if the user varies beta between files

    def solve(u0: Tensor, times: list[float], callback: Callable[[int, float], None] | None = None) -> Tensor:
        frames = solver.solve(u0, times)  # exact: every frame at once, reported after
        if callback is not None:
            for i, t in enumerate(times):
                callback(i, t)
        return frames

    return Setup(solve, initial, _attributes(r))


def _burgers_1d(grid: Grid, p: dict[str, float], r: Resolved, stepping: SteppingOptions) -> Setup:
    solver = Burgers1D(grid, viscosity=p["viscosity"], **stepping)

    def initial(generator: torch.Generator) -> Tensor:
        return random_fourier_series(grid, 1, generator=generator, max_mode=4, std=p["initial_std"])[0]

    return Setup(solver.solve, initial, _attributes(r))


def _convection_diffusion_2d(grid: Grid, p: dict[str, float], r: Resolved, stepping: SteppingOptions) -> Setup:
    x, y = grid.mesh()
    # A steady cellular flow from the stream function ψ = A sin x sin y (divergence-free by construction).
    psi_hat = grid.rfft(p["flow_amplitude"] * torch.sin(x) * torch.sin(y))
    velocity = (grid.irfft(grid.derivative(psi_hat, 1)), grid.irfft(-grid.derivative(psi_hat, 0)))
    solver = AdvectionDiffusion2D(grid, velocity=velocity, diffusivity=p["diffusivity"], **stepping)

    def initial(generator: torch.Generator) -> Tensor:
        return random_fourier_series(grid, 1, generator=generator, max_mode=4)[0]

    return Setup(solver.solve, initial, _attributes(r))


# --- Poseidon's incompressible sets (Herde et al. 2024, PDEgym), solved in vorticity, stored as velocity too -------
def _velocity_of(grid: Grid) -> Callable[[Tensor], dict[str, Tensor]]:
    """``derive`` of the velocity recipes: the velocity ``(u, v) = ∇⊥ψ`` of vorticity frames ``(..., n, n)``."""

    def derive(w: Tensor) -> dict[str, Tensor]:
        u, v = grid.velocity(grid.rfft(w))
        return {"velocity_x": u, "velocity_y": v}

    return derive


def _uniform(generator: torch.Generator, shape: tuple[int, ...], low: float, high: float) -> Tensor:
    """U[low, high) draws in float64 on the generator's device (float32 and float64 runs draw the same numbers)."""
    draw = torch.rand(shape, generator=generator, dtype=torch.float64, device=generator.device)
    return low + (high - low) * draw


def piecewise_constant_vorticity(grid: Grid, generator: torch.Generator, cells: int, amplitude: float) -> Tensor:
    """Poseidon's NS-PwC initial vorticity: ``c_ij ~ U[−A, A]`` on each of ``cells × cells`` squares, less its mean.

    The mean is removed because a periodic velocity carries no net vorticity (a constant ω has no periodic stream
    function); the squares are sampled pointwise on ``grid`` (``(n, n)``, no smoothing: the jumps are the point).
    """
    c = _uniform(generator, (cells, cells), -amplitude, amplitude).to(device=grid.device, dtype=grid.dtype)
    square = [
        (x * cells / length).floor().long().clamp(max=cells - 1)
        for x, length in zip(grid.mesh(), grid.lengths, strict=True)
    ]
    w = c[square[0], square[1]]
    return w - w.mean()


def sines_vorticity(grid: Grid, generator: torch.Generator, modes: int, amplitude: float) -> Tensor:
    """Poseidon's NS-Sines initial velocity, as the vorticity ``∂x v − ∂y u`` of ``(n, n)`` on ``grid``::

        u0 = Σ_{i,j=1..p} A α_ij / √(2π(i+j)) · sin(2π i x + β_ij) · sin(2π j y + γ_ij)
        v0 = Σ_{i,j=1..p} A α_ij / √(2π(i+j)) · cos(2π i x + β_ij) · cos(2π j y + γ_ij)

    with ``α_ij ~ U[−1, 1]``, ``β_ij, γ_ij ~ U[0, 2π]`` and p = ``modes`` (x, y in units of the domain length). This
    (u0, v0) is not divergence-free; its vorticity keeps exactly its divergence-free part (the Leray projection,
    which an incompressible solver applies at its first step; its mean is zero already).
    """
    i = torch.arange(1, modes + 1, dtype=torch.float64, device=grid.device)
    alpha = _uniform(generator, (modes, modes), -amplitude, amplitude).to(grid.device)
    beta, gamma = (_uniform(generator, (modes, modes), 0.0, 2 * math.pi).to(grid.device) for _ in range(2))
    weight = alpha / torch.sqrt(2 * math.pi * (i[:, None] + i[None, :]))  # (i, j)
    x, y = (c.to(torch.float64) / length for c, length in zip(grid.coordinates(), grid.lengths, strict=True))
    phase_x = 2 * math.pi * i[:, None, None] * x + beta[:, :, None]  # (i, j, n_x)
    phase_y = 2 * math.pi * i[None, :, None] * y + gamma[:, :, None]  # (i, j, n_y)
    u = torch.einsum("ij,ijx,ijy->xy", weight, phase_x.sin(), phase_y.sin())
    v = torch.einsum("ij,ijx,ijy->xy", weight, phase_x.cos(), phase_y.cos())
    work = grid.with_(dtype=torch.float64)
    return work.irfft(work.curl(work.rfft(u), work.rfft(v))).to(grid.dtype)


def _ns2d_pwc(grid: Grid, p: dict[str, float], r: Resolved, stepping: SteppingOptions) -> Setup:
    solver = NavierStokes2D(grid, viscosity=p["viscosity"], viscosity_cutoff=p["viscosity_cutoff"], **stepping)

    def initial(generator: torch.Generator) -> Tensor:
        return piecewise_constant_vorticity(grid, generator, int(p["cells"]), p["amplitude"])

    return Setup(solver.solve, initial, _attributes(r), _velocity_of(grid))


def _ns2d_sines(grid: Grid, p: dict[str, float], r: Resolved, stepping: SteppingOptions) -> Setup:
    solver = NavierStokes2D(grid, viscosity=p["viscosity"], viscosity_cutoff=p["viscosity_cutoff"], **stepping)

    def initial(generator: torch.Generator) -> Tensor:
        return sines_vorticity(grid, generator, int(p["modes"]), p["amplitude"])

    return Setup(solver.solve, initial, _attributes(r), _velocity_of(grid))


Builder = Callable[[Grid, dict[str, float], Resolved, SteppingOptions], Setup]

BUILDERS: dict[str, Builder] = {
    "ns2d-fno": _ns2d_fno,
    "ns2d-kolmogorov": _ns2d_kolmogorov,
    "ns2d-decaying": _ns2d_decaying,
    "convection-1d": _convection_1d,
    "burgers-1d": _burgers_1d,
    "convection-diffusion-2d": _convection_diffusion_2d,
    "ns2d-pwc": _ns2d_pwc,
    "ns2d-sines": _ns2d_sines,
}


def build_setup(resolved: Resolved, grid: Grid, **stepping: Unpack[SteppingOptions]) -> Setup:
    """The ``Setup`` of a resolved config on ``grid`` (the solve grid, or another one of the same domain).

    ``stepping`` overrides the time stepping of the recipe's solver (``dt``, ``scheme``, ``cfl``, ``max_dt``; see
    ``solvers.BaseSpectralSolver``), e.g. ``dt=None, cfl=0.5`` for an adaptive step; by default the recipe's fixed
    ``resolved.dt``. Recipes solved exactly in time ignore it.
    """
    return BUILDERS[resolved.recipe.name](grid, resolved.params, resolved, {"dt": resolved.dt, **stepping})


@dataclass(frozen=True)
class CostProbe:
    """A short timing of a config's solver, extrapolated to whole samples.

    Attributes:
        device: where the solver ran.
        dtype: its dtype.
        threads: torch's intra-op threads.
        batch: samples solved at once (as ``generate`` batches them).
        steps: solver steps timed (closed-form evaluations for an exact recipe), after one warm-up step.
        seconds: the wall time of those steps.
        seconds_per_sample: ``seconds / steps * solver_steps / batch``: one sample's share of a batch's solve, its
            spin-up included (downsampling and writing, small beside it, are not counted).
    """

    device: str
    dtype: str
    threads: int
    batch: int
    steps: int
    seconds: float
    seconds_per_sample: float

    def describe(self, samples: int) -> str:
        """Two lines for ``recipes.explain``'s card: the measured seconds per sample and for ``samples``."""
        return (
            f"  measured           {duration(self.seconds_per_sample)} per sample on {self.device} ({self.dtype}, "
            f"batch {self.batch}, {self.threads} torch thread(s)); {samples} samples: about "
            f"{duration(self.seconds_per_sample * samples)}\n"
            f"                     ({self.steps} step(s) timed in {self.seconds:.2f} s after a warm-up step, "
            "extrapolated to a whole sample, spin-up included)"
        )


def probe_cost(r: Resolved, *, batch_size: int = 16, budget: float = 0.5) -> CostProbe:
    """Time ``r``'s solver for a few steps on its device and extrapolate to one sample's whole solve.

    After one warm-up step (kernels, FFT plans, a CUDA context), the number of timed steps doubles from 1 until a
    run takes a quarter of ``budget``, so the timed runs take under ``budget`` seconds in all (plus the warm-up, and
    building the solver).

    Args:
        r: the resolved config (its device and dtype are used).
        batch_size: samples per batch in ``generate``; the probe solves ``min(batch_size, samples)`` at once.
        budget: seconds the timed runs may take.

    Raises:
        SolverInstabilityError: the settings are unstable within the probed steps.
    """
    config = r.config
    shape = (r.solve_resolution,) * r.recipe.spatial_dims
    grid = Grid(shape, r.recipe.length, dtype=getattr(torch, config.dtype), device=config.device)
    setup = build_setup(r, grid)
    batch = min(batch_size, config.samples)
    u0 = torch.stack([setup.initial_condition(sample_generator(config.seed, i, config.device)) for i in range(batch)])

    def run(steps: int) -> float:
        # An exact recipe costs one evaluation per frame; a stepped one, its dt steps between two recorded times.
        times = r.times[: steps + 1] if r.recipe.scheme == "exact" else [0.0, steps * r.dt]
        start = time.perf_counter()
        setup.solve(u0, times)
        if grid.device.type == "cuda":
            torch.cuda.synchronize(grid.device)
        return time.perf_counter() - start

    run(1)
    steps, seconds = 1, run(1)
    while seconds < budget / 4 and steps < r.solver_steps:
        steps = min(2 * steps, r.solver_steps)
        seconds = run(steps)
    return CostProbe(
        device=str(grid.device),
        dtype=config.dtype,
        threads=torch.get_num_threads(),
        batch=batch,
        steps=steps,
        seconds=seconds,
        seconds_per_sample=seconds / steps * r.solver_steps / batch,
    )
