import math

import pytest
import torch

from pdeops.losses import VorticityResidual
from pdeops.losses.physics import Forcing, VorticityEquation, vorticity_equation
from solvers import Grid, NavierStokes2D, fno_forcing, gaussian_random_field, taylor_green_vorticity


def _pair(dt: float, n: int = 32):
    grid = Grid((n, n), 1.0)
    w0 = gaussian_random_field(grid, 2, generator=torch.Generator().manual_seed(0))
    solver = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), dt=dt / 10)
    return w0, solver.solve(w0, [dt])[:, 0]


def test_residual_of_solver_output_is_second_order_small_and_large_when_perturbed():
    residual = VorticityResidual(viscosity=1e-3, dt=0.02, forcing="fno")
    w0, w1 = _pair(0.02)
    small = float(residual(w0[:, None], w1[:, None]))
    # The implicit-midpoint rule is second order: halving dt divides the residual (∝ dt²) by about 4 (square: 16).
    w0h, w1h = _pair(0.01)
    smaller = float(VorticityResidual(viscosity=1e-3, dt=0.01, forcing="fno")(w0h[:, None], w1h[:, None]))
    assert 10 < small / smaller < 22
    tendency_scale = float(((w1 - w0) / 0.02).pow(2).mean())
    assert small < 1e-4 * tendency_scale
    perturbed = w1 + 0.01 * torch.randn(w1.shape, generator=torch.Generator().manual_seed(1), dtype=w1.dtype)
    assert float(residual(w0[:, None], perturbed[:, None])) > 100 * small


def test_taylor_green_pair_has_the_crank_nicolson_residual_of_its_exact_decay():
    grid = Grid((16, 16), 2 * math.pi)
    nu, dt = 0.05, 0.1
    w0 = taylor_green_vorticity(grid)
    w1 = w0 * math.exp(-2 * nu * dt)
    r = VorticityResidual(viscosity=nu, dt=dt, length=2 * math.pi).pointwise(w0[None], w1[None])
    # Exact decay e^{−λdt}: residual = w0[(e^{−λdt} − 1)/dt + λ(1 + e^{−λdt})/2], λ = 2ν.
    lam = 2 * nu
    expected = w0 * ((math.exp(-lam * dt) - 1) / dt + lam * (1 + math.exp(-lam * dt)) / 2)
    torch.testing.assert_close(r[0], expected, rtol=1e-10, atol=1e-13)


def test_residual_is_differentiable_and_checks_shapes():
    w0, w1 = _pair(0.02, n=16)
    pred = w1.clone().requires_grad_(True)
    VorticityResidual(viscosity=1e-3, dt=0.02, forcing="fno")(w0[:, None], pred[:, None]).backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="two vorticity frames"):
        VorticityResidual(viscosity=1e-3, dt=0.02)(w0[:, None], w1[:, None, :8])


# --- the equation of a generated file ------------------------------------------------------------------------------
FORCING: dict[str, Forcing] = {"ns2d-fno": "fno", "ns2d-kolmogorov": "kolmogorov", "ns2d-decaying": "none"}


@pytest.mark.parametrize("recipe", sorted(FORCING))
def test_residual_from_a_generated_files_attributes_is_the_equation_its_frames_solve(recipe, vorticity_files):
    attrs, w = vorticity_files[recipe]
    residual = VorticityResidual.from_attributes(attrs)
    equation = VorticityEquation(
        viscosity=1e-3,
        length=1.0 if recipe == "ns2d-fno" else 2 * math.pi,
        drag=0.1 if recipe == "ns2d-kolmogorov" else 0.0,
        forcing=FORCING[recipe],
    )
    assert vorticity_equation(attrs) == equation
    assert (residual.viscosity, residual.length, residual.drag, residual.forcing) == tuple(equation.values())
    assert residual.dt == 0.025
    previous, following = w[:, :-1].reshape(-1, 1, 32, 32), w[:, 1:].reshape(-1, 1, 32, 32)
    fitted = float(residual(previous, following))
    others: list[VorticityEquation] = [
        {**equation, "forcing": forcing} for forcing in FORCING.values() if forcing != equation["forcing"]
    ]
    others += [{**equation, "drag": equation["drag"] + 0.1}, {**equation, "viscosity": 1e-2}]
    for other in others:  # the file's own equation fits its frames better than any other
        assert fitted < 0.1 * float(VorticityResidual(**other, dt=0.025)(previous, following))


def test_equation_of_a_file_that_is_not_a_pdeops_vorticity_dataset_is_refused_with_the_reason(vorticity_files):
    recipes = r"\['ns2d-decaying', 'ns2d-fno', 'ns2d-kolmogorov', 'ns2d-pwc', 'ns2d-sines'\]"
    with pytest.raises(ValueError, match=f"recipe one of {recipes}"):
        vorticity_equation({"recipe": "burgers-1d", "param_viscosity": 0.01})
    with pytest.raises(ValueError, match="recipe is None"):
        vorticity_equation({"param_viscosity": 0.01})
    with pytest.raises(ValueError, match=r"lacks \['domain_length'\]"):
        vorticity_equation({"recipe": "ns2d-decaying", "param_viscosity": 1e-3})
    attrs, _ = vorticity_files["ns2d-kolmogorov"]
    with pytest.raises(ValueError, match=r"lacks \['param_drag'\]"):
        vorticity_equation({key: value for key, value in attrs.items() if key != "param_drag"})
    with pytest.raises(ValueError, match="wavenumber 4 and amplitude 1 only"):
        vorticity_equation({**attrs, "param_forcing_wavenumber": 2})
    with pytest.raises(ValueError, match="wavenumber 4 and amplitude 1 only"):
        VorticityResidual.from_attributes({**attrs, "param_forcing_amplitude": 0.5})
    with pytest.raises(ValueError, match=r"lacks \['record_every'\]"):
        VorticityResidual.from_attributes({key: value for key, value in attrs.items() if key != "record_every"})
