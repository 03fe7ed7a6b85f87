#pragma once
// Uploads: POST /v1/kb/collections/{name}/documents. Two bodies:
//   multipart/form-data  any number of file parts (the file name from Content-Disposition; a part with a filename is
//                        a file whatever its field name) and an optional "metadata" field (a JSON object for every
//                        file), streamed to disk as it arrives (kb_upload_sink.hpp): memory stays at a small buffer
//                        whatever the upload's size. Each file is capped by --max-upload-mb (past it that file alone
//                        fails with a 413-style error), the files by --max-upload-files, the body by their product.
//   application/json     {"documents": [{"name", "text", "metadata"?}]} within --payload-limit.
// Every file is registered with the knowledge base's ingestion (kb/ingestion.hpp) as one job; the answer is 202 with
// the job and a status per file (pending, duplicate or failed at once), or with ?wait=true 200 once the job is done,
// with final statuses. A file refused at upload (name, size) is reported failed and the others are still ingested.
#include <memory>

#include "server/api/api.hpp"

namespace qembed::server::api {

//! The route's BodyStreamer: a multipart body streams into an upload sink; any other body is buffered (JSON). Refuses
//! at once (before the body is read) an upload to an unknown collection (404) or past the uploads being received at
//! once (429).
std::shared_ptr<BodySink> upload_streamer(ApiEnv& env, const Request& header);

//! The route's handler.
void upload_documents(ApiEnv& env, const CallPtr& call, Request& req);

}  // namespace qembed::server::api
