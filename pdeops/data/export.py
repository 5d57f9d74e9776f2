"""Export any dataset we read into The Well's or PDEBench's layout, so their own loaders read it.

``export(path, "the-well", out)`` writes a dataset directory as The Well publishes one (``the_well.data.WellDataset(
path=out, well_split_name="train")`` reads it)::

    out/data/train/<name>.hdf5, out/data/valid/<name>.hdf5, out/data/test/<name>.hdf5, out/stats.yaml

The trajectories are split in file order as ``PDEDataModule`` splits them (80/10/10 by default). Each file has The
Well's groups: ``dimensions/`` (``time``, ``x``, ``y``; ``spatial_dims``), ``boundary_conditions/`` (periodic on
every axis for a pdeops file, whose recipes are all periodic; none otherwise, which The Well reads as open),
``scalars/`` (the ``param_*`` attributes as constant scalars), ``t0_fields/`` (sample, time, x, y) and
``t1_fields/`` (sample, time, x, y, D) for a vector whose components ``<name>_x``, ``<name>_y`` are all present.
``stats.yaml`` holds the training split's mean, std, rms and those of one-step differences, per field, as The
Well's normalisation reads them.

``export(path, "pdebench", out)`` writes one HDF5 file in the layout PDEBench's own loaders
(``pdebench/models/fno/utils.py``, ``unet/utils.py``) read for such data:

- one 1-D field: ``tensor`` (sample, time, x) with ``x-coordinate`` and ``t-coordinate`` (time-bin edges: one more
  than the frames), read by ``FNODatasetSingle``; so is one 2-D field with a static ``nu`` (sample, x, y) beside it,
  PDEBench's Darcy-flow layout. The file name must not end in ``h5`` (``.hdf5``): ``FNODatasetSingle`` reads a
  ``*.h5`` file as per-seed groups.
- exactly PDEBench's compressible-fluid fields for the dimension (``density``, ``pressure``, ``Vx``[, ``Vy``[,
  ``Vz``]]): those datasets, flat as above, read by ``FNODatasetSingle``.
- anything else (one 2-D field such as ``vorticity``, several fields): the per-seed layout of PDEBench's
  time-dependent 2-D data (diffusion-reaction, shallow water), read by ``FNODatasetMult`` (which opens
  ``<name>.h5``, so the file must be a ``.h5``): groups ``0000``, ``0001``, … with ``data`` (time, x[, y], channel)
  and ``grid/x``, ``grid/y``, ``grid/t``; static fields (x[, y]) beside ``data`` under their names.

The field names are kept in root attributes (``field_name`` for ``tensor``, ``channels`` for the channels of the
per-seed ``data``), from which our reader restores them.

Outputs that would destroy something are refused, with or without ``overwrite``: the input itself (by any path or
link), a folder holding the input, a folder that is not an earlier export's layout, and anything that is neither a
regular file nor a folder (links, devices, pipes).

Both keep the source's attributes as root attributes (provenance), less our format marker, and add a line to its
``history``. Outputs are written under ``<out>.partial`` and renamed when complete.
"""

import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from pdeops.data._errors import DatasetError
from pdeops.data.generate import command_line, history_line

TARGETS = ("the-well", "pdebench")
WELL_SPLITS = {"train": "train", "val": "valid", "test": "test"}
"""Our split names → The Well's folder names."""
PDEBENCH_FLUIDS = ("density", "pressure", "Vx", "Vy", "Vz")
SPATIAL = ("x", "y", "z")
DROPPED_ATTRS = ("pdeops_format", "samples_written", "source_format", "source_path", "Conventions", "compression")
"""Attributes not carried over: our format marker and CF claim (the output is neither), the storage of the source,
and the reader's own."""


def export(
    path: str | os.PathLike[str],
    to: str,
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    split: tuple[float, float, float] = (0.8, 0.1, 0.1),
    command: str | None = None,
) -> Path:
    """Write the dataset at ``path`` (any format ``open_dataset`` reads) in the layout ``to`` at ``out``.

    Args:
        path: the source dataset file.
        to: ``"the-well"`` (``out`` is a directory) or ``"pdebench"`` (``out`` is an HDF5 file).
        out: where to write.
        overwrite: replace an existing ``out``.
        split: The Well only: train, valid and test fractions of the trajectories, in file order.
        command: the command recorded in ``history`` (default: this process's command line).

    Returns:
        ``out``.

    Raises:
        DatasetError: ``out`` exists (without ``overwrite``); ``out`` is the input, holds it, is a folder that is not
            an earlier export, or is neither a regular file nor a folder; PDEBench's loaders would misread ``out``'s
            name; the source has no field with dims (sample, time, space...); or a split gets no trajectory.
    """
    from pdeops.data.readers import open_dataset

    if to not in TARGETS:
        raise ValueError(f"Unknown export target {to!r}; choose 'the-well' or 'pdebench'.")
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    _check_output(Path(path), out, to, overwrite)
    _check_output(Path(path), partial, to, overwrite=True)  # what an interrupted export left, removed below
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove(partial)
    with open_dataset(path) as dataset:
        source = _Source(dataset, Path(path))
        layout = _pdebench_layout(source) if to == "pdebench" else "the-well"
        if to == "pdebench":
            _check_pdebench_name(out, source, layout)
        attrs = _provenance(dataset.attrs, f"export --to {to}: {command or command_line()}")
        try:
            if to == "the-well":
                _write_well(source, partial, attrs, split)
            else:
                _write_pdebench(source, partial, attrs, layout)
        except BaseException:
            _remove(partial)
            raise
    _remove(out)
    os.replace(partial, out)
    return out


WELL_LAYOUT = {"data": {split: ".hdf5" for split in WELL_SPLITS.values()}, "stats.yaml": None}
"""An export's folder (The Well's layout): what it may hold, folders mapping to their contents; a split folder holds
files with that suffix."""


def _check_output(source: Path, out: Path, to: str, overwrite: bool) -> None:
    """Refuse an ``out`` whose replacement would destroy the input, a foreign folder or a special file."""
    if not out.exists() and not out.is_symlink():
        return
    if _same_file(source, out):
        raise DatasetError(
            f"{out} is the input file {source} itself: exporting onto it would destroy the data being read. "
            "Choose another output path."
        )
    if out.is_symlink() or not (out.is_file() or out.is_dir()):
        kind = "a symbolic link" if out.is_symlink() else "not a regular file or folder (a device, pipe or socket)"
        raise DatasetError(
            f"{out} is {kind}; export writes only regular files and folders and never replaces anything else. "
            "Choose another output path (or, for a link, the path it points to)."
        )
    if out.is_dir() and source.resolve().is_relative_to(out.resolve()):
        raise DatasetError(
            f"{out} is a folder that holds the input {source}: replacing it would delete the data being read. "
            "Choose an output outside it."
        )
    if not overwrite:
        raise DatasetError(
            f"{out} already exists. Pass overwrite=True (--overwrite) to replace it, or choose another path."
        )
    if out.is_dir() and (to == "pdebench" or not _is_export_folder(out, WELL_LAYOUT)):
        what = "a PDEBench export is one file" if to == "pdebench" else "it holds files an export does not write"
        raise DatasetError(
            f"{out} is a folder that is not an earlier export ({what}): export replaces only a regular file or an "
            "earlier export's folder (data/{train,valid,test}/*.hdf5 and stats.yaml). Choose another output path, "
            "or remove the folder yourself if its contents are not needed."
        )


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file, through any spelling, link or hard link."""
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def _is_export_folder(folder: Path, layout: dict[str, Any]) -> bool:
    """Whether ``folder`` holds only (part of) ``layout``: no link, no foreign name, no special file."""
    for entry in folder.iterdir():
        if entry.is_symlink() or entry.name not in layout:
            return False
        expected = layout[entry.name]
        if isinstance(expected, dict):
            if not entry.is_dir() or not _is_export_folder(entry, expected):
                return False
        elif isinstance(expected, str):
            if not entry.is_dir() or any(
                f.is_symlink() or not f.is_file() or f.suffix != expected for f in entry.iterdir()
            ):
                return False
        elif not entry.is_file():
            return False
    return True


class _Source:
    """The fields of an open dataset: time-varying (sample, time, *space), static (sample, *space), scalars."""

    def __init__(self, dataset: xr.Dataset, path: Path):
        self.dataset, self.path = dataset, path
        self.fields = [str(name) for name, v in dataset.data_vars.items() if v.dims[:2] == ("sample", "time")]
        if not self.fields:
            raise DatasetError(
                f"{path} has no field with dims (sample, time, x[, y]) to export (variables: "
                f"{sorted(map(str, dataset.data_vars))}). Check that it holds trajectories."
            )
        self.spatial = tuple(str(dim) for dim in dataset[self.fields[0]].dims[2:])
        for name in self.fields:
            if dataset[name].dims[2:] != self.spatial:
                raise DatasetError(f"{path}: field {name!r} has dims {dataset[name].dims}, unlike {self.fields[0]!r}.")
        self.static = [str(name) for name, v in dataset.data_vars.items() if v.dims == ("sample", *self.spatial)]
        self.samples, self.frames = dataset[self.fields[0]].shape[:2]
        self.shape = dataset[self.fields[0]].shape[2:]

    def coordinate(self, dim: str) -> np.ndarray:
        """``dim``'s values: the file's, else the index (a file without coordinates)."""
        if dim in self.dataset.coords:
            return np.asarray(self.dataset[dim].values, dtype=np.float64)
        return np.arange(self.dataset.sizes[dim], dtype=np.float64)

    def trajectory(self, name: str, sample: int) -> np.ndarray:
        """One sample of a field: (time, *space), or (*space) for a static field."""
        return np.asarray(self.dataset[name][sample].values)

    def params(self) -> dict[str, float]:
        """The numeric ``param_<name>`` attributes of a pdeops file, by name."""
        return {
            key.removeprefix("param_"): float(np.ravel(value)[0])
            for key, value in self.dataset.attrs.items()
            if key.startswith("param_") and np.issubdtype(np.asarray(value).dtype, np.number)
        }


def _provenance(attrs: dict[str, Any], command: str) -> dict[str, Any]:
    kept = {key: value for key, value in attrs.items() if key not in DROPPED_ATTRS and value is not None}
    history = kept.pop("history", "")
    if not isinstance(history, str):  # older rollout files stored their input frames as `history`
        kept.setdefault("input_frames", history)
        history = ""
    kept["history"] = f"{history}\n{history_line(command)}".lstrip()
    return kept


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


# --- The Well -------------------------------------------------------------------------------------------------------
def _vectors(source: _Source) -> tuple[list[str], dict[str, list[str]]]:
    """Scalar fields, and vectors ``{name: [name_x, name_y, ...]}`` whose every component is a field."""
    vectors: dict[str, list[str]] = {}
    for name in source.fields:
        base, _, suffix = name.rpartition("_")
        components = [f"{base}_{dim}" for dim in source.spatial]
        if base and suffix == source.spatial[0] and all(c in source.fields for c in components):
            vectors[base] = components
    taken = {c for components in vectors.values() for c in components}
    return [name for name in source.fields if name not in taken], vectors


def _write_well(source: _Source, root: Path, attrs: dict[str, Any], split: tuple[float, float, float]) -> None:
    from pdeops.data.datamodule import split_trajectories

    scalars, vectors = _vectors(source)
    name = source.path.stem
    ranges = split_trajectories(source.samples, split, path=str(source.path))
    for ours, theirs in WELL_SPLITS.items():
        folder = root / "data" / theirs
        folder.mkdir(parents=True)
        with h5py.File(folder / f"{name}.hdf5", "w") as f:
            _well_file(f, source, attrs, name, ranges[ours], scalars, vectors)
    _write_stats(root / "stats.yaml", source, ranges["train"], scalars, vectors)


def _well_file(
    f: h5py.File,
    source: _Source,
    attrs: dict[str, Any],
    name: str,
    samples: range,
    scalars: list[str],
    vectors: dict[str, list[str]],
) -> None:
    """One split of The Well's layout (see the module docstring)."""
    params = source.params()
    f.attrs.update(attrs)
    f.attrs.update(
        dataset_name=name,
        grid_type="cartesian",
        n_spatial_dims=len(source.spatial),
        n_trajectories=len(samples),
        simulation_parameters=list(params),
        **params,
    )
    dimensions = f.create_group("dimensions")
    dimensions.attrs["spatial_dims"] = list(source.spatial)
    for dim, time_varying in (("time", True), *((dim, False) for dim in source.spatial)):
        dimensions.create_dataset(dim, data=source.coordinate(dim))
        dimensions[dim].attrs.update(sample_varying=False, time_varying=time_varying)
    boundaries = f.create_group("boundary_conditions")
    if source.dataset.attrs.get("source_format") == "pdeops":  # every recipe is periodic
        for dim, size in zip(source.spatial, source.shape, strict=True):
            mask = np.zeros(size, dtype=bool)
            mask[[0, -1]] = True
            group = boundaries.create_group(f"{dim}_periodic")
            group.attrs.update(
                associated_dims=[dim], associated_fields=[], bc_type="PERIODIC", sample_varying=False,
                time_varying=False,
            )  # fmt: skip
            group.create_dataset("mask", data=mask)
    group = f.create_group("scalars")
    group.attrs["field_names"] = list(params)
    for key, value in params.items():
        group.create_dataset(key, data=np.array(value))
        group[key].attrs.update(sample_varying=False, time_varying=False)
    t0 = {**{n: [n] for n in scalars}, **{n: [n] for n in source.static}}
    none: dict[str, list[str]] = {}
    for order, fields in enumerate((t0, vectors, none)):
        group = f.create_group(f"t{order}_fields")
        group.attrs["field_names"] = list(fields)
        for field, components in fields.items():
            static = field in source.static
            frames = () if static else (source.frames,)
            dataset = group.create_dataset(
                field,
                shape=(len(samples), *frames, *source.shape, *(len(components),) * order),
                dtype=source.dataset[components[0]].dtype,
                chunks=(1, *(1,) * len(frames), *source.shape, *(len(components),) * order),
            )
            dataset.attrs.update(dim_varying=[True] * len(source.spatial), sample_varying=True, time_varying=not static)
            for i, sample in enumerate(samples):
                values = [source.trajectory(c, sample) for c in components]
                dataset[i] = np.stack(values, axis=-1) if order else values[0]


def _write_stats(
    path: Path, source: _Source, samples: range, scalars: list[str], vectors: dict[str, list[str]]
) -> None:
    """The Well's ``stats.yaml``: per field, the training split's mean, std, rms and those of one-step deltas."""
    import yaml

    fields = {**{n: [n] for n in scalars}, **vectors}
    stats: dict[str, dict[str, Any]] = {
        key: {} for key in ("mean", "std", "rms", "mean_delta", "std_delta", "rms_delta")
    }
    for field, components in fields.items():
        values: dict[str, list[float]] = {key: [] for key in stats}
        for component in components:
            moments = _Moments(), _Moments()
            for sample in samples:
                trajectory = source.trajectory(component, sample).astype(np.float64)
                moments[0].add(trajectory)
                moments[1].add(np.diff(trajectory, axis=0))
            for suffix, moment in zip(("", "_delta"), moments, strict=True):
                values["mean" + suffix].append(moment.mean)
                values["std" + suffix].append(moment.std)
                values["rms" + suffix].append(moment.rms)
        for key, numbers in values.items():
            stats[key][field] = numbers if field in vectors else numbers[0]
    path.write_text(yaml.safe_dump(stats, sort_keys=False))


class _Moments:
    """Running first and second moments of arrays, in float64."""

    def __init__(self) -> None:
        self.count, self.total, self.squares = 0, 0.0, 0.0

    def add(self, values: np.ndarray) -> None:
        self.count += values.size
        self.total += float(values.sum())
        self.squares += float(np.square(values).sum())

    @property
    def mean(self) -> float:
        return self.total / max(self.count, 1)

    @property
    def rms(self) -> float:
        return math.sqrt(self.squares / max(self.count, 1))

    @property
    def std(self) -> float:
        return math.sqrt(max(self.rms**2 - self.mean**2, 0.0))


# --- PDEBench -------------------------------------------------------------------------------------------------------
def _pdebench_layout(source: _Source) -> str:
    """``"fluids"``, ``"tensor"`` or ``"seeds"``: the layout PDEBench's loaders read for these fields."""
    if sorted(source.fields) == sorted(PDEBENCH_FLUIDS[: 2 + len(source.spatial)]):
        return "fluids"  # FNODatasetSingle reads density, pressure and one velocity per axis, all of them
    darcy = len(source.spatial) == 2 and "nu" in source.static  # its 2-D `tensor` branch reads `nu` beside it
    if len(source.fields) == 1 and (len(source.spatial) == 1 or darcy):
        return "tensor"
    return "seeds"


def _check_pdebench_name(out: Path, source: _Source, layout: str) -> None:
    """PDEBench's loaders choose the layout by the file name: refuse a name they would misread."""
    what = f"{source.path}'s fields {source.fields} on a {len(source.spatial)}-D grid"
    if layout == "seeds" and out.suffix != ".h5":
        raise DatasetError(
            f"{what} go to PDEBench's per-seed layout, which its FNODatasetMult opens as '<name>.h5' (and "
            f"FNODatasetSingle reads as per-seed only a name ending in 'h5'), so {out.name!r} would not be read. "
            f"Name the output {out.with_suffix('.h5').name}."
        )
    if layout != "seeds" and out.name.endswith("h5"):
        raise DatasetError(
            f"{what} go to PDEBench's flat layout ({'`tensor`' if layout == 'tensor' else 'the fluid fields'}), but "
            f"PDEBench's FNODatasetSingle reads a file whose name ends in 'h5' as per-seed groups, so "
            f"{out.name!r} would be misread. Name the output {out.with_suffix('.hdf5').name}."
        )


def _write_pdebench(source: _Source, out: Path, attrs: dict[str, Any], layout: str) -> None:
    with h5py.File(out, "w") as f:
        f.attrs.update(attrs)
        if layout == "seeds":
            _pdebench_seeds(f, source)
        else:
            _pdebench_flat(f, source)


def _time_edges(times: np.ndarray) -> np.ndarray:
    """PDEBench's ``t-coordinate``: the frame times and one more edge, a step after the last."""
    if times.size < 2:
        return times
    return np.append(times, times[-1] + (times[-1] - times[-2]))


def _pdebench_flat(f: h5py.File, source: _Source) -> None:
    """``tensor`` (or the fluid names), static fields, and the coordinate datasets."""
    names = (
        {n: n for n in source.fields} if set(source.fields) <= set(PDEBENCH_FLUIDS) else {source.fields[0]: "tensor"}
    )
    if "tensor" in names.values():
        f.attrs["field_name"] = source.fields[0]
    for field, stored in {**names, **{n: n for n in source.static}}.items():
        static = field in source.static
        frames = () if static else (source.frames,)
        dataset = f.create_dataset(
            stored,
            shape=(source.samples, *frames, *source.shape),
            dtype=source.dataset[field].dtype,
            chunks=(1, *(1,) * len(frames), *source.shape),
        )
        for sample in range(source.samples):
            dataset[sample] = source.trajectory(field, sample)
    for dim in source.spatial:
        f.create_dataset(f"{dim}-coordinate", data=source.coordinate(dim).astype(np.float32))
    f.create_dataset("t-coordinate", data=_time_edges(source.coordinate("time")).astype(np.float32))


def _pdebench_seeds(f: h5py.File, source: _Source) -> None:
    """Groups ``0000``, … each with ``data`` (time, *space, channel), the static fields (*space) and ``grid/``."""
    f.attrs["channels"] = list(source.fields)
    for sample, group in zip(range(source.samples), _seed_names(source.samples), strict=True):
        seed = f.create_group(group)
        seed.create_dataset("data", data=np.stack([source.trajectory(n, sample) for n in source.fields], axis=-1))
        for name in source.static:
            seed.create_dataset(name, data=source.trajectory(name, sample))
        for dim in source.spatial:
            seed.create_dataset(f"grid/{dim}", data=source.coordinate(dim).astype(np.float32))
        seed.create_dataset("grid/t", data=source.coordinate("time").astype(np.float32))


def _seed_names(count: int) -> Iterator[str]:
    width = max(4, len(str(count - 1)))
    return (f"{i:0{width}d}" for i in range(count))
