"""Datasets that span files: a directory or a glob pattern opened as one dataset, the files joined on ``sample``.

Layouts (each file read by its format's reader, every file in the same format):

- The Well: ``<dataset>/data/{train,valid,test}/*.hdf5``; pass the dataset folder, its ``data/`` folder or one split
  folder. The split folders give each trajectory its ``split``.
- PDEBench per-seed or sharded files (``ns_incom_inhom_2d_512-*.h5``), PDEArena's ``*_{train,valid,test}_*.h5``:
  a glob pattern or the folder holding them.
- A sharded ``pdeops generate --shard i/n`` run: its shards, put in shard order whatever their names.

Files are taken in natural order of their paths (``f2`` before ``f10``), split folders in the order train, valid,
test. The joined Dataset reads lazily from every file (`SampleConcat`) and closes them all when it is closed.
"""

import glob
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pdeops.data._errors import DatasetError, quoted
from pdeops.data._lazy import SampleConcat, lazy_variable, make_dataset

DATA_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5", ".nc", ".nc4", ".mat")
"""The files a directory is searched for; others (README, stats.yaml, ``*.partial`` of an unfinished run) are
skipped."""
SPLIT_FOLDERS = {"train": "train", "valid": "valid", "val": "valid", "validation": "valid", "test": "test"}
"""Folder names that give the split of the files in them, to the split label they give."""
GLOB_CHARACTERS = re.compile(r"[*?\[]")


def is_many(path: str) -> bool:
    """Whether ``path`` names several files: a directory, or a glob pattern that is not an existing file."""
    return Path(path).is_dir() or (bool(GLOB_CHARACTERS.search(path)) and not Path(path).exists())


def dataset_files(path: str) -> list[Path]:
    """The data files of a directory or glob pattern, in dataset order.

    A directory with split folders (``train/``, ``valid/``, ``test/``), or whose ``data/`` folder has them (The
    Well), gives the files of each split folder in that order; another directory gives the data files directly in
    it; a pattern gives the files it matches (``**`` reaches into subfolders).

    Raises:
        DatasetError: no data file is found, naming what was looked for.
    """
    root = Path(path)
    if not root.is_dir():
        files = [Path(name) for name in glob.glob(path, recursive=True) if Path(name).is_file()]
        if not files:
            raise DatasetError(
                f"The pattern {path} matches no file. Check the pattern (quote it, so that the shell does not "
                "expand it), or pass one file or a directory."
            )
        return sorted(files, key=_natural)
    for base in (root, root / "data"):
        splits = [base / name for name in SPLIT_FOLDERS if (base / name).is_dir()]
        if splits:
            return [file for folder in splits for file in _data_files(folder)]
    files = _data_files(root)
    if not files:
        found = quoted(sorted(item.name for item in root.iterdir())[:10])
        raise DatasetError(
            f"{root} holds no dataset file ({', '.join(DATA_SUFFIXES)}) and no train/valid/test folders (found: "
            f"{found}). Pass the folder that holds the files, a glob pattern such as '{root}/**/*.h5', or one file."
        )
    return files


def _data_files(folder: Path) -> list[Path]:
    files = [item for item in folder.iterdir() if item.is_file() and item.suffix.lower() in DATA_SUFFIXES]
    return sorted(files, key=_natural)


def _natural(path: Path) -> list[Any]:
    """A sort key that orders the numbers in a path by value: ``seed2`` before ``seed10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def folder_split(path: Path) -> str | None:
    """The split the file's folder names (``train``, ``valid`` or ``test``), or None."""
    return SPLIT_FOLDERS.get(path.parent.name.lower())


def open_many(files: Sequence[Path], open_one: Callable[[Path, str | None], xr.Dataset]) -> xr.Dataset:
    """Open every file and join them on ``sample``.

    Args:
        files: the files, in dataset order.
        open_one: opens one file given the format (None: detect it); the first file's format is given to the rest.

    Returns:
        The joined Dataset (see `join_samples`), attribute ``source_files`` listing the files in order.
    """
    datasets: list[xr.Dataset] = []
    try:
        for file in files:
            datasets.append(open_one(file, datasets[0].attrs["source_format"] if datasets else None))
        order = _shard_order(files, datasets)
        return join_samples([datasets[i] for i in order], [files[i] for i in order])
    except BaseException:
        for dataset in datasets:
            dataset.close()
        raise


def _shard_order(files: Sequence[Path], datasets: Sequence[xr.Dataset]) -> list[int]:
    """Shard order for the shards of one ``pdeops generate --shard i/n`` run (checking none is missing), else the
    given order."""
    shards = [str(dataset.attrs.get("shard", "")) for dataset in datasets]
    if not all(re.fullmatch(r"\d+/\d+", shard) for shard in shards):
        return list(range(len(files)))
    parts = [tuple(int(v) for v in shard.split("/")) for shard in shards]
    counts = {n for _, n in parts}
    configs = {str(dataset.attrs.get("config")) for dataset in datasets}
    if len(counts) > 1 or len(configs) > 1:
        raise DatasetError(
            f"The files {quoted(str(file) for file in files[:3])}... are shards of different generation runs (their "
            "shard counts or configs differ). Open the shards of one run together."
        )
    (n,) = counts
    missing = sorted(set(range(n)) - {i for i, _ in parts})
    if missing or len(parts) != n:
        raise DatasetError(
            f"The files are shards of one run of {n}, but shard(s) {missing or 'given twice'} of them are missing or "
            "repeated. Finish the missing shards (rerun `pdeops generate --shard i/n`) or remove the copies."
        )
    return sorted(range(len(parts)), key=lambda index: parts[index][0])


def join_samples(datasets: Sequence[xr.Dataset], files: Sequence[Path]) -> xr.Dataset:
    """Join same-layout Datasets on ``sample``, lazily.

    Variables with a leading ``sample`` dim are joined; variables without it are kept once when every file has the
    same values, else repeated per sample (a constant of each file, like The Well's per-file parameters, becomes a
    (sample, ...) variable). Coordinates along other dims must agree in every file; ``sample`` coordinates (like
    ``split``) are joined when every file has them. Attributes that differ between files are left out.

    Raises:
        DatasetError: a file lacks a variable of another, or its grid, time axis or shapes differ.
    """
    counts = [_sample_count(dataset, file) for dataset, file in zip(datasets, files, strict=True)]
    first = datasets[0]
    names = dict.fromkeys(str(name) for dataset in datasets for name in dataset.data_vars)  # first file's order
    data_vars: dict[str, xr.Variable] = {}
    for name in names:
        lacking = [file for dataset, file in zip(datasets, files, strict=True) if name not in dataset.data_vars]
        if lacking:
            holder = next(file for dataset, file in zip(datasets, files, strict=True) if name in dataset.data_vars)
            raise DatasetError(
                f"{holder} has the variable {name!r} but {lacking[0]} (and {len(lacking) - 1} other file(s)) does not: "
                "the files of one dataset hold the same variables. Open them separately, or leave the odd files out "
                "of the folder or pattern."
            )
        parts = [dataset[name].variable for dataset in datasets]
        data_vars[name] = _join_variable(name, parts, counts, files)
    coords = _join_coords(datasets, files)
    attrs = {key: value for key, value in first.attrs.items() if all(_same(value, d.attrs.get(key)) for d in datasets)}
    attrs["source_files"] = [str(file.resolve()) for file in files]
    joined = make_dataset(str(files[0].parent), data_vars, coords, attrs)

    def close() -> None:
        for dataset in datasets:
            dataset.close()

    joined.set_close(close)
    return joined


def _sample_count(dataset: xr.Dataset, file: Path) -> int:
    if "sample" not in dataset.sizes:
        raise DatasetError(
            f"{file} has no 'sample' dim (its dims: {quoted(str(dim) for dim in dataset.sizes)}), so it cannot be "
            "joined with the other files on trajectories. Leave it out of the folder or pattern."
        )
    return int(dataset.sizes["sample"])


def _join_variable(
    name: str, parts: Sequence[xr.Variable], counts: Sequence[int], files: Sequence[Path]
) -> xr.Variable:
    dims = tuple(str(dim) for dim in parts[0].dims)
    for part, file in zip(parts[1:], files[1:], strict=True):
        if tuple(map(str, part.dims)) != dims or (part.shape[1:] if "sample" in dims else part.shape) != (
            parts[0].shape[1:] if "sample" in dims else parts[0].shape
        ):
            raise DatasetError(
                f"Variable {name!r} is {dims} = {parts[0].shape} in {files[0]} but {part.dims} = {part.shape} in "
                f"{file}: the files of one dataset share one grid and one number of frames. Open them separately."
            )
    if dims[:1] == ("sample",):
        return lazy_variable(SampleConcat(parts), dims)
    if "sample" in dims:
        raise DatasetError(
            f"Variable {name!r} of {files[0]} has 'sample' as a later dim {dims}; put it first to join files."
        )
    values = [np.asarray(part.values) for part in parts]
    if all(_same(value, values[0]) for value in values[1:]):
        return parts[0]
    repeated = [np.broadcast_to(value, (count, *value.shape)) for value, count in zip(values, counts, strict=True)]
    return lazy_variable(SampleConcat(repeated), ("sample", *dims))


def _join_coords(datasets: Sequence[xr.Dataset], files: Sequence[Path]) -> dict[str, Any]:
    coords: dict[str, Any] = {}
    for name, coord in datasets[0].coords.items():
        others = [(dataset.coords.get(name), file) for dataset, file in zip(datasets[1:], files[1:], strict=True)]
        if coord.dims == ("sample",):
            if all(other is not None for other, _ in others):
                coords[str(name)] = ("sample", np.concatenate([np.asarray(d[name].values) for d in datasets]))
            continue
        for other, file in others:
            if other is None or not _same(np.asarray(other.values), np.asarray(coord.values)):
                raise DatasetError(
                    f"Coordinate {name!r} differs between {files[0]} and {file} (or is missing from one): the files "
                    "of one dataset share one grid and one time axis. Open them separately, or resample them first."
                )
        coords[str(name)] = coord.variable
    return coords


def _same(a: Any, b: Any) -> bool:
    """Equal values: numbers to a relative 1e-6 (files written apart round differently), others exactly."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "iufc" and b.dtype.kind in "iufc":
        return bool(np.allclose(a, b, rtol=1e-6, atol=0.0, equal_nan=True))
    return bool((a == b).all())
