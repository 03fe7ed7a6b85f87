#include "model/weight_binder.hpp"

#include <cstdio>

#include "common/error.hpp"
#include "kernels/quant_blocks.hpp"

namespace qembed {

std::string layer_tensor_name(const char* name_template, int layer) {
  char buf[160];
  std::snprintf(buf, sizeof buf, name_template, layer);
  return buf;
}

namespace {

std::string shape_string(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

//! Checks a found tensor against the shape it must have: dims, whole blocks per row, byte size.
void check_tensor(const TensorSource& t, const std::vector<int64_t>& want_ne, const std::string& where) {
  if (t.ne != want_ne) {
    throw Error(where + ": tensor " + t.name + " has shape " + shape_string(t.ne) + " (ggml order), expected " +
                shape_string(want_ne));
  }
  const GgmlTypeInfo& info = ggml_type_info(t.type);
  if (want_ne[0] % info.block_values != 0) {
    throw Error(where + ": tensor " + t.name + " of type " + info.name + " has rows of " + std::to_string(want_ne[0]) +
                " values, not a multiple of the block size " + std::to_string(info.block_values));
  }
  size_t rows = 1;
  for (size_t i = 1; i < want_ne.size(); ++i) rows *= static_cast<size_t>(want_ne[i]);
  size_t want_bytes = ggml_row_bytes(t.type, want_ne[0]) * rows;
  if (t.n_bytes != want_bytes) {
    throw Error(where + ": tensor " + t.name + " holds " + std::to_string(t.n_bytes) + " bytes, expected " +
                std::to_string(want_bytes));
  }
}

class Binder {
 public:
  Binder(Model& model, const TensorFinder& find, const std::string& where)
      : model_(model), find_(find), where_(where) {}

  TensorSource require(const std::string& gguf_name, const std::string& hf_name, std::vector<int64_t> want_ne) {
    std::optional<TensorSource> t = find_(gguf_name, hf_name);
    if (!t) throw Error(where_ + ": missing tensor " + gguf_name + " (HF name " + hf_name + ")");
    check_tensor(*t, want_ne, where_);
    model_.tensor_type_counts[ggml_type_info(t->type).name]++;
    return *t;
  }

  WeightMatrix matrix(const std::string& gguf_name, const std::string& hf_name, int64_t n_in, int64_t n_out) {
    TensorSource t = require(gguf_name, hf_name, {n_in, n_out});
    WeightMatrix w;
    w.name = t.name;
    w.type = t.type;
    w.n_in = n_in;
    w.n_out = n_out;
    w.data = t.data;
    w.row_bytes = ggml_row_bytes(t.type, n_in);
    return w;
  }

  std::vector<float> vector(const std::string& gguf_name, const std::string& hf_name, int64_t n) {
    TensorSource t = require(gguf_name, hf_name, {n});
    if (t.type != GgmlType::F32 && t.type != GgmlType::F16 && t.type != GgmlType::BF16) {
      throw Error(where_ + ": norm tensor " + t.name + " must be F32, F16 or BF16, found " +
                  ggml_type_info(t.type).name);
    }
    std::vector<float> out(static_cast<size_t>(n));
    dequantize_row_ref(t.type, t.data, out.data(), n);
    return out;
  }

 private:
  Model& model_;
  const TensorFinder& find_;
  const std::string& where_;
};

}  // namespace

std::vector<float> tensor_row_f32(const TensorSource& t, int64_t n_in, int64_t n_rows, int64_t row,
                                  const std::string& where) {
  check_tensor(t, {n_in, n_rows}, where);
  if (row < 0 || row >= n_rows) {
    throw Error(where + ": tensor " + t.name + " has " + std::to_string(n_rows) + " rows, row " + std::to_string(row) +
                " asked for");
  }
  std::vector<float> out(static_cast<size_t>(n_in));
  dequantize_row_ref(t.type, t.data + ggml_row_bytes(t.type, n_in) * static_cast<size_t>(row), out.data(), n_in);
  return out;
}

void bind_qwen3_weights(Model& model, const TensorFinder& find, const std::string& where) {
  const Qwen3Config& c = model.config;
  Binder b(model, find, where);
  model.token_embd = b.matrix(kGgufTokenEmbd, kHfTokenEmbd, c.n_embd, c.n_vocab);
  model.layers.clear();
  model.layers.resize(static_cast<size_t>(c.n_layer));
  for (int il = 0; il < c.n_layer; ++il) {
    LayerWeights& L = model.layers[static_cast<size_t>(il)];
    for (const TensorNames& names : kQwen3LayerTensors) {
      std::string g = layer_tensor_name(names.gguf, il);
      std::string h = layer_tensor_name(names.hf, il);
      switch (names.role) {
        case TensorRole::AttnNorm:
          L.attn_norm = b.vector(g, h, c.n_embd);
          break;
        case TensorRole::QNorm:
          L.q_norm = b.vector(g, h, c.head_dim);
          break;
        case TensorRole::KNorm:
          L.k_norm = b.vector(g, h, c.head_dim);
          break;
        case TensorRole::FfnNorm:
          L.ffn_norm = b.vector(g, h, c.n_embd);
          break;
        case TensorRole::Wq:
          L.wq = b.matrix(g, h, c.n_embd, c.q_dim());
          break;
        case TensorRole::Wk:
          L.wk = b.matrix(g, h, c.n_embd, c.kv_dim());
          break;
        case TensorRole::Wv:
          L.wv = b.matrix(g, h, c.n_embd, c.kv_dim());
          break;
        case TensorRole::Wo:
          L.wo = b.matrix(g, h, c.q_dim(), c.n_embd);
          break;
        case TensorRole::WGate:
          L.w_gate = b.matrix(g, h, c.n_embd, c.n_ff);
          break;
        case TensorRole::WUp:
          L.w_up = b.matrix(g, h, c.n_embd, c.n_ff);
          break;
        case TensorRole::WDown:
          L.w_down = b.matrix(g, h, c.n_ff, c.n_embd);
          break;
      }
    }
  }
  model.output_norm = b.vector(kGgufOutputNorm, kHfOutputNorm, c.n_embd);
}

}  // namespace qembed
