"""The file `pdeops rollout` writes is as first-class as a generated one: CF metadata that xarray and cf_xarray read
(axes, units, long names, Conventions, a provenance ``history``), fletcher32 checksums, and the input frames under
their own name."""

from pathlib import Path

import h5py
import neuralop.models
import pytest
import torch
import xarray as xr

from pdeops.data import open_dataset
from pdeops.data.export import export
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation import write_rollout
from pdeops.training import AutoregressiveTask


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rollout file of an untrained two-frame FNO on a tiny generated file (4 trajectories, 4 frames of 16²)."""
    root = tmp_path_factory.mktemp("rollout")
    config = GenerationConfig(
        recipe="ns2d-fno", samples=4, resolution=16, solve_resolution=32, horizon=0.75, record_every=0.25, dt=5e-3
    )
    data = generate(config, root / "ns.h5", batch_size=4)
    torch.manual_seed(0)
    task = AutoregressiveTask(neuralop.models.FNO((4, 4), in_channels=2, out_channels=1, hidden_channels=4), history=2)
    contents = {"state_dict": task.state_dict(), "hyper_parameters": dict(task.hparams)}
    task.on_save_checkpoint(contents)  # what Lightning calls when it saves
    torch.save(contents, root / "model.ckpt")
    return write_rollout(root / "model.ckpt", data, root / "pred.h5", samples=[2, 3], command="pdeops rollout test")


def test_a_rollout_file_carries_cf_metadata(rolled: Path) -> None:
    with xr.open_dataset(rolled, engine="h5netcdf", decode_times=False) as dataset:
        assert dataset.attrs["Conventions"] == "CF-1.10"
        assert dataset.attrs["history"].splitlines()[-1].endswith(" pdeops rollout test")
        assert "generate" in dataset.attrs["history"].splitlines()[0]  # the data file's provenance comes first
        assert "model rollout" in dataset.attrs["title"] and "model rollout" in dataset.attrs["source"]
        assert dataset.attrs["input_frames"] == 2 and "history" not in dataset.attrs["initial_frames"]
        assert dataset["vorticity"].attrs["long_name"] == "vorticity" and dataset["vorticity"].attrs["units"] == "1"
        for name, axis in (("time", "T"), ("x", "X"), ("y", "Y")):
            assert dataset[name].attrs["axis"] == axis
            assert dataset[name].attrs["units"] == "1" and dataset[name].attrs["long_name"]
        assert dataset["sample"].attrs["long_name"] == "trajectory index in the data file"
        assert dataset["vorticity"].encoding["fletcher32"]


def test_cf_xarray_finds_the_axes_of_a_rollout_file(rolled: Path) -> None:
    import cf_xarray  # noqa: F401  (the dev extra installs it; importing registers the `.cf` accessor)

    with xr.open_dataset(rolled, engine="h5netcdf", decode_times=False) as dataset:
        axes = dataset.cf.axes
        assert axes["X"] == ["x"] and axes["Y"] == ["y"] and axes["T"] == ["time"]
        assert dataset.cf["vorticity"].cf["X"].name == "x"


def test_every_frame_of_a_rollout_file_is_checksummed(rolled: Path) -> None:
    with h5py.File(rolled) as f:
        assert f["vorticity"].fletcher32 and f["vorticity"].chunks == (1, 1, 16, 16)


def test_a_rollout_file_reads_as_data_and_exports_with_one_history(rolled: Path, tmp_path: Path) -> None:
    with open_dataset(rolled) as dataset:
        assert dataset.attrs["source_format"] == "pdeops" and dataset["vorticity"].shape == (2, 2, 16, 16)
    out = export(rolled, "pdebench", tmp_path / "pred.h5", command="pdeops export")
    with h5py.File(out) as f:
        assert f.attrs["history"].splitlines()[-2].endswith(" pdeops rollout test")
        assert f.attrs["input_frames"] == 2


def test_an_older_rollout_file_with_an_integer_history_still_exports(rolled: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.h5"
    old.write_bytes(rolled.read_bytes())
    with h5py.File(old, "a") as f:  # as rollout files were written before `input_frames`
        f.attrs["history"] = 2
        del f.attrs["input_frames"]
    out = export(old, "pdebench", tmp_path / "old_pred.h5", command="pdeops export")
    with h5py.File(out) as f:
        assert f.attrs["input_frames"] == 2 and f.attrs["history"].endswith(" export --to pdebench: pdeops export")
