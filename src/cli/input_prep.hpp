#pragma once
// Flags shared by the commands that turn texts into model input: the model, the prompt and truncation.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "engine/embedder.hpp"
#include "model/model.hpp"

namespace qembed::cli {

//! --instruction / --prompt-name / --truncate, as flag specs to append to a command's list.
std::vector<FlagSpec> prompt_flag_specs();

struct PromptChoice {
  std::optional<std::string> task;  //!< the instruction; nullopt for documents
  //! The text the tokenizer sees.
  std::string apply(const std::string& text) const;
  //! Caches the prompt's keys/values in `embedder` so every input computes only its own text (no-op without a
  //! prompt).
  void remember(Embedder& embedder) const;
};

//! The "text" of a JSONL object; an Error naming the input when it is empty.
const std::string& checked_text(const nlohmann::json& obj, int64_t input_index);

//! Reads --instruction / --prompt-name (mutually exclusive; Error otherwise).
PromptChoice prompt_from_args(const Args& args);

//! Loads --model, printing what was loaded and how long it took to stderr.
std::unique_ptr<Model> load_model_from_args(const Args& args);

}  // namespace qembed::cli
