"""DRIFT-Net and scOT: the model contract, the spectral block and Swin-V2 attention against hand-computed cases, and
parameter counts against the closed-form figures (their loss: tests/losses/test_drift_loss.py; their training task:
tests/training/test_drift_task.py)."""

import itertools
import math

import pytest
import torch
from torch import nn

from pdeops.models._scot import (
    ConditionalLayerNorm,
    EncoderStage,
    Layer,
    MixerSite,
    PatchMerging,
    PatchUnmerging,
    ScOTSize,
    count_parameters,
)
from pdeops.models.drift import (
    DRIFTNet,
    ScOT,
    SpectralMixing,
    WindowAttention,
    gate_statistics,
    log_spaced_offsets,
    low_frequency_mask,
    partition,
    radial_bands,
    record_gates,
    relative_position_index,
    shifted_window_mask,
)
from solvers import Grid

MODELS = [DRIFTNet, ScOT]


# --- the model contract -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("conditioned", [True, False], ids=["cln", "layernorm"])
@pytest.mark.parametrize("cls", MODELS)
def test_contract_shape_gradients_resolution_and_time(cls, conditioned: bool) -> None:
    torch.manual_seed(0)
    model = cls(3, 2, size="mini", image_size=64, time_conditioning=conditioned)
    x = torch.randn(2, 3, 64, 64)
    out = model(x)
    assert out.shape == (2, 2, 64, 64)
    out.square().mean().backward()
    without = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert without == []
    with torch.no_grad():
        assert model(torch.randn(2, 3, 48, 40)).shape == (2, 2, 48, 40)
        if conditioned:
            assert not torch.allclose(model(x, torch.tensor([0.3, 0.9])), out)
            assert torch.equal(model(x, model.lead_time), out)
            with pytest.raises(ValueError, match=r"t must be a number or shape \(2,\)"):
                model(x, torch.ones(3))
        else:
            with pytest.raises(ValueError, match="time_conditioning=False and takes no lead time"):
                model(x, 0.5)
    with pytest.raises(ValueError, match=r"Expected input \(B, 3, H, W\)"):
        model(torch.randn(2, 2, 64, 64))


def test_other_resolutions_are_spectral_resampling() -> None:
    """A field band-limited below 16 modes gives the same prediction at 32² as at 64², resampled."""
    torch.manual_seed(0)
    model = DRIFTNet(1, 1, size="mini", image_size=64).eval()
    fine = Grid((64, 64), 1.0, dtype=torch.float32)
    x_fine = Grid((16, 16), 1.0, dtype=torch.float32).resample(torch.randn(1, 1, 16, 16), (64, 64))  # |m| < 8
    with torch.no_grad():
        expected = fine.resample(model(x_fine), (32, 32))
        got = model(fine.resample(x_fine, (32, 32)))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_patch_merging_and_unmerging_layouts_by_hand() -> None:
    torch.manual_seed(0)
    merging = PatchMerging(2, conditioned=False)
    x = torch.randn(1, 2, 2, 2)  # one 2×2 neighbourhood of 2-channel tokens
    neighbours = torch.cat([x[0, 0, 0], x[0, 1, 0], x[0, 0, 1], x[0, 1, 1]])  # (row, column) (0,0), (1,0), (0,1), (1,1)
    expected = merging.norm(merging.reduction(neighbours), None)
    torch.testing.assert_close(merging(x, None).flatten(), expected)
    unmerging = PatchUnmerging(4, conditioned=False)
    tokens = torch.randn(1, 2, 3, 4)
    y = unmerging.upsample(tokens).reshape(2, 3, 2, 2, 2)  # (i, j, row offset, column offset, C/2)
    shuffled = torch.empty(4, 6, 2)
    for i, j, r, c in itertools.product(range(2), range(3), range(2), range(2)):
        shuffled[2 * i + r, 2 * j + c] = y[i, j, r, c]
    expected = unmerging.mixup(unmerging.norm(shuffled, None))
    torch.testing.assert_close(unmerging(tokens, None)[0], expected)


def test_encoder_stage_merges_the_stage_input_added_back_and_skips_the_pre_merge_state() -> None:
    torch.manual_seed(0)
    site = MixerSite(dim=4, num_heads=1, grid=4, shifted=False, conditioned=False)
    layer = Layer(WindowAttention(site, 4), 4, 4.0, conditioned=False)
    stage = EncoderStage([layer], PatchMerging(4, conditioned=False))
    x = torch.randn(2, 4, 4, 4)
    merged, skip = stage(x, None)
    h = layer(x, None)
    torch.testing.assert_close(skip, h)
    assert stage.merge is not None
    torch.testing.assert_close(merged, stage.merge(h + x, None))


def test_conditional_layer_norm_by_hand() -> None:
    norm = ConditionalLayerNorm(3)
    with torch.no_grad():
        norm.scale.weight.copy_(torch.tensor([[1.0], [2.0], [3.0]]))
        norm.scale.bias.fill_(0.5)
        norm.shift.weight.fill_(-1.0)
        norm.shift.bias.copy_(torch.tensor([0.0, 1.0, 2.0]))
    x = torch.tensor([[[1.0, 2.0, 6.0]], [[0.0, 0.0, 3.0]]])  # (B=2, 1 token, C=3)
    t = torch.tensor([0.5, 2.0])
    normed = (x - x.mean(-1, keepdim=True)) / (x.var(-1, unbiased=False, keepdim=True) + 1e-5).sqrt()
    gamma = t[:, None, None] * torch.tensor([1.0, 2.0, 3.0]) + 0.5
    beta = -t[:, None, None] + torch.tensor([0.0, 1.0, 2.0])
    torch.testing.assert_close(norm(x, t), normed * gamma + beta)
    with pytest.raises(ValueError, match="needs the lead time t"):
        norm(x, None)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: DRIFTNet(1, 1, size="mini", image_size=48),
            r"multiple of patch_size · 2\^\(stages − 1\) = 32, got 48",
        ),
        (lambda: DRIFTNet(0, 1, size="mini", image_size=32), "in_channels and out_channels must be >= 1, got 0 and 1"),
        (lambda: ScOT(1, 1, size="XL"), "size must be one of .*, got 'XL'"),  # type: ignore[arg-type]
        (lambda: DRIFTNet(1, 1, size="mini", image_size=32, cutoff=0.0), r"cutoff must be in \(0, 1\], got 0.0"),
        (lambda: DRIFTNet(1, 1, size="mini", image_size=32, frequencies="fft"), "frequencies must be one of"),  # type: ignore[arg-type]
        (lambda: DRIFTNet(1, 1, size="mini", image_size=32, num_bands=0), "num_bands and gate_hidden must be >= 1"),
        (lambda: ScOTSize(24, (2, 2), (3,), (1, 1)), "one entry per stage"),
        (lambda: WindowAttention(MixerSite(10, 3, 4, False, False), 4), "width 10 must be divisible by .* heads 3"),
        (lambda: DRIFTNet(1, 1, size="mini", image_size=32, gate_input="max"), "gate_input must be one of"),  # type: ignore[arg-type]
        (lambda: ScOT(1, 1, size="mini", image_size=32, norm_init="zero"), "norm_init must be one of"),  # type: ignore[arg-type]
    ],
    ids=["image_size", "channels", "size", "cutoff", "frequencies", "bands", "stages", "heads", "gate", "norm"],
)
def test_bad_arguments_are_refused(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


# --- DRIFT-Net's spectral block -----------------------------------------------------------------------------------
def test_low_frequency_masks_by_hand() -> None:
    # (8, 8), c = 0.56. Signed: |m_y| < 2.24 keeps rows m = 0, 1, 2, -2, -1 (indices 0, 1, 2, 6, 7) and columns
    # m_x = 0, 1, 2. Index (the reference): rows < ⌊4.48⌋ = 4, columns < ⌊0.56 · 5⌋ = 2.
    signed = torch.zeros(8, 5, dtype=torch.bool)
    signed[[0, 1, 2, 6, 7], :3] = True
    index = torch.zeros(8, 5, dtype=torch.bool)
    index[:4, :2] = True
    assert torch.equal(low_frequency_mask((8, 8), 0.56, "signed"), signed)
    assert torch.equal(low_frequency_mask((8, 8), 0.56, "index"), index)


def test_radial_bands_by_hand() -> None:
    # (4, 4): rows m_y = 0, 1, -2, -1, columns m_x = 0, 1, 2; r = |m| / √8, band ⌊6 r⌋ (6 at r = 1 goes to 5).
    signed = [[0, 2, 4], [2, 3, 4], [4, 4, 5], [2, 3, 4]]
    # Index radius (the reference): (i/3, j/2) over its maximum √2.
    index = [[0, 2, 4], [1, 2, 4], [2, 3, 5], [4, 4, 5]]
    assert radial_bands((4, 4), 6, "signed").tolist() == signed
    assert radial_bands((4, 4), 6, "index").tolist() == index


def _linears(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def _identity_gate(mixing: SpectralMixing) -> None:
    """Make the gate α = sigmoid(band mean) (hidden width = bands, identity weights, zero biases)."""
    with torch.no_grad():
        for linear in _linears(mixing.gate):
            linear.weight.copy_(torch.eye(6))
            linear.bias.zero_()


def test_band_gate_is_the_sigmoid_of_band_means_by_hand() -> None:
    mixing = SpectralMixing(1, (4, 4), 0.56, "signed", num_bands=6, gate_hidden=6)
    _identity_gate(mixing)
    magnitude = torch.arange(12.0).reshape(1, 1, 4, 3)  # values [[0,1,2],[3,4,5],[6,7,8],[9,10,11]]
    # Bands as in test_radial_bands_by_hand: 0: {0}; 1: none (mean 0); 2: {1, 3, 9}; 3: {4, 10};
    # 4: {2, 5, 6, 7, 11}; 5: {8}.
    means = torch.tensor([0.0, 0.0, 13 / 3, 7.0, 31 / 5, 8.0])
    bands = radial_bands((4, 4), 6, "signed")
    torch.testing.assert_close(mixing.band_gate(magnitude)[0, 0], torch.sigmoid(means)[bands])


def test_log_energy_gate_input_by_hand_and_scale_free() -> None:
    """Beyond the paper: the gate sees ln(E_b / mean_b E_b) with E_b the band mean of |X̂|²."""
    mixing = SpectralMixing(1, (4, 4), 0.56, "signed", num_bands=6, gate_hidden=6, gate_input="log_energy")
    _identity_gate(mixing)
    magnitude = torch.arange(1.0, 13.0).reshape(1, 1, 4, 3)  # bands as in the test above; band 1 is empty
    values = magnitude.flatten()
    energy = torch.stack(
        [values[list(members)].square().mean() if members else torch.tensor(0.0) for members in
         [(0,), (), (1, 3, 9), (4, 10), (2, 5, 6, 7, 11), (8,)]]
    )  # fmt: skip
    features = torch.log(energy / energy.mean() + 1e-12)
    bands = radial_bands((4, 4), 6, "signed")
    expected = torch.sigmoid(features.clamp_min(0))  # the identity gate's ReLU zeroes the negative log shares
    torch.testing.assert_close(mixing.band_gate(magnitude)[0, 0], expected[bands])
    torch.testing.assert_close(mixing.band_gate(1e-4 * magnitude), mixing.band_gate(magnitude))


def test_gate_statistics_per_band_when_recorded() -> None:
    torch.manual_seed(0)
    model = DRIFTNet(2, 2, size="mini", image_size=32)
    x = torch.randn(3, 2, 32, 32)
    model(x)
    assert gate_statistics(model) == {}  # nothing kept unless asked
    record_gates(model, True)
    model(x)
    stats = gate_statistics(model)
    assert sorted(stats) == sorted(f"band{b}/{s}" for b in range(6) for s in ("mean", "std", "min", "max"))
    for b in range(6):
        low, mean, high = stats[f"band{b}/min"], stats[f"band{b}/mean"], stats[f"band{b}/max"]
        assert 0 < low <= mean <= high < 1 and stats[f"band{b}/std"] >= 0
    # The paper's gate at initialisation: inputs ~1e-4 leave every α at 1/2 to within 1e-2.
    assert all(abs(float(stats[f"band{b}/mean"]) - 0.5) < 1e-2 for b in range(6))
    record_gates(model, False)
    assert gate_statistics(model) == {}
    assert gate_statistics(ScOT(2, 2, size="mini", image_size=32)) == {}


@pytest.mark.parametrize("cls", MODELS)
def test_unit_norm_init_starts_every_conditional_gain_at_one(cls) -> None:
    t = torch.tensor([0.05])
    for norm_init, low, high in (("reference", 0.0, 0.01), ("unit", 0.99, 1.01)):
        torch.manual_seed(0)
        model = cls(2, 2, size="mini", image_size=32, norm_init=norm_init)
        norms = [m for m in model.modules() if isinstance(m, ConditionalLayerNorm)]
        gains = torch.cat([m.scale(t).detach().abs().flatten() for m in norms])
        assert norms and low <= float(gains.min()) and float(gains.max()) <= high, norm_init


@pytest.mark.parametrize("gate", [1.0, 0.0], ids=["low-mixed", "high-kept"])
def test_fusion_mixes_low_modes_and_keeps_high_ones(gate: float) -> None:
    """α → 1 gives W X̂_low only; α → 0 gives X̂_high only. W swaps the two channels."""
    mixing = SpectralMixing(2, (8, 8), 0.56, "signed", num_bands=6, gate_hidden=8)
    with torch.no_grad():
        mixing.weight.copy_(torch.tensor([[0, 1], [1, 0]], dtype=torch.complex64))
        last = _linears(mixing.gate)[-1]
        last.weight.zero_()
        last.bias.fill_(60.0 if gate else -60.0)
    x = torch.randn(3, 2, 8, 8)
    low = low_frequency_mask((8, 8), 0.56)
    spectrum = torch.fft.rfft2(x, norm="forward")
    if gate:
        expected = torch.fft.irfft2(spectrum.flip(1) * low, s=(8, 8), norm="forward")
    else:
        expected = torch.fft.irfft2(spectrum * ~low, s=(8, 8), norm="forward")
    torch.testing.assert_close(mixing(x), expected, atol=1e-6, rtol=1e-5)


# --- scOT's Swin-V2 attention -------------------------------------------------------------------------------------
def test_log_spaced_offsets_and_index_by_hand() -> None:
    table = log_spaced_offsets(4)  # Δ ∈ {-3..3}, Δ̂ = sign(Δ) log2(1 + 8|Δ|/3) / 3
    expected = [math.copysign(math.log2(1 + 8 * abs(d) / 3) / 3, d) if d else 0.0 for d in range(-3, 4)]
    torch.testing.assert_close(table.reshape(7, 7, 2)[:, 0, 0], torch.tensor(expected))
    torch.testing.assert_close(table.reshape(7, 7, 2)[0, :, 1], torch.tensor(expected))
    # window 2, tokens (0,0), (0,1), (1,0), (1,1): row (Δy + 1)·3 + (Δx + 1) of the 3×3 offset table
    assert relative_position_index(2).tolist() == [[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]]


def test_shifted_window_mask_by_hand() -> None:
    # grid 4, window 2, shift 1: regions [0,2), [2,3), [3,4) per axis, labelled 3i + j
    mask = shifted_window_mask(4, 2, 1)
    assert mask.shape == (4, 4, 4)
    assert torch.equal(mask[0], torch.zeros(4, 4))  # one region
    same = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]], dtype=torch.bool)
    assert torch.equal(mask[1] == 0, same)  # columns 2 | 3 split it
    assert torch.equal(mask[3] == 0, torch.eye(4, dtype=torch.bool))  # four regions
    assert bool((mask[3][~torch.eye(4, dtype=torch.bool)] == float("-inf")).all())


def test_window_attention_is_cosine_attention_with_logit_scale() -> None:
    """With a flat position bias, attention is softmax(τ cos(q, k)) v per head, then the output projection."""
    torch.manual_seed(0)
    attention = WindowAttention(MixerSite(dim=8, num_heads=2, grid=4, shifted=False, conditioned=False), 4)
    with torch.no_grad():
        _linears(attention.position_mlp)[-1].weight.zero_()  # bias 16 σ(0) = 8 everywhere: cancels in the softmax
        attention.logit_scale.copy_(torch.tensor([math.log(3.0), math.log(200.0)]).reshape(2, 1, 1))
    windows = torch.randn(2, 1, 16, 8)
    q, k, v = (p(windows).reshape(2, 1, 16, 2, 4) for p in (attention.query, attention.key, attention.value))
    τ = torch.tensor([3.0, 100.0])  # the second clamped at log 100
    heads = []
    for h in range(2):
        q_h, k_h, v_h = q[:, :, :, h], k[:, :, :, h], v[:, :, :, h]  # (B, n, 16 tokens, 4)
        cos = torch.nn.functional.cosine_similarity(q_h[:, :, :, None], k_h[:, :, None], dim=-1)  # (B, n, 16, 16)
        heads.append(torch.softmax(τ[h] * cos, dim=-1) @ v_h)
    expected = attention.proj(torch.cat(heads, dim=-1))
    torch.testing.assert_close(attention.attend(windows), expected, atol=1e-5, rtol=1e-4)


def test_window_partition_round_trip() -> None:
    x = torch.arange(2 * 4 * 4 * 3.0).reshape(2, 4, 4, 3)
    windows = partition(x, 2)
    assert torch.equal(windows[0, 1, :, 0], x[0, 0:2, 2:4, 0].flatten())  # window 1 = rows 0–1, columns 2–3


# --- parameter counts ---------------------------------------------------------------------------------------------
def _closed_form(mixer, channels: int = 2) -> int:
    """Parameters of size T from the spec's layer list (complex weights once), per stage i of width C = 48·2^i."""
    cln = lambda c: 4 * c  # noqa: E731  # Linear(1, C) twice
    total = channels * 16 * 48 + 48 + cln(48)  # patch embedding + CLN
    total += 48 * channels * 16 + channels + 25 * channels**2  # recovery + 5×5 mixup
    for i, (heads, skips) in enumerate(zip((3, 6, 12, 24), (2, 2, 2, 0), strict=True)):
        c = 48 * 2**i
        layer = mixer(c, heads) + (8 * c * c + 5 * c) + cln(c)  # mixer, MLP, CLN
        total += 2 * 4 * layer + skips * (8 * c * c + 60 * c)  # encoder + decoder layers, ConvNeXt skips
        total += 8 * c * c + cln(2 * c) if i < 3 else 0  # patch merging
        total += 2 * c * c + cln(c // 2) + (c // 2) ** 2 if i > 0 else 0  # patch unmerging
    return total


def _swin_v2(c: int, heads: int) -> int:
    return 4 * c * c + 3 * c + heads + (3 * 512 + 512 * heads) + 4 * c  # q, k (no bias), v, proj; τ; bias MLP; CLN


def _spectral_image(c: int, heads: int) -> int:
    return c * c + (6 * 128 + 128 + 128 * 6 + 6) + 9 * c + (c * c + c) + 4 * c  # W, gate, 3×3 dw, pointwise, CLN


def test_size_t_parameter_counts_match_the_closed_form_and_the_spec() -> None:
    with torch.device("meta"):
        scot, drift = ScOT(2, 2, size="T"), DRIFTNet(2, 2, size="T")
    assert count_parameters(scot) == _closed_form(_swin_v2) == 20_771_070  # spec: scOT-T ≈ 20.8M
    assert count_parameters(drift) == _closed_form(_spectral_image) == 17_497_558  # spec: ≈ 17.5M, complex once
    as_two = sum(48 * 2**i * 48 * 2**i for i in range(4)) * 8  # one extra real per complex weight, 8 layers/stage
    assert count_parameters(drift, complex_as_two=True) == 17_497_558 + as_two
    assert 1 - count_parameters(drift) / count_parameters(scot) == pytest.approx(0.158, abs=0.001)  # spec ~15%
