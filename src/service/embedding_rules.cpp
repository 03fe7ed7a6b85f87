#include "engine/embedding_options.hpp"

#include <cmath>

#include "common/error.hpp"

namespace qembed {

std::string format_instruction(std::string_view task, std::string_view text) {
  std::string s = "Instruct: ";
  s += task;
  s += "\nQuery:";
  s += text;
  return s;
}

std::optional<std::string> task_for_prompt_name(std::string_view name) {
  if (name == "query") return std::string(kDefaultQueryTask);
  if (name == "document") return std::nullopt;
  throw Error("unknown prompt name \"" + std::string(name) + "\"; valid names: query, document");
}

void check_dimensions(int64_t dims, int64_t n_embd) {
  if (dims == 0) return;
  int64_t lo = std::min<int64_t>(32, n_embd);
  if (dims < lo || dims > n_embd) {
    throw Error("dimensions " + std::to_string(dims) + " is out of range: this model supports " + std::to_string(lo) +
                " to " + std::to_string(n_embd));
  }
}

std::vector<float> finalize_embedding(const float* pooled, int64_t n_embd, int64_t dims, bool normalize) {
  int64_t d = dims > 0 ? std::min(dims, n_embd) : n_embd;
  std::vector<float> out(pooled, pooled + d);
  if (normalize) {
    double ss = 0;
    for (float x : out) ss += static_cast<double>(x) * x;
    if (ss > 0) {
      double inv = 1.0 / std::sqrt(ss);
      for (float& x : out) x = static_cast<float>(x * inv);
    }
  }
  return out;
}

void fit_tokens(std::vector<int32_t>& tokens, int32_t eos_id, bool append_eos, int64_t max_tokens, bool truncate,
                int64_t input_index) {
  if (append_eos && (tokens.empty() || tokens.back() != eos_id)) tokens.push_back(eos_id);
  if (tokens.empty()) throw Error("input " + std::to_string(input_index) + " is empty");
  int64_t n = static_cast<int64_t>(tokens.size());
  if (n <= max_tokens) return;
  if (!truncate) {
    throw Error("input " + std::to_string(input_index) + " has " + std::to_string(n) + " tokens, the limit is " +
                std::to_string(max_tokens) + " (enable truncation to keep the first " + std::to_string(max_tokens) +
                ")");
  }
  tokens.resize(static_cast<size_t>(max_tokens));
  if (append_eos) tokens.back() = eos_id;
}

}  // namespace qembed
