#include "backend/cpu/forward_pass.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "common/error.hpp"
#include "kernels/attention.hpp"
#include "kernels/matmul.hpp"
#include "kernels/quant_blocks.hpp"

namespace qembed {

namespace {
// Queries per attention work item: small enough to spread one sequence over all threads, large enough that each
// item streams its keys/values with good reuse.
constexpr int64_t kAttentionQueryTile = 32;
}  // namespace

//! The packed batch: sequence boundaries plus, per computed token, its id, its position inside its sequence and
//! the row of its keys/values. A sequence's K/V rows are its cached positions followed by its computed ones, so
//! attention reads one contiguous (positions, kv_dim) block per sequence.
struct ForwardPass::Batch {
  std::vector<int64_t> seq_start;        // (n_seq + 1) cumulative offsets of the computed tokens
  std::vector<int64_t> kv_start;         // (n_seq + 1) cumulative K/V row offsets (cached + computed)
  std::vector<const PrefixEntry*> past;  // (n_seq) the entry of the cached positions, or null
  std::vector<int64_t> n_past;           // (n_seq) cached positions
  std::vector<int32_t> ids;              // (T) computed tokens only
  std::vector<int32_t> pos;              // (T)
  std::vector<int64_t> kv_row;           // (T)
  int64_t n_tokens() const { return static_cast<int64_t>(ids.size()); }
  int64_t n_seq() const { return static_cast<int64_t>(seq_start.size()) - 1; }
  int64_t n_kv_rows() const { return kv_start.back(); }

  explicit Batch(const PackedBatch& pb) : ids(pb.token_ids), pos(pb.positions) {
    seq_start = pb.seq_offsets;
    kv_start.push_back(0);
    for (int64_t s = 0; s < pb.n_seq(); ++s) {
      const PrefixMatch m = pb.past.empty() ? PrefixMatch{} : pb.past[s];
      const int64_t p = m ? m.n_tokens : 0;
      past.push_back(p > 0 ? m.entry.get() : nullptr);
      n_past.push_back(p);
      // A sequence's K/V rows: its p cached positions, then its computed tokens at positions p..n-1.
      for (int64_t t = pb.seq_offsets[s]; t < pb.seq_offsets[s + 1]; ++t) kv_row.push_back(kv_start.back() + pos[t]);
      kv_start.push_back(kv_start.back() + p + (pb.seq_offsets[s + 1] - pb.seq_offsets[s]));
    }
  }
};

ForwardPass::ForwardPass(const Model& model, ThreadPool& pool, int64_t chunk_tokens)
    : model_(model),
      pool_(pool),
      chunk_tokens_(std::max<int64_t>(1, chunk_tokens)),
      rope_(model.config.head_dim, model.config.rope_theta) {}

int64_t ForwardPass::activation_bytes(int64_t n_tokens) const {
  const Qwen3Config& c = model_.config;
  int64_t chunk = std::min(n_tokens, chunk_tokens_);
  int64_t per_batch = n_tokens * (c.n_embd + 2 * c.kv_dim());                                // h, k, v
  int64_t per_chunk = chunk * (2 * c.n_embd + 2 * c.q_dim() + 2 * c.n_ff + 2 * c.kv_dim());  // x..up, kc, vc
  return static_cast<int64_t>(sizeof(float)) * (per_batch + per_chunk);
}

void ForwardPass::embed_tokens(const Batch& b, float* h) {
  const int64_t E = model_.config.n_embd;
  const WeightMatrix& emb = model_.token_embd;
  pool_.parallel_for(b.n_tokens(), [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) dequantize_row_ref(emb.type, emb.row(b.ids[t]), h + t * E, E);
  });
}

void ForwardPass::qk_norm_rope(const LayerWeights& L, const Batch& b, int64_t c0, int64_t n) {
  const Qwen3Config& c = model_.config;
  const int64_t HD = c.head_dim, QD = c.q_dim(), KVD = c.kv_dim();
  pool_.parallel_for(n, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      int64_t pos = b.pos[c0 + i];
      float* q = &q_[i * QD];
      const float* k_new = &kc_[i * KVD];
      float* k = &k_[b.kv_row[c0 + i] * KVD];
      for (int64_t hh = 0; hh < c.n_head; ++hh) rmsnorm(q + hh * HD, L.q_norm.data(), q + hh * HD, HD, c.rms_eps);
      for (int64_t hh = 0; hh < c.n_head_kv; ++hh)
        rmsnorm(k_new + hh * HD, L.k_norm.data(), k + hh * HD, HD, c.rms_eps);
      rope_.apply_heads(q, c.n_head, pos);
      rope_.apply_heads(k, c.n_head_kv, pos);
      std::memcpy(&v_[b.kv_row[c0 + i] * KVD], &vc_[i * KVD], sizeof(float) * KVD);
    }
  });
}

void ForwardPass::attention_chunk(const Batch& b, int64_t c0, int64_t n) {
  const Qwen3Config& c = model_.config;
  const int64_t QD = c.q_dim(), KVD = c.kv_dim();
  const AttentionShape shape{c.n_head, c.n_head_kv, c.head_dim};
  // Work items: (sequence slice inside this chunk) x (query tile) x (head).
  // kv_begin: the sequence's first K/V row (position 0, cached or not); q_pos0: the slice's first position.
  struct Item {
    int64_t kv_begin, q_pos0, q_abs_begin, q_abs_end, q_begin, q_end, head;
  };
  std::vector<Item> items;
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    int64_t qa = std::max(c0, b.seq_start[s]), qb = std::min(c0 + n, b.seq_start[s + 1]);
    if (qa >= qb) continue;
    for (int64_t t = 0; t < qb - qa; t += kAttentionQueryTile) {
      for (int64_t hh = 0; hh < c.n_head; ++hh) {
        items.push_back({b.kv_start[s], b.pos[qa], qa, qb, t, std::min(t + kAttentionQueryTile, qb - qa), hh});
      }
    }
  }
  // Under the causal mask a later query tile costs more. parallel_for hands out contiguous ranges, so lay the
  // items out as first, last, second, second-to-last, ...: every contiguous range then holds a balanced mix.
  std::vector<Item> balanced;
  balanced.reserve(items.size());
  for (size_t lo = 0, hi = items.size(); lo < hi;) {
    balanced.push_back(items[lo++]);
    if (lo < hi) balanced.push_back(items[--hi]);
  }
  pool_.parallel_for(static_cast<int64_t>(balanced.size()), [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      const Item& it = balanced[i];
      const float* q = &q_[(it.q_abs_begin - c0) * QD];
      float* out = &att_[(it.q_abs_begin - c0) * QD];
      const float* k = &k_[it.kv_begin * KVD];
      const float* v = &v_[it.kv_begin * KVD];
      int64_t n_q = it.q_abs_end - it.q_abs_begin;
      attention_tiled(shape, q, n_q, it.q_pos0, k, v, it.q_pos0 + n_q, out, it.q_begin, it.q_end, it.head, it.head + 1);
    }
  });
}

void ForwardPass::copy_past(int64_t layer, const Batch& b) {
  const int64_t KVD = model_.config.kv_dim();
  pool_.parallel_for(b.n_seq(), [&](int64_t s0, int64_t s1, int) {
    for (int64_t s = s0; s < s1; ++s) {
      if (!b.past[s]) continue;
      const auto n = static_cast<size_t>(b.n_past[s] * KVD);
      std::memcpy(&k_[b.kv_start[s] * KVD], b.past[s]->k(layer), sizeof(float) * n);
      std::memcpy(&v_[b.kv_start[s] * KVD], b.past[s]->v(layer), sizeof(float) * n);
    }
  });
}

void ForwardPass::run_layer(int64_t layer, const Batch& b, float* h) {
  const LayerWeights& L = model_.layers[layer];
  const Qwen3Config& c = model_.config;
  const int64_t E = c.n_embd, FF = c.n_ff;
  const int64_t T = b.n_tokens();
  auto add_rows = [&](float* dst, const float* src, int64_t n_rows) {
    pool_.parallel_for(n_rows, [&](int64_t r0, int64_t r1, int) {
      for (int64_t i = r0 * E; i < r1 * E; ++i) dst[i] += src[i];
    });
  };
  auto norm_rows = [&](const float* src, const std::vector<float>& w, float* dst, int64_t n_rows) {
    pool_.parallel_for(n_rows, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) rmsnorm(src + r * E, w.data(), dst + r * E, E, c.rms_eps);
    });
  };
  // Chunks run in order, so when chunk [c0, c0+n) attends, the keys/values of every earlier position of its
  // sequences are already in k_/v_ (computed by an earlier chunk, or copied from the prefix cache).
  copy_past(layer, b);
  for (int64_t c0 = 0; c0 < T; c0 += chunk_tokens_) {
    const int64_t n = std::min(chunk_tokens_, T - c0);
    float* hc = h + c0 * E;
    norm_rows(hc, L.attn_norm, x_.data(), n);
    matmul(L.wq, x_.data(), n, q_.data(), pool_);
    matmul(L.wk, x_.data(), n, kc_.data(), pool_);
    matmul(L.wv, x_.data(), n, vc_.data(), pool_);
    qk_norm_rope(L, b, c0, n);
    attention_chunk(b, c0, n);
    matmul(L.wo, att_.data(), n, tmp_.data(), pool_);
    add_rows(hc, tmp_.data(), n);

    norm_rows(hc, L.ffn_norm, x_.data(), n);
    matmul(L.w_gate, x_.data(), n, gate_.data(), pool_);
    matmul(L.w_up, x_.data(), n, up_.data(), pool_);
    pool_.parallel_for(n, [&](int64_t r0, int64_t r1, int) {
      silu_mul(&gate_[r0 * FF], &up_[r0 * FF], &gate_[r0 * FF], (r1 - r0) * FF);
    });
    matmul(L.w_down, gate_.data(), n, tmp_.data(), pool_);
    add_rows(hc, tmp_.data(), n);
  }
}

std::vector<float> ForwardPass::run(const PackedBatch& batch) { return run_batch(Batch(batch), nullptr); }

std::vector<float> ForwardPass::run(const std::vector<std::span<const int32_t>>& seqs,
                                    const std::vector<PrefixMatch>& past) {
  return run(PackedBatch::pack(seqs, past));
}

std::shared_ptr<PrefixEntry> ForwardPass::capture(std::span<const int32_t> ids, const PrefixMatch& past) {
  const Qwen3Config& c = model_.config;
  auto entry = std::make_shared<PrefixEntry>(std::vector<int32_t>(ids.begin(), ids.end()), c.n_layer, c.kv_dim());
  run_batch(Batch(PackedBatch::pack({ids}, {past})), entry.get());
  return entry;
}

std::vector<float> ForwardPass::run_batch(const Batch& b, PrefixEntry* capture_into) {
  const Qwen3Config& c = model_.config;
  const int64_t E = c.n_embd, KVD = c.kv_dim();
  const int64_t T = b.n_tokens(), KV = b.n_kv_rows();
  const int64_t chunk = std::min(T, chunk_tokens_);
  // Rotary cos/sin once per position instead of per head and layer (at most n_ctx x head_dim floats).
  int64_t longest = 0;
  for (int64_t s = 0; s < b.n_seq(); ++s) longest = std::max(longest, b.kv_start[s + 1] - b.kv_start[s]);
  rope_.reserve(longest);
  std::vector<float> h(static_cast<size_t>(T * E));  // (T, E) residual stream of the computed tokens
  k_.resize(KV * KVD);
  v_.resize(KV * KVD);
  x_.resize(chunk * E);
  tmp_.resize(chunk * E);
  q_.resize(chunk * c.q_dim());
  att_.resize(chunk * c.q_dim());
  gate_.resize(chunk * c.n_ff);
  up_.resize(chunk * c.n_ff);
  kc_.resize(chunk * KVD);
  vc_.resize(chunk * KVD);

  embed_tokens(b, h.data());
  for (int64_t l = 0; l < c.n_layer; ++l) {
    run_layer(l, b, h.data());
    if (capture_into) {  // one sequence: its rows are k_/v_ [0, n)
      std::memcpy(capture_into->k(l), k_.data(), sizeof(float) * capture_into->n_tokens() * KVD);
      std::memcpy(capture_into->v(l), v_.data(), sizeof(float) * capture_into->n_tokens() * KVD);
    }
  }

  std::vector<float> pooled(static_cast<size_t>(b.n_seq() * E));  // (n_seq, E)
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    rmsnorm(&h[(b.seq_start[s + 1] - 1) * E], model_.output_norm.data(), &pooled[s * E], E, c.rms_eps);
  }
  // Give back batch-sized scratch so a one-off 32K input does not pin its memory for the process lifetime.
  if (KV > 4 * chunk_tokens_) {
    std::vector<float>().swap(k_);
    std::vector<float>().swap(v_);
  }
  return pooled;
}

}  // namespace qembed
