#include "backend/cpu/forward_pass.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "common/error.hpp"
#include "kernels/attention.hpp"
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
  std::vector<int64_t> seq_start;           // (n_seq + 1) cumulative offsets of the computed tokens
  std::vector<int64_t> kv_start;            // (n_seq + 1) cumulative K/V row offsets (cached + computed)
  std::vector<const CpuPrefixEntry*> past;  // (n_seq) the entry of the cached positions, or null
  std::vector<int64_t> n_past;              // (n_seq) cached positions
  std::vector<int32_t> ids;                 // (T) computed tokens only
  std::vector<int32_t> pos;                 // (T)
  std::vector<int64_t> kv_row;              // (T)
  int64_t n_tokens() const { return static_cast<int64_t>(ids.size()); }
  int64_t n_seq() const { return static_cast<int64_t>(seq_start.size()) - 1; }
  int64_t n_kv_rows() const { return kv_start.back(); }

  //! The entries `pb` refers to must stay alive as long as this (the task keeps `pb`).
  Batch(const PackedBatch& pb, const Qwen3Config& c) : ids(pb.token_ids), pos(pb.positions) {
    seq_start = pb.seq_offsets.empty() ? std::vector<int64_t>{0} : pb.seq_offsets;
    kv_start.push_back(0);
    for (int64_t s = 0; s < pb.n_seq(); ++s) {
      const PrefixMatch m = pb.past.empty() ? PrefixMatch{} : pb.past[s];
      const int64_t p = m ? m.n_tokens : 0;
      const auto* entry = p > 0 ? dynamic_cast<const CpuPrefixEntry*>(m.entry.get()) : nullptr;
      if (p > 0 && (entry == nullptr || entry->n_layer() != c.n_layer || entry->kv_dim() != c.kv_dim())) {
        throw InternalError("cpu forward pass: sequence " + std::to_string(s) +
                            " continues from a prefix entry another backend or model made");
      }
      past.push_back(entry);
      n_past.push_back(p);
      // A sequence's K/V rows: its p cached positions, then its computed tokens at positions p..n-1.
      for (int64_t t = pb.seq_offsets[s]; t < pb.seq_offsets[s + 1]; ++t) kv_row.push_back(kv_start.back() + pos[t]);
      kv_start.push_back(kv_start.back() + p + (pb.seq_offsets[s + 1] - pb.seq_offsets[s]));
    }
  }
};

//! What one task owns between its steps.
struct ForwardPass::TaskState {
  PackedBatch packed;  // keeps the prefix entries `batch` reads alive, even if the cache evicts them meanwhile
  Batch batch;
  std::shared_ptr<CpuPrefixEntry> capture_into;  // or null
  OutputHead head = OutputHead::kLastTokenPooled;
  std::vector<float> h;                          // (T, n_embd) residual stream of the computed tokens
  std::vector<float> k, v;                       // (n_kv_rows, kv_dim) one layer's keys/values, cached rows included
  int64_t layers_done = 0;
  int64_t next_row = 0;  // first token of the current layer not computed yet (the layer's chunks run in order)
  bool begun = false;    // the token embeddings are in h
  double step_work = 0;  // bound of one step's work in token-equivalents; 0: a whole layer per step
  double work_done = 0;  // token-equivalents computed so far

  TaskState(PackedBatch pb, const Qwen3Config& c, OutputHead h, std::shared_ptr<CpuPrefixEntry> capture)
      : packed(std::move(pb)), batch(packed, c), capture_into(std::move(capture)), head(h) {}
};

//! A ForwardPass task: layer by layer (or chunk by chunk of a layer's tokens, when a step's work is bounded) over
//! its own residual stream and K/V, sharing the pass's chunk scratch.
class CpuForwardTask final : public ForwardTask {
 public:
  CpuForwardTask(ForwardPass& pass, PackedBatch batch, OutputHead head, std::shared_ptr<CpuPrefixEntry> capture_into)
      : pass_(pass), state_(std::move(batch), pass.model_.config, head, std::move(capture_into)) {}

  bool step() override {
    if (done_) return true;
    if (!state_.begun) {
      pass_.begin(state_);
      state_.begun = true;
    }
    if (state_.layers_done < pass_.model_.config.n_layer) {
      pass_.run_step(state_.layers_done, state_);
      if (state_.next_row < state_.batch.n_tokens()) return false;  // the layer goes on in the next step
      state_.next_row = 0;
    }
    if (++state_.layers_done < layers_total()) return false;
    output_ = pass_.pool_outputs(state_);
    // Give back the batch-sized buffers now: a finished task may be kept around until its output is taken.
    std::vector<float>().swap(state_.h);
    std::vector<float>().swap(state_.k);
    std::vector<float>().swap(state_.v);
    done_ = true;
    return true;
  }
  int64_t layers_done() const override { return state_.layers_done; }
  int64_t layers_total() const override { return pass_.steps_per_task(); }
  void set_step_work(double work) override { state_.step_work = std::max(0.0, work); }
  double work_done() const override { return state_.work_done; }
  std::vector<float> take_output() override {
    if (!done_) throw InternalError("cpu forward task: output taken before the last step");
    return std::move(output_);
  }

 private:
  ForwardPass& pass_;
  ForwardPass::TaskState state_;
  std::vector<float> output_;  // (n_seq, n_embd)
  bool done_ = false;
};

ForwardPass::ForwardPass(const Model& model, const CpuWeights& weights, ThreadPool& pool, int64_t chunk_tokens)
    : model_(model),
      weights_(weights),
      pool_(pool),
      level_(weights.level()),
      chunk_tokens_(std::max<int64_t>(1, chunk_tokens)),
      cost_(model.config),
      rope_(model.config.head_dim, model.config.rope_theta) {}

ForwardPass::~ForwardPass() = default;

int64_t ForwardPass::steps_per_task() const { return std::max<int64_t>(1, model_.config.n_layer); }

int64_t ForwardPass::activation_bytes(int64_t n_tokens) const {
  const Qwen3Config& c = model_.config;
  int64_t chunk = std::min(n_tokens, chunk_tokens_);
  int64_t per_batch = n_tokens * (c.n_embd + 2 * c.kv_dim());                                // h, k, v
  int64_t per_chunk = chunk * (2 * c.n_embd + 2 * c.q_dim() + 2 * c.n_ff + 2 * c.kv_dim());  // x..up, kc, vc
  return static_cast<int64_t>(sizeof(float)) * (per_batch + per_chunk);
}

std::unique_ptr<ForwardTask> ForwardPass::start(PackedBatch batch, OutputHead head,
                                                std::shared_ptr<CpuPrefixEntry> capture_into) {
  if (head == OutputHead::kRankLogits && model_.rank_head.yes.empty()) {
    throw InternalError("cpu forward pass: rank logits asked of a model without a rank head");
  }
  if (capture_into && (batch.n_seq() != 1 || batch.n_kv_rows() != capture_into->n_tokens())) {
    throw InternalError("cpu forward pass: a capture needs one sequence of the entry's length");
  }
  return std::make_unique<CpuForwardTask>(*this, std::move(batch), head, std::move(capture_into));
}

std::vector<float> ForwardPass::run(PackedBatch batch) {
  std::unique_ptr<ForwardTask> task = start(std::move(batch));
  while (!task->step()) {
  }
  return task->take_output();
}

std::vector<float> ForwardPass::run(const std::vector<std::span<const int32_t>>& seqs,
                                    const std::vector<PrefixMatch>& past) {
  return run(PackedBatch::pack(seqs, past));
}

std::shared_ptr<CpuPrefixEntry> ForwardPass::capture(std::span<const int32_t> ids, const PrefixMatch& past) {
  const Qwen3Config& c = model_.config;
  auto entry = std::make_shared<CpuPrefixEntry>(std::vector<int32_t>(ids.begin(), ids.end()), c.n_layer, c.kv_dim());
  std::unique_ptr<ForwardTask> task = start(PackedBatch::pack({ids}, {past}), OutputHead::kLastTokenPooled, entry);
  while (!task->step()) {
  }
  return entry;
}

void ForwardPass::reserve_scratch(int64_t chunk) {
  const Qwen3Config& c = model_.config;
  auto grow = [](std::vector<float>& v, int64_t n) {
    if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
  };
  grow(x_, chunk * c.n_embd);
  grow(tmp_, chunk * c.n_embd);
  grow(q_, chunk * c.q_dim());
  grow(att_, chunk * c.q_dim());
  grow(gate_, chunk * c.n_ff);
  grow(up_, chunk * c.n_ff);
  grow(kc_, chunk * c.kv_dim());
  grow(vc_, chunk * c.kv_dim());
}

void ForwardPass::begin(TaskState& t) {
  const Batch& b = t.batch;
  const int64_t E = model_.config.n_embd, KVD = model_.config.kv_dim();
  t.h.resize(static_cast<size_t>(b.n_tokens() * E));
  t.k.resize(static_cast<size_t>(b.n_kv_rows() * KVD));
  t.v.resize(static_cast<size_t>(b.n_kv_rows() * KVD));
  const WeightMatrix& emb = model_.token_embd;
  float* h = t.h.data();
  pool_.parallel_for(b.n_tokens(), [&](int64_t t0, int64_t t1, int) {
    for (int64_t i = t0; i < t1; ++i) dequantize_row_ref(emb.type, emb.row(b.ids[i]), h + i * E, E);
  });
}

void ForwardPass::qk_norm_rope(int64_t layer, TaskState& t, int64_t c0, int64_t n) {
  const LayerWeights& L = model_.layers[layer];
  const Qwen3Config& c = model_.config;
  const Batch& b = t.batch;
  const int64_t HD = c.head_dim, QD = c.q_dim(), KVD = c.kv_dim();
  pool_.parallel_for(n, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      int64_t pos = b.pos[c0 + i];
      float* q = &q_[i * QD];
      const float* k_new = &kc_[i * KVD];
      float* k = &t.k[b.kv_row[c0 + i] * KVD];
      for (int64_t hh = 0; hh < c.n_head; ++hh)
        rmsnorm(q + hh * HD, L.q_norm.data(), q + hh * HD, HD, c.rms_eps, level_);
      for (int64_t hh = 0; hh < c.n_head_kv; ++hh)
        rmsnorm(k_new + hh * HD, L.k_norm.data(), k + hh * HD, HD, c.rms_eps, level_);
      rope_.apply_heads(q, c.n_head, pos);
      rope_.apply_heads(k, c.n_head_kv, pos);
      std::memcpy(&t.v[b.kv_row[c0 + i] * KVD], &vc_[i * KVD], sizeof(float) * KVD);
    }
  });
}

void ForwardPass::attention_chunk(const TaskState& t, int64_t c0, int64_t n) {
  const Qwen3Config& c = model_.config;
  const Batch& b = t.batch;
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
    for (int64_t i = 0; i < qb - qa; i += kAttentionQueryTile) {
      for (int64_t hh = 0; hh < c.n_head; ++hh) {
        items.push_back({b.kv_start[s], b.pos[qa], qa, qb, i, std::min(i + kAttentionQueryTile, qb - qa), hh});
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
      const float* k = &t.k[it.kv_begin * KVD];
      const float* v = &t.v[it.kv_begin * KVD];
      int64_t n_q = it.q_abs_end - it.q_abs_begin;
      attention_tiled(shape, q, n_q, it.q_pos0, k, v, it.q_pos0 + n_q, out, it.q_begin, it.q_end, it.head, it.head + 1,
                      level_);
    }
  });
}

void ForwardPass::copy_past(int64_t layer, TaskState& t) {
  const int64_t KVD = model_.config.kv_dim();
  const Batch& b = t.batch;
  pool_.parallel_for(b.n_seq(), [&](int64_t s0, int64_t s1, int) {
    for (int64_t s = s0; s < s1; ++s) {
      if (!b.past[s]) continue;
      const auto n = static_cast<size_t>(b.n_past[s] * KVD);
      std::memcpy(&t.k[b.kv_start[s] * KVD], b.past[s]->k(layer), sizeof(float) * n);
      std::memcpy(&t.v[b.kv_start[s] * KVD], b.past[s]->v(layer), sizeof(float) * n);
    }
  });
}

int64_t ForwardPass::next_chunk(const TaskState& t) const {
  const Batch& b = t.batch;
  const int64_t c0 = t.next_row, T = b.n_tokens();
  const int64_t most = std::min(chunk_tokens_, T - c0);
  if (t.step_work <= 0) return most;
  // Rows until the step's work is reached; at least a few rows, so weights are still read for a useful block.
  // A token-equivalent is a token through every layer; a step is one layer.
  constexpr int64_t kMinRows = 16;
  const double layer_share = 1.0 / static_cast<double>(std::max<int64_t>(1, model_.config.n_layer));
  double work = 0;
  int64_t n = 0;
  while (n < most && (n < kMinRows || work < t.step_work)) work += cost_.token(b.pos[c0 + n++]) * layer_share;
  return n;
}

void ForwardPass::run_step(int64_t layer, TaskState& t) {
  const Batch& b = t.batch;
  const int64_t T = b.n_tokens();
  const double layer_share = 1.0 / static_cast<double>(model_.config.n_layer);
  if (t.next_row == 0) {
    // Rotary cos/sin once per position instead of per head and layer (at most n_ctx x head_dim floats).
    int64_t longest = 0;
    for (int64_t s = 0; s < b.n_seq(); ++s) longest = std::max(longest, b.kv_start[s + 1] - b.kv_start[s]);
    rope_.reserve(longest);
    copy_past(layer, t);
  }
  reserve_scratch(std::min(T, chunk_tokens_));
  // A whole layer per step, or the chunks that fit the step's work. Chunks run in order, so when chunk [c0, c0+n)
  // attends, the keys/values of every earlier position of its sequences are already in t.k/t.v (computed by an
  // earlier chunk, possibly in an earlier step, or copied from the prefix cache).
  do {
    const int64_t n = next_chunk(t);
    run_chunk(layer, t, t.next_row, n);
    for (int64_t i = t.next_row; i < t.next_row + n; ++i) t.work_done += cost_.token(b.pos[i]) * layer_share;
    t.next_row += n;
  } while (t.step_work <= 0 && t.next_row < T);
  if (t.next_row == T && t.capture_into) {  // one sequence: its rows are k/v [0, n)
    const auto rows = static_cast<size_t>(t.capture_into->n_tokens() * model_.config.kv_dim());
    std::memcpy(t.capture_into->k(layer), t.k.data(), sizeof(float) * rows);
    std::memcpy(t.capture_into->v(layer), t.v.data(), sizeof(float) * rows);
  }
}

void ForwardPass::run_chunk(int64_t layer, TaskState& t, int64_t c0, int64_t n) {
  const LayerWeights& L = model_.layers[layer];
  const CpuLayerMatrices& W = weights_.layer(layer);
  const Qwen3Config& c = model_.config;
  const int64_t E = c.n_embd, FF = c.n_ff;
  const SimdLevel level = level_;
  auto add_rows = [&](float* dst, const float* src, int64_t n_rows) {
    pool_.parallel_for(n_rows, [&](int64_t r0, int64_t r1, int) {
      for (int64_t i = r0 * E; i < r1 * E; ++i) dst[i] += src[i];
    });
  };
  auto norm_rows = [&](const float* src, const std::vector<float>& w, float* dst, int64_t n_rows) {
    pool_.parallel_for(n_rows, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) rmsnorm(src + r * E, w.data(), dst + r * E, E, c.rms_eps, level);
    });
  };
  float* hc = t.h.data() + c0 * E;
  norm_rows(hc, L.attn_norm, x_.data(), n);
  matmul(W.wq, x_.data(), n, q_.data(), pool_, level);
  matmul(W.wk, x_.data(), n, kc_.data(), pool_, level);
  matmul(W.wv, x_.data(), n, vc_.data(), pool_, level);
  qk_norm_rope(layer, t, c0, n);
  attention_chunk(t, c0, n);
  matmul(W.wo, att_.data(), n, tmp_.data(), pool_, level);
  add_rows(hc, tmp_.data(), n);

  norm_rows(hc, L.ffn_norm, x_.data(), n);
  matmul(W.w_gate, x_.data(), n, gate_.data(), pool_, level);
  matmul(W.w_up, x_.data(), n, up_.data(), pool_, level);
  pool_.parallel_for(n, [&](int64_t r0, int64_t r1, int) {
    silu_mul(&gate_[r0 * FF], &up_[r0 * FF], &gate_[r0 * FF], (r1 - r0) * FF, level);
  });
  matmul(W.w_down, gate_.data(), n, tmp_.data(), pool_, level);
  add_rows(hc, tmp_.data(), n);
}

std::vector<float> ForwardPass::pool_outputs(const TaskState& t) {
  const Qwen3Config& c = model_.config;
  const Batch& b = t.batch;
  const int64_t E = c.n_embd;
  std::vector<float> pooled(static_cast<size_t>(b.n_seq() * E));  // (n_seq, E)
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    rmsnorm(&t.h[(b.seq_start[s + 1] - 1) * E], model_.output_norm.data(), &pooled[s * E], E, c.rms_eps, level_);
  }
  if (t.head == OutputHead::kLastTokenPooled) return pooled;
  // A reranker reads two rows of its LM head at the last position, never the whole vocabulary projection. Summed
  // in double: the score is a difference of two such sums, and it is all a request gets from the whole pass.
  const RankHead& head = model_.rank_head;
  std::vector<float> logits(static_cast<size_t>(b.n_seq() * 2));  // (n_seq, [yes, no])
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    double yes = 0, no = 0;
    for (int64_t i = 0; i < E; ++i) {
      yes += static_cast<double>(pooled[s * E + i]) * head.yes[i];
      no += static_cast<double>(pooled[s * E + i]) * head.no[i];
    }
    logits[s * 2] = static_cast<float>(yes);
    logits[s * 2 + 1] = static_cast<float>(no);
  }
  return logits;
}

}  // namespace qembed
