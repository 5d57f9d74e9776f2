import math

import numpy as np
import pytest
import torch

from solvers import (
    SCHEMES,
    Grid,
    NavierStokes2D,
    SolverInstabilityError,
    divergence,
    enstrophy,
    fno_forcing,
    gaussian_random_field,
    kinetic_energy,
    kolmogorov_forcing,
    random_fourier_series,
    taylor_green_vorticity,
)
from solvers._navier_stokes import BATCHED_BELOW


def rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("scheme,dt", [("rk4cn", 2e-3), ("rk3cn", 1e-3), ("etdrk4", 0.05)])
@pytest.mark.parametrize("length", [2 * math.pi, 1.0])
def test_taylor_green_decays_exactly(scheme, dt, length):
    grid = Grid((32, 32), length)
    nu, drag, k = 0.01 * (length / (2 * math.pi)) ** 2, 0.1, 2 * math.pi / length
    w0 = taylor_green_vorticity(grid, wavenumber=1, amplitude=length / (2 * math.pi))  # same CFL for every L
    ns = NavierStokes2D(grid, viscosity=nu, drag=drag, scheme=scheme, dt=dt)
    w = ns.solve(w0, [0.5, 1.0])
    for i, t in enumerate([0.5, 1.0]):
        assert rel(w[i], w0 * math.exp(-(2 * nu * k**2 + drag) * t)) < 1e-10


def test_laminar_kolmogorov_flow_reaches_its_steady_state():
    grid = Grid((32, 32))
    nu, drag = 0.5, 0.1
    forcing = kolmogorov_forcing(grid, wavenumber=2, amplitude=1.0)
    steady = forcing / (nu * 2**2 + drag)  # ν Δω − α ω + f = 0 for a shear flow ω(y)
    w0 = 0.1 * random_fourier_series(grid, 2, generator=torch.Generator().manual_seed(0), max_mode=3)
    ns = NavierStokes2D(grid, viscosity=nu, drag=drag, forcing=forcing, scheme="etdrk4", max_dt=0.05)
    w = ns.solve(w0, [40.0])[:, 0]
    # The perturbation decays at least like exp(-(ν + α) t) = exp(-24): the state is the steady state.
    assert rel(w, steady.expand_as(w)) < 1e-8


@pytest.mark.parametrize("drag", [0.0, 0.3])
def test_unforced_energy_budget_and_divergence_free_velocity(drag):
    grid = Grid((64, 64))
    nu = 5e-3
    w0 = random_fourier_series(grid, 2, generator=torch.Generator().manual_seed(3), max_mode=6)
    ns = NavierStokes2D(grid, viscosity=nu, drag=drag, scheme="rk4cn", dt=2e-3)
    times = np.linspace(0.0, 1.0, 11)
    w = ns.solve(w0, times)
    energy, ens = kinetic_energy(grid, w), enstrophy(grid, w)
    # dE/dt = −2νZ − 2αE, integrated with the trapezoidal rule over the recorded frames.
    rate = -2 * nu * ens - 2 * drag * energy
    predicted = energy[:, 0] + torch.sum(0.5 * (rate[:, 1:] + rate[:, :-1]) * 0.1, dim=1)
    decay = energy[:, 0] - energy[:, -1]
    assert float(((predicted - energy[:, -1]).abs() / decay).max()) < 2e-3
    u, v = ns.velocity(w)
    assert float(divergence(grid, u, v).abs().max()) < 1e-12 * float(w.abs().max())


def _order_errors(scheme, nu, dts, T=1.0):
    grid = Grid((32, 32))
    w0 = random_fourier_series(grid, 2, generator=torch.Generator().manual_seed(1), max_mode=3)
    ref = NavierStokes2D(grid, viscosity=nu, scheme="etdrk4", dt=T / 2048).solve(w0, [T])
    errors = [rel(NavierStokes2D(grid, viscosity=nu, scheme=scheme, dt=dt).solve(w0, [T]), ref) for dt in dts]
    return float(np.polyfit(np.log(dts), np.log(errors), 1)[0])


@pytest.mark.parametrize(
    "scheme,viscosity,expected",
    [
        ("etdrk4", 0.05, 4),  # exponential integrator: fourth order with the viscous term
        ("rk4cn", 0.0, 4),  # the Carpenter–Kennedy explicit part alone
        ("rk3cn", 0.0, 3),  # the Williamson explicit part alone
        ("rk4cn", 0.05, 2),  # Crank–Nicolson limits the IMEX pair to second order
        ("rk3cn", 0.5, 2),
    ],
)
def test_measured_temporal_order(scheme, viscosity, expected):
    slope = _order_errors(scheme, viscosity, [1 / 32, 1 / 64, 1 / 128, 1 / 256])
    assert abs(slope - expected) < 0.2, f"{scheme}: measured order {slope:.2f}, declared {expected}"


def test_schemes_agree_on_forced_turbulence():
    grid = Grid((64, 64), 1.0)
    w0 = gaussian_random_field(grid, 2, generator=torch.Generator().manual_seed(0))
    runs = {
        s: NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), scheme=s, dt=2e-3).solve(w0, [1.0])
        for s in SCHEMES
    }
    assert rel(runs["rk4cn"], runs["etdrk4"]) < 1e-6
    assert rel(runs["rk3cn"], runs["etdrk4"]) < 1e-5


def test_batched_float32_and_callable_forcing_agree_with_the_reference():
    grid = Grid((32, 32), 1.0)
    w0 = gaussian_random_field(grid, 3, generator=torch.Generator().manual_seed(0))
    f = fno_forcing(grid)
    ref = NavierStokes2D(grid, viscosity=1e-3, forcing=f, dt=5e-3).solve(w0, [0.5, 1.0])
    single = NavierStokes2D(grid, viscosity=1e-3, forcing=f, dt=5e-3).solve(w0[1], [0.5, 1.0])
    assert rel(single, ref[1]) < 1e-13
    timed = NavierStokes2D(grid, viscosity=1e-3, forcing=lambda t: f, dt=5e-3).solve(w0, [0.5, 1.0])
    assert rel(timed, ref) < 1e-13
    g32 = grid.with_(dtype=torch.float32)
    low = NavierStokes2D(g32, viscosity=1e-3, forcing=fno_forcing(g32), dt=5e-3).solve(w0.float(), [0.5, 1.0])
    assert low.dtype == torch.float32 and rel(low.double(), ref) < 1e-4


def test_adaptive_dt_matches_a_fixed_fine_step():
    grid = Grid((32, 32), 1.0)
    w0 = gaussian_random_field(grid, 2, generator=torch.Generator().manual_seed(0))
    adaptive = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), cfl=0.4)
    ref = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), dt=1e-3).solve(w0, [1.0])
    assert rel(adaptive.solve(w0, [0.5, 1.0])[:, -1:], ref) < 1e-5
    # Every step it took kept the CFL target: the cached dts are dyadic fractions of the interval.
    assert all((0.5 / dt).is_integer() and math.log2(0.5 / dt).is_integer() for dt in adaptive._schemes)


def test_adaptive_dt_follows_a_flow_that_starts_from_rest():
    grid = Grid((32, 32), 1.0)
    w0 = 1e-6 * gaussian_random_field(grid, 1, generator=torch.Generator().manual_seed(0))
    adaptive = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), cfl=0.5, max_dt=0.1)
    ref = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), dt=2e-3).solve(w0, [4.0])
    assert rel(adaptive.solve(w0, [4.0]), ref) < 1e-5


def test_a_step_past_the_stability_limit_stops_with_a_clear_error():
    grid = Grid((32, 32), 1.0)
    w0 = gaussian_random_field(grid, 1, generator=torch.Generator().manual_seed(0))
    ns = NavierStokes2D(grid, viscosity=1e-3, dt=1.0)
    rate = ns.advection_rate(grid.rfft(w0))
    just_above = NavierStokes2D(grid, viscosity=1e-3, dt=1.1 * ns.max_cfl / rate)
    with pytest.raises(SolverInstabilityError, match=r"CFL number .* exceeds the rk4cn stability limit .*use dt <="):
        just_above.solve(w0, [just_above.dt])
    just_below = NavierStokes2D(grid, viscosity=1e-3, dt=0.5 * ns.max_cfl / rate)
    assert torch.isfinite(just_below.solve(w0, [just_below.dt])).all()
    blowing_up = NavierStokes2D(grid, viscosity=1e-4, dt=0.05)
    with pytest.raises(SolverInstabilityError, match=r"(exceeds|NaN/Inf).*dt = 0.05"):
        blowing_up.solve(50 * w0, [1.0, 2.0])


def test_advection_term_equals_its_closed_form():
    """ψ = a cos kx + b cos qy: −u·∇ω = −a b k q (k² − q²) sin kx sin qy (signs of u = ∇⊥ψ included)."""
    for shape, lengths in [((32, 32), (2 * math.pi, 2 * math.pi)), ((33, 20), (1.0, 3.0))]:
        grid = Grid(shape, lengths)
        x, y = grid.mesh()
        a, b = 0.7, -1.3
        k, q = 2 * math.pi * 2 / lengths[0], 2 * math.pi * 3 / lengths[1]
        w = a * k**2 * torch.cos(k * x) + b * q**2 * torch.cos(q * y)  # ω = −Δψ
        expected = -a * b * k * q * (k**2 - q**2) * torch.sin(k * x) * torch.sin(q * y)
        got = grid.irfft(NavierStokes2D(grid, viscosity=0.0).nonlinear(grid.rfft(w), 0.0))
        assert rel(got, expected) < 1e-13


def test_bad_arguments_are_named():
    grid = Grid((16, 16), 1.0)
    with pytest.raises(ValueError, match="Unknown time scheme 'rk9'"):
        NavierStokes2D(grid, viscosity=1e-3, scheme="rk9")
    with pytest.raises(ValueError, match="viscosity must be a finite number >= 0, got -1.0"):
        NavierStokes2D(grid, viscosity=-1.0)
    with pytest.raises(ValueError, match="u0 must end in the grid shape"):
        NavierStokes2D(grid, viscosity=1e-3, dt=0.1).solve(torch.zeros(4, 32, 32), [1.0])
    with pytest.raises(ValueError, match="increasing"):
        NavierStokes2D(grid, viscosity=1e-3, dt=0.1).solve(torch.zeros(16, 16), [1.0, 0.5])
    with pytest.raises(ValueError, match="max_dt"):
        NavierStokes2D(grid, viscosity=1e-3).solve(torch.zeros(16, 16), [1.0])


@pytest.mark.gpu
def test_cuda_matches_cpu():
    grid = Grid((64, 64), 1.0)
    w0 = gaussian_random_field(grid, 4, generator=torch.Generator().manual_seed(0))
    cpu = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), dt=1e-3).solve(w0, [0.5])
    gpu_grid = grid.with_(device="cuda")
    gpu = NavierStokes2D(gpu_grid, viscosity=1e-3, forcing=fno_forcing(gpu_grid), dt=1e-3).solve(w0.cuda(), [0.5])
    assert rel(gpu.cpu(), cpu) < 1e-9  # cuFFT and MKL round differently


def test_bad_inputs_are_named_before_any_step() -> None:
    """A NaN input is reported as what it is, not as an unstable dt; a forcing on another grid is refused at once."""
    grid = Grid((16, 16), 1.0)
    w0 = torch.zeros(2, 16, 16)
    w0[1, 3, 4] = float("nan")
    with pytest.raises(ValueError, match=r"u0 holds 1 NaN or Inf value\(s\) \(the first at index \(1, 3, 4\)\)"):
        NavierStokes2D(grid, viscosity=1e-3, dt=1e-3).solve(w0, [0.0, 0.1])
    with pytest.raises(ValueError, match="viscosity must be a finite number >= 0, got nan"):
        NavierStokes2D(grid, viscosity=float("nan"), dt=1e-3)
    with pytest.raises(ValueError, match="drag must be a finite number >= 0, got -0.1"):
        NavierStokes2D(grid, viscosity=1e-3, drag=-0.1, dt=1e-3)
    with pytest.raises(ValueError, match=r"forcing must end in the grid shape \(16, 16\).*got shape \(32, 32\)"):
        NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(Grid((32, 32), 1.0)), dt=1e-3)


def test_the_batched_and_separate_transform_paths_agree(generator):
    """Small states take one batched inverse transform, large ones four separate calls: the same numbers."""
    grid = Grid((64, 64), 1.0, dtype=torch.float64)
    ns = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), dt=1e-3)
    w_hat = grid.rfft(gaussian_random_field(grid, 3, generator=generator))
    assert w_hat[:1].numel() <= BATCHED_BELOW < w_hat.numel()
    separate = ns.nonlinear(w_hat, 0.0)
    batched = torch.cat([ns.nonlinear(w_hat[i : i + 1], 0.0) for i in range(3)])
    assert torch.allclose(batched, separate, rtol=0, atol=1e-12 * float(separate.abs().max()))


# --- spectral viscosity (viscosity_cutoff) -------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1])
def test_spectral_viscosity_damps_only_the_modes_at_or_above_the_cutoff(axis):
    """ω = cos(2π·3 s/L) + cos(2π·12 s/L) along one axis is a steady Euler flow (u·∇ω ≡ 0): with the cutoff 11.3
    the n = 3 mode keeps its amplitude exactly and the n = 12 mode decays as exp(−ν (2π·12/L)² t). The lengths differ
    per axis (1 and 2), so a cutoff read off |k| with the wrong length misplaces the modes."""
    grid = Grid((32, 64), (1.0, 2.0), dtype=torch.float64)
    s, length = grid.mesh()[axis], grid.lengths[axis]
    low, high = (torch.cos(2 * math.pi * n * s / length) for n in (3, 12))
    nu, t = 4e-4, 1.0
    ns = NavierStokes2D(grid, viscosity=nu, viscosity_cutoff=11.3, scheme="etdrk4", dt=0.05)  # exact in L
    w = ns.solve((low + high)[None], [t])[0, 0]
    decay = math.exp(-nu * (2 * math.pi * 12 / length) ** 2 * t)  # 0.10 on the unit axis, 0.57 on the other
    torch.testing.assert_close(w, low + decay * high, rtol=0, atol=1e-12)
    plain = NavierStokes2D(grid, viscosity=nu, scheme="etdrk4", dt=0.05).solve((low + high)[None], [t])[0, 0]
    damped = math.exp(-nu * (2 * math.pi * 3 / length) ** 2 * t)  # plain viscosity damps n = 3 too
    torch.testing.assert_close(plain, damped * low + decay * high, rtol=0, atol=1e-12)


def test_spectral_viscosity_symbol_is_zero_exactly_below_the_cutoff():
    """A mode with |n| at the cutoff is damped (n = (8, 8) at √128, float32 grid); −ν|k|² − α above, −α below."""
    grid = Grid((32, 32), 1.0, dtype=torch.float32)
    nu, drag = 1e-3, 0.1
    n = grid.modes[0] ** 2 + grid.modes[1] ** 2
    for cutoff, at_128 in ((math.sqrt(128), True), (math.sqrt(128) + 1e-6, False)):
        linear = NavierStokes2D(grid, viscosity=nu, viscosity_cutoff=cutoff, drag=drag, dt=1e-3).linear
        above = n >= (128 if at_128 else 129)
        assert torch.equal(linear, torch.where(above, -nu * grid.k2 - drag, torch.full_like(grid.k2, -drag)))
        assert bool(above[8, 8]) is at_128


def test_a_zero_cutoff_changes_nothing(generator):
    grid = Grid((32, 32), 1.0, dtype=torch.float64)
    w0 = gaussian_random_field(grid, 2, generator=generator)
    forcing = fno_forcing(grid)
    default = NavierStokes2D(grid, viscosity=1e-3, drag=0.1, forcing=forcing, dt=1e-2)
    zero = NavierStokes2D(grid, viscosity=1e-3, viscosity_cutoff=0.0, drag=0.1, forcing=forcing, dt=1e-2)
    assert zero.viscosity_cutoff == 0.0 and torch.equal(zero.linear, default.linear)
    assert torch.equal(zero.solve(w0, [0.1, 0.2]), default.solve(w0, [0.1, 0.2]))


@pytest.mark.parametrize("cutoff", [-1.0, float("nan"), float("inf")])
def test_a_bad_cutoff_is_named(cutoff):
    with pytest.raises(ValueError, match="viscosity_cutoff must be a finite number >= 0"):
        NavierStokes2D(Grid((16, 16), 1.0), viscosity=1e-3, viscosity_cutoff=cutoff, dt=1e-3)


# --- hyperviscosity (a coarse grid's closure) ----------------------------------------------------------------------
@pytest.mark.parametrize("order", [1, 2, 3])
def test_hyperviscosity_damps_a_single_mode_at_its_exact_rate(order):
    """ω = cos(k·x) with one wavevector is a steady Euler flow (u·∇ω ≡ 0): it decays exactly as
    exp(−(ν|k|² + ν_h |k|^{2p} + α) t), whichever the grid's (non-square) lengths."""
    grid = Grid((32, 48), (1.0, 2.0), dtype=torch.float64)
    x, y = grid.mesh()
    kx, ky = 2 * math.pi * 3 / 1.0, 2 * math.pi * 5 / 2.0
    w0 = torch.cos(kx * x + ky * y)
    k2 = kx**2 + ky**2
    nu, nu_h, drag, t = 1e-4, 0.5 / k2**order, 0.1, 0.7  # the hyperviscous rate at this mode: 0.5
    ns = NavierStokes2D(
        grid, viscosity=nu, hyperviscosity=nu_h, hyperviscosity_order=order, drag=drag, scheme="etdrk4", dt=0.05
    )  # exact in L
    w = ns.solve(w0[None], [t])[0, 0]
    rate = nu * k2 + nu_h * k2**order + drag
    assert 0.05 < math.exp(-rate * t) < 0.95  # the hyperviscous term is a visible part of the decay
    torch.testing.assert_close(w, math.exp(-rate * t) * w0, rtol=0, atol=1e-12)


def test_zero_hyperviscosity_changes_nothing_and_bad_values_are_named():
    grid = Grid((16, 16), 1.0, dtype=torch.float64)
    default = NavierStokes2D(grid, viscosity=1e-3, dt=1e-3)
    assert torch.equal(NavierStokes2D(grid, viscosity=1e-3, hyperviscosity=0.0, dt=1e-3).linear, default.linear)
    with pytest.raises(ValueError, match="hyperviscosity must be a finite number >= 0"):
        NavierStokes2D(grid, viscosity=1e-3, hyperviscosity=-1.0, dt=1e-3)
    with pytest.raises(ValueError, match="hyperviscosity_order must be an integer p >= 1"):
        NavierStokes2D(grid, viscosity=1e-3, hyperviscosity=1e-6, hyperviscosity_order=0, dt=1e-3)
