"""`open_dataset` on small files written here in each external layout, and on bad input."""

from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import xarray as xr

from pdeops.data import DatasetError, open_dataset

RNG = np.random.default_rng(0)


def _write_h5(path: Path, arrays: Mapping[str, np.ndarray], **h5_kwargs: int) -> Path:
    """Write ``arrays`` (keys may be paths like ``"0000/data"``) to a fresh HDF5 file."""
    with h5py.File(path, "w", **h5_kwargs) as file:
        for name, array in arrays.items():
            file[name] = array
    return path


def _random(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def _assert_lazy(variable: xr.DataArray) -> None:
    assert not isinstance(variable.variable._data, np.ndarray)


def test_native_pdeops_file_is_opened_with_h5netcdf(tmp_path: Path) -> None:
    u = _random(2, 3, 4)
    native = xr.Dataset(
        {"u": (("sample", "time", "x"), u)}, coords={"x": np.linspace(0, 1, 4)}, attrs={"pdeops_format": "1"}
    )
    native.to_netcdf(tmp_path / "native.h5", engine="h5netcdf")
    with open_dataset(tmp_path / "native.h5") as ds:
        assert ds.attrs["source_format"] == "pdeops"
        assert ds.attrs["source_path"] == str((tmp_path / "native.h5").resolve())
        np.testing.assert_array_equal(ds["u"].isel(sample=1).values, u[1])
        np.testing.assert_array_equal(ds["x"].values, np.linspace(0, 1, 4))


def test_pdebench_tensor_1d_uses_first_t_edges(tmp_path: Path) -> None:
    tensor = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5)
    t_edges = np.linspace(0.0, 2.0, 5)  # one more entry than the 4 time steps
    path = _write_h5(
        tmp_path / "1D_Advection.hdf5",
        {"tensor": tensor, "x-coordinate": np.linspace(0, 1, 5), "t-coordinate": t_edges},
    )
    with open_dataset(path) as ds:
        assert ds.attrs["source_format"] == "pdebench"
        assert ds["u"].dims == ("sample", "time", "x")
        _assert_lazy(ds["u"])
        np.testing.assert_array_equal(ds["u"].isel(sample=1, time=2).values, tensor[1, 2])
        np.testing.assert_array_equal(ds["time"].values, t_edges[:4])
        np.testing.assert_array_equal(ds["x"].values, np.linspace(0, 1, 5))


def test_pdebench_cfd_2d_keeps_field_names_and_static_fields(tmp_path: Path) -> None:
    fields = {name: _random(2, 3, 4, 5) for name in ("density", "pressure", "Vx", "Vy")}
    nu = _random(2, 4, 5)
    path = _write_h5(
        tmp_path / "2D_CFD.hdf5",
        {**fields, "nu": nu, "x-coordinate": np.arange(4.0), "y-coordinate": np.arange(5.0) / 5},
    )
    with open_dataset(path) as ds:
        assert set(ds.data_vars) == {"density", "pressure", "Vx", "Vy", "nu"}
        assert ds["Vy"].dims == ("sample", "time", "x", "y")
        np.testing.assert_array_equal(ds["Vy"].isel(sample=0, time=2).values, fields["Vy"][0, 2])
        np.testing.assert_array_equal(ds["pressure"].isel(x=3).values, fields["pressure"][:, :, 3])
        assert ds["nu"].dims == ("sample", "x", "y")
        np.testing.assert_array_equal(ds["nu"].values, nu)
        np.testing.assert_array_equal(ds["y"].values, np.arange(5.0) / 5)
        assert "time" not in ds.coords


@pytest.mark.parametrize(("channels", "names"), [(2, ["u0", "u1"]), (1, ["u"])])
def test_pdebench_seeds_stack_on_the_sample_axis(tmp_path: Path, channels: int, names: list[str]) -> None:
    data = [_random(3, 4, 5, channels) for _ in range(3)]
    arrays = {f"{seed:04d}/data": frames for seed, frames in enumerate(data)}
    grid = {"0000/grid/t": np.linspace(0, 1, 3), "0000/grid/x": np.arange(4.0), "0000/grid/y": np.arange(5.0)}
    with open_dataset(_write_h5(tmp_path / "2D_diff-react.h5", {**arrays, **grid})) as ds:
        assert ds.attrs["source_format"] == "pdebench-seeds"
        assert list(ds.data_vars) == names
        last = ds[names[-1]]
        _assert_lazy(last)
        assert last.dims == ("sample", "time", "x", "y")
        np.testing.assert_array_equal(last.isel(sample=2, time=1).values, data[2][1, ..., -1])
        picked = last.isel(sample=[2, 0], x=slice(None, None, -1)).values
        np.testing.assert_array_equal(picked, np.stack([data[2], data[0]])[:, :, ::-1, :, -1])
        np.testing.assert_array_equal(ds["time"].values, np.linspace(0, 1, 3))


def test_pdebench_ns_incom_splits_velocity_and_force(tmp_path: Path) -> None:
    velocity, particles, force = _random(2, 3, 4, 5, 2), _random(2, 3, 4, 5, 1), _random(2, 4, 5, 2)
    t = np.tile(np.linspace(0, 5, 3), (2, 1))
    path = _write_h5(
        tmp_path / "ns_incom_inhom_2d_512-0.h5",
        {"velocity": velocity, "particles": particles, "force": force, "t": t},
    )
    with open_dataset(path) as ds:
        assert ds.attrs["source_format"] == "pdebench-ns-incom"
        np.testing.assert_array_equal(ds["velocity_x"].isel(sample=1, time=2).values, velocity[1, 2, ..., 0])
        np.testing.assert_array_equal(ds["velocity_y"].isel(time=0).values, velocity[:, 0, ..., 1])
        np.testing.assert_array_equal(ds["particles"].values, particles[..., 0])
        assert ds["force_y"].dims == ("sample", "x", "y")
        np.testing.assert_array_equal(ds["force_y"].values, force[..., 1])
        np.testing.assert_array_equal(ds["time"].values, t[0])


FNO_A, FNO_U, FNO_T = _random(3, 4, 5), _random(3, 4, 5, 6), np.linspace(0.1, 0.6, 6)[None, :]


def _write_mat_v73(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """MATLAB v7.3: HDF5 behind a 512-byte header, every array stored with its axes reversed."""
    _write_h5(path, {name: array.T for name, array in arrays.items()}, userblock_size=512)
    with path.open("r+b") as stream:
        stream.write(b"MATLAB 7.3 MAT-file, written by the pdeops tests".ljust(116))
    return path


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_fno_mat_puts_time_second(tmp_path: Path, version: str) -> None:
    path = tmp_path / "ns_V1e-3_N5000_T50.mat"
    arrays = {"a": FNO_A, "u": FNO_U, "t": FNO_T}
    if version == "v5":
        scipy.io.savemat(path, arrays)
    else:
        _write_mat_v73(path, arrays)
    with open_dataset(path) as ds:
        assert ds.attrs["source_format"] == "fno-mat"
        assert ds["u"].dims == ("sample", "time", "x", "y")
        _assert_lazy(ds["u"])
        assert ds["a"].dims == ("sample", "x", "y")
        np.testing.assert_array_equal(ds["u"].isel(sample=1, time=2).values, FNO_U[1, :, :, 2])
        np.testing.assert_array_equal(ds["u"].isel(x=3, y=[0, 4]).values, FNO_U[:, 3][:, [0, 4]].transpose(0, 2, 1))
        np.testing.assert_array_equal(ds["a"].values, FNO_A)
        np.testing.assert_array_equal(ds["time"].values, FNO_T[0])


def test_fno_burgers_1d_snapshot_has_no_time_axis(tmp_path: Path) -> None:
    a, u = _random(3, 8), _random(3, 8)
    scipy.io.savemat(tmp_path / "burgers_data_R10.mat", {"a": a, "u": u})
    ds = open_dataset(tmp_path / "burgers_data_R10.mat")
    assert ds["u"].dims == ("sample", "x")
    np.testing.assert_array_equal(ds["u"].values, u)
    np.testing.assert_array_equal(ds["a"].isel(sample=2).values, a[2])


def _write_the_well(path: Path) -> dict[str, np.ndarray]:
    arrays = {
        "t0_fields/buoyancy": _random(2, 3, 4, 5),
        "t0_fields/viscosity": _random(2, 4, 5),
        "t1_fields/velocity": _random(2, 3, 4, 5, 2),
        "t2_fields/stress": _random(2, 3, 4, 5, 2, 2),
        "scalars/Rayleigh": np.array(1e6),
        "dimensions/time": np.linspace(0, 1, 3),
        "dimensions/x": np.arange(4.0),
        "dimensions/y": np.arange(5.0),
        "boundary_conditions/x_periodic/mask": np.ones(4, bool),
    }
    _write_h5(path, arrays)
    with h5py.File(path, "a") as file:
        file.attrs.update(dataset_name="rayleigh_benard", n_spatial_dims=2, grid_type="cartesian")
        file["dimensions"].attrs["spatial_dims"] = ["x", "y"]
        file["t0_fields/viscosity"].attrs["time_varying"] = False
        file["scalars/Rayleigh"].attrs.update(sample_varying=False, time_varying=False)
    return arrays


def test_the_well_splits_vectors_and_tensors_by_dim_names(tmp_path: Path) -> None:
    arrays = _write_the_well(tmp_path / "rayleigh_benard.hdf5")
    with open_dataset(tmp_path / "rayleigh_benard.hdf5") as ds:
        assert ds.attrs["source_format"] == "the-well"
        assert ds.attrs["dataset_name"] == "rayleigh_benard"
        assert ds.attrs["n_spatial_dims"] == 2
        expected = {"buoyancy", "viscosity", "velocity_x", "velocity_y", "Rayleigh"}
        assert set(ds.data_vars) == expected | {"stress_xx", "stress_xy", "stress_yx", "stress_yy"}
        np.testing.assert_array_equal(
            ds["velocity_y"].isel(sample=1, time=2).values, arrays["t1_fields/velocity"][1, 2, ..., 1]
        )
        np.testing.assert_array_equal(ds["stress_xy"].values, arrays["t2_fields/stress"][..., 0, 1])
        assert ds["viscosity"].dims == ("sample", "x", "y")
        np.testing.assert_array_equal(ds["viscosity"].values, arrays["t0_fields/viscosity"])
        assert ds["Rayleigh"].dims == ()
        assert float(ds["Rayleigh"]) == 1e6
        np.testing.assert_array_equal(ds["time"].values, np.linspace(0, 1, 3))


@pytest.mark.parametrize(
    ("name", "transpose_xy", "swapped"),
    [("NS-Sines.nc", None, False), ("NS-SL.nc", None, True), ("NS-SL.nc", False, False)],
)
def test_poseidon_velocity_and_ns_sl_transpose(
    tmp_path: Path, name: str, transpose_xy: bool | None, swapped: bool
) -> None:
    velocity = _random(2, 3, 2, 4, 5)
    path = _write_h5(tmp_path / name, {"velocity": velocity})
    with open_dataset(path, transpose_xy=transpose_xy) as ds:
        assert ds.attrs["source_format"] == "poseidon"
        frame = velocity[1, 2, 1].T if swapped else velocity[1, 2, 1]
        np.testing.assert_array_equal(ds["velocity_y"].isel(sample=1, time=2).values, frame)
        assert ds.sizes["x"] == (5 if swapped else 4)


def test_poseidon_data_channels_are_numbered(tmp_path: Path) -> None:
    data = _random(2, 3, 3, 4, 4)
    with open_dataset(_write_h5(tmp_path / "CE-RP.nc", {"data": data})) as ds:
        assert list(ds.data_vars) == ["c0", "c1", "c2"]
        np.testing.assert_array_equal(ds["c2"].isel(time=1).values, data[:, 1, 2])


def _pdearena_split(split: str) -> dict[str, np.ndarray]:
    return {
        f"{split}/u": _random(2, 3, 4, 5),
        f"{split}/vx": _random(2, 3, 4, 5),
        f"{split}/vy": _random(2, 3, 4, 5),
        f"{split}/t": np.tile(np.linspace(18, 102, 3), (2, 1)),
        f"{split}/x": np.tile(np.linspace(0, 32, 4), (2, 1)),
        f"{split}/y": np.tile(np.linspace(0, 32, 5), (2, 1)),
        f"{split}/buo_y": np.array([0.2, 0.5]),
    }


def test_pdearena_reads_the_only_split(tmp_path: Path) -> None:
    arrays = _pdearena_split("train")
    with open_dataset(_write_h5(tmp_path / "NavierStokes2D_train.h5", arrays)) as ds:
        assert ds.attrs["source_format"] == "pdearena"
        assert ds.attrs["split"] == "train"
        np.testing.assert_array_equal(ds["vx"].isel(sample=1, time=2).values, arrays["train/vx"][1, 2])
        np.testing.assert_array_equal(ds["buo_y"].values, [0.2, 0.5])
        np.testing.assert_array_equal(ds["time"].values, np.linspace(18, 102, 3))
        np.testing.assert_array_equal(ds["y"].values, np.linspace(0, 32, 5))


def test_pdearena_split_is_chosen_by_keyword(tmp_path: Path) -> None:
    arrays = {**_pdearena_split("valid"), **_pdearena_split("test")}
    path = _write_h5(tmp_path / "NavierStokes2D.h5", arrays)
    with open_dataset(path, split="test") as ds:
        np.testing.assert_array_equal(ds["u"].values, arrays["test/u"])
    with pytest.raises(DatasetError, match=r"several splits \('valid', 'test'\); pass split="):
        open_dataset(path)
    with pytest.raises(DatasetError, match=r"no split 'train'; it holds 'valid', 'test'"):
        open_dataset(path, split="train")


def test_closing_the_dataset_closes_the_file(tmp_path: Path) -> None:
    path = _write_h5(tmp_path / "1D.hdf5", {"tensor": _random(2, 3, 4)})
    ds = open_dataset(path)
    with pytest.raises(OSError, match="already open"):
        h5py.File(path, "a")
    ds.close()
    h5py.File(path, "a").close()


def _truncate(path: Path) -> Path:
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    return path


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nope\.h5 does not exist\. Check the path.*pdeops generate"):
        open_dataset(tmp_path / "nope.h5")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="is a directory, not a dataset file"):
        open_dataset(tmp_path)


def test_unknown_hdf5_layout_lists_keys_and_formats(tmp_path: Path) -> None:
    path = _write_h5(tmp_path / "other.h5", {"foo": np.zeros(3), "bar": np.zeros(3)})
    with pytest.raises(DatasetError, match=r"top-level keys 'bar', 'foo'\. Supported formats: 'pdeops', "):
        open_dataset(path)


def test_file_that_is_neither_hdf5_nor_matlab(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not data")
    with pytest.raises(DatasetError, match="neither an HDF5/NetCDF-4 file nor a MATLAB"):
        open_dataset(tmp_path / "notes.txt")


def test_truncated_hdf5(tmp_path: Path) -> None:
    path = _truncate(_write_h5(tmp_path / "cut.hdf5", {"tensor": _random(4, 10, 64)}))
    with pytest.raises(DatasetError, match="cut.hdf5 is truncated or corrupt.*re-download"):
        open_dataset(path)


def test_truncated_mat_v5(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "cut.mat", {"a": _random(4, 64), "u": _random(4, 64)})
    with pytest.raises(DatasetError, match="cut.mat is not a readable MATLAB file.*truncated or corrupt"):
        open_dataset(_truncate(tmp_path / "cut.mat"))


def test_missing_variables_name_expected_and_found(tmp_path: Path) -> None:
    path = _write_h5(
        tmp_path / "ns_incom.h5",
        {"velocity": _random(1, 2, 3, 3, 2), "particles": _random(1, 2, 3, 3, 1), "t": np.zeros((1, 2))},
    )
    with pytest.raises(
        DatasetError,
        match=r"lacks 'force', which a PDEBench ns_incom file must have \(found: 'particles', 't', 'vel",
    ):
        open_dataset(path)


def test_wrong_rank_names_shape_and_layout(tmp_path: Path) -> None:
    path = _write_h5(tmp_path / "flat.hdf5", {"tensor": np.zeros((2, 3))})
    with pytest.raises(DatasetError, match=r"'tensor' has shape \(2, 3\).*\(sample, time, x\[, y\[, z\]\]\)"):
        open_dataset(path)


def test_unknown_format_name_and_misplaced_keyword(tmp_path: Path) -> None:
    path = _write_h5(tmp_path / "flat.hdf5", {"tensor": np.zeros((2, 3, 4))})
    with pytest.raises(DatasetError, match=r"Unknown format 'netcdf'.*'pdeops', 'pdebench'"):
        open_dataset(path, format="netcdf")
    with pytest.raises(DatasetError, match=r"'pdebench' file, which takes no 'split' keyword"):
        open_dataset(path, split="train")
