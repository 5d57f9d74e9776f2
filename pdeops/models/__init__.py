"""Operator models. Each is a ``torch.nn.Module``; one-step operators map ``(B, C_in, *S) -> (B, C_out, *S)``.

- ``FNO``: neuraloperator's Fourier Neural Operator, used as it is (a typed constructor for YAML configs).
- ``SpatiotemporalFNO``: the Spectral-Refiner's space–time FNO, trajectories ``(B, T, C, *S) -> (B, T', C, *S)``.
"""

from ._fno import FNO
from .st_fno import SpatiotemporalFNO

__all__ = ["FNO", "SpatiotemporalFNO"]
