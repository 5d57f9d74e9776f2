"""neuraloperator's FNO, with a constructor LightningCLI can read."""

from typing import Literal

import neuralop.models


class FNO(neuralop.models.FNO, name="pdeops_FNO"):  # type: ignore[call-arg]  # neuralop registers subclasses
    """neuraloperator's Fourier Neural Operator (Li et al. 2021), unchanged: same layers, same ``forward``.

    This subclass only gives ``__init__`` the typed signature that LightningCLI/jsonargparse needs: the parent's
    defaults include a function typed as a module (``non_linearity=F.gelu``) and a class (``conv_module``), which
    jsonargparse cannot validate. Every argument is passed through; for the full set use
    ``neuralop.models.FNO`` from Python.

    Shapes: ``(B, in_channels, *S) -> (B, out_channels, *S)``; ``len(n_modes)`` is the number of spatial axes.
    neuraloperator appends the grid coordinates as extra input channels itself (``positional_embedding="grid"``).
    """

    def __init__(
        self,
        n_modes: list[int],
        in_channels: int,
        out_channels: int,
        hidden_channels: int = 32,
        n_layers: int = 4,
        lifting_channel_ratio: float = 2,
        projection_channel_ratio: float = 2,
        positional_embedding: Literal["grid"] | None = "grid",
        norm: Literal["group_norm", "instance_norm"] | None = None,
        domain_padding: float | None = None,
        fno_skip: Literal["linear", "identity", "soft-gating"] = "linear",
        channel_mlp_skip: Literal["linear", "identity", "soft-gating"] = "soft-gating",
    ):
        super().__init__(
            n_modes=tuple(n_modes),
            in_channels=in_channels,
            out_channels=out_channels,
            hidden_channels=hidden_channels,
            n_layers=n_layers,
            lifting_channel_ratio=lifting_channel_ratio,
            projection_channel_ratio=projection_channel_ratio,
            positional_embedding=positional_embedding,
            norm=norm,
            domain_padding=domain_padding,
            fno_skip=fno_skip,
            channel_mlp_skip=channel_mlp_skip,
        )
