"""Readers for the three PDEBench HDF5 layouts: flat, per-seed groups and ``ns_incom``."""

from typing import Any

import h5py
import numpy as np
import xarray as xr

from pdeops.data._errors import (
    DatasetError,
    quoted,
    require_any,
    require_keys,
    require_layout,
    require_length,
)
from pdeops.data._lazy import (
    SPATIAL_DIMS,
    DatasetStack,
    lazy_variable,
    make_dataset,
    python_attrs,
    split_components,
)

FLAT_FIELDS = ("tensor", "density", "pressure", "Vx", "Vy", "Vz")
"""Field datasets of flat PDEBench files; ``tensor`` (a single unnamed field) is read as ``u``, or as the name in the
root attribute ``field_name`` that ``pdeops export`` writes."""
SEED_GRID = "grid"
"""The group of a seed's coordinates, beside its ``data``."""
FLAT_KIND = "a PDEBench file"
SEEDS_KIND = "a PDEBench per-seed file"
NS_INCOM_KIND = "a PDEBench ns_incom file"
NS_INCOM_LAYOUTS = (
    ("velocity", "(sample, time, x, y, 2)", 5, (2,)),
    ("particles", "(sample, time, x, y, 1)", 5, (1,)),
    ("force", "(sample, x, y, 2)", 4, (2,)),
    ("t", "(sample, time)", 2, ()),
)
"""Each ns_incom variable: its stored axes, rank and the sizes of its component axes."""
TEST_RATIO = 0.1
"""The test fraction of PDEBench's own loaders (``test_ratio=0.1`` in ``pdebench/models/fno/utils.py``)."""


def pdebench_split(count: int, *, test_first: bool) -> tuple[Any, dict[str, str]]:
    """PDEBench's official split as a ``split`` coordinate (sample,) and the attribute that says where it is from.

    PDEBench's loaders cut ``int(count * 0.1)`` samples for testing: the first ones of a flat file
    (``FNODatasetSingle``: ``data[:test_idx]``), the last seeds of a per-seed file (``FNODatasetMult``:
    ``data_list[int(count * 0.9):]``); the rest train. PDEBench has no validation split.
    """
    labels = np.full(count, "train")
    if test_first:
        labels[: int(count * TEST_RATIO)] = "test"
        rule = f"the first int({TEST_RATIO} N) samples test (FNODatasetSingle)"
    else:
        labels[int(count * (1 - TEST_RATIO)) :] = "test"
        rule = f"the seeds after the first int({1 - TEST_RATIO} N) test (FNODatasetMult)"
    return ("sample", labels), {"split_source": f"PDEBench's loaders: {rule}, the rest train; no validation split"}


def read_pdebench(file: h5py.File) -> xr.Dataset:
    """Read a flat PDEBench file.

    Layout: ``tensor`` or any of ``density``, ``pressure``, ``Vx``, ``Vy``, ``Vz``, each
    (sample, time, x[, y[, z]]); coordinates ``x-coordinate``, ``y-coordinate``,
    ``z-coordinate`` and ``t-coordinate``; other datasets shaped (sample, x[, y[, z]]), like the
    Darcy-flow coefficient ``nu``, are static per-sample fields.

    ``t-coordinate`` holds the time-bin edges, one more than the time steps: the first T entries
    (the start of each step) become the ``time`` coordinate.

    Returns:
        ``u`` (for ``tensor``; the ``field_name`` attribute's name if the file has one) or the file's own field
        names, dims (sample, time, x[, y[, z]]); the ``split`` coordinate of PDEBench's loaders (see
        `pdebench_split`).
    """
    path = file.filename
    require_any(path, file.keys(), FLAT_FIELDS, FLAT_KIND)
    fields = [name for name in FLAT_FIELDS if name in file]
    shape = file[fields[0]].shape
    for name in fields:
        require_layout(path, name, file[name].shape, "(sample, time, x[, y[, z]])", kind=FLAT_KIND, ndim=(3, 4, 5))
    spatial = SPATIAL_DIMS[: len(shape) - 2]
    tensor = _field_names(file, "field_name", ["u"])[0] if "tensor" in fields else "u"
    data_vars = {
        tensor if name == "tensor" else name: lazy_variable(file[name], ("sample", "time", *spatial)) for name in fields
    }
    static_shape = (shape[0], *shape[2:])
    for name, item in file.items():
        if isinstance(item, h5py.Dataset) and item.shape == static_shape and name not in fields:
            data_vars[name] = lazy_variable(item, ("sample", *spatial))
    split, attrs = pdebench_split(shape[0], test_first=True)
    return make_dataset(path, data_vars, {**_flat_coords(file, shape, spatial), "split": split}, attrs)


def _flat_coords(file: h5py.File, shape: tuple[int, ...], spatial: tuple[str, ...]) -> dict[str, Any]:
    """``time`` from the first T time-bin edges and each spatial axis, where the file has them."""
    coords = {}
    for dim, size in zip(spatial, shape[2:], strict=True):
        if f"{dim}-coordinate" in file:
            coords[dim] = _axis(file, f"{dim}-coordinate", (size,))
    if "t-coordinate" in file:
        steps = shape[1]
        coords["time"] = _axis(file, "t-coordinate", (steps, steps + 1))[:steps]
    return coords


def read_pdebench_seeds(file: h5py.File) -> xr.Dataset:
    """Read a PDEBench per-seed file (e.g. 2D diffusion-reaction, shallow water).

    Layout: groups ``0000``, ``0001``, … each with ``data`` (time, x[, y], channel) and
    ``grid/t``, ``grid/x``, ``grid/y``. The groups are stacked lazily on the sample axis, in
    name order; the grid is taken from the first group. Other datasets of a seed shaped (x[, y]), which
    ``pdeops export`` writes for static fields, are static per-sample fields.

    Returns:
        The channel names of the root attribute ``channels`` (written by ``pdeops export``) if the file has it,
        else ``u`` if there is one channel, else ``u0``, ``u1``, … (channel c → ``uc``), each
        (sample, time, x[, y]); static fields (sample, x[, y]); the ``split`` coordinate of PDEBench's loaders
        (see `pdebench_split`).
    """
    path = file.filename
    seeds = sorted(name for name in file if name.isdigit())
    if not seeds:
        raise DatasetError(
            f"{path} has no seed groups ('0000', '0001', …), which {SEEDS_KIND} must have "
            f"(found: {quoted(sorted(file.keys()))}). Check that the file is complete and really is "
            "that format, or pass the right format= to open_dataset."
        )
    first = file[seeds[0]]
    require_keys(path, first.keys(), ["data"], f"each seed group (like {seeds[0]!r}) of {SEEDS_KIND}")
    datas = [file[seed]["data"] for seed in seeds]
    for seed, data in zip(seeds, datas, strict=True):
        require_layout(
            path, f"{seed}/data", data.shape, "(time, x[, y[, z]], channel)", kind=SEEDS_KIND, ndim=(3, 4, 5)
        )
        if data.shape != datas[0].shape:
            raise DatasetError(
                f"{path}: seed {seed!r} has data of shape {data.shape} but seed {seeds[0]!r} has "
                f"{datas[0].shape}; all seeds must share one grid. Regenerate or re-download the file."
            )
    stack = DatasetStack(datas)
    channels = stack.shape[-1]
    spatial = SPATIAL_DIMS[: len(stack.shape) - 3]
    names = _field_names(file, "channels", ["u"] if channels == 1 else [f"u{c}" for c in range(channels)])
    data_vars = split_components(stack, ("sample", "time", *spatial), axis=len(stack.shape) - 1, names=names)
    data_vars.update(_seed_statics(file, seeds, stack.shape[2:-1], spatial, names))
    split, attrs = pdebench_split(len(seeds), test_first=False)
    return make_dataset(path, data_vars, {**_seed_coords(first, stack.shape[1:-1], spatial), "split": split}, attrs)


def _field_names(file: h5py.File, attribute: str, default: list[str]) -> list[str]:
    """The field names a root attribute records (as many as ``default`` has, distinct), else ``default``."""
    if attribute not in file.attrs:
        return default
    value = python_attrs(file.attrs)[attribute]  # bytes decoded, a string array as a list
    names = value if isinstance(value, list) else [value]
    if len(names) != len(default) or len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise DatasetError(
            f"{file.filename}: its attribute {attribute!r} = {value!r} should name its {len(default)} field(s), "
            f"distinct and non-empty. Fix or delete the attribute (the fields are then read as {quoted(default)})."
        )
    return [str(name) for name in names]


def _seed_statics(
    file: h5py.File, seeds: list[str], shape: tuple[int, ...], spatial: tuple[str, ...], taken: list[str]
) -> dict[str, xr.Variable]:
    """The static fields of a per-seed file: datasets beside ``data`` shaped like one frame, in every seed."""
    first = file[seeds[0]]
    names = [
        name
        for name, item in first.items()
        if name not in ("data", SEED_GRID, *taken) and isinstance(item, h5py.Dataset) and item.shape == shape
    ]
    for name in names:
        unlike = [seed for seed in seeds if name not in file[seed] or file[seed][name].shape != shape]
        if unlike:
            raise DatasetError(
                f"{file.filename}: seed {unlike[0]!r} has no static field {name!r} of shape {shape} like seed "
                f"{seeds[0]!r}; all seeds must hold the same fields. Regenerate or re-export the file."
            )
    return {
        name: lazy_variable(DatasetStack([file[seed][name] for seed in seeds]), ("sample", *spatial)) for name in names
    }


def _seed_coords(group: h5py.Group, shape: tuple[int, ...], spatial: tuple[str, ...]) -> dict[str, Any]:
    """``time`` and spatial coordinates from a seed group's ``grid/``, where it has them."""
    dims = ("time", *spatial)
    stored = {"time": "grid/t", **{dim: f"grid/{dim}" for dim in spatial}}
    return {
        dim: _axis(group, stored[dim], (size,)) for dim, size in zip(dims, shape, strict=True) if stored[dim] in group
    }


def read_pdebench_ns_incom(file: h5py.File) -> xr.Dataset:
    """Read a PDEBench incompressible Navier–Stokes file (``ns_incom_*.h5``).

    Layout: ``velocity`` (sample, time, x, y, 2), ``particles`` (sample, time, x, y, 1),
    ``force`` (sample, x, y, 2), ``t`` (sample, time).

    Returns:
        ``velocity_x``, ``velocity_y``, ``particles`` (sample, time, x, y) and ``force_x``,
        ``force_y`` (sample, x, y); the ``time`` coordinate is the first sample's ``t``.
    """
    path = file.filename
    require_keys(path, file.keys(), [name for name, *_ in NS_INCOM_LAYOUTS], NS_INCOM_KIND)
    for name, layout, ndim, trailing in NS_INCOM_LAYOUTS:
        require_layout(
            path,
            name,
            file[name].shape,
            layout,
            kind=NS_INCOM_KIND,
            ndim=(ndim,),
            trailing=trailing,
        )
    dims = ("sample", "time", "x", "y")
    data_vars = {
        **split_components(file["velocity"], dims, axis=4, names=["velocity_x", "velocity_y"]),
        "particles": lazy_variable(file["particles"], dims, fixed={4: 0}),
        **split_components(file["force"], ("sample", "x", "y"), axis=3, names=["force_x", "force_y"]),
    }
    return make_dataset(path, data_vars, {"time": np.asarray(file["t"][0])})


def _axis(group: h5py.Group, name: str, sizes: tuple[int, ...]) -> np.ndarray:
    """A stored coordinate as a flat array, checked to have one of the allowed lengths."""
    values = np.asarray(group[name][()]).ravel()
    require_length(group.file.filename, name, values.size, sizes)
    return values
