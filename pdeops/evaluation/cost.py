"""What a neural solver costs per simulated time unit: floating-point operations and wall time.

A one-step model and a block model (``k`` frames per call, e.g. NeuralStagger) advance different spans of time per
call, so their costs are compared per unit of simulated time: per call divided by ``output_frames · frame interval``.

**FLOPs** are counted with ``torch.utils.flop_counter.FlopCounterMode``, with two additions, because it counts
neither an FFT nor the extra work of complex arithmetic:

- matrix products and convolutions (``mm``, ``bmm``, ``addmm``, ``baddbmm``, ``convolution``): its own formulas
  (2 per multiply–add), times 4 when an operand is complex (a complex multiply–add is 4 real multiplies and 4 adds);
- FFTs, analytically: ``5 n log2 n`` per complex transform of ``n`` points (``_fft_c2c``) and half that per real one
  (``_fft_r2c``, ``_fft_c2r``), ``n`` the product of the transformed axes' lengths (the usual radix-2 count).

Elementwise operations (activations, additions, normalisations) are not counted by either.

**Wall time** is the median of repeated calls after warm-up calls, synchronised on CUDA, under ``torch.inference_mode``.

``markdown_table`` prints rows of mean ± std cells (``stat``), and ``paired_ratio`` compares two models seed by seed.

``trade_off`` puts a finished ``pdeops benchmark`` directory's accuracy (per seed) next to each model's cost per
simulated time unit (FLOPs, and wall time measured on every seed's checkpoint) against a reference model of the suite
and against the reference solver at equal accuracy (``work_precision.cheapest_at_accuracy`` on the benchmark's own
solver sweep).
"""

import json
import math
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from pdeops._io import write_text_atomic

Tensor = torch.Tensor
aten = torch.ops.aten

DENSE_OPS = (aten.mm, aten.bmm, aten.addmm, aten.baddbmm, aten.convolution)
FFT_OPS = (aten._fft_r2c, aten._fft_c2r, aten._fft_c2c)


def _fft_flops(n: int, transforms: int, real: bool) -> int:
    return 0 if n <= 1 else round((2.5 if real else 5.0) * n * math.log2(n) * transforms)


def _fft_r2c_flop(x: Tensor, dim: Sequence[int], *args: Any, out_val: Any = None, **kwargs: Any) -> int:
    n = math.prod(x.shape[d] for d in dim)
    return _fft_flops(n, x.numel() // max(n, 1), real=True)


def _fft_c2r_flop(x: Tensor, dim: Sequence[int], *args: Any, out_val: Tensor, **kwargs: Any) -> int:
    n = math.prod(out_val.shape[d] for d in dim)  # the real signal's length, not the half spectrum's
    return _fft_flops(n, out_val.numel() // max(n, 1), real=True)


def _fft_c2c_flop(x: Tensor, dim: Sequence[int], *args: Any, out_val: Any = None, **kwargs: Any) -> int:
    n = math.prod(x.shape[d] for d in dim)
    return _fft_flops(n, x.numel() // max(n, 1), real=False)


def _complex_aware(packet: Any) -> Callable[..., int]:
    """``flop_registry``'s formula for ``packet``, times 4 when an operand is complex."""
    formula = flop_registry[packet]

    def count(*args: Any, out_val: Any = None, **kwargs: Any) -> int:
        flops = int(formula(*args, out_val=out_val, **kwargs))
        complex_operand = any(isinstance(a, Tensor) and a.is_complex() for a in args)
        return 4 * flops if complex_operand else flops

    return count


def _raw(formula: Callable[..., int]) -> Callable[..., int]:
    formula._get_raw = True  # type: ignore[attr-defined]  # FlopCounterMode then passes tensors, not shapes
    return formula


def _mapping() -> dict[Any, Callable[..., int]]:
    mapping = {packet: _raw(_complex_aware(packet)) for packet in DENSE_OPS}
    mapping.update(
        {
            aten._fft_r2c: _raw(_fft_r2c_flop),
            aten._fft_c2r: _raw(_fft_c2r_flop),
            aten._fft_c2c: _raw(_fft_c2c_flop),
        }
    )
    return mapping


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one call, split by kind.

    Attributes:
        dense: matrix products and convolutions (complex ones counted ×4).
        fft: FFTs, ``5 n log2 n`` per complex transform (half per real one).
    """

    dense: int
    fft: int

    @property
    def total(self) -> int:
        return self.dense + self.fft


def count_flops(fn: Callable[[], Any]) -> FlopCount:
    """The FLOPs of ``fn()`` (see the module docstring for what is counted), run once under ``inference_mode``."""
    counter = FlopCounterMode(display=False, custom_mapping=_mapping())
    with torch.inference_mode(), counter:
        fn()
    counts = counter.get_flop_counts()["Global"]
    fft = sum(int(counts.get(packet, 0)) for packet in FFT_OPS)
    return FlopCount(dense=int(counter.get_total_flops()) - fft, fft=fft)


def seconds_per_call(
    fn: Callable[[], Any], *, device: torch.device | str = "cpu", repeats: int = 20, warmup: int = 2
) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls after ``warmup`` calls, under ``inference_mode``."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}.")
    device = torch.device(device)
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            _synchronize(device)
            start = time.perf_counter()
            fn()
            _synchronize(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class StepCost:
    """A solver's cost per simulated time unit, for one simulation.

    Attributes:
        flops: counted FLOPs (dense + FFT) per time unit, at batch 1.
        fft_flops: the FFTs' part of ``flops``.
        seconds: wall-clock seconds per time unit and simulation, ``batch`` simulations advanced per call.
        batch: simulations per timed call.
        frames_per_call: frames one call advances.
        frame_interval: simulated time between frames.
    """

    flops: float
    fft_flops: float
    seconds: float
    batch: int
    frames_per_call: int
    frame_interval: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def step_cost(
    step: Callable[[Tensor], Tensor],
    window: Tensor,
    frame_interval: float,
    *,
    repeats: int = 20,
    warmup: int = 2,
) -> StepCost:
    """FLOPs and wall time per simulated time unit of a stepping function, e.g. a task's ``step``.

    Args:
        step: ``(B, k_in, C, *S) -> (B, k_out, C, *S)``, the next ``k_out`` frames.
        window: ``(B, k_in, C, *S)`` on the device to time on; FLOPs are counted on its first simulation, wall time
            on all ``B`` at once (divided by ``B``).
        frame_interval: simulated time between two frames (> 0).
        repeats, warmup: see ``seconds_per_call``.
    """
    if frame_interval <= 0:
        raise ValueError(f"frame_interval must be > 0, got {frame_interval}.")
    if window.ndim < 3:
        raise ValueError(f"window must be (B, k, C, *S), got shape {tuple(window.shape)}.")
    with torch.inference_mode():
        frames = int(step(window[:1]).shape[1])
    flops = count_flops(lambda: step(window[:1]))
    seconds = seconds_per_call(lambda: step(window), device=window.device, repeats=repeats, warmup=warmup)
    units = frames * frame_interval  # simulated time per call
    batch = int(window.shape[0])
    return StepCost(flops.total / units, flops.fft / units, seconds / batch / units, batch, frames, frame_interval)


# --- tables ----------------------------------------------------------------------------------------------------------
def stat(values: Sequence[float]) -> dict[str, float]:
    """``{"mean", "std", "n"}`` of some numbers (std 0 for one; sample standard deviation otherwise)."""
    numbers = [float(v) for v in values]
    if not numbers:
        raise ValueError("stat needs at least one value.")
    std = statistics.stdev(numbers) if len(numbers) > 1 else 0.0
    return {"mean": statistics.fmean(numbers), "std": std, "n": len(numbers)}


def paired_ratio(numerator: Mapping[Any, float], denominator: Mapping[Any, float]) -> dict[str, Any]:
    """``numerator[seed] / denominator[seed]`` over the seeds both have: ``stat`` of the ratios, plus ``below_one``,
    the number of seeds where the ratio is below 1 (an error ratio: seeds where the numerator's model is the more
    accurate; a time ratio ``reference / model``: seeds where the model is the slower), and ``seeds`` (sorted) with
    their ``ratios`` in that order.

    Raises:
        ValueError: no seed in common.
    """
    seeds = sorted(set(numerator) & set(denominator))
    if not seeds:
        raise ValueError(f"no seed in common: {sorted(numerator)} against {sorted(denominator)}.")
    ratios = [numerator[s] / denominator[s] for s in seeds]
    return {**stat(ratios), "below_one": sum(r < 1 for r in ratios), "seeds": seeds, "ratios": ratios}


def _format(value: float, digits: int) -> str:
    if not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 10 ** (digits + 2) or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def cell(value: Any, digits: int = 3) -> str:
    """A table cell: ``–`` for None, ``mean ± std`` for a ``stat``, an int in full, a float to ``digits`` significant
    digits."""
    if value is None:
        return "–"
    if isinstance(value, Mapping):
        text = _format(value["mean"], digits)
        return text + (f" ± {_format(value['std'], 2)}" if value.get("n", 1) > 1 else "")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"  # counts (parameters) in full
    return _format(float(value), digits)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> str:
    """A Markdown table: one line per row, ``columns`` maps a row key to its header; cells as ``cell`` writes them."""
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(key)) for key in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --- a benchmark's accuracy against its cost -------------------------------------------------------------------------
TRADE_OFF_COLUMNS = {
    "model": "model",
    "parameters": "parameters",
    "rollout_l2": "rollout rel. L2",
    "error_vs_reference": "error ÷ reference (paired)",
    "gflops_per_unit": "GFLOP / time unit",
    "flops_fewer": "× fewer FLOPs",
    "ms_per_unit": "ms / time unit (1 sim.)",
    "speedup_vs_reference": "× faster than reference (paired)",
    "ms_per_unit_batched": "ms / time unit (batch)",
    "speedup_vs_reference_batched": "× faster than reference (batch, paired)",
    "solver_ms_per_unit": "solver at equal accuracy, ms / time unit (batch)",
    "speedup_vs_solver": "× faster than that solver",
}
"""``trade_off``'s row keys → headers, for ``markdown_table``."""


def trade_off(
    suite: Any,
    out: str | os.PathLike[str],
    *,
    reference: str,
    device: str = "cpu",
    repeats: int = 20,
) -> list[dict[str, Any]]:
    """Accuracy and cost per simulated time unit of every model of a finished ``pdeops benchmark`` run.

    For each model with results:

    - its rollout relative L2 over the seeds, and its ratio to ``reference``'s paired per seed (``paired_ratio``);
    - counted FLOPs per time unit of one simulation, and how many times fewer than ``reference``'s;
    - wall time per time unit, measured on every seed's checkpoint (the spread is timing noise), for one simulation
      (the latency the paper's claim is about) and for all test trajectories in one call, per trajectory
      (``_batched``); the speed-up over ``reference`` paired per seed (``reference``'s time ÷ the model's);
    - the cheapest setting of the benchmark's solver sweep whose error is at most the model's mean error
      (``work_precision.cheapest_at_accuracy``), timed there on the same test trajectories in one batch, and the
      model's speed-up over it (from its batched time).

    Args:
        suite: a ``pdeops.evaluation.benchmark.Suite`` whose runs are done in ``out``.
        out: the benchmark directory.
        reference: the suite's model to compare with (e.g. the fine model a decomposition replaces).
        device: where to time (the solver sweep's times come from the benchmark run's own device).
        repeats: timed calls per checkpoint (median).

    Returns:
        One row per model, the suite's order, then ``persistence``; keys as ``TRADE_OFF_COLUMNS`` plus
        ``seeds``, ``per_seed`` and ``solver_setting``.

    Raises:
        ValueError: ``reference`` is not a model of the suite or has no finished run.
    """
    from pdeops.data import open_dataset
    from pdeops.evaluation.benchmark import prepare_data, result_path, scored_samples
    from pdeops.evaluation.checkpoints import load_task
    from pdeops.evaluation.work_precision import cheapest_at_accuracy, read_sweep
    from pdeops.training.tasks import BaseOperatorTask

    out = Path(out)
    if reference not in suite.models:
        raise ValueError(
            f"reference {reference!r} is not a model of {suite.path}; its models are {list(suite.models)}."
        )
    data = prepare_data(suite, out)
    with open_dataset(data) as dataset:
        field = next(iter(suite.data.get("fields") or [name for name in dataset.data_vars]))
        times = dataset["time"].values
        samples = scored_samples(suite, dataset.sizes["sample"])
        given = dataset[field].isel(sample=samples, time=slice(0, suite.context)).values
    interval = float(times[1] - times[0])
    frames = torch.from_numpy(given).float().unsqueeze(2).to(device)  # (N, context, 1, *S)
    sweep = out / "runs" / "solver" / "work_precision.json"
    points = read_sweep(sweep) if sweep.exists() else []

    per_model: dict[str, dict[int, dict[str, Any]]] = {}
    persistence: dict[int, float] = {}
    for model, seed in suite.runs():
        path = result_path(out, model, seed)
        if not path.exists():
            continue
        result = json.loads(path.read_text())
        task = load_task(result["checkpoint"], device=device)
        if not isinstance(task, BaseOperatorTask):
            raise ValueError(f"{model}'s task ({type(task).__name__}) does not step frames: its cost cannot be timed.")
        window = frames[:, suite.context - task.input_frames :]
        one, all_at_once = (step_cost(task.step, w, interval, repeats=repeats) for w in (window[:1], window))
        per_model.setdefault(model, {})[seed] = {
            "rollout_l2": result["scores"]["model"]["rollout_l2"],
            "parameters": result["parameters"],
            "cost": one.to_json(),
            "seconds_batched": all_at_once.seconds,
        }
        persistence[seed] = result["scores"]["persistence"]["rollout_l2"]
    if reference not in per_model:
        raise ValueError(f"reference {reference!r} has no finished run in {out}: run the benchmark first.")

    ref = per_model[reference]
    rows = []
    for model, seeds in per_model.items():
        error = {s: r["rollout_l2"] for s, r in seeds.items()}
        seconds = {s: r["cost"]["seconds"] for s, r in seeds.items()}
        batched = {s: r["seconds_batched"] for s, r in seeds.items()}
        flops = statistics.fmean(r["cost"]["flops"] for r in seeds.values())
        match = cheapest_at_accuracy(points, statistics.fmean(error.values()))
        solver = None if match is None else match.seconds_per_frame / interval  # type: ignore[operator]
        rows.append(
            {
                "model": model,
                "seeds": sorted(seeds),
                "parameters": next(iter(seeds.values()))["parameters"],
                "rollout_l2": stat(list(error.values())),
                "error_vs_reference": paired_ratio(error, {s: r["rollout_l2"] for s, r in ref.items()}),
                "gflops_per_unit": flops / 1e9,
                "flops_fewer": statistics.fmean(r["cost"]["flops"] for r in ref.values()) / flops,
                "fft_share": statistics.fmean(r["cost"]["fft_flops"] for r in seeds.values()) / flops,
                "ms_per_unit": stat([1e3 * v for v in seconds.values()]),
                "speedup_vs_reference": paired_ratio({s: r["cost"]["seconds"] for s, r in ref.items()}, seconds),
                "ms_per_unit_batched": stat([1e3 * v for v in batched.values()]),
                "speedup_vs_reference_batched": paired_ratio(
                    {s: r["seconds_batched"] for s, r in ref.items()}, batched
                ),
                "solver_setting": None if match is None else match.setting.label,
                "solver_ms_per_unit": None if solver is None else 1e3 * solver,
                "speedup_vs_solver": None if solver is None else solver / statistics.fmean(batched.values()),
                "per_seed": seeds,
            }
        )
    rows.append({"model": "persistence", "seeds": sorted(persistence), "rollout_l2": stat(list(persistence.values()))})
    return rows


def write_trade_off(rows: Sequence[Mapping[str, Any]], out: str | os.PathLike[str], *, title: str) -> None:
    """``trade_off.json`` and ``trade_off.md`` (``markdown_table`` under a heading) in ``out``, written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "trade_off.json", json.dumps({"title": title, "rows": rows}, indent=1, default=str))
    write_text_atomic(
        out / "trade_off.md", f"# Accuracy and cost: {title}\n\n{markdown_table(rows, TRADE_OFF_COLUMNS)}"
    )
