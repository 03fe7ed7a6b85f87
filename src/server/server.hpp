#pragma once
// `qembed serve` end to end: listen (/health answers 503 while the model loads), load the model and start the
// embedding service, print the model id and the memory bound, serve until SIGTERM/SIGINT, then drain.
#include "server/server_options.hpp"

namespace qembed::server {

//! Runs the server until a termination signal; returns the process exit code. Throws Error on bad options or a
//! model that cannot be loaded.
int run_server(const ServerOptions& options);

}  // namespace qembed::server
