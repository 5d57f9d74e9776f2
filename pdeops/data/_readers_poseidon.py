"""Reader for the Poseidon (scOT) NetCDF files, read through HDF5."""

from pathlib import Path

import h5py
import xarray as xr

from pdeops.data._errors import require_any, require_layout
from pdeops.data._lazy import make_dataset, split_components

VARIABLES = ("velocity", "solution", "data")
"""The names Poseidon gives its one data variable, in the order they are looked for."""
KIND = "a Poseidon file"
CHANNEL_NAMES = {
    "velocity": ("velocity_x", "velocity_y", "tracer"),
    "data": ("density", "velocity_x", "velocity_y", "pressure", "energy"),
}
"""Poseidon's channel names, where its code names them (camlab-ethz/poseidon, ``scOT/problems/fluids``):
``velocity`` (NS-*.nc) holds u, v and, in NS-PwC, the passive ``tracer`` (``IncompressibleBase`` reads channels
0:2 as velocities and 2:3 as the tracer, ``constants["tracer_mean"]``); ``data`` (CE-*.nc) holds "[rho],[u,v],[p]"
in channels 0:4 (``CompressibleBase.label_description``) and, as the datasets' cards on the Hugging Face Hub say,
energy in channel 4. Other layouts are numbered ``c0``, ``c1``, …"""


def read_poseidon(file: h5py.File, *, transpose_xy: bool | None = None) -> xr.Dataset:
    """Read a Poseidon file: one variable ``velocity``, ``solution`` or ``data`` (sample, time,
    channel, x, y).

    Args:
        file: the open file.
        transpose_xy: swap the two spatial axes (Poseidon's NS-SL files store them transposed;
            the channels stay as they are). None: swap when the file name contains ``NS-SL``.

    Returns:
        Poseidon's names (`CHANNEL_NAMES`): ``velocity_x``, ``velocity_y`` and ``tracer`` for a 2- or 3-channel
        ``velocity``; ``density``, ``velocity_x``, ``velocity_y``, ``pressure`` and ``energy`` for a 4- or 5-channel
        ``data``; else ``u`` for a single channel, ``c0``, ``c1``, … (channel c → ``cc``) for more; each
        (sample, time, x, y).
    """
    path = file.filename
    require_any(path, file.keys(), VARIABLES, KIND)
    name = next(name for name in VARIABLES if name in file)
    source = file[name]
    require_layout(path, name, source.shape, "(sample, time, channel, x, y)", kind=KIND, ndim=(5,))
    if transpose_xy is None:
        transpose_xy = "NS-SL" in Path(path).name
    channels = source.shape[2]
    known = CHANNEL_NAMES.get(name, ())
    if name == "velocity" and channels in (2, 3) or name == "data" and channels in (4, 5):
        names = list(known[:channels])
    else:
        names = ["u"] if channels == 1 else [f"c{c}" for c in range(channels)]
    order = (0, 1, 4, 3) if transpose_xy else (0, 1, 3, 4)
    data_vars = split_components(source, ("sample", "time", "x", "y"), axis=2, names=names, order=order)
    return make_dataset(path, data_vars, attrs={"transposed_xy": int(transpose_xy)})
