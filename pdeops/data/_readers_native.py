"""Reader for the pdeops format: the files pdeops writes, and any other file that meets the format.

The format is written down in ``docs/format.md``. In short: a NetCDF file (NetCDF-4/HDF5, as xarray writes with the
h5netcdf or netcdf4 engine, or NetCDF-3) whose fields are variables with the named dims (sample, time, x[, y[, z]]).
A file is recognised by its ``pdeops_format`` attribute or, without it, by a variable whose first two dims are
``sample`` and ``time``. For a file that does not meet the format, `format_problems` lists what is missing and how
to add it, one entry per problem, so that the message names every fix at once.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from pdeops.data._errors import DatasetError, quoted
from pdeops.data._lazy import SPATIAL_DIMS

FIELD_DIMS = ("sample", "time")
FIELD_LAYOUT = "(sample, time, x[, y[, z]])"
SPLIT_LABELS = ("train", "valid", "test")
"""The values of the optional ``split`` coordinate (sample,): The Well's and PDEArena's names for the splits."""
FORMAT_DOC = "docs/format.md"
NETCDF3_MAGIC = (b"CDF\x01", b"CDF\x02")
"""The first bytes of a NetCDF-3 (classic, 64-bit offset) file, which xarray writes when netCDF4 is absent."""
CF_ENCODING = ("scale_factor", "add_offset", "missing_value", "_Unsigned")
"""Attributes by which xarray decodes stored values; a field with any of them cannot be read raw with h5py."""

# Dim names that users give the trajectory and frame axes, for a "rename it" hint.
SAMPLE_ALIASES = ("samples", "batch", "b", "n", "traj", "trajectory", "trajectories", "member", "ensemble", "seed")
TIME_ALIASES = ("t", "times", "step", "steps", "nt", "time_step", "timestep", "frame", "frames")


def is_netcdf3(path: Path) -> bool:
    """Whether the file starts with the NetCDF-3 signature."""
    with path.open("rb") as stream:
        return stream.read(4) in NETCDF3_MAGIC


def hdf5_dims(dataset: h5py.Dataset) -> tuple[str | None, ...]:
    """The names of a dataset's axes from its NetCDF-4 dimension scales; None for an axis without one.

    A scale's name is its dataset's name, as xarray reads it (NetCDF's ``_nc4_non_coord_`` prefix removed).
    """
    names: list[str | None] = []
    for axis in dataset.dims:
        scales = list(axis.values())
        names.append(scales[0].name.rsplit("/", 1)[-1].removeprefix("_nc4_non_coord_") if scales else None)
    return tuple(names)


def looks_native(file: h5py.File) -> bool:
    """Whether an HDF5 file is in the pdeops format: ``pdeops_format`` set, or a variable with dims (sample, time,
    ...)."""
    if "pdeops_format" in file.attrs:
        return True
    return any(hdf5_dims(item)[:2] == FIELD_DIMS for item in _variables(file).values() if item.ndim >= 3)


def hdf5_problems(file: h5py.File) -> list[str]:
    """What an HDF5 file lacks to be in the pdeops format, read from its structure (no data is read)."""
    variables = {name: (hdf5_dims(item), item.dtype) for name, item in _variables(file).items()}
    return field_problems(variables)


def _variables(file: h5py.File) -> dict[str, h5py.Dataset]:
    """The top-level datasets that are not dimension scales (the NetCDF variables that are not coordinates)."""
    return {name: item for name, item in file.items() if isinstance(item, h5py.Dataset) and not item.is_scale}


def read_native(path: Path) -> xr.Dataset:
    """Open a pdeops-format file with xarray (lazily), checking that it meets the format.

    Times are not decoded into dates (``decode_times=False``): a ``time`` coordinate stays numbers in its units.

    Raises:
        DatasetError: xarray cannot read the file as NetCDF, or it does not meet the format (the message lists
            every problem and its fix).
    """
    netcdf3 = is_netcdf3(path)
    options: dict[str, Any] = {"engine": "scipy"} if netcdf3 else {"engine": "h5netcdf", "phony_dims": "access"}
    try:
        dataset = xr.open_dataset(path, decode_times=False, **options)
    except (ValueError, OSError, KeyError, TypeError) as error:
        raise DatasetError(
            f"xarray cannot read {path} as a NetCDF file ({error}), which the pdeops format is ({FORMAT_DOC}). "
            "Check that it is complete, or write it again with xarray's `to_netcdf`."
        ) from None
    variables = {str(name): (_named(var.dims), var.dtype) for name, var in dataset.data_vars.items()}
    problems = field_problems(variables) + coordinate_problems(dataset)
    if not netcdf3:
        with h5py.File(path, "r") as file:
            problems += scale_problems(file)
    if problems:
        dataset.close()
        raise format_error(path, problems)
    return dataset.set_coords("split") if "split" in dataset.data_vars else dataset


def format_error(path: Path | str, problems: Sequence[str]) -> DatasetError:
    """The error for a file that does not meet the pdeops format, listing every problem."""
    listed = " ".join(f"({i}) {problem}" for i, problem in enumerate(problems, start=1))
    return DatasetError(f"{path} does not meet the pdeops format ({FORMAT_DOC}): {listed}")


def _named(dims: Sequence[Any]) -> tuple[str | None, ...]:
    """xarray's dims, with the placeholder names it gives unnamed HDF5 axes as None."""
    return tuple(None if str(dim).startswith("phony_dim_") else str(dim) for dim in dims)


def field_problems(variables: Mapping[str, tuple[tuple[str | None, ...], np.dtype[Any]]]) -> list[str]:
    """The problems that keep a file's variables from holding pdeops fields, each with its fix.

    Args:
        variables: each variable's dim names (None for an unnamed axis) and dtype.

    Returns:
        Nothing when at least one variable is a field (dims (sample, time, x[, y[, z]]), numeric) and no field
        has its spatial dims out of order; else one sentence per problem.
    """
    problems = []
    fields = {name: dims for name, (dims, _) in variables.items() if dims[:2] == FIELD_DIMS}
    for name, dims in fields.items():
        spatial = [str(dim) for dim in dims[2:]]
        ordered = [dim for dim in SPATIAL_DIMS if dim in spatial]
        if set(spatial) == set(ordered) and spatial != ordered:
            order = ", ".join(repr(dim) for dim in ("sample", "time", *ordered))
            problems.append(
                f"variable {name!r} has its spatial dims in the order ({', '.join(spatial)}); store them as "
                f"({', '.join(ordered)}): `ds = ds.transpose({order})`."
            )
        if variables[name][1].kind not in "iuf":
            dtype = variables[name][1]
            problems.append(f"variable {name!r} has dims {_dims(dims)} but dtype {dtype}: a field holds numbers.")
    valid = [name for name, dims in fields.items() if 1 <= len(dims) - 2 <= len(SPATIAL_DIMS)]
    if valid:
        return problems
    candidates = {name: dims for name, (dims, _) in variables.items() if len(dims) >= 3}
    if not candidates:
        found = ", ".join(f"{name!r} {_dims(dims)}" for name, (dims, _) in variables.items()) or "no variables"
        return [
            f"it has no variable with dims {FIELD_LAYOUT}, the trajectories of a field (found: {found}). Store each "
            "field as one variable over samples, frames and space."
        ]
    unnamed = [name for name, dims in candidates.items() if None in dims]
    if unnamed:
        problems.append(
            f"variable(s) {quoted(unnamed)} have axes without names (plain h5py writes none). Name them "
            f"{FIELD_LAYOUT} with NetCDF-4 dimension scales, with h5py for each axis i, e.g. time: "
            "`f['time'] = t; f['time'].make_scale('time'); f['u'].dims[1].attach_scale(f['time'])` (a dim "
            "without values, like sample, takes `np.arange(n)`), or write the file with xarray's `to_netcdf`."
        )
    problems += [_field_fix(name, dims) for name, dims in candidates.items() if None not in dims]
    return problems


def _field_fix(name: str, dims: tuple[str | None, ...]) -> str:
    """What to do to a named variable of 3 or more dims that is not a field."""
    names = [str(dim) for dim in dims]
    where = f"variable {name!r} has dims {_dims(dims)}"
    if "sample" in names and "time" in names:
        if names[:2] != list(FIELD_DIMS):
            rest = ", ".join(repr(dim) for dim in names if dim not in FIELD_DIMS)
            return f"{where}: put sample first and time second: `ds = ds.transpose('sample', 'time', {rest})`."
        return f"{where}: a field has one to three spatial dims after (sample, time), named x[, y[, z]]."
    fixes = []
    for wanted, aliases, add in (
        ("sample", SAMPLE_ALIASES, "for a single trajectory add it: `ds = ds.expand_dims('sample')`"),
        ("time", TIME_ALIASES, "for a single frame add it: `ds = ds.expand_dims('time', axis=1)`"),
    ):
        if wanted in names:
            continue
        alias = next((dim for dim in names if dim.lower() in aliases), None)
        if alias is not None:
            fixes.append(f"rename {alias!r} to {wanted!r}: `ds = ds.rename({{{alias!r}: {wanted!r}}})`")
        else:
            counts = "trajectories" if wanted == "sample" else "frames"
            fixes.append(f"it has no {wanted!r} dim: rename the dim that counts {counts} to {wanted!r}, or {add}")
    return f"{where}; " + "; ".join(fixes) + "."


def _dims(dims: Sequence[str | None]) -> str:
    return "(" + ", ".join("?" if dim is None else dim for dim in dims) + ")"


def scale_problems(file: h5py.File) -> list[str]:
    """Variables of an HDF5 file whose axis carries a coordinate (a dimension scale) of another length.

    HDF5 lets a scale of any length be attached to an axis, and xarray then takes the scale's length for the
    variable's, so that a 19-point ``x`` on a 16-point axis would read as 19 points of 16 values."""
    problems = []
    for name, item in _variables(file).items():
        for axis, (size, dim) in enumerate(zip(item.shape, item.dims, strict=True)):
            for scale in dim.values():
                if len(scale) != size:
                    coordinate = scale.name.rsplit("/", 1)[-1].removeprefix("_nc4_non_coord_")
                    problems.append(
                        f"coordinate {coordinate!r} has {len(scale)} entries, but variable {name!r} has {size} "
                        f"along axis {axis}, which it labels; write one coordinate value per grid point, or leave "
                        "the coordinate out."
                    )
    return problems


UNIFORM_TOLERANCE = 1e-3
"""How far a grid step may depart from the mean step of a spatial coordinate, relative to it (beyond the rounding
of the stored values: float32 coordinates pass)."""


def coordinate_problems(dataset: xr.Dataset) -> list[str]:
    """The problems of the optional coordinates: ``time`` and spatial ones numeric and strictly increasing, spatial
    ones uniformly spaced, and ``split`` along ``sample`` with values among `SPLIT_LABELS`."""
    problems = []
    for name in ("time", *SPATIAL_DIMS):
        if name not in dataset.coords:
            continue
        values = np.asarray(dataset[name].values)
        if dataset[name].dims != (name,) or values.dtype.kind not in "iuf":
            problems.append(
                f"coordinate {name!r} has dims {dataset[name].dims} and dtype {values.dtype}; it must be numbers "
                f"along {name!r} only (one value per index), or be left out."
            )
        elif values.size > 1 and not (np.diff(values) > 0).all():
            at = int(np.argmin(np.diff(values) > 0)) + 1
            step = f"index {at}: {values[at]:.6g} after {values[at - 1]:.6g}"
            problems.append(
                f"coordinate {name!r} is not strictly increasing ({step}); "
                f"sort the data along it: `ds = ds.sortby({name!r})`."
            )
        elif name in SPATIAL_DIMS and values.size > 2:
            problems += _spacing_problems(name, values)
    if "split" in dataset.variables:
        split = dataset["split"]
        labels = {str(value) for value in np.asarray(split.values).ravel()}
        if split.dims != ("sample",) or not labels <= set(SPLIT_LABELS):
            problems.append(
                f"'split' has dims {split.dims} and values {quoted(sorted(labels))}; it must have dims ('sample',) "
                f"and values among {quoted(SPLIT_LABELS)} (one per trajectory), or be left out."
            )
    return problems


def _spacing_problems(name: str, values: np.ndarray) -> list[str]:
    """The departure from uniform spacing of a strictly increasing spatial coordinate, if any (one sentence)."""
    steps = np.diff(values.astype(np.float64))
    step = (float(values[-1]) - float(values[0])) / (values.size - 1)
    rounding = 4 * np.finfo(values.dtype).eps * float(np.abs(values).max()) if values.dtype.kind == "f" else 0.0
    off = np.abs(steps - step) > UNIFORM_TOLERANCE * step + rounding
    if not off.any():
        return []
    at = int(np.argmax(off))
    return [
        f"coordinate {name!r} is not uniformly spaced: the step from index {at} to {at + 1} is {steps[at]:.6g}, "
        f"the mean step {step:.6g}. The format's grid is uniform (periodic spectral data); resample the data onto "
        "a uniform grid, or leave the coordinate out if the points are uniform in truth."
    ]


def samples_written(path: Path | str, attrs: Mapping[str, Any]) -> int | None:
    """A native file's ``samples_written`` attribute as a count (None when the file has none).

    Raises:
        DatasetError: the attribute is not a whole number (the file was altered or not written by pdeops).
    """
    value = attrs.get("samples_written")
    if value is None:
        return None
    flat = np.ravel(np.asarray(value))  # a scalar, or a 1-element array from xarray
    if flat.size == 1 and flat.dtype.kind in "iuf" and float(flat[0]).is_integer() and flat[0] >= 0:
        return int(flat[0])
    raise DatasetError(
        f"{path}: attribute 'samples_written' is {value!r}, not a count of trajectories; pdeops records there how "
        "many trajectories of the file are written. The file was altered or not written by pdeops: regenerate it, "
        "or set the attribute to the number of trajectories written (or delete it, for a file complete by "
        "construction)."
    )


def plain_hdf5_fields(path: str, fields: Sequence[str]) -> bool:
    """Whether the fields of an HDF5 file read raw with h5py equal what xarray decodes (no CF scaling or fill
    values other than NaN), so that the fast h5py path may read them."""
    with h5py.File(path, "r") as file:
        for name in fields:
            item = file.get(name)
            if not isinstance(item, h5py.Dataset) or any(key in item.attrs for key in CF_ENCODING):
                return False
            fill = item.attrs.get("_FillValue")
            if fill is not None and not np.isnan(np.asarray(fill, dtype=np.float64)).all():
                return False
    return True
