#!/usr/bin/env bash
# `just bench [--quick] [SCENARIO...]`: sets up the Python venv (official `anthropic` SDK from
# PyPI, for scenario 2), builds the release binaries, and runs bench/run.py.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same venv and SDK version as the fidelity check (.ci/fidelity).
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import anthropic; assert anthropic.__version__ == "2.17.0"' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check 'anthropic==2.17.0'
fi
cargo build --release --workspace
exec .venv/bin/python bench/run.py "$@"
