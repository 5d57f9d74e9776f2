"""Navier–Stokes step time against the floor set by the FFTs the step must do.

One ``rk4cn`` step has 5 stages; each stage transforms 4 fields back (u, v, ∂x ω, ∂y ω) and 1 forward (the
advection term). The floor is those transforms timed alone, in the same process, sampled round-robin with the step
(step, floor, step, floor, …); we report medians. Two floors are timed: the transforms as our step issues them
(one batched irfft2 of the 4 fields + one rfft2) and as 4 separate irfft2 + 1 rfft2 calls (BENCHMARKING.md's
definition); the ratio uses the faster of the two.

    python scripts/bench_solver.py [--device cuda] [--sizes 64 128 256 512] [--batches 1 16] [--malloc default]

Prints a table and, last, one JSON line with every ratio.
"""

import argparse
import ctypes
import json
import platform
import statistics
import sys
import time

import torch

from solvers import Grid, NavierStokes2D, fno_forcing, gaussian_random_field

STAGES = 5  # rk4cn (Carpenter–Kennedy) stages per step


def keep_freed_memory() -> bool:
    """glibc: never return freed memory to the OS (page faults are slow on this VM, see BENCHMARKING.md)."""
    if platform.system() != "Linux":
        return False
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeats: int) -> float:
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync(device)
    return (time.perf_counter() - start) / repeats


def bench_case(n: int, batch: int, dtype: torch.dtype, device: torch.device, rounds: int) -> dict:
    grid = Grid((n, n), 1.0, dtype=dtype, device=device)
    ns = NavierStokes2D(grid, viscosity=1e-4, forcing=fno_forcing(grid), dt=1e-4)
    w0 = gaussian_random_field(grid, batch, generator=torch.Generator(device).manual_seed(0))
    w_hat = grid.rfft(w0)
    stepper = ns.stepper(1e-4)
    four = torch.randn((batch, 4, *grid.spectral_shape), dtype=grid.complex_dtype, device=device)
    one = torch.randn((batch, n, n), dtype=dtype, device=device)

    state = {"w": w_hat}

    def step():
        state["w"] = stepper(state["w"], 0.0)

    def floor_batched():
        for _ in range(STAGES):
            grid.irfft(four)
            grid.rfft(one)

    def floor_separate():
        for _ in range(STAGES):
            for i in range(4):
                grid.irfft(four[:, i])
            grid.rfft(one)

    candidates = {"step": step, "floor_batched": floor_batched, "floor_separate": floor_separate}
    # Repeats per sample: enough for ~50 ms of work, measured on a warm-up call.
    for fn in candidates.values():
        fn()
    warm = timed(step, device, 1)
    repeats = max(1, min(200, int(0.05 / max(warm, 1e-6))))
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            samples[name].append(timed(fn, device, repeats))
    median = {name: statistics.median(values) for name, values in samples.items()}
    spread = {name: (max(v) - min(v)) / statistics.median(v) for name, v in samples.items()}
    floor = min(median["floor_batched"], median["floor_separate"])
    return {
        "n": n,
        "batch": batch,
        "dtype": str(dtype).removeprefix("torch."),
        "step_ms": 1e3 * median["step"],
        "floor_batched_ms": 1e3 * median["floor_batched"],
        "floor_separate_ms": 1e3 * median["floor_separate"],
        "ratio": median["step"] / floor,
        "spread": max(spread.values()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--malloc",
        choices=["keep", "default"],
        default="keep",
        help="'keep': mallopt so glibc keeps freed memory (default); 'default': glibc as shipped",
    )
    args = parser.parse_args(argv)
    malloc_mode = "keep-freed (mallopt)" if args.malloc == "keep" and keep_freed_memory() else "glibc default"
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(
        f"# device {device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"malloc {malloc_mode}"
    )
    print(f"{'N':>5} {'B':>3} {'dtype':>8} {'step ms':>10} {'floor ms':>10} {'4+1 ms':>10} {'ratio':>6} {'spread':>7}")
    rows = []
    for dtype_name in args.dtypes:
        for batch in args.batches:
            for n in args.sizes:
                row = bench_case(n, batch, getattr(torch, dtype_name), device, args.rounds)
                rows.append(row)
                print(
                    f"{n:>5} {batch:>3} {row['dtype']:>8} {row['step_ms']:>10.3f} {row['floor_batched_ms']:>10.3f} "
                    f"{row['floor_separate_ms']:>10.3f} {row['ratio']:>6.2f} {row['spread']:>7.0%}",
                    flush=True,
                )
    target = [r["ratio"] for r in rows if r["n"] >= 128 and r["batch"] == 16]
    summary = {
        "benchmark": "solver_step_over_fft_floor",
        "device": str(device),
        "malloc": malloc_mode,
        "ratios": {f"{r['n']}x{r['batch']}x{r['dtype']}": round(r["ratio"], 3) for r in rows},
        "max_ratio_n_ge_128_batch_16": round(max(target), 3) if target else None,
        "target": 1.5,
    }
    print(json.dumps(summary))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
