"""Dataset generation: the native file, per-sample seeds, atomic and resumable writes, bad input."""

import dataclasses
import errno
import fcntl
import importlib
import math
import multiprocessing
import os
import re
import resource
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import torch
import xarray as xr

from pdeops import _progress as progress_module
from pdeops.cli import main
from pdeops.data import DatasetError, open_dataset
from pdeops.data.datasets import FrameReader, read_layout
from pdeops.data.generate import (
    WORK_ARRAYS,
    auto_batch_size,
    describe_run,
    exclusive_lock,
    generate,
    generate_on_devices,
    merge_shards,
)
from pdeops.data.recipes import RECIPES, GenerationConfig, resolve
from pdeops.data.setups import sample_generator
from solvers import Grid, NavierStokes2D, fno_forcing, gaussian_random_field

generate_module = importlib.import_module("pdeops.data.generate")  # not the function pdeops.data.generate

SMALL = dict(samples=3, resolution=16, solve_resolution=32, horizon=0.5, record_every=0.25, dt=5e-3)


def small(recipe: str = "ns2d-fno", **overrides) -> GenerationConfig:
    return GenerationConfig(recipe=recipe, **{**SMALL, **overrides})


def test_native_file_opens_in_xarray_and_h5py_with_its_metadata(tmp_path: Path) -> None:
    path = generate(small(), tmp_path / "fno.h5", batch_size=2)
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert ds["vorticity"].dims == ("sample", "time", "x", "y")
        assert ds["vorticity"].shape == (3, 3, 16, 16)
        np.testing.assert_allclose(ds["time"].values, [0.0, 0.25, 0.5])
        np.testing.assert_allclose(ds["x"].values, np.arange(16) / 16)
        assert ds.attrs["param_viscosity"] == 1e-3 and ds.attrs["samples_written"] == 3
        assert ds.attrs["solve_resolution"] == 32 and ds.attrs["downsampling"] == "spectral"
        assert GenerationConfig(**{**eval_config(ds.attrs["config"])}) == small()
    with h5py.File(path) as f:
        assert f["vorticity"].chunks == (1, 1, 16, 16)
        assert f["vorticity"].dtype == np.float32
    with open_dataset(path) as ds:
        assert ds.attrs["source_format"] == "pdeops"


def eval_config(text: str) -> dict:
    import json

    return json.loads(text)


def test_stored_frames_are_the_solver_trajectory_spectrally_truncated(tmp_path: Path) -> None:
    path = generate(small(dtype="float64", samples=2), tmp_path / "fno.h5")
    grid = Grid((32, 32), 1.0)
    sigma = math.sqrt(2) * 7.0**1.5
    w0 = torch.stack([gaussian_random_field(grid, 1, generator=sample_generator(0, i), sigma=sigma)[0] for i in (0, 1)])
    expected = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), dt=5e-3).solve(w0, [0.0, 0.25, 0.5])
    expected = grid.resample(expected, (16, 16))
    with h5py.File(path) as f:
        np.testing.assert_allclose(f["vorticity"][:], expected.numpy(), rtol=0, atol=1e-12)


def test_sample_i_does_not_depend_on_batching(tmp_path: Path) -> None:
    one = generate(small(), tmp_path / "a.h5", batch_size=1)
    three = generate(small(), tmp_path / "b.h5", batch_size=3)
    with h5py.File(one) as a, h5py.File(three) as b:
        np.testing.assert_allclose(a["vorticity"][:], b["vorticity"][:], rtol=0, atol=1e-6)


def test_interrupted_generation_resumes_to_a_bit_identical_file(tmp_path: Path) -> None:
    reference = generate(small(samples=5), tmp_path / "ref.h5", batch_size=2)

    class Interrupt(Exception):
        pass

    def stop_after_first_batch(done: int, total: int) -> None:
        if done == 2:
            raise Interrupt

    out = tmp_path / "run.h5"
    with pytest.raises(Interrupt):
        generate(small(samples=5), out, batch_size=2, progress=stop_after_first_batch)
    assert not out.exists() and (tmp_path / "run.h5.partial").exists()
    with h5py.File(tmp_path / "run.h5.partial") as f:
        assert f.attrs["samples_written"] == 2
    generate(small(samples=5), out, batch_size=2)
    assert not (tmp_path / "run.h5.partial").exists()
    with h5py.File(reference) as a, h5py.File(out) as b:
        assert np.array_equal(a["vorticity"][:], b["vorticity"][:])


def test_a_partial_file_of_another_configuration_is_not_resumed(tmp_path: Path) -> None:
    def interrupt(done: int, total: int) -> None:
        if done > 0:  # after the first batch is written (the call before any solve has done = 0)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(small(seed=1), tmp_path / "x.h5", batch_size=1, progress=interrupt)
    with pytest.raises(DatasetError, match="interrupted run of another configuration.*--overwrite"):
        generate(small(seed=2), tmp_path / "x.h5")
    # a run that can never finish must not block every rerun: --overwrite replaces its partial file
    generate(small(seed=2), tmp_path / "x.h5", overwrite=True)
    with h5py.File(tmp_path / "x.h5") as f:
        assert f.attrs["seed"] == 2 and f.attrs["samples_written"] == 3


def test_a_partial_file_is_refused_by_every_reader(tmp_path: Path) -> None:
    def interrupt(done: int, total: int) -> None:
        if done > 0:  # after the first batch is written (the call before any solve has done = 0)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(small(), tmp_path / "x.h5", batch_size=1, progress=interrupt)
    partial = tmp_path / "x.h5.partial"
    with pytest.raises(DatasetError, match=r"incomplete: 1 of its 3 trajectories.*renames the file to x.h5"):
        open_dataset(partial)
    generate(small(), tmp_path / "x.h5", batch_size=1)
    open_dataset(tmp_path / "x.h5").close()


def test_a_flipped_byte_in_a_finished_file_is_an_error_naming_where(tmp_path: Path) -> None:
    path = generate(small(), tmp_path / "x.h5")
    with h5py.File(path) as f:
        assert f["vorticity"].fletcher32
        offset = f["vorticity"].id.get_chunk_info_by_coord((1, 2, 0, 0)).byte_offset
    data = bytearray(path.read_bytes())
    data[offset + 17] ^= 0x40
    path.write_bytes(bytes(data))
    reader = FrameReader(read_layout(path))
    with pytest.raises(DatasetError, match=r"variable 'vorticity', sample 1, frames 0-2 cannot be read.*corrupt"):
        reader.read(1, 0, 3)
    assert reader.read(0, 0, 3).shape == (3, 1, 16, 16)  # the other samples still read


def test_a_second_writer_of_the_same_file_is_refused_with_the_holder_and_how_to_clear_it(tmp_path: Path) -> None:
    out, lock = tmp_path / "x.h5", tmp_path / "x.h5.lock"
    held = rf"x.h5 is being written by process {os.getpid()} .*If no pdeops run is writing this file, delete "
    # a run writing x.h5 (a lock belongs to an open file, so this process conflicts with itself)
    with exclusive_lock(out), pytest.raises(DatasetError, match=held + re.escape(str(lock))):
        generate(small(), out)
    assert not (tmp_path / "x.h5.partial").exists() and not lock.exists()
    lock.write_text(str(os.getppid()))  # left by a killed run, naming a live unrelated process: no one holds it
    generate(small(), out)
    assert not lock.exists()


def _no_flock(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(descriptor: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", refuse)


def test_without_flock_a_lock_file_names_its_pid_and_a_live_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_flock(monkeypatch)
    out, lock = tmp_path / "x.h5", tmp_path / "x.h5.lock"
    lock.write_text(str(os.getppid()))
    with pytest.raises(DatasetError, match=rf"process {os.getppid()}.*If no pdeops run is writing this file, delete"):
        generate(small(), out)
    lock.write_text("999999999")  # a process that no longer runs (killed): its lock is taken over
    generate(small(), out)
    assert not lock.exists()


def _contend(out: Path, barrier: Any, held: Any, trials: int) -> None:
    pid = os.getpid()

    def descheduled() -> int:  # a busy machine pauses a process between any two steps, e.g. making and filling a file
        time.sleep(0.005)
        return pid

    os.getpid = descheduled  # in this child process only
    for trial in range(trials):
        barrier.wait()
        try:
            with exclusive_lock(out):
                with held.get_lock():
                    held[trial] += 1
                barrier.wait()  # hold it until the other process has tried
        except DatasetError:
            barrier.wait()
        barrier.wait()  # released before the next trial


@pytest.mark.parametrize("flock", [True, False], ids=["flock", "hard-link"])
def test_two_processes_entering_together_never_both_hold_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flock: bool
) -> None:
    if not flock:
        _no_flock(monkeypatch)
    context = multiprocessing.get_context("fork")
    trials = 20
    barrier, held = context.Barrier(2), context.Array("i", trials)
    workers = [context.Process(target=_contend, args=(tmp_path / "x.h5", barrier, held, trials)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert list(held) == [1] * trials  # exactly one holder in each trial


MOUNT_SIZE = "64k"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 kB tmpfs (skipped where mounting is not permitted)."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={MOUNT_SIZE}", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


TOO_BIG = ["--samples", "8", "--resolution", "32", "--solve-resolution", "32", "--horizon", "0.5"]
TOO_BIG += ["--record-every", "0.25", "--dt", "5e-3", "--batch-size", "2"]  # 98 kB of fields


def test_a_full_disk_stops_the_run_keeping_the_partial_file(
    tiny_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tiny_disk / "d.h5"
    assert main(["generate", "ns2d-fno", *TOO_BIG, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "wrote" not in captured.out
    assert re.search(
        r"Writing samples \d+-\d+ to .*d.h5.partial failed: No space left on device \(errno 28\)\. The \d+ sample\(s\) "
        r"written before stay in d.h5.partial, which is not renamed to d.h5\..*rerun the same command",
        captured.err,
    )
    assert not out.exists() and (tiny_disk / "d.h5.partial").exists()


def test_a_file_size_limit_stops_the_run_keeping_the_partial_file(tmp_path: Path) -> None:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    out = tmp_path / "d.h5"
    argv = ["generate", "ns2d-fno", *TOO_BIG, "--out", str(out)]
    code = f"import sys; from pdeops.cli import main; sys.exit(main({argv!r}))"
    run = subprocess.run(
        [sys.executable, "-c", code], preexec_fn=limit, capture_output=True, text=True, timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert run.returncode == 2, run.stderr[-2000:]
    assert "failed: File too large (errno 27)" in run.stderr and "wrote" not in run.stdout
    assert not out.exists() and (tmp_path / "d.h5.partial").exists()


def test_what_can_be_checked_is_checked_before_any_solve(tmp_path: Path) -> None:
    for name in ("dt", "record_every", "horizon"):
        for value in (0.0, -1.0, math.nan):
            with pytest.raises(ValueError, match=rf"{name} must be a positive number"):
                small(**{name: value})
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        generate(small(), tmp_path / "x.h5", batch_size=0)
    with pytest.raises(DatasetError, match="is a directory"):
        generate(small(), tmp_path)
    with pytest.raises(DatasetError, match=r"needs about [0-9.e+]+ [kMGT]?B, more than this machine's"):
        generate(small(resolution=100_000, solve_resolution=100_000), tmp_path / "huge.h5")
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # a folder that cannot be made (as root too, who may write anywhere else)
    with pytest.raises(DatasetError, match="Cannot write .*a-file/x.h5.*Choose a location you can write to"):
        generate(small(), blocked / "x.h5")


def test_a_finished_dataset_is_never_clobbered(tmp_path: Path) -> None:
    path = generate(small(samples=1), tmp_path / "d.h5")
    before = path.read_bytes()
    with pytest.raises(DatasetError, match="already exists.*--overwrite"):
        generate(small(samples=1, seed=5), path)
    assert path.read_bytes() == before
    generate(small(samples=1, seed=5), path, overwrite=True)
    assert path.read_bytes() != before


def test_shards_merge_into_the_unsharded_dataset(tmp_path: Path) -> None:
    whole = generate(small(samples=5), tmp_path / "whole.h5", batch_size=2)
    shards = [generate(small(samples=5), tmp_path / f"s{i}.h5", batch_size=2, shard=(i, 3)) for i in range(3)]
    with h5py.File(shards[0]) as f:
        assert f["vorticity"].shape[0] == 1 and f.attrs["shard"] == "0/3"
    merged = merge_shards(shards, tmp_path / "merged.h5")
    with h5py.File(whole) as a, h5py.File(merged) as b:
        np.testing.assert_allclose(a["vorticity"][:], b["vorticity"][:], rtol=0, atol=1e-6)
        assert b.attrs["samples_written"] == 5
        assert b["vorticity"].fletcher32 and b["vorticity"].chunks == (1, 1, 16, 16)
        for key, value in a.attrs.items():  # the shards' attributes, scalars as scalars
            if key not in ("shard", "sample_offset", "created"):
                assert np.shape(b.attrs[key]) == np.shape(value), key
    with pytest.raises(DatasetError, match="missing shard"):
        merge_shards(shards[:2], tmp_path / "incomplete.h5")
    text = tmp_path / "notes.txt"
    text.write_text("not a shard")
    with pytest.raises(DatasetError, match="notes.txt cannot be read as a shard"):
        merge_shards([text], tmp_path / "from-text.h5")


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_every_recipe_generates_finite_data(tmp_path: Path, recipe: str) -> None:
    one_d = recipe.endswith("-1d")
    config = small(
        recipe,
        samples=2,
        resolution=32 if one_d else 16,
        solve_resolution=64 if one_d else 32,
        record_every=0.25,
        dt=1e-3,
        spinup=0.25,  # every recipe spins up (ns2d-kolmogorov's default of 20 would take 20,000 steps here)
    )
    path = generate(config, tmp_path / f"{recipe}.h5")
    with open_dataset(path) as ds:
        field = ds[RECIPES[recipe].field]
        assert field.dims == (("sample", "time", "x") if one_d else ("sample", "time", "x", "y"))
        assert np.isfinite(field.values).all() and float(np.abs(field.values).max()) > 0


@pytest.mark.parametrize("method", ["stride", "bilinear"])
def test_pointwise_downsampling_takes_the_coinciding_points(tmp_path: Path, method: str) -> None:
    spectral = generate(small(dtype="float64"), tmp_path / "s.h5")
    pointwise = generate(small(dtype="float64", downsample=method), tmp_path / f"{method}.h5")
    with h5py.File(spectral) as a, h5py.File(pointwise) as b:
        assert b.attrs["downsampling"] == method
        # The solve grid is twice as fine and aligned: both are the same field up to truncated small scales.
        diff = np.abs(a["vorticity"][:] - b["vorticity"][:]).max() / np.abs(a["vorticity"][:]).max()
        assert 0 < diff < 0.05


def test_bad_configurations_are_named() -> None:
    with pytest.raises(ValueError, match="Unknown recipe 'ns3d'"):
        GenerationConfig(recipe="ns3d")
    with pytest.raises(ValueError, match="has no parameter"):
        GenerationConfig(recipe="ns2d-fno", params={"beta": 1.0})
    with pytest.raises(ValueError, match="multiple of resolution"):
        generate(small(resolution=24, downsample="stride"), "unused.h5")


def test_the_file_carries_cf_metadata_and_its_history(tmp_path: Path) -> None:
    path = generate(small(), tmp_path / "cf.h5", command="pdeops generate ns2d-fno --samples 3")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert ds.attrs["Conventions"] == "CF-1.10"
        assert ds.attrs["history"].endswith(" pdeops generate ns2d-fno --samples 3")
        assert ds.attrs["recipe"] == "ns2d-fno" and "config" in ds.attrs  # the provenance stays
        for name in ("vorticity", "time", "x", "y"):
            assert ds[name].attrs["units"] == "1" and ds[name].attrs["long_name"], name
        assert [ds[name].attrs["axis"] for name in ("time", "x", "y")] == ["T", "X", "Y"]


@pytest.mark.parametrize("compression", ["gzip", "lzf"])
def test_compressed_files_read_the_same_and_merge_keeps_compression_and_metadata(
    tmp_path: Path, compression: str
) -> None:
    plain = generate(small(), tmp_path / "plain.h5")
    packed = generate(small(), tmp_path / "packed.h5", compression=compression)
    with h5py.File(plain) as a, h5py.File(packed) as b:
        assert b["vorticity"].compression == compression and b["vorticity"].chunks == (1, 1, 16, 16)
        assert b["vorticity"].fletcher32 and b.attrs["compression"] == compression
        assert np.array_equal(a["vorticity"][:], b["vorticity"][:])
    with open_dataset(packed) as ds:
        assert np.array_equal(ds["vorticity"].values, xr.open_dataset(plain, engine="h5netcdf")["vorticity"].values)
    assert FrameReader(read_layout(packed)).read(2, 0, 3).shape == (3, 1, 16, 16)
    shards = [
        generate(small(), tmp_path / f"s{i}.h5", shard=(i, 2), compression=compression, command=f"shard {i}")
        for i in range(2)
    ]
    merged = merge_shards(shards, tmp_path / "merged.h5", command="pdeops merge merged.h5 s0.h5 s1.h5")
    with h5py.File(merged) as f:
        assert f["vorticity"].compression == compression and f["vorticity"].fletcher32
    with xr.open_dataset(merged, engine="h5netcdf") as ds:
        assert ds["vorticity"].attrs["long_name"] == "vorticity" and ds["x"].attrs["axis"] == "X"
        assert ds.attrs["history"].splitlines()[0].endswith("shard 0")
        assert ds.attrs["history"].splitlines()[1].endswith("pdeops merge merged.h5 s0.h5 s1.h5")
    with pytest.raises(ValueError, match="compression must be None, 'gzip' or 'lzf', got 'zstd'"):
        generate(small(), tmp_path / "z.h5", compression="zstd")


def test_progress_moves_by_simulated_time_within_a_batch(tmp_path: Path) -> None:
    events: list[tuple[str, float, float]] = []
    generate(
        small(samples=3),
        tmp_path / "p.h5",
        batch_size=2,
        progress=lambda done, total: events.append(("written", done, total)),
        on_frame=lambda done, time: events.append(("frame", done, time)),
    )
    # before any solve; then frames t = 0, 0.25, 0.5 of batch [0, 2), its write; the same for batch [2, 3)
    assert events == [
        ("written", 0, 3),
        ("frame", 0.0, 0.0), ("frame", 1.0, 0.25), ("frame", 2.0, 0.5), ("written", 2, 3),
        ("frame", 2.0, 0.0), ("frame", 2.5, 0.25), ("frame", 3.0, 0.5), ("written", 3, 3),
    ]  # fmt: skip


def test_the_run_is_described_before_it_starts() -> None:
    line = describe_run(small(), batch_size=2)
    assert line.startswith("ns2d-fno: 3 samples in batches of 2, solved at 32^2 and stored at 16^2, 3 frames")
    assert "100 steps of dt 0.005" in line and f"device cpu, float32, {torch.get_num_threads()} CPU threads" in line


def test_one_process_per_device_writes_the_same_data_as_one_run(tmp_path: Path) -> None:
    """``--devices`` (here two CPU processes) shards, merges and cleans up: the file equals a single run's to
    float32 rounding (batch size and the worker processes' thread counts change the FFTs' rounding)."""
    config = GenerationConfig("ns2d-fno", samples=4, resolution=16, horizon=0.2, record_every=0.1, dt=1e-2)
    single = generate(config, tmp_path / "single.h5")
    merged = generate_on_devices(config, tmp_path / "merged.h5", ["cpu", "cpu"], batch_size=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged.h5", "single.h5"]  # shards removed
    with h5py.File(single) as a, h5py.File(merged) as b:
        expected = a["vorticity"][...]
        np.testing.assert_allclose(b["vorticity"][...], expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def test_the_automatic_batch_fills_half_the_free_gpu_memory() -> None:
    config = GenerationConfig("ns2d-fno", samples=1000, resolution=64, solve_resolution=256, device="cuda")
    r = resolve(config)
    per_sample = 256**2 * 4 * (WORK_ARRAYS + len(r.times))
    assert auto_batch_size(config, free_bytes=10 * per_sample) == 5
    assert auto_batch_size(config, free_bytes=1e15) == 1000 and auto_batch_size(config, free_bytes=1.0) == 1
    assert auto_batch_size(dataclasses.replace(config, device="cpu")) == 16


# --- recipes with several stored variables (Poseidon's velocity sets) ----------------------------------------------
def test_a_velocity_recipe_stores_the_vorticity_and_its_velocity(tmp_path: Path) -> None:
    config = small("ns2d-sines", dtype="float64", samples=2, record_every=0.05, horizon=0.1, dt=1e-3)
    path = generate(config, tmp_path / "sines.h5")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert [name for name in ds.data_vars] == ["vorticity", "velocity_x", "velocity_y"]
        assert ds["velocity_x"].attrs["long_name"] == "velocity, x component u"
        w, u, v = (torch.from_numpy(ds[name].values) for name in ("vorticity", "velocity_x", "velocity_y"))
    # Spectral truncation commutes with the (diagonal) velocity operator: the stored velocity is that of the stored
    # vorticity, and it is divergence-free with the stored vorticity as its curl.
    grid = Grid((16, 16), 1.0, dtype=torch.float64)
    expected_u, expected_v = grid.velocity(grid.rfft(w))
    torch.testing.assert_close(u, expected_u, rtol=0, atol=1e-12)
    torch.testing.assert_close(v, expected_v, rtol=0, atol=1e-12)
    assert float(grid.irfft(grid.divergence(grid.rfft(u), grid.rfft(v))).abs().max()) < 1e-10
    assert float(u.abs().max()) > 0.1
    layout = read_layout(path, ["velocity_x", "velocity_y"])
    assert layout.fields == ("velocity_x", "velocity_y")


def test_shards_of_a_velocity_recipe_merge_every_variable(tmp_path: Path) -> None:
    config = small("ns2d-pwc", samples=4, record_every=0.25, horizon=0.5)
    whole = generate(config, tmp_path / "whole.h5")
    shards = [generate(config, tmp_path / f"part{i}.h5", shard=(i, 2)) for i in range(2)]
    merged = merge_shards(shards, tmp_path / "merged.h5")
    with h5py.File(whole) as a, h5py.File(merged) as b:
        for name in ("vorticity", "velocity_x", "velocity_y"):
            assert b[name].shape == (4, 3, 16, 16) and np.array_equal(a[name][:], b[name][:]), name
            assert b[name].attrs["long_name"] == a[name].attrs["long_name"]


@pytest.mark.parametrize("recipe", ["ns2d-pwc", "ns2d-sines"])
def test_poseidon_recipes_record_their_spectral_viscosity_and_rebuild_it(recipe: str, tmp_path: Path) -> None:
    """The file records ν = 0.05/128 and the cutoff √128; the residual and the evaluation's solver rebuilt from its
    attributes carry the cutoff, and a file without it (an older pdeops) is refused by the evaluation."""
    from pdeops.data.recipes import SolverRebuildError, rebuild_resolved
    from pdeops.losses.physics import VorticityResidual

    assert RECIPES[recipe].params["viscosity"] == 0.05 / 128
    assert RECIPES[recipe].params["viscosity_cutoff"] == round(math.sqrt(128), 4) == 11.3137
    path = generate(small(recipe, samples=1, horizon=0.25), tmp_path / "poseidon.h5")
    with open_dataset(path) as ds:
        attrs = dict(ds.attrs)
    assert (attrs["param_viscosity"], attrs["param_viscosity_cutoff"]) == (3.90625e-4, 11.3137)
    assert "on modes |n| >= m (spectral viscosity)" in attrs["equation"]
    residual = VorticityResidual.from_attributes(attrs)
    assert residual.viscosity_cutoff == 11.3137
    linear = residual.solver(torch.zeros(1, 32, 32, dtype=torch.float64)).linear  # index = n on a 32² grid
    assert float(linear[11, 0]) == float(linear[8, 7]) == 0.0  # |n| = 11 and √113 < m: no viscosity
    assert float(linear[12, 0]) < 0 and float(linear[8, 8]) < 0  # |n| = 12 and 8√2 ≥ m
    assert rebuild_resolved(attrs, "poseidon.h5").params["viscosity_cutoff"] == 11.3137
    old = {key: value for key, value in attrs.items() if key != "param_viscosity_cutoff"}
    with pytest.raises(SolverRebuildError, match=r"param_viscosity_cutoff not recorded in the file, 11.3137 now"):
        rebuild_resolved(old, "old.h5")


def test_poseidon_initial_conditions_follow_their_formulas() -> None:
    from pdeops.data.setups import piecewise_constant_vorticity, sines_vorticity

    grid = Grid((20, 20), 1.0, dtype=torch.float64)
    w = piecewise_constant_vorticity(grid, torch.Generator().manual_seed(3), cells=10, amplitude=1.0)
    blocks = w.reshape(10, 2, 10, 2)
    assert torch.equal(blocks, blocks[:, :1, :, :1].expand_as(blocks))  # constant on each 2x2 square
    assert abs(float(w.mean())) < 1e-12 and 0.5 < float(w.abs().max()) < 2.0
    # One mode: u0 = a/√(4π) sin(2πx+β) sin(2πy+γ), v0 = a/√(4π) cos(2πx+β) cos(2πy+γ), so
    # ω0 = ∂x v0 − ∂y u0 = −4π a/√(4π) sin(2πx+β) cos(2πy+γ); a, β, γ are drawn in that order.
    generator = torch.Generator().manual_seed(5)
    a = -1 + 2 * torch.rand((1, 1), generator=generator, dtype=torch.float64)
    beta, gamma = (2 * math.pi * torch.rand((1, 1), generator=generator, dtype=torch.float64) for _ in range(2))
    x, y = grid.mesh()
    scale = -4 * math.pi * a / math.sqrt(4 * math.pi)
    expected = scale * torch.sin(2 * math.pi * x + beta) * torch.cos(2 * math.pi * y + gamma)
    w = sines_vorticity(grid, torch.Generator().manual_seed(5), modes=1, amplitude=1.0)
    torch.testing.assert_close(w, expected, rtol=0, atol=1e-10)


def test_merge_refuses_an_unfinished_shard_naming_how_to_finish_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupt(done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt

    first = generate(small(samples=5), tmp_path / "q0.h5", shard=(0, 2))
    with pytest.raises(KeyboardInterrupt):
        generate(small(samples=5), tmp_path / "q1.h5", shard=(1, 2), batch_size=1, progress=interrupt, command="RUN")
    partial = tmp_path / "q1.h5.partial"
    out = tmp_path / "out.h5"
    assert main(["merge", str(out), str(first), str(partial)]) == 2
    assert re.search(
        r"q1.h5.partial is an unfinished shard: 1 of its 3 samples are written.*rerun the command that made it "
        r"\(`RUN`\), which resumes where it stopped and renames it to q1.h5",
        capsys.readouterr().err,
    )
    renamed = partial.rename(tmp_path / "q1.h5")  # an unfinished shard by another name
    with pytest.raises(DatasetError, match="q1.h5 is an unfinished shard: 1 of its 3"):
        merge_shards([first, renamed], out)
    assert not out.exists() and not (tmp_path / "out.h5.partial").exists()


SMALL_ARGS = ["--samples", "2", "--resolution", "16", "--solve-resolution", "32", "--horizon", "0.5"]
SMALL_ARGS += ["--record-every", "0.25", "--dt", "5e-3"]


def test_a_huge_horizon_is_refused_before_its_frames_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "h.h5"
    assert main(["generate", "ns2d-fno", *SMALL_ARGS, "--horizon", "1e300", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "4e+300 frames to t = 1e+300" in err  # the run's description counts them without listing them
    assert re.search(r"with 4e\+300 stored frames each .* needs about .*Lower .*the frames \(--horizon", err)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("recipe", "points", "message"),
    [
        ("ns2d-fno", "2", r"solve_resolution 2 is too coarse: .*2/3 dealiasing rule .*--solve-resolution 4 or more"),
        ("ns2d-kolmogorov", "3", r"solve_resolution 3 is too coarse"),
        ("burgers-1d", "4", r"initial condition of burgers-1d cannot be drawn.*raise --solve-resolution \(now 4"),
    ],
)
def test_a_grid_too_coarse_to_solve_is_refused_before_any_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], recipe: str, points: str, message: str
) -> None:
    argv = ["generate", recipe, *SMALL_ARGS, "--resolution", points, "--solve-resolution", points]
    assert main([*argv, "--out", str(tmp_path / "c.h5")]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not list(tmp_path.iterdir())  # no .partial left behind


def test_overwrite_replaces_only_a_dataset_file_pdeops_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo, notes, folder, link = tmp_path / "pipe", tmp_path / "notes.txt", tmp_path / "folder", tmp_path / "link.h5"
    os.mkfifo(fifo)
    notes.write_text("mine")
    folder.mkdir()
    link.symlink_to(notes)
    cases = {
        fifo: "is a named pipe \\(FIFO\\), not a dataset file; generate replaces only a regular file",
        link: "is a symbolic link, not a dataset file",
        notes: "is not a dataset pdeops wrote \\(no 'pdeops_format' attribute\\), so --overwrite does not replace it",
        folder: "is a directory",
    }
    try:  # a device node, as root (a copy of /dev/null)
        device = tmp_path / "null"
        os.mknod(device, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        cases[device] = "is a character device, not a dataset file"
    except PermissionError:
        pass
    for path, message in cases.items():
        assert main(["generate", "ns2d-fno", *SMALL_ARGS, "--out", str(path), "--overwrite"]) == 2
        assert re.search(message, capsys.readouterr().err), path
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and notes.read_text() == "mine" and link.is_symlink()
    assert not list(tmp_path.glob("*.partial"))


def test_a_long_run_says_its_estimated_cost_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generate_module, "ESTIMATE_ABOVE_POINT_STEPS", 0)  # this tiny run counts as long
    monkeypatch.setattr(generate_module, "ESTIMATE_ABOVE_SECONDS", 0.0)
    assert main(["generate", "ns2d-fno", *SMALL_ARGS, "--out", str(tmp_path / "e.h5")]) == 0
    assert re.search(
        r"generate ns2d-fno: estimated cost [0-9.e-]+ s per sample on cpu \(float32, batch 2, \d+ torch thread\(s\)\), "
        r"about [0-9.e-]+ s for 2 sample\(s\)",
        capsys.readouterr().err,
    )


def test_progress_in_a_log_is_plain_lines_with_the_count_and_time_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress_module, "LOG_INTERVAL", 0.0)  # a line at every report
    out = tmp_path / "log.h5"
    with pytest.raises(KeyboardInterrupt):  # a resumed run's progress starts from what it holds
        generate(small(), out, batch_size=1, progress=lambda done, total: _stop_after_one(done))
    assert main(["generate", "ns2d-fno", *SMALL_ARGS, "--samples", "3", "--batch-size", "1", "--out", str(out)]) == 0
    err = capsys.readouterr().err  # stderr is not a terminal here, as in a log file
    assert "\r" not in err and "%|" not in err  # no redrawn bar
    assert "generate ns2d-fno (resumed with 1 of 3 written): 0/2 samples after" in err
    assert re.search(r": 1/2 samples after [0-9.]+ s, about [0-9.]+ s left", err)
    assert re.search(r": 2/2 samples after [0-9.]+ s\n", err)


def _stop_after_one(done: int) -> None:
    if done > 0:
        raise KeyboardInterrupt
