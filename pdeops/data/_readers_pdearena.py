"""Reader for PDEArena's Navier–Stokes (smoke buoyancy) HDF5 files."""

from typing import Any

import h5py
import numpy as np
import xarray as xr

from pdeops.data._errors import DatasetError, quoted, require_any, require_keys, require_layout
from pdeops.data._lazy import lazy_variable, make_dataset

SPLITS = ("train", "valid", "test")
FIELDS = ("u", "vx", "vy")
KIND = "a PDEArena file"


def read_pdearena(file: h5py.File, *, split: str | None = None) -> xr.Dataset:
    """Read one split of a PDEArena Navier–Stokes file.

    Layout: a group per split (``train``, ``valid``, ``test``) with ``u``, ``vx``, ``vy``
    (sample, time, x, y), ``t`` (sample, time), ``x`` (sample, x), ``y`` (sample, y) and
    optionally ``buo_y`` (sample,), the buoyancy.

    Args:
        file: the open file.
        split: the split to read; None reads the only split present.

    Returns:
        ``u`` (the smoke density), ``vx``, ``vy`` (sample, time, x, y) and, if present, ``buo_y``
        (sample,); coordinates ``time``, ``x``, ``y`` from the first sample and ``split`` (every sample in the
        group's split); attribute ``split``.
    """
    path = file.filename
    group = file[_choose_split(file, split)]
    require_keys(path, group.keys(), [*FIELDS, "t", "x", "y"], f"the {group.name!r} group of {KIND}")
    dims = ("sample", "time", "x", "y")
    for name in FIELDS:
        require_layout(path, f"{group.name}/{name}", group[name].shape, "(sample, time, x, y)", kind=KIND, ndim=(4,))
    for name, layout in (("t", "(sample, time)"), ("x", "(sample, x)"), ("y", "(sample, y)")):
        require_layout(path, f"{group.name}/{name}", group[name].shape, layout, kind=KIND, ndim=(2,))
    data_vars = {name: lazy_variable(group[name], dims) for name in FIELDS}
    if "buo_y" in group:
        require_layout(path, f"{group.name}/buo_y", group["buo_y"].shape, "(sample,)", kind=KIND, ndim=(1,))
        data_vars["buo_y"] = lazy_variable(group["buo_y"], ("sample",))
    coords: dict[str, Any] = {
        "time": np.asarray(group["t"][0]),
        "x": np.asarray(group["x"][0]),
        "y": np.asarray(group["y"][0]),
    }
    split = group.name.strip("/")
    coords["split"] = ("sample", np.full(group["u"].shape[0], split))
    return make_dataset(path, data_vars, coords, attrs={"split": split, "split_source": "PDEArena's split groups"})


def _choose_split(file: h5py.File, split: str | None) -> str:
    """The requested split, or the only one present."""
    path = file.filename
    present = [name for name in SPLITS if name in file]
    require_any(path, file.keys(), SPLITS, KIND)
    if split is None and len(present) > 1:
        raise DatasetError(
            f"{path} holds several splits ({quoted(present)}); pass split= to open_dataset to choose one."
        )
    chosen = present[0] if split is None else split
    if chosen not in present:
        raise DatasetError(f"{path} has no split {chosen!r}; it holds {quoted(present)}. Pass one of those as split=.")
    return chosen
