#include "server/http/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace qembed::server {

namespace {

int64_t as_int(rlim_t v) {
  return v == RLIM_INFINITY ? int64_t{1} << 30 : static_cast<int64_t>(std::min<rlim_t>(v, rlim_t{1} << 30));
}

}  // namespace

FdLimit raise_fd_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return {1024, 1024};
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return {as_int(rl.rlim_cur), as_int(rl.rlim_max)};
}

int64_t fit_connections(int64_t requested, const FdLimit& limit, int64_t reserved, std::string& note) {
  constexpr int64_t kDefault = 4096;
  const int64_t fits = std::max<int64_t>(1, limit.soft - reserved);
  note.clear();
  const std::string why = "the descriptor limit is " + std::to_string(limit.soft) + " (hard limit " +
                          std::to_string(limit.hard) + "), less " + std::to_string(reserved) +
                          " kept for model files, logs and listeners; raise it with ulimit -n";
  if (requested <= 0) {
    if (fits >= kDefault) return kDefault;
    note = "serving at most " + std::to_string(fits) + " connections: " + why;
    return fits;
  }
  if (requested <= fits) return requested;
  note = "--max-connections " + std::to_string(requested) + " does not fit: serving at most " + std::to_string(fits) +
         " connections; " + why;
  return fits;
}

}  // namespace qembed::server
