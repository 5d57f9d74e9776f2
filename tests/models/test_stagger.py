"""NeuralStagger: the decomposition is an exact bijection, pieces see only themselves (its physics-constrained task:
tests/training/test_stagger_task.py)."""

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from neuralop.models import FNO as FNOModel

from pdeops.evaluation.cost import count_flops
from pdeops.models.stagger import NeuralStagger, merge, piece_operator, split, stagger_time, unstagger_time
from tests._stagger import FNO, fields


# --- decomposition ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, factors", [((2, 3, 8, 8), (2, 2)), ((2, 1, 12, 8), (3, 4)), ((1, 2, 4, 6, 8), (2, 3, 4))]
)
def test_split_merge_round_trips_are_bit_exact(shape: tuple[int, ...], factors: tuple[int, ...]) -> None:
    u = fields(shape)
    pieces = split(u, factors)
    assert pieces.shape == (*shape[:2], math.prod(factors), *(n // s for n, s in zip(shape[2:], factors, strict=True)))
    round_trip = u
    for _ in range(4):
        round_trip = merge(split(round_trip, factors), factors)
    assert torch.equal(round_trip, u)
    assert torch.equal(split(merge(pieces, factors), factors), pieces)


@pytest.mark.parametrize("shape, factors", [((2, 3, 12, 8), (3, 2)), ((1, 2, 4, 6, 8), (2, 3, 4))])
def test_each_piece_is_the_strided_slice_at_its_row_major_offset(
    shape: tuple[int, ...], factors: tuple[int, ...]
) -> None:
    u = fields(shape, seed=1)
    pieces = split(u, factors)
    offsets = torch.cartesian_prod(*(torch.arange(s) for s in factors)).reshape(-1, len(factors))
    for p, offset in enumerate(offsets.tolist()):
        index: tuple[Any, ...] = (..., *(slice(o, None, s) for o, s in zip(offset, factors, strict=True)))
        strided = u[index]
        assert torch.equal(pieces[:, :, p], strided), f"piece {p} (offsets {offset})"


def test_equal_factors_in_2d_are_pixel_unshuffle() -> None:
    u = fields((2, 3, 12, 12), seed=2)
    assert torch.equal(split(u, (3, 3)).flatten(1, 2), F.pixel_unshuffle(u, 3))
    assert torch.equal(
        merge(F.pixel_unshuffle(u, 3).unflatten(1, (3, 9)), (3, 3)), F.pixel_shuffle(F.pixel_unshuffle(u, 3), 3)
    )


def test_temporal_staggering_takes_every_s_t_th_frame_and_inverts_exactly() -> None:
    trajectory = fields((2, 6, 1, 4, 4), seed=3)
    pieces = stagger_time(trajectory, 3)
    assert pieces.shape == (2, 3, 2, 1, 4, 4)
    for m in range(3):
        assert torch.equal(pieces[:, m], trajectory[:, m::3])
    assert torch.equal(unstagger_time(pieces), trajectory)


def test_decomposition_names_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match=r"spatial shape \(8, 6\) must be divisible by the factors \(2, 4\)"):
        split(fields((1, 8, 6)), (2, 4))
    with pytest.raises(ValueError, match="P = 4"):
        merge(fields((1, 3, 4, 4)), (2, 2))
    with pytest.raises(ValueError, match="divisible by s_T = 4"):
        stagger_time(fields((1, 6, 4)), 4)
    with pytest.raises(ValueError, match="positive integer"):
        split(fields((1, 8, 8)), (2, 0))


# --- the model -------------------------------------------------------------------------------------------------------
def test_factor_one_is_the_operator_itself() -> None:
    stagger = NeuralStagger(1, 1, FNO, [1, 1])
    x = fields((3, 1, 16, 16), seed=4).float()
    assert len(stagger.operators) == 1 and torch.equal(stagger(x), stagger.operators[0](x))


@pytest.mark.parametrize("weights", ["separate", "shared"])
def test_each_piece_sees_only_its_own_coarse_input(weights: str) -> None:
    torch.manual_seed(0)
    stagger = NeuralStagger(2, 1, FNO, [2, 2], temporal_factor=2, weights=weights)  # type: ignore[arg-type]
    # each sub-solver takes C, or C + K with K = s_T·P = 2·4 one-hot piece channels
    assert stagger.operators[0].in_channels == (1 if weights == "separate" else 1 + 8)
    x = fields((2, 2, 16, 16), seed=5).float()
    y = stagger(x)
    nudged = x.clone()
    nudged[:, :, 1::2, 0::2] += 1.0  # piece 2 = offsets (1, 0), both input frames
    changed = (stagger(nudged) - y).abs().amax(dim=(0, 1))
    assert changed[1::2, 0::2].min() > 0
    changed[1::2, 0::2] = 0
    assert changed.max() == 0
    single = stagger.coarse([2, 2], [1, 0])(x[:, :, 1::2, 0::2])
    torch.testing.assert_close(single, y[:, :, 1::2, 0::2], rtol=1e-6, atol=1e-6)
    half = stagger.coarse([2, 1], [1, 0])(x[:, :, 1::2, :])  # a (1/2, 1) sub-lattice: pieces 2 and 3
    torch.testing.assert_close(half, y[:, :, 1::2, :], rtol=1e-6, atol=1e-6)


def test_shared_weights_run_every_piece_in_one_call_and_separate_weights_train_apart() -> None:
    shared = NeuralStagger(1, 1, FNO, [4, 4], weights="shared")
    shared_operator = shared.operators[0]
    batches: list[int] = []
    shared_operator.register_forward_hook(lambda module, args, out: batches.append(args[0].shape[0]))
    x = fields((3, 1, 16, 16), seed=6).float()
    shared(x)
    assert batches == [3 * 16]
    separate = NeuralStagger(1, 1, FNO, [2, 2])
    separate(x).square().mean().backward()
    for name, parameter in separate.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    first, second = (dict(op.named_parameters()) for op in separate.operators[:2])
    assert all(first[key] is not second[key] for key in first)


def test_model_names_wrong_inputs() -> None:
    stagger = NeuralStagger(2, 1, FNO, [2, 2], temporal_factor=2)
    with pytest.raises(ValueError, match="2 spatial axes"):
        stagger(fields((1, 2, 16)).float())
    with pytest.raises(ValueError, match=r"s_T = 2, C = 1"):
        stagger(fields((1, 4, 8, 8)).float())
    with pytest.raises(ValueError, match="in_channels must be 2, got 1"):
        NeuralStagger(1, 1, FNO, [2, 2], temporal_factor=2)
    with pytest.raises(ValueError, match="operator must be a config tree"):
        NeuralStagger(1, 1, {"init_args": {}}, [2, 2])
    with pytest.raises(ValueError, match="stride must divide"):
        stagger.coarse([3, 2])
    with pytest.raises(ValueError, match="'separate' or 'shared'"):
        NeuralStagger(1, 1, FNO, [2, 2], weights="tied")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'given' or 'per_piece'"):
        NeuralStagger(1, 1, FNO, [2, 2], sizing="small")  # type: ignore[arg-type]


# --- sub-solvers sized for their piece --------------------------------------------------------------------------------
FINE: dict[str, Any] = {
    "class_path": "neuralop.models.FNO",
    "init_args": {"n_modes": [12, 8], "hidden_channels": 32, "n_layers": 2},
}


def test_piece_operator_divides_modes_by_the_factors_and_width_by_their_root() -> None:
    assert piece_operator(FINE, [2, 2])["init_args"] == {"n_modes": [6, 4], "hidden_channels": 16, "n_layers": 2}
    # unequal factors: modes rounded up per axis; width 32/√8 = 11.3 -> 11
    assert piece_operator(FINE, [4, 3])["init_args"]["n_modes"] == [3, 3]
    assert piece_operator(FINE, [4, 2])["init_args"]["hidden_channels"] == 11
    assert piece_operator(FINE, [1, 1]) == FINE and FINE["init_args"]["n_modes"] == [12, 8]  # the input is kept
    width_only = {"class_path": "pdeops.models.UNet", "init_args": {"hidden_channels": 16}}
    assert piece_operator(width_only, [2, 2])["init_args"] == {"hidden_channels": 8}
    with pytest.raises(ValueError, match="none of them"):
        piece_operator({"class_path": "neuralop.models.FNO", "init_args": {"n_layers": 2}}, [2, 2])
    with pytest.raises(ValueError, match="one entry per spatial factor"):
        piece_operator(FINE, [2, 2, 2])


@pytest.mark.parametrize("weights", ["separate", "shared"])
def test_per_piece_sub_solvers_together_do_a_fraction_of_the_fine_models_work(weights: str) -> None:
    fine = NeuralStagger(1, 1, FINE, [1, 1])
    stagger = NeuralStagger(1, 1, FINE, [2, 2], weights=weights, sizing="per_piece")  # type: ignore[arg-type]
    operator = stagger.operators[0]
    assert isinstance(operator, FNOModel) and list(operator.n_modes) == [6, 4] and operator.hidden_channels == 16
    x = fields((1, 1, 32, 32), seed=7).float()
    assert stagger(x).shape == x.shape
    fine_flops, stagger_flops = count_flops(lambda: fine(x)), count_flops(lambda: stagger(x))
    # pointwise work falls by P = 4 (a quarter of the points each, at half the width), FFTs by about √P only
    assert 3 < fine_flops.dense / stagger_flops.dense < 5
    assert 1.5 < fine_flops.fft / stagger_flops.fft < 3
