#!/usr/bin/env bash
# Install what the tests need (into .venv) and run lint, type check and the test suite. Extra args go to pytest.
set -euo pipefail
# ecosystem: The Well's own loader (about 2 MB with einops; it pins fsspec 2024.10.0), which the export test needs
# reference: transformers (about 180 MB with its dependencies), whose Swinv2 the scOT reference test compares against
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" "[dev,ecosystem,reference]"
export PDEOPS_REQUIRE_ECOSYSTEM=1  # the tests that read exports with The Well's loader fail, never skip, without it
export PDEOPS_REQUIRE_REFERENCE=1  # the scOT reference test fails, never skips, without transformers
echo "== ruff"; ruff check . && ruff format --check .
echo "== mypy"; mypy
echo "== docs"; mkdocs build --strict --site-dir "$(mktemp -d)"  # fails on a broken link or anchor, or a stale API page
echo "== pytest"; pytest "$@"
