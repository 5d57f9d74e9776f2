"""DRIFT-Net's loss (``pdeops.losses.drift``): the channel-group relative L1 and the high-frequency penalty."""

import math

import pytest
import torch

from pdeops.losses.drift import DRIFTLoss, channel_group_relative_l1, high_frequency_penalty


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DRIFTLoss(spectral_weight=-1.0), "must be >= 0, got -1.0 and 1.5"),
        (lambda: DRIFTLoss(penalty="max"), "penalty must be one of"),  # type: ignore[arg-type]
        (lambda: high_frequency_penalty(torch.ones(1, 1, 4, 4), reduction="relative"), "needs the target"),
    ],
    ids=["loss", "penalty", "relative"],
)
def test_bad_arguments_are_refused(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_channel_group_relative_l1_by_hand() -> None:
    true = torch.ones(2, 3, 4, 4)
    pred = true.clone()
    pred[:, 0] = 1.5  # group [0, 1): 0.5; group [1, 3): 0
    torch.testing.assert_close(channel_group_relative_l1(pred, true, [0, 1, 3]), torch.tensor(0.25))
    torch.testing.assert_close(channel_group_relative_l1(pred, true), torch.tensor(0.5 / 3))
    with pytest.raises(ValueError, match=r"increasing boundaries from 0 to the 3 channels.*got \[0, 2\]"):
        channel_group_relative_l1(pred, true, [0, 2])


def test_high_frequency_penalty_of_one_mode_by_hand() -> None:
    # error = cos(2π·3 y/16): rfft2 (forward) has 1/2 at (0, 3) and nothing else. r = (3/8)/√2 (per-axis frequency
    # over its maximum 1/2, then over the corner's √2); the mean runs over the 16 × 9 modes.
    y = torch.arange(16.0) / 16
    error = torch.cos(2 * math.pi * 3 * y).expand(1, 1, 16, 16)
    expected = 0.25 * ((3 / 8) / math.sqrt(2)) ** 1.5 / (16 * 9)
    torch.testing.assert_close(high_frequency_penalty(error, 1.5), torch.tensor(expected))
    loss = DRIFTLoss(spectral_weight=0.3)
    torch.testing.assert_close(loss(error, error), torch.tensor(0.0))
    true = torch.ones(1, 1, 16, 16)
    torch.testing.assert_close(loss(true + error, true), channel_group_relative_l1(true + error, true) + 0.3 * expected)


def test_summed_and_relative_penalties_by_hand() -> None:
    """Beyond the paper: the one-mode error above summed over modes, and relative to a target of one mode."""
    y = torch.arange(16.0) / 16
    error = torch.cos(2 * math.pi * 3 * y).expand(1, 1, 16, 16)
    weighted = 0.25 * ((3 / 8) / math.sqrt(2)) ** 1.5  # the error's one mode, |1/2|² · r^a
    torch.testing.assert_close(high_frequency_penalty(error, 1.5, "sum"), torch.tensor(weighted))
    true = 2 * torch.cos(2 * math.pi * 3 * y).expand(1, 1, 16, 16)  # the same mode, twice the amplitude
    torch.testing.assert_close(high_frequency_penalty(error, 1.5, "relative", true), torch.tensor(0.5))
    loss = DRIFTLoss(spectral_weight=0.3, penalty="relative")
    relative, penalty = loss.terms(true + error, true)
    torch.testing.assert_close(penalty, torch.tensor(0.3 * 0.5))
    torch.testing.assert_close(loss(true + error, true), relative + penalty)
