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
  ``samples_written``; ``spinup`` is the simulated time each sample was integrated from its initial condition
  before frame 0 (at the solve resolution, with the stored frames' scheme and dt), whose end is ``time = 0``.

The file is built as ``<path>.partial`` and renamed to ``<path>`` when complete. An interrupted run leaves the
partial file with ``samples_written`` set after each batch; running the same command again resumes from there, and
since sample i always draws from its own generator and batches start at the same indices, the finished file is
bit-identical to an uninterrupted run's. Readers refuse a file with fewer samples written than it holds, and so
does ``merge_shards``. A write that fails (a full disk, a file-size limit) stops the run with a `DatasetError`: the
partial file keeps the samples written before, and is never renamed. While a run writes, it holds an OS lock on
``<path>.lock`` (which names its pid), so a second run cannot write the same file. Everything that can be checked is
checked before the first solve: the settings, that the output can be written (and replaced, if it exists), that a
batch fits in memory, and the first initial condition; a run that will take long says its estimated cost first.
"""

import contextlib
import dataclasses
import datetime
import json
import math
import os
import re
import shlex
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import h5netcdf
import h5py
import torch

from pdeops import __version__
from pdeops._lock import LockError, holder, try_lock
from pdeops._progress import Progress, duration
from pdeops.data._errors import DatasetError
from pdeops.data._readers_native import samples_written
from pdeops.data.recipes import GenerationConfig, Resolved, format_bytes, resolve
from pdeops.data.setups import Setup, build_setup, sample_generator, spun_up
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
    # h5py stores Python strings as variable-length UTF-8, as NetCDF-4 reads; the flush raises a failed write here
    with h5py.File(partial, "a", rdcc_nbytes=0) as f:
        f.attrs.update(attrs)
        f.attrs["samples_written"] = 0
        f.flush()


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
        "spinup": r.spinup,
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
            samples a resumed run already holds) and after each batch is written. With neither ``progress`` nor
            ``on_frame``, a `GenerationProgress` on stderr reports both (a bar in a terminal, lines in a log).
        on_frame: called as ``on_frame(samples_simulated, time)`` after each stored frame of a batch:
            ``samples_simulated`` is the samples written before the batch plus the batch's size times the
            fraction of the horizon simulated (a float), ``time`` the simulated time. A progress bar moves with
            it during a long batch.
        command: the command recorded in the file's CF ``history`` (default: this Python call).

    Returns:
        The path of the finished file.

    Raises:
        DatasetError: bad settings, an output that exists (without ``overwrite``) or is not a dataset file pdeops
            wrote, a run of another config or a live process holding the output, NaN/Inf in the solve, or a write
            that failed (the partial file is kept for a rerun to resume).
    """
    out = Path(out)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    field_storage(compression)  # checks the name before any work
    _require_replaceable(out, overwrite)
    r = resolve(config)
    _require_solvable(r)
    first, stop = _shard_range(config.samples, shard)
    _require_memory(r, min(batch_size, stop - first))
    require_writable(out)
    command = command or f"pdeops.data.generate(GenerationConfig(recipe={config.recipe!r}, ...), {str(out)!r})"
    reporter = None
    if progress is None and on_frame is None:
        reporter = GenerationProgress(f"generate {config.recipe}")
        progress, on_frame = reporter, reporter.frame
    try:
        with exclusive_lock(out):
            return _generate(
                r, out, shard, batch_size=batch_size, overwrite=overwrite, compression=compression, command=command,
                progress=progress, on_frame=on_frame,
            )  # fmt: skip
    finally:
        if reporter is not None:
            reporter.close()


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
    try:  # an initial condition the grid cannot hold (more modes than it resolves) fails here, before any file
        setup.initial_condition(sample_generator(config.seed, first, config.device))
    except ValueError as error:
        raise DatasetError(
            f"The initial condition of {r.recipe.name} cannot be drawn with these settings: {error} A solve grid too "
            f"coarse for it is the usual cause: raise --solve-resolution (now {r.solve_resolution}, the recipe's "
            f"default {r.recipe.solve_resolution})."
        ) from None
    done = _resume_point(partial, config, shard, overwrite)
    estimate = estimated_cost(r, stop - first - done, batch_size)
    if estimate is not None:
        print(f"generate {r.recipe.name}: {estimate}", file=sys.stderr, flush=True)
    if done == 0:
        attrs = _attributes(r, setup.attrs, compression, command)
        if shard is not None:
            attrs.update(shard=f"{shard[0]}/{shard[1]}", sample_offset=first)
        try:
            _create(partial, r, stop - first, attrs, compression)
        except BaseException as error:
            partial.unlink(missing_ok=True)
            if isinstance(error, OSError | RuntimeError):  # h5py's write errors
                raise DatasetError(
                    f"Cannot create {partial}: {_reason(error)}. Free space there, or choose another location "
                    f"(--out); the finished file needs about {format_bytes(_file_bytes(r, stop - first))}."
                ) from None
            raise
    if progress is not None:
        progress(done, stop - first)
    for start in range(first + done, stop, batch_size):
        indices = range(start, min(start + batch_size, stop))
        u0 = torch.stack([setup.initial_condition(sample_generator(config.seed, i, config.device)) for i in indices])
        report = None if on_frame is None else _FrameReporter(on_frame, start - first, len(indices), r)
        u0 = spun_up(r, setup, u0, callback=None if report is None else report.spinup)
        fields = _stored_fields(r, setup, solve_grid, setup.solve(u0, r.times, callback=report))
        if not all(bool(torch.isfinite(frames).all()) for frames in fields.values()):
            raise DatasetError(
                f"Samples {indices.start}-{indices.stop - 1} for {out} became NaN/Inf; reduce dt (now {r.dt})."
            )
        try:
            _write_batch(partial, fields, indices.start - first, indices.stop - first)
        except (OSError, RuntimeError) as error:  # h5py raises both for a failed write
            raise DatasetError(
                f"Writing samples {indices.start}-{indices.stop - 1} to {partial} failed: {_reason(error)}. The "
                f"{indices.start - first} sample(s) written before stay in {partial.name}, which is not renamed to "
                f"{out.name}. Make room (the finished file needs about "
                f"{format_bytes(_file_bytes(r, stop - first))}, uncompressed; `ulimit -f` may also cap a file's "
                "size), then rerun the same command: it resumes where it stopped."
            ) from None
        if progress is not None:
            progress(indices.stop - first, stop - first)
    _finish(partial, out, stop - first)
    return out


def _write_batch(partial: Path, fields: dict[str, torch.Tensor], start: int, stop: int) -> None:
    """Store trajectories ``start:stop`` of the file, ``fields`` ``{name: (stop - start, T, *shape)}``, then set
    ``samples_written = stop``, each step flushed to disk.

    HDF5's chunk cache is off (``rdcc_nbytes=0``) and the file is flushed before it is closed, so a failed write
    (a full disk, a file-size limit) raises here. With the cache on, the data would be written when the dataset
    object is freed, where h5py can only print the error: the run went on, renamed a file of zeros into place, and
    HDF5 crashed at exit on the file it could not close. ``samples_written`` is set only once the data are on disk.
    """
    with h5py.File(partial, "a", rdcc_nbytes=0) as f:
        for name, frames in fields.items():
            f[name][start:stop] = frames.cpu().numpy()
        f.flush()
        f.attrs["samples_written"] = stop
        f.flush()


def _finish(partial: Path, out: Path, samples: int) -> None:
    """Rename ``partial`` to ``out``, once it records all ``samples`` written (never a file with samples missing)."""
    with h5py.File(partial, "r") as f:
        written = samples_written(partial, f.attrs)
    if written != samples:
        raise DatasetError(
            f"{partial} records {written} of its {samples} samples written, so it is not renamed to {out.name}. "
            "Rerun the same command to finish it."
        )
    os.replace(partial, out)


def _reason(error: BaseException) -> str:
    """The cause of an I/O error in words: the OS's (``No space left on device``), else the message's first line.

    h5py does not always set ``errno``; HDF5's message then says it (``..., errno = 27, ...``)."""
    number = getattr(error, "errno", None)
    if not (isinstance(number, int) and number > 0):
        found = re.search(r"errno = (\d+)", str(error))
        number = int(found.group(1)) if found else None
    if number:
        return f"{os.strerror(number)} (errno {number})"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


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


class _FrameReporter:
    """The solver's per-frame callback ``(i, t)`` as ``on_frame(samples simulated, t)`` for one batch; its
    ``spinup`` is the callback of the batch's spin-up, reported at the negative times ``t - spinup`` (frame 0 is
    at 0). A batch's samples count as simulated in proportion to the time simulated, spin-up included."""

    def __init__(self, on_frame: Callable[[float, float], None], written: int, batch: int, r: Resolved) -> None:
        self.on_frame, self.written, self.batch = on_frame, written, batch
        self.spinup_time, self.total = r.spinup, r.spinup + r.horizon

    def __call__(self, i: int, t: float) -> None:
        self.on_frame(self.written + self.batch * (self.spinup_time + t) / self.total, t)

    def spinup(self, i: int, t: float) -> None:
        self.on_frame(self.written + self.batch * t / self.total, t - self.spinup_time)


def describe_run(config: GenerationConfig, batch_size: int) -> str:
    """One line saying what runs where: recipe, grids, steps, device, dtype and CPU threads."""
    r = resolve(config)
    ndim = 1 if r.recipe.name.endswith("-1d") else 2
    device = config.device
    if device.startswith("cuda") and torch.cuda.is_available():
        device = f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    spinup = f" after a spin-up of {r.spinup:g}" if r.spinup else ""
    return (
        f"{r.recipe.name}: {config.samples} samples in batches of {batch_size}, solved at {r.solve_resolution}^{ndim} "
        f"and stored at {r.resolution}^{ndim}, {_count(_frame_count(r))} frames to t = {r.horizon:g}{spinup} "
        f"({_count((r.spinup + r.horizon) / r.dt)} steps of dt {r.dt:g}); device {device}, {config.dtype}, "
        f"{torch.get_num_threads()} CPU threads"
    )


def _count(number: float) -> str:
    """A count of frames or steps in words: the whole number, or ``4e+300`` for one too large to list."""
    return str(round(number)) if number < 1e15 else f"{number:.3g}"


ESTIMATE_ABOVE_POINT_STEPS = 1e9
"""``generate`` times its solver (``pdeops.data.setups.probe_cost``, about a second) when the work left counts more
point-steps than this (a minute or more on one CPU core)..."""
ESTIMATE_ABOVE_SECONDS = 60.0
"""...and says the estimated cost when the probe puts the work left above this many seconds."""


def estimated_cost(r: Resolved, samples: int, batch_size: int) -> str | None:
    """One line with the measured cost of ``samples`` more samples of ``r`` on its device, or None for a short run.

    The counted work (solver steps x solve-grid points) decides whether to measure; a short solver probe
    (``probe_cost``) measures seconds per sample, and the line is given when the total passes
    ``ESTIMATE_ABOVE_SECONDS``. It refuses nothing: how long to compute is the user's choice.
    """
    if samples * r.solver_steps * r.grid_points < ESTIMATE_ABOVE_POINT_STEPS:
        return None
    from pdeops.data.setups import probe_cost

    probe = probe_cost(r, batch_size=batch_size)
    total = probe.seconds_per_sample * samples
    if total < ESTIMATE_ABOVE_SECONDS:
        return None
    return (
        f"estimated cost {duration(probe.seconds_per_sample)} per sample on {probe.device} ({probe.dtype}, batch "
        f"{probe.batch}, {probe.threads} torch thread(s)), about {duration(total)} for {samples} sample(s) "
        f"(measured over {probe.steps} solver step(s)); `pdeops generate {r.recipe.name} --help` shows what costs what"
    )


class GenerationProgress:
    """``generate``'s progress on stderr: a tqdm bar in a terminal, plain lines in a log file
    (``pdeops._progress.Progress``: at the start, every ``LOG_INTERVAL`` seconds, at the end, with an ETA).

    Opened on the first report (so errors before any work print nothing). The samples a resumed run already holds
    do not count towards its rate. Pass it as ``progress=`` and its ``frame`` as ``on_frame=`` (``generate`` does
    when given neither).
    """

    FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} {unit} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"

    def __init__(self, description: str) -> None:
        self.description = description
        self.bar: Any = None  # a tqdm bar in a terminal, else a Progress
        self.start = 0.0  # the samples held when the bar opened

    def __call__(self, done: float, total: int) -> None:
        """``done`` of ``total`` samples written."""
        if self.bar is None:
            self.start = done
            if sys.stderr.isatty():
                from tqdm import tqdm

                self.bar = tqdm(
                    total=total, initial=done, unit="sample", desc=self.description, bar_format=self.FORMAT,
                    smoothing=0,
                )  # fmt: skip
            else:
                resumed = f" (resumed with {done:g} of {total} written)" if done else ""
                self.bar = Progress(round(total - done), self.description + resumed, "sample")
        self._move(done)

    def frame(self, done: float, time: float) -> None:
        """``done`` samples simulated (a fraction within a batch), up to simulated time ``time``."""
        if self.bar is None:
            return
        if isinstance(self.bar, Progress):
            self.bar.note = f"t = {time:.4g}"
        else:
            self.bar.set_postfix_str(f"t = {time:.4g}", refresh=False)
        self._move(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def _move(self, done: float) -> None:
        if isinstance(self.bar, Progress):
            if done - self.start > self.bar.done:  # a batch's write after its last frame moves nothing
                self.bar.update(done - self.start - self.bar.done)
        else:
            self.bar.update(done - self.bar.n)


def command_line() -> str:
    """This process's command line, quoted as a shell would take it (for the ``history`` attribute)."""
    return shlex.join(["pdeops", *sys.argv[1:]])


def _require_replaceable(out: Path, overwrite: bool) -> None:
    """Refuse an ``out`` that exists, unless ``overwrite`` and it is a regular file that pdeops wrote."""
    if out.is_dir() and not out.is_symlink():
        raise DatasetError(f"{out} is a directory; pass the path of the dataset file to write, e.g. {out}/data.h5.")
    if not (out.exists() or out.is_symlink()):
        return
    mode = os.lstat(out).st_mode
    if not stat.S_ISREG(mode):
        raise DatasetError(
            f"{out} exists and is {_file_kind(mode)}, not a dataset file; generate replaces only a regular file it "
            "wrote (even with --overwrite). Choose another path (--out)."
        )
    if not overwrite:
        raise DatasetError(
            f"{out} already exists. Pass overwrite=True (--overwrite) to replace it, or choose another path; "
            "a finished dataset is never replaced silently."
        )
    if not _written_by_pdeops(out):
        raise DatasetError(
            f"{out} exists and is not a dataset pdeops wrote (no 'pdeops_format' attribute), so --overwrite does "
            "not replace it. Choose another path (--out), or delete it yourself if it is yours to lose."
        )


def _file_kind(mode: int) -> str:
    kinds = [
        (stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
    ]  # fmt: skip
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _written_by_pdeops(path: Path) -> bool:
    try:
        if not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as f:
            return "pdeops_format" in f.attrs
    except OSError:
        return False


MIN_SOLVE_RESOLUTION = 4
"""Fewest solve-grid points per axis of a stepped recipe: below it the 2/3 dealiasing rule keeps no Fourier mode
but the mean, so there is nothing to solve."""


def _require_solvable(r: Resolved) -> None:
    """Refuse a solve grid too coarse to solve on, before any file is made."""
    if r.recipe.scheme != "exact" and r.solve_resolution < MIN_SOLVE_RESOLUTION:
        raise DatasetError(
            f"solve_resolution {r.solve_resolution} is too coarse: on fewer than {MIN_SOLVE_RESOLUTION} points per "
            "axis the 2/3 dealiasing rule keeps no Fourier mode but the mean, so there is nothing to solve. Pass "
            f"--solve-resolution {MIN_SOLVE_RESOLUTION} or more (the recipe's default is "
            f"{r.recipe.solve_resolution}); the stored --resolution may stay below it."
        )


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
    """Hold ``<out>.lock`` while writing ``out``: pdeops's one file lock (``pdeops._lock``), which names the holder's
    pid and is deleted on release.

    The kernel holds the lock and lets it go when its process ends, however it ends, so a lock file left by a killed
    run is simply taken. Where the filesystem has no ``flock`` (e.g. Lustre mounted without it), the lock file is
    made with the pid already in it (a hard link of a written file, atomic), and one naming a process that no
    longer runs is taken over.

    Raises:
        DatasetError: another process holds the lock (the message names it, with its command line, and how to clear a
            stale lock), or the lock cannot be taken at all.
    """
    lock = out.with_name(out.name + ".lock")
    with contextlib.ExitStack() as stack:
        try:
            held = stack.enter_context(try_lock(lock))
        except LockError as error:
            if not error.supported:
                raise DatasetError(
                    f"Cannot lock {out}: {error.detail}. Write the dataset elsewhere (--out) and move it there when "
                    "finished."
                ) from None
            raise DatasetError(f"Could not lock {out}: {error.detail}.") from None
        if not held:
            raise DatasetError(
                f"{out} is being written by {holder(lock, command=True)}, which holds {lock}. Wait for it to finish, "
                f"or write elsewhere (--out). If no pdeops run is writing this file, delete {lock} and run again."
            )
        yield


WORK_ARRAYS = 24
"""Arrays of the solve grid's size a solver holds per sample (stages, spectra, velocity, the stored frames): a
generous count, for the memory estimate."""


def _frame_count(r: Resolved) -> float:
    """Stored frames per sample, counted without listing their times (so a huge horizon is refused, not listed)."""
    return r.horizon / r.record_every + 1


def _bytes_per_sample(r: Resolved) -> float:
    points = r.solve_resolution ** (1 if r.recipe.name.endswith("-1d") else 2)
    itemsize = 8 if r.config.dtype == "float64" else 4
    return points * itemsize * (WORK_ARRAYS + len(r.recipe.fields) * _frame_count(r))


def _file_bytes(r: Resolved, samples: int) -> float:
    """The stored fields' bytes, uncompressed, of ``samples`` samples."""
    itemsize = 8 if r.config.dtype == "float64" else 4
    points = r.resolution**r.recipe.spatial_dims
    return samples * len(r.recipe.fields) * _frame_count(r) * points * itemsize


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
        size = format_bytes(needed) if math.isfinite(needed) else "unbounded memory"
        raise DatasetError(
            f"Solving a batch of {batch} sample(s) at {r.solve_resolution} points per axis, with "
            f"{_count(_frame_count(r))} stored frames each (t = 0 to {r.horizon:g} every {r.record_every:g}), needs "
            f"about {size}, more than this machine's {format_bytes(available)}. Lower the "
            "resolution (--resolution, --solve-resolution), the frames (--horizon, --record-every) or --batch-size."
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
        DatasetError: shards of different runs, a missing, repeated or unfinished shard, or ``out`` exists.
    """
    out = Path(out)
    if out.exists():
        raise DatasetError(f"{out} already exists; choose another path for the merged dataset or delete it.")
    shards = {}
    for path in map(Path, paths):
        with _open_shard(path) as f:
            if "shard" not in f.attrs:
                raise DatasetError(f"{path} is not a shard (no 'shard' attribute); generate it with --shard i/n.")
            _require_finished_shard(path, f)
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
    try:
        _copy_layout(first_path, partial, fields, total)
        with h5py.File(partial, "a", rdcc_nbytes=0) as merged:  # no cache: a failed write raises (see _write_batch)
            offset = 0
            for i in range(n):
                with h5py.File(shards[i][0], "r") as f:
                    count = f[fields[0]].shape[0]
                    for field in fields:
                        merged[field][offset : offset + count] = f[field][:]
                    offset += count
            merged.flush()
            merged.attrs["samples_written"] = total
            for key in ("shard", "sample_offset"):
                del merged.attrs[key]
            merged.attrs["history"] = f"{merged.attrs.get('history', '')}\n{history_line(command)}".lstrip()
            merged.flush()
    except (OSError, RuntimeError) as error:
        partial.unlink(missing_ok=True)
        raise DatasetError(
            f"Writing the merged file {partial} failed: {_reason(error)}. It is removed (the shards are untouched); "
            "make room for it, then merge again."
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _finish(partial, out, total)
    return out


def _require_finished_shard(path: Path, f: h5py.File) -> None:
    """Refuse a shard whose run has not finished: a ``.partial`` file, or one with samples not yet written."""
    fields = [item for item in f.values() if isinstance(item, h5py.Dataset) and item.ndim >= 3]
    total = fields[0].shape[0] if fields else 0
    written = samples_written(path, f.attrs)
    if path.name.endswith(".partial") or written is None or written < total:
        history = str(f.attrs.get("history", "")).splitlines()
        command = history[0].partition(" ")[2] if history else ""
        made_by = f" (`{command}`)" if command else ""
        raise DatasetError(
            f"{path} is an unfinished shard: {written or 0} of its {total} samples are written, and merging it "
            f"would fill the rest with zeros. Finish it first: rerun the command that made it{made_by}, which "
            f"resumes where it stopped and renames it to {path.name.removesuffix('.partial')}; then merge the "
            "finished shards."
        )


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
            written = samples_written(partial, f.attrs) or 0
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
