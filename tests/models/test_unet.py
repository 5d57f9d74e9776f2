"""``UNet`` (PDEArena's modern U-Net): shapes, bad grids, parameter counts against a hand count, periodic
equivariance, the circular transposed conv, learning a periodic Laplacian, and rebuilding from a config tree."""

import pytest
import torch
from torch import nn

from pdeops.config import instantiate, module_config
from pdeops.models import UNet
from pdeops.models.unet import Upsample


def small(**overrides) -> UNet:
    arguments = dict(hidden_channels=4, channel_multipliers=(1, 2, 2), blocks_per_level=1, norm_groups=2)
    arguments.update(overrides)
    return UNet(2, 3, **arguments)


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --- shapes and bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "grid"),
    [
        ({}, (16, 16)),
        ({"channel_multipliers": (2,), "blocks_per_level": 2}, (6, 10)),  # one level: any grid
        ({"attention": (False, True, True), "middle_attention": True}, (8, 20)),
        (
            {"channel_multipliers": (1, 2, 1, 2), "attention": (True, False, False, True), "blocks_per_level": 2},
            (16, 8),
        ),
        ({"padding_mode": "zeros", "activation": "relu"}, (12, 4)),
    ],
    ids=["three-levels", "one-level", "attention", "four-levels", "zeros-relu"],
)
def test_output_has_the_input_grid_and_out_channels(overrides: dict, grid: tuple[int, int]) -> None:
    out = small(**overrides)(torch.randn(3, 2, *grid))
    assert out.shape == (3, 3, *grid) and torch.isfinite(out).all()


def test_bad_grids_channels_and_arguments_are_named() -> None:
    net = small()  # three levels: H, W multiples of 4
    with pytest.raises(ValueError, match=r"multiples of 4; got the grid 16x10"):
        net(torch.randn(1, 2, 16, 10))
    with pytest.raises(ValueError, match=r"C = 2, got shape \(1, 3, 16, 16\)"):
        net(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match="one flag per level"):
        small(attention=(True, False))
    with pytest.raises(ValueError, match="norm_groups = 3 must divide"):
        small(norm_groups=3)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        small(padding_mode="reflect")


# --- parameter counts --------------------------------------------------------------------------------------------
def conv(a: int, b: int, k: int) -> int:
    return k * k * a * b + b


def norm(c: int) -> int:
    return 2 * c


def residual(a: int, b: int) -> int:
    return norm(a) + conv(a, b, 3) + norm(b) + conv(b, b, 3) + (conv(a, b, 1) if a != b else 0)


def attention(c: int) -> int:
    return norm(c) + (c * 3 * c + 3 * c) + (c * c + c)


def test_parameter_count_equals_the_hand_count() -> None:
    # in 2, out 3, hidden 4, widths (4, 8), one block per level, attention at level 1 and in the middle.
    # Skips pushed by the encoder: lift 4 | level 0: 4 | downsample 4 | level 1: 8  (popped in reverse).
    net = UNet(2, 3, 4, (1, 2), 1, (False, True), middle_attention=True, norm_groups=2)
    parts = {
        "lift": conv(2, 4, 3),
        "encoder level 0": residual(4, 4),
        "strided downsampling conv": conv(4, 4, 3),
        "encoder level 1": residual(4, 8) + attention(8),
        "middle": 2 * residual(8, 8) + attention(8),
        "decoder level 1, skip from encoder level 1": residual(8 + 8, 8) + attention(8),
        "decoder level 1, skip from the downsampling conv (back to w_0 = 4)": residual(8 + 4, 4) + attention(4),
        "4x4 transposed conv": 16 * 4 * 4 + 4,
        "decoder level 0, skips from encoder level 0 and the lift": 2 * residual(4 + 4, 4),
        "output": norm(4) + conv(4, 3, 3),
    }
    expected = sum(parts.values())
    assert expected == 8855
    assert count(net) == expected


def test_default_size_is_the_references() -> None:
    # PDEArena's Unetmod-64 / Unetmodattn-64 (microsoft/pdearena, twod_unet.Unet) count exactly these for 1 -> 1.
    with torch.device("meta"):
        assert count(UNet(1, 1)) == 144_256_193
        assert count(UNet(1, 1, middle_attention=True)) == 148_456_641


# --- periodicity -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("padding_mode", ["circular", "zeros"])
def test_circular_padding_makes_the_network_translation_equivariant(padding_mode: str) -> None:
    torch.manual_seed(0)
    net = small(attention=(False, False, True), middle_attention=True, padding_mode=padding_mode).eval()
    x = torch.randn(2, 2, 16, 24)
    shift = (4, -8)  # multiples of 2^(levels - 1) = 4
    with torch.no_grad():
        rolled_out = net(torch.roll(x, shift, dims=(-2, -1)))
        out_rolled = torch.roll(net(x), shift, dims=(-2, -1))
    error = (rolled_out - out_rolled).abs().max().item()
    if padding_mode == "circular":
        assert error < 1e-5
    else:
        assert error > 1e-2


def test_circular_upsample_is_the_transposed_conv_of_the_periodic_extension() -> None:
    torch.manual_seed(0)
    up = Upsample(3, "circular")
    x = torch.randn(2, 3, 5, 7)
    with torch.no_grad():
        tiled = up.conv(x.repeat(1, 1, 3, 3))  # zero-padded layer on 3×3 periods: the middle one sees no boundary
        assert up(x).shape == (2, 3, 10, 14)
        torch.testing.assert_close(up(x), tiled[..., 10:20, 14:28], rtol=0, atol=1e-6)


# --- learning ----------------------------------------------------------------------------------------------------
def _wavenumbers(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    k = torch.fft.fftfreq(size, 1 / size)
    return torch.meshgrid(k, torch.fft.rfftfreq(size, 1 / size), indexing="ij")


def smooth_fields(n: int, size: int, generator: torch.Generator, kmax: int = 3) -> torch.Tensor:
    """Random periodic fields ``(n, 1, size, size)`` with modes ``|k_x|, |k_y| <= kmax``, unit variance each."""
    shape = (n, 1, size, size // 2 + 1)
    coefficients = torch.complex(torch.randn(shape, generator=generator), torch.randn(shape, generator=generator))
    kx, ky = _wavenumbers(size)
    u = torch.fft.irfft2(coefficients * ((kx.abs() <= kmax) & (ky <= kmax)), s=(size, size))
    return u / u.std(dim=(-2, -1), keepdim=True)


def laplacian(u: torch.Tensor) -> torch.Tensor:
    """The spectral Laplacian on the unit-spacing periodic grid, divided by 10 (to order one)."""
    kx, ky = _wavenumbers(u.shape[-1])
    return torch.fft.irfft2(-(kx**2 + ky**2) * torch.fft.rfft2(u), s=u.shape[-2:]) / 10


def test_it_learns_the_laplacian_of_periodic_fields() -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    net = UNet(1, 1, hidden_channels=8, channel_multipliers=(1, 2), blocks_per_level=1)
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    test = smooth_fields(32, 16, generator)
    target = laplacian(test)

    def relative_error() -> float:
        with torch.no_grad():
            return float((net(test) - target).square().mean() / target.square().mean())

    before = relative_error()
    for _ in range(200):
        u = smooth_fields(16, 16, generator)  # fresh fields every step: held-out error measures generalisation
        loss = (net(u) - laplacian(u)).square().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    after = relative_error()
    # about 1e-3 here; zero padding (wrong boundary) ends near 1e-2, a network that cannot fit near 1
    assert before > 0.5 and after < 5e-3


# --- config trees ------------------------------------------------------------------------------------------------
def test_builds_from_a_config_tree_and_round_trips() -> None:
    init_args = {
        "in_channels": 2,
        "out_channels": 1,
        "hidden_channels": 4,
        "channel_multipliers": [1, 2],
        "blocks_per_level": 1,
        "attention": [False, True],
        "middle_attention": True,
        "norm_groups": 2,
        "activation": "silu",
        "padding_mode": "zeros",
    }
    net = instantiate({"class_path": "pdeops.models.UNet", "init_args": init_args})
    assert isinstance(net, UNet)
    config = module_config(net)
    assert config["class_path"] == "pdeops.models.UNet"
    assert config["init_args"] == init_args
    rebuilt = instantiate(config)
    rebuilt.load_state_dict(net.state_dict())
    x = torch.randn(2, 2, 8, 12)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), net(x), rtol=0, atol=0)
