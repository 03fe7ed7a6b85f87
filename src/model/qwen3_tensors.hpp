#pragma once
// The Qwen3 architecture as data: each weight role with its GGUF name and its HuggingFace name. Adding a
// naming scheme or an architecture variant touches this table, not the loaders.
#include <string>

namespace qembed {

enum class TensorRole { AttnNorm, Wq, Wk, Wv, Wo, QNorm, KNorm, FfnNorm, WGate, WUp, WDown };

struct TensorNames {
  TensorRole role;
  const char* gguf;  //!< with %d for the layer
  const char* hf;    //!< without the "model." prefix
};

inline constexpr TensorNames kQwen3LayerTensors[] = {
    {TensorRole::AttnNorm, "blk.%d.attn_norm.weight", "layers.%d.input_layernorm.weight"},
    {TensorRole::Wq, "blk.%d.attn_q.weight", "layers.%d.self_attn.q_proj.weight"},
    {TensorRole::Wk, "blk.%d.attn_k.weight", "layers.%d.self_attn.k_proj.weight"},
    {TensorRole::Wv, "blk.%d.attn_v.weight", "layers.%d.self_attn.v_proj.weight"},
    {TensorRole::Wo, "blk.%d.attn_output.weight", "layers.%d.self_attn.o_proj.weight"},
    {TensorRole::QNorm, "blk.%d.attn_q_norm.weight", "layers.%d.self_attn.q_norm.weight"},
    {TensorRole::KNorm, "blk.%d.attn_k_norm.weight", "layers.%d.self_attn.k_norm.weight"},
    {TensorRole::FfnNorm, "blk.%d.ffn_norm.weight", "layers.%d.post_attention_layernorm.weight"},
    {TensorRole::WGate, "blk.%d.ffn_gate.weight", "layers.%d.mlp.gate_proj.weight"},
    {TensorRole::WUp, "blk.%d.ffn_up.weight", "layers.%d.mlp.up_proj.weight"},
    {TensorRole::WDown, "blk.%d.ffn_down.weight", "layers.%d.mlp.down_proj.weight"},
};
inline constexpr const char* kGgufTokenEmbd = "token_embd.weight";
inline constexpr const char* kHfTokenEmbd = "embed_tokens.weight";
inline constexpr const char* kGgufOutputNorm = "output_norm.weight";
inline constexpr const char* kHfOutputNorm = "norm.weight";

//! Fills a "%d" template with the layer index.
std::string layer_tensor_name(const char* name_template, int layer);

}  // namespace qembed
