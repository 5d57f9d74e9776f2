"""Wall-clock of training runs, as Lightning callbacks a config names by class path, and the memory setting that
makes CPU timings repeatable.

- ``FitClock``: seconds of ``Trainer.fit`` (``on_fit_start`` to ``on_fit_end``), without parsing the config or
  building the task.
- ``EpochClock``: seconds of each training epoch, synchronised on CUDA so that queued kernels are counted.
- ``keep_freed_memory``: glibc never returns freed memory to the OS, so that page faults (slow on some VMs) do
  not pollute per-step timings.
"""

import ctypes
import platform
import time

import lightning as L
import torch


def synchronize(device: torch.device | str) -> None:
    """Wait for the device's queued work (CUDA); nothing to wait for on the CPU. The one ``synchronize`` of pdeops:
    timings elsewhere call it rather than ``torch.cuda.synchronize`` directly."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class FitClock(L.Callback):
    """The wall-clock of ``Trainer.fit`` in ``seconds`` (None until the fit ends)."""

    def __init__(self) -> None:
        self.seconds: float | None = None
        self._start = 0.0

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.seconds = time.perf_counter() - self._start


class EpochClock(L.Callback):
    """Wall-clock seconds of each training epoch (``seconds``, one per epoch), synchronised on ``device``."""

    def __init__(self, device: str = "cpu"):
        self.device, self._start = torch.device(device), 0.0
        self.seconds: list[float] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        synchronize(self.device)
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        synchronize(self.device)
        self.seconds.append(time.perf_counter() - self._start)


def find_callback(trainer: L.Trainer, kind: type[L.Callback]) -> L.Callback:
    """The trainer's one callback of class ``kind`` (a clock given by class path in the run's config)."""
    found = [callback for callback in trainer.callbacks if isinstance(callback, kind)]  # type: ignore[attr-defined]
    if len(found) != 1:
        raise ValueError(f"expected one {kind.__name__} among the trainer's callbacks, found {len(found)}.")
    return found[0]


def keep_freed_memory() -> bool:
    """glibc (Linux): never give freed memory back to the OS (``mallopt``); returns whether it was set."""
    if platform.system() != "Linux":
        return False
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))
