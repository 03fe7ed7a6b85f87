#include "kb/store/write_rules.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace qembed::kb {
namespace {

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

void require_valid_settings(const CollectionSettings& s) {
  if (s.name.empty() || s.name.size() > 128) throw Error("collection name must have 1 to 128 bytes");
  if (s.model.dimensions <= 0) throw Error("collection '" + s.name + "': model dimensions must be positive");
  if (s.dimensions <= 0 || s.dimensions > s.model.dimensions) {
    throw Error("collection '" + s.name + "': dimensions must be 1.." + std::to_string(s.model.dimensions) + ", got " +
                std::to_string(s.dimensions));
  }
  if (s.chunk_tokens <= 0) throw Error("collection '" + s.name + "': chunk size must be positive");
  if (s.overlap_tokens < 0 || s.overlap_tokens >= s.chunk_tokens) {
    throw Error("collection '" + s.name + "': overlap must be 0.." + std::to_string(s.chunk_tokens - 1));
  }
}

void require_valid_draft(const DocumentDraft& draft) {
  if (draft.name.empty() || draft.name.size() > 1024) throw Error("document name must have 1 to 1024 bytes");
  if (!is_sha256_hex(draft.sha256)) throw Error("document sha256 must be 64 lowercase hex digits");
  if (draft.format.size() > 32) throw Error("document format must have at most 32 bytes");
  if (draft.size_bytes < 0) throw Error("document size must not be negative");
}

void require_committable(const Document& doc, const DocumentContent& content) {
  if (doc.status != DocumentStatus::kPending) {
    throw Error("document " + std::to_string(doc.id) + " ('" + doc.name + "') is " +
                document_status_name(doc.status) + ", not pending");
  }
  if (content.sha256 != doc.sha256) {
    throw Error("document " + std::to_string(doc.id) + " ('" + doc.name +
                "') was superseded by a newer upload; this commit is dropped");
  }
}

void require_content_fits(const Document& doc, const DocumentContent& content, size_t dims) {
  const size_t n_chunks = content.chunks.size();
  if (content.vectors.size() != n_chunks * dims) {
    throw Error("document '" + doc.name + "': " + std::to_string(content.vectors.size()) + " vector values for " +
                std::to_string(n_chunks) + " chunks of " + std::to_string(dims) + " dimensions");
  }
  const auto text_bytes = static_cast<int64_t>(content.text.size());
  for (size_t i = 0; i < n_chunks; ++i) {
    const ChunkInput& c = content.chunks[i];
    if (c.byte_start < 0 || c.byte_start > c.byte_end || c.byte_end > text_bytes || c.cp_start < 0 ||
        c.cp_start > c.cp_end) {
      throw Error("document '" + doc.name + "': chunk " + std::to_string(i) + " [" + std::to_string(c.byte_start) +
                  ", " + std::to_string(c.byte_end) + ") lies outside its text of " + std::to_string(text_bytes) +
                  " bytes");
    }
    for (size_t k = 0; k < dims; ++k) {
      if (!std::isfinite(content.vectors[i * dims + k]))
        throw Error("document '" + doc.name + "': chunk " + std::to_string(i) + " has a non-finite vector value");
    }
  }
}

size_t require_replacement_fits(const ModelIdentity& model, int32_t dimensions, std::span<const int64_t> chunk_ids,
                                std::span<const float> vectors) {
  if (dimensions < 1 || dimensions > model.dimensions) {
    throw Error("dimensions " + std::to_string(dimensions) + " is out of range for model " + model.name + " (1.." +
                std::to_string(model.dimensions) + ")");
  }
  const auto dims = static_cast<size_t>(dimensions);
  if (vectors.size() != chunk_ids.size() * dims) {
    throw Error(std::to_string(vectors.size()) + " vector values for " + std::to_string(chunk_ids.size()) +
                " chunks of " + std::to_string(dims) + " dimensions");
  }
  for (float v : vectors) {
    if (!std::isfinite(v)) throw Error("a replacement vector has a non-finite value");
  }
  return dims;
}

void require_all_chunks_named(const Collection& collection, const std::vector<int64_t>& stored,
                              std::span<const int64_t> chunk_ids) {
  std::vector<int64_t> given(chunk_ids.begin(), chunk_ids.end());
  std::sort(given.begin(), given.end());
  if (given != stored) {
    throw Error("collection '" + collection.settings.name + "' has " + std::to_string(stored.size()) +
                " chunks; the replacement does not name exactly those");
  }
}

}  // namespace qembed::kb
