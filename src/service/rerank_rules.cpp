#include "service/rerank_rules.hpp"

#include <cmath>

#include "common/error.hpp"

namespace qembed::service {

namespace {

// From the Qwen3-Reranker model card, verbatim: the model was trained with exactly these bytes around the pair.
constexpr const char* kSystem =
    "Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the "
    "answer can only be \"yes\" or \"no\".";
constexpr const char* kSuffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

}  // namespace

std::string rerank_pair_head(std::string_view instruction, std::string_view query) {
  std::string s = "<Instruct>: ";
  s.append(instruction);
  s += "\n<Query>: ";
  s.append(query);
  s += "\n<Document>:";
  return s;
}

RerankPrompt rerank_prompt(std::string_view instruction, std::string_view query, std::string_view document) {
  RerankPrompt p;
  p.prefix = std::string("<|im_start|>system\n") + kSystem + "<|im_end|>\n<|im_start|>user\n";
  p.pair = rerank_pair_head(instruction, query) + " ";
  p.pair.append(document);
  p.suffix = kSuffix;
  return p;
}

RankScore rank_score(std::span<const float> yes_no, int64_t document_index) {
  if (yes_no.size() != 2) throw InternalError("rank_score: expected 2 logits, got " + std::to_string(yes_no.size()));
  for (float v : yes_no) {
    if (!std::isfinite(v)) {
      throw Error("document " + std::to_string(document_index) + ": the model produced a non-finite logit (" +
                  (std::isnan(v) ? "NaN" : "infinity") + ")");
    }
  }
  RankScore r;
  r.logit = static_cast<double>(yes_no[0]) - static_cast<double>(yes_no[1]);
  r.score = 1.0 / (1.0 + std::exp(-r.logit));
  return r;
}

}  // namespace qembed::service
