#pragma once
// One extracted document -> what the store keeps and the service embeds: chunks (with the model's tokenizer, the
// collection's size/overlap), their keyword text, and the text each chunk is embedded as (with the title/section
// path in front when the collection asks for it). Pure: no store, no service (the tokenizer is a callback).
#include <cstdint>
#include <string>
#include <vector>

#include "kb/extract/extract.hpp"
#include "kb/store/store.hpp"
#include "kb/text/chunker.hpp"

namespace qembed::kb {

struct PreparedDocument {
  DocumentContent content;               //!< text, title, pages, chunks (vectors empty: the service fills them)
  std::vector<std::string> embed_texts;  //!< one per chunk
  int64_t tokens = 0;                    //!< sum of the chunks' token counts (the prefix not counted)
};

//! Chunks `doc` for `settings` (chunk_tokens, overlap_tokens, prepend_title). `sha256` is the upload's.
PreparedDocument prepare_document(ExtractedDocument doc, const std::string& sha256, const TokenizeFn& tokenize,
                                  const CollectionSettings& settings);

//! The text a stored chunk is embedded as: chunk text, after "title > section\n\n" when `prepend_title` (the same
//! prefix the chunker writes), for re-embedding from the stored text.
std::string embed_text_of(const std::string& title, const std::string& section, const std::string& text,
                          bool prepend_title);

}  // namespace qembed::kb
