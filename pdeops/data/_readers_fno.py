"""Reader for the FNO (Li et al.) MATLAB ``.mat`` files, v5 (scipy) and v7.3 (HDF5)."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import scipy.io
import xarray as xr

from pdeops.data._errors import DatasetError, require_keys, require_layout, require_length
from pdeops.data._lazy import SPATIAL_DIMS, ArraySource, lazy_variable, make_dataset

KIND = "an FNO .mat file"
LAYOUT = "(sample, x[, y]) for `a` and (sample, x[, y][, time]) for `u`, in MATLAB axis order"


def read_fno_mat_v73(file: h5py.File) -> xr.Dataset:
    """Read an FNO MATLAB v7.3 file lazily through HDF5.

    MATLAB stores every array with its axes reversed, so ``u`` (sample, x, y, time) is on disk
    (time, y, x, sample); the lazy views undo this. See `fno_dataset` for the variables.
    """
    arrays = {name: item for name, item in file.items() if isinstance(item, h5py.Dataset)}
    return fno_dataset(file.filename, arrays, reversed_axes=True)


def read_fno_mat_v5(path: Path) -> xr.Dataset:
    """Read an FNO MATLAB v5 file (fully, into memory: scipy cannot read .mat files lazily).

    See `fno_dataset` for the variables.
    """
    try:
        contents = scipy.io.loadmat(path)
    except (ValueError, OSError, scipy.io.matlab.MatReadError) as error:
        raise DatasetError(
            f"{path} is not a readable MATLAB file ({error}): it is truncated or corrupt. Regenerate or re-download it."
        ) from None
    arrays = {name: value for name, value in contents.items() if not name.startswith("__")}
    return fno_dataset(str(path), arrays, reversed_axes=False)


def fno_dataset(path: str, arrays: Mapping[str, ArraySource], *, reversed_axes: bool) -> xr.Dataset:
    """Build the Dataset from the arrays of an FNO file.

    Args:
        path: the file, for messages.
        arrays: the file's variables: ``a`` (sample, x[, y]), ``u`` (sample, x[, y], time) or,
            for the 1D Burgers files, the final-time snapshot ``u`` (sample, x[, y]), and
            optionally ``t`` (1, time) or (time,); all in MATLAB axis order.
        reversed_axes: whether the arrays are stored with their axes reversed (v7.3).

    Returns:
        ``a`` (sample, x[, y]) and ``u`` (sample, time, x[, y]) with a ``time`` coordinate from
        ``t`` when the file has it, or ``u`` (sample, x[, y]) for a snapshot ``u``.
    """
    require_keys(path, arrays.keys(), ["a", "u"], KIND)
    a_shape = _matlab_shape(arrays["a"], reversed_axes)
    u_shape = _matlab_shape(arrays["u"], reversed_axes)
    require_layout(path, "a", a_shape, LAYOUT, kind=KIND, ndim=(2, 3))
    require_layout(path, "u", u_shape, LAYOUT, kind=KIND, ndim=(len(a_shape), len(a_shape) + 1))
    spatial = SPATIAL_DIMS[: len(a_shape) - 1]
    space_axes = range(1, len(a_shape))
    data_vars = {"a": _matlab_variable(arrays["a"], ("sample", *spatial), [0, *space_axes], reversed_axes)}
    coords: dict[str, Any] = {}
    if len(u_shape) == len(a_shape):
        data_vars["u"] = _matlab_variable(arrays["u"], ("sample", *spatial), [0, *space_axes], reversed_axes)
    else:
        time_axis = len(u_shape) - 1
        data_vars["u"] = _matlab_variable(
            arrays["u"], ("sample", "time", *spatial), [0, time_axis, *space_axes], reversed_axes
        )
        if "t" in arrays:
            coords["time"] = np.asarray(arrays["t"][()]).ravel()
            require_length(path, "t", coords["time"].size, (u_shape[time_axis],))
    return make_dataset(path, data_vars, coords)


def _matlab_shape(array: ArraySource, reversed_axes: bool) -> tuple[int, ...]:
    return tuple(reversed(array.shape)) if reversed_axes else tuple(array.shape)


def _matlab_variable(
    array: ArraySource, dims: Sequence[str], matlab_axes: Sequence[int], reversed_axes: bool
) -> xr.Variable:
    """A lazy view whose axis i is MATLAB axis ``matlab_axes[i]`` of ``array``."""
    ndim = len(array.shape)
    order = [ndim - 1 - axis for axis in matlab_axes] if reversed_axes else matlab_axes
    return lazy_variable(array, dims, order=order)
