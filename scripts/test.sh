#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# the postgres tests fail rather than skip when their server cannot start (tests/conftest.py)
export CS_RAG_REQUIRE_POSTGRES=1
exec python -m pytest -q "$@"
