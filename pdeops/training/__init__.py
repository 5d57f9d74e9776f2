"""Training: LightningModules per task kind and the LightningCLI entry (``pdeops fit|validate|test|predict``).

- ``AutoregressiveTask``: one-step operators rolled out autoregressively (history folded into channels).
- ``SpatiotemporalTask``: trajectory-to-trajectory operators.
- ``PhysicsTask``: one-step operators trained on an equation residual, with or without data.
"""

from .tasks import AutoregressiveTask, BaseOperatorTask, PhysicsTask, SpatiotemporalTask

__all__ = ["AutoregressiveTask", "BaseOperatorTask", "PhysicsTask", "SpatiotemporalTask"]
