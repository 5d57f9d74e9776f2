"""Operator models. Each is a ``torch.nn.Module``; one-step operators map ``(B, C_in, *S) -> (B, C_out, *S)``.

- ``FNO``: neuraloperator's Fourier Neural Operator, used as it is (a typed constructor for YAML configs).
"""

from ._fno import FNO

__all__ = ["FNO"]
