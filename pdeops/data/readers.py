"""`open_dataset`: open any supported dataset, one file or many, as a lazy `xarray.Dataset` in our common view.

The common view: each physical field is a data variable with dims (sample, time, x[, y[, z]]);
vector fields are split into components (``velocity_x``, ``velocity_y`` or the file's own names,
like PDEBench ``Vx``); static per-sample fields have dims (sample, x[, y[, z]]); coordinates
``time``, ``x``, ``y`` are physical values where the file has them and absent otherwise; a ``split``
coordinate (sample,) of ``train``/``valid``/``test`` where the data has an official split. Root
attributes hold ``source_format``, ``source_path``, ``split_source`` (where the split comes from)
and the file's own attributes.

Each reader converts its format to this view at the edge; see the ``_readers_<name>`` modules. The pdeops format,
which any user's file may meet, is written down in ``docs/format.md``; directories and glob patterns are joined by
``_readers_multi``.
"""

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from pdeops.data import FORMATS
from pdeops.data._errors import DatasetError, quoted
from pdeops.data._lazy import python_attrs
from pdeops.data._readers_fno import read_fno_mat_v5, read_fno_mat_v73
from pdeops.data._readers_multi import dataset_files, folder_split, is_many, open_many
from pdeops.data._readers_native import (
    FORMAT_DOC,
    hdf5_problems,
    is_netcdf3,
    looks_native,
    read_native,
    samples_written,
)
from pdeops.data._readers_pdearena import SPLITS, read_pdearena
from pdeops.data._readers_pdebench import (
    FLAT_FIELDS,
    read_pdebench,
    read_pdebench_ns_incom,
    read_pdebench_seeds,
)
from pdeops.data._readers_poseidon import VARIABLES as POSEIDON_VARIABLES
from pdeops.data._readers_poseidon import read_poseidon
from pdeops.data._readers_well import FIELD_GROUPS, read_the_well

HDF5_READERS: dict[str, Callable[..., xr.Dataset]] = {
    "pdebench": read_pdebench,
    "pdebench-seeds": read_pdebench_seeds,
    "pdebench-ns-incom": read_pdebench_ns_incom,
    "fno-mat": read_fno_mat_v73,
    "the-well": read_the_well,
    "poseidon": read_poseidon,
    "pdearena": read_pdearena,
}
# pdeops.data.FORMATS names "pdeops" and these readers, in this order (tests/data/test_readers.py checks it).

FORMAT_OPTIONS = {"pdearena": "split", "poseidon": "transpose_xy"}
"""The keyword of `open_dataset` that only one format takes."""


_ASSUMED_FORMATS: ContextVar[Mapping[str, str] | None] = ContextVar("pdeops_assumed_formats", default=None)


@contextmanager
def assume_format(path: str | os.PathLike[str], format: str | None) -> Iterator[None]:
    """Inside the block, `open_dataset` reads ``path`` as ``format`` wherever it is called without ``format=``.

    This is how the command line's ``--format`` reaches library code that opens the data itself (evaluation,
    rollouts, refinement). ``format=None`` changes nothing (the format is detected).

    Raises:
        DatasetError: ``format`` is not one of `FORMATS`.
    """
    if format is None:
        yield
        return
    _check_format(Path(path), format)
    token = _ASSUMED_FORMATS.set({**(_ASSUMED_FORMATS.get() or {}), _key(path): format})
    try:
        yield
    finally:
        _ASSUMED_FORMATS.reset(token)


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(path))


def _check_format(path: Path, format: str) -> None:
    if format not in FORMATS:
        raise DatasetError(f"Unknown format {format!r} for {path}; use one of {quoted(FORMATS)} or None.")


def open_dataset(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    split: str | None = None,
    transpose_xy: bool | None = None,
) -> xr.Dataset:
    """Open a dataset of any supported format, lazily, in our common view: one file, or many joined on ``sample``.

    Data stays in the files and is read when indexed (except MATLAB v5 files, which scipy reads
    whole); the files stay open until the Dataset is closed (``ds.close()`` or ``with``).

    Args:
        path: a file; or a directory or glob pattern of files of one format, joined on ``sample`` (The Well's
            ``train/ valid/ test/`` folders, PDEBench's or PDEArena's per-seed files, a sharded run; see
            ``pdeops.data._readers_multi``).
        format: one of `FORMATS`; None: the format `assume_format` gives for this path, else detected from the
            contents.
        split: PDEArena only: the split (``train``, ``valid``, ``test``) to read; None reads the
            only one present.
        transpose_xy: Poseidon only: swap x and y; None swaps for ``NS-SL`` files, which Poseidon
            stores transposed.

    Returns:
        The Dataset: fields (sample, time, x[, y[, z]]), static fields (sample, x[, y[, z]]), a ``split``
        coordinate where the data has an official split, attributes ``source_format``, ``source_path`` and the
        file's own (for many files: those all files share, and ``source_files``).

    Raises:
        DatasetError: the file is missing, truncated or corrupt, of an unknown format, or lacks or misshapes the
            variables its format needs (a file meant as pdeops format: every missing dim, coordinate or attribute
            and how to add it); a directory or pattern holds no data file, or files that do not fit together.
    """
    text = os.fspath(path)
    format = format if format is not None else (_ASSUMED_FORMATS.get() or {}).get(_key(text))
    if format is not None:
        _check_format(Path(text), format)
    if is_many(text):
        dataset = open_many(
            dataset_files(text), lambda file, first: _open_file(file, format or first, split, transpose_xy)
        )
        dataset.attrs["source_path"] = _key(text)
        return dataset
    return _open_file(_existing_file(Path(text)), format, split, transpose_xy)


def _open_file(path: Path, format: str | None, split: str | None, transpose_xy: bool | None) -> xr.Dataset:
    """Open one file; a file in a ``train/``, ``valid/`` or ``test/`` folder gets that ``split``."""
    if h5py.is_hdf5(path):
        dataset = _read_hdf5(path, format, split, transpose_xy)
    elif is_netcdf3(path):
        dataset = _read_netcdf3(path, format, split, transpose_xy)
    else:
        dataset = _read_matlab_v5(path, format, split, transpose_xy)
    label = folder_split(path)
    if label is not None and "sample" in dataset.sizes:
        dataset.coords["split"] = ("sample", np.full(dataset.sizes["sample"], label))
        dataset.attrs["split_source"] = "the train/, valid/ and test/ folders the files are in"
    dataset.attrs["source_path"] = str(path.resolve())
    return dataset


def _existing_file(path: Path) -> Path:
    """``path`` if it is a file; else a `DatasetError` saying what to do."""
    if not path.is_file():
        raise DatasetError(
            f"Dataset file {path} does not exist. Check the path, or generate the dataset there with `pdeops generate`."
        )
    return path


def _open_hdf5(path: Path) -> h5py.File:
    """Open an HDF5 file for reading, reporting a truncated or corrupt one as a `DatasetError`."""
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise DatasetError(
            f"{path} is truncated or corrupt: HDF5 cannot open it ({error}). "
            "Regenerate it (`pdeops generate`) or re-download it."
        ) from None


def _format_options(path: Path, format: str, split: str | None, transpose_xy: bool | None) -> dict[str, Any]:
    """The format's own keyword, refusing those given for another format."""
    given = {name: value for name, value in (("split", split), ("transpose_xy", transpose_xy)) if value is not None}
    wrong = [name for name in given if FORMAT_OPTIONS.get(format) != name]
    if wrong:
        raise DatasetError(
            f"{path} is a {format!r} file, which takes no {quoted(wrong)} keyword: split= is for "
            "PDEArena files and transpose_xy= for Poseidon files. Leave it out."
        )
    return given


def _read_hdf5(path: Path, format: str | None, split: str | None, transpose_xy: bool | None) -> xr.Dataset:
    """Detect (unless given) and read an HDF5 file; the Dataset closes the file when it is closed."""
    file = _open_hdf5(path)
    try:
        format = format or _detect_hdf5_format(path, file)
        options = _format_options(path, format, split, transpose_xy)
        if format == "pdeops":
            _require_complete(path, file)
            file.close()
            dataset = read_native(path)
        else:
            dataset = HDF5_READERS[format](file, **options)
            dataset.attrs = {**python_attrs(file.attrs), **dataset.attrs}
            dataset.set_close(file.close)
    except BaseException:
        file.close()
        raise
    dataset.attrs["source_format"] = format
    return dataset


def _require_complete(path: Path, file: h5py.File) -> None:
    """Refuse a native file whose ``samples_written`` is below its sample count (an unfinished generation)."""
    written = samples_written(path, file.attrs)
    fields = [item for item in file.values() if isinstance(item, h5py.Dataset) and item.ndim >= 3]
    if written is None or not fields:
        return
    total = fields[0].shape[0]
    if written < total:
        finished = path.name.removesuffix(".partial")
        raise DatasetError(
            f"{path} is incomplete: {written} of its {total} trajectories were written, by an interrupted or "
            f"failed `pdeops generate`; the rest would read as zeros. Rerun the command that made it: it resumes "
            f"where it stopped and renames the file to {finished} when complete."
        )


def _read_netcdf3(path: Path, format: str | None, split: str | None, transpose_xy: bool | None) -> xr.Dataset:
    """Read a NetCDF-3 file, which only the pdeops format can be."""
    if format not in (None, "pdeops"):
        raise DatasetError(
            f"{path} is a NetCDF-3 file, not the HDF5 file the {format!r} format is. Pass format='pdeops' or leave "
            "format= out."
        )
    _format_options(path, "pdeops", split, transpose_xy)
    dataset = read_native(path)
    dataset.attrs["source_format"] = "pdeops"
    return dataset


def _read_matlab_v5(path: Path, format: str | None, split: str | None, transpose_xy: bool | None) -> xr.Dataset:
    """Read a file that is not HDF5, which can only be an FNO MATLAB v5 file."""
    format = format or _detect_other_format(path)
    if format != "fno-mat":
        raise DatasetError(
            f"{path} is not an HDF5 or NetCDF file, which the {format!r} format needs: it is truncated, corrupt "
            "or another kind of file. Check the path and format=, or regenerate or re-download it."
        )
    _format_options(path, format, split, transpose_xy)
    dataset = read_fno_mat_v5(path)
    dataset.attrs["source_format"] = format
    return dataset


def _detect_hdf5_format(path: Path, file: h5py.File) -> str:
    """The format of an HDF5 file, from its MATLAB header, root attributes and top-level keys."""
    keys = set(file.keys())
    checks = {
        "pdeops": looks_native(file),
        "fno-mat": _is_matlab(path),
        "the-well": "dimensions" in keys and bool(keys.intersection(FIELD_GROUPS)),
        "pdearena": bool(keys) and keys <= set(SPLITS),
        "pdebench-seeds": bool(keys) and all(key.isdigit() for key in keys),
        "pdebench-ns-incom": "velocity" in keys and bool(keys.intersection({"particles", "force"})),
        "pdebench": bool(keys.intersection(FLAT_FIELDS)),
        "poseidon": bool(keys.intersection(POSEIDON_VARIABLES)),
    }
    detected = next((format for format, matches in checks.items() if matches), None)
    if detected is None:
        problems = " ".join(f"({i}) {problem}" for i, problem in enumerate(hdf5_problems(file), start=1))
        raise DatasetError(
            f"Cannot tell the format of {path}: an HDF5 file with top-level keys {quoted(sorted(keys))}. "
            f"Supported formats: {quoted(FORMATS)}; pass format= (--format) if it is one of them. If it is your own "
            f"data, it does not meet the pdeops format ({FORMAT_DOC}): {problems}"
        )
    return detected


def _detect_other_format(path: Path) -> str:
    """``fno-mat`` for a MATLAB v5 file; a `DatasetError` for anything else that is not HDF5."""
    if _is_matlab(path) or path.suffix == ".mat":
        return "fno-mat"
    raise DatasetError(
        f"Cannot tell the format of {path}: it is neither an HDF5/NetCDF file nor a MATLAB .mat "
        f"file (it may also be truncated or corrupt). Supported formats: {quoted(FORMATS)}. "
        "Check the path, or regenerate or re-download the file."
    )


def _is_matlab(path: Path) -> bool:
    """Whether the file starts with a MATLAB header (v5, and v7.3 in its HDF5 user block)."""
    with path.open("rb") as stream:
        return stream.read(6) == b"MATLAB"
