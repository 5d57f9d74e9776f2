"""The DRIFT-Net reproduction's summaries (``pdeops.reproductions.drift_net``), by hand."""

from typing import Any

import pytest
import torch

from pdeops.reproductions import drift_net as protocol


def test_summary_is_in_percent_over_trajectories() -> None:
    per_step = torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.2, 0.9]])
    result = protocol.summary(per_step, torch.tensor([0.1, 0.2, 0.6]))
    assert result["per_step_mean"] == pytest.approx([20.0, 50.0])
    assert result["per_step_median"] == pytest.approx([20.0, 40.0])
    assert result["spacetime_mean"] == pytest.approx(30.0) and result["spacetime_median"] == pytest.approx(20.0)


def test_comparison_and_table_state_the_claim() -> None:
    scores: dict[str, Any] = {
        "per_step_mean": [10.0, 20.0, 30.0],
        "per_step_median": [9.0, 19.0, 29.0],
        "spacetime_median": 18.0,
    }
    drift = {**scores, "spacetime_mean": 15.0, "params": 85, "params_complex_as_two_reals": 92}
    drift |= {"train_samples_per_s": 30.0, "inference_frames_per_s": 200.0}
    scot = {**scores, "spacetime_mean": 20.0, "params": 100, "params_complex_as_two_reals": 100}
    scot |= {"train_samples_per_s": 20.0, "inference_frames_per_s": 100.0}
    versus = protocol.comparison(drift, scot)
    assert versus["error_reduction_mean_pct"] == pytest.approx(25.0)
    assert versus["param_reduction_pct"] == pytest.approx(15.0)
    assert versus["train_throughput_ratio"] == pytest.approx(1.5)
    floor: dict[str, Any] = {"per_step_mean": [50.0, 60.0, 70.0], "per_step_median": [50.0, 60.0, 70.0]}
    floor |= {"spacetime_mean": 60.0, "spacetime_median": 60.0}
    lines = protocol.table({"DRIFT-Net": drift, "scOT": scot}, floor).splitlines()
    assert lines[0].split(" | ")[-3:] == ["L1% median", "step 1 mean/median", "step 3 mean/median"]  # first, last
    assert lines[2].startswith("DRIFT-Net | 85 | 92 | 30.0 | 200.0 | 15.00 | 18.00 | 10.00 / 9.00")
    assert lines[-1].startswith("persistence | - | - | - | - | 60.00 | 60.00")
