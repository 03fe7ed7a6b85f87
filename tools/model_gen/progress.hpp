#pragma once
// Progress on stderr while tensors are written: one rewritten line on a terminal, about 20 lines otherwise
// (logs and CI should not get a line per tensor).
#include <unistd.h>

#include <cstdio>
#include <string>

namespace qembed::model_gen {

class Progress {
 public:
  explicit Progress(size_t total) : total_(total), tty_(::isatty(STDERR_FILENO) != 0) {}
  void step(const std::string& name, const char* type_name) {
    ++done_;
    if (tty_) {
      std::fprintf(stderr, "\r[%3zu/%zu] %-44s %-5s", done_, total_, name.c_str(), type_name);
      if (done_ == total_) std::fprintf(stderr, "\n");
    } else if (done_ * 20 / total_ != (done_ - 1) * 20 / total_) {
      std::fprintf(stderr, "[%3zu/%zu] %s %s\n", done_, total_, name.c_str(), type_name);
    }
    std::fflush(stderr);
  }

 private:
  size_t total_;
  bool tty_;
  size_t done_ = 0;
};

}  // namespace qembed::model_gen
