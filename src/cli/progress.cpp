#include "cli/progress.hpp"

#include <cstdio>

namespace qembed::cli {

Progress::Progress(bool enabled, int64_t total_docs, const char* unit)
    : enabled_(enabled),
      total_(total_docs),
      unit_(unit),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(int64_t docs_done, int64_t tokens_done) {
  docs_ = docs_done;
  tokens_ = tokens_done;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  draw();
}

void Progress::draw() {
  if (!enabled_) return;
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double tps = s > 0 ? static_cast<double>(tokens_) / s : 0;
  if (total_ > 0) {
    constexpr int kWidth = 30;
    int filled = static_cast<int>(kWidth * docs_ / total_);
    char bar[kWidth + 1];
    for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
    bar[kWidth] = 0;
    std::fprintf(stderr, "\r[%s] %lld/%lld %s ", bar, static_cast<long long>(docs_), static_cast<long long>(total_),
                 unit_);
  } else {
    std::fprintf(stderr, "\r%lld %s ", static_cast<long long>(docs_), unit_);
  }
  if (tokens_ > 0) std::fprintf(stderr, " %.0f tok/s ", tps);
  std::fflush(stderr);
}

void Progress::finish() {
  if (!enabled_) return;
  draw();
  std::fputc('\n', stderr);
}

}  // namespace qembed::cli
