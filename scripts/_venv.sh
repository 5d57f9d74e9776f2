# Sourced by scripts/demo.sh and scripts/test.sh: make .venv (once) and install pdeops into it.
# PDEOPS_TORCH picks the torch requirement (default: the CPU build torch==2.13.0; e.g. PDEOPS_TORCH="torch>=2.3"
# for a CUDA build from PyPI). PDEOPS_PYTHON picks the interpreter (default python3, >= 3.10).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
extras="${1:-}"
python="${PDEOPS_PYTHON:-python3}"
torch_spec="${PDEOPS_TORCH:-torch==2.13.0}"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || { echo "pdeops needs Python >= 3.10; set PDEOPS_PYTHON to one." >&2; exit 1; }
  "$python" -m venv "$venv"
fi
# Reinstall only when pyproject.toml, the extras or the torch spec changed (the stamp records them).
stamp="$venv/.pdeops-installed"
want="$(cat "$root/pyproject.toml"; echo "$extras $torch_spec")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$torch_spec"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root$extras"
  printf '%s' "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
cd "$root"
