"""Reproduce the claim of Lagrangian PINNs (Mojgani et al., CMAME 2023) against the PINN baselines of
Krishnapriyan et al. (NeurIPS 2021): the Eulerian PINN fails as the transport speed grows, the Lagrangian PINN does
not, and curriculum regularisation rescues the PINN. The protocol is ``pdeops.reproductions.lpinn``.

    python scripts/reproduce_lpinn.py --quick --seeds 3             # table: PINN, LPINN, curriculum (Δβ 10) on
                                                                     # β ∈ {1, 10, 20, 30, 40, 50}, Burgers C ∈ {0, 30}
    python scripts/reproduce_lpinn.py --curriculum --quick --seeds 3 # choose Δβ on a validation seed by the held-out
                                                                     # loss, then PINN, LPINN, curriculum at β 20/30/40

Both also train the curriculum's control, the PINN at each convection target for the L-BFGS steps the curriculum had
spent on reaching it ("PINN, curriculum's budget"), and print the curriculum paired against every other method.

Without ``--quick`` the budgets are the full ones (``FULL``; about an hour or more for the table). Prints Markdown
tables and writes ``<out>/result.json``; ``--plots DIR`` saves the first seed's figures.
"""

import argparse
from pathlib import Path

from pdeops.reproductions import lpinn as protocol

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the QUICK budgets (and Burgers C ∈ {0, 30})")
    parser.add_argument("--curriculum", action="store_true", help="the curriculum study instead of the table")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..n-1 (default 3; 1 with --quick)")
    parser.add_argument("--betas", type=float, nargs="+", default=None, help="table: 1 10 20 30 40 50; study: 20 30 40")
    parser.add_argument("--burgers-offsets", type=float, nargs="*", default=None, help="default 0 10 20 30")
    parser.add_argument("--nu", type=float, default=0.01, help="Burgers viscosity")
    parser.add_argument("--curriculum-step", type=float, default=10.0, help="the table's Δβ")
    parser.add_argument("--candidates", type=float, nargs="+", default=[1, 2, 5, 10], help="study: Δβ to choose from")
    parser.add_argument("--validation-seeds", type=int, nargs="+", default=[100], help="study: seeds that choose Δβ")
    parser.add_argument("--plots", type=Path, default=None, help="directory for the first seed's figures")
    parser.add_argument(
        "--out", type=Path, default=None, help="run directory (default runs/reproduce_lpinn[_curriculum])"
    )
    args = parser.parse_args(argv)
    protocol.quiet()
    budget = protocol.QUICK if args.quick else protocol.FULL
    seeds = list(range(args.seeds or (1 if args.quick else 3)))
    print(f"# budget {budget}, seeds {seeds}", flush=True)
    if args.curriculum:
        out = args.out or Path("runs/reproduce_lpinn_curriculum")
        record = protocol.curriculum_study(
            CONFIGS,
            out,
            budget,
            seeds,
            args.betas or [20, 30, 40],
            args.candidates,
            args.validation_seeds,
            plots=args.plots,
        )
        print(protocol.selection_table(record["selection"]))
        print(protocol.markdown_table(record["rows"]))
        print(protocol.paired_table(record["paired"]))
    else:
        out = args.out or Path("runs/reproduce_lpinn")
        offsets = args.burgers_offsets
        offsets = offsets if offsets is not None else ([0, 30] if args.quick else [0, 10, 20, 30])
        record = protocol.reproduce_table(
            CONFIGS,
            out,
            budget,
            seeds,
            args.betas or [1, 10, 20, 30, 40, 50],
            offsets,
            nu=args.nu,
            curriculum_step=args.curriculum_step,
            plots=args.plots,
        )
        print(protocol.markdown_table(record["rows"]))
        print(protocol.paired_table(record["paired"]))
    print(f"# total wall-clock {record['total_seconds']:.0f} s; {out / 'result.json'}")
    protocol.write_json({"quick": args.quick, "seeds": seeds, "budget": budget.__dict__, **record}, out / "result.json")


if __name__ == "__main__":
    main()
