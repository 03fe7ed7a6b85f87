#pragma once
// A one-line progress display on stderr, redrawn at most a few times per second.
#include <chrono>
#include <cstdint>

namespace qembed::cli {

class Progress {
 public:
  //! total 0 = unknown. Draws nothing unless `enabled`. `unit` names what is counted ("docs", "queries"); the
  //! token rate is shown once tokens are reported.
  Progress(bool enabled, int64_t total_docs, const char* unit = "docs");
  void update(int64_t docs_done, int64_t tokens_done);
  void finish();

 private:
  bool enabled_;
  int64_t total_;
  const char* unit_;
  int64_t docs_ = 0, tokens_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  void draw();
};

}  // namespace qembed::cli
