"""What ``pdeops info`` prints about a dataset file: provenance, sizes, statistics, completeness and checksums.

- ``describe(path)``: the whole report as text: format and size on disk; dimensions, coordinates and fields with
  their storage (chunks, filters, bytes on disk); completeness (a native file records ``samples_written``: an
  interrupted ``pdeops generate`` leaves a ``.partial`` file, which this describes rather than refuses); min, max,
  mean and std of every field; whether every fletcher32 checksum verifies; and every attribute, in full.
- ``field_statistics``: the statistics, read block by block (at most ``BLOCK_BYTES`` at a time), so a file larger
  than memory is never loaded at once. For a native file the same pass reads every chunk through h5py, so it also
  verifies each chunk's checksum and names the chunks that fail.

Statistics and checksums need every value read: ``describe`` reads files whose fields hold up to ``READ_LIMIT``
bytes, and larger ones only with ``verify=True`` (``pdeops info --verify``).
"""

import contextlib
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from pdeops.data._readers_native import samples_written
from pdeops.data.readers import open_dataset
from pdeops.data.recipes import format_bytes

BLOCK_BYTES = 64 * 2**20
"""The most bytes of a field read at once (whole samples, or frames of one sample if a sample is larger)."""
READ_LIMIT = 2 * 10**9
"""Fields up to this many bytes are read whole by default (statistics and checksums); larger ones with verify."""
CF_ENCODING = ("scale_factor", "add_offset", "_FillValue", "missing_value")
"""Attributes with which xarray's values differ from the stored ones (so they are read through xarray)."""


@dataclass
class FieldStatistics:
    """Running statistics of one field, merged block by block (Chan et al.'s parallel variance), in float64.

    Attributes:
        count: finite values seen.
        nonfinite: NaN and ±Inf values seen (left out of the rest).
        min, max, mean: of the finite values.
        m2: sum of squared deviations from the mean (``std = sqrt(m2 / count)``).
        bad_chunks: chunk origins (one index per axis) whose fletcher32 checksum fails; their values are left out.
        chunks: chunks read through h5py (0 when read through xarray, without checksums).
    """

    count: int = 0
    nonfinite: int = 0
    min: float = math.inf
    max: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0
    bad_chunks: list[tuple[int, ...]] = field(default_factory=list)
    chunks: int = 0

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count else math.nan

    def add(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)].astype(np.float64, copy=False)
        self.nonfinite += values.size - finite.size
        if not finite.size:
            return
        n, mean = finite.size, float(finite.mean())
        m2 = float(np.square(finite - mean).sum())
        total = self.count + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        self.min, self.max = min(self.min, float(finite.min())), max(self.max, float(finite.max()))


def blocks(shape: tuple[int, ...], itemsize: int, limit: int = BLOCK_BYTES) -> Iterator[tuple[slice, ...]]:
    """Slices of the leading axes covering an array of ``shape`` in blocks of at most ``limit`` bytes: several
    samples (axis 0) at a time, or frames (axis 1) of one sample when a sample is larger (never less than a frame)."""
    if not shape:
        yield ()
        return
    sample = math.prod(shape[1:]) * itemsize
    if sample <= limit or len(shape) == 1:
        step = max(1, limit // max(sample, 1))
        for i in range(0, shape[0], step):
            yield (slice(i, min(i + step, shape[0])),)
        return
    step = max(1, limit // max(math.prod(shape[2:]) * itemsize, 1))
    for i in range(shape[0]):
        for j in range(0, shape[1], step):
            yield slice(i, i + 1), slice(j, min(j + step, shape[1]))


def field_statistics(
    dataset: xr.Dataset, file: h5py.File | None = None, samples: int | None = None, *, limit: int = BLOCK_BYTES
) -> dict[str, FieldStatistics]:
    """Statistics of every data variable of ``dataset``, read block by block.

    Args:
        dataset: the file in the common view (``open_dataset``).
        file: the same file through h5py, if it is HDF5: variables stored there under the same name and shape
            (and without CF encoding) are read through it chunk by chunk, verifying their checksums.
        samples: read only the first ``samples`` along ``sample`` (a partial file's written ones); None: all.
        limit: the most bytes read at once (see ``blocks``).

    Returns:
        One ``FieldStatistics`` per variable.
    """
    result = {}
    for name, variable in dataset.data_vars.items():
        shape = tuple(variable.shape)
        if samples is not None and variable.dims[:1] == ("sample",):
            shape = (min(samples, shape[0]), *shape[1:])
        stored = file.get(str(name)) if file is not None else None
        direct = (
            isinstance(stored, h5py.Dataset)
            and stored.shape == variable.shape
            and not any(key in stored.attrs for key in CF_ENCODING)
        )
        stats = FieldStatistics()
        for block in blocks(shape, variable.dtype.itemsize, limit):
            if direct:
                _read_chunks(stored, block, stats)
            else:
                stats.add(np.asarray(variable.isel(dict(zip(variable.dims, block, strict=False))).values))
        result[str(name)] = stats
    return result


def _read_chunks(stored: h5py.Dataset, block: tuple[slice, ...], stats: FieldStatistics) -> None:
    """Read ``block`` of an HDF5 dataset into ``stats``; where a checksum fails, chunk by chunk, noting the bad."""
    selection = block + tuple(slice(0, n) for n in stored.shape[len(block) :])
    chunks = list(stored.iter_chunks(selection)) if stored.chunks else [selection]
    stats.chunks += len(chunks)
    try:
        stats.add(stored[selection])
        return
    except OSError:  # a fletcher32 mismatch (or a damaged chunk): find which
        pass
    for chunk in chunks:
        try:
            stats.add(stored[chunk])
        except OSError:
            stats.bad_chunks.append(tuple(s.start for s in chunk))


# --- the report ---------------------------------------------------------------------------------------------------
def describe(path: str | os.PathLike[str], *, format: str | None = None, verify: bool = False) -> str:
    """The report ``pdeops info`` prints (see the module docstring).

    Args:
        path: a dataset file of any supported format, or a native ``.partial`` file.
        format: as ``open_dataset``'s; None detects it.
        verify: read every value (statistics and checksums) whatever the file's size.

    Raises:
        DatasetError: as ``open_dataset``.
    """
    path = Path(path)
    written, total = _native_progress(path)
    if written is not None and total is not None and written < total:  # open_dataset refuses these: describe them
        dataset = xr.open_dataset(path, engine="h5netcdf")
        dataset.attrs["source_format"] = "pdeops"
    else:
        dataset = open_dataset(path, format=format)
    with dataset, _hdf5(path) as file:
        lines = [
            f"file        {path.resolve()}",
            f"format      {dataset.attrs.get('source_format', 'unknown')}",
            f"on disk     {format_bytes(_disk_size(path))}",
            f"complete    {_completeness(path, dataset, written, total)}",
            "",
            "dimensions  " + ", ".join(f"{name} {size}" for name, size in dataset.sizes.items()),
            *_coordinate_lines(dataset),
            *_field_lines(dataset, file),
            "",
            *_statistics_lines(dataset, file, written, verify),
            "",
            *_attribute_lines(dataset),
        ]
    return "\n".join(lines)


def _native_progress(path: Path) -> tuple[int | None, int | None]:
    """``(samples_written, samples)`` of a native file (None where not recorded or not native)."""
    if not (path.is_file() and h5py.is_hdf5(path)):
        return None, None
    try:
        with h5py.File(path, "r") as f:
            if "pdeops_format" not in f.attrs or "samples_written" not in f.attrs:
                return None, None
            fields = [item for item in f.values() if isinstance(item, h5py.Dataset) and item.ndim >= 3]
            return samples_written(path, f.attrs), (fields[0].shape[0] if fields else None)
    except OSError:
        return None, None  # open_dataset says what is wrong with it


def _hdf5(path: Path) -> Any:
    """The file through h5py (a context manager), or one yielding None for a file that is not HDF5."""
    return h5py.File(path, "r") if path.is_file() and h5py.is_hdf5(path) else contextlib.nullcontext()


def _disk_size(path: Path) -> int:
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size


def _completeness(path: Path, dataset: xr.Dataset, written: int | None, total: int | None) -> str:
    attrs = dataset.attrs
    shard = f"; shard {attrs['shard']} of a run (join the shards with `pdeops merge`)" if "shard" in attrs else ""
    if written is not None and total is not None:
        if written >= total:
            return f"yes: all {total} samples written{shard}"
        finished = path.name.removesuffix(".partial")
        which = {0: "none", 1: "sample 0"}.get(written, f"samples 0-{written - 1}")
        return (
            f"NO: {written} of {total} samples written ({which}; the rest read as zeros), by an interrupted or "
            f"failed `pdeops generate`. Rerun the command that made it: it resumes, and renames the file to "
            f"{finished} when complete{shard}"
        )
    if attrs.get("source_format") == "pdeops":
        return "yes: written whole, then renamed into place"
    return "not recorded by this format"


def _coordinate_lines(dataset: xr.Dataset) -> list[str]:
    lines = ["coordinates"]
    for name, coordinate in dataset.coords.items():
        values = np.asarray(coordinate.values)
        text = f"{values.size} values"
        if values.size and np.issubdtype(values.dtype, np.number):
            text += f", {values.min():.6g} to {values.max():.6g}"
            steps = np.diff(values.ravel())
            if steps.size and np.allclose(steps, steps[0], rtol=1e-4, atol=0):  # float32 coordinates too
                text += f", step {steps[0]:.6g}"
        units = coordinate.attrs.get("units")
        lines.append(f"  {name:<10} {text}" + (f", units {units}" if units else ""))
    return lines if len(lines) > 1 else ["coordinates none"]


def _field_lines(dataset: xr.Dataset, file: h5py.File | None) -> list[str]:
    lines = ["fields"]
    for name, variable in dataset.data_vars.items():
        dims = ", ".join(f"{dim} {size}" for dim, size in zip(variable.dims, variable.shape, strict=True))
        memory = variable.size * variable.dtype.itemsize
        line = f"  {name:<10} ({dims}) {variable.dtype}, {format_bytes(memory)} in memory"
        stored = file.get(str(name)) if file is not None else None
        if isinstance(stored, h5py.Dataset):
            filters = [stored.compression or "", "fletcher32" if stored.fletcher32 else "", "shuffle" * stored.shuffle]
            storage = f"chunks {stored.chunks}" if stored.chunks else "contiguous"
            storage += ", " + (", ".join(filter(None, filters)) or "no filters")
            line += f"; {storage}, {format_bytes(stored.id.get_storage_size())} on disk"
        lines.append(line)
    return lines


def _statistics_lines(dataset: xr.Dataset, file: h5py.File | None, written: int | None, verify: bool) -> list[str]:
    size = sum(variable.size * variable.dtype.itemsize for variable in dataset.data_vars.values())
    if size > READ_LIMIT and not verify:
        return [
            f"statistics  not computed: the fields hold {format_bytes(size)}, more than the {format_bytes(READ_LIMIT)} "
            "read by default. Pass --verify to read them all (statistics and checksums).",
            "checksums   not verified (see --verify)",
        ]
    start = time.perf_counter()
    partial = written is not None and written < dataset.sizes.get("sample", written)
    stats = field_statistics(dataset, file, written if partial else None)
    seconds = time.perf_counter() - start
    scope = f"the {written} written sample(s)" if partial else "every value"
    lines = [f"statistics  of {scope}, read in {seconds:.2g} s"]
    width = max(len(str(name)) for name in stats) if stats else 0
    lines.append(f"  {'':<{width}} {'min':>11} {'max':>11} {'mean':>11} {'std':>11}  non-finite")
    for name, s in stats.items():
        numbers = " ".join(f"{value:>11.4g}" for value in (s.min, s.max, s.mean, s.std))
        lines.append(f"  {name:<{width}} {numbers}  {s.nonfinite}")
    return [*lines, _checksum_line(dataset, file, stats)]


def _checksum_line(dataset: xr.Dataset, file: h5py.File | None, stats: dict[str, FieldStatistics]) -> str:
    if file is None:
        return "checksums   none: not an HDF5 file"
    checked = {name: s for name, s in stats.items() if isinstance(file.get(name), h5py.Dataset) and s.chunks}
    checked = {name: s for name, s in checked.items() if file[name].fletcher32}
    if not checked:
        return "checksums   none: the fields are stored without fletcher32 checksums"
    bad = {name: s.bad_chunks for name, s in checked.items() if s.bad_chunks}
    chunks = sum(s.chunks for s in checked.values())
    if not bad:
        return f"checksums   all {chunks} chunks verify (fletcher32: {', '.join(checked)})"
    where = "; ".join(f"{name} at {_chunk_names(dataset[name].dims, origins)}" for name, origins in bad.items())
    failed = sum(len(origins) for origins in bad.values())
    return (
        f"checksums   FAILED: {failed} of {chunks} chunks do not match their fletcher32 checksum ({where}); their "
        "values are left out of the statistics. The file is corrupt: regenerate or re-download it."
    )


def _chunk_names(dims: tuple[Any, ...], origins: list[tuple[int, ...]], shown: int = 5) -> str:
    named = []
    for origin in origins[:shown]:
        where = [f"{dim} {i}" for dim, i in zip(dims, origin, strict=True) if dim in ("sample", "time")]
        named.append(", ".join(where) or str(origin))
    more = f" and {len(origins) - shown} more" if len(origins) > shown else ""
    return "[" + "], [".join(named) + "]" + more


def _attribute_lines(dataset: xr.Dataset) -> list[str]:
    attrs = {key: value for key, value in dataset.attrs.items() if key not in ("source_format", "source_path")}
    width = max(map(len, attrs), default=0)
    lines = [f"attributes ({len(attrs)}, in full)"]
    lines += [f"  {key:<{width}}  {_attribute_text(value)}" for key, value in attrs.items()]
    return lines


def _attribute_text(value: Any, shown: int = 1000) -> str:
    if isinstance(value, np.ndarray):
        flat = value.ravel().tolist()
        text = " ".join(map(str, flat[:shown]))
        return text + (f" ... ({len(flat)} values)" if len(flat) > shown else "")
    return str(value)
