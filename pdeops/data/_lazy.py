"""Lazy xarray views of arrays stored in external layouts.

External files store their axes in other orders than ours and pack components (channels, vector
components) into an extra axis. `LazyArray` presents one stored array in our axis order, with
chosen component axes fixed to one index, and reads from the file only what is indexed.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from pdeops.data._errors import DatasetError

SPATIAL_DIMS = ("x", "y", "z")


class ArraySource(Protocol):
    """What `LazyArray` reads from: an ``h5py.Dataset``, a NumPy array, a `DatasetStack` or a `SampleConcat`.

    ``source[key]`` must accept a tuple of integers, slices and at most one increasing integer
    array, with NumPy semantics.
    """

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype[Any]: ...

    def __getitem__(self, key: Any) -> Any: ...


class DatasetStack:
    """Same-shaped sources stacked along a new leading axis, read one source at a time.

    Args:
        sources: the arrays to stack, e.g. one ``h5py.Dataset`` per PDEBench seed group.
    """

    def __init__(self, sources: Sequence[ArraySource]) -> None:
        self._sources = list(sources)
        self.shape: tuple[int, ...] = (len(self._sources), *self._sources[0].shape)
        self.dtype: np.dtype[Any] = self._sources[0].dtype

    def __getitem__(self, key: tuple[Any, ...]) -> np.ndarray:
        first, rest = key[0], key[1:]
        if isinstance(first, int | np.integer):
            return np.asarray(self._sources[first][rest])
        positions = range(len(self._sources))[first] if isinstance(first, slice) else first
        frames = [np.asarray(self._sources[i][rest]) for i in positions]
        if not frames:  # an empty selection still needs the right trailing shape
            return np.asarray(self._sources[0][rest])[np.newaxis][:0]
        return np.stack(frames)


class SampleConcat:
    """Arrays concatenated along their leading (sample) axis, each read only where indexed.

    The parts are the per-file views of a dataset that spans files; a read that crosses part boundaries reads each
    part once and joins the pieces in the order asked for.

    Args:
        parts: arrays (sample, ...) with equal trailing shapes: lazy ``xarray.Variable``s or NumPy arrays (e.g. a
            ``np.broadcast_to`` view repeating one file's constant for each of its samples).
    """

    def __init__(self, parts: Sequence[Any]) -> None:
        self._parts = list(parts)
        self._offsets = np.cumsum([0, *(part.shape[0] for part in self._parts)])
        self.shape: tuple[int, ...] = (int(self._offsets[-1]), *self._parts[0].shape[1:])
        self.dtype: np.dtype[Any] = np.result_type(*(part.dtype for part in self._parts))

    def __getitem__(self, key: tuple[Any, ...]) -> np.ndarray:
        first, rest = key[0], tuple(key[1:])
        if isinstance(first, int | np.integer):
            part = int(np.searchsorted(self._offsets, first % self.shape[0], side="right")) - 1
            return self._read(part, int(first % self.shape[0] - self._offsets[part]), rest)
        indices = np.arange(self.shape[0])[first]
        if indices.size == 0:  # an empty selection still needs the right trailing shape
            return self._read(0, np.arange(0), rest).astype(self.dtype)
        parts = np.searchsorted(self._offsets, indices, side="right") - 1
        runs = np.flatnonzero(np.diff(parts)) + 1  # where the part changes: one read per run of one part
        pieces = [
            self._read(int(run_parts[0]), run - self._offsets[run_parts[0]], rest)
            for run, run_parts in zip(np.split(indices, runs), np.split(parts, runs), strict=True)
        ]
        return np.concatenate(pieces, axis=0).astype(self.dtype, copy=False)

    def _read(self, part: int, local: Any, rest: tuple[Any, ...]) -> np.ndarray:
        source = self._parts[part]
        if isinstance(source, xr.Variable):  # outer (orthogonal) indexing, as LazyArray's key expects
            return np.asarray(source[(local, *rest)].values)
        # two steps, so that an index array in ``rest`` is not broadcast against ``local`` (NumPy's vectorised rule)
        return np.asarray(np.asarray(source[local])[(slice(None), *rest)] if np.ndim(local) else source[(local, *rest)])


class LazyArray(BackendArray):
    """One stored array seen in our axis order, with some stored axes fixed to one index.

    Args:
        source: the stored array.
        order: for each axis of the view, the stored axis it is; by default the stored axes that
            are not fixed, in stored order.
        fixed: stored axis -> index, for component axes that this view drops, e.g. ``{4: 1}``
            selects channel 1 of PDEBench ``data`` stacked to (sample, time, x, y, channel).
    """

    def __init__(
        self,
        source: ArraySource,
        order: Sequence[int] | None = None,
        fixed: Mapping[int, int] | None = None,
    ) -> None:
        self.source = source
        self.fixed = dict(fixed or {})
        free = [axis for axis in range(len(source.shape)) if axis not in self.fixed]
        self.order = tuple(free if order is None else order)
        if sorted(self.order) != free:
            raise ValueError(f"order {self.order} is not a permutation of the free axes {free}")
        self.shape = tuple(source.shape[axis] for axis in self.order)
        self.dtype = source.dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> Any:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER_1VECTOR, self._read)

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        """Read ``key`` (in view order) from the source and return it in view order."""
        stored_key: list[Any] = [slice(None)] * len(self.source.shape)
        for axis, index in self.fixed.items():
            stored_key[axis] = index
        for view_axis, stored_axis in enumerate(self.order):
            stored_key[stored_axis] = key[view_axis]
        data = np.asarray(self.source[tuple(stored_key)])
        kept = [stored for stored, k in zip(self.order, key, strict=True) if not _is_integer(k)]
        read_order = sorted(kept)
        return data.transpose([read_order.index(axis) for axis in kept])


def _is_integer(key: Any) -> bool:
    return isinstance(key, int | np.integer)


def lazy_variable(
    source: ArraySource,
    dims: Sequence[str],
    *,
    order: Sequence[int] | None = None,
    fixed: Mapping[int, int] | None = None,
) -> xr.Variable:
    """Wrap a stored array as an `xarray.Variable` that reads only what is indexed.

    Args:
        source: the stored array.
        dims: our dimension names for the view, one per axis left after ``fixed``.
        order: see `LazyArray`.
        fixed: see `LazyArray`.
    """
    return xr.Variable(tuple(dims), indexing.LazilyIndexedArray(LazyArray(source, order, fixed)))


def split_components(
    source: ArraySource,
    dims: Sequence[str],
    *,
    axis: int,
    names: Sequence[str],
    order: Sequence[int] | None = None,
) -> dict[str, xr.Variable]:
    """One lazy variable per index of a stored component axis.

    Args:
        source: the stored array, e.g. ``velocity`` (sample, time, x, y, 2).
        dims: our dimension names of each component variable.
        axis: the stored component axis.
        names: one variable name per component, e.g. ``["velocity_x", "velocity_y"]``.
        order: see `LazyArray`.
    """
    return {name: lazy_variable(source, dims, order=order, fixed={axis: index}) for index, name in enumerate(names)}


def make_dataset(
    path: str,
    data_vars: Mapping[str, xr.Variable],
    coords: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Assemble the Dataset, turning xarray's size conflicts into a `DatasetError`."""
    try:
        return xr.Dataset(dict(data_vars), coords=coords, attrs=dict(attrs or {}))
    except ValueError as error:
        raise DatasetError(
            f"{path}: its variables do not fit on one grid ({error}). The file is inconsistent; "
            "regenerate or re-download it."
        ) from None


def python_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """HDF5 attributes as plain Python values (bytes decoded), without internal ``_`` names."""
    return {name: _python_value(value) for name, value in attrs.items() if not name.startswith("_")}


def _python_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.dtype.kind in "OSU":
        return [_python_value(item) for item in value.tolist()]
    return value
