#!/usr/bin/env bash
# On a CUDA machine: run the GPU-marked tests and the benchmarks on the GPU, writing their tables to $OUT (or
# ./gpu_check): the solver step against its FFT floor (and torch-cfd when installed), a work-precision sweep at 256²,
# eager against compiled networks, bf16-mixed training, and 2-GPU DDP when the machine has two GPUs.
# DRIFT_STEPS=N also runs DRIFT-Net against scOT (configs/benchmarks/drift-poseidon-long-cpu.yaml, 3 seeds) for N
# optimiser steps on the GPU: the CPU suites stop short of the issue-12 bar (every model 3x better than persistence).
set -uo pipefail  # one failing step must not hide the others' tables
cd "$(dirname "$0")/.."
out="${OUT:-gpu_check}"; mkdir -p "$out"
python=${PYTHON:-python}
run() { local name=$1; shift; echo "== $name: $*"; "$@" 2>&1 | tee "$out/$name.txt"; }

"$python" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"; print(torch.cuda.get_device_name(), torch.cuda.device_count())' \
  | tee "$out/device.txt" || exit 1
run gpu_tests "$python" -m pytest -q -m gpu tests
peer=(); "$python" -c 'import torch_cfd' 2>/dev/null && peer=(--peer torch-cfd)
run bench_solver_cuda "$python" scripts/bench_solver.py --device cuda --rounds 5 "${peer[@]}"
run bench_training_cuda "$python" scripts/bench_training.py --device cuda --rounds 3
run bench_compile_cuda "$python" scripts/bench_compile.py --device cuda --rounds 3

# Work-precision at 256²: a short faithful truth (256², dt 1e-4), then every scheme, grid, step and dtype.
truth="$out/ns2d-256.h5"
[ -f "$truth" ] || run generate_256 "$python" -m pdeops.cli generate ns2d-fno --samples 8 --resolution 256 \
  --solve-resolution 256 --horizon 2 --record-every 0.25 --dt 1e-4 --dtype float64 --device cuda --out "$truth"
run work_precision_256 "$python" -m pdeops.cli work-precision "$truth" --samples 0,1,2,3,4,5,6,7 \
  --schemes rk4cn rk3cn etdrk4 --dtypes float32 float64 --device cuda --out "$out/work_precision_256"

# bf16-mixed against 32-bit training of the FNO config (a small generated file; samples/s from the fit's timer).
data="$out/ns2d-64.h5"
[ -f "$data" ] || run generate_64 "$python" -m pdeops.cli generate ns2d-fno --samples 64 --resolution 64 \
  --solve-resolution 128 --horizon 20 --record-every 1 --dt 1e-3 --device cuda --out "$data"
for precision in 32-true bf16-mixed; do
  run "fit_$precision" /usr/bin/time -f "%e s wall" "$python" -m pdeops.cli fit -c configs/ns2d/fno.yaml \
    --data.path "$data" --trainer.accelerator gpu --trainer.devices 1 --trainer.precision "$precision" \
    --trainer.max_epochs 3 --trainer.default_root_dir "$out/fit_$precision"
done
if [ "$("$python" -c 'import torch; print(torch.cuda.device_count())')" -ge 2 ]; then
  run fit_ddp2 /usr/bin/time -f "%e s wall" "$python" -m pdeops.cli fit -c configs/ns2d/fno.yaml --data.path "$data" \
    --trainer.accelerator gpu --trainer.devices 2 --trainer.strategy ddp --trainer.max_epochs 3 \
    --trainer.default_root_dir "$out/fit_ddp2"
fi

if [ -n "${DRIFT_STEPS:-}" ]; then
  suite="$out/drift-poseidon-long-${DRIFT_STEPS}.yaml"
  sed "s/max_steps: 1800/max_steps: ${DRIFT_STEPS}/" configs/benchmarks/drift-poseidon-long-cpu.yaml > "$suite"
  sed -i "s#\.\./poseidon/#$PWD/configs/poseidon/#g" "$suite"
  run drift_long_cuda "$python" -m pdeops.cli benchmark "$suite" --device cuda --out "$out/drift-long-${DRIFT_STEPS}"
fi
