"""Map-style torch datasets over a dataset file: windows, whole trajectories and collocation points.

Every dataset reads the fields it is given (default: every variable with dims (sample, time, x[, y[, z]])) and
stacks them channels-first, so a trajectory is a float32 tensor (T, C, *S) with C the number of fields and S the
spatial shape. Trajectories are chosen by their index along ``sample``.

Two ways to read, chosen per dataset by ``in_memory``:

- **In memory**: the selected trajectories are read once, at construction, into one float32 tensor (N, T, C, *S).
  ``in_memory=None`` chooses this when that tensor is below `IN_MEMORY_MAX_BYTES` and below
  `IN_MEMORY_MAX_RAM_FRACTION` of the machine's RAM.
- **Lazy**: each item is read from the file when asked for. The file is opened on the first read in each process
  (keyed by process id), so a DataLoader worker never uses a handle opened in its parent, and the dataset pickles
  without it. Single HDF5 files in the pdeops format are read with h5py directly (one chunk per frame, the fastest
  route) unless their fields need xarray's decoding (scale factors, fill values); other files, and datasets that
  span files, go through `open_dataset` (xarray), which converts their layout at the cost of xarray's per-read
  overhead, so large external datasets are best converted to the native format or read in memory.

Every dataset takes the path of anything `open_dataset` opens (a file, a directory, a glob pattern) and ``format=``
(None: detect it).
"""

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import torch
import xarray as xr
from torch import nn
from torch.utils.data import Dataset

from pdeops.data._errors import DatasetError, quoted
from pdeops.data._readers_native import plain_hdf5_fields
from pdeops.data.readers import open_dataset

Tensor = torch.Tensor

IN_MEMORY_MAX_BYTES = 2 * 1024**3
"""``in_memory=None`` reads into memory only below this many bytes of float32 data..."""
IN_MEMORY_MAX_RAM_FRACTION = 0.25
"""...and below this fraction of the machine's total RAM."""

FIELD_LAYOUT = "(sample, time, x[, y[, z]])"


@dataclass(frozen=True, eq=False)
class FieldLayout:
    """Where and how the chosen fields of a file are stored (metadata only; no field data).

    Args:
        path: the file (or the directory or glob pattern of a dataset that spans files).
        fields: the fields, in channel order.
        native: whether the fields are read with h5py directly (one pdeops-format HDF5 file whose fields need no
            decoding) rather than via xarray.
        num_samples: trajectories in the file.
        num_times: frames per trajectory, T.
        spatial_dims: the spatial dimension names, e.g. ``("x", "y")``.
        spatial_shape: the spatial shape S.
        coords: the coordinate values the file has among ``time`` and the spatial dims.
        format: the format the data is read as (``source_format``), so that a reopening skips detection.
        split_labels: each trajectory's official split (``train``, ``valid``, ``test``) from the data's ``split``
            coordinate, or None when it has none.
        split_source: where that split comes from (e.g. The Well's split folders), or None.
    """

    path: str
    fields: tuple[str, ...]
    native: bool
    num_samples: int
    num_times: int
    spatial_dims: tuple[str, ...]
    spatial_shape: tuple[int, ...]
    coords: dict[str, np.ndarray]
    format: str | None = None
    split_labels: tuple[str, ...] | None = None
    split_source: str | None = None


def read_layout(
    path: str | os.PathLike[str], fields: Sequence[str] | None = None, *, format: str | None = None
) -> FieldLayout:
    """Read the layout of ``fields`` in the data at ``path``, checking that they stack as channels.

    Args:
        path: a dataset file, directory or glob pattern of any format `open_dataset` reads.
        fields: the fields to use, in channel order; None takes every variable with dims (sample, time, ...).
        format: the format (see `open_dataset`); None detects it.

    Raises:
        DatasetError: a field is missing, has the wrong rank, or the fields lie on different grids.
    """
    with open_dataset(path, format=format) as dataset:
        source: str = dataset.attrs["source_path"]
        names = _choose_fields(source, dataset, fields)
        spatial_dims = _spatial_dims(source, dataset, names)
        one_file = "source_files" not in dataset.attrs and h5py.is_hdf5(source)
        split = dataset.coords.get("split")
        return FieldLayout(
            path=source,
            fields=names,
            native=dataset.attrs["source_format"] == "pdeops" and one_file and plain_hdf5_fields(source, names),
            num_samples=dataset.sizes["sample"],
            num_times=dataset.sizes["time"],
            spatial_dims=spatial_dims,
            spatial_shape=tuple(dataset.sizes[dim] for dim in spatial_dims),
            coords={name: np.array(dataset[name].values) for name in ("time", *spatial_dims) if name in dataset.coords},
            format=dataset.attrs["source_format"],
            split_labels=None if split is None else tuple(str(label) for label in np.asarray(split.values)),
            split_source=dataset.attrs.get("split_source"),
        )


def _choose_fields(path: str, dataset: xr.Dataset, fields: Sequence[str] | None) -> tuple[str, ...]:
    """The requested fields, checked to exist, or by default every variable with dims (sample, time, ...)."""
    variables = [str(name) for name in dataset.data_vars]
    candidates = [name for name in variables if dataset[name].dims[:2] == ("sample", "time")]
    if isinstance(fields, str):
        raise DatasetError(f"fields must be a list of names, got the string {fields!r}; write [{fields!r}].")
    if fields is None:
        if not candidates:
            raise DatasetError(
                f"{path} has no variable with dims {FIELD_LAYOUT} (it has {quoted(variables)}), "
                "so there is nothing to train on. Check that it holds time-dependent fields."
            )
        return tuple(candidates)
    missing = [name for name in fields if name not in variables]
    if missing:
        raise DatasetError(
            f"{path} has no variable {quoted(missing)}: asked for fields {quoted(fields)}, and the file's fields are "
            f"{quoted(candidates)}. Fix fields= (names are case-sensitive)."
        )
    return tuple(fields)


def _spatial_dims(path: str, dataset: xr.Dataset, fields: Sequence[str]) -> tuple[str, ...]:
    """The spatial dims the fields share; a `DatasetError` for a wrong rank or fields on different grids."""
    shapes = {}
    for name in fields:
        dims = dataset[name].dims
        if dims[:2] != ("sample", "time") or not 3 <= len(dims) <= 5:
            raise DatasetError(
                f"{path}: variable {name!r} has dims {dims}, but a field must have dims {FIELD_LAYOUT} "
                "(one to three spatial axes). Leave it out of fields=."
            )
        shapes[name] = {str(dim): dataset.sizes[dim] for dim in dims[2:]}
    if len({tuple(shape.items()) for shape in shapes.values()}) > 1:
        listed = ", ".join(f"{name!r} {shape}" for name, shape in shapes.items())
        raise DatasetError(
            f"{path}: the fields lie on different spatial grids ({listed}), so they cannot be stacked as channels. "
            "Choose fields= that share one grid, and make one dataset per grid."
        )
    return tuple(shapes[fields[0]])


def check_samples(layout: FieldLayout, samples: Sequence[int] | range | None) -> Sequence[int]:
    """The trajectory indices to use: ``samples`` checked against the file, or all of them when None."""
    if samples is None:
        return range(layout.num_samples)
    outside = [index for index in samples if not 0 <= index < layout.num_samples]
    if outside:
        raise DatasetError(
            f"{layout.path} has {layout.num_samples} trajectories (indices 0 to {layout.num_samples - 1}), but "
            f"samples= asks for {outside[:5]}. Pick indices in that range."
        )
    return samples if isinstance(samples, range) else tuple(int(index) for index in samples)


class FrameReader:
    """Reads frames of the layout's fields, opening the file on first use in each process.

    The open handle (an ``h5py.File`` for native files, an `xarray.Dataset` otherwise) is never pickled: a copy
    reopens the file on its first read.
    """

    def __init__(self, layout: FieldLayout) -> None:
        self.layout = layout
        self._pid: int | None = None
        self._file: h5py.File | xr.Dataset | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_pid": None, "_file": None}

    def read(self, sample: int, start: int, stop: int) -> np.ndarray:
        """Frames ``start:stop`` of one trajectory, shape (stop - start, C, *S), in the file's dtype."""
        file = self._open()
        frames = []
        for name in self.layout.fields:
            try:
                if isinstance(file, h5py.File):
                    frames.append(file[name][sample, start:stop])
                else:
                    frames.append(file[name].isel(sample=sample, time=slice(start, stop)).values)
            except OSError as error:  # h5py's read errors, a failed fletcher32 checksum among them
                raise DatasetError(
                    f"{self.layout.path}: variable {name!r}, sample {sample}, frames {start}-{stop - 1} cannot be "
                    f"read ({error}): the file is corrupt there. Regenerate it (`pdeops generate`) or copy it again."
                ) from None
        stacked = np.stack(frames, axis=1)
        _require_finite(self.layout, sample, start, stacked)
        return stacked

    def close(self) -> None:
        """Close this process's handle, if open."""
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._pid, self._file = None, None

    def _open(self) -> h5py.File | xr.Dataset:
        if self._file is None or self._pid != os.getpid():
            path = self.layout.path
            self._file = h5py.File(path, "r") if self.layout.native else open_dataset(path, format=self.layout.format)
            self._pid = os.getpid()
        return self._file


class Normalizer(nn.Module):
    """Per-channel standardisation ``(x - mean) / std``, with statistics over samples, time and space.

    An ``nn.Module`` whose statistics are float64 buffers, so it moves with the module that owns it (a training task)
    and is saved in that module's checkpoints. A channel whose std is 0 (a constant field) gets std 1, so it is
    shifted to 0 rather than divided by 0. ``Normalizer.fit`` computes the statistics from a file.

    Args:
        mean: (C,) per-channel means.
        std: (C,) per-channel population standard deviations.
        spatial_dims: number of spatial axes d; the channel axis of a normalised tensor is dim ``-d - 1``.
    """

    mean: Tensor
    std: Tensor
    fitted: Tensor

    def __init__(self, mean: Tensor, std: Tensor, spatial_dims: int) -> None:
        super().__init__()
        std = torch.as_tensor(std, dtype=torch.float64)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64).clone())
        self.register_buffer("std", torch.where(std > 0, std, torch.ones_like(std)))
        self.register_buffer("fitted", torch.tensor(True))
        self.spatial_dims = spatial_dims

    @classmethod
    def identity(cls, channels: int, spatial_dims: int) -> "Normalizer":
        """Mean 0 and std 1 for every channel, marked not fitted (``load_statistics`` fills it in)."""
        normalizer = cls(torch.zeros(channels), torch.ones(channels), spatial_dims)
        normalizer.fitted.fill_(False)
        return normalizer

    @property
    def channels(self) -> int:
        return len(self.mean)

    def load_statistics(self, other: "Normalizer") -> None:
        """Take ``other``'s statistics (same channels), in place, and mark this normaliser fitted."""
        if other.channels != self.channels:
            raise ValueError(f"statistics of {other.channels} channel(s) given to a normaliser of {self.channels}.")
        self.mean.copy_(other.mean)
        self.std.copy_(other.std)
        self.fitted.fill_(True)

    def normalize(self, x: Tensor) -> Tensor:
        """``(x - mean) / std`` channel-wise, for x of shape (..., C, *S); same dtype and device as x."""
        mean, std = self.broadcast(x)
        return (x - mean) / std

    def denormalize(self, x: Tensor) -> Tensor:
        """``x * std + mean`` channel-wise, for x of shape (..., C, *S); the inverse of `normalize`."""
        mean, std = self.broadcast(x)
        return x * std + mean

    def broadcast(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(mean, std)`` shaped ``(C, 1, ..., 1)``, to broadcast against x ``(..., C, *S)``, in x's dtype."""
        axis = -self.spatial_dims - 1
        if x.ndim < self.spatial_dims + 1 or x.shape[axis] != self.channels:
            raise ValueError(
                f"Expected a tensor (..., C={self.channels}, *S) with {self.spatial_dims} spatial axes, "
                f"got shape {tuple(x.shape)}. Pass channels-first fields or trajectories."
            )
        shape = (self.channels,) + (1,) * self.spatial_dims
        return self.mean.to(x).reshape(shape), self.std.to(x).reshape(shape)

    @classmethod
    def fit(
        cls,
        source: "BaseFieldDataset | str | os.PathLike[str]",
        fields: Sequence[str] | None = None,
        samples: Sequence[int] | range | None = None,
        *,
        format: str | None = None,
    ) -> "Normalizer":
        """Compute the statistics of ``fields`` over ``samples``, reading one trajectory at a time.

        Statistics are accumulated in float64 with Chan et al.'s pairwise update of mean and sum of squared
        deviations, so memory stays at one trajectory and no precision is lost to large offsets.

        Args:
            source: a dataset file, or a dataset whose file, fields and samples are the defaults (its raw file
                data is used, never its normalised items).
            fields: the fields (channels); None: the dataset's, or every field of the file.
            samples: the trajectories; None: the dataset's, or all of the file's.
            format: the file's format (see `open_dataset`); None: the dataset's, or detected.

        Raises:
            DatasetError: no trajectories are selected, or the data holds NaN or Inf (naming sample and time).
        """
        if isinstance(source, BaseFieldDataset):
            fields = source.fields if fields is None else fields
            samples = source.samples if samples is None else samples
            format = source.layout.format if format is None else format
            source = source.layout.path
        layout = read_layout(source, fields, format=format)
        samples = check_samples(layout, samples)
        if not samples:
            raise DatasetError(f"Cannot compute normalisation statistics of {layout.path} over zero trajectories.")
        moments = _Moments(len(layout.fields))
        reader = FrameReader(layout)
        for sample in samples:
            frames = reader.read(sample, 0, layout.num_times).astype(np.float64)
            moments.update(frames.swapaxes(0, 1).reshape(len(layout.fields), -1))
        reader.close()
        return cls(torch.from_numpy(moments.mean), torch.from_numpy(moments.std), len(layout.spatial_shape))


class _Moments:
    """Running per-channel count, mean and sum of squared deviations (Chan, Golub & LeVeque 1979, eq. 2.1)."""

    def __init__(self, channels: int) -> None:
        self.count = 0
        self.mean = np.zeros(channels)
        self.m2 = np.zeros(channels)

    def update(self, values: np.ndarray) -> None:
        """Add values (C, n) to the running statistics."""
        count = values.shape[1]
        mean = values.mean(axis=1)
        m2 = ((values - mean[:, None]) ** 2).sum(axis=1)
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * count / total
        self.m2 = self.m2 + m2 + delta**2 * self.count * count / total
        self.count = total

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / self.count)


FLOAT32_MAX = float(np.finfo(np.float32).max)
"""The largest float32 (about 3.4e38): datasets hold fields as float32, so a larger stored value would become Inf."""


def _require_finite(layout: FieldLayout, sample: int, start: int, frames: np.ndarray) -> None:
    """Raise a `DatasetError` naming the first NaN/Inf in frames ``start:`` (T, C, *S) of one trajectory, or the
    first finite value beyond float32's range (which the float32 tensors of a dataset would turn into Inf).

    The check is made in the stored dtype, so a large but finite value is reported as what it is."""
    finite = np.isfinite(frames)
    where = "holds NaN or Inf"
    if finite.all():
        if frames.dtype.kind != "f" or frames.dtype.itemsize <= 4:
            return
        beyond = np.abs(frames) > FLOAT32_MAX
        if not beyond.any():
            return
        value = float(frames[tuple(np.argwhere(beyond)[0])])
        where = f"holds {value:.4g}, beyond float32's range (+-{FLOAT32_MAX:.3g}) in which fields are read,"
        finite = ~beyond
    time, channel = (int(i) for i in np.argwhere(~finite)[0][:2])
    raise DatasetError(
        f"{layout.path}: field {layout.fields[channel]!r} of sample {sample} {where} at time index "
        f"{start + time}. Regenerate that sample (e.g. with a smaller dt, or the field in other units), or leave it "
        f"out: PDEDataModule(exclude=[{sample}]) (--data.exclude '[{sample}]' for pdeops fit), or --samples without "
        "it for pdeops evaluate and rollout."
    )


def fits_in_memory(nbytes: int) -> bool:
    """Whether ``nbytes`` is below `IN_MEMORY_MAX_BYTES` and `IN_MEMORY_MAX_RAM_FRACTION` of total RAM."""
    ram: float
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): the byte limit alone decides
        ram = math.inf
    return nbytes < min(IN_MEMORY_MAX_BYTES, IN_MEMORY_MAX_RAM_FRACTION * ram)


class BaseFieldDataset(Dataset[dict[str, Any]], ABC):
    """The trajectories ``samples`` of a file's ``fields``, read lazily or held in memory, optionally normalised.

    Args:
        path: a dataset file, directory or glob pattern of any format `open_dataset` reads.
        fields: the fields, in channel order; None takes every variable with dims (sample, time, ...).
        samples: the trajectory indices; None takes all.
        in_memory: True reads the selection into memory at construction, False reads each item from the file;
            None chooses memory when the selection fits (see `fits_in_memory`).
        normalizer: applied to every item when set (the attribute may be replaced later).
        format: the format (see `open_dataset`); None detects it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fields: Sequence[str] | None = None,
        samples: Sequence[int] | range | None = None,
        in_memory: bool | None = None,
        normalizer: Normalizer | None = None,
        format: str | None = None,
    ) -> None:
        self.layout = read_layout(path, fields, format=format)
        self.samples = check_samples(self.layout, samples)
        self.normalizer = normalizer
        self._reader = FrameReader(self.layout)
        self.in_memory = fits_in_memory(self.nbytes) if in_memory is None else in_memory
        self._data = self._load() if self.in_memory else None

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @property
    def fields(self) -> tuple[str, ...]:
        return self.layout.fields

    @property
    def channels(self) -> int:
        """C, the number of fields."""
        return len(self.layout.fields)

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """S, the spatial shape."""
        return self.layout.spatial_shape

    @property
    def nbytes(self) -> int:
        """Size of the selected trajectories as float32."""
        return 4 * len(self.samples) * self.layout.num_times * self.channels * math.prod(self.spatial_shape)

    def _load(self) -> Tensor:
        """The selected trajectories, (N, T, C, *S) float32."""
        shape = (len(self.samples), self.layout.num_times, self.channels, *self.spatial_shape)
        data = torch.empty(shape, dtype=torch.float32)
        for position, sample in enumerate(self.samples):
            data[position] = torch.from_numpy(self._reader.read(sample, 0, self.layout.num_times))
        self._reader.close()
        return data

    def _frames(self, position: int, start: int, stop: int) -> Tensor:
        """Frames ``start:stop`` of trajectory ``samples[position]``: (stop - start, C, *S) float32, normalised."""
        if self._data is not None:
            frames = self._data[position, start:stop].clone()
        else:
            raw = self._reader.read(self.samples[position], start, stop)
            frames = torch.from_numpy(np.asarray(raw, dtype=np.float32))
        return frames if self.normalizer is None else self.normalizer.normalize(frames)


class WindowDataset(BaseFieldDataset):
    """Every window of ``history`` input frames followed by ``horizon`` target frames.

    Windows start every ``stride`` frames at 0, stride, 2 stride, ... while they fit in the T frames, so each
    trajectory gives W = (T - history - horizon) // stride + 1 windows; item i is window i % W of trajectory
    ``samples[i // W]``.

    Items: ``{"input": (history, C, *S) float32, "target": (horizon, C, *S) float32, "sample": int, "start": int}``,
    with ``sample`` the trajectory's index in the file and ``start`` the window's first frame.

    Args:
        path: a dataset file of any format `open_dataset` reads.
        fields: the fields, in channel order; None takes every variable with dims (sample, time, ...).
        history: input frames per window, >= 1.
        horizon: target frames per window, >= 1.
        stride: frames between window starts, >= 1.
        samples: the trajectory indices; None takes all.
        in_memory: see `BaseFieldDataset`.
        normalizer: applied to inputs and targets when set.
        format: the format (see `open_dataset`); None detects it.

    Raises:
        DatasetError: bad fields or samples (see `read_layout`), or a window longer than the trajectories.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fields: Sequence[str] | None = None,
        history: int = 1,
        horizon: int = 1,
        stride: int = 1,
        samples: Sequence[int] | range | None = None,
        in_memory: bool | None = None,
        normalizer: Normalizer | None = None,
        format: str | None = None,
    ) -> None:
        for name, value in (("history", history), ("horizon", horizon), ("stride", stride)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}.")
        super().__init__(
            path, fields=fields, samples=samples, in_memory=in_memory, normalizer=normalizer, format=format
        )
        self.history, self.horizon, self.stride = history, horizon, stride
        times = self.layout.num_times
        if history + horizon > times:
            raise DatasetError(
                f"{self.layout.path}: a window of history {history} + horizon {horizon} = {history + horizon} "
                f"frames is longer than the trajectories, which have T = {times} frames. Use history + horizon "
                f"<= {times}."
            )
        self.windows_per_trajectory = (times - history - horizon) // stride + 1

    def __len__(self) -> int:
        return len(self.samples) * self.windows_per_trajectory

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"window index {index} is out of range for {len(self)} windows")
        position, window = divmod(index, self.windows_per_trajectory)
        start = window * self.stride
        frames = self._frames(position, start, start + self.history + self.horizon)
        return {
            "input": frames[: self.history],
            "target": frames[self.history :],
            "sample": self.samples[position],
            "start": start,
        }


class TrajectoryDataset(BaseFieldDataset):
    """Whole trajectories: item i is ``{"trajectory": (T, C, *S) float32, "sample": samples[i]}``.

    Args: as `BaseFieldDataset`.
    """

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"trajectory index {index} is out of range for {len(self)} trajectories")
        return {"trajectory": self._frames(index, 0, self.layout.num_times), "sample": self.samples[index]}


class CollocationDataset(Dataset[dict[str, Tensor]]):
    """The space-time points of one trajectory and the field values there, for PINNs.

    The whole trajectory is held in memory as two tensors, ``points`` (P, d+1) = (x[, y[, z]], t) from the file's
    coordinates and ``values`` (P, C), with P = T * prod(S) in (time, x[, y[, z]]) row-major order. Item i is one
    point, ``{"points": (d+1,), "values": (C,)}``, so a DataLoader gives random minibatches (B, d+1), (B, C); for
    full-batch training (e.g. L-BFGS) use the two tensors directly rather than a loader, which would collate P
    single points. Values are the file's, not normalised.

    Args:
        path: a dataset file of any format `open_dataset` reads, with coordinates ``time`` and every spatial dim.
        fields: the fields, in channel order; None takes every variable with dims (sample, time, ...).
        sample: the trajectory's index in the file.
        format: the format (see `open_dataset`); None detects it.

    Raises:
        DatasetError: bad fields or sample (see `read_layout`), or a coordinate is missing.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fields: Sequence[str] | None = None,
        sample: int = 0,
        format: str | None = None,
    ) -> None:
        layout = read_layout(path, fields, format=format)
        (self.sample,) = check_samples(layout, [sample])
        self.layout = layout
        self.points = _spacetime_points(layout)
        reader = FrameReader(layout)
        frames = torch.from_numpy(np.asarray(reader.read(self.sample, 0, layout.num_times), dtype=np.float32))
        reader.close()
        self.values = frames.movedim(1, -1).reshape(-1, len(layout.fields))

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {"points": self.points[index], "values": self.values[index]}


def _spacetime_points(layout: FieldLayout) -> Tensor:
    """Points (T * prod(S), d+1), columns (x[, y[, z]], t), rows in (time, x[, y[, z]]) row-major order, float32."""
    axes = ("time", *layout.spatial_dims)
    missing = [name for name in axes if name not in layout.coords]
    if missing:
        raise DatasetError(
            f"{layout.path} has no coordinate {quoted(missing)}, which CollocationDataset needs to place the "
            "points. Add the coordinates to the file (the pdeops format always has them)."
        )
    grids = torch.meshgrid(*(torch.as_tensor(layout.coords[name]) for name in axes), indexing="ij")
    return torch.stack([*grids[1:], grids[0]], dim=-1).reshape(-1, len(axes)).float()
