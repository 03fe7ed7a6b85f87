#include "kb/store/vector_index.hpp"

// hnswlib 0.6.2 prefetches the entry one past the end of a neighbour list (a 4-byte read inside the allocator's
// slack, harmless but reported by AddressSanitizer): sanitizer builds use its plain loops instead.
#if defined(__SANITIZE_ADDRESS__) && !defined(NO_MANUAL_VECTORIZATION)
#define NO_MANUAL_VECTORIZATION
#endif
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>

#include "common/error.hpp"
#include "kb/store/vector_codec.hpp"
#include "kb/store/vector_dot.hpp"

namespace qembed::kb {
namespace {

//! hnswlib's own InnerProductSpace is compiled here for SSE only (its AVX paths need -mavx at build time): this
//! space uses the best dot_f32 kernel the CPU runs (vector_dot.hpp). distance = 1 - a·b.
class F32InnerProductSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit F32InnerProductSpace(size_t dims) : dims_(dims) {}
  size_t get_data_size() override { return dims_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override {
    switch (dot_level()) {
      case DotLevel::kAvx512:
        return &distance<dot_detail::dot_f32_avx512>;
      case DotLevel::kAvx2:
        return &distance<dot_detail::dot_f32_avx2>;
      case DotLevel::kScalar:
        break;
    }
    return &distance<dot_detail::dot_f32_scalar>;
  }
  void* get_dist_func_param() override { return &dims_; }

 private:
  // One function per kernel (a template argument, not a pointer read per call): hnswlib calls this in its
  // innermost loop.
  template <DotF32Fn Dot>
  static float distance(const void* a, const void* b, const void* param) {
    return 1.0f - Dot(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const size_t*>(param));
  }
  size_t dims_;
};

//! hnswlib space over int8 rows stored as (dims codes, f32 scale): distance = 1 - s_a·s_b·Σ a·b.
class Int8InnerProductSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit Int8InnerProductSpace(size_t dims) : dims_(dims) {}
  size_t get_data_size() override { return dims_ + sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override {
    switch (dot_level()) {
      case DotLevel::kAvx512:
        return &distance<dot_detail::dot_int8_avx512>;
      case DotLevel::kAvx2:
        return &distance<dot_detail::dot_int8_avx2>;
      case DotLevel::kScalar:
        break;
    }
    return &distance<dot_detail::dot_int8_scalar>;
  }
  void* get_dist_func_param() override { return &dims_; }

 private:
  template <DotInt8Fn Dot>
  static float distance(const void* a, const void* b, const void* param) {
    const size_t dims = *static_cast<const size_t*>(param);
    const auto* qa = static_cast<const int8_t*>(a);
    const auto* qb = static_cast<const int8_t*>(b);
    float sa, sb;
    std::memcpy(&sa, qa + dims, sizeof(float));
    std::memcpy(&sb, qb + dims, sizeof(float));
    return 1.0f - sa * sb * static_cast<float>(Dot(qa, qb, dims));
  }
  size_t dims_;
};

// Header of a saved graph (`<path>.meta`), native byte order.
struct IndexHeader {
  char magic[8] = {'Q', 'K', 'B', 'H', 'N', 'S', 'W', '1'};
  uint32_t dims = 0;
  uint32_t type = 0;
  int64_t seq = 0;
  uint64_t n_live = 0;
  uint64_t graph_bytes = 0;
};

using MinHeap = std::priority_queue<std::pair<float, int64_t>, std::vector<std::pair<float, int64_t>>,
                                    std::greater<std::pair<float, int64_t>>>;

void push_top_k(MinHeap& heap, size_t k, float score, int64_t label) {
  if (heap.size() < k) {
    heap.emplace(score, label);
  } else if (score > heap.top().first) {
    heap.pop();
    heap.emplace(score, label);
  }
}

std::vector<VectorHit> drain_best_first(MinHeap& heap) {
  std::vector<VectorHit> out(heap.size());
  for (size_t i = out.size(); i-- > 0;) {
    out[i] = VectorHit{heap.top().second, heap.top().first};
    heap.pop();
  }
  return out;
}

void write_file_atomically(const std::string& path, const void* data, size_t bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
    if (!out) throw IoError("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw IoError("cannot rename " + tmp + " to " + path + ": " + ec.message());
}

}  // namespace

struct VectorIndex::Hnsw {
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;

  size_t live() const { return graph->cur_element_count - graph->num_deleted_; }
  //! The live internal id of a label, or nullopt.
  std::optional<hnswlib::tableint> find(int64_t label) const {
    auto it = graph->label_lookup_.find(static_cast<hnswlib::labeltype>(label));
    if (it == graph->label_lookup_.end() || graph->isMarkedDeleted(it->second)) return std::nullopt;
    return it->second;
  }
};

//! A query prepared for scoring points: f32 values, and for int8 indexes its own int8 codes and scale.
struct VectorIndex::PreparedQuery {
  const float* f32 = nullptr;
  std::vector<int8_t> codes;
  float scale = 0;
};

VectorIndex::VectorIndex(size_t dims, VectorType type, const VectorIndexOptions& options)
    : dims_(dims),
      type_(type),
      point_bytes_(type == VectorType::kInt8 ? dims + sizeof(float) : dims * sizeof(float)),
      options_(options) {
  if (dims == 0) throw Error("vector index: dimensions must be positive");
}

VectorIndex::~VectorIndex() = default;

size_t VectorIndex::size_locked() const { return hnsw_ ? hnsw_->live() : labels_.size(); }

size_t VectorIndex::size() const {
  std::shared_lock lock(mutex_);
  return size_locked();
}

bool VectorIndex::has_hnsw() const {
  std::shared_lock lock(mutex_);
  return hnsw_ != nullptr;
}

int64_t VectorIndex::seq() const {
  std::shared_lock lock(mutex_);
  return seq_;
}

void VectorIndex::set_seq(int64_t seq) {
  std::unique_lock lock(mutex_);
  seq_ = seq;
}

std::vector<int64_t> VectorIndex::ids() const {
  std::shared_lock lock(mutex_);
  std::vector<int64_t> out;
  if (hnsw_) {
    out.reserve(hnsw_->live());
    for (const auto& [label, internal] : hnsw_->graph->label_lookup_) {
      if (!hnsw_->graph->isMarkedDeleted(internal)) out.push_back(static_cast<int64_t>(label));
    }
  } else {
    out = labels_;
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool VectorIndex::contains_locked(int64_t chunk_id) const {
  return hnsw_ ? hnsw_->find(chunk_id).has_value() : slot_of_.count(chunk_id) != 0;
}

bool VectorIndex::contains(int64_t chunk_id) const {
  std::shared_lock lock(mutex_);
  return contains_locked(chunk_id);
}

size_t VectorIndex::memory_bytes() const {
  constexpr size_t kMapNodeBytes = 48;  // one unordered_map entry: node (next, key, value, hash) + its bucket
  std::shared_lock lock(mutex_);
  if (!hnsw_) {
    return points_.capacity() + labels_.capacity() * sizeof(int64_t) + slot_of_.size() * kMapNodeBytes;
  }
  const auto& g = *hnsw_->graph;
  size_t upper = 0;  // links of levels >= 1, allocated per element
  for (size_t i = 0; i < g.cur_element_count; ++i)
    upper += static_cast<size_t>(g.element_levels_[i]) * g.size_links_per_element_;
  return g.max_elements_ * (g.size_data_per_element_ + sizeof(int) + sizeof(void*) + sizeof(std::mutex)) + upper +
         g.label_lookup_.size() * kMapNodeBytes;
}

void VectorIndex::add(const StoredVector& vector) {
  if (vector.data.size() != encoded_vector_bytes(type_, dims_)) {
    throw InternalError("vector index: stored vector of chunk " + std::to_string(vector.chunk_id) + " has " +
                        std::to_string(vector.data.size()) + " bytes, expected " +
                        std::to_string(encoded_vector_bytes(type_, dims_)));
  }
  std::vector<uint8_t> point(point_bytes_);
  if (type_ == VectorType::kInt8) {
    std::memcpy(point.data(), vector.data.data(), dims_);
    std::memcpy(point.data() + dims_, &vector.scale, sizeof(float));
  } else {
    decode_vector(type_, vector.data, vector.scale, {reinterpret_cast<float*>(point.data()), dims_});
  }
  std::unique_lock lock(mutex_);
  add_point_locked(vector.chunk_id, point.data());
}

void VectorIndex::add_f32(int64_t chunk_id, std::span<const float> values) {
  if (values.size() != dims_) throw Error("vector index: vector has " + std::to_string(values.size()) + " values");
  std::vector<uint8_t> point(point_bytes_);
  if (type_ == VectorType::kInt8) {
    const float scale = quantize_int8(values, {reinterpret_cast<int8_t*>(point.data()), dims_});
    std::memcpy(point.data() + dims_, &scale, sizeof(float));
  } else if (type_ == VectorType::kF16) {  // round through f16 so the index holds exactly what the store would
    decode_vector(VectorType::kF16, encode_f16(values), 1.0f, {reinterpret_cast<float*>(point.data()), dims_});
  } else {
    std::memcpy(point.data(), values.data(), point_bytes_);
  }
  std::unique_lock lock(mutex_);
  add_point_locked(chunk_id, point.data());
}

void VectorIndex::add_point_locked(int64_t chunk_id, const uint8_t* point) {
  if (contains_locked(chunk_id)) {
    throw InternalError("vector index: chunk " + std::to_string(chunk_id) + " added twice");
  }
  if (hnsw_) {
    hnsw_add_locked(chunk_id, point);
    return;
  }
  slot_of_.emplace(chunk_id, labels_.size());
  labels_.push_back(chunk_id);
  points_.insert(points_.end(), point, point + point_bytes_);
}

void VectorIndex::remove(int64_t chunk_id) {
  std::unique_lock lock(mutex_);
  if (hnsw_) {
    if (hnsw_->find(chunk_id)) hnsw_->graph->markDelete(static_cast<hnswlib::labeltype>(chunk_id));
    return;
  }
  auto it = slot_of_.find(chunk_id);
  if (it == slot_of_.end()) return;
  const size_t slot = it->second, last = labels_.size() - 1;
  if (slot != last) {  // move the last point into the hole
    labels_[slot] = labels_[last];
    slot_of_[labels_[slot]] = slot;
    std::memcpy(points_.data() + slot * point_bytes_, points_.data() + last * point_bytes_, point_bytes_);
  }
  labels_.pop_back();
  slot_of_.erase(it);
  points_.resize(labels_.size() * point_bytes_);
}

void VectorIndex::hnsw_add_locked(int64_t chunk_id, const uint8_t* point) {
  auto& graph = *hnsw_->graph;
  if (graph.cur_element_count >= graph.max_elements_) {
    graph.resizeIndex(std::max<size_t>(1024, graph.max_elements_ * 2));
  }
  graph.addPoint(point, static_cast<hnswlib::labeltype>(chunk_id));
}

std::unique_ptr<VectorIndex::Hnsw> VectorIndex::new_hnsw(size_t capacity) const {
  auto hnsw = std::make_unique<Hnsw>();
  if (type_ == VectorType::kInt8) {
    hnsw->space = std::make_unique<Int8InnerProductSpace>(dims_);
  } else {
    hnsw->space = std::make_unique<F32InnerProductSpace>(dims_);
  }
  if (capacity > 0) {
    hnsw->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(hnsw->space.get(), capacity, options_.hnsw_m,
                                                                    options_.hnsw_ef_construction, options_.seed);
  }
  return hnsw;
}

void VectorIndex::build_hnsw_locked() {
  // The points to insert: the flat rows, or the live points of the graph being rebuilt.
  std::vector<int64_t> labels;
  std::vector<uint8_t> points;
  if (hnsw_) {
    const auto& old = *hnsw_->graph;
    labels.reserve(hnsw_->live());
    points.reserve(hnsw_->live() * point_bytes_);
    for (hnswlib::tableint i = 0; i < old.cur_element_count; ++i) {
      if (old.isMarkedDeleted(i)) continue;
      labels.push_back(static_cast<int64_t>(old.getExternalLabel(i)));
      const char* data = old.getDataByInternalId(i);
      points.insert(points.end(), data, data + point_bytes_);
    }
    hnsw_.reset();
  } else {
    labels.swap(labels_);
    points.swap(points_);
    slot_of_.clear();
  }
  hnsw_ = new_hnsw(std::max<size_t>(1024, labels.size() + labels.size() / 4));
  // hnswlib's addPoint may run concurrently (per-node locks; the capacity above leaves no resize to race with).
  // The graph then depends on thread timing, so build_threads 1 is the way to the same graph from the same
  // inputs. The one unsynchronised state is hnswlib's level generator (a race on it can only repeat a draw).
  // Points are handed out in small batches so the threads stay busy to the end.
  size_t threads = options_.build_threads ? options_.build_threads : std::thread::hardware_concurrency();
  threads = std::clamp<size_t>(threads, 1, std::max<size_t>(1, labels.size() / 1024));
  auto& graph = *hnsw_->graph;
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto insert = [&] {
    constexpr size_t kBatch = 64;
    try {
      for (size_t begin; (begin = next.fetch_add(kBatch)) < labels.size();) {
        const size_t end = std::min(labels.size(), begin + kBatch);
        for (size_t i = begin; i < end; ++i) {
          graph.addPoint(points.data() + i * point_bytes_, static_cast<hnswlib::labeltype>(labels[i]));
        }
      }
    } catch (...) {  // allocation failure inside hnswlib: stop every thread, rethrow on the caller's
      next = labels.size();
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(insert);
  insert();
  for (auto& w : workers) w.join();
  if (failure) std::rethrow_exception(failure);
}

void VectorIndex::build_hnsw() {
  std::unique_lock lock(mutex_);
  build_hnsw_locked();
}

bool VectorIndex::maintain() {
  std::unique_lock lock(mutex_);
  const bool too_deleted = hnsw_ && hnsw_->graph->num_deleted_ * 2 > hnsw_->graph->cur_element_count;
  if ((!hnsw_ && labels_.size() >= options_.hnsw_threshold) || too_deleted) {
    build_hnsw_locked();
    return true;
  }
  return false;
}

float VectorIndex::score(const PreparedQuery& query, const uint8_t* point) const {
  if (type_ == VectorType::kInt8) {
    float scale;
    std::memcpy(&scale, point + dims_, sizeof(float));
    return query.scale * scale *
           static_cast<float>(dot_int8(query.codes.data(), reinterpret_cast<const int8_t*>(point), dims_));
  }
  return dot_f32(query.f32, reinterpret_cast<const float*>(point), dims_);
}

std::vector<VectorHit> VectorIndex::exact_locked(std::span<const float> query, size_t k,
                                                 const std::vector<int64_t>* allowed, int n_threads) const {
  PreparedQuery prepared;
  prepared.f32 = query.data();
  if (type_ == VectorType::kInt8) {
    prepared.codes.resize(dims_);
    prepared.scale = quantize_int8(query, prepared.codes);
  }
  // Entry i of the scan: a flat row, a graph element (skipped when deleted), or an allowed label's point.
  std::vector<std::pair<int64_t, const uint8_t*>> chosen;
  if (allowed) {
    chosen.reserve(allowed->size());
    for (int64_t id : *allowed) {
      if (hnsw_) {
        if (auto internal = hnsw_->find(id)) {
          chosen.emplace_back(id, reinterpret_cast<const uint8_t*>(hnsw_->graph->getDataByInternalId(*internal)));
        }
      } else if (auto it = slot_of_.find(id); it != slot_of_.end()) {
        chosen.emplace_back(id, points_.data() + it->second * point_bytes_);
      }
    }
  }
  const size_t n = allowed ? chosen.size() : (hnsw_ ? hnsw_->graph->cur_element_count : labels_.size());
  auto scan = [&](size_t begin, size_t end, MinHeap& heap) {
    for (size_t i = begin; i < end; ++i) {
      if (allowed) {
        push_top_k(heap, k, score(prepared, chosen[i].second), chosen[i].first);
      } else if (hnsw_) {
        const auto internal = static_cast<hnswlib::tableint>(i);
        if (hnsw_->graph->isMarkedDeleted(internal)) continue;
        const auto* point = reinterpret_cast<const uint8_t*>(hnsw_->graph->getDataByInternalId(internal));
        push_top_k(heap, k, score(prepared, point), static_cast<int64_t>(hnsw_->graph->getExternalLabel(internal)));
      } else {
        push_top_k(heap, k, score(prepared, points_.data() + i * point_bytes_), labels_[i]);
      }
    }
  };
  const size_t threads =
      std::clamp<size_t>(static_cast<size_t>(std::max(n_threads, 1)), 1, std::max<size_t>(1, n / 4096));
  std::vector<MinHeap> heaps(threads);
  if (threads == 1) {
    scan(0, n, heaps[0]);
  } else {
    std::vector<std::thread> workers;
    for (size_t t = 1; t < threads; ++t) {
      workers.emplace_back(scan, n * t / threads, n * (t + 1) / threads, std::ref(heaps[t]));
    }
    scan(0, n / threads, heaps[0]);
    for (auto& w : workers) w.join();
    for (size_t t = 1; t < threads; ++t) {
      while (!heaps[t].empty()) {
        push_top_k(heaps[0], k, heaps[t].top().first, heaps[t].top().second);
        heaps[t].pop();
      }
    }
  }
  return drain_best_first(heaps[0]);
}

std::vector<VectorHit> VectorIndex::hnsw_locked(std::span<const float> query, size_t k, size_t ef,
                                                const std::vector<int64_t>* allowed) const {
  std::vector<uint8_t> point;
  if (type_ == VectorType::kInt8) {
    point.resize(dims_ + sizeof(float));
    const float scale = quantize_int8(query, {reinterpret_cast<int8_t*>(point.data()), dims_});
    std::memcpy(point.data() + dims_, &scale, sizeof(float));
  } else {
    point.resize(dims_ * sizeof(float));
    std::memcpy(point.data(), query.data(), point.size());
  }
  // searchKnn's breadth is max(ef_, asked): asking for max(ef, k) results sets the breadth without touching the
  // shared ef_ (concurrent searches stay read-only); filters oversample by the inverse of their selectivity.
  size_t asked = std::max(ef, k);
  if (allowed && !allowed->empty()) {
    const size_t factor = std::min<size_t>(16, (size_locked() + allowed->size() - 1) / allowed->size());
    asked = std::max(asked, k * factor);
  }
  auto found = hnsw_->graph->searchKnn(point.data(), std::min(asked, size_locked()));
  MinHeap heap;
  while (!found.empty()) {
    const auto [distance, label] = found.top();
    found.pop();
    const auto id = static_cast<int64_t>(label);
    if (allowed && !std::binary_search(allowed->begin(), allowed->end(), id)) continue;
    push_top_k(heap, k, 1.0f - distance, id);
  }
  return drain_best_first(heap);
}

std::vector<VectorHit> VectorIndex::search(std::span<const float> query, const VectorSearchOptions& options,
                                           const RescoreFn* rescore) const {
  if (query.size() != dims_) {
    throw Error("vector search: query has " + std::to_string(query.size()) + " dimensions, the collection " +
                std::to_string(dims_));
  }
  if (options.k == 0) throw Error("vector search: k must be positive");
  for (float v : query) {
    if (!std::isfinite(v)) throw Error("vector search: the query has a non-finite value");
  }
  std::shared_lock lock(mutex_);
  const bool int8 = type_ == VectorType::kInt8;
  const size_t candidates =
      options.rescore_candidates ? options.rescore_candidates : std::max<size_t>(4 * options.k, 40);
  const size_t k = int8 ? std::max(options.k, candidates) : options.k;
  const size_t ef = options.ef ? options.ef : std::max<size_t>(128, 2 * k);
  const bool small_filter = options.allowed && options.allowed->size() < options_.hnsw_threshold;
  const bool approx = hnsw_ && options.mode != VectorSearchOptions::Mode::kExact && !small_filter;
  std::vector<VectorHit> hits;
  if (approx) {
    hits = hnsw_locked(query, k, ef, options.allowed);
    // A selective filter may leave too few graph hits: fall back to the exact scan of the allowed rows.
    if (options.allowed && hits.size() < std::min(k, options.allowed->size())) {
      hits = exact_locked(query, k, options.allowed, options.n_threads);
    }
  } else {
    hits = exact_locked(query, k, options.allowed, options.n_threads);
  }
  lock.unlock();
  if (int8 && rescore && *rescore && !hits.empty()) {
    std::vector<int64_t> ids(hits.size());
    for (size_t i = 0; i < hits.size(); ++i) ids[i] = hits[i].chunk_id;
    const std::vector<float> originals = (*rescore)(ids);
    if (originals.size() != ids.size() * dims_) throw InternalError("vector search: rescoring returned wrong rows");
    for (size_t i = 0; i < hits.size(); ++i) hits[i].score = dot_f32(query.data(), originals.data() + i * dims_, dims_);
    std::stable_sort(hits.begin(), hits.end(),
                     [](const VectorHit& a, const VectorHit& b) { return a.score > b.score; });
  }
  if (hits.size() > options.k) hits.resize(options.k);
  return hits;
}

void VectorIndex::save(const std::string& path) const {
  std::shared_lock lock(mutex_);
  if (!hnsw_) throw InternalError("vector index: no graph to save");
  const std::string tmp = path + ".tmp";
  hnsw_->graph->saveIndex(tmp);
  std::error_code ec;
  const auto graph_bytes = std::filesystem::file_size(tmp, ec);
  if (ec) throw IoError("cannot write vector index " + tmp + ": " + ec.message());
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw IoError("cannot rename " + tmp + " to " + path + ": " + ec.message());
  IndexHeader header;
  header.dims = static_cast<uint32_t>(dims_);
  header.type = static_cast<uint32_t>(type_);
  header.seq = seq_;
  header.n_live = hnsw_->graph->cur_element_count - hnsw_->graph->num_deleted_;
  header.graph_bytes = graph_bytes;
  write_file_atomically(path + ".meta", &header, sizeof(header));
}

int64_t VectorIndex::load(const std::string& path, size_t* reconciled) {
  if (reconciled) *reconciled = 0;
  IndexHeader header, expected;
  {
    std::ifstream in(path + ".meta", std::ios::binary);
    if (!in.read(reinterpret_cast<char*>(&header), sizeof(header))) return -1;
  }
  std::error_code ec;
  const auto graph_bytes = std::filesystem::file_size(path, ec);
  if (ec || std::memcmp(header.magic, expected.magic, sizeof(header.magic)) != 0 || header.dims != dims_ ||
      header.type != static_cast<uint32_t>(type_) || header.graph_bytes != graph_bytes) {
    return -1;
  }
  auto hnsw = new_hnsw(0);
  try {
    hnsw->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(hnsw->space.get(), path, false, 0);
  } catch (const std::exception&) {
    return -1;
  }
  auto& graph = *hnsw->graph;
  if (graph.size_data_per_element_ != graph.size_links_level0_ + graph.data_size_ + sizeof(hnswlib::labeltype)) {
    return -1;
  }
  // hnswlib 0.6.2's loading constructor leaves num_deleted_ uninitialised before counting: count again.
  graph.num_deleted_ = 0;
  for (size_t i = 0; i < graph.cur_element_count; ++i) graph.num_deleted_ += graph.isMarkedDeleted(i) ? 1 : 0;

  std::unique_lock lock(mutex_);
  if (hnsw_) throw InternalError("vector index: load() needs an index without a graph");
  size_t changed = 0;
  for (const auto& [label, internal] : graph.label_lookup_) {
    if (!graph.isMarkedDeleted(internal) && !slot_of_.count(static_cast<int64_t>(label))) {
      graph.markDelete(label);
      ++changed;
    }
  }
  hnsw_ = std::move(hnsw);
  for (size_t slot = 0; slot < labels_.size(); ++slot) {
    if (!hnsw_->find(labels_[slot])) {
      hnsw_add_locked(labels_[slot], points_.data() + slot * point_bytes_);
      ++changed;
    }
  }
  // The graph holds the points now: one copy in memory.
  std::vector<int64_t>().swap(labels_);
  std::vector<uint8_t>().swap(points_);
  std::unordered_map<int64_t, size_t>().swap(slot_of_);
  if (reconciled) *reconciled = changed;
  return header.seq;
}

}  // namespace qembed::kb
