"""``SpatiotemporalFNO``: its shape contract across resolutions, gradients, size, enlarged output layer, bad input."""

import pytest
import torch

from pdeops.metrics import relative_lp_window
from pdeops.models.st_fno import SpatiotemporalFNO, trajectory_to_grid
from solvers import Grid
from tests._spectral_refiner import fno_trajectories, small_model


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_model_keeps_its_shape_contract_at_higher_resolution(scale: int) -> None:
    torch.manual_seed(0)
    model = small_model().eval()
    coarse = fno_trajectories(16, [0.2 * i for i in range(7)]).float().unsqueeze(2)
    frames = Grid((16, 16)).resample(coarse, (16 * scale, 16 * scale))
    with torch.no_grad():
        out = model(frames)
        longer = model(frames[:, :5], output_steps=9)
        reference = model(coarse)
    assert out.shape == (2, 4, 1, 16 * scale, 16 * scale) and torch.isfinite(out).all()
    assert longer.shape == (2, 9, 1, 16 * scale, 16 * scale)
    # zero-shot super-resolution: on band-limited inputs the fine output is close to the coarse one
    back = Grid((16 * scale,) * 2).resample(out, (16, 16))
    assert float(relative_lp_window(back, reference)[0]) < 0.01


def test_every_parameter_gets_a_gradient_and_the_reference_size_has_its_parameter_count() -> None:
    model = small_model()
    model(torch.randn(2, 5, 1, 12, 12)).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    reference = SpatiotemporalFNO(modes=(12, 12, 5), width=20, output_steps=40)
    assert sum(p.numel() * (2 if p.is_complex() else 1) for p in reference.parameters()) == pytest.approx(
        9.2e6, rel=0.01
    )


def test_enlarged_output_layer_reproduces_the_model_until_trained() -> None:
    torch.manual_seed(0)
    model = small_model()
    frames = torch.randn(2, 5, 1, 16, 16)
    latent, last = model.latent(frames), trajectory_to_grid(frames)[..., -1:]
    enlarged = model.output.enlarged((8, 8, 6))
    torch.testing.assert_close(enlarged(latent, last, 4), model.output(latent, last, 4), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="at least the current"):
        model.output.enlarged((2, 8, 6))


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match=r"trajectories \(B, T, C, X, Y\) with C = 1"):
        small_model()(torch.randn(2, 5, 16, 16))
    with pytest.raises(ValueError, match="out_channels must equal in_channels"):
        SpatiotemporalFNO(in_channels=2, out_channels=1)
