"""Time schemes for semi-linear equations in spectral space, ``∂t û = L û + N(û, t)``.

An *equation* is anything with a ``linear`` tensor (the diagonal symbol L on the spectral grid, real or complex) and
a ``nonlinear(u_hat, t)`` method (everything else, forcing included). A *scheme* is built from an equation and a
time step and advances ``u_hat`` by one step: ``scheme(u_hat, t) -> u_hat``. The schemes keep every coefficient
that depends only on (L, dt) precomputed, so a step does nothing but the nonlinear evaluations and a few fused
multiply-adds.
"""

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import torch

Tensor = torch.Tensor


class SemiLinearEquation(Protocol):
    """``∂t û = L û + N(û, t)`` with a diagonal linear symbol ``L`` on the spectral grid.

    ``nonlinear`` must return a new tensor each call (schemes update it in place).
    """

    @property
    def linear(self) -> Tensor: ...

    def nonlinear(self, u_hat: Tensor, t: float) -> Tensor: ...


@dataclass(frozen=True)
class LowStorageTableau:
    """A 2N-storage Runge–Kutta scheme (Williamson form) with Crank–Nicolson sub-steps for L.

    Notation of Kochkov et al. (2021), eq. (S8) / jax-cfd ``low_storage_runge_kutta_crank_nicolson``: stage k
    evaluates ``h ← N(u, t + α_k dt) + β_k h`` then solves
    ``(1 - μ_k L) u ← u + γ_k dt h + μ_k L u`` with ``μ_k = dt (α_{k+1} - α_k) / 2``.
    """

    name: str
    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    gammas: tuple[float, ...]
    explicit_order: int
    imaginary_stability: float  # largest y with |R(iy)| <= 1 for the explicit part

    def __post_init__(self) -> None:
        n = len(self.betas)
        if len(self.gammas) != n or len(self.alphas) != n + 1:
            raise ValueError(
                f"{self.name}: need len(alphas) = len(betas) + 1 = len(gammas) + 1, got "
                f"{len(self.alphas)}, {len(self.betas)}, {len(self.gammas)}."
            )


def _f(num: int, den: int) -> float:
    return float(Fraction(num, den))


# Williamson (1980), third-order, 3 stages.
RK3_WILLIAMSON = LowStorageTableau(
    name="rk3cn",
    alphas=(0.0, 1 / 3, 3 / 4, 1.0),
    betas=(0.0, -5 / 9, -153 / 128),
    gammas=(1 / 3, 15 / 16, 8 / 15),
    explicit_order=3,
    imaginary_stability=math.sqrt(3),
)

# Carpenter & Kennedy (1994), NASA TM-109112, solution 3: fourth-order, 5 stages (the one jax-cfd and torch-cfd use).
RK4_CARPENTER_KENNEDY = LowStorageTableau(
    name="rk4cn",
    alphas=(0.0, 0.1496590219993, 0.3704009573644, 0.6222557631345, 0.9582821306748, 1.0),
    betas=(
        0.0,
        _f(-567301805773, 1357537059087),
        _f(-2404267990393, 2016746695238),
        _f(-3550918686646, 2091501179385),
        _f(-1275806237668, 842570457699),
    ),
    gammas=(
        _f(1432997174477, 9575080441755),
        _f(5161836677717, 13612068292357),
        _f(1720146321549, 2090206949498),
        _f(3134564353537, 4481467310338),
        _f(2277821191437, 14882151754819),
    ),
    explicit_order=4,
    imaginary_stability=3.34,
)


class IMEXRungeKuttaCN:
    """Low-storage IMEX Runge–Kutta: explicit RK for N, Crank–Nicolson for L in every sub-step.

    Order: ``tableau.explicit_order`` in the explicit part. The Crank–Nicolson sub-steps are second order, so once
    ``dt L`` matters (viscous problems at practical dt) the global error is O(dt²); with L = 0 it is O(dt^4) for
    ``rk4cn``. ``order`` reports the guaranteed order, 2; the tests measure both regimes.
    """

    order = 2

    def __init__(self, equation: SemiLinearEquation, dt: float, tableau: LowStorageTableau):
        self.equation, self.dt, self.tableau = equation, dt, tableau
        self.imaginary_stability = tableau.imaginary_stability
        self.explicit_order = tableau.explicit_order
        L = equation.linear
        a = tableau.alphas
        self._stages = []
        for k, (beta, gamma) in enumerate(zip(tableau.betas, tableau.gammas, strict=True)):
            mu = 0.5 * dt * (a[k + 1] - a[k])
            L64 = L.to(torch.complex128 if L.is_complex() else torch.float64)
            denominator = 1 - mu * L64
            # u ← u + (A − 1) u + B h, with A = (1 + μL)/(1 − μL) and B = γ dt/(1 − μL), precomputed once per dt
            # in float64. Storing A − 1 = 2μL/(1 − μL) rather than A keeps its relative precision where μL is tiny:
            # in float32, A itself rounds to 1 ± 6e-8, and over thousands of steps that drifts (5e-4 from the float64
            # solution of pure diffusion after 4000 steps; 2e-6 with A − 1).
            A_minus_1, B = 2 * mu * L64 / denominator, gamma * dt / denominator
            # Stored complex: multiplying a complex state by a real tensor would promote (copy) it every call.
            complex_dtype = torch.complex128 if L.dtype in (torch.float64, torch.complex128) else torch.complex64
            self._stages.append((a[k] * dt, beta, A_minus_1.to(complex_dtype), B.to(complex_dtype)))

    def __call__(self, u_hat: Tensor, t: float) -> Tensor:
        h: Tensor | None = None
        for offset, beta, A_minus_1, B in self._stages:
            n = self.equation.nonlinear(u_hat, t + offset)
            h = n if h is None or beta == 0 else n.add_(h, alpha=beta)  # n is fresh: update it in place
            u_hat = torch.addcmul(u_hat, A_minus_1, u_hat).addcmul_(B, h)
        return u_hat


def etdrk4_coefficients(hL: Tensor, n_points: int = 32) -> dict[str, Tensor]:
    """ETDRK4 coefficients of Cox & Matthews (2002), by the contour integrals of Kassam & Trefethen (2005).

    Each φ-like function of ``z = h L`` is averaged over ``n_points`` points on a circle of radius 1 around z
    (Cauchy's integral formula), which avoids the cancellation of the closed forms near z = 0 (Kassam &
    Trefethen, eqs. (2.5)–(2.6)).

    Args:
        hL: ``dt × L`` on the spectral grid, real or complex; computed in float64 / complex128.

    Returns:
        ``E = e^{hL}``, ``E2 = e^{hL/2}`` and the factors ``Q, f1, f2, f3`` *divided by h* (multiply by dt).
    """
    real = not hL.is_complex()
    z = hL.to(torch.complex128)
    # Real z: the upper half circle suffices (the lower half gives the conjugates); complex z needs all of it.
    arc = math.pi if real else 2 * math.pi
    j = torch.arange(1, n_points + 1, dtype=torch.float64, device=hL.device)
    r = torch.exp(1j * arc * (j - 0.5) / n_points)
    lr = z.unsqueeze(-1) + r  # (..., n_points)
    e_lr = torch.exp(lr)

    def mean(values: Tensor) -> Tensor:
        m = values.mean(-1)
        return m.real if real else m

    return {
        "E": torch.exp(z).real if real else torch.exp(z),
        "E2": torch.exp(z / 2).real if real else torch.exp(z / 2),
        "Q": mean((torch.exp(lr / 2) - 1) / lr),
        "f1": mean((-4 - lr + e_lr * (4 - 3 * lr + lr**2)) / lr**3),
        "f2": mean((2 + lr + e_lr * (lr - 2)) / lr**3),
        "f3": mean((-4 - 3 * lr - lr**2 + e_lr * (4 - lr)) / lr**3),
    }


class ETDRK4:
    """Exponential time differencing RK4 (Cox & Matthews 2002, eqs. (26)–(29)): L exact, N fourth order."""

    order = 4
    imaginary_stability = 2 * math.sqrt(2)  # that of classical RK4, which ETDRK4 becomes as L -> 0

    def __init__(self, equation: SemiLinearEquation, dt: float):
        self.equation, self.dt = equation, dt
        L = equation.linear
        c = etdrk4_coefficients(dt * L.to(torch.float64 if not L.is_complex() else torch.complex128))
        dtype = L.dtype
        self.E, self.E2 = c["E"].to(dtype), c["E2"].to(dtype)
        self.Q = (dt * c["Q"]).to(dtype)
        self.f1, self.f2, self.f3 = ((dt * c[key]).to(dtype) for key in ("f1", "f2", "f3"))

    def __call__(self, u_hat: Tensor, t: float) -> Tensor:
        N, dt = self.equation.nonlinear, self.dt
        E2u = self.E2 * u_hat
        Nu = N(u_hat, t)
        a = torch.addcmul(E2u, self.Q, Nu)
        Na = N(a, t + dt / 2)
        b = torch.addcmul(E2u, self.Q, Na)
        Nb = N(b, t + dt / 2)
        c = torch.addcmul(self.E2 * a, self.Q, 2 * Nb - Nu)
        Nc = N(c, t + dt)
        out = torch.addcmul(self.E * u_hat, self.f1, Nu)
        out.addcmul_(self.f2, 2 * (Na + Nb))
        return out.addcmul_(self.f3, Nc)


SCHEMES = ("rk3cn", "rk4cn", "etdrk4")
IMAGINARY_STABILITY = {
    "rk3cn": RK3_WILLIAMSON.imaginary_stability,
    "rk4cn": RK4_CARPENTER_KENNEDY.imaginary_stability,
    "etdrk4": ETDRK4.imaginary_stability,
}


def make_scheme(name: str, equation: SemiLinearEquation, dt: float) -> IMEXRungeKuttaCN | ETDRK4:
    """Build the scheme called ``name`` (one of ``SCHEMES``) for ``equation`` and step ``dt``."""
    if name == "rk3cn":
        return IMEXRungeKuttaCN(equation, dt, RK3_WILLIAMSON)
    if name == "rk4cn":
        return IMEXRungeKuttaCN(equation, dt, RK4_CARPENTER_KENNEDY)
    if name == "etdrk4":
        return ETDRK4(equation, dt)
    raise ValueError(f"Unknown time scheme {name!r}; expected one of {SCHEMES}.")
