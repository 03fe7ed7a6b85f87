#pragma once
// The reranking rules, written once: Qwen3-Reranker's prompt (the model card's system prompt, chat turns and
// empty think block), which part of it may be truncated (the document's end, never the query or the template),
// and the score read from the two logits. Pure functions (no model, no state); the service applies them.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace qembed::service {

//! The model card's default instruction, the same web-search task as Qwen3-Embedding's queries.
inline constexpr const char* kDefaultRerankInstruction =
    "Given a web search query, retrieve relevant passages that answer the query";

//! The prompt around a (query, document) pair. The model card tokenizes the three parts separately and truncates
//! only the pair's tokens from the end, so the document's tail is what a long input loses.
struct RerankPrompt {
  std::string prefix;  //!< system turn and the user turn's opening (special tokens)
  std::string pair;    //!< "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}"
  std::string suffix;  //!< the user turn's end and the assistant's opening with an empty think block
};

//! The prefix and suffix (constant) and the pair for one document.
RerankPrompt rerank_prompt(std::string_view instruction, std::string_view query, std::string_view document);

//! The pair without its document ("...<Document>:"): tokens a truncation may never cut into. The pair is this, a
//! space and the document.
std::string rerank_pair_head(std::string_view instruction, std::string_view query);

//! What a reranker returns for one document.
struct RankScore {
  double score = 0;  //!< P(yes) = softmax([no, yes])[1] = sigmoid(logit), in [0, 1]
  double logit = 0;  //!< logit_yes - logit_no: the raw score (TEI's raw_scores)
};

//! The score from the head's (yes, no) logits. A NaN or infinity is an Error naming the document (never returned
//! as a score).
RankScore rank_score(std::span<const float> yes_no, int64_t document_index);

}  // namespace qembed::service
