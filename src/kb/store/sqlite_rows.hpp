#pragma once
// The SQLite store's mapping between rows and the Store's value types (the column lists its SELECTs use and the
// readers of those columns), and search filters as SQL conditions with bound parameters.
#include <string>
#include <vector>

#include "kb/store/sqlite_db.hpp"
#include "kb/store/store.hpp"
#include "kb/store/vector_codec.hpp"

namespace qembed::kb {

//! The SQL condition (on documents `d`) for a filter, and its text parameters numbered from `first_param`.
struct FilterSql {
  std::string sql;
  std::vector<std::string> params;
};
FilterSql filter_sql(const SearchFilter& filter, int first_param);
//! Binds the filter's parameters, numbered from `first_param` as filter_sql() wrote them.
void bind_params(Stmt& stmt, const FilterSql& filter, int first_param);

//! Columns of the collections table, in read_collection()'s order.
extern const char* const kCollectionColumns;
Collection read_collection(const Stmt& s);

//! SELECT of a document joined with its content (pages, chunk count), in read_document()'s order.
extern const char* const kDocumentSelect;
//! Reads kDocumentSelect's columns starting at column `first`.
Document read_document(const Stmt& s, int first = 0);

//! SELECT of a chunk, in read_chunk()'s order.
extern const char* const kChunkSelect;
Chunk read_chunk(const Stmt& s);

//! Binds ?1..?4 of a `vectors` row write: (chunk_id, data, scale, original or NULL). `v` must outlive the run.
void bind_vector_row(Stmt& stmt, int64_t chunk_id, const VectorRow& v);

}  // namespace qembed::kb
