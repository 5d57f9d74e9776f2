"""Data pipeline speed and memory.

1. Window throughput (samples/s) of ``WindowDataset`` (history 10 → 1, shuffled, batch 20) on a ≥ 1 GB native file:
   lazy and in-memory, with 0 and 2 DataLoader workers; against the training step rate of the FNO baseline
   (neuraloperator FNO, width 32, 16×16 modes, 64²) on the same batch. Target: loader ≥ 3 × the model.
2. Peak RSS of a fresh process reading random lazy windows from a 1 GB and a 4 GB file (must not grow with size).
3. Generation throughput (samples/s) of ``ns2d-fno`` stored at 64² (solved at 128², the recipe's dt).
4. Compression (``pdeops generate --compression``): size on disk and lazy random-window read speed of one generated
   ``ns2d-fno`` file (64², 21 frames) stored plain, gzip and lzf (the same chunks of one frame).

    python scripts/bench_data.py [--dir /tmp/pdeops-bench] [--sizes-gb 1 4] [--quick] [--compression-only]

Files are written once into ``--dir`` (random fields in the native layout; content does not affect I/O). Prints a
table and, last, one JSON line.
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5netcdf
import numpy as np
import torch
from neuralop.losses import LpLoss
from neuralop.models import FNO
from torch.utils.data import DataLoader

from pdeops.data import WindowDataset
from pdeops.data.generate import COMPRESSIONS, field_storage, generate
from pdeops.data.recipes import GenerationConfig

N, T, HISTORY, BATCH = 64, 51, 10, 20


def write_file(path: Path, gigabytes: float) -> Path:
    """A native-layout file of random float32 vorticity (sample, 51, 64, 64) of about ``gigabytes`` GB."""
    samples = math.ceil(gigabytes * 1e9 / (T * N * N * 4))
    if path.exists():
        return path
    partial = path.with_name(path.name + ".partial")
    rng = np.random.default_rng(0)
    with h5netcdf.File(partial, "w") as f:
        f.dimensions = {"sample": samples, "time": T, "x": N, "y": N}
        f.create_variable("time", ("time",), data=np.arange(T, dtype=np.float64))
        f.create_variable("x", ("x",), data=np.arange(N) / N)
        f.create_variable("y", ("y",), data=np.arange(N) / N)
        field = f.create_variable("vorticity", ("sample", "time", "x", "y"), dtype="float32", chunks=(1, 1, N, N))
        for start in range(0, samples, 64):
            stop = min(start + 64, samples)
            field[start:stop] = rng.standard_normal((stop - start, T, N, N), dtype=np.float32)
        f.attrs["pdeops_format"] = "1"
    partial.rename(path)
    return path


def loader_samples_per_s(path: Path, in_memory: bool, workers: int, batches: int) -> float:
    dataset = WindowDataset(path, history=HISTORY, horizon=1, in_memory=in_memory)
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=workers, generator=generator)
    iterator = iter(loader)
    next(iterator)  # worker start-up and file opening are not throughput
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * BATCH / (time.perf_counter() - start)


def model_samples_per_s(steps: int) -> float:
    network = FNO((16, 16), HISTORY, 1, 32)
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3)
    loss_fn = LpLoss(d=2, p=2, reduction="mean")
    x, y = torch.randn(BATCH, HISTORY, N, N), torch.randn(BATCH, 1, N, N)
    for i in range(steps + 2):
        if i == 2:
            start = time.perf_counter()
        loss = loss_fn(network(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return steps * BATCH / (time.perf_counter() - start)


# VmHWM, the peak RSS of this process image: getrusage's ru_maxrss would carry the parent's peak across fork+exec
# (the parent has just held a 1 GB file in memory).
RSS_PROBE = """
import re, sys, torch
from pdeops.data import WindowDataset
dataset = WindowDataset(sys.argv[1], history=10, horizon=1, in_memory=False)
generator = torch.Generator().manual_seed(0)
for index in torch.randint(len(dataset), (int(sys.argv[2]),), generator=generator).tolist():
    dataset[index]
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024)
"""


def peak_rss_mb(path: Path, reads: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(path), str(reads)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def generation_samples_per_s(samples: int) -> float:
    config = GenerationConfig(
        recipe="ns2d-fno", samples=samples, resolution=64, solve_resolution=128, horizon=1.0, record_every=1.0
    )
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        generate(config, Path(directory) / "g.h5", batch_size=samples)
        seconds = time.perf_counter() - start
    return samples / seconds


def compression_comparison(directory: Path, samples: int, reads: int) -> dict[str, dict[str, float]]:
    """Size and lazy read speed (windows/s, history 10 → 1) of one generated file, plain and compressed."""
    config = GenerationConfig(
        recipe="ns2d-fno", samples=samples, resolution=64, solve_resolution=64, horizon=20.0, record_every=1.0, dt=1e-3
    )
    plain = directory / f"compression_{samples}_none.h5"
    if not plain.exists():
        generate(config, plain, batch_size=samples)
    results = {}
    for compression in (None, *COMPRESSIONS):
        path = plain if compression is None else plain.with_name(plain.name.replace("none", compression))
        if not path.exists():
            _recompress(plain, path, compression)
        dataset = WindowDataset(path, history=HISTORY, horizon=1, in_memory=False)
        indices = torch.randint(len(dataset), (reads,), generator=torch.Generator().manual_seed(0)).tolist()
        dataset[indices[0]]  # file opening is not throughput
        start = time.perf_counter()
        for index in indices:
            dataset[index]
        results[compression or "none"] = {
            "mb": path.stat().st_size / 1e6,
            "windows_per_s": reads / (time.perf_counter() - start),
        }
    return results


def _recompress(source: Path, target: Path, compression: str) -> None:
    """A copy of a native file with its field variable stored with ``compression`` (same chunks, same metadata)."""
    import h5py

    partial = target.with_name(target.name + ".partial")
    with h5netcdf.File(source, "r") as f, h5netcdf.File(partial, "w") as out:
        out.dimensions = {name: len(dim) for name, dim in f.dimensions.items()}
        for name, variable in f.variables.items():
            storage = field_storage(compression) if variable.ndim >= 3 else {}
            chunks = (1, 1, *variable.shape[2:]) if variable.ndim >= 3 else None
            copy = out.create_variable(name, variable.dimensions, dtype=variable.dtype, chunks=chunks, **storage)
            copy[...] = variable[...]
            copy.attrs.update(dict(variable.attrs))
    with h5py.File(source, "r") as f, h5py.File(partial, "a") as out:
        out.attrs.update({key: f.attrs[key] for key in f.attrs if not key.startswith("_")})
        out.attrs["compression"] = compression
    partial.rename(target)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "pdeops-bench"))
    parser.add_argument("--sizes-gb", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument("--quick", action="store_true", help="fewer batches and reads (a smoke run)")
    parser.add_argument("--compression-only", action="store_true", help="run only the compression comparison (4.)")
    args = parser.parse_args(argv)
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    batches, reads = (10, 200) if args.quick else (50, 2000)
    compression = compression_comparison(directory, 8 if args.quick else 32, reads)
    print(f"{'compression':>12} {'MB':>8} {'windows/s':>10} {'read × plain':>13}")
    for name, row in compression.items():
        relative = row["windows_per_s"] / compression["none"]["windows_per_s"]
        print(f"{name:>12} {row['mb']:>8.2f} {row['windows_per_s']:>10.1f} {relative:>13.2f}")
    if args.compression_only:
        print(json.dumps({"benchmark": "data-compression", "compression": compression}))
        return
    files = {gb: write_file(directory / f"windows_{gb:g}gb.h5", gb) for gb in args.sizes_gb}
    first = files[args.sizes_gb[0]]
    loader = {
        f"{'memory' if memory else 'lazy'}_{workers}w": loader_samples_per_s(first, memory, workers, batches)
        for memory in (False, True)
        for workers in (0, 2)
    }
    model = model_samples_per_s(5 if args.quick else 20)
    rss = {f"{gb:g}GB": peak_rss_mb(path, reads) for gb, path in files.items()}
    generation = generation_samples_per_s(2 if args.quick else 8)
    print(
        f"# torch {torch.__version__}, threads {torch.get_num_threads()}, file {first.name} "
        f"({first.stat().st_size / 1e9:.2f} GB), batch {BATCH}, history {HISTORY}"
    )
    print(f"{'path':>12} {'samples/s':>10} {'× FNO step rate':>16}")
    for name, rate in loader.items():
        print(f"{name:>12} {rate:>10.1f} {rate / model:>16.1f}")
    print(f"{'FNO train':>12} {model:>10.1f}")
    for name, mb in rss.items():
        print(f"peak RSS, lazy random windows, {name} file: {mb:.0f} MB")
    print(f"generation ns2d-fno (64² stored, 128² solved, 1 time unit, dt 1e-4): {generation:.3f} samples/s")
    print(
        json.dumps(
            {
                "benchmark": "data",
                "loader_samples_per_s": {k: round(v, 1) for k, v in loader.items()},
                "fno_train_samples_per_s": round(model, 1),
                "min_loader_over_model": round(min(loader.values()) / model, 2),
                "target_ratio": 3.0,
                "peak_rss_mb": {k: round(v) for k, v in rss.items()},
                "generation_samples_per_s": round(generation, 4),
                "compression": compression,
            }
        )
    )


if __name__ == "__main__":
    main()
