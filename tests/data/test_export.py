"""`pdeops export`: The Well's layout read by The Well's own `WellDataset`, PDEBench's layout by its conventions, and
both read back by our readers."""

from pathlib import Path

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


def test_the_wells_own_dataset_reads_the_export(native: Path, tmp_path: Path) -> None:
    the_well = pytest.importorskip("the_well.data")
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


def test_pdebench_export_of_one_field_is_the_flat_tensor_layout(native: Path, tmp_path: Path) -> None:
    out = export(native, "pdebench", tmp_path / "ns_pdebench.hdf5")
    with open_dataset(native) as source:
        truth, times = source["vorticity"].values, source["time"].values
    with h5py.File(out) as f:  # PDEBench's FNODatasetSingle: tensor (sample, time, x, y), float32 grids
        assert sorted(f.keys()) == ["t-coordinate", "tensor", "x-coordinate", "y-coordinate"]
        assert f["tensor"].shape == (10, 3, 16, 16)
        assert f["x-coordinate"].dtype == np.float32 and f["x-coordinate"].shape == (16,)
        np.testing.assert_allclose(f["t-coordinate"][:], [0.0, 0.25, 0.5, 0.75])  # time-bin edges: frames + 1
        assert f.attrs["field_name"] == "vorticity" and "pdeops_format" not in f.attrs
    with open_dataset(out) as back:
        assert back.attrs["source_format"] == "pdebench"
        np.testing.assert_array_equal(back["u"].values, truth)
        np.testing.assert_allclose(back["time"].values, times)


def test_pdebench_export_of_several_fields_is_the_per_seed_layout(vector_file: Path, tmp_path: Path) -> None:
    out = export(vector_file, "pdebench", tmp_path / "seeds.h5")
    with h5py.File(out) as f:  # PDEBench's FNODatasetMult: f[seed]["data"] (time, x, y, channel), f[seed]["grid"]
        assert sorted(f.keys())[:2] == ["0000", "0001"] and len(f.keys()) == 10
        assert f["0003/data"].shape == (4, 8, 8, 3) and sorted(f["0003/grid"].keys()) == ["t", "x", "y"]
        assert list(f.attrs["channels"]) == ["velocity_x", "velocity_y", "particles"]
    with open_dataset(vector_file) as source, open_dataset(out) as back:
        assert back.attrs["source_format"] == "pdebench-seeds"
        for channel, name in enumerate(("velocity_x", "velocity_y", "particles")):
            np.testing.assert_array_equal(back[f"u{channel}"].values, source[name].values)
        np.testing.assert_allclose(back["time"].values, [0, 0.5, 1, 1.5])


def test_export_is_atomic_and_never_overwrites_silently(native: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.hdf5"
    out.write_text("keep me")
    with pytest.raises(DatasetError, match="already exists.*--overwrite"):
        export(native, "pdebench", out)
    assert out.read_text() == "keep me"
    export(native, "pdebench", out, overwrite=True)
    assert h5py.is_hdf5(out) and not (tmp_path / "x.hdf5.partial").exists()
    with pytest.raises(DatasetError, match=r"test 0: the split is larger than the data"):
        export(native, "the-well", tmp_path / "w", split=(0.9, 0.1, 0.0))
    assert not (tmp_path / "w").exists() and not (tmp_path / "w.partial").exists()


def test_the_export_command(native: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(native), "--to", "pdebench", str(tmp_path / "cli.hdf5")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "cli.hdf5").exists()
    assert main(["export", str(tmp_path / "missing.h5"), "--to", "the-well", str(tmp_path / "w")]) == 2
    assert "does not exist" in capsys.readouterr().err
