#pragma once
// Token-aware chunking of one document's text into the passages the knowledge base embeds, indexes and cites.
//
// Cuts, in order of preference (docs/kb.md, "Chunking"): at headings (every heading up to
// ChunkOptions::section_break_level starts a new chunk), between blocks (paragraphs, list items, tables, code),
// between sentences (". ", "! ", "? ", the CJK 。！？；, a newline; code and tables: lines), and only then inside a
// sentence at a token boundary that is also a code point boundary. Small neighbouring blocks of one section are
// merged up to the budget. A chunk after a budget cut starts with up to overlap_tokens of the previous chunk's
// last sentences (a token-boundary tail when its last sentence alone is longer); a chunk that starts a section
// never overlaps the one before.
//
// Budget: every chunk's text, tokenized on its own by the caller's tokenizer, has at most chunk_tokens tokens (each
// chunk is checked with one call and cut shorter when it is over). The section path prepended to embed_text when
// prepend_section_path is on is NOT counted: its tokens come on top of chunk_tokens, so a caller with a hard
// model limit leaves room for them.
//
// Cost: linear in the text. The tokenizer is called on bounded pieces (a block, or runs of sentences of at most
// 64 KiB) and once on each chunk's text; never on the whole document.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qembed::kb {

//! One structural block of the document text, as an extractor found it. Blocks are expected in text order and not
//! overlapping; the chunker sorts them, clips overlaps and treats text outside every block as paragraphs, so no
//! text is lost to a sloppy extractor.
struct Block {
  enum class Kind { kHeading, kParagraph, kListItem, kTable, kCode };
  Kind kind = Kind::kParagraph;
  int level = 0;     //!< heading level, 1 (outermost) .. 6; ignored for other kinds
  size_t start = 0;  //!< byte offset in the document text
  size_t end = 0;    //!< byte offset in the document text (exclusive)
  int page = 0;      //!< page number (1-based in paged formats, 0 where the format has no pages)
};

//! Each token's byte span [start, stop) in the text it was given, in order: the model's own tokenizer.
using TokenSpans = std::vector<std::pair<size_t, size_t>>;
using TokenizeFn = std::function<TokenSpans(std::string_view text)>;

struct ChunkOptions {
  int chunk_tokens = 512;             //!< most tokens in a chunk's text (at least kMinChunkTokens)
  int overlap_tokens = 64;            //!< most tokens a chunk repeats from the previous one (< chunk_tokens)
  bool prepend_section_path = false;  //!< embed_text = "title > section > sub\n\n" + chunk text
  std::string title;                  //!< document title, first in the prepended path (none when empty)
  int section_break_level = 6;        //!< headings of this level or above (1 = top) start a new chunk
};

//! A byte-level tokenizer can split one code point into up to 4 tokens; a chunk must hold one code point.
inline constexpr int kMinChunkTokens = 4;

struct TextChunk {
  size_t start = 0;                       //!< byte offset of the chunk text in the document text
  size_t end = 0;                         //!< byte offset (exclusive)
  int64_t start_cp = 0;                   //!< the same in code points
  int64_t end_cp = 0;                     //!< the same in code points (exclusive)
  int page_first = 0;                     //!< page of the chunk's first block
  int page_last = 0;                      //!< page of its last block
  std::vector<std::string> section_path;  //!< enclosing heading titles, outermost first
  std::string section;                    //!< section_path joined with " > "
  int n_tokens = 0;                       //!< tokens of text[start, end) as the tokenizer counts them
  std::string embed_text;                 //!< what to embed: the chunk text, with the path before it if asked
};

//! Chunks of text in document order. Throws Error (invalid input) for options out of range; exceptions of the
//! tokenizer pass through. Deterministic: the same inputs give the same chunks.
std::vector<TextChunk> chunk_document(std::string_view text, std::span<const Block> blocks, const TokenizeFn& tokenize,
                                  const ChunkOptions& options = {});

//! "a > b > c".
std::string join_section_path(const std::vector<std::string>& path);

}  // namespace qembed::kb
