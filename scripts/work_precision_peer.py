"""Work–precision of torch-cfd 0.2.6's RK4-CN next to ours, on one ``ns2d-fno`` truth file.

Both solvers run the protocol of ``pdeops.evaluation.work_precision.sweep`` (ours *is* that function): start from
the stored first frame, resampled spectrally to the solve resolution (``solvers.Grid.resample``); a fixed dt,
shortened so a whole number of steps lands on every stored frame; the solution resampled back to the stored grid and
scored with relative L2 over space and time against the stored frames (mean over the trajectories); wall time per
trajectory and frame, the whole batch solved at once, after one warm-up step. The settings are timed alternately
(ours, torch-cfd, ours, …). torch-cfd is set up as in ``bench_solver.py --peer torch-cfd`` (``TorchCFDStep``: the
file's viscosity, FNO forcing, its own 2/3 filter); it has no stability check, so a setting whose state turns
non-finite is reported unstable, and one that stays finite is scored whatever it became.

The truth (unless ``--truth`` names a native ``ns2d-fno`` file): 4 trajectories of ``ns2d-fno`` (ν = 1e-3) solved at
128² with dt = 1e-3 in float64 to t = 4 and stored at 64² every 0.5, generated once into ``--cache`` (~30 s on one
core).

Printed: both curves side by side (ms per frame and error per setting), then, at round error levels E (1, 2, 5 ×
10^k), the cheapest setting of each that reaches E (``cheapest_at_accuracy``) and the ratio "our time to reach E /
torch-cfd's" (goal ≤ 0.5), and last one JSON line.

    pip install --no-deps torch-cfd==0.2.6 einops
    OMP_NUM_THREADS=1 python scripts/work_precision_peer.py [--resolutions 32 64] [--dts 1e-3 4e-3 1.6e-2]
        [--schemes rk4cn rk3cn etdrk4] [--dtype float32] [--truth FILE]
"""

import argparse
import importlib.metadata
import json
import math
import tempfile
import time
from pathlib import Path

import torch
from bench_solver import TorchCFDStep, import_torch_cfd, keep_freed_memory, sync

from pdeops.data import GenerationConfig, open_dataset
from pdeops.data.generate import generate
from pdeops.evaluation.work_precision import (
    PROBE_STEPS,
    SolverSetting,
    StoredTruth,
    WorkPrecisionPoint,
    cheapest_at_accuracy,
    default_settings,
    sweep,
    truth_from_file,
)
from pdeops.metrics import relative_lp_window
from solvers import Grid

# float64: a float32 truth carries its solver's rounding drift (~2e-4 after its 4000 steps, mostly the float32
# Crank–Nicolson factors applied 20 000 times), which a float32 run at the same dt repeats exactly and scores ~1e-7.
TRUTH_CONFIG = GenerationConfig(
    "ns2d-fno", samples=4, resolution=64, solve_resolution=128, horizon=4.0, record_every=0.5, dt=1e-3, dtype="float64"
)
GOAL = 0.5  # our time to reach an error / torch-cfd's


def load_truth(path: Path | None, cache: Path) -> StoredTruth:
    """Every trajectory of ``path``, or of ``TRUTH_CONFIG`` generated into ``cache`` if it is not there yet."""
    if path is None:
        path = cache / "ns2d-fno-64-float64.h5"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            generate(TRUTH_CONFIG, path)
            print(f"# generated {path} in {time.perf_counter() - start:.1f} s")
    with open_dataset(path) as dataset:
        samples = list(range(dataset.sizes["sample"]))
    truth = truth_from_file(path, samples=samples)
    if truth.resolved.recipe.name != "ns2d-fno":
        raise SystemExit(f"{path} holds recipe {truth.resolved.recipe.name!r}; torch-cfd is set up for ns2d-fno only.")
    return truth


def run_peer(truth: StoredTruth, setting: SolverSetting, device: str, max_seconds: float) -> WorkPrecisionPoint:
    """torch-cfd's RK4-CN at ``setting`` (its scheme is ignored), scored as ``sweep`` scores ours."""
    resolved = truth.resolved
    length = resolved.recipe.length
    stored = Grid(truth.frames.shape[2:], length)
    shape = (setting.resolution,) * 2
    grid = Grid(shape, length, dtype=getattr(torch, setting.dtype), device=device)
    times = [0.0, *truth.lead_times]
    intervals = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert setting.dt is not None
    n_steps = [max(1, math.ceil(span / setting.dt * (1 - 1e-12))) for span in intervals]
    # One stepper per distinct shortened dt, as our solver caches one scheme per dt.
    steppers: dict[float, TorchCFDStep] = {}
    for span, n in zip(intervals, n_steps, strict=True):
        if span / n not in steppers:
            steppers[span / n] = TorchCFDStep(grid, viscosity=resolved.params["viscosity"], dt=span / n)
    u0 = stored.resample(truth.frames[:, 0], shape).to(device=device, dtype=grid.dtype)
    w_hat = grid.rfft(u0)
    first = steppers[intervals[0] / n_steps[0]]
    first(w_hat)  # warm-up: FFT plans, allocations
    sync(grid.device)
    start = time.perf_counter()
    probe = w_hat
    for _ in range(PROBE_STEPS):
        probe = first(probe)
    sync(grid.device)
    estimate = (time.perf_counter() - start) / PROBE_STEPS * sum(n_steps)
    if estimate > max_seconds:
        return WorkPrecisionPoint(setting, None, None, f"skipped: estimated {estimate:.0f} s > {max_seconds:g} s")

    sync(grid.device)
    start = time.perf_counter()
    w_hat, frames = grid.rfft(u0), list[torch.Tensor]()
    for span, n in zip(intervals, n_steps, strict=True):
        stepper = steppers[span / n]
        for _ in range(n):
            w_hat = stepper(w_hat)
        if not bool(torch.isfinite(w_hat).all()):
            return WorkPrecisionPoint(setting, None, None, f"unstable: NaN/Inf before t = {times[len(frames) + 1]:g}")
        frames.append(grid.irfft(w_hat))
    sync(grid.device)
    seconds = time.perf_counter() - start
    solved = torch.stack(frames, dim=1).cpu().to(torch.float64)
    pred = Grid(shape, length).resample(solved, stored.shape)
    error = float(relative_lp_window(pred[:, :, None], truth.frames[:, 1:, None]).mean())
    per_frame = seconds / (len(intervals) * len(u0))
    if not math.isfinite(error):
        return WorkPrecisionPoint(setting, per_frame, None, "unstable: non-finite error")
    return WorkPrecisionPoint(setting, per_frame, error)


def describe(point: WorkPrecisionPoint | None) -> tuple[str, str]:
    """(ms per frame, error) as printed: the failure's kind when it has no error."""
    if point is None:
        return "", ""
    ms = "–" if point.seconds_per_frame is None else f"{1e3 * point.seconds_per_frame:.3g}"
    error = f"{point.relative_l2:.3g}" if point.relative_l2 is not None else (point.failure or "").split(":")[0]
    return ms, error


def round_errors(points: list[WorkPrecisionPoint]) -> list[float]:
    """1, 2 and 5 × 10^k between the smallest and largest error any setting reached.

    Round levels rather than one solver's own errors: both curves are step functions, and at a level that one
    solver's setting hits exactly, the other's same setting, a fraction of a percent less accurate, would count as
    missing it.
    """
    reached = [p.relative_l2 for p in points if p.relative_l2 is not None]
    if not reached:
        return []
    low, high = min(reached), max(reached)
    levels = [
        m * 10.0**k for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1) for m in (1, 2, 5)
    ]
    return [level for level in levels if low <= level <= high]


def label(point: WorkPrecisionPoint | None) -> str:
    return "not reached" if point is None else point.setting.label


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--truth", type=Path, help="a native ns2d-fno file (default: generate a small one)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "pdeops-work-precision-peer")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[32, 64])
    parser.add_argument(
        "--dts", type=float, nargs="+", help="fixed steps (default: the file's dt doubled up to the frame interval)"
    )
    parser.add_argument("--schemes", nargs="+", default=["rk4cn"], help="our time schemes (torch-cfd: RK4-CN)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="skip a setting estimated to take longer")
    parser.add_argument("--errors", type=float, nargs="+", help="errors E to compare at (default: 1, 2, 5 × 10^k)")
    args = parser.parse_args(argv)
    import_torch_cfd()  # a missing install ends the run before the truth is generated
    torch_cfd_version = importlib.metadata.version("torch-cfd")
    keep_freed_memory()
    truth = load_truth(args.truth, args.cache)
    print(
        f"# {truth.resolved.recipe.name}, ν = {truth.resolved.params['viscosity']:g}, {truth.frames.shape[0]} "
        f"trajectories, {len(truth.lead_times)} frames to t = {truth.lead_times[-1]:g} at "
        f"{truth.stored_resolution}² (truth: {truth.resolved.solve_resolution}², dt {truth.resolved.dt:g}); "
        f"{args.dtype}, device {args.device}, torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    ours: list[WorkPrecisionPoint] = []
    peer: list[WorkPrecisionPoint] = []
    print(f"{'N':>4} {'dt':>8} {'scheme':>7} {'ours ms/frame':>14} {'ours L2':>9}", end="")
    print(f" {'torch-cfd ms/frame':>19} {'torch-cfd L2':>12}")
    settings = default_settings(
        truth, schemes=args.schemes, resolutions=args.resolutions, dts=args.dts, cfls=(), dtypes=(args.dtype,)
    )
    for setting in sorted(settings, key=lambda s: (s.resolution, s.dt, args.schemes.index(s.scheme))):
        scheme, resolution, dt = setting.scheme, setting.resolution, setting.dt
        ours.append(sweep(truth, [setting], device=args.device, max_seconds=args.max_seconds)[0])
        theirs = None
        if scheme == "rk4cn":  # torch-cfd's scheme: timed right after ours
            theirs = run_peer(truth, setting, args.device, args.max_seconds)
            peer.append(theirs)
        (ms, error), (peer_ms, peer_error) = describe(ours[-1]), describe(theirs)
        print(
            f"{resolution:>4} {dt:>8.3g} {scheme:>7} {ms:>14} {error:>9} {peer_ms:>19} {peer_error:>12}",
            flush=True,
        )
    errors = args.errors or round_errors(ours + peer)
    print(f"\n{'error E':>9}  {'ours: cheapest setting':<34} {'ms':>8}", end="")
    print(f"  {'torch-cfd: cheapest':<34} {'ms':>8} {'ratio':>6}")
    comparisons = []
    for error in sorted(errors, reverse=True):
        mine, theirs = cheapest_at_accuracy(ours, error), cheapest_at_accuracy(peer, error)
        ratio = None
        if mine is not None and theirs is not None:
            ratio = mine.seconds_per_frame / theirs.seconds_per_frame  # type: ignore[operator]
        comparisons.append(
            {
                "error": error,
                "ours": None if mine is None else mine.to_json(),
                "torch_cfd": None if theirs is None else theirs.to_json(),
                "ratio": ratio,
            }
        )
        (mine_ms, _), (theirs_ms, _) = describe(mine), describe(theirs)
        print(
            f"{error:>9.3g}  {label(mine):<34} {mine_ms:>8}  {label(theirs):<34} {theirs_ms:>8} "
            f"{'' if ratio is None else f'{ratio:.2f}':>6}"
        )
    reached = [c["ratio"] for c in comparisons if c["ratio"] is not None]
    print(f"# ratio: our time to reach E / torch-cfd's (goal ≤ {GOAL}); times are noisy on a shared machine.")
    summary = {
        "benchmark": "work_precision_against_torch_cfd",
        "torch_cfd": torch_cfd_version,
        "dtype": args.dtype,
        "device": args.device,
        "ours": [p.to_json() for p in ours],
        "torch_cfd_points": [p.to_json() for p in peer],
        "comparisons": comparisons,
        "max_ratio": max(reached) if reached else None,
        "goal": GOAL,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
