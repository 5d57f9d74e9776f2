"""A checkpoint is data: rebuilding its task builds only checked classes, imports nothing the caller did not allow,
and calls no function it names.

The checkpoints are real ones (a task built by pdeops and saved as Lightning saves it); the crafted ones are those
with their record edited through ``torch.load``/``torch.save``, as an attacker would.
"""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import neuralop.models
import pytest
import torch
import torch.nn.functional as F

from pdeops.cli import main
from pdeops.config import instantiate
from pdeops.evaluation import CheckpointError, load_task
from pdeops.training import AutoregressiveTask

NETWORK = "pdeops.task.init_args.model"  # where the record keeps the task's network, as messages name it


def _save(task: AutoregressiveTask, path: Path) -> Path:
    """``task``'s checkpoint, written as Lightning writes it (``on_save_checkpoint`` adds pdeops' record)."""
    contents: dict[str, Any] = {"state_dict": task.state_dict(), "hyper_parameters": dict(task.hparams)}
    task.on_save_checkpoint(contents)
    torch.save(contents, path)
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An FNO task whose network takes a function argument, recorded as its import path (``torch._C._nn.softplus``:
    where ``F.softplus`` is defined)."""
    network = neuralop.models.FNO(
        (4, 4), in_channels=2, out_channels=1, hidden_channels=4, n_layers=1, non_linearity=F.softplus
    )
    return _save(AutoregressiveTask(network, history=2), tmp_path_factory.mktemp("ckpt") / "last.ckpt")


def _crafted(checkpoint: Path, path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """``checkpoint`` with its task's record changed by ``edit`` (given the network's record)."""
    contents = torch.load(checkpoint, weights_only=True)
    edit(contents["pdeops"]["task"]["init_args"]["model"])
    torch.save(contents, path)
    return path


def _payloads(tmp_path: Path, marker: Path) -> dict[str, dict[str, Any]]:
    """Functions of torch that run code or write files when called with these arguments."""
    repo = tmp_path / "hubrepo"
    repo.mkdir()
    (repo / "hubconf.py").write_text(f"open({str(marker)!r}, 'w').close()\n\ndef entry():\n    return None\n")
    return {
        "torch.utils.collect_env.run": {"command": f"touch {marker}"},
        "torch.fx.graph_module._exec_with_source": {"src": f"open({str(marker)!r}, 'w').close()", "globals": {}},
        "torch.hub.load": {"repo_or_dir": str(repo), "model": "entry", "source": "local", "trust_repo": True},
        "torch.save": {"obj": "overwritten", "f": str(marker)},
    }


@pytest.mark.parametrize(
    "function",
    ["torch.utils.collect_env.run", "torch.fx.graph_module._exec_with_source", "torch.hub.load", "torch.save"],
)
def test_a_function_named_as_the_network_is_never_called(function: str, checkpoint: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    payload = _payloads(tmp_path, marker)[function]

    def edit(network: dict[str, Any]) -> None:
        network.update(class_path=function, init_args=payload)

    crafted = _crafted(checkpoint, tmp_path / "crafted.ckpt", edit)
    with pytest.raises(CheckpointError) as error:
        load_task(crafted)
    assert f"at {NETWORK}.class_path, names '{function}', which a checkpoint may not name" in str(error.value)
    assert "altered or written by other code" in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    "function", ["torch.save", "torch.utils.collect_env.run", "torch.nn.functional.handle_torch_function"]
)
def test_a_function_argument_may_come_only_from_torch_nn_functional(
    function: str, checkpoint: Path, tmp_path: Path
) -> None:
    """The network's own function argument loads; another function of torch in its place does not."""
    assert load_task(checkpoint).model.fno_blocks.non_linearity is F.softplus

    def edit(network: dict[str, Any]) -> None:
        network["init_args"]["non_linearity"] = function

    crafted = _crafted(checkpoint, tmp_path / "crafted.ckpt", edit)
    with pytest.raises(CheckpointError, match=rf"at {NETWORK}\.init_args\.non_linearity, names '{function}', which"):
        load_task(crafted)


@pytest.mark.parametrize(
    ("class_path", "reason"),
    [
        ("torch.nn.functional.gelu", "it is a function: only classes are built"),
        ("pdeops.data.PDEDataModule", "it is neither an nn.Module subclass nor a dataclass"),
        ("torch.optim.Adam", "which a checkpoint may not name"),
    ],
)
def test_only_network_classes_are_built(class_path: str, reason: str, checkpoint: Path, tmp_path: Path) -> None:
    crafted = _crafted(checkpoint, tmp_path / "crafted.ckpt", lambda network: network.update(class_path=class_path))
    with pytest.raises(CheckpointError, match=rf"at {NETWORK}\.class_path, names '{class_path}'.*{reason}"):
        load_task(crafted)


def _module(tmp_path: Path, name: str, marker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module ``name`` on ``sys.path`` whose import writes ``marker``."""
    (tmp_path / f"{name}.py").write_text(
        f"from torch import nn\nopen({str(marker)!r}, 'w').close()\n\nclass Net(nn.Module):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.parametrize("where", ["argument", "list"])
def test_a_nested_unrecorded_dict_is_checked_and_its_module_never_imported(
    where: str, checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``{"unrecorded": ...}`` marks a network that recorded no arguments only as a task's network argument; a dict
    with that key deeper in the record is checked like any other, before anything is imported."""
    name, marker = f"pdeops_payload_{where}", tmp_path / "imported"
    _module(tmp_path, name, marker, monkeypatch)
    hidden = {"unrecorded": "anything", "class_path": f"{name}.Net"}

    def edit(network: dict[str, Any]) -> None:
        network["init_args"]["non_linearity" if where == "argument" else "n_modes"] = (
            hidden if where == "argument" else [4, hidden]
        )

    crafted = _crafted(checkpoint, tmp_path / "crafted.ckpt", edit)
    with pytest.raises(CheckpointError, match=rf"holds a class record for '{name}.Net' with the key\(s\) 'unrecorded'"):
        load_task(crafted)
    assert not marker.exists() and name not in sys.modules


def test_jsonargparse_builds_only_the_classes_that_were_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's network, allowed, loads; jsonargparse would build any imported module class for a short name given
    for a module argument (``"Identity"``), which the record never names by its path: refused."""
    (tmp_path / "user_nets.py").write_text(
        "import torch\nfrom torch import nn\n\n"
        "class Wrapper(nn.Module):\n"
        "    def __init__(self, act: nn.Module, width: int = 2):\n"
        "        super().__init__()\n"
        "        self.conv, self.act = nn.Conv2d(width, 1, 1), act\n\n"
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:\n"
        "        return self.act(self.conv(x))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    network = instantiate({"class_path": "user_nets.Wrapper", "init_args": {"act": {"class_path": "torch.nn.GELU"}}})
    saved = _save(AutoregressiveTask(network, history=2), tmp_path / "user.ckpt")
    with pytest.raises(CheckpointError, match=r"'user_nets.Wrapper'.*from 'user_nets'.*--allow-module user_nets"):
        load_task(saved)
    assert isinstance(load_task(saved, allow_modules=["user_nets"]).model.act, torch.nn.GELU)

    crafted = _crafted(saved, tmp_path / "crafted.ckpt", lambda net: net["init_args"].update(act="Identity"))
    with pytest.raises(CheckpointError, match="torch.nn.modules.linear.Identity, which the checkpoint's check did"):
        load_task(crafted, allow_modules=["user_nets"])


@pytest.mark.parametrize("size", [0.5, 0.0])
def test_a_truncated_checkpoint_names_the_file_and_how_to_recover(size: float, checkpoint: Path, tmp_path: Path):
    truncated = tmp_path / "last.ckpt"
    content = checkpoint.read_bytes()
    truncated.write_bytes(content[: int(size * len(content))])
    with pytest.raises(CheckpointError) as error:
        load_task(truncated)
    message = str(error.value)
    assert message.startswith(f"{truncated} is truncated or corrupt")
    assert "another checkpoint of the run" in message and "train again" in message and "Errno" not in message


def test_pdeops_evaluate_refuses_a_crafted_checkpoint(checkpoint: Path, tmp_path: Path, capsys) -> None:
    marker = tmp_path / "marker"

    def edit(network: dict[str, Any]) -> None:
        network.update(class_path="torch.utils.collect_env.run", init_args={"command": f"touch {marker}"})

    crafted = _crafted(checkpoint, tmp_path / "crafted.ckpt", edit)
    assert main(["evaluate", "--ckpt", str(crafted), "--data", str(tmp_path / "data.h5")]) == 2
    assert "names 'torch.utils.collect_env.run'" in capsys.readouterr().err
    assert not marker.exists()
