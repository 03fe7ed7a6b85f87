// qembed: the command-line entry point. Every user-facing failure arrives here as an Error and becomes one
// "qembed: error: ..." line on stderr and exit status 1; nothing escapes as a crash. Help and version exit 0.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "cli/commands.hpp"
#include "cli/input_prep.hpp"
#include "common/error.hpp"

#ifndef QEMBED_VERSION
#error "QEMBED_VERSION is a compile definition of qembed_common"
#endif

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "qembed %s — Qwen3-Embedding inference\n\n"
               "usage: qembed COMMAND [flags]\n\n"
               "commands:\n"
               "  embed      embed JSONL texts ({\"text\": ...} per line) into JSONL vectors\n"
               "  rerank     score JSONL documents against a query with a Qwen3-Reranker\n"
               "  tokenize   print the token ids the model sees for each text\n"
               "  info       describe a model file\n"
               "  quantize   write a model as a GGUF file of another type (F16, Q8_0, Q4_K_M, ...)\n"
               "  bench      measure offline throughput on a JSONL file\n"
               "  serve      HTTP server: OpenAI, TEI and Ollama embedding APIs (and the knowledge base: --kb)\n"
               "  kb         knowledge base: create, add, search, list, rm, check, reindex, eval, ...\n"
               "  version    print the version (also --version)\n\n"
               "run 'qembed COMMAND --help' for the flags of a command\n",
               QEMBED_VERSION);
}

using Command = int (*)(int, char**);

Command find_command(const char* name) {
  static const struct {
    const char* name;
    Command run;
  } kCommands[] = {
      {"embed", qembed::cli::cmd_embed}, {"rerank", qembed::cli::cmd_rerank}, {"tokenize", qembed::cli::cmd_tokenize}, {"info", qembed::cli::cmd_info},
      {"quantize", qembed::cli::cmd_quantize},
      {"bench", qembed::cli::cmd_bench}, {"serve", qembed::cli::cmd_serve},  {"kb", qembed::cli::cmd_kb},
  };
  for (const auto& c : kCommands) {
    if (!std::strcmp(name, c.name)) return c.run;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 1;  // a usage error, like every other error (README: errors exit 1)
  }
  const char* cmd = argv[1];
  if (!std::strcmp(cmd, "--help") || !std::strcmp(cmd, "-h") || !std::strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  if (!std::strcmp(cmd, "--version") || !std::strcmp(cmd, "-V") || !std::strcmp(cmd, "version")) {
    std::printf("qembed %s\n", QEMBED_VERSION);
    return 0;
  }
  try {
    const Command run = find_command(cmd);
    if (!run) throw qembed::Error(std::string("unknown command \"") + cmd + "\"; run qembed --help");
    qembed::cli::check_environment();
    return run(argc, argv);
  } catch (const qembed::Error& e) {
    std::fprintf(stderr, "qembed: error: %s\n", e.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "qembed: error: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qembed: error: %s\n", e.what());
  }
  return 1;
}
