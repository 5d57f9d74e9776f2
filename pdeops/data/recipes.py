"""Dataset recipes: the catalogue of which equation, parameters and defaults make each dataset.

``resolve`` fills a ``GenerationConfig``'s gaps with its recipe's defaults. The physics of each recipe (solver,
initial conditions, descriptive attributes) is in ``pdeops.data.setups``; ``pdeops.data.generate`` does the rest
(batching, downsampling, writing). This module imports no torch, so the command line lists recipes at once.
"""

import math
from dataclasses import dataclass, field
from typing import Literal


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
        field: the stored variable.
        resolution: default stored points per axis.
        solve_resolution: default points per axis of the solve grid.
        horizon: default final time.
        record_every: default time between stored frames.
        dt: default solver time step.
        length: domain length per axis (recorded as ``domain_length``).
        params: the physical parameters and their defaults (recorded as ``param_<name>``).
        vorticity_forcing: for a recipe of the 2-D vorticity equation, its forcing (what a residual of the
            equation needs besides the recorded parameters, see ``pdeops.losses.physics.vorticity_equation``);
            None for other equations.
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
    vorticity_forcing: VorticityForcing | None = None


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

    @property
    def times(self) -> list[float]:
        n = round(self.horizon / self.record_every)
        if not math.isclose(n * self.record_every, self.horizon, rel_tol=1e-9):
            raise ValueError(f"horizon {self.horizon} is not a whole number of record_every {self.record_every}.")
        return [i * self.record_every for i in range(n + 1)]


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
    )


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
            vorticity_forcing="kolmogorov",
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
        ),
    )
}
