#!/usr/bin/env bash
# Layering check: every `#include "..."` in src/ must point to a stage the including stage may use. Exits 1 naming
# file:line and the rule for each forbidden include (and for a stage folder the table does not know).
#
# A file's stage is the first folder under src/ (src/engine/engine.cpp -> engine); server's and kb's sub-folders are
# stages of their own (src/server/http/... -> server/http, src/kb/store/... -> kb/store), and files directly in
# src/server/ (src/kb/) are the stage `server` (`kb`).
#
# THE RULES (docs/design.md points here). Each entry on the right is one of
#   STAGE          any file of that stage                          (engine, server/http, server = its root files)
#   DIR/FILE.hpp   that one file only                               (model/qwen3_config.hpp)
#   DIR/*.hpp      headers directly in DIR, not in its sub-folders  (server/*.hpp: metrics, options, ...)
#   DIR/**         anything under DIR                               (server/**)
#   ENTRY@FILE     ENTRY, but only from that one including file     (the bootstrap may see the model)
#
#   stage        may include
RULES='
common       common
formats      common formats
kernels      common formats kernels
tokenizer    common formats tokenizer
model        common formats kernels tokenizer model
convert      common formats kernels tokenizer model convert
engine       common formats kernels engine model/qwen3_config.hpp
backend      common formats kernels model engine backend
service      common tokenizer model engine service backend/backend_factory.hpp
kb/extract   common kb/extract
kb/text      common kb/text
kb/store     common kb/text kb/store kernels/avx2_common.hpp
kb           common service kb/**
server/http  common server/http
server/api   common service server/api server/http server/*.hpp kb/*.hpp
server       common service server/** kb/*.hpp model/model.hpp@src/server/server.cpp
cli          common service server/server.hpp server/server_options.hpp cli kb/*.hpp kernels/cpu_features.hpp convert
'
# Notes: engine sees token ids, never the tokenizer nor model/model.hpp. service reaches backends only through
# backend/backend_factory.hpp, never backend/cpu/... . server/api uses service, never model or backend. cli needs
# kernels/cpu_features.hpp only for the SIMD check; kb/store uses kernels/avx2_common.hpp (header-only horizontal
# sums) in its AVX2 distance kernels. kb/extract (files -> text), kb/text (keyword terms, chunking)
# and kb/store (storage, indexes) know nothing of models; the knowledge base itself (src/kb/*.cpp) joins them to the
# service. A new stage needs a line here before its first file.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed
while read -r stage entries; do
  [ -n "$stage" ] && allowed[$stage]=$entries
done <<<"$RULES"

# Stage of a path relative to src/ ("engine/engine.cpp" -> engine, "server/http/x.hpp" -> server/http).
stage_of() {
  local p=$1
  case "$p" in
    */*) ;;
    *) echo ""; return ;;
  esac
  local first=${p%%/*} rest=${p#*/}
  if { [ "$first" = server ] || [ "$first" = kb ]; } && [[ "$rest" == */* ]]; then
    echo "$first/${rest%%/*}"
  else
    echo "$first"
  fi
}

# Does include target $1 (src-relative) from file $2 (repo-relative) match rule entry $3?
entry_matches() {
  local target=$1 file=$2 entry=$3
  if [[ "$entry" == *@* ]]; then
    [ "$file" = "${entry#*@}" ] || return 1
    entry=${entry%%@*}
  fi
  case "$entry" in
    */\*\*) [[ "$target" == "${entry%/\*\*}/"* ]] ;;
    */\**) [ "$(dirname "$target")" = "$(dirname "$entry")" ] && [[ "$(basename "$target")" == $(basename "$entry") ]] ;;
    *.*) [ "$target" = "$entry" ] ;;
    *) [ "$(stage_of "$target")" = "$entry" ] ;;
  esac
}

n_bad=0
declare -A unknown_reported
while IFS= read -r -d '' file; do
  rel=${file#src/}
  stage=$(stage_of "$rel")
  if [ -z "${allowed[$stage]+x}" ]; then
    if [ -z "${unknown_reported[$stage]+x}" ]; then
      echo "$file:1: unknown stage '${stage:-src/}': add its rule to the table in scripts/check_layering.sh" >&2
      unknown_reported[$stage]=1
      n_bad=$((n_bad + 1))
    fi
    continue
  fi
  while IFS=: read -r line inc; do
    # An include is relative to the including file's folder first, then to src/ (the include path).
    dir=$(dirname "$rel")
    if [ -e "src/$dir/$inc" ]; then
      target=$(realpath -m --relative-to=src "src/$dir/$inc")
    else
      target=$(realpath -m --relative-to=src "src/$inc")
      # A quoted include that is no src/ path and names no stage is not ours (a third-party header).
      target_stage=$(stage_of "$target")
      [ -e "src/$target" ] || { [ -n "$target_stage" ] && [ -n "${allowed[$target_stage]+x}" ]; } || continue
    fi
    ok=0
    for entry in ${allowed[$stage]}; do
      if entry_matches "$target" "$file" "$entry"; then ok=1; break; fi
    done
    if ((!ok)); then
      echo "$file:$line: $stage may not include \"$inc\" (rule: $stage may include ${allowed[$stage]})" >&2
      n_bad=$((n_bad + 1))
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" | sed -E 's/^([0-9]+):.*"([^"]+)".*/\1:\2/')
done < <(find src -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.c' -o -name '*.cc' \) -print0 | sort -z)

if ((n_bad)); then
  echo "check_layering: $n_bad forbidden include(s); the rules are the table at the top of scripts/check_layering.sh" >&2
  exit 1
fi
echo "check_layering: all includes follow the stage rules" >&2
