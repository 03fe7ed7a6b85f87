// EmbeddingService's reranking: a (query, documents) request becomes one sequence per document in the model card's
// prompt, through the same admission, batcher and prefix cache as embeddings.
#include <algorithm>

#include "common/error.hpp"
#include "model/model.hpp"
#include "service/embedding_service.hpp"

namespace qembed::service {

std::vector<int32_t> common_prefix(const std::vector<std::vector<int32_t>>& seqs) {
  if (seqs.empty()) return {};
  size_t n = seqs[0].size();
  for (const auto& s : seqs) {
    n = std::min(n, s.size() - 1);
    n = static_cast<size_t>(std::mismatch(seqs[0].begin(), seqs[0].begin() + static_cast<int64_t>(n), s.begin()).first -
                            seqs[0].begin());
  }
  return {seqs[0].begin(), seqs[0].begin() + static_cast<int64_t>(n)};
}

RerankRequest EmbeddingService::encode_rerank(const std::string& query, const std::vector<std::string>& documents,
                                              const RerankParams& params) const {
  if (!options_.reranker) {
    throw Error("the model '" + info_.id + "' is an embedding model, not a reranker (serve a Qwen3-Reranker with "
                "--reranker-model)");
  }
  if (query.empty()) throw Error("the query is empty");
  if (documents.empty()) throw Error("the request has no documents");
  if (params.instruction && params.instruction->empty()) throw Error("the instruction is empty");
  const std::string instruction = params.instruction.value_or(kDefaultRerankInstruction);
  const int64_t limit = params.max_tokens > 0 ? std::min(params.max_tokens, options_.max_input_tokens)
                                              : options_.max_input_tokens;
  const Tokenizer& tok = *model_->tokenizer;
  auto encode_part = [&](const std::string& text, const std::string& what) {
    try {
      return tok.encode(text);
    } catch (const Error& e) {
      throw Error(what + ": " + e.what(), e.kind());
    }
  };
  const RerankPrompt frame = rerank_prompt(instruction, query, "");
  const std::vector<int32_t> prefix = tok.encode(frame.prefix), suffix = tok.encode(frame.suffix);
  const auto head = static_cast<int64_t>(encode_part(rerank_pair_head(instruction, query), "the query").size());
  const int64_t fixed = static_cast<int64_t>(prefix.size() + suffix.size());
  // Room for the pair: it may be cut down to its head plus one document token, never into the query.
  const int64_t room = limit - fixed;
  if (room <= head) {
    throw Error("the query and instruction take " + std::to_string(fixed + head) +
                " tokens with the template; the limit of " + std::to_string(limit) +
                " leaves no room for a document");
  }

  RerankRequest out;
  EncodedRequest& req = out.encoded;
  req.first_index = params.first_index;
  req.seqs.reserve(documents.size());
  for (size_t i = 0; i < documents.size(); ++i) {
    const std::string what = "document " + std::to_string(params.first_index + static_cast<int64_t>(i));
    if (documents[i].empty()) throw Error(what + " is an empty string");
    std::vector<int32_t> pair = encode_part(rerank_prompt(instruction, query, documents[i]).pair, what);
    const auto total = static_cast<int64_t>(pair.size()) + fixed;
    bool cut = false;
    if (static_cast<int64_t>(pair.size()) > room) {
      if (!params.truncate) {
        const std::string hint = params.truncate_hint.empty() ? "enable truncation" : "use " + params.truncate_hint;
        throw LimitError(what + " has " + std::to_string(total) + " tokens with the query and template, the limit is " +
                         std::to_string(limit) + " (" + hint + " to cut the document's end)");
      }
      pair.resize(static_cast<size_t>(room));
      cut = true;
    }
    std::vector<int32_t> ids;
    ids.reserve(prefix.size() + pair.size() + suffix.size());
    ids.insert(ids.end(), prefix.begin(), prefix.end());
    ids.insert(ids.end(), pair.begin(), pair.end());
    ids.insert(ids.end(), suffix.begin(), suffix.end());
    req.n_tokens += static_cast<int64_t>(ids.size());
    req.seqs.push_back(std::move(ids));
    out.truncated.push_back(cut);
  }
  // Template, instruction and query: the same leading tokens in every sequence, computed once per request (matched
  // on ids, so the query/document boundary, where tokenization may differ, is simply not shared).
  if (documents.size() > 1 && options_.prefix_cache_bytes > 0) req.prompt_ids = common_prefix(req.seqs);
  return out;
}

RerankResult EmbeddingService::rerank_result(EmbedResult result, std::vector<bool> truncated) {
  RerankResult r;
  r.scores.reserve(result.vectors.size());
  for (size_t i = 0; i < result.vectors.size(); ++i) {
    r.scores.push_back(rank_score(result.vectors[i], static_cast<int64_t>(i)));
  }
  r.n_tokens = std::move(result.n_tokens);
  r.truncated = std::move(truncated);
  r.total_tokens = result.total_tokens;
  r.queue_ms = result.queue_ms;
  r.compute_ms = result.compute_ms;
  return r;
}

RerankResult EmbeddingService::rerank(const std::string& query, const std::vector<std::string>& documents,
                                      const RerankParams& params) {
  RerankRequest req = encode_rerank(query, documents, params);
  return rerank_result(embed(std::move(req.encoded)), std::move(req.truncated));
}

}  // namespace qembed::service
