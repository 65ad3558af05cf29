#!/usr/bin/env bash
# Create .venv (if missing) and install cs_rag with its test extras, offline-model ready.
set -euo pipefail
cd "$(dirname "$0")/.."
python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
# The CPU wheel first: anything that depends on torch must find it already satisfied.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[test,bench,local-llm]"
