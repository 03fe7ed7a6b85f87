#include "kb/document_prep.hpp"

#include "kb/text/keyword_terms.hpp"

namespace qembed::kb {
namespace {

Block::Kind chunker_kind(BlockKind kind) {
  switch (kind) {
    case BlockKind::kHeading: return Block::Kind::kHeading;
    case BlockKind::kListItem: return Block::Kind::kListItem;
    case BlockKind::kTable: return Block::Kind::kTable;
    case BlockKind::kCode: return Block::Kind::kCode;
    case BlockKind::kParagraph: break;
  }
  return Block::Kind::kParagraph;
}

}  // namespace

PreparedDocument prepare_document(ExtractedDocument doc, const std::string& sha256, const TokenizeFn& tokenize,
                                  const CollectionSettings& settings) {
  std::vector<Block> blocks;
  blocks.reserve(doc.blocks.size());
  for (const TextBlock& b : doc.blocks) {
    Block block;
    block.kind = chunker_kind(b.kind);
    block.level = b.kind == BlockKind::kHeading ? b.level : 0;
    block.start = b.start;
    block.end = b.end;
    block.page = b.page;
    blocks.push_back(block);
  }
  ChunkOptions options;
  options.chunk_tokens = settings.chunk_tokens;
  options.overlap_tokens = settings.overlap_tokens;
  options.prepend_section_path = settings.prepend_title;
  options.title = doc.title;
  std::vector<TextChunk> chunks = chunk_document(doc.text, blocks, tokenize, options);

  PreparedDocument out;
  out.content.sha256 = sha256;
  out.content.pages = doc.pages;
  out.content.title = doc.title;
  out.content.chunks.reserve(chunks.size());
  out.embed_texts.reserve(chunks.size());
  const std::string_view text = doc.text;
  for (TextChunk& c : chunks) {
    ChunkInput in;
    in.byte_start = static_cast<int64_t>(c.start);
    in.byte_end = static_cast<int64_t>(c.end);
    in.cp_start = c.start_cp;
    in.cp_end = c.end_cp;
    in.page_first = c.page_first;
    in.page_last = c.page_last;
    in.section_path = c.section;
    in.n_tokens = c.n_tokens;
    in.keyword_text = keyword_index_text(text.substr(c.start, c.end - c.start));
    out.tokens += c.n_tokens;
    out.content.chunks.push_back(std::move(in));
    out.embed_texts.push_back(std::move(c.embed_text));
  }
  out.content.text = std::move(doc.text);
  return out;
}

std::string embed_text_of(const std::string& title, const std::string& section, const std::string& text,
                          bool prepend_title) {
  if (!prepend_title) return text;
  std::string prefix = title;
  if (!section.empty()) prefix += prefix.empty() ? section : " > " + section;
  return prefix.empty() ? text : prefix + "\n\n" + text;
}

}  // namespace qembed::kb
