"""The periodic grid and its spectral operators (rfft layout).

Conventions, used throughout ``solvers``:

- A grid has ``ndim`` = 1 or 2 axes of ``shape = (n_x[, n_y])`` points on ``[0, L_x) × [0, L_y)``; points sit at
  ``x_j = j L / n`` (the right boundary point is not stored).
- Physical fields are ``(..., n_x[, n_y])``: any number of leading batch axes, space last, x before y.
- Spectral fields are the ``torch.fft.rfftn`` of those over the spatial axes: ``(..., n_x[, n_y // 2 + 1])`` in 2D,
  ``(..., n_x // 2 + 1)`` in 1D. Wavenumbers are angular, ``k = 2π m / L``.
- Derivatives treat the Nyquist mode of an even grid as zero for odd-order derivatives (it has no sign), which
  keeps the derivative of a real field real.
"""

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch

Tensor = torch.Tensor


def wavenumbers(n: int, length: float, *, real: bool = False, dtype=torch.float64, device=None) -> Tensor:
    """Angular wavenumbers ``2π m / L`` of an ``n``-point periodic axis, in FFT order.

    Args:
        n: number of grid points.
        length: domain length L.
        real: the ``rfft`` half axis (``n // 2 + 1`` entries) instead of the full ``fft`` axis.
    """
    m = (
        torch.fft.rfftfreq(n, 1.0 / n, dtype=dtype, device=device)
        if real
        else (torch.fft.fftfreq(n, 1.0 / n, dtype=dtype, device=device))
    )
    return 2 * math.pi / length * m


def check_coefficient(name: str, value: float) -> None:
    """Raise a clear error unless a physical coefficient (viscosity, drag, diffusivity) is finite and >= 0."""
    if not 0 <= value < math.inf:  # NaN fails this too
        raise ValueError(f"{name} must be a finite number >= 0, got {value}.")


class Grid:
    """A doubly (or singly) periodic grid with its rfft wavenumbers and spectral operators.

    Args:
        shape: points per axis, ``(n_x,)`` or ``(n_x, n_y)``; rectangular grids are fine.
        lengths: domain lengths per axis (a single float applies to every axis). Default 2π.
        dtype: real dtype of physical fields, ``torch.float32`` or ``torch.float64``.
        device: where the wavenumber tensors live.

    Example:
        >>> grid = Grid((64, 64), 1.0)
        >>> w_hat = grid.rfft(w)          # (B, 64, 64) -> (B, 64, 33) complex
        >>> u, v = grid.velocity(w_hat)   # from the stream function, physical space
    """

    def __init__(
        self,
        shape: int | Sequence[int],
        lengths: float | Sequence[float] = 2 * math.pi,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ):
        shape = (shape,) if isinstance(shape, int) else tuple(int(n) for n in shape)
        if len(shape) not in (1, 2) or min(shape) < 2:
            raise ValueError(f"Grid shape must be (n_x,) or (n_x, n_y) with n >= 2, got {shape}.")
        lengths = (
            (float(lengths),) * len(shape) if isinstance(lengths, int | float) else tuple(float(v) for v in lengths)
        )
        if len(lengths) != len(shape) or min(lengths) <= 0:
            raise ValueError(f"Grid lengths must be positive, one per axis of {shape}, got {lengths}.")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"Grid dtype must be torch.float32 or torch.float64, got {dtype}.")
        self.shape: tuple[int, ...] = shape
        self.lengths: tuple[float, ...] = lengths
        self.dtype = dtype
        self.device = torch.device(device or "cpu")
        # Per-axis integer mode numbers m and angular wavenumbers k = 2π m / L, shaped to broadcast against
        # spectral fields: in 2-D, modes[0] is (n_x, 1) and modes[1] is (1, n_y // 2 + 1).
        self.modes: tuple[Tensor, ...] = tuple(self._axis_modes(axis) for axis in range(len(shape)))
        self.k: tuple[Tensor, ...] = tuple(
            2 * math.pi / length * m for m, length in zip(self.modes, lengths, strict=True)
        )
        # Odd derivatives drop the Nyquist mode of even axes (see module docstring).
        self.k_odd: tuple[Tensor, ...] = tuple(
            k.where(m.abs() != n / 2, 0.0) for k, m, n in zip(self.k, self.modes, shape, strict=True)
        )
        self.k2: Tensor = torch.stack(torch.broadcast_tensors(*(k**2 for k in self.k))).sum(0)

    def _axis_modes(self, axis: int) -> Tensor:
        n = self.shape[axis]
        fftfreq = torch.fft.rfftfreq if axis == len(self.shape) - 1 else torch.fft.fftfreq
        m = fftfreq(n, 1.0 / n, dtype=self.dtype, device=self.device)
        view = [1] * len(self.shape)
        view[axis] = -1
        return m.reshape(view)

    def __repr__(self) -> str:
        return f"Grid(shape={self.shape}, lengths={self.lengths}, dtype={self.dtype}, device={self.device})"

    # --- basic facts -------------------------------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def spacing(self) -> tuple[float, ...]:
        return tuple(length / n for length, n in zip(self.lengths, self.shape, strict=True))

    @property
    def complex_dtype(self) -> torch.dtype:
        return torch.complex128 if self.dtype == torch.float64 else torch.complex64

    @property
    def spectral_shape(self) -> tuple[int, ...]:
        return (*self.shape[:-1], self.shape[-1] // 2 + 1)

    @property
    def dims(self) -> tuple[int, ...]:
        """The spatial axes of a field, counted from the end."""
        return tuple(range(-self.ndim, 0))

    def coordinates(self) -> tuple[Tensor, ...]:
        """Point coordinates per axis, ``x_j = j L / n``, each 1-D."""
        return tuple(
            torch.arange(n, dtype=self.dtype, device=self.device) * (length / n)
            for n, length in zip(self.shape, self.lengths, strict=True)
        )

    def mesh(self) -> tuple[Tensor, ...]:
        """Coordinate arrays broadcast to the full grid, each ``shape``."""
        return torch.meshgrid(*self.coordinates(), indexing="ij")

    def with_(self, *, shape=None, dtype=None, device=None) -> "Grid":
        """The same domain with another resolution, dtype or device."""
        return Grid(shape or self.shape, self.lengths, dtype=dtype or self.dtype, device=device or self.device)

    # --- transforms --------------------------------------------------------------------------------------------
    def check_field(self, u: Tensor, name: str = "field") -> None:
        """Raise a clear error if ``u`` is not a finite physical field on this grid."""
        if tuple(u.shape[u.ndim - self.ndim :]) != self.shape or u.ndim < self.ndim:
            raise ValueError(
                f"{name} must end in the grid shape {self.shape} (layout (..., n_x[, n_y])), got shape "
                f"{tuple(u.shape)}. Resample it with Grid.resample or build the solver on a matching grid."
            )
        bad = ~torch.isfinite(u)
        if bool(bad.any()):
            raise ValueError(
                f"{name} holds {int(bad.sum())} NaN or Inf value(s) (the first at index "
                f"{tuple(int(i) for i in bad.nonzero()[0])}): nothing can be computed from it. Check how it was made."
            )

    def rfft(self, u: Tensor) -> Tensor:
        """Physical ``(..., *shape)`` → spectral ``(..., *spectral_shape)``."""
        return torch.fft.rfftn(u, dim=self.dims)

    def irfft(self, u_hat: Tensor) -> Tensor:
        """Spectral ``(..., *spectral_shape)`` → physical ``(..., *shape)``."""
        return torch.fft.irfftn(u_hat, s=self.shape, dim=self.dims)

    # --- derivatives (on spectral fields) ----------------------------------------------------------------------
    def derivative(self, u_hat: Tensor, axis: int, order: int = 1) -> Tensor:
        """``∂^order u / ∂x_axis^order`` of a spectral field."""
        k = self.k_odd[axis] if order % 2 else self.k[axis]
        return u_hat * (1j * k) ** order

    def gradient(self, u_hat: Tensor) -> tuple[Tensor, ...]:
        """Spectral gradient components ``(∂x u[, ∂y u])``."""
        return tuple(self.derivative(u_hat, axis) for axis in range(self.ndim))

    def laplacian(self, u_hat: Tensor) -> Tensor:
        return -self.k2 * u_hat

    def inverse_laplacian(self, u_hat: Tensor) -> Tensor:
        """``Δ⁻¹ u`` with the mean mode set to zero (the solution with zero mean)."""
        return u_hat * self.inverse_laplacian_symbol()

    def inverse_laplacian_symbol(self) -> Tensor:
        """``-1/|k|²`` with 0 at ``k = 0``."""
        safe = torch.where(self.k2 == 0, torch.ones_like(self.k2), self.k2)
        return torch.where(self.k2 == 0, torch.zeros_like(self.k2), -1.0 / safe)

    def velocity(self, w_hat: Tensor) -> tuple[Tensor, Tensor]:
        """Velocity ``u = ∇⊥ψ = (∂y ψ, -∂x ψ)`` from vorticity, ``-Δψ = ω``; returns physical ``(u, v)``."""
        self._require_2d("velocity")
        psi_hat = -self.inverse_laplacian(w_hat)
        return self.irfft(self.derivative(psi_hat, 1)), self.irfft(-self.derivative(psi_hat, 0))

    def curl(self, u_hat: Tensor, v_hat: Tensor) -> Tensor:
        """Spectral vorticity ``∂x v - ∂y u`` of a spectral 2-D velocity."""
        self._require_2d("curl")
        return self.derivative(v_hat, 0) - self.derivative(u_hat, 1)

    def divergence(self, u_hat: Tensor, v_hat: Tensor) -> Tensor:
        """Spectral divergence ``∂x u + ∂y v``."""
        self._require_2d("divergence")
        return self.derivative(u_hat, 0) + self.derivative(v_hat, 1)

    def _require_2d(self, what: str) -> None:
        if self.ndim != 2:
            raise ValueError(f"{what} needs a 2-D grid; this grid has shape {self.shape}.")

    # --- dealiasing and resampling -----------------------------------------------------------------------------
    def dealias_mask(self, rule: Literal["2/3", "none"] = "2/3") -> Tensor:
        """Boolean spectral mask: keep modes with ``|m_i| < n_i / 3`` on every axis (Orszag's 2/3 rule)."""
        if rule == "none":
            return torch.ones(self.spectral_shape, dtype=torch.bool, device=self.device)
        if rule != "2/3":
            raise ValueError(f"dealias rule must be '2/3' or 'none', got {rule!r}.")
        keep = torch.ones(self.spectral_shape, dtype=torch.bool, device=self.device)
        for m, n in zip(self.modes, self.shape, strict=True):
            keep = keep & (m.abs() < n / 3)
        return keep

    def resample(self, u: Tensor, shape: int | Sequence[int]) -> Tensor:
        """Spectral resampling of a physical field to another resolution on the same domain.

        Coarsening truncates the modes the target grid cannot hold (its Nyquist mode included, which keeps the
        result real and band-limited); refining pads with zeros, and drops the source's own Nyquist mode (it has
        no sign: a field like (−1)^j is not band-limited on its grid). A field band-limited below both Nyquist
        frequencies survives a round trip exactly.

        Args:
            u: physical field ``(..., *self.shape)``.
            shape: target points per axis.

        Returns:
            ``(..., *shape)`` in ``u``'s dtype; ``u`` itself when ``shape`` is this grid's (nothing is dropped).
        """
        target = Grid(shape, self.lengths, dtype=self.dtype, device=self.device)
        if target.ndim != self.ndim:
            raise ValueError(f"resample target {target.shape} has another number of axes than {self.shape}.")
        self.check_field(u)
        if target.shape == self.shape:
            return u
        u_hat = self.rfft(u)
        out = torch.zeros((*u.shape[: u.ndim - self.ndim], *target.spectral_shape), dtype=u_hat.dtype, device=u.device)
        # Keep |m| < min(n, n') / 2 on every axis: the modes both grids represent unambiguously.
        index_src, index_dst = [], []
        for axis, (n_src, n_dst) in enumerate(zip(self.shape, target.shape, strict=True)):
            half = (min(n_src, n_dst) - 1) // 2  # largest |m| strictly below both Nyquists
            if axis == self.ndim - 1:
                index_src.append(torch.arange(half + 1))
                index_dst.append(torch.arange(half + 1))
            else:
                m = torch.cat([torch.arange(half + 1), torch.arange(-half, 0)])
                index_src.append(m % n_src)
                index_dst.append(m % n_dst)
        src: tuple[Any, ...] = (..., *torch.meshgrid(*index_src, indexing="ij"))
        dst: tuple[Any, ...] = (..., *torch.meshgrid(*index_dst, indexing="ij"))
        out[dst] = u_hat[src]
        scale = math.prod(target.shape) / math.prod(self.shape)
        return target.irfft(out * scale).to(u.dtype)
