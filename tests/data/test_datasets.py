"""Window, trajectory and collocation datasets, the normaliser and the DataModule, on small real files."""

import pickle
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import torch
import xarray as xr
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler

from pdeops.data import (
    CollocationDataset,
    DatasetError,
    Normalizer,
    PDEDataModule,
    TrajectoryDataset,
    WindowDataset,
)
from pdeops.data import datasets as datasets_module
from pdeops.data.datamodule import split_trajectories
from pdeops.data.datasets import fits_in_memory
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation.checkpoints import training_data
from tests.data.test_readers import _write_the_well_dataset

NS2D = GenerationConfig(
    recipe="ns2d-fno", samples=4, resolution=16, solve_resolution=32, horizon=1.0, record_every=0.125, dt=1e-3
)
RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def ns2d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated native file: vorticity (4 samples, 9 times, 16, 16)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the solve is tiny; more threads only contend on a shared CPU
    try:
        return generate(NS2D, tmp_path_factory.mktemp("ns2d") / "ns2d.h5")
    finally:
        torch.set_num_threads(threads)


def _write_native(path: Path, variables: Mapping[str, tuple[tuple[str, ...], np.ndarray]], **coords: Any) -> Path:
    """Write a native-format file (NetCDF-4 through h5netcdf, ``pdeops_format`` set) with these variables."""
    dataset = xr.Dataset(dict(variables), coords=coords, attrs={"pdeops_format": "1"})
    dataset.to_netcdf(path, engine="h5netcdf")
    return path


U = RNG.normal(2.0, 3.0, (10, 6, 8)).astype(np.float32)
V = RNG.normal(-1.0, 0.5, (10, 6, 8)).astype(np.float32)
U[8:] += 100.0  # val and test trajectories differ from train, so statistics that saw them would show it


@pytest.fixture(scope="module")
def fields1d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A native 1-D file with fields u, v (10 samples, 6 times, 8 points) and a static field nu (sample, x)."""
    dims = ("sample", "time", "x")
    return _write_native(
        tmp_path_factory.mktemp("fields1d") / "fields1d.h5",
        {"u": (dims, U), "v": (dims, V), "nu": (("sample", "x"), U[:, 0])},
        time=np.linspace(0.0, 0.5, 6),
        x=np.arange(8) / 8,
    )


@pytest.fixture(scope="module")
def pdebench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An external (PDEBench 1-D) file, read through open_dataset: u (3 samples, 5 times, 8 points)."""
    path = tmp_path_factory.mktemp("pdebench") / "1D_Advection.hdf5"
    with h5py.File(path, "w") as file:
        file["tensor"] = U[:3, :5]
        file["x-coordinate"] = np.arange(8) / 8
        file["t-coordinate"] = np.linspace(0.0, 1.0, 6)
    return path


def _file_frames(path: Path, sample: int, start: int, stop: int, fields: list[str]) -> torch.Tensor:
    """Frames (stop - start, C, *S) read with plain h5py."""
    with h5py.File(path, "r") as file:
        return torch.from_numpy(np.stack([file[name][sample, start:stop] for name in fields], axis=1))


def _items(dataset: WindowDataset | TrajectoryDataset) -> Iterator[dict[str, Any]]:
    return (dataset[index] for index in range(len(dataset)))


def _assert_items_equal(first: dict[str, Any], second: dict[str, Any]) -> None:
    assert first.keys() == second.keys()
    for key, value in first.items():
        assert torch.equal(value, second[key]) if isinstance(value, torch.Tensor) else value == second[key]


# Windows and trajectories


@pytest.mark.parametrize("in_memory", [False, True])
def test_window_items_are_the_files_frames(ns2d: Path, in_memory: bool) -> None:
    dataset = WindowDataset(ns2d, history=2, horizon=3, stride=2, samples=[3, 1], in_memory=in_memory)
    assert dataset.in_memory is in_memory
    assert len(dataset) == 2 * 3  # T = 9: windows of 5 frames start at 0, 2, 4
    expected_order = [(3, 0), (3, 2), (3, 4), (1, 0), (1, 2), (1, 4)]
    assert [(item["sample"], item["start"]) for item in _items(dataset)] == expected_order
    for item in _items(dataset):
        frames = _file_frames(ns2d, item["sample"], item["start"], item["start"] + 5, ["vorticity"])
        assert item["input"].shape == (2, 1, 16, 16) and item["input"].dtype == torch.float32
        assert torch.equal(item["input"], frames[:2])
        assert torch.equal(item["target"], frames[2:])


def test_channels_follow_the_order_of_fields(fields1d: Path) -> None:
    item = WindowDataset(fields1d, fields=["v", "u"], history=1, horizon=2, samples=[7])[3]
    assert item["input"].shape == (1, 2, 8)
    assert torch.equal(item["target"][:, 0], torch.from_numpy(V[7, 4:6]))
    assert torch.equal(item["target"][:, 1], torch.from_numpy(U[7, 4:6]))


def test_default_fields_are_the_time_dependent_variables(fields1d: Path) -> None:
    assert TrajectoryDataset(fields1d).fields == ("u", "v")


def test_trajectory_items_are_whole_trajectories(fields1d: Path) -> None:
    dataset = TrajectoryDataset(fields1d, samples=range(2, 5), in_memory=False)
    assert len(dataset) == 3
    item = dataset[1]
    assert item["sample"] == 3
    assert torch.equal(item["trajectory"], _file_frames(fields1d, 3, 0, 6, ["u", "v"]))


def test_external_format_is_read_through_open_dataset(pdebench: Path) -> None:
    dataset = WindowDataset(pdebench, history=3, horizon=2, in_memory=False)
    assert not dataset.layout.native
    assert len(dataset) == 3
    item = dataset[2]
    assert torch.equal(item["input"][:, 0], torch.from_numpy(U[2, :3]))
    assert torch.equal(item["target"][:, 0], torch.from_numpy(U[2, 3:5]))


@pytest.mark.parametrize("kind", [WindowDataset, TrajectoryDataset])
@pytest.mark.parametrize("file", ["ns2d", "pdebench"])
def test_lazy_and_in_memory_items_are_identical(kind: type, file: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(file)
    normalizer = Normalizer.fit(path)
    lazy = kind(path, in_memory=False, normalizer=normalizer)
    memory = kind(path, in_memory=True, normalizer=normalizer)
    assert len(lazy) == len(memory) > 0
    for first, second in zip(_items(lazy), _items(memory), strict=True):
        _assert_items_equal(first, second)


def test_in_memory_is_chosen_by_size(fields1d: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert TrajectoryDataset(fields1d).in_memory
    assert not fits_in_memory(2**62)
    monkeypatch.setattr(datasets_module, "IN_MEMORY_MAX_BYTES", 100)
    assert not TrajectoryDataset(fields1d).in_memory
    assert TrajectoryDataset(fields1d, in_memory=True).in_memory


def test_lazy_dataset_pickles_after_use(ns2d: Path) -> None:
    dataset = WindowDataset(ns2d, horizon=2, in_memory=False)
    first = dataset[5]  # opens the file in this process
    copy = pickle.loads(pickle.dumps(dataset))
    _assert_items_equal(copy[5], first)
    _assert_items_equal(copy[len(copy) - 1], dataset[len(dataset) - 1])


def test_loader_workers_give_the_same_batches(ns2d: Path) -> None:
    dataset = WindowDataset(ns2d, history=2, in_memory=False, normalizer=Normalizer.fit(ns2d))
    dataset[0]  # a handle open in the parent must not be used by the workers
    serial = list(DataLoader(dataset, batch_size=5))
    parallel = list(DataLoader(dataset, batch_size=5, num_workers=2))
    assert len(serial) == len(parallel) == 6  # 4 trajectories x 7 windows = 28 windows
    for first, second in zip(serial, parallel, strict=True):
        _assert_items_equal(first, second)


# Collocation points


def test_collocation_points_and_values_follow_the_grid(ns2d: Path) -> None:
    dataset = CollocationDataset(ns2d, sample=2)
    with h5py.File(ns2d, "r") as file:
        time, x, y, w = file["time"][:], file["x"][:], file["y"][:], file["vorticity"][2]
    assert len(dataset) == 9 * 16 * 16
    t_grid, x_grid, y_grid = np.meshgrid(time, x, y, indexing="ij")
    expected = np.stack([x_grid, y_grid, t_grid], axis=-1).reshape(-1, 3)
    np.testing.assert_allclose(dataset.points.numpy(), expected, rtol=1e-7)
    assert torch.equal(dataset.values, torch.from_numpy(w.reshape(-1, 1)))
    point = dataset[1 * 256 + 3 * 16 + 5]  # time 1, x 3, y 5
    np.testing.assert_allclose(point["points"].numpy(), [x[3], y[5], time[1]], rtol=1e-7)
    assert point["values"].item() == w[1, 3, 5]


# Normalisation


def test_normalizer_fit_uses_only_the_given_samples(fields1d: Path) -> None:
    normalizer = Normalizer.fit(fields1d, ["u", "v"], range(8))
    train = np.stack([U[:8], V[:8]]).astype(np.float64).reshape(2, -1)
    np.testing.assert_allclose(normalizer.mean.numpy(), train.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(normalizer.std.numpy(), train.std(axis=1), rtol=1e-12)
    assert normalizer.mean[0] < 10  # the offset trajectories 8 and 9 would pull it above 20


def test_normalizer_fit_from_a_dataset_uses_its_fields_and_samples(fields1d: Path) -> None:
    dataset = WindowDataset(fields1d, fields=["v"], samples=[1, 4])
    normalizer = Normalizer.fit(dataset)
    np.testing.assert_allclose(normalizer.mean.numpy(), [V[[1, 4]].astype(np.float64).mean()], rtol=1e-12)


def test_normalized_train_split_has_mean_zero_and_std_one(fields1d: Path) -> None:
    normalizer = Normalizer.fit(fields1d, samples=range(8))
    train = TrajectoryDataset(fields1d, samples=range(8), normalizer=normalizer)
    data = torch.stack([item["trajectory"] for item in _items(train)]).double()  # (N, T, C, X)
    per_channel = data.transpose(0, 2).reshape(2, -1)
    torch.testing.assert_close(per_channel.mean(dim=1), torch.zeros(2, dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(per_channel.std(dim=1, unbiased=False), torch.ones(2, dtype=torch.float64))


def test_denormalize_inverts_normalize(generator: torch.Generator) -> None:
    normalizer = Normalizer(torch.tensor([3.0, -1.0, 0.5]), torch.tensor([2.0, 0.1, 7.0]), spatial_dims=2)
    x = torch.randn(2, 4, 3, 5, 6, generator=generator, dtype=torch.float64)  # (B, T, C, X, Y)
    y = x
    for _ in range(16):
        y = normalizer.denormalize(normalizer.normalize(y))
    torch.testing.assert_close(y, x, rtol=1e-12, atol=1e-12)
    one_frame = normalizer.normalize(x[0, 0])  # (C, X, Y)
    torch.testing.assert_close(one_frame[1], (x[0, 0, 1] + 1.0) / 0.1)


def test_zero_std_becomes_one_without_nan() -> None:
    normalizer = Normalizer(torch.tensor([2.0]), torch.tensor([0.0]), spatial_dims=1)
    assert normalizer.std.item() == 1.0
    assert torch.equal(normalizer.normalize(torch.full((1, 4), 2.0)), torch.zeros(1, 4))


def test_normalizer_refuses_a_tensor_with_other_channels() -> None:
    normalizer = Normalizer(torch.zeros(2), torch.ones(2), spatial_dims=2)
    with pytest.raises(ValueError, match=r"Expected a tensor \(\.\.\., C=2, \*S\) with 2 spatial axes, got shape"):
        normalizer.normalize(torch.zeros(4, 3, 8, 8))


def test_normalizer_state_dict_round_trip(fields1d: Path, tmp_path: Path) -> None:
    normalizer = Normalizer.fit(fields1d, samples=range(8))
    torch.save(normalizer.state_dict(), tmp_path / "state.pt")
    restored = Normalizer.identity(channels=2, spatial_dims=1)
    assert not restored.fitted
    restored.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    assert torch.equal(restored.mean, normalizer.mean) and restored.mean.dtype == torch.float64
    assert torch.equal(restored.std, normalizer.std) and restored.fitted


# Splits and the DataModule


@pytest.mark.parametrize(
    ("count", "split", "sizes"),
    [
        (10, (0.8, 0.1, 0.1), (8, 1, 1)),
        (20, (0.8, 0.1, 0.1), (16, 2, 2)),
        (25, (0.8, 0.1, 0.1), (20, 3, 2)),
        (3, (1 / 3, 1 / 3, 1 / 3), (1, 1, 1)),
        (7, (0.5, 0.25, 0.25), (4, 1, 2)),
    ],
)
def test_split_trajectories_sizes(count: int, split: tuple[float, float, float], sizes: tuple[int, ...]) -> None:
    ranges = split_trajectories(count, split)
    assert tuple(len(indices) for indices in ranges.values()) == sizes
    assert [index for indices in ranges.values() for index in indices] == list(range(count))


def _module(path: Path, **kwargs: Any) -> PDEDataModule:
    return PDEDataModule(str(path), batch_size=4, **kwargs)


def test_datamodule_fits_statistics_on_train_and_serves_physical_units(fields1d: Path) -> None:
    module = _module(fields1d, fields=["u", "v"], history=2, horizon=1)
    module.setup("fit")
    assert module.channels == 2 and module.spatial_shape == (8,)
    assert module.splits == {"train": range(0, 8), "val": range(8, 9), "test": range(9, 10)}
    reference = Normalizer.fit(fields1d, ["u", "v"], range(8))
    assert torch.equal(module.fit_normalizer().mean, reference.mean)
    val_item = module.datasets["val"][1]
    raw = torch.from_numpy(np.stack([U[8, 1:3], V[8, 1:3]], axis=1))
    torch.testing.assert_close(val_item["input"], raw)  # the tasks normalise, not the data
    description = module.describe()
    assert description["splits"] == {"train": [0, 8], "val": [8, 9], "test": [9, 10]}
    assert description["items"] == {"train": 8 * 4, "val": 4, "test": 4}


def test_datamodule_refuses_state_of_other_fields(fields1d: Path) -> None:
    state = _module(fields1d, fields=["u"]).state_dict()
    assert state == {"fields": ["u"], "test": [9]}  # the statistics live in the task, not here
    with pytest.raises(DatasetError, match=r"state is for fields 'u', but this data module reads 'u', 'v'"):
        _module(fields1d).load_state_dict(state)


def test_datamodule_loaders_windows_and_eval_horizon(fields1d: Path) -> None:
    module = _module(fields1d, history=2, horizon=1, eval_horizon=3)
    module.setup("fit")
    train, val = module.train_dataloader(), module.val_dataloader()
    assert isinstance(train.sampler, RandomSampler)
    assert isinstance(val.sampler, SequentialSampler)
    assert isinstance(module.test_dataloader().sampler, SequentialSampler)
    assert next(iter(train))["target"].shape == (4, 1, 2, 8)
    val_batch = next(iter(val))
    assert val_batch["input"].shape == (2, 2, 2, 8) and val_batch["target"].shape == (2, 3, 2, 8)
    assert val_batch["start"].tolist() == [0, 1]  # not shuffled


def test_datamodule_trajectory_task(fields1d: Path) -> None:
    module = _module(fields1d, task="trajectory")
    module.setup()
    batch = next(iter(module.train_dataloader()))
    assert batch["trajectory"].shape == (4, 6, 2, 8)
    assert len(module.datasets["test"]) == 1


# Bad input


def test_missing_field_names_asked_and_found(fields1d: Path) -> None:
    with pytest.raises(DatasetError, match=r"no variable 'w': asked for fields 'u', 'w', and the file's fields are "):
        WindowDataset(fields1d, fields=["u", "w"])


def test_fields_given_as_a_string(fields1d: Path) -> None:
    with pytest.raises(DatasetError, match=r"list of names, got the string 'u'; write \['u'\]"):
        WindowDataset(fields1d, fields="u")


@pytest.mark.parametrize(
    ("dims", "shape"),
    [
        (("sample", "x"), (2, 8)),
        (("sample", "time"), (2, 3)),
        (("sample", "time", "x", "y", "z", "w"), (2, 3, 1, 1, 1, 1)),
    ],
)
def test_field_of_wrong_rank(tmp_path: Path, dims: tuple[str, ...], shape: tuple[int, ...]) -> None:
    good = (("sample", "time", "q"), np.zeros((2, 3, 4), np.float32))  # the file is valid, the choice of u is not
    path = _write_native(tmp_path / "rank.h5", {"u": (dims, np.zeros(shape, np.float32)), "v": good})
    with pytest.raises(
        DatasetError, match=r"variable 'u' has dims .* must have dims \(sample, time, x\[, y\[, z\]\]\)"
    ):
        TrajectoryDataset(path, fields=["u"])


def test_file_without_time_dependent_fields(tmp_path: Path) -> None:
    path = _write_native(tmp_path / "static.h5", {"nu": (("sample", "x"), np.zeros((2, 4), np.float32))})
    with pytest.raises(
        DatasetError, match=r"does not meet the pdeops format .*no variable with dims \(sample, time, x\[, y\[, z\]\]\)"
    ):
        WindowDataset(path)


def test_fields_on_different_grids(tmp_path: Path) -> None:
    coarse, fine = np.zeros((2, 3, 4), np.float32), np.zeros((2, 3, 8), np.float32)
    path = _write_native(
        tmp_path / "grids.h5", {"u": (("sample", "time", "x"), coarse), "w": (("sample", "time", "xf"), fine)}
    )
    with pytest.raises(DatasetError, match=r"different spatial grids \('u' \{'x': 4\}, 'w' \{'xf': 8\}\)"):
        TrajectoryDataset(path)


def test_window_longer_than_the_trajectories(fields1d: Path) -> None:
    with pytest.raises(DatasetError, match=r"history 4 \+ horizon 3 = 7 frames .* have T = 6 frames"):
        WindowDataset(fields1d, history=4, horizon=3)


@pytest.mark.parametrize("option", ["history", "horizon", "stride"])
def test_window_sizes_must_be_positive(fields1d: Path, option: str) -> None:
    with pytest.raises(ValueError, match=f"{option} must be >= 1, got 0"):
        WindowDataset(fields1d, **{option: 0})  # type: ignore[arg-type]


def test_samples_out_of_range_and_index_out_of_range(fields1d: Path) -> None:
    with pytest.raises(DatasetError, match=r"has 10 trajectories \(indices 0 to 9\), but samples= asks for \[10\]"):
        TrajectoryDataset(fields1d, samples=[3, 10])
    dataset = TrajectoryDataset(fields1d, samples=[3])
    with pytest.raises(IndexError, match="index 1 is out of range for 1 trajectories"):
        dataset[1]
    with pytest.raises(IndexError, match="index 5 is out of range for 5 windows"):
        WindowDataset(fields1d, samples=[3])[5]


def test_nan_in_data_names_sample_and_time(tmp_path: Path) -> None:
    u = np.ones((3, 4, 5), np.float32)
    u[2, 3, 1] = np.inf
    path = _write_native(tmp_path / "nan.h5", {"u": (("sample", "time", "x"), u)})
    assert Normalizer.fit(path, samples=[0, 1]).mean.item() == 1.0
    with pytest.raises(DatasetError, match="field 'u' of sample 2 holds NaN or Inf at time index 3"):
        Normalizer.fit(path)
    with pytest.raises(DatasetError, match="over zero trajectories"):
        Normalizer.fit(path, samples=[])


def test_split_larger_than_the_data(ns2d: Path) -> None:
    with pytest.raises(
        DatasetError, match=r"of the 4 trajectories in .* gives train 3, val 1, test 0: the split is larger"
    ):
        _module(ns2d).setup()
    with pytest.raises(ValueError, match="three non-negative fractions .* summing to 1"):
        split_trajectories(10, (0.8, 0.3, 0.1))


def test_collocation_needs_coordinates(tmp_path: Path) -> None:
    path = _write_native(tmp_path / "bare.h5", {"u": (("sample", "time", "x"), np.zeros((1, 2, 3), np.float32))})
    with pytest.raises(DatasetError, match=r"no coordinate 'time', 'x', which CollocationDataset needs"):
        CollocationDataset(path)


def test_datamodule_misuse() -> None:
    with pytest.raises(ValueError, match=r"task must be one of 'window', 'trajectory', got 'rollout'"):
        PDEDataModule("unused.h5", task="rollout")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match=r"Call setup\(\) before train_dataloader\(\)"):
        PDEDataModule("unused.h5").train_dataloader()


# Users' own files, official splits and datasets that span files


def test_a_users_xarray_file_trains_and_its_encoding_is_decoded(tmp_path: Path) -> None:
    u = RNG.normal(size=(3, 4, 8)).astype(np.float32)
    plain, packed = tmp_path / "plain.nc", tmp_path / "packed.nc"
    xr.Dataset({"u": (("sample", "time", "x"), u)}).to_netcdf(plain, engine="h5netcdf")
    encoding = {"u": {"dtype": "int16", "scale_factor": 1e-3, "add_offset": 0.5, "_FillValue": -32768}}
    xr.Dataset({"u": (("sample", "time", "x"), u)}).to_netcdf(packed, engine="h5netcdf", encoding=encoding)
    fast, decoded = TrajectoryDataset(plain, format="pdeops"), TrajectoryDataset(packed, in_memory=False)
    assert fast.layout.native and not decoded.layout.native  # h5py would read the packed integers raw
    torch.testing.assert_close(fast[2]["trajectory"][:, 0], torch.from_numpy(u[2]))
    torch.testing.assert_close(decoded[2]["trajectory"][:, 0], torch.from_numpy(u[2]), atol=1e-3, rtol=0)
    with pytest.raises(DatasetError, match=r"the 'pdebench' format needs|lacks|has none of"):
        TrajectoryDataset(plain, format="pdebench")


def test_the_wells_official_split_is_used_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write_the_well_dataset(tmp_path / "rayleigh_benard")
    module = _module(tmp_path / "rayleigh_benard", fields=["buoyancy"], history=1, horizon=1)
    with caplog.at_level("INFO"):
        module.setup("fit")
    assert module.splits == {"train": [0, 1, 2, 3], "val": [4, 5], "test": [6, 7]}
    assert "official split" in caplog.text and "train/, valid/ and test/ folders" in caplog.text
    assert module.describe()["splits"] == {"train": [0, 4], "val": [4, 6], "test": [6, 8]}
    batch = next(iter(module.test_dataloader()))
    assert batch["sample"].tolist() == [6, 6, 7, 7]
    own = _module(tmp_path / "rayleigh_benard" / "data" / "train", fields=["buoyancy"], split=(0.5, 0.25, 0.25))
    assert own.splits["test"] == range(3, 4) and "so the split fractions" in own.split_description  # train only


def test_pdebench_test_set_is_kept_and_validation_comes_from_its_training_samples(tmp_path: Path) -> None:
    path = tmp_path / "1D_Advection.hdf5"
    with h5py.File(path, "w") as file:
        file["tensor"] = RNG.normal(size=(20, 4, 8))
    module = _module(path)
    assert module.splits == {"train": list(range(2, 18)), "val": [18, 19], "test": [0, 1]}
    assert "no validation split, so the last 2 of its training trajectories validate" in module.split_description
    fractions = _module(path, official_split=False)
    assert fractions.splits["test"] == range(18, 20) and "official_split=False" in fractions.split_description
    excluded = _module(path, exclude=[1])
    assert excluded.samples("test") == [0]
    checkpoint = {"PDEDataModule": excluded.state_dict(), "datamodule_hyper_parameters": {"split": (0.8, 0.1, 0.1)}}
    assert training_data(checkpoint).test_samples(20, str(path)) == [0]  # evaluation scores the trained test split


def test_a_finite_value_beyond_float32_is_named_as_what_it_is(tmp_path: Path) -> None:
    u = np.ones((3, 4, 5), np.float64)
    u[1, 2, 3] = 1e39  # finite in the file, Inf as the float32 a dataset holds
    path = _write_native(tmp_path / "big.h5", {"u": (("sample", "time", "x"), u)})
    with pytest.raises(DatasetError, match=r"field 'u' of sample 1 holds 1e\+39, beyond float32's range .* index 2"):
        WindowDataset(path, in_memory=True)
    u[1, 2, 3] = 1e38  # large, within float32: read as it is
    path = _write_native(tmp_path / "large.h5", {"u": (("sample", "time", "x"), u)})
    assert float(WindowDataset(path, in_memory=True)._data.max()) == pytest.approx(1e38, rel=1e-6)
