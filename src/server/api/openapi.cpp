// GET /openapi.json: the routes as an OpenAPI 3 document, written by hand (TEI and vLLM users look for it; tools
// generate clients from it). tests/server/ops.test.mjs checks that it lists every route of the route table.
#include <nlohmann/json.hpp>
#include <string>

#include "server/api/routes.hpp"

namespace qembed::server::api {

namespace {

constexpr const char* kOpenApi = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "qembed",
    "version": "@VERSION@",
    "description": "Qwen3-Embedding over the OpenAI, text-embeddings-inference (TEI) and Ollama APIs, and Qwen3-Reranker (--reranker-model) over the Cohere / Jina and TEI rerank APIs. With API keys configured, send Authorization: Bearer KEY; roles: admin (everything), embed (embeddings, tokenize and the read-only routes), search (the read-only routes)."
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
      "Input": {
        "description": "a text, texts, one token-id array or token-id arrays",
        "oneOf": [
          {"type": "string"},
          {"type": "array", "items": {"type": "string"}},
          {"type": "array", "items": {"type": "integer"}},
          {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}
        ]
      },
      "EmbedOptions": {
        "type": "object",
        "properties": {
          "dimensions": {"type": "integer", "description": "keep the first D dimensions, then normalize"},
          "prompt_name": {"type": "string", "description": "query, document or a --prompt name"},
          "instruction": {"type": "string", "description": "a task: Instruct: {task}\nQuery:{text}"},
          "truncate": {"type": "boolean"},
          "truncation_direction": {"type": "string", "enum": ["Right", "Left"]},
          "normalize": {"type": "boolean"}
        }
      },
      "OpenAIEmbeddingRequest": {
        "allOf": [{"$ref": "#/components/schemas/EmbedOptions"}, {
          "type": "object",
          "required": ["input"],
          "properties": {
            "input": {"$ref": "#/components/schemas/Input"},
            "model": {"type": "string"},
            "encoding_format": {"type": "string", "enum": ["float", "base64"]},
            "user": {"type": "string"}
          }
        }]
      },
      "OpenAIEmbeddingResponse": {
        "type": "object",
        "properties": {
          "object": {"type": "string", "enum": ["list"]},
          "data": {"type": "array", "items": {"type": "object", "properties": {
            "object": {"type": "string", "enum": ["embedding"]},
            "index": {"type": "integer"},
            "embedding": {"oneOf": [{"type": "array", "items": {"type": "number"}}, {"type": "string"}]}
          }}},
          "model": {"type": "string"},
          "usage": {"type": "object", "properties": {"prompt_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"}}}
        }
      },
      "Model": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "object": {"type": "string"}, "created": {"type": "integer"}, "owned_by": {"type": "string"}, "role": {"type": "string", "enum": ["embedding", "reranker"]}}
      },
      "OpenAIError": {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {
          "message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": "string", "nullable": true}, "code": {"type": "string", "nullable": true}
        }}}
      },
      "TEIEmbedRequest": {
        "allOf": [{"$ref": "#/components/schemas/EmbedOptions"}, {
          "type": "object",
          "required": ["inputs"],
          "properties": {"inputs": {"$ref": "#/components/schemas/Input"}}
        }]
      },
      "TEIError": {
        "type": "object",
        "properties": {"error": {"type": "string"}, "error_type": {"type": "string"}}
      },
      "Vectors": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
      "RerankRequest": {
        "type": "object",
        "required": ["query", "documents"],
        "properties": {
          "model": {"type": "string", "description": "the reranker's id (--reranker-served-name); absent: the reranker"},
          "query": {"type": "string"},
          "documents": {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}]},
            "description": "1 to --max-client-batch-size non-empty texts"},
          "top_n": {"type": "integer", "description": "results to return, best first (at least 1; default all)"},
          "return_documents": {"type": "boolean", "description": "echo each result's text (default false)"},
          "instruction": {"type": "string", "description": "the task (default: web search; Qwen3-Reranker's Instruct)"},
          "max_tokens_per_doc": {"type": "integer", "description": "tokens per document with the query and template (default: the input limit)"},
          "truncate": {"type": "boolean", "description": "cut a document's end to fit (default true); false: a document too long is 400"}
        }
      },
      "RerankResponse": {
        "type": "object",
        "properties": {
          "id": {"type": "string", "description": "the request id (X-Request-Id)"},
          "model": {"type": "string"},
          "results": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": "integer"}, "relevance_score": {"type": "number", "description": "P(yes), 0 to 1"},
            "document": {"type": "object", "properties": {"text": {"type": "string"}}}}}},
          "usage": {"type": "object", "properties": {"prompt_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"}}},
          "meta": {"type": "object", "properties": {"truncated_documents": {"type": "array", "items": {"type": "integer"}}}}
        }
      },
      "TEIRerankRequest": {
        "type": "object",
        "required": ["query", "texts"],
        "properties": {
          "query": {"type": "string"},
          "texts": {"type": "array", "items": {"type": "string"}},
          "raw_scores": {"type": "boolean", "description": "the logit instead of its sigmoid (default false)"},
          "return_text": {"type": "boolean"},
          "truncate": {"type": "boolean", "description": "default --auto-truncate"},
          "truncation_direction": {"type": "string", "enum": ["Right"]}
        }
      },
      "OllamaError": {"type": "object", "properties": {"error": {"type": "string"}}}
    }
  },
  "security": [{"bearer": []}],
  "paths": {
    "/v1/whoami": {"get": {"summary": "whether keys are required and the roles of the presented key (the web UI asks it which pages to show)", "security": [],
      "responses": {"200": {"description": "{keys_required, authenticated, roles, knowledge_base, ready}"}}}},
    "/health": {"get": {"summary": "200 when ready, 503 while loading or shutting down", "security": [],
      "responses": {"200": {"description": "ready"}, "503": {"description": "loading or shutting down"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics (role admin; also on --metrics-port without a key)",
      "responses": {"200": {"description": "text/plain; version=0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/openapi.json": {"get": {"summary": "this document", "security": [],
      "responses": {"200": {"description": "OpenAPI 3 document"}}}},
    "/v1/embeddings": {"post": {"summary": "OpenAI embeddings (roles admin, embed)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIEmbeddingRequest"}}}},
      "responses": {
        "200": {"description": "vectors in input order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIEmbeddingResponse"}}}},
        "400": {"description": "invalid request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}}},
        "404": {"description": "unknown model"},
        "413": {"description": "too large"},
        "429": {"description": "overloaded, or over the client's --request-rate-limit/--token-rate-limit (Retry-After)"}}}},
    "/embeddings": {"post": {"summary": "the same as /v1/embeddings, for clients given a base URL without /v1",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIEmbeddingRequest"}}}},
      "responses": {"200": {"description": "as /v1/embeddings", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIEmbeddingResponse"}}}}}}},
    "/v1/models": {"get": {"summary": "the served models, each with its role: embedding or reranker (roles admin, embed, search)",
      "responses": {"200": {"description": "{object: list, data: [Model]}"}}}},
    "/v1/models/{id}": {"get": {"summary": "one model by id (404 for another id)",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "the model", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Model"}}}},
        "404": {"description": "unknown model", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}}}}}},
    "/embed": {"post": {"summary": "TEI embed (roles admin, embed)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TEIEmbedRequest"}}}},
      "responses": {
        "200": {"description": "one vector per input", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Vectors"}}}},
        "413": {"description": "too large", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TEIError"}}}},
        "422": {"description": "validation error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TEIError"}}}},
        "429": {"description": "overloaded, or over the client's rate limit (Retry-After)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TEIError"}}}}}}},
    "/": {"post": {"summary": "TEI: the same as /embed (what @huggingface/inference and LangChain post to)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TEIEmbedRequest"}}}},
      "responses": {"200": {"description": "as /embed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Vectors"}}}}}}},
    "/invocations": {"post": {"summary": "TEI (SageMaker): the same as /embed",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TEIEmbedRequest"}}}},
      "responses": {"200": {"description": "as /embed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Vectors"}}}}}}},
    "/tokenize": {"post": {"summary": "TEI tokenize (roles admin, embed)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["inputs"], "properties": {
        "inputs": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "add_special_tokens": {"type": "boolean"}, "prompt_name": {"type": "string"}}}}}},
      "responses": {"200": {"description": "[[{id, text, special, start, stop}]]"}}}},
    "/info": {"get": {"summary": "TEI info (roles admin, embed, search)",
      "responses": {"200": {"description": "model id, dtype, limits, version"}}}},
    "/v1/rerank": {"post": {"summary": "rerank documents for a query, Cohere / Jina shape (--reranker-model; roles admin, embed)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RerankRequest"}}}},
      "responses": {
        "200": {"description": "results best first", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RerankResponse"}}}},
        "400": {"description": "invalid request, or a model that is the embedding model", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}}},
        "404": {"description": "unknown model, or no reranker loaded"},
        "413": {"description": "more documents than --max-client-batch-size, or too large"},
        "429": {"description": "overloaded, or over the client's rate limit (Retry-After)"}}}},
    "/rerank": {"post": {"summary": "TEI rerank (--reranker-model; roles admin, embed)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TEIRerankRequest"}}}},
      "responses": {
        "200": {"description": "[{index, score, text?}] best first"},
        "404": {"description": "no reranker loaded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TEIError"}}}},
        "413": {"description": "too many texts", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TEIError"}}}},
        "422": {"description": "validation error, or a text too long without truncate", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TEIError"}}}},
        "429": {"description": "overloaded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TEIError"}}}}}}},
    "/api/embed": {"post": {"summary": "Ollama embed (roles admin, embed)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["input"], "properties": {
        "model": {"type": "string"}, "input": {"$ref": "#/components/schemas/Input"}, "truncate": {"type": "boolean"}, "dimensions": {"type": "integer"}}}}}},
      "responses": {"200": {"description": "{model, embeddings, total_duration, load_duration, prompt_eval_count}"},
        "400": {"description": "invalid request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OllamaError"}}}},
        "404": {"description": "unknown model", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OllamaError"}}}}}}},
    "/api/embeddings": {"post": {"summary": "Ollama legacy embeddings (roles admin, embed)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["prompt"], "properties": {
        "model": {"type": "string"}, "prompt": {"type": "string"}}}}}},
      "responses": {"200": {"description": "{embedding: [...]}"}}}},
    "/api/tags": {"get": {"summary": "Ollama model list (roles admin, embed, search)",
      "responses": {"200": {"description": "{models: [{name, model, modified_at, size, digest, details}]}"}}}},
    "/api/version": {"get": {"summary": "Ollama version (roles admin, embed, search)",
      "responses": {"200": {"description": "{version}"}}}}
  }
})json";

// The knowledge base's routes (with --kb): merged into the document above.
constexpr const char* kKbOpenApi = R"json({
  "schemas": {
    "KbCollectionRequest": {
      "type": "object", "required": ["name"],
      "properties": {
        "name": {"type": "string", "description": "1 to 128 bytes, unique"},
        "dimensions": {"type": "integer", "description": "stored dimensions (Matryoshka truncation); 0 or absent: the model's"},
        "vector_type": {"type": "string", "enum": ["f32", "f16", "int8"]},
        "chunk_tokens": {"type": "integer", "description": "tokens per chunk (default 512)"},
        "chunk_overlap": {"type": "integer", "description": "tokens repeated between chunks (default 64)"},
        "prepend_title": {"type": "boolean", "description": "embed each chunk with its title and section path (default true)"},
        "query_instruction": {"type": "string", "description": "the Instruct: task for queries; empty: Qwen3's default"},
        "rerank": {"type": "boolean", "description": "searches rerank their candidates by default (default false; needs --reranker-model)"}
      }
    },
    "KbCollection": {
      "type": "object",
      "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"},
        "model": {"type": "object", "properties": {"name": {"type": "string"}, "fingerprint": {"type": "string"}, "dimensions": {"type": "integer"}}},
        "model_matches": {"type": "boolean", "description": "built with the loaded model (else uploads and searches answer 409)"},
        "dimensions": {"type": "integer"}, "vector_type": {"type": "string"},
        "chunk_tokens": {"type": "integer"}, "chunk_overlap": {"type": "integer"}, "prepend_title": {"type": "boolean"},
        "query_instruction": {"type": "string"}, "rerank": {"type": "boolean"}, "created_ms": {"type": "integer"},
        "documents": {"type": "object", "properties": {"pending": {"type": "integer"}, "indexed": {"type": "integer"}, "failed": {"type": "integer"}}},
        "chunks": {"type": "integer", "nullable": true, "description": "searchable chunks; null until its vector index is open"}
      }
    },
    "KbDocument": {
      "type": "object",
      "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "format": {"type": "string"}, "sha256": {"type": "string"},
        "size_bytes": {"type": "integer"}, "pages": {"type": "integer"},
        "status": {"type": "string", "enum": ["pending", "indexed", "failed"]}, "error": {"type": "string"},
        "chunks": {"type": "integer"}, "metadata": {"type": "object"}, "created_ms": {"type": "integer"}, "updated_ms": {"type": "integer"}
      }
    },
    "KbDocumentList": {
      "type": "object",
      "properties": {
        "object": {"type": "string", "enum": ["list"]},
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/KbDocument"}},
        "has_more": {"type": "boolean"},
        "next_after": {"type": "integer", "nullable": true, "description": "pass as ?after= for the next page"}
      }
    },
    "KbFileOutcome": {
      "type": "object",
      "properties": {
        "file": {"type": "string", "description": "the file name as uploaded"},
        "name": {"type": "string", "description": "the document name: the last path component, without control characters"},
        "document_id": {"type": "integer", "nullable": true},
        "status": {"type": "string", "enum": ["pending", "indexed", "duplicate", "replaced", "failed"]},
        "chunks": {"type": "integer"}, "tokens": {"type": "integer"},
        "error": {"type": "string"},
        "error_status": {"type": "integer", "description": "for files refused at upload: 413 over --max-upload-mb, 400 a name with no name part; 503 when the database was unreachable and the file was not recorded (send it again)"}
      }
    },
    "KbJob": {
      "type": "object",
      "properties": {
        "id": {"type": "integer"}, "collection": {"type": "string"},
        "state": {"type": "string", "enum": ["queued", "running", "done"]},
        "total": {"type": "integer"}, "finished": {"type": "integer"}, "indexed": {"type": "integer"},
        "duplicates": {"type": "integer"}, "replaced": {"type": "integer"}, "failed": {"type": "integer"},
        "tokens": {"type": "integer"}, "progress": {"type": "number", "description": "finished / total"},
        "created_ms": {"type": "integer"}, "finished_ms": {"type": "integer", "nullable": true},
        "documents": {"type": "array", "items": {"$ref": "#/components/schemas/KbFileOutcome"}}
      }
    },
    "KbUploadResponse": {
      "type": "object",
      "properties": {
        "job": {"$ref": "#/components/schemas/KbJob"},
        "documents": {"type": "array", "items": {"$ref": "#/components/schemas/KbFileOutcome"}}
      }
    },
    "KbJsonUpload": {
      "type": "object", "required": ["documents"],
      "properties": {"documents": {"type": "array", "items": {"type": "object", "required": ["name", "text"], "properties": {
        "name": {"type": "string"}, "text": {"type": "string"}, "metadata": {"type": "object"},
        "format": {"type": "string", "description": "markdown, html, text, pdf, docx; detected when absent"}}}}}
    },
    "KbMultipartUpload": {
      "type": "object",
      "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}, "description": "any number of file parts (each up to --max-upload-mb)"},
        "metadata": {"type": "string", "description": "a JSON object given to every file of the upload"}
      }
    },
    "KbSearchRequest": {
      "type": "object", "required": ["query"],
      "properties": {
        "query": {"type": "string"},
        "mode": {"type": "string", "enum": ["hybrid", "vector", "keyword"], "description": "default hybrid"},
        "top_k": {"type": "integer", "description": "1 to 1000 (default 10)"},
        "vector_weight": {"type": "number"}, "keyword_weight": {"type": "number"},
        "exact": {"type": "boolean", "description": "vector: the exact scan even when a graph exists"},
        "rerank": {"type": "boolean", "description": "rerank the candidates with the server's reranker; absent: the collection's default; 400 without --reranker-model"},
        "rerank_candidates": {"type": "integer", "description": "reranking: candidates retrieved and scored, max(this, top_k); 1 to 1000 (default 50)"},
        "filter": {"type": "object", "properties": {
          "document_ids": {"type": "array", "items": {"type": "integer"}},
          "formats": {"type": "array", "items": {"type": "string"}},
          "metadata": {"type": "object", "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}}}}
      }
    },
    "KbSearchResponse": {
      "type": "object",
      "properties": {
        "object": {"type": "string", "enum": ["list"]}, "collection": {"type": "string"}, "mode": {"type": "string"},
        "hits": {"type": "array", "items": {"type": "object", "properties": {
          "rank": {"type": "integer"}, "score": {"type": "number"}, "chunk_id": {"type": "integer"},
          "document_id": {"type": "integer"}, "document": {"type": "string"}, "format": {"type": "string"},
          "page": {"type": "integer"}, "page_last": {"type": "integer"}, "section": {"type": "string"},
          "text": {"type": "string"}, "start": {"type": "integer", "description": "code-point offset in the document's text"},
          "end": {"type": "integer"},
          "highlights": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}, "description": "[start, end) code points inside text"},
          "vector_score": {"type": "number"}, "keyword_score": {"type": "number"},
          "vector_rank": {"type": "integer"}, "keyword_rank": {"type": "integer"},
          "rerank_score": {"type": "number", "description": "reranked: the reranker's P(relevant), 0 to 1; hits are in its order"},
          "retrieval_rank": {"type": "integer", "description": "reranked: the place before reranking"},
          "metadata": {"type": "object"}}}},
        "reranked": {"type": "boolean"},
        "usage": {"type": "object", "properties": {"query_tokens": {"type": "integer"}, "rerank_tokens": {"type": "integer"}}},
        "timings": {"type": "object", "properties": {"embed_ms": {"type": "number"}, "search_ms": {"type": "number"}, "rerank_ms": {"type": "number"}, "total_ms": {"type": "number"}}}
      }
    }
  },
  "paths": {
    "/v1/kb/collections": {
      "post": {"summary": "create a collection for the loaded model (roles admin, embed)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KbCollectionRequest"}}}},
        "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KbCollection"}}}},
          "400": {"description": "invalid settings", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}}},
          "409": {"description": "the name is taken"}}},
      "get": {"summary": "list collections (roles admin, embed, search)",
        "responses": {"200": {"description": "{object: list, data: [KbCollection]}"}}}},
    "/v1/kb/collections/{name}": {
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {"summary": "a collection: settings, model, documents by status, chunks (roles admin, embed, search)",
        "responses": {"200": {"description": "the collection", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KbCollection"}}}},
          "404": {"description": "no such collection"}}},
      "delete": {"summary": "delete a collection and everything in it (roles admin, embed)",
        "responses": {"200": {"description": "{name, id, deleted: true}"}, "404": {"description": "no such collection"}}}},
    "/v1/kb/collections/{name}/documents": {
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
      "post": {"summary": "upload documents: multipart files (streamed to disk) or JSON texts; ingested in the background (roles admin, embed)",
        "parameters": [{"name": "wait", "in": "query", "schema": {"type": "boolean"}, "description": "answer 200 once the job is done"}],
        "requestBody": {"required": true, "content": {
          "multipart/form-data": {"schema": {"$ref": "#/components/schemas/KbMultipartUpload"}},
          "application/json": {"schema": {"$ref": "#/components/schemas/KbJsonUpload"}}}},
        "responses": {
          "202": {"description": "accepted: the job and a status per file", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KbUploadResponse"}}}},
          "200": {"description": "with ?wait=true: final statuses", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KbUploadResponse"}}}},
          "400": {"description": "malformed multipart or JSON"},
          "404": {"description": "no such collection"},
          "409": {"description": "the collection was built with another model"},
          "413": {"description": "more files than --max-upload-files, or a body past --max-upload-mb x --max-upload-files"},
          "429": {"description": "the server is receiving its limit of uploads at once"}}},
      "get": {"summary": "list documents, oldest first, paginated (roles admin, embed, search)",
        "parameters": [
          {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["pending", "indexed", "failed"]}},
          {"name": "after", "in": "query", "schema": {"type": "integer"}, "description": "the previous page's next_after"},
          {"name": "limit", "in": "query", "schema": {"type": "integer"}, "description": "1 to 1000 (default 100)"}],
        "responses": {"200": {"description": "a page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KbDocumentList"}}}}}}},
    "/v1/kb/collections/{name}/documents/{id}": {
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}},
                     {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
      "get": {"summary": "a document (roles admin, embed, search)",
        "responses": {"200": {"description": "the document", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KbDocument"}}}},
          "404": {"description": "no such document in the collection"}}},
      "delete": {"summary": "delete a document; its chunks leave search at once (roles admin, embed)",
        "responses": {"200": {"description": "{id, name, deleted: true}"}, "404": {"description": "no such document"}}}},
    "/v1/kb/collections/{name}/documents/{id}/metadata": {
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}},
                     {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
      "put": {"summary": "replace a document's metadata (roles admin, embed)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": {"description": "the document", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KbDocument"}}}}}}},
    "/v1/kb/collections/{name}/search": {
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
      "post": {"summary": "hybrid, vector or keyword search with citations (roles admin, embed, search)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KbSearchRequest"}}}},
        "responses": {"200": {"description": "hits, best first", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KbSearchResponse"}}}},
          "404": {"description": "no such collection"},
          "409": {"description": "the collection was built with another model"},
          "503": {"description": "its vector index is still opening (Retry-After); keyword mode works meanwhile"}}}},
    "/v1/kb/collections/{name}/documents/{id}/text": {
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}},
                     {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
      "get": {"summary": "the document's extracted text, which search hits' start/end index in code points (roles admin, embed, search)",
        "responses": {"200": {"description": "{id, name, format, text}"},
          "404": {"description": "no such collection or document"},
          "409": {"description": "the document is pending or failed: no text yet"}}}},
    "/v1/kb/collections/{name}/labels": {
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
      "post": {"summary": "a relevance judgement of a document for a query, for `qembed kb labels export` (roles admin, embed, search)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
          "required": ["query", "document", "relevant"],
          "properties": {"query": {"type": "string"}, "document": {"type": "string", "description": "the document's name"},
            "relevant": {"type": "boolean"}, "start": {"type": "integer"}, "end": {"type": "integer"}}}}}},
        "responses": {"201": {"description": "the label (it replaces an earlier one of the same query and document)"},
          "404": {"description": "no such collection, or no document of that name in it"}}}},
    "/v1/kb/jobs": {"get": {"summary": "ingestion jobs, most recent first (roles admin, embed, search)",
      "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
      "responses": {"200": {"description": "{object: list, data: [KbJob]} (without per-document outcomes)"}}}},
    "/v1/kb/jobs/{id}": {
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
      "get": {"summary": "a job's progress with each document's outcome (roles admin, embed, search)",
        "responses": {"200": {"description": "the job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KbJob"}}}},
          "404": {"description": "no such job (jobs live in memory)"}}}}
  }
})json";

std::string build_openapi(bool with_kb) {
  std::string s = kOpenApi;
  const std::string placeholder = "@VERSION@";
  s.replace(s.find(placeholder), placeholder.size(), QEMBED_VERSION);
  if (!with_kb) return s;
  nlohmann::json doc = nlohmann::json::parse(s);
  const nlohmann::json kb = nlohmann::json::parse(kKbOpenApi);
  for (const auto& [name, schema] : kb["schemas"].items()) doc["components"]["schemas"][name] = schema;
  for (const auto& [path, item] : kb["paths"].items()) doc["paths"][path] = item;
  doc["info"]["description"] =
      doc["info"]["description"].get<std::string>() +
      " Knowledge base (--kb): reads and search need admin, embed or search; changes admin or embed.";
  return doc.dump(2);
}

}  // namespace

const std::string& openapi_json(bool with_kb) {
  static const std::string without_kb = build_openapi(false);
  static const std::string with = build_openapi(true);
  return with_kb ? with : without_kb;
}

}  // namespace qembed::server::api
