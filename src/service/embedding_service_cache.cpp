// EmbeddingService's side of the embedding cache: look up a request's sequences before they are queued (local
// level, then one Redis MGET for the local misses), finish the hits with the same finalize_embedding the worker
// applies, queue only the misses, and merge both in input order; and the worker's insert of what it computed.
#include <optional>
#include <vector>

#include "common/log.hpp"
#include "service/batcher.hpp"
#include "service/embedding_cache.hpp"
#include "service/embedding_service.hpp"

namespace qembed::service {

namespace {

//! A request answered in part by the cache: the finished vectors of its hits, waiting for its misses.
struct PartialResult {
  EmbedResult result;          // every input's n_tokens and total_tokens; vectors of hits filled in
  std::vector<size_t> misses;  // input positions computed by the batcher, in its order
  EmbedDone done;
};

}  // namespace

void EmbeddingService::remember_pooled(std::span<const int32_t> ids, std::span<const float> pooled) {
  const std::string key = CacheKey{info_.fingerprint, info_.backend.numeric_path, {ids.begin(), ids.end()}}.bytes();
  if (cache_) cache_->put(key, pooled);
  if (redis_) redis_->put(key, pooled);
}

Admission EmbeddingService::submit_cached(EncodedRequest request, EmbedDone done,
                                          std::shared_ptr<std::atomic<bool>> cancelled) {
  const size_t n = request.seqs.size();
  auto partial = std::make_shared<PartialResult>();
  EmbedResult& result = partial->result;
  result.vectors.resize(n);
  result.n_tokens.reserve(n);
  for (const auto& s : request.seqs) {
    result.n_tokens.push_back(static_cast<int64_t>(s.size()));
    result.total_tokens += static_cast<int64_t>(s.size());
  }
  std::vector<std::string> keys(n);
  std::vector<std::optional<std::vector<float>>> pooled(n);
  for (size_t i = 0; i < n; ++i) keys[i] = cache_key(request.seqs[i]).bytes();
  std::vector<size_t> local_misses;
  for (size_t i = 0; i < n; ++i) {
    if (cache_) pooled[i] = cache_->get(keys[i]);
    if (!pooled[i]) local_misses.push_back(i);
  }
  if (cache_) {
    stats_->cache_hits_local_total += static_cast<int64_t>(n - local_misses.size());
    stats_->cache_misses_local_total += static_cast<int64_t>(local_misses.size());
  }
  if (redis_ && !local_misses.empty()) {
    std::vector<std::string> wanted;
    wanted.reserve(local_misses.size());
    for (size_t i : local_misses) wanted.push_back(keys[i]);
    std::vector<std::optional<std::vector<float>>> found = redis_->get(wanted);
    int64_t hits = 0;
    for (size_t k = 0; k < local_misses.size(); ++k) {
      if (!found[k]) continue;
      ++hits;
      if (cache_) cache_->put(keys[local_misses[k]], *found[k]);
      pooled[local_misses[k]] = std::move(found[k]);
    }
    stats_->cache_hits_redis_total += hits;
    stats_->cache_misses_redis_total += static_cast<int64_t>(local_misses.size()) - hits;
  }
  // Hits are finished exactly as the worker finishes a computed vector, so they give the same bits.
  for (size_t i = 0; i < n; ++i) {
    if (pooled[i]) {
      try {
        const int64_t index = request.first_index + static_cast<int64_t>(i);
        result.vectors[i] = finalize_embedding(*pooled[i], request.dimensions, request.normalize, index);
        continue;
      } catch (const Error&) {
        // A stored vector finalize refuses (it never should: only finite vectors are stored): computed instead.
      }
    }
    partial->misses.push_back(i);
  }
  if (partial->misses.empty()) {
    // Every input was cached: answered now, on this thread, without the worker.
    try {
      done(std::move(result), nullptr);
    } catch (...) {
      log::error("an embedding completion callback threw");
    }
    return Admission::kQueued;
  }
  EncodedRequest misses;
  misses.prompt_ids = std::move(request.prompt_ids);
  misses.dimensions = request.dimensions;
  misses.normalize = request.normalize;
  misses.first_index = request.first_index;
  misses.priority = request.priority;
  misses.seqs.reserve(partial->misses.size());
  for (size_t i : partial->misses) {
    misses.seqs.push_back(std::move(request.seqs[i]));
    misses.input_indices.push_back(request.first_index + static_cast<int64_t>(i));
  }
  if (partial->misses.size() == n) {
    misses.input_indices.clear();  // nothing was cached: the plain request
    return batcher_->submit(std::move(misses), std::move(done), std::move(cancelled));
  }
  partial->done = std::move(done);
  auto merge = [partial](EmbedResult computed, const Error* error) {
    EmbedDone finish = std::move(partial->done);
    if (error) return finish(std::move(computed), error);
    EmbedResult& r = partial->result;
    for (size_t k = 0; k < partial->misses.size(); ++k) r.vectors[partial->misses[k]] = std::move(computed.vectors[k]);
    r.queue_ms = computed.queue_ms;
    r.compute_ms = computed.compute_ms;
    finish(std::move(r), nullptr);
  };
  return batcher_->submit(std::move(misses), std::move(merge), std::move(cancelled));
}

}  // namespace qembed::service
