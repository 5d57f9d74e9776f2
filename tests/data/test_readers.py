"""`open_dataset` on small files written here in each external layout, users' own files, datasets that span
files, and bad input."""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import scipy.io
import xarray as xr

from pdeops.cli import main
from pdeops.data import FORMATS, DatasetError, open_dataset
from pdeops.data.generate import generate
from pdeops.data.readers import HDF5_READERS, assume_format
from pdeops.data.recipes import GenerationConfig

RNG = np.random.default_rng(0)


def _write_h5(path: Path, arrays: Mapping[str, np.ndarray], **h5_kwargs: int) -> Path:
    """Write ``arrays`` (keys may be paths like ``"0000/data"``) to a fresh HDF5 file."""
    path.parent.mkdir(parents=True, exist_ok=True)
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


@pytest.mark.parametrize(
    ("file", "variable", "names"),
    [
        ("NS-PwC.nc", "velocity", ["velocity_x", "velocity_y", "tracer"]),
        ("CE-RP.nc", "data", ["density", "velocity_x", "velocity_y", "pressure", "energy"]),
    ],
)
def test_poseidon_channels_keep_poseidons_names(tmp_path: Path, file: str, variable: str, names: list[str]) -> None:
    stored = _random(2, 3, len(names), 4, 4)
    with open_dataset(_write_h5(tmp_path / file, {variable: stored})) as ds:
        assert list(ds.data_vars) == names
        for channel, name in enumerate(names):
            np.testing.assert_array_equal(ds[name].values, stored[:, :, channel])


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


def test_directory_without_data_files(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("notes")
    with pytest.raises(DatasetError, match=r"holds no dataset file \(\.h5, .*\(found: 'README\.md'\)\. Pass the fold"):
        open_dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"The pattern .*\*\.h5 matches no file"):
        open_dataset(tmp_path / "*.h5")


def test_unknown_hdf5_layout_lists_keys_and_formats(tmp_path: Path) -> None:
    path = _write_h5(tmp_path / "other.h5", {"foo": np.zeros(3), "bar": np.zeros(3)})
    with pytest.raises(DatasetError, match=r"top-level keys 'bar', 'foo'\. Supported formats: 'pdeops', "):
        open_dataset(path)


def test_file_that_is_neither_hdf5_nor_matlab(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not data")
    with pytest.raises(DatasetError, match="neither an HDF5/NetCDF file nor a MATLAB"):
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


# Users' own files (docs/format.md)

U2D = _random(3, 4, 5, 6).astype(np.float32)  # (sample, time, x, y)
TIME, X, Y = np.linspace(0.0, 0.3, 4), np.arange(5) / 5, np.arange(6) / 6


def _user_dataset(**variables: tuple[tuple[str, ...], np.ndarray]) -> xr.Dataset:
    return xr.Dataset(variables or {"u": (("sample", "time", "x", "y"), U2D)}, coords={"time": TIME, "x": X, "y": Y})


@pytest.mark.parametrize("engine", ["h5netcdf", "scipy"])  # NetCDF-4 (HDF5) and NetCDF-3
def test_a_users_xarray_file_without_pdeops_attributes_is_read(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "mine.nc"
    _user_dataset().to_netcdf(path, engine=engine)
    with open_dataset(path) as ds:
        assert ds.attrs["source_format"] == "pdeops"
        assert ds["u"].dims == ("sample", "time", "x", "y")
        np.testing.assert_array_equal(ds["u"].isel(sample=2, time=[3, 1]).values, U2D[2, [3, 1]])
        np.testing.assert_array_equal(ds["time"].values, TIME)


def test_a_users_h5py_file_with_dimension_scales_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mine.h5"
    with h5py.File(path, "w") as f:
        f["u"] = U2D
        for i, (name, values) in enumerate({"sample": np.arange(3), "time": TIME, "x": X, "y": Y}.items()):
            f[name] = values
            f[name].make_scale(name)
            f["u"].dims[i].attach_scale(f[name])
    with open_dataset(path) as ds:
        assert ds.attrs["source_format"] == "pdeops"
        np.testing.assert_array_equal(ds["u"].values, U2D)
        np.testing.assert_array_equal(ds["y"].values, Y)


def _markdown_code(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


def test_the_format_documents_examples_write_valid_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writers = [code for code in _markdown_code(Path(__file__).parents[2] / "docs" / "format.md") if "mydata." in code]
    xarray_example, h5py_example = writers
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(xarray_example, namespace)
    exec(h5py_example, namespace)
    for name in ("mydata.nc", "mydata.h5"):
        with open_dataset(tmp_path / name) as ds:
            assert ds["vorticity"].dims == ("sample", "time", "x", "y")
            np.testing.assert_array_equal(ds["vorticity"].values, namespace["u"])


def _write_plain_h5py(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        f["u"] = U2D
        f["time"] = TIME
    return path


def test_an_h5py_file_without_dim_names_is_told_how_to_name_them(tmp_path: Path) -> None:
    path = _write_plain_h5py(tmp_path / "plain.h5")
    named = r"variable\(s\) 'u' have axes without names \(plain h5py writes none\)\. Name them .*make_scale"
    with pytest.raises(DatasetError, match=r"Cannot tell the format .* does not meet the pdeops format .*" + named):
        open_dataset(path)
    with pytest.raises(
        DatasetError, match=r"plain\.h5 does not meet the pdeops format \(docs/format\.md\): \(1\) " + named
    ):
        open_dataset(path, format="pdeops")


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        (
            ("time", "sample", "x", "y"),
            r"put sample first and time second: `ds = ds\.transpose\('sample', 'time', 'x', 'y'\)`",
        ),
        (
            ("batch", "t", "x", "y"),
            r"rename 'batch' to 'sample': `ds = ds\.rename\(\{'batch': 'sample'\}\)`; rename 't' to 'time'",
        ),
        (
            ("run", "time", "x", "y"),
            r"it has no 'sample' dim: rename the dim that counts trajectories .*expand_dims\('sample'\)",
        ),
        (
            ("sample", "time", "y", "x"),
            r"spatial dims in the order \(y, x\); store them as \(x, y\): `ds = ds\.transpose\(",
        ),
    ],
)
def test_a_users_file_with_misnamed_dims_names_the_fix(tmp_path: Path, dims: tuple[str, ...], message: str) -> None:
    path = tmp_path / "mine.nc"
    xr.Dataset({"u": (dims, U2D)}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(DatasetError, match=message):
        open_dataset(path)
    with pytest.raises(DatasetError, match=r"does not meet the pdeops format .*" + message):
        open_dataset(path, format="pdeops")


@pytest.mark.parametrize(
    ("coords", "message"),
    [
        ({"time": TIME[::-1]}, r"coordinate 'time' is not strictly increasing \(index 1: 0\.2 after 0\.3\); .*sortby"),
        (
            {"split": ("sample", ["train", "validation", "test"])},
            r"'split' has dims \('sample',\) and values 'test', 'train', 'validation'",
        ),
    ],
)
def test_a_users_file_with_bad_coordinates_names_the_fix(tmp_path: Path, coords: dict[str, Any], message: str) -> None:
    path = tmp_path / "mine.nc"
    xr.Dataset({"u": (("sample", "time", "x", "y"), U2D)}, coords=coords).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(DatasetError, match=message):
        open_dataset(path)


def test_format_skips_detection_in_python_and_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "1D_Advection.h5"  # a PDEBench name, and dims a user would give it
    xr.Dataset({"tensor": (("sample", "time", "x"), U2D[..., 0])}).to_netcdf(path, engine="h5netcdf")
    with open_dataset(path) as ds:
        assert ds.attrs["source_format"] == "pdeops" and "tensor" in ds
    with open_dataset(path, format="pdebench") as ds, assume_format(path, "pdebench"), open_dataset(path) as assumed:
        assert ds.attrs["source_format"] == assumed.attrs["source_format"] == "pdebench"
        np.testing.assert_array_equal(assumed["u"].values, U2D[..., 0])
    assert main(["info", str(path), "--format", "pdebench"]) == 0
    assert re.search(r"format\s+pdebench\n", capsys.readouterr().out)
    with pytest.raises(SystemExit):
        main(["info", str(path), "--format", "netcdf"])
    assert "invalid choice: 'netcdf'" in capsys.readouterr().err


def test_the_format_names_are_the_readers() -> None:
    assert ("pdeops", *HDF5_READERS) == FORMATS


# Datasets that span files


def _write_the_well_dataset(root: Path) -> dict[str, list[dict[str, np.ndarray]]]:
    """The Well's layout: data/{train,valid,test}/*.hdf5, two trajectories per file, a Rayleigh number per file."""
    written: dict[str, list[dict[str, np.ndarray]]] = {}
    for split, count in (("train", 2), ("valid", 1), ("test", 1)):
        (root / "data" / split).mkdir(parents=True)
        written[split] = []
        for index in range(count):
            path = root / "data" / split / f"rayleigh_benard_Rayleigh_{10 ** (6 + index)}.hdf5"
            written[split].append(_write_the_well(path))
            with h5py.File(path, "a") as file:
                file["scalars/Rayleigh"][()] = 10.0 ** (6 + index)
    return written


def test_the_wells_split_folders_open_as_one_dataset(tmp_path: Path) -> None:
    written = _write_the_well_dataset(tmp_path / "rayleigh_benard")
    files = [arrays for split in ("train", "valid", "test") for arrays in written[split]]
    buoyancy = np.concatenate([arrays["t0_fields/buoyancy"] for arrays in files])
    with open_dataset(tmp_path / "rayleigh_benard") as ds:
        assert ds.attrs["source_format"] == "the-well" and ds.sizes["sample"] == 8
        assert ds["split"].values.tolist() == ["train"] * 4 + ["valid"] * 2 + ["test"] * 2
        _assert_lazy(ds["buoyancy"])
        np.testing.assert_array_equal(
            ds["buoyancy"].isel(sample=[5, 0, 1, 7], time=2).values, buoyancy[[5, 0, 1, 7], 2]
        )
        np.testing.assert_array_equal(ds["buoyancy"].values, buoyancy)
        assert ds["Rayleigh"].dims == ("sample",)  # a constant per file, different between files
        np.testing.assert_array_equal(ds["Rayleigh"].values, [1e6, 1e6, 1e7, 1e7, 1e6, 1e6, 1e6, 1e6])
        assert ds["viscosity"].dims == ("sample", "x", "y")
        assert [Path(file).parent.name for file in ds.attrs["source_files"]] == ["train", "train", "valid", "test"]
        assert ds.attrs["dataset_name"] == "rayleigh_benard"
    with open_dataset(tmp_path / "rayleigh_benard" / "data" / "train") as ds:
        assert ds.sizes["sample"] == 4 and set(ds["split"].values) == {"train"}


def _write_ns_incom(path: Path, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {
        "velocity": rng.standard_normal((2, 3, 4, 4, 2)),
        "particles": rng.standard_normal((2, 3, 4, 4, 1)),
        "force": rng.standard_normal((2, 4, 4, 2)),
        "t": np.tile(np.linspace(0, 5, 3), (2, 1)),
    }
    _write_h5(path, arrays)
    return arrays


def test_pdebench_shards_open_in_natural_order_from_a_glob(tmp_path: Path) -> None:
    shards = {seed: _write_ns_incom(tmp_path / f"ns_incom_inhom_2d_512-{seed}.h5", seed) for seed in (10, 2, 0)}
    velocity = np.concatenate([shards[seed]["velocity"] for seed in (0, 2, 10)])  # 2 before 10
    with open_dataset(str(tmp_path / "ns_incom_inhom_2d_512-*.h5")) as ds:
        assert ds.attrs["source_format"] == "pdebench-ns-incom"
        assert ds.attrs["source_path"] == str(tmp_path.resolve() / "ns_incom_inhom_2d_512-*.h5")
        np.testing.assert_array_equal(ds["velocity_y"].values, velocity[..., 1])
        np.testing.assert_array_equal(
            ds["force_x"].isel(sample=slice(1, 5)).values,
            np.concatenate([shards[0]["force"][1:], shards[2]["force"], shards[10]["force"][:1]])[..., 0],
        )


def test_pdebench_per_seed_files_join_their_official_splits(tmp_path: Path) -> None:
    for name in ("2D_diff-react_a.h5", "2D_diff-react_b.h5"):
        _write_h5(tmp_path / name, {f"{seed:04d}/data": _random(3, 4, 4, 2) for seed in range(10)})
    with open_dataset(tmp_path) as ds:
        assert ds.attrs["source_format"] == "pdebench-seeds" and ds.sizes["sample"] == 20
        assert ds["split"].values.tolist() == (["train"] * 9 + ["test"]) * 2  # FNODatasetMult: the last 10% test
        assert "FNODatasetMult" in ds.attrs["split_source"]


def test_pdebench_flat_file_gets_its_loaders_test_set(tmp_path: Path) -> None:
    with open_dataset(_write_h5(tmp_path / "1D_Burgers.hdf5", {"tensor": _random(20, 3, 4)})) as ds:
        assert ds["split"].values.tolist() == ["test"] * 2 + ["train"] * 18  # FNODatasetSingle: the first 10% test


def test_pdearena_files_of_each_split_join_with_their_labels(tmp_path: Path) -> None:
    written = {}
    for split in ("train", "valid", "test"):
        written[split] = _pdearena_split(split)
        _write_h5(tmp_path / f"NavierStokes2D_{split}_1234_0.5_32.h5", written[split])
    with open_dataset(tmp_path) as ds:
        assert ds.attrs["source_format"] == "pdearena" and ds.attrs["split_source"] == "PDEArena's split groups"
        assert ds["split"].values.tolist() == ["test"] * 2 + ["train"] * 2 + ["valid"] * 2  # natural file order
        np.testing.assert_array_equal(
            ds["vx"].isel(sample=[3, 4]).values,
            np.stack([written["train"]["train/vx"][1], written["valid"]["valid/vx"][0]]),
        )
        assert "split" not in ds.attrs  # it differs between files


CONVECTION = GenerationConfig(recipe="convection-1d", samples=6, resolution=16, horizon=0.5, record_every=0.25)


def test_a_sharded_run_opens_in_shard_order_and_equals_the_whole_run(tmp_path: Path) -> None:
    whole = generate(CONVECTION, tmp_path / "whole.h5")
    for name, shard in (("b.h5", (0, 3)), ("a.h5", (1, 3)), ("c.h5", (2, 3))):  # names out of shard order
        generate(CONVECTION, tmp_path / "shards" / name, shard=shard)
    with open_dataset(whole) as expected, open_dataset(tmp_path / "shards") as ds:
        assert ds.attrs["source_format"] == "pdeops" and "shard" not in ds.attrs
        assert ds.attrs["config"] == expected.attrs["config"]
        np.testing.assert_array_equal(ds["u"].values, expected["u"].values)
    (tmp_path / "shards" / "a.h5").unlink()
    with pytest.raises(DatasetError, match=r"shards of one run of 3, but shard\(s\) \[1\] of them are missing"):
        open_dataset(tmp_path / "shards")


def test_files_that_do_not_fit_together_are_named(tmp_path: Path) -> None:
    _write_h5(tmp_path / "a" / "1D_Advection_0.hdf5", {"tensor": _random(2, 3, 4), "x-coordinate": np.arange(4.0)})
    _write_h5(tmp_path / "a" / "1D_Advection_1.hdf5", {"tensor": _random(2, 3, 4), "x-coordinate": np.arange(4.0) / 2})
    with pytest.raises(DatasetError, match=r"Coordinate 'x' differs between .*_0\.hdf5 and .*_1\.hdf5.*one grid"):
        open_dataset(tmp_path / "a")
    _write_h5(tmp_path / "b" / "2D_CFD_0.hdf5", {"density": _random(2, 3, 4, 4), "Vx": _random(2, 3, 4, 4)})
    _write_h5(tmp_path / "b" / "2D_CFD_1.hdf5", {"density": _random(2, 3, 4, 4)})
    with pytest.raises(DatasetError, match=r"_0\.hdf5 has the variable 'Vx' but .*_1\.hdf5 \(and 0 other file\(s\)\)"):
        open_dataset(tmp_path / "b")


def _write_scaled(path: Path, x: np.ndarray, points: int = 16) -> Path:
    """A user's h5py file, u (sample 3, time 4, x ``points``), with dimension scales; ``x`` the x coordinate."""
    with h5py.File(path, "w") as f:
        f["u"] = np.ones((3, 4, points), np.float32)
        for i, (name, values) in enumerate({"sample": np.arange(3), "time": TIME, "x": x}.items()):
            f[name] = values
            f[name].make_scale(name)
            f["u"].dims[i].attach_scale(f[name])
    return path


def test_a_coordinate_of_another_length_than_its_axis_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_scaled(tmp_path / "c19.h5", np.arange(19) / 19)
    message = r"coordinate 'x' has 19 entries, but variable 'u' has 16 along axis 2"
    with pytest.raises(DatasetError, match=message):
        open_dataset(path)
    assert main(["info", str(path)]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_a_spatial_coordinate_must_be_uniform_to_rounding(tmp_path: Path) -> None:
    x = np.arange(16) / 16
    x[5] += 0.01
    with pytest.raises(DatasetError, match=r"coordinate 'x' is not uniformly spaced: the step from index 4 to 5 is "):
        open_dataset(_write_scaled(tmp_path / "bent.h5", x))
    stored = (np.arange(4096) * (2 * np.pi / 4096)).astype(np.float32)  # uniform, rounded to float32
    with open_dataset(_write_scaled(tmp_path / "f32.h5", stored, points=4096)) as ds:
        assert ds.sizes["x"] == 4096


def test_a_samples_written_that_is_no_count_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = generate(GenerationConfig("convection-1d", samples=1, resolution=8, horizon=0.5), tmp_path / "c.h5")
    with h5py.File(path, "a") as f:
        f.attrs["samples_written"] = "lots"
    message = r"attribute 'samples_written' is 'lots', not a count of trajectories"
    with pytest.raises(DatasetError, match=message):
        open_dataset(path)
    assert main(["info", str(path)]) == 2
    assert re.search(message, capsys.readouterr().err)
