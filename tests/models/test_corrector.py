"""``CircularCNN``: the contract (shape, a gradient for every parameter, any grid), the function it computes (the same
as circular padding in every layer, on grids larger and smaller than its halo), periodic equivariance, the zero
start, its parameter count, bad input, and rebuilding from a config tree."""

import pytest
import torch
import torch.nn.functional as F

from pdeops.config import instantiate, module_config
from pdeops.models import CircularCNN


def per_layer_reference(network: CircularCNN, x: torch.Tensor) -> torch.Tensor:
    """The textbook network: ``padding_mode="circular"`` in every layer, with ``network``'s weights."""
    pad = network.convs[0].kernel_size[0] // 2
    for i, conv in enumerate(network.convs):
        x = F.conv2d(F.pad(x, (pad,) * 4, mode="circular"), conv.weight, conv.bias)
        if i < len(network.convs) - 1:
            x = network.activation(x)
    return x


@pytest.mark.parametrize(
    ("arguments", "grid"),
    [
        ({}, (32, 32)),
        ({"in_channels": 3, "out_channels": 2, "hidden_channels": 8, "layers": 3}, (12, 20)),
        ({"layers": 1, "kernel_size": 5}, (8, 8)),
        ({"layers": 6, "kernel_size": 5, "activation": "tanh"}, (10, 16)),  # halo 12 > 10: padded per layer
    ],
    ids=["default", "channels-rectangle", "one-layer", "halo-beyond-grid"],
)
def test_shape_gradients_and_the_function_of_circular_padding(arguments: dict, grid: tuple[int, int]) -> None:
    torch.manual_seed(0)
    network = CircularCNN(**arguments).double()
    x = torch.randn(2, network.in_channels, *grid, dtype=torch.float64)
    out = network(x)
    assert out.shape == (2, network.out_channels, *grid) and out.is_contiguous()
    torch.testing.assert_close(out, per_layer_reference(network, x), rtol=1e-12, atol=1e-12)
    out.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in network.parameters())


def test_it_commutes_with_periodic_shifts() -> None:
    torch.manual_seed(0)
    network = CircularCNN(2, 1, hidden_channels=8)
    x = torch.randn(3, 2, 16, 24)
    shifted = network(torch.roll(x, shifts=(5, -7), dims=(-2, -1)))
    torch.testing.assert_close(shifted, torch.roll(network(x), shifts=(5, -7), dims=(-2, -1)), rtol=1e-5, atol=1e-5)


def test_zero_output_starts_at_exactly_zero_and_still_learns() -> None:
    network = CircularCNN(zero_output=True)
    x = torch.randn(4, 1, 16, 16)
    out = network(x)
    assert torch.equal(out, torch.zeros_like(out))
    out.sum().backward()
    assert network.convs[-1].weight.grad.abs().sum() > 0  # the last layer moves first, the rest follow


@pytest.mark.parametrize(("hidden", "layers", "expected"), [(16, 4, 4945), (8, 2, 1 * 8 * 9 + 8 + 8 * 9 + 1)])
def test_parameter_count(hidden: int, layers: int, expected: int) -> None:
    network = CircularCNN(1, 1, hidden_channels=hidden, layers=layers)
    assert sum(p.numel() for p in network.parameters()) == expected


def test_bad_arguments_and_input_are_named() -> None:
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        CircularCNN(kernel_size=4)
    with pytest.raises(ValueError, match=r"must be >= 1, got 1, 1, 16, 0"):
        CircularCNN(layers=0)
    with pytest.raises(ValueError, match="activation must be one of"):
        CircularCNN(activation="swish")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"expects fields \(B, C = 2, H, W\), got shape \(1, 1, 8, 8\)"):
        CircularCNN(2, 1)(torch.randn(1, 1, 8, 8))


def test_rebuilt_from_its_config_tree() -> None:
    network = CircularCNN(2, 1, hidden_channels=8, layers=3, activation="relu", zero_output=True)
    config = module_config(network)
    assert config["class_path"] == "pdeops.models.CircularCNN"
    rebuilt = instantiate(config)
    assert isinstance(rebuilt, CircularCNN)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in network.state_dict().items()
    }
