// qembed: the command-line entry point. Every user-facing failure arrives here as an Error and becomes one
// "qembed: error: ..." line on stderr and exit status 1; nothing escapes as a crash.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "cli/commands.hpp"
#include "common/error.hpp"

namespace {

void usage() {
  std::fprintf(stderr,
               "qembed — Qwen3-Embedding inference\n\n"
               "usage: qembed COMMAND [flags]\n\n"
               "commands:\n"
               "  embed      embed JSONL texts ({\"text\": ...} per line) into JSONL vectors\n"
               "  tokenize   print the token ids the model sees for each text\n"
               "  info       describe a model file\n"
               "  bench      measure offline throughput on a JSONL file\n"
               "  serve      HTTP server: OpenAI, TEI and Ollama embedding APIs\n\n"
               "run 'qembed COMMAND --help' for the flags of a command\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const char* cmd = argv[1];
  try {
    if (!std::strcmp(cmd, "embed")) return qembed::cli::cmd_embed(argc, argv);
    if (!std::strcmp(cmd, "tokenize")) return qembed::cli::cmd_tokenize(argc, argv);
    if (!std::strcmp(cmd, "info")) return qembed::cli::cmd_info(argc, argv);
    if (!std::strcmp(cmd, "bench")) return qembed::cli::cmd_bench(argc, argv);
    if (!std::strcmp(cmd, "serve")) return qembed::cli::cmd_serve(argc, argv);
    std::fprintf(stderr, "qembed: error: unknown command \"%s\"\n\n", cmd);
    usage();
    return 2;
  } catch (const qembed::Error& e) {
    std::fprintf(stderr, "qembed: error: %s\n", e.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "qembed: error: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qembed: error: %s\n", e.what());
  }
  return 1;
}
