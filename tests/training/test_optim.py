"""``pdeops.training.optim``: optimiser and schedule factories, and the run length a schedule is given."""

import functools
import math

import pytest
import torch
from jsonargparse import ArgumentParser
from lightning.pytorch.cli import LRSchedulerCallable

from pdeops.training import CosineAnnealing
from pdeops.training.optim import configure_optimizers


def parameters() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.zeros(3))]


def test_no_optimiser_is_adamw_with_torchs_defaults() -> None:
    built = configure_optimizers(parameters(), None, None, lambda: 10)
    assert isinstance(built, torch.optim.AdamW) and built.defaults["lr"] == 1e-3
    assert built.defaults["weight_decay"] == 1e-2


def test_a_whole_run_schedule_gets_the_runs_length_and_steps_every_batch() -> None:
    adam = functools.partial(torch.optim.Adam, lr=0.1)
    built = configure_optimizers(parameters(), adam, CosineAnnealing, lambda: 40)
    scheduler = built["lr_scheduler"]["scheduler"]
    assert built["lr_scheduler"]["interval"] == "step" and scheduler.T_max == 40
    for _ in range(40):
        built["optimizer"].step()
        scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([0.0], abs=1e-12)


def test_a_schedule_from_yaml_without_total_steps_gets_them_and_one_with_them_keeps_them() -> None:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--schedule", type=LRSchedulerCallable)

    def schedule(init_args: dict) -> LRSchedulerCallable:
        config = {"class_path": "torch.optim.lr_scheduler.OneCycleLR", "init_args": {"max_lr": 0.1, **init_args}}
        return parser.instantiate(parser.parse_object({"schedule": config})).schedule

    filled = configure_optimizers(parameters(), None, schedule({}), lambda: 25)["lr_scheduler"]
    assert filled["scheduler"].total_steps == 25 and filled["interval"] == "step"
    given = configure_optimizers(parameters(), None, schedule({"total_steps": 7}), lambda: 25)["lr_scheduler"]
    assert given["scheduler"].total_steps == 7 and given["interval"] == "step"


def test_an_epoch_schedule_steps_every_epoch_and_an_endless_run_is_refused() -> None:
    halving = functools.partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    assert configure_optimizers(parameters(), None, halving, lambda: 10)["lr_scheduler"]["interval"] == "epoch"
    with pytest.raises(ValueError, match="set trainer.max_epochs or trainer.max_steps"):
        configure_optimizers(parameters(), None, CosineAnnealing, lambda: float("inf"))


def test_a_linear_warm_up_ramps_to_the_rate_then_the_cosine_runs_over_the_remaining_steps() -> None:
    adam = functools.partial(torch.optim.Adam, lr=0.1)
    warm = functools.partial(CosineAnnealing, warmup_steps=4)
    built = configure_optimizers(parameters(), adam, warm, lambda: 12)
    scheduler = built["lr_scheduler"]["scheduler"]
    rates = []
    for _ in range(12):  # the rate each optimiser step uses
        rates.append(built["optimizer"].param_groups[0]["lr"])
        built["optimizer"].step()
        scheduler.step()
    cosine = [0.05 * (1 + math.cos(math.pi * k / 8)) for k in range(8)]  # steps 4..11 over the 12 - 4 remaining
    assert rates == pytest.approx([0.025, 0.05, 0.075, 0.1, *cosine], abs=1e-12)
    assert scheduler.get_last_lr() == pytest.approx([0.0], abs=1e-12)  # the end of the run


def test_no_warm_up_is_torchs_cosine_and_a_warm_up_as_long_as_the_run_is_refused() -> None:
    rates = {}
    for name, make in (
        ("ours", lambda optimizer: CosineAnnealing(optimizer, total_steps=7)),
        ("torch", lambda optimizer: torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=7)),
    ):
        optimizer = torch.optim.SGD(parameters(), lr=0.3)
        scheduler, rates[name] = make(optimizer), []
        for _ in range(7):
            optimizer.step()
            scheduler.step()
            rates[name].append(scheduler.get_last_lr()[0])
    assert rates["ours"] == rates["torch"]  # bit for bit: runs without a warm-up are unchanged
    for bad in (7, -1, 2.5, True):
        with pytest.raises(ValueError, match="warmup_steps must be a whole number of optimiser steps from 0 to"):
            CosineAnnealing(torch.optim.SGD(parameters(), lr=0.3), total_steps=7, warmup_steps=bad)
