#!/usr/bin/env bash
# Set up, ingest knowledge/ into .demo-index, and answer sample questions from eval/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
cs-rag --config knowledge/cs_rag.toml ingest knowledge --index .demo-index
python scripts/demo_questions.py --config knowledge/cs_rag.toml --index .demo-index --questions eval/questions.jsonl -n 6
