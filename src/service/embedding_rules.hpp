#pragma once
// The embedding rules, written once: Qwen3 instruction prompts and how a request picks one, EOS and the per-input
// limit with right or left truncation, Matryoshka `dimensions`, L2 normalization and the finite-result check.
// Pure functions (no model, no state): the service applies them; front ends may call the model-free checks early
// (e.g. the CLI validates flags before loading a model).
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qembed::service {

//! Qwen3-Embedding's default retrieval task for queries.
inline constexpr const char* kDefaultQueryTask =
    "Given a web search query, retrieve relevant passages that answer the query";

enum class TruncationSide { kRight, kLeft };  //!< kRight keeps the first tokens, kLeft the last (EOS stays last)

//! The side a front end's word names: "right"/"Right" or "left"/"Left" (TEI writes them capitalized); nullopt for
//! anything else, which each front end reports in its own words (a flag, a request field).
std::optional<TruncationSide> parse_truncation_side(std::string_view word);

//! "Instruct: {task}\nQuery:{text}" — one newline, no space after "Query:" (as the model was trained).
std::string format_instruction(std::string_view task, std::string_view text);

//! Named prompts beyond the built-in "query" and "document": name -> text prepended verbatim. A configured name
//! takes precedence over a built-in one.
using PromptTable = std::map<std::string, std::string>;

//! "query, document, <configured names>" for error messages.
std::string valid_prompt_names(const PromptTable& prompts);

//! The prompt text a request selects ("" for none): `instruction` -> format_instruction(task, ""); else
//! `prompt_name`, or `default_name` when absent ("" -> none): a configured prompt, "query" (the default task) or
//! "document" (none). Errors (kInvalidInput): both set, an empty instruction, an unknown name (listing the valid
//! ones). Messages use neutral words ("prompt name", "instruction") that read right on every front end.
std::string resolve_prompt(const std::optional<std::string>& prompt_name, const std::optional<std::string>& instruction,
                           const std::string& default_name, const PromptTable& prompts);

//! `dims` 0 means all; otherwise min(32, n_embd) <= dims <= n_embd. Error naming the valid range.
void check_dimensions(int64_t dims, int64_t n_embd);

//! How a sequence is fitted to the per-input limit.
struct FitRule {
  int32_t eos_id = 0;
  bool append_eos = true;  //!< append EOS unless already last (Qwen3 pools the EOS)
  int64_t max_tokens = 0;  //!< per input, EOS included
  bool truncate = false;   //!< over the limit: cut instead of failing
  TruncationSide side = TruncationSide::kRight;
  std::string truncate_hint;  //!< how the caller enables truncation, quoted in the over-limit error
};

//! Appends EOS (once) and applies the limit: over it is a kLimit Error "input I has N tokens, the limit is L
//! (...)" unless `truncate`: right keeps the first L-1 tokens then EOS; left keeps the last L (EOS stays last).
//! An empty result is an Error ("input I has no tokens").
void fit_to_limit(std::vector<int32_t>& ids, const FitRule& rule, int64_t input_index);

//! Matryoshka truncation (first `dims`, 0: all), then optional L2 normalization. A NaN or infinity in the result is
//! an Error naming the input (never returned as `nan` or replaced by zeros).
std::vector<float> finalize_embedding(std::span<const float> pooled, int64_t dims, bool normalize, int64_t input_index);

}  // namespace qembed::service
