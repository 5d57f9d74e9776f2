"""Pointwise PDE residuals for collocation training (PINNs), with derivatives by autograd.

The problems are the 1-D periodic transport equations of the PINN failure-mode studies (Krishnapriyan et al.,
NeurIPS 2021; Mojgani et al., CMAME 404:115810, 2023)::

    u_t + c(u) u_x = ν u_xx,   x ∈ [0, L) periodic,   t ∈ [0, t_final],   u(x, 0) = A sin(2π m x / L) + C,

with ``c = β`` (linear convection–diffusion) or ``c = u`` (viscous Burgers). Points are ``(P, 2)`` with columns
``(x, t)`` (for a Lagrangian network: ``(x₀, t)``, the label of a characteristic and the time), and every residual
differentiates the network's output with respect to those input columns, so ``points`` must have
``requires_grad=True`` and the output must have been computed from it.

- ``eulerian_residual``: ``u_t + c(u) u_x − ν u_xx`` of a field ``u(x, t)``.
- ``lagrangian_residuals``: ``R_X = X_t − c(u)`` and ``R_u = u_t − ν u_XX`` of a state ``u(x₀, t)`` carried on the
  characteristic ``X(x₀, t)``, with ``u_XX`` by the chain rule (Mojgani et al., Eqs. 9–10; see the function).
- ``periodic_residual``: the seam mismatch ``∂ₓᵏu(L, t) − ∂ₓᵏu(0, t)`` of an Eulerian network.

These are the continuous equations of the network, not a discretisation, so unlike ``physics.py`` they do not go
through the solvers' spectral operators; the reference solutions they are compared with do (see
``pdeops.losses.pinn_reference``).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import torch

Tensor = torch.Tensor

EQUATIONS = ("convection", "burgers")


@dataclass(frozen=True)
class TransportProblem:
    """A 1-D periodic transport problem ``u_t + c(u) u_x = ν u_xx`` with a sine initial condition.

    Args:
        equation: ``"convection"`` (``c = β``, linear convection–diffusion) or ``"burgers"`` (``c = u``).
        beta: the convection speed β (convection only; for Burgers give the mean transport as ``offset``).
        nu: the diffusivity (viscosity) ν ≥ 0.
        amplitude: A of ``u₀ = A sin(2π m x / L) + C``.
        wavenumber: m, a positive integer (so ``u₀`` is periodic).
        offset: C, the constant added to ``u₀`` (for Burgers, a mean transport speed).
        length: the period L.
        final_time: the end of the time interval ``[0, t_final]``.

    Good values: the failure-mode study uses convection with ``β ∈ {1, 10, …, 50}``, ``ν = 0``, ``u₀ = sin x``,
    ``L = 2π``, ``t_final = 1``; the Lagrangian-PINN paper adds Burgers with ``ν = 0.01`` and ``u₀ = sin x + C``.
    """

    equation: Literal["convection", "burgers"] = "convection"
    beta: float = 0.0
    nu: float = 0.0
    amplitude: float = 1.0
    wavenumber: int = 1
    offset: float = 0.0
    length: float = 2 * math.pi
    final_time: float = 1.0

    def __post_init__(self) -> None:
        if self.equation not in EQUATIONS:
            raise ValueError(f"equation must be one of {EQUATIONS}, got {self.equation!r}.")
        if self.equation == "burgers" and self.beta != 0:
            raise ValueError(
                f"beta is the convection speed and must be 0 for Burgers (its speed is u), got beta={self.beta}; "
                "give a mean transport as offset (u₀ = A sin(2π m x / L) + offset) instead."
            )
        if self.nu < 0:
            raise ValueError(f"nu must be >= 0, got {self.nu}.")
        if self.wavenumber < 1:
            raise ValueError(f"wavenumber must be a positive integer, got {self.wavenumber}.")
        if not (self.length > 0 and self.final_time > 0):
            raise ValueError(
                f"length and final_time must be positive, got length={self.length}, final_time={self.final_time}."
            )

    @property
    def transport_speed(self) -> float:
        """The speed a curriculum raises: β for convection, the offset C for Burgers."""
        return self.beta if self.equation == "convection" else self.offset

    def with_transport_speed(self, speed: float) -> "TransportProblem":
        """This problem with ``transport_speed`` set to ``speed`` (β for convection, the offset for Burgers)."""
        if self.equation == "convection":
            return replace(self, beta=speed)
        return replace(self, offset=speed)

    def velocity(self, u: Tensor) -> Tensor:
        """The characteristic speed ``c(u)``: β (convection) or u (Burgers); same shape as ``u``."""
        return u if self.equation == "burgers" else torch.full_like(u, self.beta)

    def initial_condition(self, x: Tensor) -> Tensor:
        """``u₀(x) = A sin(2π m x / L) + C``, elementwise."""
        return self.amplitude * torch.sin(2 * math.pi * self.wavenumber / self.length * x) + self.offset


def input_gradient(y: Tensor, points: Tensor) -> Tensor:
    """``(∂y/∂x, ∂y/∂t)`` at every point, keeping the graph (so it can be differentiated again and trained on).

    Args:
        y: ``(P,)`` values computed pointwise from ``points``.
        points: ``(P, 2)`` with ``requires_grad=True``.

    Returns:
        ``(P, 2)``: column 0 is ``∂y/∂x``, column 1 ``∂y/∂t``; zeros where y does not depend on ``points`` (e.g.
        ``X_{x₀x₀}`` of an exactly straight characteristic).
    """
    if not y.requires_grad:
        return torch.zeros_like(points)
    (gradient,) = torch.autograd.grad(y, points, torch.ones_like(y), create_graph=True, materialize_grads=True)
    return gradient


def eulerian_residual(problem: TransportProblem, u: Tensor, points: Tensor) -> Tensor:
    """``u_t + c(u) u_x − ν u_xx`` of a network ``u(x, t)``.

    Args:
        problem: the equation.
        u: ``(P,)`` or ``(P, 1)``, the network at ``points``.
        points: ``(P, 2)`` columns ``(x, t)``, ``requires_grad=True``.

    Returns:
        ``(P,)``.
    """
    u = _column(u, points)
    du = input_gradient(u, points)
    u_x, u_t = du[:, 0], du[:, 1]
    residual = u_t + problem.velocity(u) * u_x
    if problem.nu > 0:
        u_xx = input_gradient(u_x, points)[:, 0]
        residual = residual - problem.nu * u_xx
    return residual


def lagrangian_residuals(problem: TransportProblem, u: Tensor, X: Tensor, points: Tensor) -> tuple[Tensor, Tensor]:
    """The Lagrangian residuals ``R_X = X_t − c(u)`` and ``R_u = u_t − ν u_XX`` (Mojgani et al., Eqs. 9–10).

    Along a characteristic ``X(x₀, t)`` the transport term vanishes and only diffusion is left, whose derivative is
    with respect to the physical position X, not the label x₀. By the chain rule (X monotone in x₀)::

        u_XX = (u_{x₀x₀} X_{x₀} − u_{x₀} X_{x₀x₀}) / X_{x₀}³,

    which reduces to ``u_{x₀x₀}`` (the reference code's term) only when ``X_{x₀} ≡ 1``, i.e. for constant-speed
    convection; for Burgers the characteristics converge and the chain rule is needed.

    Args:
        problem: the equation.
        u: ``(P,)`` or ``(P, 1)``, the state on the characteristics at ``points``.
        X: ``(P,)`` or ``(P, 1)``, the characteristics (unwrapped positions) at ``points``.
        points: ``(P, 2)`` columns ``(x₀, t)``, ``requires_grad=True``.

    Returns:
        ``(R_X, R_u)``, each ``(P,)``.
    """
    u, X = _column(u, points), _column(X, points)
    dX, du = input_gradient(X, points), input_gradient(u, points)
    residual_x = dX[:, 1] - problem.velocity(u)
    residual_u = du[:, 1]
    if problem.nu > 0:
        X_x0, u_x0 = dX[:, 0], du[:, 0]
        X_x0x0, u_x0x0 = input_gradient(X_x0, points)[:, 0], input_gradient(u_x0, points)[:, 0]
        u_XX = (u_x0x0 * X_x0 - u_x0 * X_x0x0) / X_x0**3
        residual_u = residual_u - problem.nu * u_XX
    return residual_x, residual_u


def periodic_residual(field: Callable[[Tensor], Tensor], times: Tensor, length: float, order: int = 0) -> Tensor:
    """The seam mismatch ``∂ₓᵏu(L, t) − ∂ₓᵏu(0, t)`` for ``k = 0 … order`` of an Eulerian network.

    Args:
        field: the network, ``(P, 2) -> (P, 1)`` or ``(P,)``.
        times: ``(B,)`` times of the boundary pairs.
        length: the period L.
        order: the highest x-derivative to match (0: values only; 1: also ``u_x``, needed when ν > 0).

    Returns:
        ``(B, order + 1)``; column k is the mismatch of the k-th derivative.
    """
    if order not in (0, 1):
        raise ValueError(f"order must be 0 or 1, got {order!r}.")
    times = times.reshape(-1, 1)
    sides = [torch.cat([torch.full_like(times, edge), times], dim=1) for edge in (0.0, length)]
    left, right = (side.requires_grad_(order > 0) for side in sides)
    u_left, u_right = _column(field(left), left), _column(field(right), right)
    columns = [u_right - u_left]
    if order == 1:
        columns.append(input_gradient(u_right, right)[:, 0] - input_gradient(u_left, left)[:, 0])
    return torch.stack(columns, dim=1)


def _column(y: Tensor, points: Tensor) -> Tensor:
    """A network output ``(P,)`` or ``(P, 1)`` as ``(P,)``, checked against ``points`` ``(P, 2)``."""
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (P, 2) with columns (x, t), got shape {tuple(points.shape)}.")
    if y.shape not in ((points.shape[0],), (points.shape[0], 1)):
        raise ValueError(
            f"the network output must be (P,) or (P, 1) with P = {points.shape[0]} (one value per point), "
            f"got shape {tuple(y.shape)}."
        )
    return y.reshape(-1)
