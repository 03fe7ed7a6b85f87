#include "service/embedding_rules.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace qembed::service {

std::string format_instruction(std::string_view task, std::string_view text) {
  std::string s = "Instruct: ";
  s += task;
  s += "\nQuery:";
  s += text;
  return s;
}

std::optional<TruncationSide> parse_truncation_side(std::string_view word) {
  if (word == "right" || word == "Right") return TruncationSide::kRight;
  if (word == "left" || word == "Left") return TruncationSide::kLeft;
  return std::nullopt;
}

std::string valid_prompt_names(const PromptTable& prompts) {
  std::string names = "query, document";
  for (const auto& [name, text] : prompts) {
    if (name != "query" && name != "document") names += ", " + name;
  }
  return names;
}

std::string resolve_prompt(const std::optional<std::string>& prompt_name, const std::optional<std::string>& instruction,
                           const std::string& default_name, const PromptTable& prompts) {
  if (prompt_name && instruction) throw Error("a prompt name and an instruction are mutually exclusive");
  if (instruction) {
    if (instruction->empty()) throw Error("the instruction must not be empty");
    return format_instruction(*instruction, "");
  }
  const std::string& name = prompt_name ? *prompt_name : default_name;
  if (name.empty()) return "";
  if (auto it = prompts.find(name); it != prompts.end()) return it->second;
  if (name == "query") return format_instruction(kDefaultQueryTask, "");
  if (name == "document") return "";
  throw Error("unknown prompt name \"" + name + "\"; valid names: " + valid_prompt_names(prompts));
}

void check_dimensions(int64_t dims, int64_t n_embd) {
  if (dims == 0) return;
  const int64_t lo = std::min<int64_t>(32, n_embd);
  if (dims < lo || dims > n_embd) {
    throw Error("dimensions " + std::to_string(dims) + " is out of range: this model supports " + std::to_string(lo) +
                " to " + std::to_string(n_embd));
  }
}

void fit_to_limit(std::vector<int32_t>& ids, const FitRule& rule, int64_t input_index) {
  const std::string input = "input " + std::to_string(input_index);
  if (rule.append_eos && (ids.empty() || ids.back() != rule.eos_id)) ids.push_back(rule.eos_id);
  if (ids.empty()) throw Error(input + " has no tokens");
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t limit = rule.max_tokens;
  if (n <= limit) return;
  const bool left = rule.side == TruncationSide::kLeft;
  if (!rule.truncate) {
    const std::string how = rule.truncate_hint.empty() ? "enable truncation" : "use " + rule.truncate_hint;
    throw LimitError(input + " has " + std::to_string(n) + " tokens, the limit is " + std::to_string(limit) + " (" +
                     how + " to keep the " + (left ? "last " : "first ") + std::to_string(limit) + ")");
  }
  if (left) {
    ids.erase(ids.begin(), ids.begin() + (n - limit));  // the trailing EOS stays last
  } else {
    ids.resize(static_cast<size_t>(limit));
    if (rule.append_eos) ids.back() = rule.eos_id;
  }
}

std::vector<float> finalize_embedding(std::span<const float> pooled, int64_t dims, bool normalize,
                                      int64_t input_index) {
  const auto n_embd = static_cast<int64_t>(pooled.size());
  const int64_t d = dims > 0 ? std::min(dims, n_embd) : n_embd;
  std::vector<float> out(pooled.begin(), pooled.begin() + d);
  double ss = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) {
      throw Error("input " + std::to_string(input_index) + ": the model produced a non-finite value (" +
                  (std::isnan(out[i]) ? "NaN" : "infinity") + ") at component " + std::to_string(i) +
                  " of its embedding");
    }
    ss += static_cast<double>(out[i]) * out[i];
  }
  if (normalize && ss > 0) {
    const double inv = 1.0 / std::sqrt(ss);
    for (float& x : out) x = static_cast<float>(x * inv);
  }
  return out;
}

}  // namespace qembed::service
