#pragma once
// Hyper-parameters of a Qwen3 (embedding) model, read from the model file at load time.
#include <cstdint>
#include <string>

namespace qembed {

struct Qwen3Config {
  int64_t n_embd = 0;  //!< hidden size = embedding dims
  int64_t n_layer = 0;
  int64_t n_head = 0;     //!< query heads
  int64_t n_head_kv = 0;  //!< key/value heads (GQA)
  int64_t head_dim = 0;
  int64_t n_ff = 0;     //!< SwiGLU intermediate size
  int64_t n_vocab = 0;  //!< rows of the token embedding
  int64_t n_ctx = 0;    //!< trained context length (max tokens per input, EOS included)
  double rope_theta = 1e6;
  float rms_eps = 1e-6f;

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
  //! Throws Error (prefixed by `where`) when a value is out of range or inconsistent (heads not dividing, ...).
  void validate(const std::string& where) const;
};

}  // namespace qembed
