#!/usr/bin/env bash
# On a CUDA machine: run the GPU-marked tests and the benchmarks on the GPU, writing their tables to $OUT (or ./gpu_check).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_check}"; mkdir -p "$out"
python=${PYTHON:-python}
"$python" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"; print(torch.cuda.get_device_name())' \
  | tee "$out/device.txt"
"$python" -m pytest -q -m gpu tests 2>&1 | tee "$out/gpu_tests.txt"
"$python" scripts/bench_solver.py --device cuda --rounds 5 2>&1 | tee "$out/bench_solver_cuda.txt"
"$python" scripts/bench_training.py --device cuda --rounds 3 2>&1 | tee "$out/bench_training_cuda.txt"
