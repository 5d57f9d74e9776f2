#!/usr/bin/env bash
# The README's tour: generate -> info -> fit -> evaluate -> rollout on a small file, in minutes on a CPU
# (docs/pipeline.md says what each step does, what it measured, and the paper-scale commands with their cost).
# Usage: scripts/tour.sh [DIR]   (everything is written under DIR; default: a new temporary folder)
# Needs pdeops installed, e.g. `source .venv/bin/activate` after ./scripts/demo.sh or ./scripts/test.sh.
set -euo pipefail
DIR="${1:-$(mktemp -d -t pdeops-tour.XXXXXX)}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
cd "$(dirname "${BASH_SOURCE[0]}")/.."  # configs/ is relative to the repository root
echo "pdeops tour -> $DIR"

pdeops generate ns2d-fno --samples 24 --resolution 32 --solve-resolution 64 --dt 1e-2 --horizon 20 --out "$DIR/ns2d.h5"
pdeops info "$DIR/ns2d.h5"
pdeops fit -c configs/ns2d/fno.yaml --data.path "$DIR/ns2d.h5" --trainer.max_steps 200 --trainer.default_root_dir "$DIR/fno"
pdeops evaluate --ckpt "$DIR/fno/checkpoints/last.ckpt" --data "$DIR/ns2d.h5" --out "$DIR/eval"
pdeops rollout --ckpt "$DIR/fno/checkpoints/last.ckpt" --data "$DIR/ns2d.h5" --out "$DIR/prediction.h5"
echo "pdeops tour: done; the report is $DIR/eval/report.html"
