"""scOT's Swin-V2 parts against Hugging Face transformers' ``Swinv2`` (the classes Poseidon's scOT imports), with the
weights copied across by explicit name, in float64: outputs and gradients agree to rounding.

What is compared, and the known departures (``pdeops.models.drift``, ``pdeops.models._scot``):

- the attention alone (``WindowAttention.attend`` against ``Swinv2Attention``: cosine attention, logit scale and
  its clamp, continuous position bias, output projection), unshifted and with the shift mask;
- one layer (``Layer`` around ``WindowAttention`` against ``Swinv2Layer``: window clipping, zero padding to the
  window, cyclic shift, post-norm residuals, MLP), and with conditional LayerNorms (CLN) against ``Swinv2Layer``
  whose LayerNorms carry each sample's ``W_γ t + b_γ`` and ``W_β t + b_β``;
- an encoder stage against ``Swinv2Stage``: its layers and their shift pattern, and the patch merging. scOT
  (Poseidon's ``ScOTEncodeStage``) merges the stage's output with its input added back, transformers merges the
  output alone, so the merged tokens are compared with transformers' own ``downsample`` applied to that sum;
- a decoder stage's layers (reverse shift order, as Poseidon's ``ScOTDecodeStage``) against ``Swinv2Layer``s.

Departures, by design: the shift mask is ``−∞`` where transformers adds ``−100`` (twice, in the version tested:
``−200``), indistinguishable in float64 while the logit scale keeps masked logits ≥ ~100 below the others, as here.
Patch unmerging, the ConvNeXt skips, embedding and recovery have no transformers counterpart; they are tested by
hand in ``tests/models/test_drift.py``.

The test skips without transformers (the ``reference`` extra) except under ``scripts/test.sh``, which installs it
and sets ``PDEOPS_REQUIRE_REFERENCE=1`` so that a missing package fails.
"""

import importlib
import math
import os
from types import ModuleType

import pytest
import torch
from torch import nn

from pdeops.models._scot import DecoderStage, EncoderStage, Layer, MixerSite, PatchMerging
from pdeops.models.drift import WindowAttention, partition

Tensor = torch.Tensor
TOL = dict(rtol=1e-10, atol=1e-12)


def _swinv2() -> ModuleType:
    """``transformers.models.swinv2.modeling_swinv2``; skips without it, except under ``scripts/test.sh``."""
    name = "transformers.models.swinv2.modeling_swinv2"
    if os.environ.get("PDEOPS_REQUIRE_REFERENCE") == "1":
        return importlib.import_module(name)
    pytest.importorskip("transformers")
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def swinv2() -> ModuleType:
    return _swinv2()


# Ours -> transformers, for one attention (``attention.`` prefix inside a ``Swinv2Layer``).
ATTENTION = {
    "query.weight": "self.query.weight",
    "query.bias": "self.query.bias",
    "key.weight": "self.key.weight",  # no key bias in either
    "value.weight": "self.value.weight",
    "value.bias": "self.value.bias",
    "logit_scale": "self.logit_scale",
    "position_mlp.0.weight": "self.continuous_position_bias_mlp.0.weight",
    "position_mlp.0.bias": "self.continuous_position_bias_mlp.0.bias",
    "position_mlp.2.weight": "self.continuous_position_bias_mlp.2.weight",
    "proj.weight": "output.dense.weight",
    "proj.bias": "output.dense.bias",
}
# Ours -> transformers, for one layer (``Layer`` around ``WindowAttention`` -> ``Swinv2Layer``), affine norms.
LAYER = {f"mixer.{ours}": f"attention.{theirs}" for ours, theirs in ATTENTION.items()} | {
    "mixer.norm.weight": "layernorm_before.weight",
    "mixer.norm.bias": "layernorm_before.bias",
    "mlp.0.weight": "intermediate.dense.weight",
    "mlp.0.bias": "intermediate.dense.bias",
    "mlp.2.weight": "output.dense.weight",
    "mlp.2.bias": "output.dense.bias",
    "norm.weight": "layernorm_after.weight",
    "norm.bias": "layernorm_after.bias",
}
MERGE = {"reduction.weight": "reduction.weight", "norm.weight": "norm.weight", "norm.bias": "norm.bias"}


def _config(swinv2: ModuleType, window: int):
    """A ``Swinv2Config`` of our layers: GELU, MLP ratio 4, LayerNorm eps 1e-5, query/value biases, no dropout."""
    return swinv2.Swinv2Config(
        window_size=window,
        mlp_ratio=4.0,
        qkv_bias=True,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        drop_path_rate=0.0,
    )


def _randomize(module: nn.Module, seed: int) -> None:
    """Weights far from the initialisation, so that every part of the block matters: N(0, 0.3²) for matrices and
    biases, LayerNorm gains around 1, logit scales between log 5 and log 30 and one head past the clamp (log 100)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("logit_scale"):
                p.copy_(torch.empty_like(p).uniform_(math.log(5.0), math.log(30.0), generator=generator))
                p[0] = math.log(150.0)  # clamped to log 100 by both
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=generator, dtype=p.dtype))


def _copy(ours: nn.Module, theirs: nn.Module, names: dict[str, str]) -> None:
    """Copy every parameter of ``ours`` into ``theirs`` by the explicit name map; both must be fully covered."""
    mine, reference = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert sorted(names) == sorted(mine), "the name map must cover every parameter of ours"
    assert sorted(names.values()) == sorted(reference), "the name map must cover every parameter of transformers'"
    with torch.no_grad():
        for ours_name, theirs_name in names.items():
            assert reference[theirs_name].shape == mine[ours_name].shape, ours_name
            reference[theirs_name].copy_(mine[ours_name])


def _assert_grads_match(ours: nn.Module, theirs: nn.Module, names: dict[str, str]) -> None:
    reference = dict(theirs.named_parameters())
    for ours_name, p in ours.named_parameters():
        q = reference[names[ours_name]]
        assert p.grad is not None and q.grad is not None, ours_name
        torch.testing.assert_close(p.grad, q.grad, **TOL, msg=lambda m, n=ours_name: f"{n}: {m}")


def _layer_pair(swinv2: ModuleType, dim: int, heads: int, grid: int, window: int, shifted: bool, seed: int):
    """Our ``Layer`` and a ``Swinv2Layer`` with the same weights, float64."""
    ours = Layer(WindowAttention(MixerSite(dim, heads, grid, shifted, False), window), dim, 4.0, False).double()
    theirs = swinv2.Swinv2Layer(
        _config(swinv2, window), dim, (grid, grid), heads, shift_size=window // 2 if shifted else 0
    ).double()
    _randomize(ours, seed)
    _copy(ours, theirs, LAYER)
    return ours.eval(), theirs.eval()


def _their_layer(layer, x: Tensor) -> Tensor:
    """A ``Swinv2Layer`` on channels-last tokens ``(B, h, w, C) -> (B, h, w, C)`` (it takes ``(B, h·w, C)``)."""
    b, h, w, c = x.shape
    return layer(x.reshape(b, h * w, c), (h, w))[0].reshape(b, h, w, c)


@pytest.mark.parametrize("shifted", [False, True], ids=["windows", "shifted"])
def test_attention_matches_swinv2_attention(swinv2: ModuleType, shifted: bool) -> None:
    dim, heads, grid, window = 12, 3, 8, 4
    ours = WindowAttention(MixerSite(dim, heads, grid, shifted, False), window).double()
    theirs = swinv2.Swinv2Attention(_config(swinv2, window), dim, heads, window).double()
    _randomize(ours, seed=1)
    ours.norm = nn.Identity()  # the attention alone; the layer's norm is compared below
    _copy(ours, theirs, ATTENTION)
    x = torch.randn(2, grid, grid, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    shifted_x = torch.roll(x, (-(window // 2),) * 2, dims=(1, 2)) if shifted else x
    windows = partition(shifted_x, window).requires_grad_(True)  # (B, n, w², C)
    mask = None
    if shifted:
        mask = swinv2.Swinv2Layer(_config(swinv2, window), dim, (grid, grid), heads, shift_size=window // 2)
        mask = mask.get_attn_mask(grid, grid, torch.float64)  # (n, w², w²), transformers' own
    out = ours.attend(windows)
    ref = theirs(windows.flatten(0, 1), mask)[0].unflatten(0, windows.shape[:2])
    torch.testing.assert_close(out, ref, **TOL)
    weights = torch.randn(out.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    (grad_ours,) = torch.autograd.grad((out * weights).sum(), windows)
    (grad_theirs,) = torch.autograd.grad((ref * weights).sum(), windows)
    torch.testing.assert_close(grad_ours, grad_theirs, **TOL)
    assert out.abs().max() > 0.1
    if shifted:  # the mask matters
        assert not torch.allclose(out, theirs(windows.flatten(0, 1))[0].view_as(out))


@pytest.mark.parametrize(
    ("grid", "window", "shifted"),
    [(8, 4, False), (8, 4, True), (6, 4, True), (4, 8, True)],
    ids=["windows", "shifted", "padded-shifted", "window-clipped"],
)
def test_layer_matches_swinv2_layer_outputs_and_gradients(swinv2: ModuleType, grid: int, window: int, shifted: bool):
    ours, theirs = _layer_pair(swinv2, 12, 3, grid, window, shifted, seed=4)
    assert ours.mixer.window == theirs.window_size and ours.mixer.shift == theirs.shift_size
    x = torch.randn(2, grid, grid, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    x_ours, x_theirs = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out, ref = ours(x_ours, None), _their_layer(theirs, x_theirs)
    torch.testing.assert_close(out, ref, **TOL)
    weights = torch.randn(out.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    (out * weights).sum().backward()
    (ref * weights).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_theirs.grad, **TOL)
    _assert_grads_match(ours, theirs, LAYER)


def test_conditional_layer_is_swinv2_layer_with_each_samples_norm(swinv2: ModuleType) -> None:
    """A CLN at lead time t is a LayerNorm of gain ``W_γ t + b_γ`` and bias ``W_β t + b_β``: per sample, our
    conditioned layer is transformers' layer with those LayerNorm weights (Poseidon's ``ConditionalLayerNorm``)."""
    dim, heads, grid, window = 12, 3, 8, 4
    ours = Layer(WindowAttention(MixerSite(dim, heads, grid, True, True), window), dim, 4.0, True).double().eval()
    _randomize(ours, seed=7)
    x = torch.randn(2, grid, grid, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    t = torch.tensor([0.05, 0.8], dtype=torch.float64)
    out = ours(x, t)
    shared = {k: v for k, v in LAYER.items() if not k.startswith(("mixer.norm.", "norm."))}
    for b in range(2):
        theirs = swinv2.Swinv2Layer(_config(swinv2, window), dim, (grid, grid), heads, shift_size=window // 2)
        theirs = theirs.double().eval()
        mine = dict(ours.named_parameters())
        with torch.no_grad():
            for ours_name, theirs_name in shared.items():
                theirs.get_parameter(theirs_name).copy_(mine[ours_name])
            for cln, norm in ((ours.mixer.norm, theirs.layernorm_before), (ours.norm, theirs.layernorm_after)):
                norm.weight.copy_(cln.scale.weight[:, 0] * t[b] + cln.scale.bias)
                norm.bias.copy_(cln.shift.weight[:, 0] * t[b] + cln.shift.bias)
        torch.testing.assert_close(out[b : b + 1], _their_layer(theirs, x[b : b + 1]), **TOL)
    assert not torch.allclose(out[0], ours(x, t.flip(0))[0])  # the lead time matters


def test_encoder_stage_matches_swinv2_stage_with_the_input_added_before_merging(swinv2: ModuleType) -> None:
    """Layers alternate unshifted/shifted as ``Swinv2Stage``'s; scOT merges ``layers(x) + x`` (Poseidon's
    ``ScOTEncodeStage``) where transformers merges ``layers(x)``, so the merge is compared on that sum."""
    dim, heads, grid, window, depth = 12, 3, 8, 4, 2
    layers = [
        Layer(WindowAttention(MixerSite(dim, heads, grid, i % 2 == 1, False), window), dim, 4.0, False)
        for i in range(depth)
    ]
    ours = EncoderStage(layers, PatchMerging(dim, False)).double().eval()
    theirs = swinv2.Swinv2Stage(
        _config(swinv2, window), dim, (grid, grid), depth, heads, [0.0] * depth, swinv2.Swinv2PatchMerging
    )
    theirs = theirs.double().eval()
    _randomize(ours, seed=9)
    names = {f"layers.{i}.{k}": f"blocks.{i}.{v}" for i in range(depth) for k, v in LAYER.items()}
    names |= {f"merge.{k}": f"downsample.{v}" for k, v in MERGE.items()}
    _copy(ours, theirs, names)
    x = torch.randn(2, grid, grid, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(10))
    x_ours, x_theirs = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    merged, skip = ours(x_ours, None)
    their_merged, their_skip, dims = theirs(x_theirs.flatten(1, 2), (grid, grid))
    assert dims == (grid, grid, grid // 2, grid // 2)
    torch.testing.assert_close(skip.flatten(1, 2), their_skip, **TOL)
    assert not torch.allclose(merged.flatten(1, 2), their_merged)  # transformers merges without the input
    scot_merged = theirs.downsample(their_skip + x_theirs.flatten(1, 2), (grid, grid))
    torch.testing.assert_close(merged.flatten(1, 2), scot_merged, **TOL)
    weights = torch.randn(merged.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    (merged * weights).sum().backward()
    (scot_merged * weights.flatten(1, 2)).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_theirs.grad, **TOL)
    _assert_grads_match(ours, theirs, names)


def test_decoder_stage_layers_run_in_reverse_shift_order(swinv2: ModuleType) -> None:
    """Poseidon's decoder stage builds its layers ``for i in reversed(range(depth))``: shifted first at depth 2."""
    dim, heads, grid, window, depth = 12, 3, 8, 4, 2
    order = list(reversed(range(depth)))
    layers = [
        Layer(WindowAttention(MixerSite(dim, heads, grid, i % 2 == 1, False), window), dim, 4.0, False) for i in order
    ]
    ours = DecoderStage(layers, None).double().eval()
    _randomize(ours, seed=12)
    theirs = (
        nn.ModuleList(
            swinv2.Swinv2Layer(
                _config(swinv2, window), dim, (grid, grid), heads, shift_size=window // 2 if i % 2 else 0
            )
            for i in order
        )
        .double()
        .eval()
    )
    _copy(ours.layers, theirs, {f"{i}.{k}": f"{i}.{v}" for i in range(depth) for k, v in LAYER.items()})
    assert [layer.mixer.shift for layer in ours.layers] == [window // 2, 0]
    x = torch.randn(2, grid, grid, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(13))
    ref = x
    for layer in theirs:
        ref = _their_layer(layer, ref)
    torch.testing.assert_close(ours(x, None), ref, **TOL)
