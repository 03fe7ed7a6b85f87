#pragma once
// A one-line progress display on stderr, redrawn at most a few times per second.
#include <chrono>
#include <cstdint>

namespace qembed::cli {

class Progress {
 public:
  //! total 0 = unknown. Draws nothing unless `enabled`.
  Progress(bool enabled, int64_t total_docs);
  void update(int64_t docs_done, int64_t tokens_done);
  void finish();

 private:
  bool enabled_;
  int64_t total_;
  int64_t docs_ = 0, tokens_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  void draw();
};

}  // namespace qembed::cli
