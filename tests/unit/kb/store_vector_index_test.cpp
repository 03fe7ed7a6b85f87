// The in-memory vector index: exact flat search is the reference; HNSW recall against it, int8 with rescoring,
// deletions and filters, the saved graph (reopened = what was saved; stale -> reconciled; unreadable -> rebuilt),
// refresh from another connection's commits, and the consistency check.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "common/error.hpp"
#include "kb/store/consistency.hpp"
#include "kb/store/index_file.hpp"
#include "kb/store/sqlite_store.hpp"
#include "kb/store/vector_codec.hpp"
#include "kb/store/vector_index.hpp"
#include "store_test_support.hpp"

namespace qembed::kb {
namespace {

using testing::add_document;
using testing::normalize;
using testing::TempDir;
using testing::test_settings;

//! n normalised vectors shaped like embeddings rather than like full-rank noise: points around `n_clusters` centres
//! in a 24-dimensional latent space, projected to `dims` by a fixed random matrix, plus a little isotropic noise.
//! (Full-rank Gaussian data in 64 dimensions is a much harder case than text embeddings: hnswlib needs ef ~256
//! there for the same recall.)
std::vector<float> clustered(size_t n, size_t dims, size_t n_clusters, uint32_t seed) {
  constexpr size_t kLatent = 24;
  std::mt19937 fixed(12345);  // the projection and the centres are shared by every call
  std::normal_distribution<float> gauss;
  std::vector<float> projection(kLatent * dims), centres(n_clusters * kLatent);
  for (auto& v : projection) v = gauss(fixed);
  for (auto& v : centres) v = gauss(fixed);
  std::mt19937 rng(seed);
  std::vector<float> out(n * dims), z(kLatent);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = rng() % n_clusters;
    for (size_t l = 0; l < kLatent; ++l) z[l] = centres[c * kLatent + l] + 0.8f * gauss(rng);
    for (size_t d = 0; d < dims; ++d) {
      float v = 0.5f * gauss(rng);
      for (size_t l = 0; l < kLatent; ++l) v += z[l] * projection[l * dims + d];
      out[i * dims + d] = v;
    }
    normalize(out.data() + i * dims, dims);
  }
  return out;
}

std::vector<int64_t> ids_of(const std::vector<VectorHit>& hits) {
  std::vector<int64_t> out;
  for (const auto& h : hits) out.push_back(h.chunk_id);
  return out;
}

double recall(const std::vector<VectorHit>& got, const std::vector<VectorHit>& truth) {
  std::set<int64_t> want;
  for (const auto& h : truth) want.insert(h.chunk_id);
  size_t found = 0;
  for (const auto& h : got) found += want.count(h.chunk_id);
  return truth.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(truth.size());
}

VectorSearchOptions exact(size_t k) {
  VectorSearchOptions o;
  o.k = k;
  o.mode = VectorSearchOptions::Mode::kExact;
  return o;
}

TEST(VectorCodec, F16RoundTripAndInt8Quantization) {
  for (float v : {0.0f, 1.0f, -2.5f, 0.333333f, 65504.0f, 6.1e-5f, 3.0e-7f}) {
    EXPECT_NEAR(f16_to_f32(f32_to_f16(v)), v, std::fabs(v) * 1e-3 + 6e-8) << v;
  }
  EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(1e6f))));
  const std::vector<float> x = {0.5f, -1.0f, 0.25f, 0.0f};
  std::vector<int8_t> q(4);
  const float scale = quantize_int8(x, q);
  EXPECT_FLOAT_EQ(scale, 1.0f / 127);
  EXPECT_EQ(q[1], -127);
  EXPECT_EQ(q[0], 64);  // 63.5 rounds to even
}

TEST(VectorIndex, ExactSearchIsTheBruteForceTopK) {
  const size_t dims = 16, n = 500;
  const auto rows = clustered(n, dims, 10, 1);
  VectorIndex index(dims, VectorType::kF32);
  for (size_t i = 0; i < n; ++i) index.add_f32(static_cast<int64_t>(i + 1), {rows.data() + i * dims, dims});
  const auto query = clustered(1, dims, 1, 2);
  std::vector<std::pair<float, int64_t>> all;
  for (size_t i = 0; i < n; ++i) all.emplace_back(dot_f32(query.data(), rows.data() + i * dims, dims), i + 1);
  std::sort(all.rbegin(), all.rend());
  const auto hits = index.search(query, exact(7));
  ASSERT_EQ(hits.size(), 7u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(hits[i].chunk_id, all[i].second);
  // Two threads give the same answer (n is small, so force a split with a larger index below).
  VectorIndex big(dims, VectorType::kF32);
  const auto many = clustered(20000, dims, 10, 3);
  for (size_t i = 0; i < 20000; ++i) big.add_f32(static_cast<int64_t>(i + 1), {many.data() + i * dims, dims});
  auto two = exact(10);
  two.n_threads = 2;
  EXPECT_EQ(ids_of(big.search(query, two)), ids_of(big.search(query, exact(10))));
  // Removing swaps rows: the removed id never returns, the others keep their vectors.
  index.remove(hits[0].chunk_id);
  const std::vector<int64_t> before = ids_of(hits);
  EXPECT_EQ(ids_of(index.search(query, exact(6))), std::vector<int64_t>(before.begin() + 1, before.end()));
  EXPECT_THROW(index.search(std::vector<float>(3), exact(1)), Error);
}

TEST(VectorIndex, HnswRecallAtTenIsAtLeast95PercentOfExact) {
  const size_t dims = 64, n = 20000, n_queries = 100;
  const auto rows = clustered(n, dims, 50, 4);
  VectorIndexOptions options;
  options.hnsw_ef_construction = 64;
  options.build_threads = 2;  // concurrent insertion: every point lands in the graph, recall holds
  VectorIndex index(dims, VectorType::kF32, options);
  for (size_t i = 0; i < n; ++i) index.add_f32(static_cast<int64_t>(i + 1), {rows.data() + i * dims, dims});
  const size_t row_bytes = n * dims * sizeof(float);
  EXPECT_GE(index.memory_bytes(), row_bytes);
  EXPECT_TRUE(index.maintain());  // reached the threshold
  ASSERT_TRUE(index.has_hnsw());
  EXPECT_EQ(index.size(), n);
  EXPECT_EQ(index.ids().back(), static_cast<int64_t>(n));
  EXPECT_GE(index.memory_bytes(), row_bytes);  // the graph holds the rows (capacity n·1.25) and the links
  EXPECT_LE(index.memory_bytes(), 3 * row_bytes);
  const auto queries = clustered(n_queries, dims, 50, 5);
  double total = 0;
  VectorSearchOptions approx;
  approx.k = 10;
  for (size_t q = 0; q < n_queries; ++q) {
    const std::span<const float> query(queries.data() + q * dims, dims);
    total += recall(index.search(query, approx), index.search(query, exact(10)));
  }
  EXPECT_GE(total / n_queries, 0.95);
  // Deleted ids never come back; filters hold.
  const std::span<const float> query(queries.data(), dims);
  const std::vector<int64_t> removed = ids_of(index.search(query, approx));
  for (int64_t id : removed) index.remove(id);
  for (const auto& h : index.search(query, approx)) {
    EXPECT_EQ(std::count(removed.begin(), removed.end(), h.chunk_id), 0);
  }
  std::vector<int64_t> allowed;
  for (int64_t id = 2; id <= static_cast<int64_t>(n); id += 2) allowed.push_back(id);  // the even half
  approx.allowed = &allowed;
  const auto filtered = index.search(query, approx);
  EXPECT_EQ(filtered.size(), 10u);
  for (const auto& h : filtered) EXPECT_EQ(h.chunk_id % 2, 0);
  std::vector<int64_t> few = {allowed[0], allowed[1], allowed[2]};
  approx.allowed = &few;
  EXPECT_EQ(index.search(query, approx).size(), 3u);  // small filter: exact over those
}

TEST(VectorIndex, Int8WithRescoringRecallsTheF32TopTen) {
  const size_t dims = 64, n = 5000, n_queries = 50;
  const auto rows = clustered(n, dims, 20, 6);
  VectorIndex f32(dims, VectorType::kF32), int8(dims, VectorType::kInt8);
  for (size_t i = 0; i < n; ++i) {
    f32.add_f32(static_cast<int64_t>(i + 1), {rows.data() + i * dims, dims});
    int8.add_f32(static_cast<int64_t>(i + 1), {rows.data() + i * dims, dims});
  }
  const RescoreFn originals = [&](std::span<const int64_t> ids) {
    std::vector<float> out;
    for (int64_t id : ids) {
      const float* row = rows.data() + static_cast<size_t>(id - 1) * dims;
      out.insert(out.end(), row, row + dims);
    }
    return out;
  };
  const auto queries = clustered(n_queries, dims, 20, 7);
  double with_rescore = 0, without = 0;
  for (size_t q = 0; q < n_queries; ++q) {
    const std::span<const float> query(queries.data() + q * dims, dims);
    const auto truth = f32.search(query, exact(10));
    const auto rescored = int8.search(query, exact(10), &originals);
    with_rescore += recall(rescored, truth);
    without += recall(int8.search(query, exact(10)), truth);
    ASSERT_FALSE(rescored.empty());
    EXPECT_FLOAT_EQ(rescored[0].score, truth[0].score);  // rescored scores are the f32 dot products
  }
  EXPECT_GE(with_rescore / n_queries, 0.99);
  EXPECT_GE(with_rescore, without);
  // The int8 graph (custom hnswlib space) also finds them.
  int8.build_hnsw();
  double graph = 0;
  for (size_t q = 0; q < n_queries; ++q) {
    const std::span<const float> query(queries.data() + q * dims, dims);
    VectorSearchOptions approx;
    approx.k = 10;
    graph += recall(int8.search(query, approx, &originals), f32.search(query, exact(10)));
  }
  EXPECT_GE(graph / n_queries, 0.95);
}

TEST(VectorIndex, TheGraphGrowsPastItsCapacityAndIsRebuiltWhenMostlyDeleted) {
  const size_t dims = 32;
  const auto rows = clustered(4000, dims, 20, 9);
  VectorIndexOptions options;
  options.hnsw_threshold = 1000;
  options.hnsw_ef_construction = 64;
  VectorIndex index(dims, VectorType::kF32, options);
  for (size_t i = 0; i < 999; ++i) index.add_f32(static_cast<int64_t>(i + 1), {rows.data() + i * dims, dims});
  EXPECT_FALSE(index.maintain());
  index.add_f32(1000, {rows.data() + 999 * dims, dims});
  EXPECT_TRUE(index.maintain());  // reached the threshold: built with room for 1,250
  for (size_t i = 1000; i < 4000; ++i) index.add_f32(static_cast<int64_t>(i + 1), {rows.data() + i * dims, dims});
  const auto queries = clustered(20, dims, 20, 10);
  VectorSearchOptions approx;
  approx.k = 10;
  auto mean_recall = [&] {
    double total = 0;
    for (size_t q = 0; q < 20; ++q) {
      const std::span<const float> query(queries.data() + q * dims, dims);
      total += recall(index.search(query, approx), index.search(query, exact(10)));
    }
    return total / 20;
  };
  EXPECT_GE(mean_recall(), 0.95);
  for (int64_t id = 1; id <= 2500; ++id) index.remove(id);
  EXPECT_TRUE(index.maintain());  // more than half deleted
  EXPECT_FALSE(index.maintain());
  EXPECT_GE(mean_recall(), 0.95);
  for (const auto& h : index.search(std::span<const float>(queries.data(), dims), approx)) EXPECT_GT(h.chunk_id, 2500);
  std::vector<float> bad(dims, 0.0f);
  bad[3] = std::nanf("");
  EXPECT_THROW(index.search(bad, approx), Error);
}

// --- the index beside a store

// For every store (store_factories()): the graph file lives beside a SQLite file, or in a folder of the replica's
// for PostgreSQL (QEMBED_KB_INDEX_DIR); either way it is a path the test names.
class IndexFileTest : public ::testing::TestWithParam<testing::StoreFactory> {
 protected:
  void SetUp() override {
    if (const std::string why = GetParam().unavailable(); !why.empty()) GTEST_SKIP() << why;
    store_ = GetParam().open(dir_, "kb");
    coll_ = store_->create_collection(test_settings("docs", 16));
    options_.hnsw_threshold = 1500;
    options_.hnsw_ef_construction = 64;
    options_.build_threads = 1;  // a rebuild must give the same graph (one thread inserting in order)
    for (int i = 0; i < 40; ++i) add_doc(i);
    path_ = vector_index_path(dir_.file("kb.db"), coll_.id);
  }
  Document add_doc(int i) {
    std::string text;
    for (int w = 0; w < 50; ++w) {
      text += 'w';
      text += std::to_string(i);
      text += 'x';
      text += std::to_string(w);
      text += ' ';
    }
    return add_document(*store_, coll_, "doc" + std::to_string(i), text);
  }
  void expect_agrees(const VectorIndex& index) {
    const auto report = check_consistency(*store_, coll_.id, &index);
    EXPECT_TRUE(report.clean()) << ::testing::PrintToString(report.problems);
  }

  //! Another connection to the same store (think `qembed kb add` beside the server, or another replica).
  std::unique_ptr<Store> other_connection() const { return GetParam().open(dir_, "kb"); }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  Collection coll_;
  VectorIndexOptions options_;
  std::string path_;
};

TEST_P(IndexFileTest, BuiltThenSavedThenLoadedGivesTheSameResults) {
  IndexOpenReport report;
  auto built = open_vector_index(*store_, coll_, path_, options_, &report);
  EXPECT_EQ(report.how, IndexOpenReport::How::kBuilt);
  EXPECT_EQ(built->size(), 2000u);
  EXPECT_TRUE(built->has_hnsw());
  EXPECT_TRUE(std::filesystem::exists(path_));
  EXPECT_TRUE(std::filesystem::exists(path_ + ".meta"));
  auto loaded = open_vector_index(*store_, coll_, path_, options_, &report);
  EXPECT_EQ(report.how, IndexOpenReport::How::kLoaded);
  auto rebuilt = open_vector_index(*store_, coll_, "", options_, &report);  // same rows, order and seed
  EXPECT_EQ(report.how, IndexOpenReport::How::kBuilt);
  const auto queries = clustered(20, 16, 5, 8);
  VectorSearchOptions approx;
  approx.k = 10;
  for (size_t q = 0; q < 20; ++q) {
    const std::span<const float> query(queries.data() + q * 16, 16);
    EXPECT_EQ(ids_of(loaded->search(query, approx)), ids_of(built->search(query, approx)));
    EXPECT_EQ(ids_of(loaded->search(query, approx)), ids_of(rebuilt->search(query, approx)));
  }
  expect_agrees(*loaded);
}

TEST_P(IndexFileTest, AStaleGraphIsReconciledAndAnUnreadableOneRebuilt) {
  open_vector_index(*store_, coll_, path_, options_);
  // Another connection (think `qembed kb add` beside the server) changes the collection.
  {
    auto other = other_connection();
    other->delete_document(other->find_documents(coll_.id, "doc3")[0].id);
  }
  add_doc(100);
  IndexOpenReport report;
  auto index = open_vector_index(*store_, coll_, path_, options_, &report);
  EXPECT_EQ(report.how, IndexOpenReport::How::kUpdated);
  EXPECT_EQ(report.reconciled, 100u);  // 50 deleted + 50 added
  EXPECT_EQ(index->seq(), store_->change_seq(coll_.id));
  expect_agrees(*index);
  auto again = open_vector_index(*store_, coll_, path_, options_, &report);  // saved after reconciling
  EXPECT_EQ(report.how, IndexOpenReport::How::kLoaded);

  {  // truncate the graph: the header's size no longer matches
    std::filesystem::resize_file(path_, std::filesystem::file_size(path_) / 2);
  }
  index = open_vector_index(*store_, coll_, path_, options_, &report);
  EXPECT_EQ(report.how, IndexOpenReport::How::kBuilt);
  expect_agrees(*index);
  {  // garbage of the right size
    const auto size = std::filesystem::file_size(path_);
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    for (uintmax_t i = 0; i < size; ++i) out.put(static_cast<char>(i * 131));
  }
  index = open_vector_index(*store_, coll_, path_, options_, &report);
  EXPECT_EQ(report.how, IndexOpenReport::How::kBuilt);
  expect_agrees(*index);
}

TEST_P(IndexFileTest, RefreshReplaysAnotherConnectionsChanges) {
  auto index = open_vector_index(*store_, coll_, path_, options_);
  auto other = other_connection();
  add_document(*other, coll_, "late", "brand new words here");
  other->delete_document(other->find_documents(coll_.id, "doc0")[0].id);
  EXPECT_FALSE(check_consistency(*store_, coll_.id, index.get()).clean());  // behind: disagreement listed
  EXPECT_EQ(refresh_vector_index(*store_, coll_.id, *index), 2u);
  expect_agrees(*index);
  EXPECT_EQ(refresh_vector_index(*store_, coll_.id, *index), 0u);
}

TEST_P(IndexFileTest, BelowTheThresholdSearchIsExactAndNothingIsSaved) {
  options_.hnsw_threshold = 100000;
  IndexOpenReport report;
  auto index = open_vector_index(*store_, coll_, path_, options_, &report);
  EXPECT_EQ(report.how, IndexOpenReport::How::kExact);
  EXPECT_FALSE(index->has_hnsw());
  EXPECT_FALSE(std::filesystem::exists(path_));
  expect_agrees(*index);
}

INSTANTIATE_TEST_SUITE_P(Stores, IndexFileTest, ::testing::ValuesIn(testing::store_factories()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace qembed::kb
