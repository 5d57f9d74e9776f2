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

A finished benchmark's accuracy against this cost is ``pdeops.benchmark.cost.trade_off``.
"""

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from pdeops.training.timing import synchronize

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
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


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
