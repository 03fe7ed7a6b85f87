#pragma once
// Hyper-parameters and the tensor table of a Qwen3 embedding model or Qwen3 reranker, in both naming schemes (GGUF
// and HF). The table is the single description both writers iterate, so a GGUF and an HF folder made from the same
// seed hold the same values in the same order.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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

//! "tiny", "small", and the three Qwen3-Embedding sizes "0.6b", "4b", "8b"; "custom" starts from tiny and is
//! overridden by flags.
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
  if (name == "4b") {
    s.n_layer = 36, s.n_embd = 2560, s.n_head = 32, s.n_head_kv = 8, s.head_dim = 128, s.n_ff = 9728;
    s.n_ctx = 32768;
    return s;
  }
  if (name == "8b") {
    s.n_layer = 36, s.n_embd = 4096, s.n_head = 32, s.n_head_kv = 8, s.head_dim = 128, s.n_ff = 12288;
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

//! Output: a reranker's untied LM head (HF only); Classifier: its two-row head cls.output.weight (GGUF only).
enum class Role { TokenEmbd, Norm, AttnQ, AttnK, AttnV, AttnOut, FfnGate, FfnUp, FfnDown, Output, Classifier };

//! A row drawn with its own Init instead of the tensor's (a reranker's "yes"/"no" head rows).
struct RowInit {
  int64_t row;  //!< numbered in the tensor that seeds the rows
  Init init;
};

//! One weight. A matrix is PyTorch [rows = n_out, cols = n_in] = GGUF ne {cols, rows}; a vector has rows = 1.
//! The fields after `init` default to an ordinary weight: its own rows, seeded by its GGUF name, in both formats.
struct TensorSpec {
  std::string gguf_name;
  std::string hf_name;  //!< without the "model." prefix
  Role role;
  int32_t layer;  //!< -1 for token_embd / output_norm / heads
  int64_t rows;
  int64_t cols;
  bool is_vector;
  Init init;
  std::vector<RowInit> row_inits = {};
  //! Name whose hash seeds the rows (empty: gguf_name). With `gather`, this tensor repeats rows of another one, so
  //! cls.output.weight holds exactly the values of the head rows it was cut from.
  std::string seed_name = {};
  std::vector<int64_t> gather = {};  //!< when set, row r is row gather[r] of the seeding tensor
  bool in_gguf = true;
  bool in_hf = true;
  bool hf_top_level = false;  //!< no "model." prefix in HF even when one is used (lm_head.weight sits beside it)
};

//! A Qwen3-Reranker's head: its score is sigmoid(logit("yes") - logit("no")) at the last position.
struct RerankHead {
  int64_t yes_id = -1;
  int64_t no_id = -1;
  bool untied = false;  //!< a separate lm_head.weight instead of the embedding matrix
};

// A reranker's two knobs, measured on the tiny shape against llama.cpp (tests/oracle/rerank_parity.test.mjs).
//
// The head rows of "yes" and "no" get std kHeadRowGain / sqrt(n_embd). The hidden state reaching the head is
// RMS-normalized (norm ~ sqrt(n_embd)), so h . (w_yes - w_no) has std ~ kHeadRowGain * sqrt(2); the embedding's usual
// std 0.5 would give a logit difference of ~ +-20 on the tiny shape: every score 0 or 1, where two engines agree
// whatever they compute. The gain scales a model's spread of scores and its sensitivity to numeric noise alike.
//
// attn_output gets gain kRerankerAttnOutGain instead of 0.5: the score is read at the template's last token, whose
// state in a random trunk is mostly its own embedding, so with the embedding model's gain every document scores
// almost the same (score sd ~0.01 over the parity corpus). Letting attention carry more of the document into that
// state spreads the scores ~4x for the same head, as a trained reranker's do.
//
// With gain 1 and attention gain 0.5 the int8 activation rounding both engines do (differently) moved scores by up
// to 5e-3 (Q8_0) and 1.1e-2 (Q4_K_M) for a score sd of 0.03. With these values, untied heads, seeds 5-8: scores
// sd 0.014-0.056 (mid-range, 0.37-0.65), F32 |Δscore| <= 7e-5, Q8_0 <= 3.0e-3 x 0.83 and Q4_K_M <= 3.2e-3 x 0.83
// (measured at gain 0.3 and scaled; the parity test prints what it sees).
inline constexpr float kHeadRowGain = 0.25f;
inline constexpr float kRerankerAttnOutGain = 2.0f;

// Scales chosen so the residual stream neither vanishes nor explodes over 28 layers: inputs to every projection
// are RMS-normalized (std ~1), projections into the stream use N(0, 1/n_in) and the two that write back into the
// residual stream (attn_output, ffn_down) half that std, so each layer adds O(0.3) std on top of the embedding.
// A reranker adds its head: the "yes"/"no" rows get a small std (kHeadRowGain) wherever they live, in token_embd
// when the head is tied or in lm_head when it is not; the GGUF gets cls.output.weight cut from those rows (what
// llama.cpp's converter writes), the HF folder the full lm_head when untied.
inline std::vector<TensorSpec> qwen3_tensors(const ModelShape& s,
                                             const std::optional<RerankHead>& head = std::nullopt) {
  std::vector<TensorSpec> t;
  auto lin = [](int64_t n_in, float gain) { return Init{0.0f, gain / std::sqrt(static_cast<float>(n_in))}; };
  const Init norm{1.0f, 0.1f};
  const float attn_out_gain = head ? kRerankerAttnOutGain : 0.5f;
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
                 lin(q_dim, attn_out_gain)});
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
  if (!head) return t;
  const Init small{0.0f, kHeadRowGain / std::sqrt(static_cast<float>(s.n_embd))};
  const std::vector<RowInit> head_rows = {{head->yes_id, small}, {head->no_id, small}};
  TensorSpec* source = &t.front();  // tied: the head is token_embd
  if (head->untied) {
    // Seeded by its GGUF name like every other tensor, though only the HF folder holds it whole.
    t.push_back({"output.weight", "lm_head.weight", Role::Output, -1, s.n_vocab, s.n_embd, false, Init{0.0f, 0.5f}});
    t.back().in_gguf = false;
    t.back().hf_top_level = true;
    source = &t.back();
  }
  source->row_inits = head_rows;
  TensorSpec cls{"cls.output.weight", "", Role::Classifier, -1, 2, s.n_embd, false, source->init};
  cls.row_inits = head_rows;
  cls.seed_name = source->gguf_name;
  cls.gather = {head->yes_id, head->no_id};
  cls.in_hf = false;
  t.push_back(std::move(cls));
  return t;
}

}  // namespace qembed::model_gen
