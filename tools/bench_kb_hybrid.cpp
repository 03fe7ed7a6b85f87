// Hybrid search latency on a large collection, not counting the query's own embedding (the number: 200,000
// chunks, p50 <= 30 ms). Chunks are imported with precomputed vectors through the same path as `qembed kb import`
// (KnowledgeBase::import_document): seeded pseudo-words with Zipf frequencies for the text (so the keyword index has
// the shape of a real one: a few very common terms, a long tail), and unit vectors from a Gaussian mixture.
//
//   bench-kb-hybrid --db /tmp/hybrid.db [--chunks 200000] [--dims 1024] [--queries 300] [--threads 2]
//
// The database is built once and reused while its collection matches --chunks/--dims (delete it to rebuild).
// Prints the build and index-open times, then p50/p90/p99 of hybrid, vector-only and keyword-only searches (top 10)
// and a JSON line.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/error.hpp"
#include "kb/knowledge_base.hpp"

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

struct Options {
  std::string db;
  int64_t chunks = 200000;
  int dims = 1024;
  int queries = 300;
  int threads = 2;
  int clusters = 1000;
  uint64_t seed = 7;
};

//! Pseudo-words ("tarovek"), distinct, and a Zipf sampler over their ranks.
struct Vocabulary {
  std::vector<std::string> words;
  std::vector<double> cumulative;
  Vocabulary(size_t n, std::mt19937_64& rng) {
    static const char* syllables[] = {"ta", "ro", "vek", "mi", "lan", "su", "dor", "ke", "pa", "zin", "bo", "re",
                                      "the", "qua", "nu", "fel", "ga", "sto", "li", "mar", "ven", "do", "ri", "cal"};
    std::uniform_int_distribution<int> syl(0, 23), len(2, 4);
    std::unordered_set<std::string> seen;
    while (words.size() < n) {
      std::string w;
      for (int i = len(rng); i > 0; --i) w += syllables[syl(rng)];
      if (seen.insert(w).second) words.push_back(std::move(w));
    }
    double sum = 0;
    for (size_t r = 1; r <= n; ++r) {
      sum += 1.0 / static_cast<double>(r);
      cumulative.push_back(sum);
    }
  }
  const std::string& sample(std::mt19937_64& rng) const {
    std::uniform_real_distribution<double> u(0, cumulative.back());
    return words[static_cast<size_t>(std::lower_bound(cumulative.begin(), cumulative.end(), u(rng)) -
                                     cumulative.begin())];
  }
};

struct Mixture {
  int dims;
  std::vector<std::vector<float>> centres;
  Mixture(int d, int clusters, std::mt19937_64& rng) : dims(d) {
    std::normal_distribution<float> g(0, 1);
    for (int c = 0; c < clusters; ++c) {
      std::vector<float> v(static_cast<size_t>(d));
      for (float& x : v) x = g(rng);
      normalise(v);
      centres.push_back(std::move(v));
    }
  }
  static void normalise(std::vector<float>& v) {
    double n = 0;
    for (float x : v) n += static_cast<double>(x) * x;
    const auto inv = static_cast<float>(1 / std::sqrt(n));
    for (float& x : v) x *= inv;
  }
  std::vector<float> sample(std::mt19937_64& rng) const {
    std::uniform_int_distribution<size_t> pick(0, centres.size() - 1);
    std::normal_distribution<float> g(0, 1.0f / std::sqrt(static_cast<float>(dims)));
    std::vector<float> v = centres[pick(rng)];
    for (float& x : v) x += g(rng);
    normalise(v);
    return v;
  }
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw qembed::Error("flag " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--db") o.db = value();
    else if (a == "--chunks") o.chunks = std::stoll(value());
    else if (a == "--dims") o.dims = std::stoi(value());
    else if (a == "--queries") o.queries = std::stoi(value());
    else if (a == "--threads") o.threads = std::stoi(value());
    else throw qembed::Error("unknown flag " + a);
  }
  if (o.db.empty()) throw qembed::Error("--db PATH is required");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options opt = parse(argc, argv);
    namespace kb = qembed::kb;
    std::mt19937_64 rng(opt.seed);
    const Vocabulary vocab(30000, rng);
    const Mixture mixture(opt.dims, opt.clusters, rng);

    qembed::kb::KnowledgeBaseOptions kb_options;
    kb_options.search_threads = opt.threads;
    auto base = kb::open_knowledge_base(opt.db, nullptr, kb_options);
    std::optional<kb::Collection> collection = base->store().find_collection("bench");
    if (collection && (collection->settings.dimensions != opt.dims ||
                       base->store().counts().chunks != opt.chunks)) {
      throw qembed::Error(opt.db + " holds another benchmark collection: delete it to rebuild");
    }
    double import_s = 0;
    if (!collection) {
      kb::CollectionSettings settings;
      settings.name = "bench";
      settings.model = {"bench-vectors", "0000000000000000", opt.dims};
      settings.dimensions = opt.dims;
      collection = base->store().create_collection(settings);
      const auto t0 = Clock::now();
      std::mt19937_64 data_rng(opt.seed + 1);
      const int64_t per_document = 100;
      for (int64_t first = 0; first < opt.chunks; first += per_document) {
        kb::ImportedDocument doc;
        doc.name = "doc" + std::to_string(first / per_document);
        for (int64_t i = first; i < std::min(opt.chunks, first + per_document); ++i) {
          kb::ImportedChunk chunk;
          for (int w = 0; w < 80; ++w) {
            if (w) chunk.text += ' ';
            chunk.text += vocab.sample(data_rng);
          }
          chunk.vector = mixture.sample(data_rng);
          doc.chunks.push_back(std::move(chunk));
        }
        const kb::IngestOutcome outcome = base->import_document(*collection, std::move(doc));
        if (outcome.status != kb::IngestStatus::kIndexed) throw qembed::Error("import failed: " + outcome.error);
        if ((first / per_document) % 200 == 0) {
          std::fprintf(stderr, "\rimported %lld / %lld chunks", static_cast<long long>(first + per_document),
                       static_cast<long long>(opt.chunks));
        }
      }
      import_s = ms_since(t0) / 1000;
      std::fprintf(stderr, "\rimported %lld chunks in %.1f s\n", static_cast<long long>(opt.chunks), import_s);
    }
    const auto t_open = Clock::now();
    kb::IndexOpenReport report;
    base->searcher().index(*collection, &report);
    const double open_s = ms_since(t_open) / 1000;
    const char* how[] = {"exact only", "loaded", "updated", "built"};
    std::printf("collection: %lld chunks, %d dims; vector index %s in %.1f s\n",
                static_cast<long long>(opt.chunks), opt.dims, how[static_cast<int>(report.how)], open_s);

    // Queries: 2-6 words of the vocabulary's middle (what people type: not the commonest, not typos) and a vector
    // from the same mixture.
    std::mt19937_64 query_rng(opt.seed + 2);
    std::uniform_int_distribution<int> n_words(2, 6);
    std::uniform_int_distribution<size_t> rank(20, 5000);
    struct Query {
      std::string text;
      std::vector<float> vector;
    };
    std::vector<Query> queries;
    for (int q = 0; q < opt.queries; ++q) {
      Query query;
      for (int w = n_words(query_rng); w > 0; --w) {
        if (!query.text.empty()) query.text += ' ';
        query.text += vocab.words[rank(query_rng)];
      }
      query.vector = mixture.sample(query_rng);
      queries.push_back(std::move(query));
    }
    std::string json = "{\"chunks\": " + std::to_string(opt.chunks) + ", \"dims\": " + std::to_string(opt.dims) +
                       ", \"index_open_s\": " + std::to_string(open_s);
    for (kb::SearchMode mode : {kb::SearchMode::kHybrid, kb::SearchMode::kVector, kb::SearchMode::kKeyword}) {
      std::vector<double> times;
      size_t hits = 0;
      for (int pass = 0; pass < 2; ++pass) {  // the first pass warms the page cache and the index
        for (const Query& q : queries) {
          kb::SearchRequest request;
          request.query = q.text;
          request.mode = mode;
          request.top_k = 10;
          const auto t0 = Clock::now();
          const kb::SearchResults r = base->searcher().search_with_vector(*collection, request, q.vector);
          if (pass == 1) {
            times.push_back(ms_since(t0));
            hits += r.hits.size();
          }
        }
      }
      const double p50 = percentile(times, 0.5), p90 = percentile(times, 0.9), p99 = percentile(times, 0.99);
      std::printf("%-8s top 10: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms (%zu queries, %.1f hits each)\n",
                  kb::search_mode_name(mode), p50, p90, p99, times.size(),
                  static_cast<double>(hits) / static_cast<double>(times.size()));
      json += std::string(", \"") + kb::search_mode_name(mode) + "_p50_ms\": " + std::to_string(p50) + ", \"" +
              kb::search_mode_name(mode) + "_p99_ms\": " + std::to_string(p99);
    }
    std::printf("%s}\n", json.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench-kb-hybrid: error: %s\n", e.what());
    return 1;
  }
}
