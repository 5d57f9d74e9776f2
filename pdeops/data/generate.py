"""Generate a dataset from a recipe into the native format: batched, atomic, resumable.

The native format is NetCDF-4-compatible HDF5 (written through h5netcdf, i.e. h5py with dimension scales), so
``xarray.open_dataset(path, engine="h5netcdf")`` and plain h5py both read it:

- one variable per field with dims ``(sample, time, x[, y])``, chunked one frame per chunk;
- coordinates ``time``, ``x``, ``y`` in physical units;
- root attributes recording everything needed to regenerate the file (the config as JSON among them), and
  ``samples_written``.

The file is built as ``<path>.partial`` and renamed to ``<path>`` when complete. An interrupted run leaves the
partial file with ``samples_written`` set after each batch; running the same command again resumes from there, and
since sample i always draws from its own generator and batches start at the same indices, the finished file is
bit-identical to an uninterrupted run's.
"""

import dataclasses
import datetime
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import h5netcdf
import h5py
import numpy as np
import torch
import xarray as xr

from pdeops import __version__
from pdeops.data._errors import DatasetError
from pdeops.data.recipes import GenerationConfig, Resolved, resolve
from pdeops.data.setups import build_setup, sample_generator
from solvers import Grid

FORMAT_VERSION = "1"


def _grid(r: Resolved, points: int) -> Grid:
    ndim = 1 if r.recipe.name.endswith("-1d") else 2
    return Grid((points,) * ndim, r.recipe.length, dtype=getattr(torch, r.config.dtype), device=r.config.device)


def _downsample(r: Resolved, solve_grid: Grid, fields: torch.Tensor) -> torch.Tensor:
    """Solve grid → storage grid, ``(..., *solve_shape) -> (..., *shape)``, by the config's method."""
    if r.solve_resolution == r.resolution:
        return fields
    if r.config.downsample == "stride":
        step = r.solve_resolution // r.resolution
        strided: tuple[Any, ...] = (..., *(slice(None, None, step),) * solve_grid.ndim)
        return fields[strided]
    if r.config.downsample == "bilinear":
        for axis in range(-solve_grid.ndim, 0):
            fields = _periodic_linear(fields, axis, r.resolution)
        return fields
    return solve_grid.resample(fields, (r.resolution,) * solve_grid.ndim)


def _periodic_linear(u: torch.Tensor, axis: int, points: int) -> torch.Tensor:
    """Linear interpolation along one periodic axis onto ``points`` equispaced points from 0 (same period)."""
    n = u.shape[axis]
    position = torch.arange(points, dtype=torch.float64, device=u.device) * (n / points)
    left = position.floor().long()
    weight = (position - left).to(u.dtype).reshape((-1,) + (1,) * (-axis - 1))
    below, above = u.index_select(axis, left % n), u.index_select(axis, (left + 1) % n)
    return below + weight * (above - below)


def _config_json(config: GenerationConfig) -> str:
    return json.dumps(dataclasses.asdict(config), sort_keys=True)


def _create(partial: Path, r: Resolved, samples: int, attrs: dict) -> None:
    """An empty native file for ``samples`` trajectories, with coordinates and attributes."""
    grid = _grid(r, r.resolution)
    dims = ("sample", "time", *"xy"[: grid.ndim])
    times = r.times
    with h5netcdf.File(partial, "w") as f:
        f.dimensions = {"sample": samples, "time": len(times), **dict.fromkeys(dims[2:], r.resolution)}
        f.create_variable("time", ("time",), data=torch.tensor(times, dtype=torch.float64).numpy())
        for name, coordinate in zip(dims[2:], grid.coordinates(), strict=True):
            f.create_variable(name, (name,), data=coordinate.cpu().double().numpy())
        chunks = (1, 1, *grid.shape)
        f.create_variable(r.recipe.field, dims, dtype=r.config.dtype, chunks=chunks)
    with h5py.File(partial, "a") as f:  # h5py stores Python strings as variable-length UTF-8, as NetCDF-4 reads
        f.attrs.update(attrs)
        f.attrs["samples_written"] = 0


def _attributes(r: Resolved, setup_attrs: dict) -> dict:
    return {
        "pdeops_format": FORMAT_VERSION,
        "recipe": r.recipe.name,
        "description": r.recipe.description,
        **setup_attrs,
        **{f"param_{k}": v for k, v in sorted(r.params.items())},
        "domain_length": r.recipe.length,
        "solver_scheme": "exact" if r.recipe.name == "convection-1d" else "rk4cn",
        "solver_dt": r.dt,
        "solve_resolution": r.solve_resolution,
        "resolution": r.resolution,
        "dealiasing": "2/3 rule",
        "downsampling": r.config.downsample,
        "horizon": r.horizon,
        "record_every": r.record_every,
        "seed": r.config.seed,
        "sample_seeds": "seed * 1000003 + sample index",
        "dtype": r.config.dtype,
        "config": _config_json(r.config),
        "pdeops_version": __version__,
        "torch_version": str(torch.__version__),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def generate(
    config: GenerationConfig,
    out: str | os.PathLike[str],
    *,
    batch_size: int = 16,
    overwrite: bool = False,
    shard: tuple[int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Generate ``config`` into ``out`` (resuming a partial run of the same config).

    Args:
        config: what to generate.
        out: the dataset file to write.
        batch_size: trajectories solved at once (memory vs speed; does not change the data).
        overwrite: replace an existing finished file at ``out``.
        shard: ``(i, n)``: write only part i of n (samples ``i·N//n`` to ``(i+1)·N//n − 1``, with the seeds they
            have in the whole dataset); ``merge_shards`` joins the parts.
        progress: called as ``progress(samples_done, samples_total)`` after each batch.

    Returns:
        The path of the finished file.
    """
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    if out.exists() and not overwrite:
        raise DatasetError(
            f"{out} already exists. Pass overwrite=True (--overwrite) to replace it, or choose another path; "
            "a finished dataset is never replaced silently."
        )
    r = resolve(config)
    first, stop = _shard_range(config.samples, shard)
    solve_grid = _grid(r, r.solve_resolution)
    setup = build_setup(r, solve_grid)
    done = _resume_point(partial, config, shard)
    if done == 0:
        out.parent.mkdir(parents=True, exist_ok=True)
        attrs = _attributes(r, setup.attrs)
        if shard is not None:
            attrs.update(shard=f"{shard[0]}/{shard[1]}", sample_offset=first)
        try:
            _create(partial, r, stop - first, attrs)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    for start in range(first + done, stop, batch_size):
        indices = range(start, min(start + batch_size, stop))
        u0 = torch.stack([setup.initial_condition(sample_generator(config.seed, i, config.device)) for i in indices])
        frames = _downsample(r, solve_grid, setup.solve(u0, r.times))
        if not bool(torch.isfinite(frames).all()):
            raise DatasetError(
                f"Samples {indices.start}-{indices.stop - 1} for {out} became NaN/Inf; reduce dt (now {r.dt})."
            )
        with h5py.File(partial, "a") as f:
            f[r.recipe.field][indices.start - first : indices.stop - first] = frames.cpu().numpy()
            f.attrs["samples_written"] = indices.stop - first
        if progress is not None:
            progress(indices.stop - first, stop - first)
    os.replace(partial, out)
    return out


def _shard_range(samples: int, shard: tuple[int, int] | None) -> tuple[int, int]:
    if shard is None:
        return 0, samples
    i, n = shard
    if not (0 <= i < n <= samples):
        raise ValueError(f"shard must be i/n with 0 <= i < n <= samples ({samples}), got {i}/{n}.")
    return i * samples // n, (i + 1) * samples // n


def merge_shards(paths: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str]) -> Path:
    """Join the finished shards ``i/n`` of one generation run into one dataset file (atomically).

    Raises:
        DatasetError: shards of different runs, a missing or repeated shard, or ``out`` exists.
    """
    out = Path(out)
    if out.exists():
        raise DatasetError(f"{out} already exists; choose another path for the merged dataset or delete it.")
    shards = {}
    for path in map(Path, paths):
        with h5py.File(path, "r") as f:
            if "shard" not in f.attrs:
                raise DatasetError(f"{path} is not a shard (no 'shard' attribute); generate it with --shard i/n.")
            i, n = (int(v) for v in str(f.attrs["shard"]).split("/"))
            shards[i] = (path, n, str(f.attrs["config"]))
    counts, configs = {n for _, n, _ in shards.values()}, {c for _, _, c in shards.values()}
    if len(counts) != 1 or len(configs) != 1:
        raise DatasetError("The shards come from different generation runs (their n or config differ).")
    (n,) = counts
    missing = sorted(set(range(n)) - set(shards))
    if missing or len(paths) != n:
        raise DatasetError(f"Cannot merge: missing shard(s) {missing} of {n} (or a shard given twice).")
    partial = out.with_name(out.name + ".partial")
    first_path = shards[0][0]
    with h5py.File(first_path, "r") as f:
        field = next(name for name, v in f.items() if v.ndim >= 3)
        total = sum(h5py.File(p, "r")[field].shape[0] for p, _, _ in shards.values())
    _copy_layout(first_path, partial, field, total)
    with h5py.File(partial, "a") as merged:
        offset = 0
        for i in range(n):
            with h5py.File(shards[i][0], "r") as f:
                count = f[field].shape[0]
                merged[field][offset : offset + count] = f[field][:]
                offset += count
        merged.attrs["samples_written"] = total
        for key in ("shard", "sample_offset"):
            del merged.attrs[key]
    os.replace(partial, out)
    return out


def _copy_layout(source: Path, target: Path, field: str, samples: int) -> None:
    """A native file like ``source`` with ``samples`` empty trajectories of ``field``."""
    with xr.open_dataset(source, engine="h5netcdf") as ds:
        empty = ds.drop_vars(field).assign(
            {field: (ds[field].dims, np.zeros((samples, *ds[field].shape[1:]), dtype=ds[field].dtype))}
        )
        encoding = {field: {"chunksizes": (1, 1, *ds[field].shape[2:])}}
        empty.to_netcdf(target, engine="h5netcdf", encoding=encoding)


def _resume_point(partial: Path, config: GenerationConfig, shard: tuple[int, int] | None) -> int:
    """Samples already in a partial file of the same config (0 if none); refuse one of another config."""
    if not partial.exists():
        return 0
    try:
        with h5py.File(partial, "r") as f:
            same = f.attrs.get("config") == _config_json(config) and f.attrs.get("shard") == (
                None if shard is None else f"{shard[0]}/{shard[1]}"
            )
            written = int(f.attrs.get("samples_written", 0))
    except OSError:
        partial.unlink()  # a partial file that cannot be opened holds nothing worth keeping
        return 0
    if not same:
        raise DatasetError(
            f"{partial} is an interrupted run of another configuration. Delete it to start afresh, or rerun the "
            "command that made it to finish it."
        )
    return written
