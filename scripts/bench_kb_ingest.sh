#!/usr/bin/env bash
# Knowledge-base ingestion end to end (extract -> chunk -> embed -> store -> index) against `qembed bench` on the
# very chunk texts it embedded: the ratio says what everything around the model costs.
#
#   scripts/bench_kb_ingest.sh [--type Q8_0] [--docs 120] [--words 250] [--threads 2] [--model PATH]
#
# 1. writes a mixed corpus (Markdown, HTML, text, PDF; scripts/kb_corpus.mjs) under models/bench/kb-corpus/,
# 2. `qembed kb create` (no title prefix, so each chunk is embedded as exactly its text) and times `qembed kb add`
#    of the whole folder (the process, model load included, and the ingestion itself as kb add reports it),
# 3. `qembed kb export` the chunk texts and runs `qembed bench` on them (same model, threads and batch size),
# 4. prints both rates and the ratio (the issue asks for >= 0.85), then a JSON summary line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

TYPE="Q8_0"; DOCS=120; WORDS=250; THREADS=2; MODEL=""
usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --type) TYPE="$2"; shift 2 ;;
    --docs) DOCS="$2"; shift 2 ;;
    --words) WORDS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
QEMBED="$(find_tool qembed)"
[[ -n "$MODEL" ]] || MODEL="$(ensure_model "$TYPE")"
WORK="$BENCH_DIR/kb-ingest"
rm -rf "$WORK"; mkdir -p "$WORK"
node "$ROOT/scripts/kb_corpus.mjs" --out "$WORK/corpus" --docs "$DOCS" --words "$WORDS" >/dev/null
DB="$WORK/kb.db"
"$QEMBED" kb create --db "$DB" --collection bench --model "$MODEL" --no-prepend-title >/dev/null 2>&1 \
  || die "kb create failed"

warn_if_busy
log "kb add of $DOCS documents ($MODEL, $THREADS threads)"
start=$(date +%s.%N)
"$QEMBED" kb add --db "$DB" --collection bench --model "$MODEL" --threads "$THREADS" "$WORK/corpus" \
  > "$WORK/add.jsonl" 2> "$WORK/add.log" || die "kb add failed (see $WORK/add.log)"
end=$(date +%s.%N)
indexed=$(grep -c '"status":"indexed"' "$WORK/add.jsonl" || true)
[[ "$indexed" == "$DOCS" ]] || die "only $indexed of $DOCS documents were indexed (see $WORK/add.jsonl)"
ingest_line=$(grep -o 'ingested .*' "$WORK/add.log" | tail -n 1)
ingest_s=$(sed -E 's/.* in ([0-9.]+) s.*/\1/' <<< "$ingest_line")

"$QEMBED" kb export --db "$DB" --collection bench 2>/dev/null | jq -c '{text}' > "$WORK/chunks.jsonl"
chunks=$(wc -l < "$WORK/chunks.jsonl")
bench_json=$("$QEMBED" bench --model "$MODEL" --threads "$THREADS" --input "$WORK/chunks.jsonl" 2>/dev/null | tail -n 1)
tokens=$(jq -r .tokens <<< "$bench_json")
bench_tps=$(jq -r .tok_per_s <<< "$bench_json")
wall_s=$(echo "$end - $start" | bc -l)
ingest_tps=$(echo "$tokens / $ingest_s" | bc -l)
wall_tps=$(echo "$tokens / $wall_s" | bc -l)
printf 'corpus: %s documents, %s chunks, %s tokens (as qembed bench counts them)\n' "$DOCS" "$chunks" "$tokens"
printf 'qembed bench on the chunk texts: %.1f tok/s\n' "$bench_tps"
printf 'kb add, ingestion (first file read to last commit): %.1f s, %.1f tok/s = %.3f of bench\n' \
  "$ingest_s" "$ingest_tps" "$(echo "$ingest_tps / $bench_tps" | bc -l)"
printf 'kb add, whole process (model load included): %.1f s, %.1f tok/s = %.3f of bench\n' \
  "$wall_s" "$wall_tps" "$(echo "$wall_tps / $bench_tps" | bc -l)"
printf '{"docs": %s, "chunks": %s, "tokens": %s, "bench_tok_per_s": %.1f, "ingest_tok_per_s": %.1f, "ratio": %.3f, "process_ratio": %.3f}\n' \
  "$DOCS" "$chunks" "$tokens" "$bench_tps" "$ingest_tps" "$(echo "$ingest_tps / $bench_tps" | bc -l)" \
  "$(echo "$wall_tps / $bench_tps" | bc -l)"
