// GET /openapi.json: the routes as an OpenAPI 3 document, written by hand (TEI and vLLM users look for it; tools
// generate clients from it). tests/server/ops.test.mjs checks that it lists every route of the route table.
#include <string>

#include "server/api/routes.hpp"

namespace qembed::server::api {

namespace {

constexpr const char* kOpenApi = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "qembed",
    "version": "@VERSION@",
    "description": "Qwen3-Embedding over the OpenAI, text-embeddings-inference (TEI) and Ollama APIs. With API keys configured, send Authorization: Bearer KEY; roles: admin (everything), embed (embeddings, tokenize and the read-only routes), search (the read-only routes)."
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
        "properties": {"id": {"type": "string"}, "object": {"type": "string"}, "created": {"type": "integer"}, "owned_by": {"type": "string"}}
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
      "OllamaError": {"type": "object", "properties": {"error": {"type": "string"}}}
    }
  },
  "security": [{"bearer": []}],
  "paths": {
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
    "/v1/models": {"get": {"summary": "the served model (roles admin, embed, search)",
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

}  // namespace

const std::string& openapi_json() {
  static const std::string doc = [] {
    std::string s = kOpenApi;
    const std::string placeholder = "@VERSION@";
    s.replace(s.find(placeholder), placeholder.size(), QEMBED_VERSION);
    return s;
  }();
  return doc;
}

}  // namespace qembed::server::api
