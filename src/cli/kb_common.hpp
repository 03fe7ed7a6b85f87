#pragma once
// What every `qembed kb` subcommand shares: the flags that open a knowledge base (--db, --model and the service
// flags), opening it with or without a model, and printing JSON lines.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "kb/kb_json.hpp"
#include "kb/knowledge_base.hpp"
#include "service/embedding_service.hpp"

namespace qembed::cli {

//! --db, --model, --threads, --max-batch-tokens, --prefix-cache-mb, --help.
std::vector<FlagSpec> kb_base_flags(bool with_model);

//! An open knowledge base and, when the command loaded one, the model's service (declared first: it outlives the
//! knowledge base, whose ingestion threads use it).
struct OpenKb {
  std::unique_ptr<service::EmbeddingService> service;
  std::unique_ptr<service::EmbeddingService> reranker;  //!< --reranker-model, when given
  std::unique_ptr<kb::KnowledgeBase> kb;
};

//! Opens --db; loads --model when `need_model` (required) or when given and `model_optional`, and
//! --reranker-model (as a reranker, with the same service flags) when given.
OpenKb open_kb(const Args& args, bool need_model, bool model_optional = false);

//! One JSON value on its own line on stdout, flushed (a consumer reads results as they come).
void print_json_line(const nlohmann::json& value);

//! Parses a subcommand's flags (from argv[3]); with --help prints `usage` and the flags and returns nullopt.
std::optional<Args> parse_kb_args(const std::vector<FlagSpec>& specs, int argc, char** argv, const char* usage,
                                  bool positionals = false);

// Subcommands (cmd_kb*.cpp).
int kb_create(int argc, char** argv);
int kb_add(int argc, char** argv);
int kb_import(int argc, char** argv);
int kb_list(int argc, char** argv);
int kb_rm(int argc, char** argv);
int kb_search(int argc, char** argv);
int kb_reindex(int argc, char** argv);
int kb_check(int argc, char** argv);
int kb_export(int argc, char** argv);
int kb_backup(int argc, char** argv);
int kb_labels(int argc, char** argv);  // cmd_kb_labels.cpp

}  // namespace qembed::cli
