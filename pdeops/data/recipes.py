"""Dataset recipes: the catalogue of which equation, parameters and defaults make each dataset.

``resolve`` fills a ``GenerationConfig``'s gaps with its recipe's defaults, and ``explain`` describes a resolved
config (what ``pdeops generate RECIPE --help`` prints). The physics of each recipe (solver, initial conditions) is in
``pdeops.data.setups``; ``pdeops.data.generate`` does the rest (batching, downsampling, writing). ``rebuild_resolved``
reads back, from a generated file's attributes, the resolved config that made it, for every caller that reruns the
file's solver (``evaluate``'s speed-ups, ``work-precision``, the benchmark's solver row). This module imports no torch,
so the command line lists recipes at once.
"""

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pdeops import __version__
from pdeops.data._errors import DatasetError


@dataclass(frozen=True)
class GenerationConfig:
    """Everything that determines a generated dataset (and is recorded in its attributes).

    Args:
        recipe: one of ``RECIPES``.
        samples: number of trajectories.
        resolution: stored points per axis; None takes the recipe's default.
        solve_resolution: points per axis the solver runs at; None takes the recipe's default (at least
            ``resolution``).
        horizon: final time; None takes the recipe's default.
        record_every: time between stored frames; None takes the recipe's default.
        seed: the recipe seed; sample i draws from its own generator seeded ``seed * 1_000_003 + i``.
        dt: solver time step; None takes the recipe's default (always fixed: an adaptive dt would make a sample
            depend on its batch).
        dtype: ``"float32"`` or ``"float64"``, of both the solve and the stored fields.
        device: where the solver runs.
        downsample: ``"spectral"`` (truncate Fourier modes, default), ``"stride"`` (take every r-th point; the
            solve resolution must then be a multiple of the stored one) or ``"bilinear"`` (periodic linear
            interpolation along each axis; equals ``"stride"`` when the resolutions divide).
        params: physical parameters overriding the recipe's (e.g. ``{"viscosity": 1e-4}``, ``{"beta": 30}``).
        spinup: simulated time each sample is integrated from its initial condition before its first stored frame
            (a burn-in, at the solve resolution with the same scheme and dt as the stored frames; 0: none); None
            takes the recipe's default. The stored times still start at 0: frame 0 is the state at the end of the
            spin-up (the recipes are autonomous, so only the elapsed time matters).
    """

    recipe: str
    samples: int = 16
    resolution: int | None = None
    solve_resolution: int | None = None
    horizon: float | None = None
    record_every: float | None = None
    seed: int = 0
    dt: float | None = None
    dtype: str = "float32"
    device: str = "cpu"
    downsample: str = "spectral"
    params: dict[str, float] = field(default_factory=dict)
    spinup: float | None = None

    def __post_init__(self) -> None:
        if self.recipe not in RECIPES:
            raise ValueError(f"Unknown recipe {self.recipe!r}; choose one of {sorted(RECIPES)}.")
        if self.samples < 1:
            raise ValueError(f"samples must be >= 1, got {self.samples}.")
        for name in ("resolution", "solve_resolution"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 (or None for the recipe's default), got {value}.")
        for name in ("horizon", "record_every", "dt"):
            value = getattr(self, name)
            if value is not None and not (0 < value < math.inf):  # NaN fails this too
                raise ValueError(f"{name} must be a positive number (or None for the recipe's default), got {value}.")
        if self.spinup is not None and not (0 <= self.spinup < math.inf):  # NaN fails this too
            raise ValueError(
                f"spinup must be a finite number of time units >= 0 (0: no spin-up; None: the recipe's default), "
                f"got {self.spinup}. It is the simulated time integrated before the first stored frame, e.g. "
                "--spinup 10."
            )
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}.")
        if self.downsample not in ("spectral", "stride", "bilinear"):
            raise ValueError(f"downsample must be 'spectral', 'stride' or 'bilinear', got {self.downsample!r}.")
        unknown = set(self.params) - set(RECIPES[self.recipe].params)
        if unknown:
            raise ValueError(
                f"Recipe {self.recipe!r} has no parameter(s) {sorted(unknown)}; "
                f"its parameters are {sorted(RECIPES[self.recipe].params)}."
            )


VorticityForcing = Literal["fno", "kolmogorov", "none"]
"""The forcing of a 2-D vorticity equation: Li et al.'s (``solvers.fno_forcing``), Kolmogorov's
(``solvers.kolmogorov_forcing``) or none."""


@dataclass(frozen=True)
class Recipe:
    """Defaults and the physics of one dataset family.

    Args:
        name: the key in ``RECIPES`` (recorded as the file's ``recipe`` attribute).
        description: one line, recorded as the file's ``description``.
        field: the solver's state, stored as the first variable (and what a reference solver restarts from).
        resolution: default stored points per axis.
        solve_resolution: default points per axis of the solve grid.
        horizon: default final time.
        record_every: default time between stored frames.
        dt: default solver time step.
        length: domain length per axis (recorded as ``domain_length``).
        params: the physical parameters and their defaults (recorded as ``param_<name>``).
        param_docs: one line per parameter of ``params``, saying what it is.
        equation: the equation solved (recorded as ``equation``).
        initial_condition: the distribution of the initial conditions (recorded as ``initial_condition``, with
            the amplitude the parameters give it where there is one).
        forcing: the forcing term (recorded as ``forcing``), or None for an equation without one.
        scheme: the solver's time scheme (``"rk4cn"``: fixed-dt IMEX Runge–Kutta; ``"exact"``: a closed-form
            solution, evaluated once per stored frame).
        vorticity_forcing: for a recipe of the 2-D vorticity equation, its forcing (what a residual of the
            equation needs besides the recorded parameters, see ``pdeops.losses.physics.vorticity_equation``);
            None for other equations.
        derived: further stored variables computed from the state on the solve grid by the setup's ``derive``
            (``pdeops.data.setups.Setup``), e.g. the velocity ``("velocity_x", "velocity_y")`` of a vorticity
            solve; each is downsampled like the state.
        spinup: default simulated time integrated before the first stored frame (``GenerationConfig.spinup``;
            recorded as ``spinup``): long enough for a forced flow to forget its initial condition and become
            statistically stationary.
    """

    name: str
    description: str
    field: str
    resolution: int
    solve_resolution: int
    horizon: float
    record_every: float
    dt: float
    length: float
    params: dict[str, float]
    param_docs: dict[str, str]
    equation: str
    initial_condition: str
    forcing: str | None = None
    scheme: Literal["rk4cn", "exact"] = "rk4cn"
    vorticity_forcing: VorticityForcing | None = None
    derived: tuple[str, ...] = ()
    spinup: float = 0.0

    def __post_init__(self) -> None:
        if set(self.param_docs) != set(self.params):
            raise ValueError(
                f"Recipe {self.name!r}: param_docs must describe exactly its parameters {sorted(self.params)}, "
                f"got {sorted(self.param_docs)}."
            )
        if len(set(self.fields)) != len(self.fields):
            raise ValueError(f"Recipe {self.name!r}: its stored variables {self.fields} must have distinct names.")

    @property
    def fields(self) -> tuple[str, ...]:
        """Every stored variable: the state ``field``, then the ``derived`` ones."""
        return (self.field, *self.derived)

    @property
    def spatial_dims(self) -> int:
        """1 for the ``*-1d`` recipes, else 2 (the naming convention ``pdeops.data.generate`` builds grids by)."""
        return 1 if self.name.endswith("-1d") else 2


@dataclass(frozen=True)
class Resolved:
    """A config with the recipe's defaults filled in."""

    config: GenerationConfig
    recipe: Recipe
    resolution: int
    solve_resolution: int
    horizon: float
    record_every: float
    dt: float
    params: dict[str, float]
    spinup: float = 0.0

    @property
    def times(self) -> list[float]:
        n = round(self.horizon / self.record_every)
        if not math.isclose(n * self.record_every, self.horizon, rel_tol=1e-9):
            raise ValueError(f"horizon {self.horizon} is not a whole number of record_every {self.record_every}.")
        return [i * self.record_every for i in range(n + 1)]

    @property
    def steps_per_frame(self) -> int:
        """Solver steps between two stored frames: the solvers shorten dt to land on every frame exactly."""
        if self.recipe.scheme == "exact":
            return 1  # one evaluation of the closed form per frame
        return max(1, math.ceil(self.record_every / self.dt * (1 - 1e-12)))

    @property
    def spinup_times(self) -> list[float]:
        """The times ``0 = s_0 < ... < s_k = spinup`` a sample's spin-up passes through, in k equal segments
        (progress is reported after each); ``[]`` without a spin-up.

        A segment is ``record_every`` long where ``spinup`` is a whole number of them (so the spin-up steps with
        the stored frames' dt exactly), and k never exceeds the stored frames' intervals (so a long spin-up holds no
        more frames in memory than the trajectory does).
        """
        if self.spinup == 0:
            return []
        frames = max(1, round(self.horizon / self.record_every))  # counted, not listed (see generate's checks)
        k = max(1, min(math.ceil(self.spinup / self.record_every * (1 - 1e-12)), frames))
        return [self.spinup * j / k for j in range(k)] + [self.spinup]

    @property
    def spinup_steps(self) -> int:
        """Solver steps (closed-form evaluations for an exact recipe) of one sample's spin-up."""
        segments = len(self.spinup_times) - 1
        if segments <= 0 or self.recipe.scheme == "exact":
            return max(segments, 0)
        return segments * max(1, math.ceil(self.spinup / segments / self.dt * (1 - 1e-12)))

    @property
    def solver_steps(self) -> int:
        """Solver steps (closed-form evaluations for an exact recipe) of one sample: its spin-up's, then those
        between its stored frames (frame 0 excluded)."""
        return self.spinup_steps + (len(self.times) - 1) * self.steps_per_frame

    @property
    def grid_points(self) -> int:
        """Points of the solve grid."""
        return self.solve_resolution**self.recipe.spatial_dims


def resolve(config: GenerationConfig) -> Resolved:
    recipe = RECIPES[config.recipe]
    resolution = config.resolution or recipe.resolution
    solve_resolution = config.solve_resolution or max(recipe.solve_resolution, resolution)
    if solve_resolution < resolution:
        raise ValueError(f"solve_resolution {solve_resolution} is below the stored resolution {resolution}.")
    if config.downsample == "stride" and solve_resolution % resolution:
        raise ValueError(
            f"downsample='stride' needs solve_resolution ({solve_resolution}) to be a multiple of resolution "
            f"({resolution}); use downsample='spectral' or change one of them."
        )
    return Resolved(
        config=config,
        recipe=recipe,
        resolution=resolution,
        solve_resolution=solve_resolution,
        horizon=config.horizon if config.horizon is not None else recipe.horizon,
        record_every=config.record_every if config.record_every is not None else recipe.record_every,
        dt=config.dt if config.dt is not None else recipe.dt,
        params={**recipe.params, **config.params},
        spinup=float(config.spinup if config.spinup is not None else recipe.spinup),
    )


class SolverRebuildError(DatasetError):
    """The solver that made a dataset file cannot be rebuilt (see ``rebuild_resolved``)."""


def rebuild_resolved(attrs: Mapping[str, Any], path: str | os.PathLike[str]) -> Resolved:
    """The resolved config that made a file ``pdeops generate`` wrote, rebuilt from its attributes and checked.

    The file's ``config`` attribute records only what its command line set; the rest comes from today's recipe. So
    every setting the file records of the solver it was made with (each ``param_*``, ``recipe``, ``domain_length``,
    ``solver_scheme``, ``solver_dt``, ``solve_resolution`` and ``dtype``) must equal what the rebuilt config gives:
    a file made when a recipe's default differed (e.g. ``ns2d-pwc`` before its spectral viscosity) would otherwise
    be compared against another solver than the one that made it. The config's ``device`` is set to ``"cpu"``:
    callers put the solver's grid where they run it (``pdeops.data.setups.build_setup``).

    The spin-up is not compared: it changes where the trajectories start, not the solver that advances them. The
    rebuilt config takes the file's recorded ``spinup`` (0 for a file written before spin-ups were recorded), not
    today's recipe default, so it describes the file as it was made.

    Args:
        attrs: the dataset's attributes, as ``open_dataset`` gives them (``source_format`` says the reader).
        path: the file, for the message.

    Raises:
        SolverRebuildError: a file ``pdeops generate`` did not write, a config this version cannot resolve (an
            unknown recipe or setting), or a recorded setting that differs from the rebuilt one. The message is
            ``solver_unavailable(path, reason)``.
    """
    if attrs.get("source_format") != "pdeops" or "config" not in attrs:
        raise SolverRebuildError(solver_unavailable(path, "it was not written by `pdeops generate` (no recipe)"))
    try:
        recorded = json.loads(_text(attrs["config"]))
        spinup = float(_scalar(attrs.get("spinup", 0.0)))  # files before spin-ups had none
        resolved = resolve(replace(GenerationConfig(**recorded), device="cpu", spinup=spinup))
    except (TypeError, ValueError) as error:  # JSON, or a config of another version (unknown recipe or setting)
        raise SolverRebuildError(
            solver_unavailable(path, f"its generation config cannot be resolved ({error})")
        ) from None
    names = {name.removeprefix("param_") for name in attrs if name.startswith("param_")} | set(resolved.params)
    rebuilt: dict[str, Any] = {f"param_{name}": resolved.params.get(name) for name in sorted(names)}
    rebuilt |= {
        "recipe": resolved.recipe.name,
        "domain_length": resolved.recipe.length,
        "solver_scheme": resolved.recipe.scheme,
        "solver_dt": resolved.dt,
        "solve_resolution": resolved.solve_resolution,
        "dtype": resolved.config.dtype,
    }
    differ = {name: value for name, value in rebuilt.items() if not _same(attrs.get(name), value)}
    if differ:
        settings = "; ".join(_difference(name, attrs.get(name), value) for name, value in differ.items())
        raise SolverRebuildError(
            solver_unavailable(path, f"it records other solver settings than its recipe gives today ({settings})")
        )
    return resolved


def solver_unavailable(path: str | os.PathLike[str], reason: str) -> str:
    """The one message for a file whose solver cannot be rebuilt, wherever a caller needs that solver."""
    return (
        f"The solver behind {os.fspath(path)} cannot be rebuilt: {reason}; the speed-up over the reference solver "
        f"(at the file's dt and at equal accuracy) needs it. Regenerate the file with `pdeops generate` of this "
        f"version (pdeops {__version__}) to measure one, or compare against persistence alone: the model's scores "
        "do not need the solver."
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _scalar(value: Any) -> Any:
    """A recorded attribute as a plain scalar: HDF5 gives numpy scalars, one-element arrays or bytes."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return _text(value) if isinstance(value, bytes) else value


def _same(recorded: Any, rebuilt: Any) -> bool:
    recorded = _scalar(recorded)
    if recorded is None or rebuilt is None:
        return False
    if isinstance(rebuilt, str) or isinstance(recorded, str):
        return str(recorded) == str(rebuilt)
    try:
        return math.isclose(float(recorded), float(rebuilt), rel_tol=1e-12, abs_tol=0.0)
    except (TypeError, ValueError):
        return False


def _difference(name: str, recorded: Any, now: Any) -> str:
    return f"{name} {_shown(recorded)} in the file, {'no such parameter' if now is None else _shown(now)} now"


def _shown(value: Any) -> str:
    value = _scalar(value)
    if value is None:
        return "not recorded"
    return f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else repr(value)


RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            name="ns2d-fno",
            description="Li et al. (2021) forced Navier-Stokes on [0,1]^2",
            field="vorticity",
            resolution=64,
            solve_resolution=256,
            horizon=50.0,
            record_every=1.0,
            dt=1e-4,
            length=1.0,
            params={"viscosity": 1e-3, "alpha": 2.5, "tau": 7.0},
            param_docs={
                "viscosity": "kinematic viscosity nu",
                "alpha": "smoothness of the initial field: covariance (-lap + tau^2)^-alpha",
                "tau": "inverse length scale of the initial field",
            },
            equation="2-D incompressible Navier-Stokes, vorticity form: w_t + u.grad(w) = nu lap(w) + f",
            initial_condition="Gaussian random field, covariance sigma^2 (-lap + tau^2)^-alpha",
            forcing="0.1 (sin 2pi(x+y) + cos 2pi(x+y))",
            vorticity_forcing="fno",
        ),
        Recipe(
            name="ns2d-kolmogorov",
            description="Kolmogorov flow with drag on [0,2pi]^2 (Kochkov et al. 2021)",
            field="vorticity",
            resolution=64,
            solve_resolution=256,
            horizon=20.0,
            record_every=0.5,
            dt=1e-3,
            length=2 * math.pi,
            params={
                "viscosity": 1e-3,
                "drag": 0.1,
                "forcing_wavenumber": 4,
                "forcing_amplitude": 1.0,
                "initial_std": 1.0,
            },
            param_docs={
                "viscosity": "kinematic viscosity nu",
                "drag": "linear drag coefficient (damps the large scales)",
                "forcing_wavenumber": "wavenumber k of the forcing (a whole number)",
                "forcing_amplitude": "amplitude A of the body force",
                "initial_std": "standard deviation of the initial vorticity",
            },
            equation="2-D incompressible Navier-Stokes, vorticity form, with linear drag: "
            "w_t + u.grad(w) = nu lap(w) - drag w + f",
            initial_condition="band-limited random Fourier series, |m| <= 4",
            forcing="Kolmogorov: body force (A sin(k y), 0), vorticity forcing -A k cos(k y)",
            vorticity_forcing="kolmogorov",
            # From the |m| <= 4 initial field (energy ~0.1) the energy reaches its stationary level (~1, enstrophy
            # 10-13) between t ~ 3 and t ~ 9, depending on the sample (measured at 64^2 and 32^2 solves); 20 is twice
            # the slowest, so frame 0 is stationary turbulence (tests/data/test_spinup.py checks it).
            spinup=20.0,
        ),
        Recipe(
            name="ns2d-decaying",
            description="McWilliams decaying turbulence on [0,2pi]^2",
            field="vorticity",
            resolution=64,
            solve_resolution=256,
            horizon=10.0,
            record_every=0.5,
            dt=2e-3,
            length=2 * math.pi,
            params={"viscosity": 1e-3, "peak_wavenumber": 6.0},
            param_docs={
                "viscosity": "kinematic viscosity nu",
                "peak_wavenumber": "wavenumber where the initial energy spectrum peaks",
            },
            equation="2-D incompressible Navier-Stokes, vorticity form, unforced: w_t + u.grad(w) = nu lap(w)",
            initial_condition="McWilliams (1984) decaying turbulence, kinetic energy 0.5",
            forcing="none",
            vorticity_forcing="none",
        ),
        Recipe(
            name="convection-1d",
            description="u_t + beta u_x = nu u_xx from sin x (Krishnapriyan et al. 2021)",
            field="u",
            resolution=256,
            solve_resolution=256,
            horizon=1.0,
            record_every=0.01,
            dt=1e-3,
            length=2 * math.pi,
            params={"beta": 30.0, "viscosity": 0.0},
            param_docs={"beta": "advection velocity", "viscosity": "diffusivity nu (0: pure advection)"},
            equation="1-D convection-diffusion: u_t + beta u_x = nu u_xx (exact Fourier solution)",
            initial_condition="sin x",
            scheme="exact",
        ),
        Recipe(
            name="burgers-1d",
            description="viscous Burgers from random band-limited fields",
            field="u",
            resolution=256,
            solve_resolution=1024,
            horizon=1.0,
            record_every=0.01,
            dt=1e-4,
            length=2 * math.pi,
            params={"viscosity": 0.01, "initial_std": 1.0},
            param_docs={"viscosity": "viscosity nu", "initial_std": "standard deviation of the initial field"},
            equation="1-D viscous Burgers: u_t + (u^2/2)_x = nu u_xx",
            initial_condition="band-limited random Fourier series, |m| <= 4",
        ),
        Recipe(
            name="convection-diffusion-2d",
            description="a scalar in a steady cellular flow",
            field="c",
            resolution=64,
            solve_resolution=128,
            horizon=5.0,
            record_every=0.1,
            dt=2e-3,
            length=2 * math.pi,
            params={"diffusivity": 0.01, "flow_amplitude": 1.0},
            param_docs={
                "diffusivity": "diffusivity kappa of the scalar",
                "flow_amplitude": "amplitude A of the stream function (the flow's peak speed)",
            },
            equation="2-D advection-diffusion by a steady cellular flow: c_t + div(u c) = kappa lap(c), "
            "u = (psi_y, -psi_x), psi = A sin x sin y",
            initial_condition="band-limited random Fourier series, |m| <= 4",
        ),
        # Poseidon's incompressible NS-PwC and NS-Sines sets (Herde et al. 2024, "Poseidon: Efficient Foundation
        # Models for PDEs", arXiv 2405.19101, appendix B; the PDEgym files camlab-ethz/NS-PwC and NS-Sines): [0,1]^2
        # periodic, 21 frames over t in [0, 1] at 128^2, velocity (u, v). Poseidon solves the velocity form with
        # azeban's spectral viscosity (Tadmor): eps_N = 0.05/N on the modes |n| >= m_N = sqrt(N) only, none below, at
        # N = 128 (nu = 3.90625e-4, m = 11.3137). We solve the vorticity form with the same spectral viscosity on
        # nu lap(w) (solvers.NavierStokes2D's viscosity_cutoff) and store the velocity beside the vorticity. Both
        # numbers are parameters fixed at N = 128: a run at another solve resolution keeps them unless given others.
        Recipe(
            name="ns2d-pwc",
            description="Poseidon's NS-PwC: piecewise-constant initial vorticity on [0,1]^2 (Herde et al. 2024)",
            field="vorticity",
            derived=("velocity_x", "velocity_y"),
            resolution=128,
            solve_resolution=128,
            horizon=1.0,
            record_every=0.05,
            dt=1e-3,
            length=1.0,
            params={"viscosity": 3.90625e-4, "viscosity_cutoff": 11.3137, "cells": 10, "amplitude": 1.0},
            param_docs={
                "viscosity": "spectral viscosity nu on the modes |n| >= m (Poseidon: eps_N = 0.05/N at N = 128)",
                "viscosity_cutoff": "m: the smallest |n| (n in units of 2pi/L) nu acts on; none below "
                "(Poseidon: m_N = sqrt(N) at N = 128)",
                "cells": "squares per axis p of the piecewise-constant vorticity (a whole number)",
                "amplitude": "A: each square's vorticity c_ij ~ U[-A, A]",
            },
            equation="2-D incompressible Navier-Stokes, vorticity form, unforced: w_t + u.grad(w) = nu lap(w) on "
            "modes |n| >= m (spectral viscosity); stored as w and u = (psi_y, -psi_x), -lap(psi) = w",
            initial_condition="piecewise-constant vorticity c_ij ~ U[-A, A] on p x p squares, less its mean",
            forcing="none",
            vorticity_forcing="none",
        ),
        Recipe(
            name="ns2d-sines",
            description="Poseidon's NS-Sines: sum-of-sines initial velocity on [0,1]^2 (Herde et al. 2024)",
            field="vorticity",
            derived=("velocity_x", "velocity_y"),
            resolution=128,
            solve_resolution=128,
            horizon=1.0,
            record_every=0.05,
            dt=1e-3,
            length=1.0,
            params={"viscosity": 3.90625e-4, "viscosity_cutoff": 11.3137, "modes": 10, "amplitude": 1.0},
            param_docs={
                "viscosity": "spectral viscosity nu on the modes |n| >= m (Poseidon: eps_N = 0.05/N at N = 128)",
                "viscosity_cutoff": "m: the smallest |n| (n in units of 2pi/L) nu acts on; none below "
                "(Poseidon: m_N = sqrt(N) at N = 128)",
                "modes": "modes per axis p of the sums of sines (a whole number)",
                "amplitude": "A: the amplitudes alpha_ij ~ U[-A, A]",
            },
            equation="2-D incompressible Navier-Stokes, vorticity form, unforced: w_t + u.grad(w) = nu lap(w) on "
            "modes |n| >= m (spectral viscosity); stored as w and u = (psi_y, -psi_x), -lap(psi) = w",
            initial_condition="u0 = sum_{i,j<=p} alpha_ij / sqrt(2pi(i+j)) sin(2pi i x + beta_ij) sin(2pi j y + "
            "gamma_ij), v0 the same with cos cos; alpha_ij ~ U[-A, A], beta_ij, gamma_ij ~ U[0, 2pi]; "
            "its divergence-free part (the vorticity of (u0, v0))",
            forcing="none",
            vorticity_forcing="none",
        ),
    )
}


# --- describing recipes (the command line's `pdeops recipes` and `pdeops generate RECIPE --help`) ----------------
def catalogue() -> str:
    """One line per recipe: its name, description, stored field and default grids, horizon and spin-up."""
    width = max(map(len, RECIPES))
    lines = []
    for name, recipe in RECIPES.items():
        grids = f"{_points(recipe.resolution, recipe)} from {_points(recipe.solve_resolution, recipe)}"
        fields = ", ".join(recipe.fields)
        spinup = f" after a spin-up of {recipe.spinup:g}" if recipe.spinup else ""
        lines.append(f"{name:<{width}}  {recipe.description} ({fields}, {grids}, t_end {recipe.horizon:g}{spinup})")
    return "\n".join(lines)


def explain(r: Resolved) -> str:
    """What ``r`` generates: the equation, every setting with its default and option, and the cost per sample.

    Settings the config changes are shown with the recipe's default beside them. The cost is counted
    (solver steps × solve-grid points, the spin-up's steps included); ``pdeops.data.setups.probe_cost`` measures it
    in seconds.
    """
    recipe, config = r.recipe, r.config
    frames = len(r.times)

    def setting(value: str, default: str) -> str:
        return value if value == default else f"{value} (recipe default {default})"

    domain = f"[0, {_length(recipe.length)}]" + ("" if recipe.spatial_dims == 1 else f"^{recipe.spatial_dims}")
    rows = [
        ("equation", recipe.equation),
        *([("forcing", recipe.forcing)] if recipe.forcing is not None else []),
        ("initial condition", recipe.initial_condition),
        ("domain", f"{domain}, periodic"),
        ("stored fields" if recipe.derived else "stored field", f"{', '.join(recipe.fields)}, {config.dtype}"),
        ("resolution", setting(_points(r.resolution, recipe), _points(recipe.resolution, recipe))),
        ("solve resolution", setting(_points(r.solve_resolution, recipe), _points(recipe.solve_resolution, recipe))),
        ("horizon t_end", setting(f"{r.horizon:g}", f"{recipe.horizon:g}")),
        ("record every", setting(f"{r.record_every:g}", f"{recipe.record_every:g}") + f" ({frames} frames)"),
        ("dt", setting(f"{r.dt:g}", f"{recipe.dt:g}") + f", {recipe.scheme}"),
    ]
    if recipe.scheme == "exact":
        rows[-1] = ("dt", f"none: the {recipe.scheme} solution is evaluated at each stored frame")
    spinup = f"{r.spinup:g} of simulated time before frame 0" if r.spinup else "none"
    if r.spinup != recipe.spinup:
        spinup += f" (recipe default {f'{recipe.spinup:g}' if recipe.spinup else 'none'})"
    rows.append(("spin-up", spinup))
    lines = [f"{recipe.name}: {recipe.description}", ""]
    lines += [f"  {name:<18} {value}" for name, value in rows]
    lines += ["", "  physical parameters (--param NAME=VALUE):"]
    pad = max(len(f"{name} = {value:g}") for name, value in r.params.items())
    for name, value in r.params.items():
        changed = "" if value == recipe.params[name] else f" (recipe default {recipe.params[name]:g})"
        lines.append(f"    {f'{name} = {value:g}':<{pad}}  {recipe.param_docs[name]}{changed}")
    itemsize = 8 if config.dtype == "float64" else 4
    stored = len(recipe.fields) * frames * r.resolution**recipe.spatial_dims * itemsize
    what = "closed-form evaluations" if recipe.scheme == "exact" else "steps"
    spun = f" ({r.spinup_steps:,} of them the spin-up's)" if r.spinup_steps else ""
    lines += [
        "",
        f"  cost per sample    {r.solver_steps:,} {what}{spun} x {r.grid_points:,} points = "
        f"{r.solver_steps * r.grid_points:.2g} point-steps",
        f"  size per sample    {format_bytes(stored)} stored; "
        f"{config.samples} samples: {format_bytes(stored * config.samples)}",
    ]
    return "\n".join(lines)


def _points(n: int, recipe: Recipe) -> str:
    return str(n) if recipe.spatial_dims == 1 else f"{n}^{recipe.spatial_dims}"


def _length(length: float) -> str:
    return "2pi" if math.isclose(length, 2 * math.pi) else f"{length:g}"


def format_bytes(size: float) -> str:
    """``size`` bytes in decimal units, three significant digits (``"13.4 MB"``)."""
    units = ("B", "kB", "MB", "GB", "TB")
    exponent = min(int(math.log10(max(size, 1)) // 3), len(units) - 1)
    return f"{size / 1000**exponent:.3g} {units[exponent]}"
