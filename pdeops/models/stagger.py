"""NeuralStagger: a fine field advanced by many coarse neural solvers, one per strided piece and time offset.

Paper: X. Huang, W. Shi et al., "NeuralStagger: Accelerating Physics-constrained Neural PDE Solver with Spatial-temporal
Decomposition", ICML 2023 (arXiv:2302.10255). No official code is public.

**What the paper states** (abstract and Fig. 1):

- The fine field is decomposed into several coarse-resolution pieces, each covering the whole domain: strided
  (interleaved, pixel-unshuffle) subsampling, piece (i, j) = ``u[..., i::s_H, j::s_W]``, not contiguous tiles.
- One coarse neural solver per piece ("a solver for each subtask"), trained jointly with the vanilla fine-resolution
  physics-constrained loss of the reassembled field; temporal decomposition is combined with the spatial one to build
  that loss.
- The solvers run in parallel, so inference is as fast as one coarse solver; any subset of them gives a valid coarse
  simulation (multi-resolution).

**Our design** (consistent with the above, not from the paper):

- ``split``/``merge`` are a reshape and a permutation, hence an exact bijection (bit for bit), for any number of
  spatial axes and unequal factors. Piece ``p`` is the row-major index of its offsets ``(i, j[, k])``; the piece axis
  sits right after the channels, as in ``torch.nn.functional.pixel_unshuffle``, which is ``split(u, (r, r))`` with the
  channel and piece axes flattened. Masks and auxiliary fields go through the same functions.
- Temporal staggering (our reading of Fig. 1): a stagger step takes ``s_T`` consecutive fine frames and returns the
  next ``s_T``; sub-solver ``(m, p)`` advances piece ``p`` of frame ``t + m`` by ``s_T·Δt`` and sees only that coarse
  input. There are ``K = s_T·P`` sub-solvers (``P = ∏ s``), indexed ``k = m·P + p``; a rollout needs ``s_T`` initial
  frames. ``stagger_time``/``unstagger_time`` give the frames each temporal offset handles (``trajectory[:, m::s_T]``).
- Sub-solvers: any coarse-grid operator ``(N, C_in, *S') -> (N, C, *S')`` with ``in_channels`` and ``out_channels``
  arguments, given as a config tree, e.g. ``neuralop.models.FNO``. ``sizing="per_piece"`` reads that tree as the
  fine model and shrinks it for its piece (``piece_operator``: modes ÷ s per axis, width ÷ √(∏ s)), so that the K
  sub-solvers together do about 1/∏ s of the fine model's per-frame work (the paper's premise that each sub-solver
  is small; the rule is ours); ``sizing="given"`` builds the tree as it is. ``weights="separate"`` (default) builds
  K copies of it (same initial weights, trained apart);
  ``weights="shared"`` uses one operator for every piece and tells it which by a one-hot piece index appended as K
  constant input channels (``C_in = C + K``), which its first layer turns into a learned piece embedding.
- Inference folds the pieces into the batch axis: with shared weights all pieces are ONE call of the operator. Separate
  weights run the K operators one after another: neuraloperator's FNO writes its spectral output in place into a fresh
  buffer, which ``torch.func.vmap`` over stacked weights cannot batch.
- The physics-constrained loss and the training loop are in ``pdeops.training.stagger``.
"""

import copy
import itertools
import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from pdeops.config import RecordsArguments, instantiate

Tensor = torch.Tensor

WEIGHTS = ("separate", "shared")
SIZINGS = ("given", "per_piece")
MODE_KEYS = ("n_modes", "modes")
"""The operator arguments ``piece_operator`` divides by the factors: Fourier modes per spatial axis."""
WIDTH_KEYS = ("hidden_channels", "width")
"""The operator arguments ``piece_operator`` divides by √(∏ s): the channel width."""


def _factors(factors: Sequence[int], name: str = "factors") -> tuple[int, ...]:
    values = tuple(int(s) for s in factors)
    if not values or min(values) < 1 or any(int(s) != s for s in factors):
        raise ValueError(f"{name} must be one positive integer per spatial axis, got {tuple(factors)}.")
    return values


def _coarse_shape(shape: Sequence[int], factors: tuple[int, ...], what: str) -> list[int]:
    if len(shape) != len(factors) or any(n % s for n, s in zip(shape, factors, strict=True)):
        raise ValueError(
            f"{what}: the spatial shape {tuple(shape)} must be divisible by the factors {factors} axis by axis "
            "(one factor per trailing spatial axis)."
        )
    return [n // s for n, s in zip(shape, factors, strict=True)]


def split(u: Tensor, factors: Sequence[int]) -> Tensor:
    """Strided decomposition of the trailing spatial axes into ``P = ∏ factors`` coarse pieces.

    Piece ``p`` with row-major offsets ``(i, j, ...)`` is ``u[..., i::s_1, j::s_2, ...]``.

    Args:
        u: ``(..., *S)`` with ``len(S) = len(factors)`` (e.g. ``(B, C, H, W)`` with ``(s_H, s_W)``).
        factors: ``(s_1, ..., s_d)``, each dividing its axis.

    Returns:
        ``(..., P, *S')`` with ``S'_a = S_a / s_a``.
    """
    s = _factors(factors)
    d, lead = len(s), u.shape[: u.ndim - len(s)]
    coarse = _coarse_shape(u.shape[u.ndim - d :], s, "split")
    # Fine index a·s + i: split each axis into (coarse a, offset i), then move the offsets in front.
    x = u.reshape(*lead, *[n for pair in zip(coarse, s, strict=True) for n in pair])
    first = len(lead)
    x = x.permute(*range(first), *(first + 2 * a + 1 for a in range(d)), *(first + 2 * a for a in range(d)))
    return x.reshape(*lead, math.prod(s), *coarse)


def merge(pieces: Tensor, factors: Sequence[int]) -> Tensor:
    """The inverse of ``split``: ``(..., P, *S') -> (..., *S)`` with ``S_a = S'_a · s_a``, bit for bit.

    Args:
        pieces: ``(..., P, *S')`` with ``P = ∏ factors``, piece ``p`` at row-major offsets as in ``split``.
        factors: ``(s_1, ..., s_d)``.

    Returns:
        ``(..., *S)``.
    """
    s = _factors(factors)
    d = len(s)
    if pieces.ndim < d + 1 or pieces.shape[-d - 1] != math.prod(s):
        raise ValueError(
            f"merge: pieces must be (..., P, *S') with P = {math.prod(s)} for factors {s}, got {tuple(pieces.shape)}."
        )
    lead, coarse = pieces.shape[: pieces.ndim - d - 1], pieces.shape[pieces.ndim - d :]
    first = len(lead)
    x = pieces.reshape(*lead, *s, *coarse)
    x = x.permute(*range(first), *(axis for a in range(d) for axis in (first + d + a, first + a)))
    return x.reshape(*lead, *(n * f for n, f in zip(coarse, s, strict=True)))


def stagger_time(trajectory: Tensor, factor: int) -> Tensor:
    """Temporal decomposition: ``(B, T, ...) -> (B, s_T, T / s_T, ...)``, piece ``m`` = ``trajectory[:, m::s_T]``.

    Args:
        trajectory: ``(B, T, C, *S)`` (any trailing axes), ``T`` divisible by ``factor``.
        factor: ``s_T``.
    """
    (s_t,) = _factors([factor], "factor")
    if trajectory.ndim < 2 or trajectory.shape[1] % s_t:
        raise ValueError(
            f"stagger_time: the time axis (dim 1) of {tuple(trajectory.shape)} must be divisible by s_T = {s_t}."
        )
    return trajectory.unflatten(1, (trajectory.shape[1] // s_t, s_t)).transpose(1, 2)


def unstagger_time(pieces: Tensor) -> Tensor:
    """The inverse of ``stagger_time``: ``(B, s_T, T / s_T, ...) -> (B, T, ...)``, bit for bit."""
    if pieces.ndim < 3:
        raise ValueError(f"unstagger_time: pieces must be (B, s_T, T / s_T, ...), got {tuple(pieces.shape)}.")
    return pieces.transpose(1, 2).flatten(1, 2)


class NeuralStagger(RecordsArguments, nn.Module):
    """A fine-grid one-step operator made of ``K = s_T·∏ s`` coarse sub-solvers (Huang et al. 2023).

    ``forward`` splits the ``s_T`` input frames into strided pieces (``split``), advances every piece with its own
    sub-solver, each seeing only its coarse input, and reassembles the next ``s_T`` frames (``merge``). See the module
    docstring for what comes from the paper and what is our design.

    Args:
        in_channels: channels of the input block, ``s_T·C`` (``pdeops fit`` links it, as for any one-step network).
        out_channels: channels C of one frame (linked too); the block out has ``s_T·C``.
        operator: the config tree of the coarse-grid operator, ``{"class_path": ..., "init_args": {...}}`` without
            its channels: each sub-solver is built with ``in_channels = C`` (separate weights) or ``C + K`` (shared
            weights: the one-hot piece index) and ``out_channels = C``, e.g.
            ``{"class_path": "neuralop.models.FNO", "init_args": {"n_modes": [8, 8], "hidden_channels": 32}}``.
        spatial_factors: ``(s_H, s_W)`` in 2-D, ``(s_D, s_H, s_W)`` in 3-D; unequal factors are fine.
        temporal_factor: ``s_T``, frames per stagger step.
        weights: ``"separate"`` (K sub-solvers with the same initial weights, trained apart: the paper's one solver
            per subtask) or ``"shared"`` (one operator for all pieces, told which by the one-hot piece index).
        sizing: ``"given"`` (each sub-solver is ``operator`` as written) or ``"per_piece"`` (``operator`` is the fine
            model, and each sub-solver is it shrunk for its coarse piece by ``piece_operator``).

    Shapes: ``(B, s_T·C, *S) -> (B, s_T·C, *S)``, frames folded into channels frame-major (as the tasks fold
    history); ``S`` divisible by ``spatial_factors``. With ``s = 1``, ``s_T = 1`` it is one operator.

    Example:
        >>> fno = {"class_path": "neuralop.models.FNO", "init_args": {"n_modes": [8, 8], "hidden_channels": 32}}
        >>> stagger = NeuralStagger(1, 1, fno, [2, 2])      # 4 FNOs on 32² pieces of a 64² field
        >>> stagger(w).shape                                 # w: (B, 1, 64, 64)
        torch.Size([B, 1, 64, 64])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        operator: dict[str, Any],
        spatial_factors: list[int],
        temporal_factor: int = 1,
        weights: Literal["separate", "shared"] = "separate",
        sizing: Literal["given", "per_piece"] = "given",
    ):
        super().__init__()
        if weights not in WEIGHTS:
            raise ValueError(f"weights must be 'separate' or 'shared', got {weights!r}.")
        if sizing not in SIZINGS:
            raise ValueError(f"sizing must be 'given' or 'per_piece', got {sizing!r}.")
        self.spatial_factors = _factors(spatial_factors, "spatial_factors")
        if sizing == "per_piece":
            operator = piece_operator(operator, self.spatial_factors)
        (self.temporal_factor,) = _factors([temporal_factor], "temporal_factor")
        if in_channels != self.temporal_factor * out_channels:
            raise ValueError(
                f"NeuralStagger takes a block of temporal_factor = {self.temporal_factor} frames of out_channels = "
                f"{out_channels} channel(s), so in_channels must be {self.temporal_factor * out_channels}, got "
                f"{in_channels}."
            )
        self.weights, self.channels = weights, out_channels
        self.pieces = math.prod(self.spatial_factors)
        self.sub_solvers = self.temporal_factor * self.pieces
        channels = out_channels + (self.sub_solvers if weights == "shared" else 0)
        first = _build_operator(operator, channels, out_channels)
        copies = self.sub_solvers if weights == "separate" else 1
        self.operators = nn.ModuleList([first, *(copy.deepcopy(first) for _ in range(copies - 1))])

    def forward(self, x: Tensor) -> Tensor:
        """The next ``s_T`` fine frames: ``(B, s_T·C, *S) -> (B, s_T·C, *S)``."""
        d = len(self.spatial_factors)
        if x.ndim != d + 2:
            raise ValueError(
                f"NeuralStagger with spatial_factors {self.spatial_factors} takes (B, s_T·C, *S) with {d} spatial "
                f"axes, got shape {tuple(x.shape)}."
            )
        pieces = split(x, self.spatial_factors)
        return merge(self.forward_pieces(pieces, range(self.pieces)), self.spatial_factors)

    def forward_pieces(self, pieces: Tensor, indices: Sequence[int]) -> Tensor:
        """Advance some spatial pieces, each by its own sub-solvers and from its own coarse input only.

        Args:
            pieces: ``(B, s_T·C, n, *S')``, the pieces' input frames (layout of ``split``'s output).
            indices: the n spatial piece indices ``p`` (row-major offsets), in the order of ``pieces``.

        Returns:
            ``(B, s_T·C, n, *S')``: each piece's next ``s_T`` frames.
        """
        chosen = self._check_pieces(pieces, list(indices))
        s_t, n = self.temporal_factor, len(chosen)
        channels = pieces.shape[1] // s_t
        # (B, s_T, C, n, *S') -> (B, s_T·n, C, *S'); entry (m, j) goes to sub-solver k = m·P + chosen[j].
        x = pieces.unflatten(1, (s_t, channels)).transpose(2, 3).flatten(1, 2)
        k = [m * self.pieces + p for m in range(s_t) for p in chosen]
        y = self._shared(x, k) if self.weights == "shared" else self._separate(x, k)
        if y.shape != x.shape:
            raise ValueError(
                f"The sub-solver returned {tuple(y.shape[2:])} for coarse input of {channels} channel(s) and shape "
                f"{tuple(x.shape[3:])}; it must return (N, {channels}, *S'): check the channels of the input."
            )
        return y.unflatten(1, (s_t, n)).transpose(2, 3).flatten(1, 2)

    def _check_pieces(self, pieces: Tensor, indices: list[int]) -> list[int]:
        """Check the layout of ``forward_pieces``'s input; return the indices."""
        s_t, n, d = self.temporal_factor, len(indices), len(self.spatial_factors)
        if pieces.ndim != d + 3 or pieces.shape[2] != n or pieces.shape[1] != s_t * self.channels:
            raise ValueError(
                f"forward_pieces takes pieces (B, s_T·C, n, *S') with s_T = {s_t}, C = {self.channels}, "
                f"n = len(indices) = {n} and {d} spatial axes, got shape {tuple(pieces.shape)}."
            )
        if any(not 0 <= p < self.pieces for p in indices):
            raise ValueError(f"piece indices must lie in [0, {self.pieces}), got {indices}.")
        return indices

    def _shared(self, x: Tensor, k: list[int]) -> Tensor:
        """One call of the shared operator on ``(B, n_k, C, *S')``, each piece told its index ``k`` (one-hot)."""
        batch, count = x.shape[:2]
        index = torch.as_tensor(k, device=x.device)
        code = F.one_hot(index, self.sub_solvers).to(x.dtype).reshape(1, count, self.sub_solvers, *[1] * (x.ndim - 3))
        inputs = torch.cat([x, code.expand(batch, -1, -1, *x.shape[3:])], dim=2)
        return self.operators[0](inputs.flatten(0, 1)).unflatten(0, (batch, count))

    def _separate(self, x: Tensor, k: list[int]) -> Tensor:
        """Sub-solver ``k[j]`` on ``x[:, j]`` for every j: ``(B, n_k, C, *S') -> (B, n_k, C', *S')``."""
        return torch.stack([self.operators[i](x[:, j]) for j, i in enumerate(k)], dim=1)

    def coarse(self, stride: Sequence[int], offset: Sequence[int] | None = None) -> "CoarseStagger":
        """A coarse simulation from a subset of the sub-solvers (multi-resolution); it shares their weights.

        Args:
            stride: sub-lattice stride per axis, dividing ``spatial_factors``: the coarse simulation advances
                ``u[..., o_1::r_1, o_2::r_2, ...]`` with the pieces whose offsets are ``o + r·i``. ``stride =
                spatial_factors`` is a single piece; ``(1, 1)`` is the whole model.
            offset: ``o``, the sub-lattice's first point, each ``0 <= o_a < r_a`` (default zeros).
        """
        return CoarseStagger(self, stride, offset)


def piece_operator(operator: dict[str, Any], spatial_factors: Sequence[int]) -> dict[str, Any]:
    """The config tree of a fine operator shrunk for one strided piece: our sizing rule for the sub-solvers.

    The paper does not say how its sub-solvers are sized, only that each is a coarse-resolution solver. Ours keeps
    the fine model's architecture and its modes-to-grid ratio: a piece has ``n_a / s_a`` points per axis, so it gets
    ``ceil(m_a / s_a)`` Fourier modes per axis (``n_modes`` or ``modes``), and the width (``hidden_channels`` or
    ``width``) is divided by ``√P``, ``P = ∏ s``, rounded, at least 1. A layer's pointwise work (∝ points × width²)
    and its spectral weights (∝ modes × width²) then shrink by ``P²`` per sub-solver, so the P sub-solvers of a frame
    together do about ``1/P`` of the fine layer's work; FFTs (∝ width · n log n) shrink by about ``√P`` only.

    Args:
        operator: ``{"class_path": ..., "init_args": {...}}`` of the fine operator (without channels).
        spatial_factors: ``(s_1, ..., s_d)``.

    Returns:
        A new tree; ``operator`` is left as it is.

    Raises:
        ValueError: the tree has none of the mode or width arguments, or a mode list of the wrong length.
    """
    s = _factors(spatial_factors, "spatial_factors")
    if not isinstance(operator, dict) or "class_path" not in operator:
        raise ValueError(
            f"operator must be a config tree {{'class_path': ..., 'init_args': {{...}}}}, got {operator!r}."
        )
    init_args = dict(operator.get("init_args") or {})
    modes = [key for key in MODE_KEYS if key in init_args]
    widths = [key for key in WIDTH_KEYS if key in init_args]
    if not modes and not widths:
        raise ValueError(
            f"sizing='per_piece' shrinks the operator's modes ({' or '.join(MODE_KEYS)}) and width "
            f"({' or '.join(WIDTH_KEYS)}), but {operator['class_path']} is given none of them; give them in its "
            "init_args, or use sizing='given' and size the sub-solver yourself."
        )
    for key in modes:
        values = list(init_args[key])
        if len(values) != len(s):
            raise ValueError(f"operator {key}={values} needs one entry per spatial factor {s}.")
        init_args[key] = [max(1, math.ceil(int(m) / f)) for m, f in zip(values, s, strict=True)]
    for key in widths:
        init_args[key] = max(1, round(int(init_args[key]) / math.sqrt(math.prod(s))))
    return {**operator, "init_args": init_args}


def _build_operator(config: dict[str, Any], in_channels: int, out_channels: int) -> nn.Module:
    """The sub-solver of a config tree given without channels, built with these channels."""
    if not isinstance(config, dict) or "class_path" not in config:
        raise ValueError(f"operator must be a config tree {{'class_path': ..., 'init_args': {{...}}}}, got {config!r}.")
    init_args = {**config.get("init_args", {}), "in_channels": in_channels, "out_channels": out_channels}
    return instantiate({"class_path": config["class_path"], "init_args": init_args})


class CoarseStagger(nn.Module):
    """A subset of a ``NeuralStagger``'s sub-solvers run on their own: a simulation on a strided sub-lattice.

    Build it with ``NeuralStagger.coarse``. Its pieces see only their own inputs, so on ``u[..., o::r]`` it gives
    exactly the corresponding pieces of the full model's output, at a fraction of its cost.

    Args:
        stagger: the model whose sub-solvers (and weights) it uses.
        stride: ``r``, dividing ``stagger.spatial_factors`` axis by axis.
        offset: ``o`` with ``0 <= o < r``; None for zeros.

    Shapes: ``(B, s_T·C, *S_r) -> (B, s_T·C, *S_r)`` with ``S_r = S / r``.
    """

    def __init__(self, stagger: NeuralStagger, stride: Sequence[int], offset: Sequence[int] | None = None):
        super().__init__()
        r = _factors(stride, "stride")
        o = tuple(int(v) for v in (offset if offset is not None else [0] * len(r)))
        factors = stagger.spatial_factors
        valid = len(r) == len(factors) == len(o) and all(s % v == 0 for s, v in zip(factors, r, strict=True))
        if not valid or any(not 0 <= v < w for v, w in zip(o, r, strict=True)):
            raise ValueError(
                f"stride must divide spatial_factors {factors} axis by axis and 0 <= offset < stride, got stride "
                f"{r} and offset {o}."
            )
        self.stagger, self.stride, self.offset = stagger, r, o
        self.temporal_factor = stagger.temporal_factor
        self.factors = tuple(s // v for s, v in zip(factors, r, strict=True))
        # Row-major index of the fine offsets o + r·i of each sub-lattice piece i (itself in row-major order).
        place = [math.prod(factors[a + 1 :]) for a in range(len(factors))]
        self.indices = [
            sum((o_a + r_a * i_a) * w for o_a, r_a, i_a, w in zip(o, r, i, place, strict=True))
            for i in itertools.product(*(range(f) for f in self.factors))
        ]

    def forward(self, x: Tensor) -> Tensor:
        """The next ``s_T`` frames on the sub-lattice: ``(B, s_T·C, *S_r) -> (B, s_T·C, *S_r)``."""
        pieces = split(x, self.factors)
        return merge(self.stagger.forward_pieces(pieces, self.indices), self.factors)
