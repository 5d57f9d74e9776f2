"""Reader for the Poseidon (scOT) NetCDF files, read through HDF5."""

from pathlib import Path

import h5py
import xarray as xr

from pdeops.data._errors import require_any, require_layout
from pdeops.data._lazy import make_dataset, split_components

VARIABLES = ("velocity", "solution", "data")
"""The names Poseidon gives its one data variable, in the order they are looked for."""
KIND = "a Poseidon file"


def read_poseidon(file: h5py.File, *, transpose_xy: bool | None = None) -> xr.Dataset:
    """Read a Poseidon file: one variable ``velocity``, ``solution`` or ``data`` (sample, time,
    channel, x, y).

    Args:
        file: the open file.
        transpose_xy: swap the two spatial axes (Poseidon's NS-SL files store them transposed;
            the channels stay as they are). None: swap when the file name contains ``NS-SL``.

    Returns:
        ``velocity_x``, ``velocity_y`` for a 2-channel ``velocity``, ``u`` for a single channel,
        else ``c0``, ``c1``, … (channel c → ``cc``); each (sample, time, x, y).
    """
    path = file.filename
    require_any(path, file.keys(), VARIABLES, KIND)
    name = next(name for name in VARIABLES if name in file)
    source = file[name]
    require_layout(path, name, source.shape, "(sample, time, channel, x, y)", kind=KIND, ndim=(5,))
    if transpose_xy is None:
        transpose_xy = "NS-SL" in Path(path).name
    channels = source.shape[2]
    if name == "velocity" and channels == 2:
        names = ["velocity_x", "velocity_y"]
    else:
        names = ["u"] if channels == 1 else [f"c{c}" for c in range(channels)]
    order = (0, 1, 4, 3) if transpose_xy else (0, 1, 3, 4)
    data_vars = split_components(source, ("sample", "time", "x", "y"), axis=2, names=names, order=order)
    return make_dataset(path, data_vars, attrs={"transposed_xy": int(transpose_xy)})
