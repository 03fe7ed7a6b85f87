#pragma once
// A Store that hands every call to another one: tests derive from it and override the calls they make fail (a
// database that drops its connection at a chosen moment), leaving the rest real.
#include "kb/store/store.hpp"

namespace qembed::kb::testing {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& inner) : inner_(inner) {}

  Collection create_collection(const CollectionSettings& s) override { return inner_.create_collection(s); }
  std::optional<Collection> find_collection(std::string_view name) override { return inner_.find_collection(name); }
  std::vector<Collection> list_collections() override { return inner_.list_collections(); }
  void delete_collection(int64_t id) override { inner_.delete_collection(id); }
  Registration register_document(int64_t collection_id, const DocumentDraft& draft) override {
    return inner_.register_document(collection_id, draft);
  }
  Document commit_document(int64_t id, const DocumentContent& content) override {
    return inner_.commit_document(id, content);
  }
  void fail_document(int64_t id, std::string_view reason) override { inner_.fail_document(id, reason); }
  void delete_document(int64_t id) override { inner_.delete_document(id); }
  void set_metadata(int64_t id, std::string_view json) override { inner_.set_metadata(id, json); }
  std::optional<Document> get_document(int64_t id) override { return inner_.get_document(id); }
  std::vector<Document> find_documents(int64_t collection_id, std::string_view name) override {
    return inner_.find_documents(collection_id, name);
  }
  std::vector<Document> list_documents(int64_t collection_id, std::optional<DocumentStatus> status, int64_t after_id,
                                       int32_t limit) override {
    return inner_.list_documents(collection_id, status, after_id, limit);
  }
  DocumentCounts document_counts(int64_t collection_id) override { return inner_.document_counts(collection_id); }
  std::optional<std::string> pending_source(int64_t id) override { return inner_.pending_source(id); }
  std::optional<std::string> content_text(int64_t id) override { return inner_.content_text(id); }
  std::optional<std::string> content_title(int64_t id) override { return inner_.content_title(id); }
  std::vector<Chunk> content_chunks(int64_t id) override { return inner_.content_chunks(id); }
  std::vector<Chunk> get_chunks(std::span<const int64_t> ids) override { return inner_.get_chunks(ids); }
  std::vector<std::string> chunk_texts(std::span<const int64_t> ids) override { return inner_.chunk_texts(ids); }
  std::vector<std::pair<int64_t, Document>> documents_for_contents(std::span<const int64_t> content_ids,
                                                                   const SearchFilter& filter) override {
    return inner_.documents_for_contents(content_ids, filter);
  }
  std::vector<int64_t> filter_chunk_ids(int64_t collection_id, const SearchFilter& filter) override {
    return inner_.filter_chunk_ids(collection_id, filter);
  }
  int64_t scan_vectors(int64_t collection_id, const std::function<void(const StoredVector&)>& fn) override {
    return inner_.scan_vectors(collection_id, fn);
  }
  std::vector<float> load_vectors_f32(int64_t collection_id, std::span<const int64_t> ids) override {
    return inner_.load_vectors_f32(collection_id, ids);
  }
  void scan_vector_range(int64_t collection_id, int64_t first, int64_t last,
                         const std::function<void(const StoredVector&)>& fn) override {
    inner_.scan_vector_range(collection_id, first, last, fn);
  }
  void replace_vectors(int64_t collection_id, const ModelIdentity& model, int32_t dimensions,
                       std::span<const int64_t> ids, std::span<const float> vectors) override {
    inner_.replace_vectors(collection_id, model, dimensions, ids, vectors);
  }
  int64_t change_seq(int64_t collection_id) override { return inner_.change_seq(collection_id); }
  std::vector<VectorChange> changes_since(int64_t collection_id, int64_t after_seq, int32_t limit) override {
    return inner_.changes_since(collection_id, after_seq, limit);
  }
  std::vector<KeywordHit> keyword_search(int64_t collection_id, std::string_view terms, int32_t k,
                                         const SearchFilter& filter) override {
    return inner_.keyword_search(collection_id, terms, k, filter);
  }
  void save_label(const RelevanceLabel& label) override { inner_.save_label(label); }
  std::vector<RelevanceLabel> list_labels(int64_t collection_id) override { return inner_.list_labels(collection_id); }
  StoreCounts counts() override { return inner_.counts(); }
  void backup_to(const std::string& path) override { inner_.backup_to(path); }
  std::vector<std::string> check_integrity() override { return inner_.check_integrity(); }

 protected:
  Store& inner_;
};

}  // namespace qembed::kb::testing
