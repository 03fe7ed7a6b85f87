#pragma once
// The PostgreSQL store's mapping between rows and the Store's value types (its SELECTs' column lists and their
// readers), and search filters as SQL conditions with bound parameters ($n). Internal to PgStore.
#include <string>

#include "kb/store/pg_conn.hpp"
#include "kb/store/store.hpp"
#include "kb/store/vector_codec.hpp"

namespace qembed::kb::pg {

//! The SQL condition (on documents `d`) for a filter; appends its parameters to `params`, whose size says which
//! number the first gets.
std::string filter_sql(const SearchFilter& filter, PgParams& params);

extern const char* const kCollectionColumns;
Collection read_collection(const PgResult& r, int row);

extern const char* const kDocumentSelect;
Document read_document(const PgResult& r, int row);

extern const char* const kChunkSelect;
Chunk read_chunk(const PgResult& r, int row);

//! $1..$4 of a `vectors` row write: (chunk_id, data, scale, original or NULL). `v` must outlive the query.
PgParams vector_row_params(int64_t chunk_id, const VectorRow& v);

}  // namespace qembed::kb::pg
