# Sourced by scripts/demo.sh and scripts/test.sh: make .venv (once) and install pdeops into it.
# PDEOPS_PYTHON picks the interpreter (default python3, >= 3.10).
# PDEOPS_TORCH, when set, is handed to pip as it is (a requirement, then any pip options), e.g.
#   PDEOPS_TORCH="torch>=2.6"                                                    PyPI's build (CUDA on Linux x86_64)
#   PDEOPS_TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"    one CUDA version's build
# Unset, torch 2.13.0 is installed as a CPU build: a wheel pip finds without the network (its find-links) if there
# is one, else from PyTorch's CPU index (PyPI's Linux wheel is a CUDA build of several GB). A venv that already
# holds torch 2.13.0, of any build, keeps it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
extras="${1:-}"
python="${PDEOPS_PYTHON:-python3}"
cpu_index="https://download.pytorch.org/whl/cpu"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || { echo "pdeops needs Python >= 3.10; set PDEOPS_PYTHON to one." >&2; exit 1; }
  "$python" -m venv "$venv"
fi
pip_install() { "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }

install_torch() {
  if [ -n "${PDEOPS_TORCH:-}" ]; then
    local spec
    read -r -a spec <<< "$PDEOPS_TORCH"
    pip_install "${spec[@]}"
  elif "$venv/bin/python" -c 'import sys, torch; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null; then
    :  # already installed
  elif pip_install --no-index --no-deps torch==2.13.0 2>/dev/null; then
    :  # a local wheel; its dependencies come from the index with pdeops below
  else
    echo "Installing the CPU build of torch 2.13.0 from $cpu_index (set PDEOPS_TORCH for another build)." >&2
    pip_install torch==2.13.0 --index-url "$cpu_index"
  fi
}

# Reinstall only when pyproject.toml, the extras or the torch choice changed (the stamp records them).
stamp="$venv/.pdeops-installed"
want="$(cat "$root/pyproject.toml"; echo "$extras ${PDEOPS_TORCH:-torch 2.13.0 CPU}")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  install_torch
  pip_install -e "$root$extras"
  printf '%s' "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
cd "$root"
