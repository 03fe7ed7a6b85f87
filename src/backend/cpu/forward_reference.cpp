#include "backend/cpu/forward_reference.hpp"

#include <cmath>

#include "kernels/attention.hpp"
#include "kernels/matmul.hpp"
#include "kernels/matmul_int8.hpp"
#include "kernels/ops.hpp"
#include "kernels/quant_blocks.hpp"

namespace qembed {

namespace {

// rmsnorm in double, one row: y = x / sqrt(mean(x^2) + eps) * w
void rmsnorm_ref(const float* x, const float* w, float* y, int64_t n, double eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i] * scale * w[i]);
}

}  // namespace

std::vector<float> forward_reference(const Model& model, std::span<const int32_t> tokens, const CpuWeights* like_fast) {
  auto matmul_ref = [](const CpuMatrix& m, const float* x, int64_t n, float* y) {
    if (m.int8 != nullptr) return matmul_int8_ref(*m.int8, x, n, y);
    qembed::matmul_ref(*m.w, x, n, y);
  };
  const Qwen3Config& c = model.config;
  const int64_t T = static_cast<int64_t>(tokens.size());
  const int64_t E = c.n_embd, QD = c.q_dim(), KVD = c.kv_dim(), HD = c.head_dim, FF = c.n_ff;
  RopeTable rope(HD, c.rope_theta);

  std::vector<float> h(T * E);  // (T, E) residual stream
  for (int64_t t = 0; t < T; ++t) {
    dequantize_row_ref(model.token_embd.type, model.token_embd.row(tokens[t]), &h[t * E], E);
  }
  std::vector<float> x(T * E), q(T * QD), k(T * KVD), v(T * KVD), att(T * QD), o(T * E);
  std::vector<float> gate(T * FF), up(T * FF);
  for (size_t l = 0; l < model.layers.size(); ++l) {
    const LayerWeights& L = model.layers[l];
    // The projections as the chosen arithmetic sees them: the model's matrices alone, or with a backend's copies.
    const CpuLayerMatrices W =
        like_fast ? like_fast->layer(static_cast<int64_t>(l))
                  : CpuLayerMatrices{{&L.wq}, {&L.wk}, {&L.wv}, {&L.wo}, {&L.w_gate}, {&L.w_up}, {&L.w_down}};
    for (int64_t t = 0; t < T; ++t) rmsnorm_ref(&h[t * E], L.attn_norm.data(), &x[t * E], E, c.rms_eps);
    matmul_ref(W.wq, x.data(), T, q.data());  // (T, n_head, HD)
    matmul_ref(W.wk, x.data(), T, k.data());  // (T, n_head_kv, HD)
    matmul_ref(W.wv, x.data(), T, v.data());  // (T, n_head_kv, HD)
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t hh = 0; hh < c.n_head; ++hh) {
        float* qh = &q[t * QD + hh * HD];
        rmsnorm_ref(qh, L.q_norm.data(), qh, HD, c.rms_eps);
        rope.apply(qh, t);
      }
      for (int64_t hh = 0; hh < c.n_head_kv; ++hh) {
        float* kh = &k[t * KVD + hh * HD];
        rmsnorm_ref(kh, L.k_norm.data(), kh, HD, c.rms_eps);
        rope.apply(kh, t);
      }
    }
    attention_ref({c.n_head, c.n_head_kv, HD}, q.data(), T, 0, k.data(), v.data(), T, att.data());
    matmul_ref(W.wo, att.data(), T, o.data());
    for (int64_t i = 0; i < T * E; ++i) h[i] += o[i];

    for (int64_t t = 0; t < T; ++t) rmsnorm_ref(&h[t * E], L.ffn_norm.data(), &x[t * E], E, c.rms_eps);
    matmul_ref(W.w_gate, x.data(), T, gate.data());
    matmul_ref(W.w_up, x.data(), T, up.data());
    for (int64_t i = 0; i < T * FF; ++i) {
      double g = gate[i];
      gate[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
    }
    matmul_ref(W.w_down, gate.data(), T, o.data());
    for (int64_t i = 0; i < T * E; ++i) h[i] += o[i];
  }
  std::vector<float> out(E);
  rmsnorm_ref(&h[(T - 1) * E], model.output_norm.data(), out.data(), E, c.rms_eps);
  return out;
}

}  // namespace qembed
