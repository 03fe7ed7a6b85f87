#pragma once
// The streaming loop of the commands that turn JSONL lines into one result line each (embed, rerank): lines are
// read and encoded one at a time into a group of about one batch of tokens, each group is one service request, the
// next group is read and tokenized while the previous one computes, and at most two groups are in flight, so memory
// stays bounded whatever the input size. Groups finish in input order. A bad line stops the run: the groups before
// it are finished (their lines written and flushed) first, then its error propagates.
#include <cstdint>
#include <deque>
#include <future>
#include <optional>
#include <utility>
#include <vector>

#include "cli/input_prep.hpp"
#include "cli/jsonl.hpp"
#include "common/error.hpp"
#include "service/embedding_service.hpp"

namespace qembed::cli {

//! One group of input lines; `Extra` is what a command keeps per line beside its object (or an empty struct).
template <class Extra>
struct LineGroup {
  int64_t first_index = 0;           //!< input index of objs[0]
  std::vector<nlohmann::json> objs;  //!< the input objects, for their carried fields
  std::vector<Extra> extras;         //!< one per object
  int64_t n_tokens = 0;              //!< the request's tokens
};

//! Runs the loop. encode_line(obj, index, extra) encodes one line as a one-sequence request (and may fill its
//! extra); prepare(request) may adjust a group's merged request before it is submitted; finish(group, result) gets
//! every group in input order. Errors from any of them, and from the service, propagate after the earlier groups
//! are finished.
template <class Extra, class EncodeLine, class Prepare, class Finish>
void run_line_groups(JsonlReader& reader, LineWriter& writer, service::EmbeddingService& svc, int64_t max_batch_tokens,
                     EncodeLine&& encode_line, Prepare&& prepare, Finish&& finish) {
  struct InFlight {
    LineGroup<Extra> group;
    std::future<service::EmbedResult> result;
  };
  std::deque<InFlight> in_flight;
  const auto finish_oldest = [&] {
    InFlight& f = in_flight.front();
    service::EmbedResult r = f.result.get();
    finish(f.group, std::move(r));
    in_flight.pop_front();
  };
  int64_t next_index = 0;
  for (;;) {
    LineGroup<Extra> g;
    g.first_index = next_index;
    std::optional<service::EncodedRequest> req;
    try {
      while (g.n_tokens < max_batch_tokens) {
        std::optional<nlohmann::json> obj = reader.next();
        if (!obj) break;
        Extra extra{};
        service::EncodedRequest one = encode_line(*obj, next_index + static_cast<int64_t>(g.objs.size()), extra);
        if (!req) {
          req = std::move(one);
          req->first_index = g.first_index;
        } else {
          req->seqs.push_back(std::move(one.seqs[0]));
          req->n_tokens += one.n_tokens;
        }
        g.n_tokens = req->n_tokens;
        g.objs.push_back(std::move(*obj));
        g.extras.push_back(std::move(extra));
      }
    } catch (const Error&) {
      while (!in_flight.empty()) finish_oldest();  // what came before the bad line is written first
      writer.flush();
      throw;
    }
    if (g.objs.empty()) break;
    next_index += static_cast<int64_t>(g.objs.size());
    prepare(*req);
    std::future<service::EmbedResult> result = submit_group(svc, std::move(*req));
    in_flight.push_back({std::move(g), std::move(result)});
    if (in_flight.size() > 1) finish_oldest();
  }
  while (!in_flight.empty()) finish_oldest();
}

}  // namespace qembed::cli
