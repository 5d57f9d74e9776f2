"""Generate a dataset from a recipe into the native format: batched, atomic, resumable.

The native format is NetCDF-4-compatible HDF5 (written through h5netcdf, i.e. h5py with dimension scales), so
``xarray.open_dataset(path, engine="h5netcdf")`` and plain h5py both read it:

- one variable per field with dims ``(sample, time, x[, y])``, chunked one frame per chunk, each chunk with HDF5's
  fletcher32 checksum, so a flipped byte is an error on reading, never a wrong number; optionally compressed
  (``compression="gzip"`` or ``"lzf"``, chunk by chunk, so a frame still reads alone);
- coordinates ``time``, ``x``, ``y`` in the recipe's (nondimensional) units;
- CF-1.10 metadata: every variable has ``units`` and ``long_name``, coordinates have ``axis``, the file has
  ``Conventions``, ``title``, ``source`` and ``history`` (no ``standard_name``: CF's names are geophysical, e.g.
  ``atmosphere_relative_vorticity``, and none fits a nondimensional model flow);
- root attributes recording everything needed to regenerate the file (the config as JSON among them), and
  ``samples_written``.

The file is built as ``<path>.partial`` and renamed to ``<path>`` when complete. An interrupted run leaves the
partial file with ``samples_written`` set after each batch; running the same command again resumes from there, and
since sample i always draws from its own generator and batches start at the same indices, the finished file is
bit-identical to an uninterrupted run's. Readers refuse a file with fewer samples written than it holds. While a run
writes, ``<path>.lock`` (holding its pid) keeps a second run from writing the same file. Everything that can be
checked is checked before the first solve: the settings, that the output can be written, and that a batch fits in
memory.
"""

import contextlib
import dataclasses
import datetime
import json
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import h5netcdf
import h5py
import torch

from pdeops import __version__
from pdeops.data._errors import DatasetError
from pdeops.data.recipes import GenerationConfig, Resolved, resolve
from pdeops.data.setups import Setup, build_setup, sample_generator
from solvers import Grid

FORMAT_VERSION = "1"
CONVENTIONS = "CF-1.10"
COMPRESSIONS = ("gzip", "lzf")
"""``compression=`` values: gzip (level 4, with byte shuffling; every NetCDF-4 reader decodes it) or lzf (faster,
weaker; h5py and h5netcdf read it, the NetCDF-C library does not)."""
GZIP_LEVEL = 4

FIELD_LONG_NAMES = {
    "ns2d-fno": "vorticity",
    "ns2d-kolmogorov": "vorticity",
    "ns2d-decaying": "vorticity",
    "convection-1d": "convected scalar u",
    "burgers-1d": "velocity u",
    "convection-diffusion-2d": "passive scalar concentration c",
    "ns2d-pwc": "vorticity",
    "ns2d-sines": "vorticity",
}
"""Each recipe's stored field, as the CF ``long_name`` says it (the recipes are nondimensional: ``units = "1"``)."""
DERIVED_LONG_NAMES = {"velocity_x": "velocity, x component u", "velocity_y": "velocity, y component v"}
"""The CF ``long_name`` of each variable a recipe derives from its state (``Recipe.derived``)."""
COORDINATE_ATTRS = {
    "time": {"long_name": "time", "units": "1", "axis": "T"},
    "x": {"long_name": "x, first spatial coordinate", "units": "1", "axis": "X"},
    "y": {"long_name": "y, second spatial coordinate", "units": "1", "axis": "Y"},
}


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


def _create(partial: Path, r: Resolved, samples: int, attrs: dict, compression: str | None) -> None:
    """An empty native file for ``samples`` trajectories, with coordinates and attributes."""
    grid = _grid(r, r.resolution)
    dims = ("sample", "time", *"xy"[: grid.ndim])
    times = r.times
    with h5netcdf.File(partial, "w") as f:
        f.dimensions = {"sample": samples, "time": len(times), **dict.fromkeys(dims[2:], r.resolution)}
        f.create_variable("time", ("time",), data=torch.tensor(times, dtype=torch.float64).numpy())
        for name, coordinate in zip(dims[2:], grid.coordinates(), strict=True):
            f.create_variable(name, (name,), data=coordinate.cpu().double().numpy())
        for name in ("time", *dims[2:]):
            f.variables[name].attrs.update(COORDINATE_ATTRS[name])
        long_names = {r.recipe.field: FIELD_LONG_NAMES[r.recipe.name], **DERIVED_LONG_NAMES}
        for name in r.recipe.fields:
            field = f.create_variable(
                name, dims, dtype=r.config.dtype, chunks=(1, 1, *grid.shape), **field_storage(compression)
            )
            field.attrs.update({"long_name": long_names[name], "units": "1"})
    with h5py.File(partial, "a") as f:  # h5py stores Python strings as variable-length UTF-8, as NetCDF-4 reads
        f.attrs.update(attrs)
        f.attrs["samples_written"] = 0


def field_storage(compression: str | None) -> dict[str, Any]:
    """The storage keywords of a field variable: fletcher32 checksums, and ``compression`` (None, gzip or lzf)."""
    if compression is None:
        return {"fletcher32": True}
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be None, 'gzip' or 'lzf', got {compression!r}.")
    level = {"compression_opts": GZIP_LEVEL} if compression == "gzip" else {}
    return {"fletcher32": True, "compression": compression, "shuffle": True, **level}


def history_line(command: str) -> str:
    """One CF ``history`` line: the UTC time and the command."""
    return f"{datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')} {command}"


def _attributes(r: Resolved, setup_attrs: dict, compression: str | None, command: str) -> dict:
    return {
        "Conventions": CONVENTIONS,
        "title": f"{r.recipe.name}: {r.recipe.description}",
        "source": f"pdeops {__version__} reference spectral solver",
        "history": history_line(command),
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
        "compression": compression or "none",
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
    compression: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_frame: Callable[[float, float], None] | None = None,
    command: str | None = None,
) -> Path:
    """Generate ``config`` into ``out`` (resuming a partial run of the same config).

    Args:
        config: what to generate.
        out: the dataset file to write.
        batch_size: trajectories solved at once (memory vs speed; does not change the data).
        overwrite: replace an existing finished file at ``out``.
        shard: ``(i, n)``: write only part i of n (samples ``i·N//n`` to ``(i+1)·N//n − 1``, with the seeds they
            have in the whole dataset); ``merge_shards`` joins the parts.
        compression: None, ``"gzip"`` or ``"lzf"`` (see ``COMPRESSIONS``); it does not change the data, and a
            resumed run keeps the compression of the run it resumes.
        progress: called as ``progress(samples_written, samples_total)`` once before the first solve (with the
            samples a resumed run already holds) and after each batch is written.
        on_frame: called as ``on_frame(samples_simulated, time)`` after each stored frame of a batch:
            ``samples_simulated`` is the samples written before the batch plus the batch's size times the
            fraction of the horizon simulated (a float), ``time`` the simulated time. A progress bar moves with
            it during a long batch.
        command: the command recorded in the file's CF ``history`` (default: this Python call).

    Returns:
        The path of the finished file.
    """
    out = Path(out)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    field_storage(compression)  # checks the name before any work
    if out.is_dir():
        raise DatasetError(f"{out} is a directory; pass the path of the dataset file to write, e.g. {out}/data.h5.")
    if out.exists() and not overwrite:
        raise DatasetError(
            f"{out} already exists. Pass overwrite=True (--overwrite) to replace it, or choose another path; "
            "a finished dataset is never replaced silently."
        )
    r = resolve(config)
    first, stop = _shard_range(config.samples, shard)
    _require_memory(r, min(batch_size, stop - first))
    require_writable(out)
    command = command or f"pdeops.data.generate(GenerationConfig(recipe={config.recipe!r}, ...), {str(out)!r})"
    with exclusive_lock(out):
        return _generate(
            r, out, shard, batch_size=batch_size, overwrite=overwrite, compression=compression, command=command,
            progress=progress, on_frame=on_frame,
        )  # fmt: skip


def _generate(
    r: Resolved,
    out: Path,
    shard: tuple[int, int] | None,
    *,
    batch_size: int,
    overwrite: bool,
    compression: str | None,
    command: str,
    progress: Callable[[int, int], None] | None,
    on_frame: Callable[[float, float], None] | None,
) -> Path:
    """``generate`` once the settings are checked and the output is locked."""
    config, partial = r.config, out.with_name(out.name + ".partial")
    first, stop = _shard_range(config.samples, shard)
    solve_grid = _grid(r, r.solve_resolution)
    setup = build_setup(r, solve_grid)
    done = _resume_point(partial, config, shard, overwrite)
    if done == 0:
        attrs = _attributes(r, setup.attrs, compression, command)
        if shard is not None:
            attrs.update(shard=f"{shard[0]}/{shard[1]}", sample_offset=first)
        try:
            _create(partial, r, stop - first, attrs, compression)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    if progress is not None:
        progress(done, stop - first)
    for start in range(first + done, stop, batch_size):
        indices = range(start, min(start + batch_size, stop))
        u0 = torch.stack([setup.initial_condition(sample_generator(config.seed, i, config.device)) for i in indices])
        callback = None if on_frame is None else _frame_reporter(on_frame, start - first, len(indices), r.horizon)
        fields = _stored_fields(r, setup, solve_grid, setup.solve(u0, r.times, callback=callback))
        if not all(bool(torch.isfinite(frames).all()) for frames in fields.values()):
            raise DatasetError(
                f"Samples {indices.start}-{indices.stop - 1} for {out} became NaN/Inf; reduce dt (now {r.dt})."
            )
        with h5py.File(partial, "a") as f:
            for name, frames in fields.items():
                f[name][indices.start - first : indices.stop - first] = frames.cpu().numpy()
            f.attrs["samples_written"] = indices.stop - first
        if progress is not None:
            progress(indices.stop - first, stop - first)
    os.replace(partial, out)
    return out


def _stored_fields(r: Resolved, setup: Setup, solve_grid: Grid, states: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every stored variable of a batch on the storage grid: the solved ``states (B, T, *solve_shape)`` and the
    recipe's ``derived`` variables, computed on the solve grid (where they are exact) before downsampling."""
    fields = {r.recipe.field: states}
    if r.recipe.derived:
        if setup.derive is None:
            raise ValueError(f"Recipe {r.recipe.name!r} lists derived variables but its setup has no derive.")
        derived = setup.derive(states)
        fields.update({name: derived[name] for name in r.recipe.derived})
    return {name: _downsample(r, solve_grid, frames) for name, frames in fields.items()}


def _frame_reporter(
    on_frame: Callable[[float, float], None], written: int, batch: int, horizon: float
) -> Callable[[int, float], None]:
    """The solver's per-frame callback ``(i, t)`` as ``on_frame(samples simulated, t)`` for one batch."""

    def report(i: int, t: float) -> None:
        on_frame(written + batch * t / horizon, t)

    return report


def describe_run(config: GenerationConfig, batch_size: int) -> str:
    """One line saying what runs where: recipe, grids, steps, device, dtype and CPU threads."""
    r = resolve(config)
    ndim = 1 if r.recipe.name.endswith("-1d") else 2
    steps = round(r.horizon / r.dt)
    device = config.device
    if device.startswith("cuda") and torch.cuda.is_available():
        device = f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return (
        f"{r.recipe.name}: {config.samples} samples in batches of {batch_size}, solved at {r.solve_resolution}^{ndim} "
        f"and stored at {r.resolution}^{ndim}, {len(r.times)} frames to t = {r.horizon:g} ({steps} steps of dt "
        f"{r.dt:g}); device {device}, {config.dtype}, {torch.get_num_threads()} CPU threads"
    )


def command_line() -> str:
    """This process's command line, quoted as a shell would take it (for the ``history`` attribute)."""
    return shlex.join(["pdeops", *sys.argv[1:]])


def require_writable(out: Path) -> None:
    """Create ``out``'s folder if needed and check that a file can be written there, before any work is done."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = out.with_name(f".{out.name}.{os.getpid()}.probe")
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise DatasetError(
            f"Cannot write {out}: {error.strerror or error}. Choose a location you can write to (--out)."
        ) from None


@contextlib.contextmanager
def exclusive_lock(out: Path) -> Iterator[None]:
    """Hold ``<out>.lock`` (created exclusively, holding the pid) while writing ``out``.

    A lock left by a process that no longer runs (killed) is taken over.

    Raises:
        DatasetError: another running process holds the lock.
    """
    lock = out.with_name(out.name + ".lock")
    for _ in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            owner = _lock_owner(lock)
            if owner is not None and _running(owner):
                raise DatasetError(
                    f"Another process is writing {out} (pid {owner}). Wait for it to finish, or write elsewhere."
                ) from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(descriptor, "w") as file:
            file.write(str(os.getpid()))
        break
    else:
        raise DatasetError(f"Could not lock {out}: {lock} keeps reappearing; another process is writing it.")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _lock_owner(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip())
    except (OSError, ValueError):
        return None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


WORK_ARRAYS = 24
"""Arrays of the solve grid's size a solver holds per sample (stages, spectra, velocity, the stored frames): a
generous count, for the memory estimate."""


def _bytes_per_sample(r: Resolved) -> int:
    points = r.solve_resolution ** (1 if r.recipe.name.endswith("-1d") else 2)
    itemsize = 8 if r.config.dtype == "float64" else 4
    return points * itemsize * (WORK_ARRAYS + len(r.recipe.fields) * len(r.times))


DEFAULT_BATCH = 16
"""Trajectories solved at once on a CPU (larger batches gain little there and delay the first write)."""
GPU_MEMORY_SHARE = 0.5
"""Share of a GPU's free memory an automatic batch may fill (the estimate is generous, FFT plans need room)."""


def auto_batch_size(config: GenerationConfig, free_bytes: float | None = None) -> int:
    """The batch for ``config``: ``DEFAULT_BATCH`` on a CPU; on a GPU as many samples as fill ``GPU_MEMORY_SHARE``
    of its free memory (``free_bytes``, default: what CUDA reports now), never more than the samples."""
    r = resolve(config)
    if free_bytes is None:
        if not config.device.startswith("cuda"):
            return min(DEFAULT_BATCH, config.samples)
        free_bytes = float(torch.cuda.mem_get_info(torch.device(config.device))[0])
    return max(1, min(config.samples, int(GPU_MEMORY_SHARE * free_bytes // _bytes_per_sample(r))))


def _require_memory(r: Resolved, batch: int) -> None:
    """Refuse a batch whose solve obviously cannot fit in this machine's memory (an estimate, with its size)."""
    needed = batch * _bytes_per_sample(r)
    available = _physical_memory()
    if needed > available:
        raise DatasetError(
            f"Solving a batch of {batch} sample(s) at {r.solve_resolution} points per axis needs about "
            f"{needed / 2**30:.1f} GiB, more than this machine's {available / 2**30:.1f} GiB. Lower the resolution "
            "(--resolution, --solve-resolution) or --batch-size."
        )


def _physical_memory() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return float("inf")


def generate_on_devices(
    config: GenerationConfig,
    out: str | os.PathLike[str],
    devices: Sequence[str],
    *,
    batch_size: int | None = None,
    compression: str | None = None,
    command: str | None = None,
) -> Path:
    """Generate ``config`` with one process per device, each writing shard i/n, then merge the shards into ``out``.

    Shard i goes to ``<out>.shard<i>of<n>`` (resumable like any run: rerun the same call after an interruption);
    the shards are deleted once merged. The data equal a single-process run's to rounding, since sample i draws from
    its own generator wherever it is solved.

    Args:
        devices: e.g. ``["cuda:0", "cuda:1"]``; ``config.device`` is ignored.
        batch_size: per process; None: ``auto_batch_size`` on each device.
    """
    import multiprocessing

    out = Path(out)
    if out.exists():
        raise DatasetError(f"{out} already exists; choose another path or delete it.")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if not devices or len(devices) > config.samples:
        raise ValueError(f"devices must name 1 to {config.samples} (the samples) devices, got {list(devices)}.")
    require_writable(out)
    n = len(devices)
    shards = [out.with_name(f"{out.name}.shard{i}of{n}") for i in range(n)]
    jobs = [
        (dataclasses.replace(config, device=device), shard, (i, n), batch_size, compression, command)
        for i, (device, shard) in enumerate(zip(devices, shards, strict=True))
    ]
    context = multiprocessing.get_context("spawn")  # CUDA cannot be used in forked processes
    with context.Pool(n) as pool:
        for shard in pool.imap_unordered(_generate_shard, jobs):
            print(f"finished {shard}", file=sys.stderr, flush=True)
    merged = merge_shards(shards, out, command=command)
    for shard in shards:
        shard.unlink()
    return merged


def _generate_shard(job: tuple[GenerationConfig, Path, tuple[int, int], int | None, str | None, str | None]) -> Path:
    config, path, shard, batch_size, compression, command = job
    if path.exists():  # finished before an interruption of the whole run
        return path
    batch = auto_batch_size(config) if batch_size is None else batch_size
    return generate(config, path, batch_size=batch, shard=shard, compression=compression, command=command)


def _shard_range(samples: int, shard: tuple[int, int] | None) -> tuple[int, int]:
    if shard is None:
        return 0, samples
    i, n = shard
    if not (0 <= i < n <= samples):
        raise ValueError(f"shard must be i/n with 0 <= i < n <= samples ({samples}), got {i}/{n}.")
    return i * samples // n, (i + 1) * samples // n


def merge_shards(
    paths: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *, command: str | None = None
) -> Path:
    """Join the finished shards ``i/n`` of one generation run into one dataset file (atomically).

    The merged file keeps the shards' storage (chunks, checksums, compression) and metadata, and its ``history``
    gains a line for the merge (``command``, default this Python call).

    Raises:
        DatasetError: shards of different runs, a missing or repeated shard, or ``out`` exists.
    """
    out = Path(out)
    if out.exists():
        raise DatasetError(f"{out} already exists; choose another path for the merged dataset or delete it.")
    shards = {}
    for path in map(Path, paths):
        with _open_shard(path) as f:
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
    command = command or f"pdeops.data.merge_shards({[str(p) for p in paths]}, {str(out)!r})"
    partial = out.with_name(out.name + ".partial")
    first_path = shards[0][0]
    with h5py.File(first_path, "r") as f:
        fields = [name for name, v in f.items() if v.ndim >= 3]  # (sample, time, x[, y]): every stored variable
    total = 0
    for path, _, _ in shards.values():
        with h5py.File(path, "r") as f:
            total += f[fields[0]].shape[0]
    _copy_layout(first_path, partial, fields, total)
    with h5py.File(partial, "a") as merged:
        offset = 0
        for i in range(n):
            with h5py.File(shards[i][0], "r") as f:
                count = f[fields[0]].shape[0]
                for field in fields:
                    merged[field][offset : offset + count] = f[field][:]
                offset += count
        merged.attrs["samples_written"] = total
        for key in ("shard", "sample_offset"):
            del merged.attrs[key]
        merged.attrs["history"] = f"{merged.attrs.get('history', '')}\n{history_line(command)}".lstrip()
    os.replace(partial, out)
    return out


def _open_shard(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise DatasetError(
            f"{path} cannot be read as a shard of `pdeops generate --shard` (HDF5: {error}); pass the shard files "
            "the run wrote."
        ) from None


def _copy_layout(source: Path, target: Path, fields: Sequence[str], samples: int) -> None:
    """A native file like ``source`` (coordinates, attributes, storage as they are) with ``samples`` empty
    trajectories of each of ``fields``."""
    with h5netcdf.File(source, "r") as f, h5netcdf.File(target, "w") as merged:
        merged.dimensions = {**{name: len(dim) for name, dim in f.dimensions.items()}, "sample": samples}
        for name, variable in f.variables.items():
            if name not in fields:
                merged.create_variable(name, variable.dimensions, data=variable[...])
                merged.variables[name].attrs.update(dict(variable.attrs))
        for field in fields:
            stored = f.variables[field]
            compression = stored.compression  # None, gzip or lzf, as the shards were written
            merged.create_variable(
                field, stored.dimensions, dtype=stored.dtype, chunks=(1, 1, *stored.shape[2:]),
                **field_storage(compression),
            ).attrs.update(dict(stored.attrs))  # fmt: skip
    with h5py.File(source, "r") as f, h5py.File(target, "a") as merged:
        merged.attrs.update({key: f.attrs[key] for key in f.attrs if not key.startswith("_")})


def _resume_point(partial: Path, config: GenerationConfig, shard: tuple[int, int] | None, overwrite: bool) -> int:
    """Samples already in a partial file of the same config (0 if none); one of another config is replaced with
    ``overwrite`` and refused without it."""
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
    if not same and overwrite:
        partial.unlink()
        return 0
    if not same:
        raise DatasetError(
            f"{partial} is an interrupted run of another configuration (it may have failed, e.g. an unstable dt). "
            "Pass overwrite=True (--overwrite) to replace it and start afresh, or rerun the command that made it to "
            "finish it."
        )
    return written
