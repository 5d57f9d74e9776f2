#!/usr/bin/env bash
# Install pdeops (into .venv) and run the demonstration. Extra args go to `pdeops demo` (e.g. --device cuda).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" ""  # explicit: a bare source would pass our "$@" on
exec pdeops demo "$@"
