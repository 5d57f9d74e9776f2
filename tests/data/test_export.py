"""`pdeops export`: The Well's layout read by The Well's own `WellDataset`, PDEBench's layout by its loaders' reading
logic, both read back by our readers; outputs that would destroy something are refused."""

import importlib
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import yaml

from pdeops.cli import main
from pdeops.data import DatasetError, open_dataset
from pdeops.data.export import export
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig

TINY = dict(resolution=16, solve_resolution=32, horizon=0.5, record_every=0.25, dt=5e-3)


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real generated file: 10 Navier-Stokes trajectories, 3 frames of 16²."""
    config = GenerationConfig(recipe="ns2d-fno", samples=10, **TINY)  # type: ignore[arg-type]
    return generate(config, tmp_path_factory.mktemp("native") / "ns.h5", batch_size=10)


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real generated 1-D file: 10 convection trajectories, 3 frames of 16 points."""
    config = GenerationConfig(recipe="convection-1d", samples=10, resolution=16, horizon=0.5, record_every=0.25)
    return generate(config, tmp_path_factory.mktemp("line") / "convection.h5", batch_size=10)


@pytest.fixture(scope="module")
def vector_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PDEBench ns_incom file (velocity (sample, time, x, y, 2)): two fields that form a vector."""
    path = tmp_path_factory.mktemp("pdebench") / "ns_incom_tiny.h5"
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f["velocity"] = rng.standard_normal((10, 4, 8, 8, 2)).astype(np.float32)
        f["particles"] = rng.standard_normal((10, 4, 8, 8, 1)).astype(np.float32)
        f["force"] = rng.standard_normal((10, 8, 8, 2)).astype(np.float32)
        f["t"] = np.tile(np.arange(4, dtype=np.float32) * 0.5, (10, 1))
    return path


def _the_well() -> Any:
    """``the_well.data``; the test skips without it, except under ``scripts/test.sh`` (which installs it)."""
    if os.environ.get("PDEOPS_REQUIRE_ECOSYSTEM") == "1":
        return importlib.import_module("the_well.data")
    return pytest.importorskip("the_well.data")


def test_the_wells_own_dataset_reads_the_export(native: Path, tmp_path: Path) -> None:
    the_well = _the_well()
    out = export(native, "the-well", tmp_path / "ns-well")
    with open_dataset(native) as source:
        truth = source["vorticity"].values  # (10, 3, 16, 16)
    dataset = the_well.WellDataset(path=str(out), well_split_name="train", n_steps_input=2, n_steps_output=1)
    assert dataset.metadata.n_trajectories_per_file == [8] and dataset.metadata.field_names[0] == ["vorticity"]
    assert dataset.metadata.constant_scalar_names == ["alpha", "tau", "viscosity"]
    sample = dataset[0]  # trajectory 0, frames 0-1 in, frame 2 out, (time, x, y, channel)
    np.testing.assert_array_equal(sample["input_fields"][..., 0].numpy(), truth[0, :2])
    np.testing.assert_array_equal(sample["output_fields"][..., 0].numpy(), truth[0, 2:])
    assert sample["boundary_conditions"].tolist() == [[2, 2], [2, 2]]  # periodic on both axes
    np.testing.assert_allclose(sample["space_grid"][1, 0].numpy(), [1 / 16, 0])
    test = the_well.WellDataset(path=str(out), well_split_name="test", n_steps_input=1, n_steps_output=1)
    np.testing.assert_array_equal(test[0]["input_fields"][0, ..., 0].numpy(), truth[9, 0])  # split in file order
    stats = yaml.safe_load((out / "stats.yaml").read_text())
    np.testing.assert_allclose(stats["mean"]["vorticity"], truth[:8].astype(np.float64).mean(), atol=1e-9)
    np.testing.assert_allclose(stats["std"]["vorticity"], truth[:8].astype(np.float64).std(), rtol=1e-6)
    np.testing.assert_allclose(stats["std_delta"]["vorticity"], np.diff(truth[:8], axis=1).std(), rtol=1e-5)


def test_our_well_reader_reads_the_export_back_with_its_provenance(native: Path, tmp_path: Path) -> None:
    out = export(native, "the-well", tmp_path / "ns-well")
    with open_dataset(native) as source, open_dataset(out / "data" / "valid" / "ns.hdf5") as back:
        assert back.attrs["source_format"] == "the-well"
        np.testing.assert_array_equal(back["vorticity"].values, source["vorticity"].values[8:9])
        np.testing.assert_array_equal(back["x"].values, source["x"].values)
        assert back.attrs["recipe"] == "ns2d-fno" and back.attrs["config"] == source.attrs["config"]
        assert "export --to the-well" in back.attrs["history"].splitlines()[-1]
        assert float(back["viscosity"]) == 1e-3


def test_vector_components_become_a_well_t1_field(vector_file: Path, tmp_path: Path) -> None:
    out = export(vector_file, "the-well", tmp_path / "ns-incom")
    with h5py.File(out / "data" / "train" / "ns_incom_tiny.hdf5") as f:
        assert list(f["t1_fields"].attrs["field_names"]) == ["velocity"]
        assert f["t1_fields/velocity"].shape == (8, 4, 8, 8, 2)
        assert list(f["t0_fields"].attrs["field_names"]) == ["particles", "force_x", "force_y"]
        assert f["t0_fields/force_x"].shape == (8, 8, 8) and not f["t0_fields/force_x"].attrs["time_varying"]
        assert len(f["boundary_conditions"]) == 0  # unknown for a foreign file: The Well reads it as open
    stats = yaml.safe_load((out / "stats.yaml").read_text())
    assert len(stats["std"]["velocity"]) == 2
    with open_dataset(vector_file) as source, open_dataset(out / "data" / "train" / "ns_incom_tiny.hdf5") as back:
        for name in ("velocity_x", "velocity_y", "particles"):
            np.testing.assert_array_equal(back[name].values, source[name].values[:8])


# What PDEBench's own loaders read, restated from pdebench/models/fno/utils.py (pdebench/PDEBench, the same in
# unet/utils.py) with reduced_resolution = reduced_resolution_t = reduced_batch = 1 and test_ratio = 0.1.
def _fno_dataset_single(path: Path, *, test: bool) -> tuple[np.ndarray, np.ndarray]:
    """``FNODatasetSingle``'s scalar branch: ``data`` (N, x[, y], t, 1) of one split and ``grid`` (x[, y], d)."""
    assert not path.name.endswith("h5"), "FNODatasetSingle takes a name ending in 'h5' as per-seed groups"
    with h5py.File(path, "r") as f:
        tensor = np.array(f["tensor"], dtype=np.float32)  # batch, time, x, ...
        if tensor.ndim == 3:  # 1D: transpose (0, 2, 1), then a channel axis
            data = np.transpose(tensor, (0, 2, 1))[..., None]
            grid = np.array(f["x-coordinate"], dtype=np.float32)[:, None]
        else:  # "2D Darcy flow": u transposed to (batch, x, y, t), nu (batch, x, y) put first on the t axis
            u = np.transpose(tensor, (0, 2, 3, 1))
            nu = np.transpose(np.array(f["nu"], dtype=np.float32)[:, None], (0, 2, 3, 1))
            data = np.concatenate([nu, u], axis=-1)[..., None]
            x, y = (np.array(f[f"{axis}-coordinate"], dtype=np.float32) for axis in "xy")
            grid = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1)
    test_idx = int(data.shape[0] * 0.1)  # the first 10 % test
    return (data[:test_idx] if test else data[test_idx:]), grid


def _fno_dataset_mult(path: Path, index: int, *, test: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """``FNODatasetMult[index]``: ``data`` (x[, y], t, channel), ``grid`` (x[, y], d) and the seed it read."""
    assert path.suffix == ".h5", "FNODatasetMult opens saved_folder + filename + '.h5'"
    with h5py.File(path, "r") as f:
        data_list = sorted(f.keys())  # every root key is taken for a seed
        test_idx = int(len(data_list) * (1 - 0.1))  # the last 10 % of the seeds test
        seed = (data_list[test_idx:] if test else data_list[:test_idx])[index]
        data = np.array(f[seed]["data"], dtype="f")  # t, x1, ..., xd, v
        data = np.transpose(data, [*range(1, data.ndim - 1), 0, data.ndim - 1])  # x1, ..., xd, t, v
        axes = [np.array(f[seed]["grid"][axis], dtype="f") for axis in "xyz"[: data.ndim - 2]]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    return data, grid, seed


def test_pdebench_reads_a_1d_field_as_the_flat_tensor_layout(line: Path, tmp_path: Path) -> None:
    out = export(line, "pdebench", tmp_path / "convection.hdf5")
    with open_dataset(line) as source:
        truth, times, x = source["u"].values, source["time"].values, source["x"].values  # (10, 3, 16)
    with h5py.File(out) as f:
        assert sorted(f.keys()) == ["t-coordinate", "tensor", "x-coordinate"]
        np.testing.assert_allclose(f["t-coordinate"][:], [0.0, 0.25, 0.5, 0.75])  # time-bin edges: frames + 1
        assert f.attrs["field_name"] == "u" and "pdeops_format" not in f.attrs
    train, grid = _fno_dataset_single(out, test=False)
    test, _ = _fno_dataset_single(out, test=True)
    assert train.shape == (9, 16, 3, 1) and test.shape == (1, 16, 3, 1)
    np.testing.assert_array_equal(train[..., 0], np.transpose(truth[1:], (0, 2, 1)))
    np.testing.assert_allclose(grid[:, 0], x, rtol=1e-6)
    with open_dataset(out) as back:
        assert back.attrs["source_format"] == "pdebench"
        np.testing.assert_array_equal(back["u"].values, truth)
        np.testing.assert_allclose(back["time"].values, times)


def test_pdebench_reads_a_2d_field_as_the_per_seed_layout_and_we_keep_its_name(native: Path, tmp_path: Path) -> None:
    out = export(native, "pdebench", tmp_path / "ns_pdebench.h5")
    with open_dataset(native) as source:
        truth, x, y = source["vorticity"].values, source["x"].values, source["y"].values  # (10, 3, 16, 16)
    data, grid, seed = _fno_dataset_mult(out, 3, test=False)
    assert seed == "0003" and data.shape == (16, 16, 3, 1) and grid.shape == (16, 16, 2)
    np.testing.assert_array_equal(data[..., 0], np.transpose(truth[3], (1, 2, 0)))
    np.testing.assert_allclose(grid[5, 7], [x[5], y[7]], rtol=1e-6)
    test, _, seed = _fno_dataset_mult(out, 0, test=True)
    assert seed == "0009"
    np.testing.assert_array_equal(test[..., 0], np.transpose(truth[9], (1, 2, 0)))
    with open_dataset(out) as back:
        assert back.attrs["source_format"] == "pdebench-seeds" and list(back.data_vars) == ["vorticity"]
        np.testing.assert_array_equal(back["vorticity"].values, truth)
        assert back["split"].values.tolist() == ["train"] * 9 + ["test"]


def test_pdebench_reads_darcy_flow_as_the_flat_tensor_layout(tmp_path: Path) -> None:
    """A 2-D field with a static coefficient ``nu``: PDEBench's own Darcy layout, which FNODatasetSingle reads."""
    rng = np.random.default_rng(1)
    darcy = tmp_path / "darcy.hdf5"
    with h5py.File(darcy, "w") as f:
        f["tensor"] = rng.standard_normal((10, 1, 8, 8)).astype(np.float32)
        f["nu"] = rng.standard_normal((10, 8, 8)).astype(np.float32)
        f["x-coordinate"] = f["y-coordinate"] = np.linspace(0, 1, 8, dtype=np.float32)
    out = export(darcy, "pdebench", tmp_path / "darcy_out.hdf5")
    train, grid = _fno_dataset_single(out, test=False)
    assert train.shape == (9, 8, 8, 2, 1) and grid.shape == (8, 8, 2)
    with h5py.File(darcy) as f:
        np.testing.assert_array_equal(train[:, :, :, 0, 0], f["nu"][1:])
        np.testing.assert_array_equal(train[:, :, :, 1, 0], f["tensor"][1:, 0])


def test_pdebench_export_of_several_fields_is_the_per_seed_layout(vector_file: Path, tmp_path: Path) -> None:
    out = export(vector_file, "pdebench", tmp_path / "seeds.h5")
    with h5py.File(out) as f:
        assert sorted(f.keys())[:2] == ["0000", "0001"] and len(f.keys()) == 10
        assert f["0003/data"].shape == (4, 8, 8, 3) and sorted(f["0003/grid"].keys()) == ["t", "x", "y"]
        assert list(f.attrs["channels"]) == ["velocity_x", "velocity_y", "particles"]
    data, _, _ = _fno_dataset_mult(out, 0, test=False)
    assert data.shape == (8, 8, 4, 3)
    with open_dataset(vector_file) as source, open_dataset(out) as back:
        assert back.attrs["source_format"] == "pdebench-seeds"
        for name in ("velocity_x", "velocity_y", "particles", "force_x", "force_y"):
            np.testing.assert_array_equal(back[name].values, source[name].values)
        np.testing.assert_allclose(back["time"].values, [0, 0.5, 1, 1.5])
    with h5py.File(out, "a") as f:
        f.attrs["channels"] = ["velocity_x", "velocity_y"]
    with pytest.raises(DatasetError, match=r"attribute 'channels' .* should name its 3 field\(s\)"):
        open_dataset(out)


def test_a_pdebench_name_its_loaders_would_misread_is_refused(native: Path, line: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"per-seed layout, which its FNODatasetMult opens.*Name the output ns\.h5"):
        export(native, "pdebench", tmp_path / "ns.hdf5")
    with pytest.raises(DatasetError, match=r"flat layout \(`tensor`\).*Name the output c\.hdf5"):
        export(line, "pdebench", tmp_path / "c.h5")
    assert not list(tmp_path.iterdir())


def test_export_is_atomic_and_never_overwrites_silently(native: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.h5"
    out.write_text("keep me")
    with pytest.raises(DatasetError, match="already exists.*--overwrite"):
        export(native, "pdebench", out)
    assert out.read_text() == "keep me"
    export(native, "pdebench", out, overwrite=True)
    assert h5py.is_hdf5(out) and not (tmp_path / "x.h5.partial").exists()
    with pytest.raises(DatasetError, match=r"test 0: the split is larger than the data"):
        export(native, "the-well", tmp_path / "w", split=(0.9, 0.1, 0.0))
    assert not (tmp_path / "w").exists() and not (tmp_path / "w.partial").exists()


def test_overwrite_never_replaces_the_input_or_the_folder_holding_it(native: Path, tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    exp.mkdir()
    data = exp / "b2.h5"
    data.write_bytes(native.read_bytes())
    os.link(data, tmp_path / "hard.h5")
    for out in (exp / "." / "b2.h5", tmp_path / "hard.h5"):  # another spelling, a hard link
        with pytest.raises(DatasetError, match=r"is the input file .*b2\.h5 itself: exporting onto it would destroy"):
            export(data, "pdebench", out, overwrite=True)
    for to in ("the-well", "pdebench"):
        with pytest.raises(DatasetError, match=r"exp is a folder that holds the input .*Choose an output outside it"):
            export(data, to, exp, overwrite=True)
    (tmp_path / "b3.h5.partial").write_bytes(native.read_bytes())  # the partial of the output is the input
    with pytest.raises(DatasetError, match=r"b3\.h5\.partial is the input file"):
        export(tmp_path / "b3.h5.partial", "pdebench", tmp_path / "b3.h5", overwrite=True)
    assert (tmp_path / "b3.h5.partial").exists()
    with open_dataset(data) as back:
        assert back["vorticity"].shape == (10, 3, 16, 16)


def test_overwrite_replaces_only_files_and_our_own_folders(native: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "results"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    for to, out in (("the-well", foreign), ("pdebench", foreign)):
        with pytest.raises(DatasetError, match=r"results is a folder that is not an earlier export"):
            export(native, to, out, overwrite=True)
    assert (foreign / "thesis.tex").read_text() == "keep me"
    (foreign / "thesis.tex").unlink()
    (foreign / "data" / "train").mkdir(parents=True)
    (foreign / "data" / "train" / "notes.txt").write_text("keep me")  # our names, a file we never write
    with pytest.raises(DatasetError, match=r"is not an earlier export"):
        export(native, "the-well", foreign, overwrite=True)
    well = export(native, "the-well", tmp_path / "well")
    assert export(native, "the-well", well, overwrite=True) == well  # an earlier export is replaced
    link = tmp_path / "link.h5"
    link.symlink_to(foreign / "data" / "train" / "notes.txt")
    os.mkfifo(tmp_path / "pipe.h5")
    for out, kind in ((link, "a symbolic link"), (tmp_path / "pipe.h5", r"not a regular file or folder")):
        with pytest.raises(DatasetError, match=kind):
            export(native, "pdebench", out, overwrite=True)
    assert (foreign / "data" / "train" / "notes.txt").read_text() == "keep me" and (tmp_path / "pipe.h5").exists()


def test_the_export_command(native: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(native), "--to", "pdebench", str(tmp_path / "cli.h5")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "cli.h5").exists()
    assert main(["export", str(tmp_path / "missing.h5"), "--to", "the-well", str(tmp_path / "w")]) == 2
    assert "does not exist" in capsys.readouterr().err
