"""Reader for The Well's HDF5 layout (PolymathicAI, ``the_well`` data format)."""

from collections.abc import Mapping
from itertools import product
from typing import Any

import h5py
import numpy as np
import xarray as xr

from pdeops.data._errors import DatasetError, require_any, require_keys, require_layout
from pdeops.data._lazy import lazy_variable, make_dataset, python_attrs

FIELD_GROUPS = ("t0_fields", "t1_fields", "t2_fields")
"""Scalar, vector and tensor fields; the group's index is the number of component axes."""
KIND = "a file of The Well"


def read_the_well(file: h5py.File) -> xr.Dataset:
    """Read a file of The Well.

    Layout: ``dimensions/`` (``time`` and one dataset per name in its ``spatial_dims`` attribute),
    ``scalars/``, ``t0_fields/`` (sample, time, *space), ``t1_fields/`` (…, D) and
    ``t2_fields/`` (…, D, D). A dataset's ``sample_varying``, ``time_varying`` and
    ``dim_varying`` attributes say which of the sample, time and spatial axes it has.
    ``boundary_conditions/`` is not read.

    Returns:
        One variable per t0 field; ``<name>_x``, ``<name>_y``… per t1 field and ``<name>_xx``,
        ``<name>_xy``… per t2 field, suffixed with the spatial dim names; one per scalar. Dims are
        (sample, time, *spatial dims) less the axes the attributes mark as not varying.
    """
    path = file.filename
    require_keys(path, file.keys(), ["dimensions"], KIND)
    require_any(path, file.keys(), FIELD_GROUPS, KIND)
    spatial = tuple(python_attrs(file["dimensions"].attrs)["spatial_dims"])
    data_vars: dict[str, xr.Variable] = {}
    for components, group in enumerate(FIELD_GROUPS):
        for name, dataset in file.get(group, {}).items():
            data_vars.update(_field_variables(path, name, dataset, spatial, components))
    for name, dataset in file.get("scalars", {}).items():
        data_vars[name] = _scalar_variable(path, name, dataset)
    return make_dataset(path, data_vars, _coords(file["dimensions"], ("time", *spatial)))


def _field_variables(
    path: str, name: str, dataset: h5py.Dataset, spatial: tuple[str, ...], components: int
) -> dict[str, xr.Variable]:
    """Split one t0/t1/t2 field into one lazy variable per component."""
    dim_varying = dataset.attrs.get("dim_varying", [True] * len(spatial))
    dims = [*_varying(dataset.attrs), *(dim for dim, kept in zip(spatial, dim_varying, strict=True) if kept)]
    layout = "(" + ", ".join([*dims, *["D"] * components]) + f") with D = {len(spatial)}"
    require_layout(
        path,
        name,
        dataset.shape,
        layout,
        kind=KIND,
        ndim=(len(dims) + components,),
        trailing=(len(spatial),) * components,
    )
    return {
        _component_name(name, spatial, index): lazy_variable(
            dataset, dims, fixed={len(dims) + axis: i for axis, i in enumerate(index)}
        )
        for index in product(range(len(spatial)), repeat=components)
    }


def _component_name(name: str, spatial: tuple[str, ...], index: tuple[int, ...]) -> str:
    """``name`` for a scalar, ``name_y`` for vector component 1, ``name_xy`` for tensor (0, 1)."""
    return f"{name}_{''.join(spatial[i] for i in index)}" if index else name


def _scalar_variable(path: str, name: str, dataset: h5py.Dataset) -> xr.Variable:
    """A scalar as a variable over the sample/time axes it varies along; constants are read."""
    dims = _varying(dataset.attrs)
    if dims:
        require_layout(path, name, dataset.shape, "(" + ", ".join(dims) + ")", kind=KIND, ndim=(len(dims),))
        return lazy_variable(dataset, dims)
    value = np.asarray(dataset[()])
    if value.size != 1:
        raise DatasetError(
            f"{path}: scalar {name!r} varies neither over samples nor over time but has shape "
            f"{value.shape}. The file is inconsistent; regenerate or re-download it."
        )
    return xr.Variable((), value.reshape(()))


def _varying(attrs: Mapping[str, Any]) -> list[str]:
    """``sample`` and ``time``, each if the ``sample_varying``/``time_varying`` attribute allows."""
    flags = {"sample": "sample_varying", "time": "time_varying"}
    return [dim for dim, flag in flags.items() if attrs.get(flag, True)]


def _coords(dimensions: h5py.Group, dims: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The one-dimensional coordinates under ``dimensions/`` (per-sample grids are left out)."""
    return {dim: np.asarray(dimensions[dim]) for dim in dims if dim in dimensions and dimensions[dim].ndim == 1}
