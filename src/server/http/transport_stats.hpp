#pragma once
// What the HTTP transport counts about itself: open connections, connections turned away, request-body bytes
// reserved, response bytes reserved. Updated by the I/O threads; /metrics reads them without locks.
#include <atomic>
#include <cstdint>

namespace qembed::server {

struct TransportStats {
  std::atomic<int64_t> open_connections{0};            //!< HTTP connections open now
  std::atomic<int64_t> connections_rejected_total{0};  //!< connections closed at once past max_connections
  std::atomic<int64_t> body_bytes_reserved{0};         //!< request body bytes reserved from the body budget
  //! response bytes reserved from the response budget (by the API, until written; kept here so /metrics reads
  //! every buffered byte from one place)
  std::atomic<int64_t> response_bytes_reserved{0};
};

}  // namespace qembed::server
