// The SQLite store's schema, as migration steps: kSqliteMigrations[v] takes the file from user_version v to v + 1.
// Never edit a released step; append one.
#include "kb/store/sqlite_store.hpp"

namespace qembed::kb {

const char* const kSqliteMigrations[] = {
    // 0 -> 1: the first schema.
    R"sql(
CREATE TABLE collections (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  model_name TEXT NOT NULL,
  model_fingerprint TEXT NOT NULL,
  model_dimensions INTEGER NOT NULL,
  dimensions INTEGER NOT NULL,
  vector_type TEXT NOT NULL CHECK (vector_type IN ('f32', 'f16', 'int8')),
  chunk_tokens INTEGER NOT NULL,
  overlap_tokens INTEGER NOT NULL,
  prepend_title INTEGER NOT NULL,
  query_instruction TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
-- Extracted text, stored once per (collection, content hash) and shared by every document with that content.
CREATE TABLE contents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  sha256 TEXT NOT NULL,
  text TEXT NOT NULL,
  pages INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  UNIQUE (collection_id, sha256)
);
-- One row per name and version: at most one indexed row and one pending-or-failed row per name.
CREATE TABLE documents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  format TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'indexed', 'failed')),
  error TEXT NOT NULL DEFAULT '',
  metadata TEXT NOT NULL CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  content_id INTEGER REFERENCES contents(id),
  CHECK ((status = 'indexed') = (content_id IS NOT NULL))
);
CREATE UNIQUE INDEX documents_indexed_name ON documents(collection_id, name) WHERE status = 'indexed';
CREATE UNIQUE INDEX documents_other_name ON documents(collection_id, name) WHERE status <> 'indexed';
CREATE INDEX documents_content ON documents(content_id);
CREATE INDEX documents_collection_status ON documents(collection_id, status, id);
-- Uploaded bytes of pending documents, so ingestion resumes after a crash; dropped when indexed or failed.
CREATE TABLE pending_sources (
  document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
  bytes BLOB NOT NULL
);
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  content_id INTEGER NOT NULL REFERENCES contents(id) ON DELETE CASCADE,
  collection_id INTEGER NOT NULL,
  ordinal INTEGER NOT NULL,
  byte_start INTEGER NOT NULL, byte_end INTEGER NOT NULL,
  cp_start INTEGER NOT NULL, cp_end INTEGER NOT NULL,
  page_first INTEGER NOT NULL, page_last INTEGER NOT NULL,
  section_path TEXT NOT NULL,
  n_tokens INTEGER NOT NULL,
  keyword_text TEXT NOT NULL,
  UNIQUE (content_id, ordinal)
);
CREATE INDEX chunks_collection ON chunks(collection_id);
-- data: the collection's vector type (f32/f16 little-endian, or int8 codes with value = code * scale);
-- original: f16 values of int8 vectors, read only to rescore the top candidates.
CREATE TABLE vectors (
  chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
  data BLOB NOT NULL,
  scale REAL NOT NULL,
  original BLOB
);
CREATE VIRTUAL TABLE chunk_fts USING fts5(keyword_text, content = 'chunks', content_rowid = 'id',
                                          tokenize = 'unicode61 remove_diacritics 0');
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunk_fts(rowid, keyword_text) VALUES (new.id, new.keyword_text);
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
  INSERT INTO chunk_fts(chunk_fts, rowid, keyword_text) VALUES ('delete', old.id, old.keyword_text);
END;
-- The change log of searchable chunks, replayed by in-memory indexes (and later followers).
CREATE TABLE changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_id INTEGER NOT NULL,
  added INTEGER NOT NULL,
  content_id INTEGER NOT NULL,
  first_chunk_id INTEGER NOT NULL,
  last_chunk_id INTEGER NOT NULL
);
CREATE INDEX changes_collection ON changes(collection_id, seq);
CREATE TRIGGER contents_removed BEFORE DELETE ON contents BEGIN
  INSERT INTO changes(collection_id, added, content_id, first_chunk_id, last_chunk_id)
    SELECT old.collection_id, 0, old.id, min(id), max(id) FROM chunks WHERE content_id = old.id HAVING count(*) > 0;
END;
)sql",
    // 1 -> 2: a content's title (metadata title or first heading), so re-embedding rebuilds the same
    // "title > section" prefix the chunks were first embedded with.
    R"sql(
ALTER TABLE contents ADD COLUMN title TEXT NOT NULL DEFAULT '';
)sql",
    // 2 -> 3: relevance labels from people (the web UI's thumbs up/down), by document name so they outlive a new
    // version of the document; exported as BEIR qrels.
    R"sql(
CREATE TABLE relevance_labels (
  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  query TEXT NOT NULL,
  document_name TEXT NOT NULL,
  passage_start INTEGER NOT NULL,
  passage_end INTEGER NOT NULL,
  grade INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (collection_id, query, document_name)
);
)sql",
    // 3 -> 4: whether searches of the collection rerank their candidates by default (a request may say otherwise).
    R"sql(
ALTER TABLE collections ADD COLUMN rerank INTEGER NOT NULL DEFAULT 0;
)sql",
};

static_assert(sizeof(kSqliteMigrations) / sizeof(kSqliteMigrations[0]) == SqliteStore::kSchemaVersion,
              "one migration step per schema version");

}  // namespace qembed::kb
