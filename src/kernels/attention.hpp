#pragma once
// Causal grouped-query attention for one sequence, tiled with an online softmax so memory is O(tile), never T x T.
//   q:   (n_q, n_head, head_dim)     queries for positions [q_pos0, q_pos0 + n_q)
//   k,v: (n_kv, n_head_kv, head_dim) keys/values for positions [0, n_kv); n_kv >= q_pos0 + n_q
//   out: (n_q, n_head, head_dim)
// Query head h reads kv head h / (n_head / n_head_kv). Scale 1/sqrt(head_dim).
#include <cstdint>

#include "kernels/cpu_features.hpp"

namespace qembed {

struct AttentionShape {
  int64_t n_head;
  int64_t n_head_kv;
  int64_t head_dim;
};

//! Reference: full softmax per query in double precision.
void attention_ref(const AttentionShape& s, const float* q, int64_t n_q, int64_t q_pos0, const float* k,
                   const float* v, int64_t n_kv, float* out);
//! Tiled online-softmax version for queries [q_begin, q_end) x heads [h_begin, h_end) (so callers can split work
//! across threads); SIMD inside.
//! AVX-512 (head_dim <= 256): queries are processed in blocks of 32 of one head (detail::kAttentionQueryBlock) against
//! 32-key tiles; every block re-reads all its keys/values once. Best work items: query ranges that are multiples of
//! 32 (a block of <= 16 queries costs like 16, 17..31 like 32). Under causal masking an item's cost grows with its
//! position, so items should not be split into contiguous per-thread ranges ordered by position (the thread with the
//! last positions gets ~3/4 of the work with 2 threads); deal them round-robin or largest first.
//! AVX2: blocks of up to 32 queries, 8 per ymm (the row kernel only past head_dim 256); scalar: one query at a time.
//! `level` defaults to the process-wide one; a backend passes the level it fixed at construction.
void attention_tiled(const AttentionShape& s, const float* q, int64_t n_q, int64_t q_pos0, const float* k,
                     const float* v, int64_t n_kv, float* out, int64_t q_begin, int64_t q_end, int64_t h_begin,
                     int64_t h_end, SimdLevel level = simd_level());

}  // namespace qembed
