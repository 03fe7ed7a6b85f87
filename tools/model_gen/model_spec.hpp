#pragma once
// Hyper-parameters and the tensor table of a Qwen3 embedding model, in both naming schemes (GGUF and HF).
// The table is the single description both writers iterate, so a GGUF and an HF folder made from the same seed
// hold the same values in the same order.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qembed::model_gen {

struct ModelShape {
  int32_t n_layer = 2;
  int32_t n_embd = 256;
  int32_t n_head = 4;
  int32_t n_head_kv = 2;
  int32_t head_dim = 64;
  int32_t n_ff = 512;
  int32_t n_ctx = 4096;
  int32_t n_vocab = 0;  //!< from the tokenizer
  float rope_theta = 1e6f;
  float rms_eps = 1e-6f;
};

//! "tiny", "small", "0.6b"; "custom" starts from tiny and is overridden by flags.
inline std::optional<ModelShape> shape_preset(const std::string& name) {
  ModelShape s;  // defaults are tiny: hidden a multiple of 256 so K-quants apply
  if (name == "tiny" || name == "custom") return s;
  if (name == "small") {
    s.n_layer = 4, s.n_embd = 512, s.n_head = 8, s.n_head_kv = 4, s.head_dim = 64, s.n_ff = 1024;
    return s;
  }
  if (name == "0.6b") {
    s.n_layer = 28, s.n_embd = 1024, s.n_head = 16, s.n_head_kv = 8, s.head_dim = 128, s.n_ff = 3072;
    s.n_ctx = 32768;
    return s;
  }
  return std::nullopt;
}

//! How a tensor's values are drawn: value = mean + std * N(0, 1).
struct Init {
  float mean = 0.0f;
  float std = 1.0f;
};

enum class Role { TokenEmbd, Norm, AttnQ, AttnK, AttnV, AttnOut, FfnGate, FfnUp, FfnDown };

//! One weight. A matrix is PyTorch [rows = n_out, cols = n_in] = GGUF ne {cols, rows}; a vector has rows = 1.
struct TensorSpec {
  std::string gguf_name;
  std::string hf_name;  //!< without the "model." prefix
  Role role;
  int32_t layer;  //!< -1 for token_embd / output_norm
  int64_t rows;
  int64_t cols;
  bool is_vector;
  Init init;
};

// Scales chosen so the residual stream neither vanishes nor explodes over 28 layers: inputs to every projection
// are RMS-normalized (std ~1), projections into the stream use N(0, 1/n_in) and the two that write back into the
// residual stream (attn_output, ffn_down) half that std, so each layer adds O(0.3) std on top of the embedding.
inline std::vector<TensorSpec> qwen3_tensors(const ModelShape& s) {
  std::vector<TensorSpec> t;
  auto lin = [](int64_t n_in, float gain) { return Init{0.0f, gain / std::sqrt(static_cast<float>(n_in))}; };
  const Init norm{1.0f, 0.1f};
  const int64_t q_dim = int64_t{s.n_head} * s.head_dim, kv_dim = int64_t{s.n_head_kv} * s.head_dim;
  t.push_back(
      {"token_embd.weight", "embed_tokens.weight", Role::TokenEmbd, -1, s.n_vocab, s.n_embd, false, Init{0.0f, 0.5f}});
  for (int32_t i = 0; i < s.n_layer; ++i) {
    const std::string g = "blk." + std::to_string(i) + ".", h = "layers." + std::to_string(i) + ".";
    t.push_back({g + "attn_norm.weight", h + "input_layernorm.weight", Role::Norm, i, 1, s.n_embd, true, norm});
    t.push_back({g + "attn_q.weight", h + "self_attn.q_proj.weight", Role::AttnQ, i, q_dim, s.n_embd, false,
                 lin(s.n_embd, 1.0f)});
    t.push_back({g + "attn_k.weight", h + "self_attn.k_proj.weight", Role::AttnK, i, kv_dim, s.n_embd, false,
                 lin(s.n_embd, 1.0f)});
    t.push_back({g + "attn_v.weight", h + "self_attn.v_proj.weight", Role::AttnV, i, kv_dim, s.n_embd, false,
                 lin(s.n_embd, 1.0f)});
    t.push_back({g + "attn_output.weight", h + "self_attn.o_proj.weight", Role::AttnOut, i, s.n_embd, q_dim, false,
                 lin(q_dim, 0.5f)});
    t.push_back({g + "attn_q_norm.weight", h + "self_attn.q_norm.weight", Role::Norm, i, 1, s.head_dim, true, norm});
    t.push_back({g + "attn_k_norm.weight", h + "self_attn.k_norm.weight", Role::Norm, i, 1, s.head_dim, true, norm});
    t.push_back({g + "ffn_norm.weight", h + "post_attention_layernorm.weight", Role::Norm, i, 1, s.n_embd, true, norm});
    t.push_back({g + "ffn_gate.weight", h + "mlp.gate_proj.weight", Role::FfnGate, i, s.n_ff, s.n_embd, false,
                 lin(s.n_embd, 1.0f)});
    t.push_back(
        {g + "ffn_up.weight", h + "mlp.up_proj.weight", Role::FfnUp, i, s.n_ff, s.n_embd, false, lin(s.n_embd, 1.0f)});
    t.push_back({g + "ffn_down.weight", h + "mlp.down_proj.weight", Role::FfnDown, i, s.n_embd, s.n_ff, false,
                 lin(s.n_ff, 0.5f)});
  }
  t.push_back({"output_norm.weight", "norm.weight", Role::Norm, -1, 1, s.n_embd, true, norm});
  return t;
}

}  // namespace qembed::model_gen
