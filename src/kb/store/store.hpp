#pragma once
// The knowledge base's storage interface: collections, documents (one row per name and version), their extracted
// text (stored once per content hash and shared by every document with that content), chunks, per-chunk vectors,
// keyword rows, ingestion status, and a change log that in-memory indexes (and later, followers) replay.
//
// Implementations: SqliteStore (kb/store/sqlite_store.hpp) and PgStore (kb/store/pg_store.hpp) implement it and run
// the same tests (tests/unit/kb/store_*_test.cpp are written against `Store&`).
//
// Errors (qembed::Error, common/error.hpp):
//   kInvalidInput  the caller's fault: unknown id/name, a name taken, a setting out of range, a chunk or vector that
//                  does not fit its document or collection. Nothing was changed.
//   kLimit         the store is busy (another process holds the write lock past the busy timeout): retry later.
//   kUnavailable   the database server is unreachable or restarting (PostgreSQL): retry later. Nothing was done —
//                  except that a write whose connection broke during its COMMIT may have landed: read it back.
//   kIo            the storage failed: unreadable/corrupt file, disk full, a schema this binary does not know.
// Every mutating call is atomic: it happens entirely or not at all (a failure rolls back).
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace qembed::kb {

//! How a collection's vectors are stored. kInt8 keeps per-vector symmetric int8 codes plus a scale for search, and
//! the f16 originals for rescoring (read from the store only for the top candidates).
enum class VectorType { kF32, kF16, kInt8 };
const char* vector_type_name(VectorType type);                       //!< "f32", "f16", "int8"
std::optional<VectorType> parse_vector_type(std::string_view name);  //!< inverse of vector_type_name

enum class DocumentStatus { kPending, kIndexed, kFailed };
const char* document_status_name(DocumentStatus status);  //!< "pending", "indexed", "failed"
std::optional<DocumentStatus> parse_document_status(std::string_view name);

//! The embedding model a collection was built with. Vectors from another model are meaningless in it.
struct ModelIdentity {
  std::string name;         //!< e.g. "Qwen3-Embedding-0.6B-Q8_0"
  std::string fingerprint;  //!< the service's model fingerprint (file hash)
  int32_t dimensions = 0;   //!< the model's native output dimensions
};

//! Everything fixed when a collection is created.
struct CollectionSettings {
  std::string name;  //!< unique in the store, 1..128 bytes
  ModelIdentity model;
  int32_t dimensions = 0;  //!< stored dimensions (MRL truncation): 1..model.dimensions
  VectorType vector_type = VectorType::kF32;
  int32_t chunk_tokens = 512;     //!< chunk size in tokens (> 0)
  int32_t overlap_tokens = 64;    //!< overlap between consecutive chunks (0 <= overlap < chunk_tokens)
  bool prepend_title = true;      //!< whether title/section path is prepended to each chunk before embedding
  std::string query_instruction;  //!< the `Instruct:` task for queries against this collection
  bool rerank = false;            //!< searches rerank their candidates unless the request says otherwise
};

struct Collection {
  int64_t id = 0;
  CollectionSettings settings;
  int64_t created_ms = 0;  //!< Unix time, milliseconds
};

//! What a caller knows about an upload before extracting it.
struct DocumentDraft {
  std::string name;    //!< unique within the collection (one indexed version per name), 1..1024 bytes
  std::string sha256;  //!< of the uploaded bytes, 64 lowercase hex digits
  std::string format;  //!< file type, e.g. "pdf", "md", "txt"
  int64_t size_bytes = 0;
  std::string metadata_json = "{}";  //!< user metadata, a JSON object
  std::string source;                //!< the uploaded bytes, kept while pending so ingestion can resume after a crash
};

struct Document {
  int64_t id = 0;
  int64_t collection_id = 0;
  std::string name;
  std::string sha256;
  std::string format;
  int64_t size_bytes = 0;
  int32_t pages = 0;  //!< 0 while pending or for formats without pages
  DocumentStatus status = DocumentStatus::kPending;
  std::string error;  //!< why it failed (status kFailed), else empty
  std::string metadata_json;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::optional<int64_t> content_id;  //!< the shared text/chunks/vectors; set exactly when indexed
  int32_t chunk_count = 0;
};

//! One chunk as the chunker produced it. Offsets index the document's extracted text.
struct ChunkInput {
  int64_t byte_start = 0, byte_end = 0;  //!< [start, end) in UTF-8 bytes
  int64_t cp_start = 0, cp_end = 0;      //!< the same span in code points
  int32_t page_first = 0, page_last = 0;
  std::string section_path;  //!< e.g. "Chapter 2 > Terms"
  int32_t n_tokens = 0;
  std::string keyword_text;  //!< already analysed for keyword search (kb/text): whitespace-separated terms
};

struct Chunk : ChunkInput {
  int64_t id = 0;
  int64_t content_id = 0;
  int32_t ordinal = 0;  //!< position in the document, from 0
};

//! A document's extracted text, chunks and one embedding per chunk (row-major, n_chunks x dimensions, L2-normalised
//! f32 as the service returns them; the store converts to the collection's vector type).
struct DocumentContent {
  std::string sha256;  //!< must equal the pending document's sha256 (a re-upload in between supersedes this commit)
  std::string text;
  std::string title;  //!< the document's title (metadata or first heading); "" when none
  int32_t pages = 0;
  std::vector<ChunkInput> chunks;
  std::vector<float> vectors;  //!< (n_chunks, dimensions)
};

//! What register_document did with an upload.
enum class RegisterOutcome {
  kCreated,        //!< new pending document: extract, chunk, embed, then commit_document
  kDuplicate,      //!< the same name already has this content (indexed or pending): nothing to do
  kSharedContent,  //!< this content is already stored in the collection: indexed at once, sharing its vectors
  kRetry,          //!< the same name and content had failed: pending again
};

struct Registration {
  RegisterOutcome outcome = RegisterOutcome::kCreated;
  Document document;  //!< its state after the call
};

//! Restricts searches to chunks of indexed documents that match every given condition.
struct SearchFilter {
  std::vector<int64_t> document_ids;  //!< empty: any
  std::vector<std::string> formats;   //!< empty: any
  //! key -> JSON scalar text (`"alice"`, `3`, `true`); a document matches when metadata[key] equals it. Keys are
  //! top-level metadata keys (any text; they are bound, never spliced into SQL).
  std::vector<std::pair<std::string, std::string>> metadata_equals;
  bool empty() const { return document_ids.empty() && formats.empty() && metadata_equals.empty(); }
};

struct KeywordHit {
  int64_t chunk_id = 0;
  int64_t content_id = 0;
  double score = 0;  //!< -bm25(): higher is better
};

//! A change of a collection's searchable chunks, in commit order. Chunk ids of one content are a contiguous range
//! (they are inserted in one transaction and never reused).
struct VectorChange {
  int64_t seq = 0;
  bool added = true;  //!< true: chunks [first, last] gained vectors; false: they were removed
  int64_t content_id = 0;
  int64_t first_chunk_id = 0, last_chunk_id = 0;
};

//! One stored vector as the store holds it, for the in-memory index.
struct StoredVector {
  int64_t chunk_id = 0;
  std::span<const uint8_t> data;  //!< f32/f16 little-endian values, or int8 codes
  float scale = 1;                //!< int8 only: value = code * scale
};

//! Documents of a collection by status (ingestion progress).
struct DocumentCounts {
  int64_t pending = 0, indexed = 0, failed = 0;
  bool operator==(const DocumentCounts&) const = default;
};

//! A person's judgement of a search result (the web UI's thumbs up or down): whether the document named
//! `document_name` answers `query`. Kept by name, not id, so it survives a new version of the document; exported
//! as BEIR qrels (`qembed kb labels export`) for `qembed kb eval`.
struct RelevanceLabel {
  int64_t collection_id = 0;
  std::string query;
  std::string document_name;
  int64_t passage_start = 0, passage_end = 0;  //!< the judged passage, code points in the document's text
  int32_t grade = 0;                           //!< 1 relevant, 0 not relevant (BEIR grades)
  int64_t created_ms = 0;
};

//! Row counts of every kind of stored thing: a test that deletes everything expects all zeros (except collections).
struct StoreCounts {
  int64_t collections = 0, documents = 0, contents = 0, chunks = 0, vectors = 0, keyword_rows = 0, pending_sources = 0;
  bool operator==(const StoreCounts&) const = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- collections
  //! Creates a collection. Errors: kInvalidInput when the name is taken or a setting is out of range.
  virtual Collection create_collection(const CollectionSettings& settings) = 0;
  virtual std::optional<Collection> find_collection(std::string_view name) = 0;
  virtual std::vector<Collection> list_collections() = 0;
  //! Removes the collection and everything in it. Error: kInvalidInput when unknown.
  virtual void delete_collection(int64_t collection_id) = 0;

  // --- documents
  //! Records an upload. Same name + same content: kDuplicate. Content already stored in the collection under
  //! another name: the document is indexed at once (kSharedContent, replacing this name's previous version in the
  //! same transaction). Otherwise a pending document (kCreated/kRetry); the name's indexed version, if any, stays
  //! searchable until the new one commits. A pending or failed version of the name with other content is
  //! dropped (a commit still running for it then fails with kInvalidInput). Errors: kInvalidInput for an unknown
  //! collection, bad name, sha256 or metadata.
  virtual Registration register_document(int64_t collection_id, const DocumentDraft& draft) = 0;

  //! Makes a pending document indexed: stores its text, chunks, vectors and keyword rows, removes the name's
  //! previous indexed version (and its content when no other document shares it), all in one transaction. When
  //! another document committed the same content meanwhile, that content is shared and `content` is not stored.
  //! Errors (nothing changed): kInvalidInput when the document is not pending, content.sha256 differs from the
  //! document's (superseded by a re-upload), a chunk lies outside the text, or vectors do not have
  //! n_chunks x dimensions finite values.
  virtual Document commit_document(int64_t document_id, const DocumentContent& content) = 0;

  //! Marks a pending document failed with a reason (its source bytes are dropped). Error: kInvalidInput when it
  //! is not pending.
  virtual void fail_document(int64_t document_id, std::string_view reason) = 0;

  //! Deletes a document; its content (text, chunks, vectors, keyword rows) goes too when no other document
  //! references it. Error: kInvalidInput when unknown.
  virtual void delete_document(int64_t document_id) = 0;

  //! Replaces a document's user metadata (a JSON object). Error: kInvalidInput when unknown or not an object.
  virtual void set_metadata(int64_t document_id, std::string_view metadata_json) = 0;

  virtual std::optional<Document> get_document(int64_t document_id) = 0;
  //! The documents named `name` (at most one indexed, one pending or failed), indexed first.
  virtual std::vector<Document> find_documents(int64_t collection_id, std::string_view name) = 0;
  //! Documents of a collection by id, optionally of one status; `after_id` pages (ids > after_id).
  virtual std::vector<Document> list_documents(int64_t collection_id, std::optional<DocumentStatus> status,
                                               int64_t after_id, int32_t limit) = 0;
  virtual DocumentCounts document_counts(int64_t collection_id) = 0;
  //! The uploaded bytes of a pending document (to resume its ingestion), or nullopt once it is indexed/failed.
  virtual std::optional<std::string> pending_source(int64_t document_id) = 0;

  // --- content
  virtual std::optional<std::string> content_text(int64_t content_id) = 0;
  //! The title stored with a content (DocumentContent::title); nullopt for an unknown id.
  virtual std::optional<std::string> content_title(int64_t content_id) = 0;
  //! Chunks of a content by ordinal.
  virtual std::vector<Chunk> content_chunks(int64_t content_id) = 0;
  //! The given chunks (unknown ids are skipped), in the order given.
  virtual std::vector<Chunk> get_chunks(std::span<const int64_t> chunk_ids) = 0;
  //! The text of each given chunk (its byte span of the content text), in the order given; "" for unknown ids.
  //! Reads only the chunk's bytes, not the whole document.
  virtual std::vector<std::string> chunk_texts(std::span<const int64_t> chunk_ids) = 0;
  //! Indexed documents referencing each content that match `filter`, as (content_id, document) pairs.
  virtual std::vector<std::pair<int64_t, Document>> documents_for_contents(std::span<const int64_t> content_ids,
                                                                           const SearchFilter& filter) = 0;
  //! Sorted ids of the collection's chunks that belong to an indexed document matching `filter`.
  virtual std::vector<int64_t> filter_chunk_ids(int64_t collection_id, const SearchFilter& filter) = 0;

  // --- vectors
  //! Streams every stored vector of the collection; returns the change sequence the snapshot corresponds to (read
  //! in one transaction). The spans are valid only during the callback, which must not call the store.
  virtual int64_t scan_vectors(int64_t collection_id, const std::function<void(const StoredVector&)>& fn) = 0;
  //! The given chunks' vectors as f32, row-major (n x dimensions): the originals for int8 collections (f16), the
  //! stored values otherwise. Error: kInvalidInput when an id has no vector in the collection.
  virtual std::vector<float> load_vectors_f32(int64_t collection_id, std::span<const int64_t> chunk_ids) = 0;
  //! Vectors of the chunk-id range [first, last] (for replaying an `added` change); `fn` as in scan_vectors.
  virtual void scan_vector_range(int64_t collection_id, int64_t first_chunk_id, int64_t last_chunk_id,
                                 const std::function<void(const StoredVector&)>& fn) = 0;

  //! Re-embedding (after a model change): replaces the vector of every chunk of the collection and records the new
  //! model identity and stored dimensions, in one transaction. `chunk_ids` must be exactly the collection's chunks
  //! (any order) and `vectors` (n x dimensions, L2-normalised f32) their new vectors. Logs every content as removed
  //! and added again, so indexes replay it. Errors (nothing changed): kInvalidInput when the ids are not the
  //! collection's chunks, a value is not finite, or dimensions exceed the model's.
  virtual void replace_vectors(int64_t collection_id, const ModelIdentity& model, int32_t dimensions,
                               std::span<const int64_t> chunk_ids, std::span<const float> vectors) = 0;

  // --- change sequence
  //! The collection's latest change sequence (0 when nothing was ever committed). Grows with every change of its
  //! searchable chunks; an index built at sequence S is current while this returns S.
  virtual int64_t change_seq(int64_t collection_id) = 0;
  //! Changes with seq > after_seq, oldest first, at most `limit`.
  virtual std::vector<VectorChange> changes_since(int64_t collection_id, int64_t after_seq, int32_t limit) = 0;

  // --- keyword search
  //! BM25 over the chunks' keyword text. `query_terms` is analysed text (whitespace-separated terms; any
  //! characters: each term is quoted); a chunk matches any term. At most k hits, best first. Empty query: no hits.
  //! Cost bound (a common-term cutoff, as Elasticsearch's cutoff_frequency): scoring is linear in the chunks that
  //! match, so when the terms together occur in more chunks than the store's row budget, the most frequent terms
  //! (the lowest IDF: they say least about relevance) are left out; the rarest term is always kept.
  virtual std::vector<KeywordHit> keyword_search(int64_t collection_id, std::string_view query_terms, int32_t k,
                                                 const SearchFilter& filter) = 0;

  // --- relevance labels
  //! Records a judgement, replacing an earlier one of the same (collection, query, document name). Error:
  //! kInvalidInput for an unknown collection, an empty query or document name, or a grade outside 0..3.
  virtual void save_label(const RelevanceLabel& label) = 0;
  //! A collection's judgements, oldest first.
  virtual std::vector<RelevanceLabel> list_labels(int64_t collection_id) = 0;

  // --- maintenance
  virtual StoreCounts counts() = 0;
  //! Writes a consistent copy of the whole store to `path` while it stays in use (SQLite: VACUUM INTO). Errors:
  //! kInvalidInput when `path` exists, kIo when it cannot be written.
  virtual void backup_to(const std::string& path) = 0;
  //! Storage-level disagreements (orphan contents/chunks/vectors, keyword rows without chunks and the reverse,
  //! documents whose status and content disagree, the engine's own integrity check), one line each; empty = clean.
  virtual std::vector<std::string> check_integrity() = 0;
};

}  // namespace qembed::kb
