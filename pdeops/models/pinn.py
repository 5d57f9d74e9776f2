"""Physics-informed networks on 1-D periodic transport: the Eulerian PINN and the Lagrangian PINN.

Points are ``(P, 2)`` with columns ``(x, t)`` (``(x₀, t)`` for the Lagrangian network, x₀ the label of a
characteristic). Both networks also give their solution on a fixed Eulerian grid, ``predict_on_grid(x, t) ->
(T, N)``, which is what evaluation compares with the reference.

- ``PINN``: ``u(x, t)`` as a tanh MLP 2 → 50 × 4 → 1, the baseline of Krishnapriyan et al., "Characterizing possible
  failure modes in physics-informed neural networks" (NeurIPS 2021; code a1k12/characterizing-pinns-failure-modes,
  ``DNN`` in ``net_pbc.py``: PyTorch's default initialisation, raw ``(x, t)`` inputs).
- ``LagrangianPINN``: two branches of the periodic embedding ``(cos 2πx₀/L, sin 2πx₀/L, t)``, the state
  ``u(x₀, t)`` on the characteristic from x₀ and the characteristic ``X(x₀, t)``, after Mojgani, Balajewicz and
  Hassanzadeh, "Lagrangian PINNs" (CMAME 404:115810, 2023; code rmojgani/LPINNs, ``mynet_POLAR.py``).
- ``eulerian_remap``: per time, wrap X into ``[0, L)``, sort, and interpolate u linearly onto the grid, periodically
  across the seam.

What differs from the papers, and why:

- ``X = x₀ + t·N_X(cos x₀, sin x₀, t)`` satisfies ``X(x₀, 0) = x₀`` exactly. The reference code outputs X directly
  and penalises the initial condition, which the periodic embedding cannot meet at both x₀ = 0 and x₀ = L (they are
  one input); the reference trims points near the seam instead. Our parametrisation needs no trimming, and keeps
  ``X − x₀`` periodic in x₀ as it must be. The state's initial condition stays a penalty, as in the paper.
- The two branches are separate networks (the paper's description) rather than the reference code's shared layers.
- Both networks scale their state output by the initial condition's mean and standard deviation
  (``BaseCollocationNetwork``); the papers' networks output u directly. For ``u₀ = sin x`` this is a fixed factor
  1/√2 on the last layer; for Burgers with a mean transport C it keeps a tanh network from saturating to reach C
  (without it, our Lagrangian runs at C = 10 collapsed to ``u ≡ C``).
- Interpolation is linear, as the reference's ``interp1d(kind="linear")``, but periodic across the seam instead of
  extrapolated at the ends.
"""

import math

import torch
from torch import nn

from pdeops.config import RecordsArguments

Tensor = torch.Tensor


def tanh_mlp(in_features: int, width: int, depth: int, out_features: int) -> nn.Sequential:
    """``depth`` hidden tanh layers of ``width`` units between a linear input and a linear output layer."""
    if width < 1 or depth < 1:
        raise ValueError(f"width and depth must be >= 1, got width={width}, depth={depth}.")
    layers: list[nn.Module] = []
    features = in_features
    for _ in range(depth):
        layers += [nn.Linear(features, width), nn.Tanh()]
        features = width
    layers.append(nn.Linear(features, out_features))
    return nn.Sequential(*layers)


def space_time_points(x: Tensor, t: Tensor) -> Tensor:
    """The tensor grid of ``x (N,)`` and ``t (T,)`` as points ``(T·N, 2)``, time-major (``t[0]`` with every x first)."""
    tt, xx = torch.meshgrid(t, x, indexing="ij")
    return torch.stack([xx.reshape(-1), tt.reshape(-1)], dim=1)


def _check_points(points: Tensor) -> None:
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(
            f"points must be (P, 2) with columns (x, t), got shape {tuple(points.shape)}; "
            "build a grid of them with space_time_points(x, t)."
        )


class BaseCollocationNetwork(RecordsArguments, nn.Module):
    """A network of points ``(P, 2)`` whose state output is scaled as ``u = state_mean + state_std · net``.

    The scale is set from the initial condition by the training task (``set_state_scale``), as the operator tasks
    normalise fields: a tanh network that must output ``sin x + 50`` would otherwise saturate its hidden units to
    reach the offset and lose the shape. It is a non-persistent buffer pair, derived from the problem, so warm
    starts move only the learned weights.
    """

    state_mean: Tensor
    state_std: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("state_mean", torch.tensor(0.0), persistent=False)
        self.register_buffer("state_std", torch.tensor(1.0), persistent=False)

    def set_state_scale(self, mean: float, std: float) -> None:
        """Scale the state output as ``u = mean + std · net``; std must be positive."""
        if not std > 0:
            raise ValueError(f"std must be positive, got {std}.")
        self.state_mean.fill_(mean)
        self.state_std.fill_(std)

    def scale_state(self, net_output: Tensor) -> Tensor:
        return self.state_mean + self.state_std * net_output

    def predict_on_grid(self, x: Tensor, t: Tensor) -> Tensor:
        """``u`` on the tensor grid of ``x (N,)`` and ``t (T,)``; returns ``(T, N)``."""
        raise NotImplementedError


class PINN(BaseCollocationNetwork):
    """The Eulerian PINN ``u(x, t) = MLP(x, t)``, tanh, Krishnapriyan et al.'s 2 → 50 × 4 → 1 by default.

    Args:
        width: hidden units per layer.
        depth: hidden layers.

    Call: ``model(points (P, 2)) -> (P, 1)``.
    """

    def __init__(self, width: int = 50, depth: int = 4):
        super().__init__()
        self.net = tanh_mlp(2, width, depth, 1)

    def forward(self, points: Tensor) -> Tensor:
        """``u`` at points ``(P, 2)`` (columns ``(x, t)``); returns ``(P, 1)``."""
        _check_points(points)
        return self.scale_state(self.net(points))

    @torch.no_grad()
    def predict_on_grid(self, x: Tensor, t: Tensor) -> Tensor:
        """``u`` on the tensor grid of ``x (N,)`` and ``t (T,)``; returns ``(T, N)``."""
        points = space_time_points(x, t).to(self.state_mean)  # the network's dtype and device
        return self(points).reshape(t.shape[0], x.shape[0])


class LagrangianPINN(BaseCollocationNetwork):
    """The Lagrangian PINN: the state and the characteristic as two networks of ``(cos θ, sin θ, t)``, θ = 2πx₀/L.

    ``u(x₀, t) = N_u(cos θ, sin θ, t)`` and ``X(x₀, t) = x₀ + t·N_X(cos θ, sin θ, t)``: u is periodic in the label,
    X − x₀ too, and ``X(x₀, 0) = x₀`` holds exactly (see the module docstring).

    Args:
        width: hidden units per layer of both branches.
        state_depth: hidden layers of the state branch N_u (the reference uses 5).
        characteristic_depth: hidden layers of the characteristic branch N_X (the reference uses 2).
        length: the period L of x₀.

    Call: ``model(points (P, 2)) -> (P, 2)`` with columns ``(u, X)``.
    """

    def __init__(
        self, width: int = 50, state_depth: int = 5, characteristic_depth: int = 2, length: float = 2 * math.pi
    ):
        super().__init__()
        if not length > 0:
            raise ValueError(f"length must be positive, got {length}.")
        self.length = length
        self.state_net = tanh_mlp(3, width, state_depth, 1)
        self.characteristic_net = tanh_mlp(3, width, characteristic_depth, 1)

    def embed(self, points: Tensor) -> Tensor:
        """``(x₀, t) -> (cos θ, sin θ, t)``: ``(P, 2) -> (P, 3)``."""
        theta = 2 * math.pi / self.length * points[:, 0]
        return torch.stack([torch.cos(theta), torch.sin(theta), points[:, 1]], dim=1)

    def forward(self, points: Tensor) -> Tensor:
        """State and characteristic at points ``(P, 2)`` (columns ``(x₀, t)``); returns ``(P, 2)``: ``(u, X)``."""
        _check_points(points)
        features = self.embed(points)
        u = self.scale_state(self.state_net(features))
        X = points[:, :1] + points[:, 1:] * self.characteristic_net(features)
        return torch.cat([u, X], dim=1)

    @torch.no_grad()
    def characteristics(self, x0: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """State and (unwrapped) characteristics from the labels ``x0 (M,)`` at times ``t (T,)``: two ``(T, M)``."""
        points = space_time_points(x0, t).to(self.state_mean)  # the network's dtype and device
        u, X = self(points).reshape(t.shape[0], x0.shape[0], 2).unbind(-1)
        return u, X

    @torch.no_grad()
    def predict_on_grid(self, x: Tensor, t: Tensor) -> Tensor:
        """``u`` on the Eulerian grid of ``x (N,)`` and ``t (T,)``, the labels being ``x``; returns ``(T, N)``."""
        u, X = self.characteristics(x, t)
        return eulerian_remap(X, u, x.to(X), self.length)


def eulerian_remap(X: Tensor, u: Tensor, x: Tensor, length: float) -> Tensor:
    """Re-map Lagrangian values onto a fixed periodic grid, per time slice.

    Each row's positions are wrapped into ``[0, L)`` and sorted; ``u`` is interpolated linearly between neighbours,
    the last and first being neighbours across the seam (at distance ``X_first + L − X_last``). The error is that of
    linear interpolation on the (moving) spacing of the characteristics: ``h²/8 · max|u''|`` for spacing h.

    Args:
        X: ``(T, M)`` positions of M characteristics at T times (any real values; wrapped here).
        u: ``(T, M)`` the state carried by them.
        x: ``(N,)`` grid points in ``[0, L)``.
        length: the period L.

    Returns:
        ``(T, N)``.
    """
    if X.ndim != 2 or X.shape != u.shape or x.ndim != 1:
        raise ValueError(
            f"X and u must both be (T, M) and x (N,), got X {tuple(X.shape)}, u {tuple(u.shape)}, x {tuple(x.shape)}."
        )
    wrapped, order = torch.sort(torch.remainder(X, length), dim=-1)
    values = u.gather(-1, order)
    # One ghost point on each side: the last characteristic one period to the left, the first one to the right.
    nodes = torch.cat([wrapped[:, -1:] - length, wrapped, wrapped[:, :1] + length], dim=-1)
    values = torch.cat([values[:, -1:], values, values[:, :1]], dim=-1)
    queries = torch.remainder(x, length).expand(X.shape[0], -1).contiguous()
    right = torch.searchsorted(nodes, queries, right=True).clamp(1, nodes.shape[-1] - 1)
    x_lo, x_hi = nodes.gather(-1, right - 1), nodes.gather(-1, right)
    u_lo, u_hi = values.gather(-1, right - 1), values.gather(-1, right)
    weight = (queries - x_lo) / (x_hi - x_lo).clamp_min(torch.finfo(X.dtype).tiny)
    return u_lo + weight * (u_hi - u_lo)
