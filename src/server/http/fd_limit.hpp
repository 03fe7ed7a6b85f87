#pragma once
// File descriptors and the connection cap. Every open connection is a descriptor; with the common soft limit of
// 1,024 a cap of 4,096 cannot hold, and a process out of descriptors cannot even accept a connection to refuse it.
// So at start-up the soft limit is raised to the hard one, and the cap is fitted under it, leaving room for what
// else the process opens (model files, logs, listeners, the metrics port, the spare descriptor of the acceptor).
#include <cstdint>
#include <string>

namespace qembed::server {

//! RLIMIT_NOFILE as it is in force.
struct FdLimit {
  int64_t soft = 0;
  int64_t hard = 0;
};

//! Raises the soft descriptor limit to the hard one (best effort) and returns the limits now in force.
FdLimit raise_fd_limit();

//! Descriptors kept for everything but client connections: standard streams, the model file(s), listeners, the
//! event loop's own descriptors, the acceptor's spare, log files.
inline constexpr int64_t kReservedDescriptors = 32;

//! The connection cap that fits `limit` after `reserved` descriptors: `requested` (0: the default, min(4096, what
//! fits)) or less. `note` says why when the result is not what was asked ("" otherwise).
int64_t fit_connections(int64_t requested, const FdLimit& limit, int64_t reserved, std::string& note);

}  // namespace qembed::server
