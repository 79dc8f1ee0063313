#!/usr/bin/env bash
# Reproduce the shipped model models/default from a fresh checkout (CPU is enough).
#   bash training/reproduce.sh [OUT_MODEL_DIR]   (default: models/default)
#   CROSS_SOURCE=1 bash training/reproduce.sh    also trains the cross-source model (another ~30 min)
# Needs ../shared/data beside the checkout (or $TRAFFICKING_ADS_SHARED_DATA), data/seed and data/hard.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-models/default}"
TA="${TA:-.venv/bin/trafficking-ads}"
PY="${PY:-.venv/bin/python}"
R=training/results
"$TA" data build -o out/corpus --repo-card   # boilerplate-aware template groups, seed 13, 70/15/15 split; refreshes data/CORPUS_CARD.md
"$TA" train --data out/corpus --out "$OUT" --config training/default.yaml --hard data/hard/hard.jsonl
"$TA" evaluate --data out/corpus --split test --model "$OUT" --train out/corpus --json $R/default_test.json --md $R/default_test.md
"$TA" evaluate --data data/hard/hard.jsonl --split test --model "$OUT" --train out/corpus --json $R/default_hard.json --md $R/default_hard.md
"$PY" training/components.py --data out/corpus --split test --model "$OUT" --json $R/components_test.json --md $R/components_test.md
"$TA" evaluate --protocols --json $R/protocols.json --md $R/protocols.md
if [ "${CROSS_SOURCE:-0}" = 1 ]; then   # the transformer on a source it never saw (DIFrauD held out with every group it shares)
    "$TA" data build -o out/corpus-xdifraud --test-source difraud
    "$TA" train --data out/corpus-xdifraud --out out/models/xdifraud --config training/default.yaml --no-hard --no-card
    "$TA" evaluate --data out/corpus-xdifraud --split test --model out/models/xdifraud --train out/corpus-xdifraud \
        --json $R/xdifraud_test.json --md $R/xdifraud_test.md
    "$PY" training/components.py --data out/corpus-xdifraud --split test --model out/models/xdifraud \
        --json $R/components_xdifraud.json --md $R/components_xdifraud.md
fi
"$PY" -m trafficking_ads.model.card "$OUT" --eval $R/default_test.json --eval $R/default_hard.json \
    --components $R/components_test.json --protocols $R/protocols.json
# int8 inference (OpenVINO static int8, else ONNX Runtime dynamic int8) becomes the model's default
# only if it keeps dev PR-AUC within 0.005 of fp32
"$PY" benchmarks/precision_dev.py --model "$OUT" --data out/corpus --variants openvino:int8 --write
