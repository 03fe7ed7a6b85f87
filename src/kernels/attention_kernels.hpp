#pragma once
// Internal: per-ISA inner loops of attention_tiled (attention.cpp dispatches; attention_avx2/avx512.cpp implement).
#include <cstdint>

namespace qembed::detail {

//! Keys per online-softmax tile of the one-query-at-a-time kernels: the scores of one tile live on the stack.
//! (Those kernels now serve only head_dim > kAttentionBlockMaxHeadDim, the scalar level and the benchmark's
//! pre-blocking comparison.)
constexpr int64_t kAttentionKeyTile = 64;

//! out (hd) = softmax(scale * q . k_j) weighted sum of v_j over keys j in [0, n_keys), with an online softmax over
//! tiles of kAttentionKeyTile keys. k, v: key/value j at k + j * kv_stride. n_keys >= 1.
using AttendRowFn = void (*)(const float* q, const float* k, const float* v, int64_t kv_stride, int64_t n_keys,
                             int64_t hd, float scale, float* out);

void attend_row_avx2(const float* q, const float* k, const float* v, int64_t kv_stride, int64_t n_keys, int64_t hd,
                     float scale, float* out);
void attend_row_avx512(const float* q, const float* k, const float* v, int64_t kv_stride, int64_t n_keys,
                       int64_t hd, float scale, float* out);

//! Queries per block of the blocked kernels (attend_block_*): one block shares every key/value tile it reads.
constexpr int64_t kAttentionQueryBlock = 32;
//! Largest head_dim the blocked kernels take (their scratch is sized for it); larger ones use the row kernels.
constexpr int64_t kAttentionBlockMaxHeadDim = 256;

//! A block of n_q <= kAttentionQueryBlock consecutive queries of one head, causal: query r (at q + r * q_stride,
//! output at out + r * out_stride) sees keys [0, pos0 + r] (key j at k/v + j * kv_stride).
struct AttendBlock {
  const float* q;
  int64_t q_stride;
  const float* k;
  const float* v;
  int64_t kv_stride;
  int64_t n_q;
  int64_t pos0;
  int64_t hd;  // <= kAttentionBlockMaxHeadDim
  float scale;
  float* out;
  int64_t out_stride;
};
using AttendBlockFn = void (*)(const AttendBlock& b);

//! AVX-512: 16 queries per zmm, 32-key tiles. AVX2: 8 queries per ymm (1, 2 or 4 lane groups by n_q), 32-key tiles.
void attend_block_avx512(const AttendBlock& b);
void attend_block_avx2(const AttendBlock& b);

//! Benchmarks only: false makes attention_tiled use the one-query-at-a-time kernels (the pre-blocking version).
void set_attention_blocked(bool on);

}  // namespace qembed::detail
