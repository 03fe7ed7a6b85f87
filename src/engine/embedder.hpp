#pragma once
// Text in, vectors out: tokenization with prompts/EOS/limits, token-budget batching over the forward pass, and
// pooling finalization. The CLI uses it directly; the server's worker owns one.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/forward_pass.hpp"
#include "kernels/thread_pool.hpp"
#include "model/model.hpp"

namespace qembed {

struct EmbedderOptions {
  int n_threads = 0;                //!< 0: all hardware threads
  int64_t max_batch_tokens = 8192;  //!< tokens per forward batch (a longer single input runs alone)
  int64_t chunk_tokens = 512;       //!< activation chunk inside a batch
};

class Embedder {
 public:
  Embedder(const Model& model, const EmbedderOptions& options);
  ~Embedder();

  const Model& model() const { return model_; }
  int n_threads() const;
  int64_t max_batch_tokens() const { return options_.max_batch_tokens; }

  //! The ids the model sees for `text` (prompt already applied by the caller): tokens + EOS, within `max_tokens`
  //! (0: the model's context) or truncated when `truncate`. Errors name `input_index`.
  std::vector<int32_t> tokenize(std::string_view text, bool truncate, int64_t input_index,
                                int64_t max_tokens = 0) const;

  //! Pooled (output-normed, not normalized) vectors, one per sequence, (n_embd) each, in input order. Sequences are
  //! grouped into forward batches of at most max_batch_tokens.
  std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& seqs);

 private:
  const Model& model_;
  EmbedderOptions options_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<ForwardPass> forward_;
};

}  // namespace qembed
