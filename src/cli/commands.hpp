#pragma once
// The qembed subcommands. Each returns the process exit code; Errors propagate to main, which prints them.
namespace qembed::cli {

int cmd_embed(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_rerank(int argc, char** argv);  //!< qembed rerank (cmd_rerank.cpp)
int cmd_info(int argc, char** argv);
int cmd_quantize(int argc, char** argv);  //!< qembed quantize (cmd_quantize.cpp)
int cmd_bench(int argc, char** argv);
int cmd_serve(int argc, char** argv);
int cmd_kb(int argc, char** argv);  //!< qembed kb SUBCOMMAND (cmd_kb.cpp)
//! `qembed kb eval` (cmd_kb_eval.cpp): argv as main received it (argv[1] "kb", argv[2] "eval"); flags from argv[3].
int cmd_kb_eval(int argc, char** argv);

}  // namespace qembed::cli
