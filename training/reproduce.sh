#!/usr/bin/env bash
# Reproduce the shipped model models/default from a fresh checkout (CPU is enough).
#   bash training/reproduce.sh [OUT_MODEL_DIR]   (default: models/default)
# Needs ../shared/data beside the checkout (or $TRAFFICKING_ADS_SHARED_DATA) and data/seed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-models/default}"
TA="${TA:-.venv/bin/trafficking-ads}"
PY="${PY:-.venv/bin/python}"
"$TA" data build -o out/corpus   # the shipped model was trained on this build (seed 13, 70/15/15 split)
"$TA" train --data out/corpus --out "$OUT" --config training/default.yaml
"$TA" evaluate --data out/corpus --split test --model "$OUT" --train out/corpus \
    --json training/results/default_test.json --md training/results/default_test.md
"$PY" training/components.py --data out/corpus --split test --model "$OUT" \
    --json training/results/components_test.json --md training/results/components_test.md
"$PY" -m trafficking_ads.model.card "$OUT" --eval training/results/default_test.json \
    --components training/results/components_test.json
# int8 inference (OpenVINO static int8, else ONNX Runtime dynamic int8) becomes the model's default
# only if it keeps dev PR-AUC within 0.005 of fp32
"$PY" benchmarks/precision_dev.py --model "$OUT" --data out/corpus --variants openvino:int8,onnx:int8 --write
