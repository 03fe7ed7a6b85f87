#pragma once
// The Qwen2 pre-tokenizer: splits text into the pieces BPE runs on, exactly as HF tokenizers applies
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// Hand-written over code points instead of a regex engine: every alternative is a run of one character class,
// so a direct matcher is simpler to audit and several times faster than a backtracking engine.
#include <string_view>
#include <vector>

namespace qembed {

//! Appends the pieces of valid UTF-8 `text` (views into it, in order, covering it exactly) to `pieces`.
//! Semantics that differ between regex engines, pinned here to HF tokenizers (Oniguruma) and its JS port:
//!   \s = Unicode White_Space (includes U+0085, excludes U+FEFF); (?i:...) folds ASCII letters only.
void pretokenize_qwen2(std::string_view text, std::vector<std::string_view>& pieces);

}  // namespace qembed
