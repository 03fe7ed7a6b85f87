#include "engine/embedder.hpp"

#include <span>
#include <thread>

#include "common/error.hpp"
#include "engine/embedding_options.hpp"

namespace qembed {

Embedder::Embedder(const Model& model, const EmbedderOptions& options) : model_(model), options_(options) {
  int n = options.n_threads > 0 ? options.n_threads : static_cast<int>(std::thread::hardware_concurrency());
  pool_ = std::make_unique<ThreadPool>(std::max(1, n));
  forward_ = std::make_unique<ForwardPass>(model, *pool_, options.chunk_tokens);
}

Embedder::~Embedder() = default;

int Embedder::n_threads() const { return pool_->size(); }

std::vector<int32_t> Embedder::tokenize(std::string_view text, bool truncate, int64_t input_index,
                                        int64_t max_tokens) const {
  std::vector<int32_t> ids;
  try {
    ids = model_.tokenizer->encode(text);
  } catch (const Error& e) {
    throw Error("input " + std::to_string(input_index) + ": " + e.what());
  }
  int64_t limit = model_.config.n_ctx;
  if (max_tokens > 0) limit = std::min(limit, max_tokens);
  fit_tokens(ids, model_.tokenizer->eos_id(), model_.append_eos, limit, truncate, input_index);
  return ids;
}

std::vector<std::vector<float>> Embedder::embed(const std::vector<std::vector<int32_t>>& seqs) {
  const int64_t E = model_.config.n_embd;
  std::vector<std::vector<float>> out(seqs.size());
  size_t i = 0;
  while (i < seqs.size()) {
    // Greedy token-budget batch in input order; one input longer than the budget runs alone.
    std::vector<std::span<const int32_t>> batch;
    int64_t tokens = 0;
    size_t first = i;
    while (i < seqs.size() &&
           (batch.empty() || tokens + static_cast<int64_t>(seqs[i].size()) <= options_.max_batch_tokens)) {
      for (int32_t id : seqs[i]) {
        if (id < 0 || id >= model_.config.n_vocab) {
          throw Error("input " + std::to_string(i) + ": token id " + std::to_string(id) +
                      " is outside the vocabulary [0, " + std::to_string(model_.config.n_vocab) + ")");
        }
      }
      if (seqs[i].empty()) throw Error("input " + std::to_string(i) + " has no tokens");
      batch.emplace_back(seqs[i]);
      tokens += static_cast<int64_t>(seqs[i].size());
      ++i;
    }
    std::vector<float> pooled = forward_->run(batch);
    for (size_t j = 0; j < batch.size(); ++j) {
      out[first + j].assign(pooled.begin() + static_cast<int64_t>(j) * E,
                            pooled.begin() + static_cast<int64_t>(j + 1) * E);
    }
  }
  return out;
}

}  // namespace qembed
