"""Paper reproductions, one module per paper protocol; ``scripts/reproduce_*.py`` parse arguments and call them.

- ``drift_net``: DRIFT-Net against scOT (and the FNO) on Navier–Stokes, same data and budget.
- ``spectral_refiner``: the Spectral-Refiner's zero-shot refinement, per training seed, with paired comparisons.
- ``lpinn``: Lagrangian PINNs against the PINN and the curriculum PINN on 1-D transport.
- ``neural_stagger``: NeuralStagger's coarse sub-solvers against the fine physics FNO, accuracy against cost.

Each trains through ``pdeops.training.fit.fit_run`` and tabulates seeds with ``pdeops.benchmark.statistics``.
"""
