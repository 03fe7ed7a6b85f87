#pragma once
// What turns a text into model input and a pooled hidden state into the returned vector: Qwen3 instruction
// prompts, EOS and context limits, Matryoshka dimensions and L2 normalization.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qembed {

//! Qwen3-Embedding's default retrieval task for queries.
inline constexpr const char* kDefaultQueryTask =
    "Given a web search query, retrieve relevant passages that answer the query";

//! "Instruct: {task}\nQuery:{text}" — one newline, no space after "Query:" (as the model was trained).
std::string format_instruction(std::string_view task, std::string_view text);

//! The task for a prompt name: "query" -> the default task, "document" -> none (documents carry no prompt).
//! Throws Error for an unknown name.
std::optional<std::string> task_for_prompt_name(std::string_view name);

//! Checks `dims` against the model width: 0 means "all"; otherwise 32 <= dims <= n_embd. Throws Error naming the
//! valid range.
void check_dimensions(int64_t dims, int64_t n_embd);

//! Matryoshka truncation then optional L2 normalization of a pooled vector. dims 0 keeps all.
std::vector<float> finalize_embedding(const float* pooled, int64_t n_embd, int64_t dims, bool normalize);

//! Appends EOS (unless already last) and enforces the context: over `max_tokens` is an Error naming the input
//! index and both counts, unless `truncate` (keep the first max_tokens - 1 tokens, then EOS).
void fit_tokens(std::vector<int32_t>& tokens, int32_t eos_id, bool append_eos, int64_t max_tokens, bool truncate,
                int64_t input_index);

}  // namespace qembed
