"""The negative Sobolev norm, the ∂t stencils and the Spectral-Refiner's space–time vorticity residual."""

import math

import pytest
import torch

from pdeops.losses.physics import FORCINGS, VorticityEquation, vorticity_equation
from pdeops.losses.sobolev import DEFAULT_ALPHA, SpaceTimeVorticityResidual, sobolev_norm, time_derivative_matrix
from solvers import Grid
from tests._spectral_refiner import fno_trajectories


# --- the negative Sobolev norm -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "s", "length"),
    [((1, 0), -1.0, 1.0), ((2, -3), -1.0, 1.0), ((0, 5), -0.5, 1.0), ((3, 4), 1.0, 2 * math.pi), ((0, 0), -1.0, 1.0)],
)
def test_sobolev_norm_of_a_fourier_mode_is_its_closed_form(mode: tuple[int, int], s: float, length: float) -> None:
    grid = Grid((16, 16), length)
    x, y = grid.mesh()
    amplitude = 1.7
    k = [2 * math.pi * m / length for m in mode]
    u = amplitude * torch.cos(k[0] * x + k[1] * y)
    mean_square = amplitude**2 if mode == (0, 0) else amplitude**2 / 2
    expected = math.sqrt(length**2 * mean_square * (DEFAULT_ALPHA + k[0] ** 2 + k[1] ** 2) ** s)
    assert float(sobolev_norm(u, grid, s)) == pytest.approx(expected, rel=1e-12)


def test_time_derivative_stencils_are_exact_for_polynomials_of_their_order_only() -> None:
    t = torch.arange(9, dtype=torch.float64)
    for order in (2, 4):
        derivative = time_derivative_matrix(9, order)
        for degree in range(order + 1):
            torch.testing.assert_close(derivative @ t**degree, degree * t ** max(degree - 1, 0), rtol=1e-9, atol=1e-9)
        assert (derivative @ t ** (order + 1) - (order + 1) * t**order).abs().max() > 1e-3
    with pytest.raises(ValueError, match="more frames than the order"):
        time_derivative_matrix(4, 4)


# --- the space–time residual --------------------------------------------------------------------------------------
def test_residual_of_solver_output_converges_in_frame_spacing_and_resolution_and_flags_perturbations() -> None:
    def times(spacing: float) -> list[float]:
        return [1.0 + spacing * i for i in range(round(1.0 / spacing) + 1)]

    coarse_dt, fine_dt = (
        SpaceTimeVorticityResidual(1e-3, h, forcing="fno", time_order=2)(fno_trajectories(32, times(h)))
        for h in (0.1, 0.05)
    )
    assert torch.all((coarse_dt / fine_dt > 3.5) & (coarse_dt / fine_dt < 5.5))  # second order: 4
    residual = SpaceTimeVorticityResidual(1e-3, 0.05, forcing="fno")
    by_resolution = [residual(fno_trajectories(64, times(0.05), solve_n=n)) for n in (8, 16, 32)]
    assert all(torch.all(a > 5 * b) for a, b in zip(by_resolution, by_resolution[1:], strict=False))
    w = fno_trajectories(32, times(0.05))
    noise = 1e-3 * w.std() * torch.randn(w.shape, generator=torch.Generator().manual_seed(1), dtype=w.dtype)
    assert torch.all(residual(w + noise) > 100 * residual(w))
    history, frames = w[:, :5], w[:, 5:]
    assert residual.pointwise(frames, history.unsqueeze(2)).shape == frames.shape
    with pytest.raises(ValueError, match="history must be a vorticity trajectory"):
        residual(frames, history[..., :16])


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="forcing must be one of"):
        SpaceTimeVorticityResidual(1e-3, 0.2, forcing="kolmo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="frame_dt and alpha must be positive"):
        SpaceTimeVorticityResidual(1e-3, 0.0)
    with pytest.raises(ValueError, match="alpha must be positive"):
        sobolev_norm(torch.zeros(8, 8), Grid((8, 8)), alpha=0.0)


# --- the residual of a data file's equation -------------------------------------------------------------------------
def test_residual_from_attributes_reads_the_recipe_and_the_recorded_parameters() -> None:
    attrs = {"recipe": "ns2d-decaying", "param_viscosity": 2e-3, "domain_length": 2 * math.pi, "record_every": 0.5}
    residual = SpaceTimeVorticityResidual.from_attributes(attrs)
    assert (residual.forcing, residual.viscosity, residual.frame_dt) == ("none", 2e-3, 0.5)
    assert residual.length == 2 * math.pi and residual.drag == 0.0 and residual.time_order == 4
    assert SpaceTimeVorticityResidual.from_attributes(attrs, time_order=2).time_order == 2
    with pytest.raises(ValueError, match="recipe one of"):
        SpaceTimeVorticityResidual.from_attributes({"recipe": "burgers-1d", "param_viscosity": 0.01})
    with pytest.raises(ValueError, match=r"lacks \['record_every'\]"):
        SpaceTimeVorticityResidual.from_attributes(
            {key: value for key, value in attrs.items() if key != "record_every"}
        )


@pytest.mark.parametrize("recipe", ["ns2d-decaying", "ns2d-fno", "ns2d-kolmogorov"])
def test_residual_from_a_generated_files_attributes_is_the_equation_its_trajectories_solve(
    recipe: str, vorticity_files
) -> None:
    attrs, w = vorticity_files[recipe]
    residual = SpaceTimeVorticityResidual.from_attributes(attrs)
    equation = vorticity_equation(attrs)
    assert residual.frame_dt == 0.025 and residual.time_order == 4
    assert (residual.viscosity, residual.length, residual.drag, residual.forcing) == tuple(equation.values())
    fitted = residual(w)
    others: list[VorticityEquation] = [
        {**equation, "forcing": forcing} for forcing in FORCINGS if forcing != equation["forcing"]
    ]
    others += [{**equation, "drag": equation["drag"] + 0.1}, {**equation, "viscosity": 1e-2}]
    for other in others:  # the file's own equation fits its trajectories far better than any other
        assert torch.all(fitted < 0.01 * SpaceTimeVorticityResidual(**other, frame_dt=0.025)(w))
