#include "model/qwen3_config.hpp"

#include "common/error.hpp"

namespace qembed {

void Qwen3Config::validate(const std::string& where) const {
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) throw Error(where + ": invalid model hyper-parameters: " + what);
  };
  // Bounds are far above any real model and keep size arithmetic far from overflow.
  check(n_embd > 0 && n_embd <= 65536, "embedding_length " + std::to_string(n_embd) + " not in [1, 65536]");
  check(n_layer > 0 && n_layer <= 1024, "block_count " + std::to_string(n_layer) + " not in [1, 1024]");
  check(n_head > 0 && n_head <= 1024, "head_count " + std::to_string(n_head) + " not in [1, 1024]");
  check(n_head_kv > 0 && n_head_kv <= n_head && n_head % n_head_kv == 0,
        "head_count_kv " + std::to_string(n_head_kv) + " must divide head_count " + std::to_string(n_head));
  check(head_dim > 0 && head_dim <= 1024 && head_dim % 2 == 0,
        "head_dim " + std::to_string(head_dim) + " must be even and in [2, 1024]");
  check(n_ff > 0 && n_ff <= 1 << 20, "feed_forward_length " + std::to_string(n_ff) + " not in [1, 1048576]");
  check(n_vocab > 0 && n_vocab <= 1 << 24, "vocab size " + std::to_string(n_vocab) + " not in [1, 16777216]");
  check(n_ctx > 0 && n_ctx <= 1 << 20, "context_length " + std::to_string(n_ctx) + " not in [1, 1048576]");
  check(rope_theta > 0, "rope freq_base must be positive");
  check(rms_eps > 0 && rms_eps < 1, "rms epsilon must be in (0, 1)");
}

}  // namespace qembed
