#pragma once
// The flags shared by the commands that embed or tokenize, turned into the service's types before anything slow
// happens: every flag is checked (unknown flags, numbers, mutually exclusive prompt flags, prompt names,
// --truncation-direction, --dimensions syntax) before the model is loaded. The rules themselves live in the
// service (src/service); this file only parses.
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "service/embedding_service.hpp"

namespace qembed::cli {

//! --instruction, --prompt-name, --truncate, --truncation-direction: flag specs to append to a command's list.
std::vector<FlagSpec> prompt_flag_specs();
//! --max-batch-tokens and its alias --batch-tokens (the name `embed` used before `serve` named the same idea).
std::vector<FlagSpec> batch_flag_specs();

//! EmbedParams from the prompt and truncation flags, plus --dimensions / --no-normalize where the command has
//! them. Errors name the flag. Model-dependent checks (the dimensions range) happen in the service.
service::EmbedParams params_from_args(const Args& args);

//! ServiceOptions from --threads, --max-batch-tokens (or --batch-tokens) and --prefix-cache-mb where the command
//! has them. The CLI is the service's only client: the queue bounds are lifted (memory is bounded by how much
//! input a command submits at once).
service::ServiceOptions service_options_from_args(const Args& args);

//! Loads --model and starts the service, logging what was loaded and how long it took.
std::unique_ptr<service::EmbeddingService> open_service(const Args& args, const service::ServiceOptions& options);

//! Submits one group of a streamed command's inputs (the CLI lifts the queue bounds, so it is always admitted) and
//! returns its result to come; the future rethrows what the service reported.
std::future<service::EmbedResult> submit_group(service::EmbeddingService& svc, service::EncodedRequest req);

//! Environment the commands read, checked before any work: QEMBED_SIMD and QEMBED_LOG_LEVEL.
void check_environment();

}  // namespace qembed::cli
