#pragma once
// What every Store checks before a write changes anything, so SQLite and PostgreSQL refuse the same writes with
// the same messages (kInvalidInput; store.hpp states the contract).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kb/store/store.hpp"

namespace qembed::kb {

//! A new collection's settings: a name of 1..128 bytes, dimensions within the model's, a positive chunk size and an
//! overlap below it.
void require_valid_settings(const CollectionSettings& settings);

//! An upload's record: a name of 1..1024 bytes, a sha256 as 64 lowercase hex digits, a format of at most 32 bytes
//! and a size that is not negative. (Its metadata is checked by each store, with its own JSON reader.)
void require_valid_draft(const DocumentDraft& draft);

//! The document is pending and `content` is what was registered for it (not superseded by a newer upload).
void require_committable(const Document& doc, const DocumentContent& content);

//! New content fits its collection: n_chunks x dims vector values, all finite, and every chunk inside the text.
void require_content_fits(const Document& doc, const DocumentContent& content, size_t dims);

//! replace_vectors' arguments: dimensions within the model's, chunk_ids.size() x dimensions finite values. Returns
//! the dimensions as a size.
size_t require_replacement_fits(const ModelIdentity& model, int32_t dimensions, std::span<const int64_t> chunk_ids,
                                std::span<const float> vectors);

//! replace_vectors names exactly the collection's chunks (`stored`: its chunk ids in ascending order).
void require_all_chunks_named(const Collection& collection, const std::vector<int64_t>& stored,
                              std::span<const int64_t> chunk_ids);

}  // namespace qembed::kb
