#pragma once
// Internal: per-ISA inner loop of attention_tiled (attention.cpp dispatches; attention_avx2/avx512.cpp implement).
#include <cstdint>

namespace qembed::detail {

//! Keys per online-softmax tile: the scores of one tile live on the stack.
constexpr int64_t kAttentionKeyTile = 64;

//! out (hd) = softmax(scale * q . k_j) weighted sum of v_j over keys j in [0, n_keys), with an online softmax over
//! tiles of kAttentionKeyTile keys. k, v: key/value j at k + j * kv_stride. n_keys >= 1.
using AttendRowFn = void (*)(const float* q, const float* k, const float* v, int64_t kv_stride, int64_t n_keys,
                             int64_t hd, float scale, float* out);

void attend_row_avx2(const float* q, const float* k, const float* v, int64_t kv_stride, int64_t n_keys, int64_t hd,
                     float scale, float* out);
void attend_row_avx512(const float* q, const float* k, const float* v, int64_t kv_stride, int64_t n_keys,
                       int64_t hd, float scale, float* out);

}  // namespace qembed::detail
