#include "kb/text/chunker.hpp"

#include <algorithm>
#include <optional>

#include "common/error.hpp"
#include "kb/text/utf8_offsets.hpp"

namespace qembed::kb {

namespace {

// The tokenizer sees at most this many bytes at a time while units are built (a block, or a run of its sentences).
constexpr size_t kPieceBytes = 64 * 1024;
constexpr size_t kMaxTitleBytes = 200;

using Range = std::pair<size_t, size_t>;

bool is_cp_start(std::string_view t, size_t i) { return i >= t.size() || (static_cast<uint8_t>(t[i]) & 0xC0) != 0x80; }

uint8_t byte_at(std::string_view t, size_t i) { return static_cast<uint8_t>(t[i]); }

bool is_ascii_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Bytes of the whitespace character at i (0 when none): ASCII whitespace, NBSP, the ideographic space.
size_t space_at(std::string_view t, size_t i, size_t end) {
  const uint8_t c = byte_at(t, i);
  if (is_ascii_space(c)) return 1;
  if (c == 0xC2 && i + 2 <= end && byte_at(t, i + 1) == 0xA0) return 2;
  if (c == 0xE3 && i + 3 <= end && byte_at(t, i + 1) == 0x80 && byte_at(t, i + 2) == 0x80) return 3;
  return 0;
}

size_t skip_space(std::string_view t, size_t i, size_t end) {
  while (i < end) {
    const size_t n = space_at(t, i, end);
    if (n == 0) break;
    i += n;
  }
  return i;
}

size_t trim_end(std::string_view t, size_t start, size_t end) {
  while (end > start) {
    if (is_ascii_space(byte_at(t, end - 1))) {
      --end;
    } else if (end - start >= 2 && space_at(t, end - 2, end) == 2) {
      end -= 2;
    } else if (end - start >= 3 && space_at(t, end - 3, end) == 3) {
      end -= 3;
    } else {
      break;
    }
  }
  return end;
}

// ---- blocks: sorted, clipped, gaps filled, trimmed ----

std::vector<Block> tidy_blocks(std::string_view text, std::span<const Block> given) {
  const size_t n = text.size();
  std::vector<Block> sorted(given.begin(), given.end());
  for (Block& b : sorted) {
    b.start = std::min(b.start, n);
    b.end = std::clamp(b.end, b.start, n);
    while (!is_cp_start(text, b.start)) ++b.start;  // never cut inside a UTF-8 sequence
    while (!is_cp_start(text, b.end)) ++b.end;
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const Block& a, const Block& b) { return a.start < b.start; });

  std::vector<Block> out;
  auto add = [&](Block b) {
    b.start = skip_space(text, b.start, b.end);
    b.end = trim_end(text, b.start, b.end);
    if (b.start < b.end) out.push_back(b);
  };
  size_t covered = 0;
  int page = sorted.empty() ? 0 : sorted.front().page;
  for (Block b : sorted) {
    b.start = std::max(b.start, covered);
    if (b.end <= b.start) continue;
    if (covered < b.start) add(Block{Block::Kind::kParagraph, 0, covered, b.start, page});  // text no block claimed
    covered = b.end;
    page = b.page;
    add(b);
  }
  if (covered < n) add(Block{Block::Kind::kParagraph, 0, covered, n, page});
  return out;
}

// "## Install  it\n" -> "Install it": markers dropped, whitespace collapsed, at most kMaxTitleBytes.
std::string heading_title(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && text[i] == '#') ++i;
  std::string title;
  bool space = false;
  for (; i < text.size(); ++i) {
    if (is_ascii_space(byte_at(text, i))) {
      space = !title.empty();
      continue;
    }
    if (space) title += ' ';
    space = false;
    title += text[i];
  }
  if (title.size() > kMaxTitleBytes) {
    size_t cut = kMaxTitleBytes;
    while (!is_cp_start(title, cut)) --cut;
    title.resize(cut);
  }
  return title;
}

// ---- sentences ----

// A sentence ends after . ! ? followed by whitespace, after 。！？；, and at a newline; code and tables end only at
// newlines. Ranges are trimmed and non-empty; one longer than kPieceBytes is sliced (at whitespace if it can be),
// so the tokenizer always sees bounded text.
class SentenceSplitter {
 public:
  explicit SentenceSplitter(std::string_view text) : t_(text) {}

  void split(size_t start, size_t end, bool lines_only, std::vector<Range>& out) const {
    size_t cur = start;
    auto flush = [&](size_t cut) {
      const size_t a = skip_space(t_, cur, cut);
      const size_t b = trim_end(t_, a, cut);
      if (a < b) push_sliced(a, b, out);
      cur = cut;
    };
    for (size_t i = start; i < end; ++i) {
      const uint8_t c = byte_at(t_, i);
      if (c == '\n') {
        flush(i + 1);
      } else if (lines_only) {
        continue;
      } else if (c == '.' || c == '!' || c == '?') {
        if (i + 1 == end || is_ascii_space(byte_at(t_, i + 1))) flush(i + 1);
      } else if ((c == 0xE3 || c == 0xEF) && i + 3 <= end && is_cjk_sentence_end(i)) {
        flush(i + 3);
        i += 2;
      }
    }
    flush(end);
  }

  //! Whether pos (a non-space position) begins a sentence: after a newline, after CJK sentence punctuation, or
  //! after . ! ? and whitespace.
  bool starts_sentence(size_t pos, size_t floor) const {
    size_t i = pos;
    bool spaced = false;
    while (i > floor) {
      const uint8_t c = byte_at(t_, i - 1);
      if (c == '\n') return true;
      if (!is_ascii_space(c)) break;
      spaced = true;
      --i;
    }
    if (i == floor) return true;
    const uint8_t c = byte_at(t_, i - 1);
    if (c == '.' || c == '!' || c == '?') return spaced;
    return i >= floor + 3 && is_cjk_sentence_end(i - 3);
  }

 private:
  // 。(E3 80 82) ！(EF BC 81) ？(EF BC 9F) ；(EF BC 9B)
  bool is_cjk_sentence_end(size_t i) const {
    const uint8_t a = byte_at(t_, i), b = byte_at(t_, i + 1), c = byte_at(t_, i + 2);
    if (a == 0xE3) return b == 0x80 && c == 0x82;
    return a == 0xEF && b == 0xBC && (c == 0x81 || c == 0x9F || c == 0x9B);
  }

  void push_sliced(size_t a, size_t b, std::vector<Range>& out) const {
    while (b - a > kPieceBytes) {
      size_t cut = a + kPieceBytes;
      size_t space = cut;
      while (space > a + kPieceBytes / 2 && !is_ascii_space(byte_at(t_, space))) --space;
      if (space > a + kPieceBytes / 2) cut = space;
      while (!is_cp_start(t_, cut)) --cut;
      out.emplace_back(a, trim_end(t_, a, cut));
      a = skip_space(t_, cut, b);
    }
    if (a < b) out.emplace_back(a, b);
  }

  std::string_view t_;
};

// ---- units: whole blocks, or sentences, or token-bounded pieces of a sentence ----

struct Unit {
  size_t start = 0, end = 0;  // trimmed byte range
  int tokens = 0;             // tokens (exact for a whole block, estimated from its block's tokenization otherwise)
  int block_tokens = 0;       // tokens of the unit's whole block
  int page = 0;
  uint32_t path = 0;      // index into the section paths
  int heading_level = 0;  // > 0 for a heading's units
  bool block_first = false;
  bool section_break = false;  // the first unit of a heading that starts a new chunk
};

class Tokenizer {
 public:
  Tokenizer(std::string_view text, const TokenizeFn& fn) : t_(text), fn_(fn) {}

  //! Tokens of text[a, b), as absolute byte spans sorted by start.
  TokenSpans spans(size_t a, size_t b) const {
    TokenSpans s = fn_(t_.substr(a, b - a));
    const size_t len = b - a;
    for (auto& [x, y] : s) {
      x = a + std::min(x, len);
      y = a + std::clamp(y, x - a, len);
    }
    if (!std::is_sorted(s.begin(), s.end())) std::sort(s.begin(), s.end());
    return s;
  }

 private:
  std::string_view t_;
  const TokenizeFn& fn_;
};

// The first token that must not be in the piece is spans[idx + budget]; cut at the last token start before it that is
// a code point boundary, else (a byte-level tokenizer splitting characters) at a code point boundary inside the
// token, else after one code point. Returns a position in (from, limit].
size_t choose_cut(std::string_view text, const TokenSpans& spans, size_t idx, size_t budget, size_t from,
                  size_t limit) {
  const size_t t = idx + budget;
  for (size_t k = t; k > idx; --k) {
    const size_t p = spans[k].first;
    if (p > from && p < limit && is_cp_start(text, p)) return p;
  }
  size_t p = std::min(spans[t].first, limit);
  while (p > from && !is_cp_start(text, p)) --p;
  if (p > from) return p;
  p = from + 1;
  while (p < limit && !is_cp_start(text, p)) ++p;
  return p;
}

class UnitBuilder {
 public:
  // A sentence over the budget is cut into pieces of piece_budget tokens: the budget less the overlap, so that the
  // chunk after a piece can still start with the overlap.
  UnitBuilder(std::string_view text, const Tokenizer& tok, int budget, int piece_budget)
      : t_(text), tok_(tok), budget_(budget), piece_budget_(piece_budget) {}

  //! Appends the units of block b (trimmed, non-empty) to units.
  void add_block(const Block& b, std::vector<Unit>& units) {
    sentences_.clear();
    SentenceSplitter(t_).split(b.start, b.end, b.kind == Block::Kind::kCode || b.kind == Block::Kind::kTable,
                               sentences_);
    if (sentences_.empty()) return;
    const size_t first_unit = units.size();
    const bool one_piece = sentences_.back().second - sentences_.front().first <= kPieceBytes;
    int block_tokens = 0;
    for (size_t s = 0; s < sentences_.size();) {
      size_t e = s + 1;
      while (e < sentences_.size() && sentences_[e].second - sentences_[s].first <= kPieceBytes) ++e;
      const TokenSpans spans = tok_.spans(sentences_[s].first, sentences_[e - 1].second);
      block_tokens += static_cast<int>(spans.size());
      if (one_piece && static_cast<int>(spans.size()) <= budget_) {
        units.push_back(Unit{sentences_.front().first, sentences_.back().second, block_tokens});
        break;
      }
      // Each sentence takes the tokens that start before its end (and after the previous sentence's).
      size_t k = 0;
      for (size_t m = s; m < e; ++m) {
        const size_t lo = k;
        if (m + 1 == e) {
          k = spans.size();
        } else {
          while (k < spans.size() && spans[k].first < sentences_[m].second) ++k;
        }
        add_sentence(sentences_[m], spans, lo, k, units);
      }
      s = e;
    }
    for (size_t u = first_unit; u < units.size(); ++u) {
      units[u].block_tokens = block_tokens;
      units[u].page = b.page;
    }
    units[first_unit].block_first = true;
  }

 private:
  // A sentence over the budget is cut at token boundaries into pieces of at most piece_budget tokens.
  void add_sentence(Range r, const TokenSpans& spans, size_t lo, size_t hi, std::vector<Unit>& units) const {
    if (static_cast<int>(hi - lo) <= budget_) {
      units.push_back(Unit{r.first, r.second, static_cast<int>(hi - lo)});
      return;
    }
    const size_t budget = static_cast<size_t>(piece_budget_);
    size_t from = r.first, idx = lo;
    while (from < r.second) {
      while (idx < hi && spans[idx].first < from) ++idx;
      if (hi - idx <= budget) {
        units.push_back(Unit{from, r.second, static_cast<int>(hi - idx)});
        return;
      }
      const size_t cut = choose_cut(t_, spans, idx, budget, from, r.second);
      size_t next_idx = idx;
      while (next_idx < hi && spans[next_idx].first < cut) ++next_idx;
      const size_t end = trim_end(t_, from, cut);
      if (end > from) units.push_back(Unit{from, end, static_cast<int>(next_idx - idx)});
      from = skip_space(t_, cut, r.second);
      idx = next_idx;
    }
  }

  std::string_view t_;
  const Tokenizer& tok_;
  int budget_;
  int piece_budget_;
  std::vector<Range> sentences_;
};

// ---- packing units into chunks ----

// Code points before monotone positions, counted incrementally (a position before the last one counts back).
class CodePointCursor {
 public:
  explicit CodePointCursor(std::string_view t) : t_(t) {}
  int64_t at(size_t p) {
    if (p >= pos_) {
      cp_ += code_point_count(t_.substr(pos_, p - pos_));
    } else {
      cp_ -= code_point_count(t_.substr(p, pos_ - p));
    }
    pos_ = p;
    return cp_;
  }

 private:
  std::string_view t_;
  size_t pos_ = 0;
  int64_t cp_ = 0;
};

class Packer {
 public:
  Packer(std::string_view text, std::vector<Unit> units, std::vector<std::vector<std::string>> paths,
         const Tokenizer& tok, const ChunkOptions& options)
      : t_(text),
        units_(std::move(units)),
        paths_(std::move(paths)),
        tok_(tok),
        opt_(options),
        budget_(options.chunk_tokens),
        starts_(text),
        ends_(text) {}

  std::vector<TextChunk> run() {
    std::optional<Overlap> overlap;
    size_t i = 0;
    while (i < units_.size()) {
      size_t j = gather(i, overlap.has_value() ? overlap->tokens : 0, overlap.has_value());
      size_t start = overlap ? overlap->start : units_[i].start;
      TokenSpans spans;
      for (;;) {  // until the tokenizer agrees with the estimate
        spans = tok_.spans(start, units_[j - 1].end);
        if (fits(spans)) break;
        if (j - i > 1) {
          j = last_fitting_unit(spans, i, j);
        } else if (overlap) {
          overlap.reset();
          start = units_[i].start;
        } else {
          break;
        }
      }
      if (!fits(spans)) {  // one unit alone is over the budget: emit its head, keep the rest as unit i
        const size_t head_start = units_[i].start;
        const size_t head_end = emit_head(i, spans);
        const size_t next = units_[i].start < units_[i].end ? i : i + 1;
        overlap = next < units_.size() ? next_overlap(head_start, head_end, i, i + 1, next, last_spans_) : std::nullopt;
        i = next;
        continue;
      }
      emit(start, units_[j - 1].end, std::span<const Unit>(units_).subspan(i, j - i), overlap, spans);
      overlap = j < units_.size() ? next_overlap(start, units_[j - 1].end, i, j, j, spans) : std::nullopt;
      i = j;
    }
    return std::move(chunks_);
  }

 private:
  struct Overlap {
    size_t start = 0;
    int tokens = 0;
    int page = 0;
  };

  bool fits(const TokenSpans& spans) const { return static_cast<int>(spans.size()) <= budget_; }

  // Units [i, j) for the next chunk: a section break ends it (a heading right after headings stays: "# A" "## B"),
  // a block that does not fit whole starts the next chunk, and so does a unit over the remaining budget.
  size_t gather(size_t i, int est, bool has_overlap) const {
    bool headings_only = !has_overlap;
    int last_heading = 0;
    size_t j = i;
    for (; j < units_.size(); ++j) {
      const Unit& u = units_[j];
      if (j > i) {
        if (u.section_break && !(headings_only && u.heading_level > last_heading)) break;
        if (u.block_first && !headings_only && est + u.block_tokens > budget_) break;
        if (est + u.tokens > budget_) break;
      }
      est += u.tokens;
      if (u.heading_level > 0) {
        last_heading = u.heading_level;
      } else {
        headings_only = false;
      }
    }
    return j;
  }

  static size_t tokens_before(const TokenSpans& spans, size_t pos) {
    return static_cast<size_t>(
        std::lower_bound(spans.begin(), spans.end(), pos,
                         [](const std::pair<size_t, size_t>& s, size_t p) { return s.first < p; }) -
        spans.begin());
  }

  // The largest k in (i, j) whose units [i, k) fit by the chunk's own tokenization (i + 1 when none does).
  size_t last_fitting_unit(const TokenSpans& spans, size_t i, size_t j) const {
    for (size_t k = j - 1; k > i + 1; --k) {
      if (static_cast<int>(tokens_before(spans, units_[k - 1].end)) <= budget_) return k;
    }
    return i + 1;
  }

  // Emits the longest head of unit i that fits, moves the unit's start past it, and returns the head's end.
  size_t emit_head(size_t i, const TokenSpans& unit_spans) {
    Unit& u = units_[i];
    size_t target = static_cast<size_t>(budget_);
    size_t cut = u.end, head_end = u.end;
    TokenSpans head;
    for (int attempt = 0; attempt < 8; ++attempt) {
      cut = choose_cut(t_, unit_spans, 0, target, u.start, u.end);
      head_end = trim_end(t_, u.start, cut);
      head = tok_.spans(u.start, head_end);
      if (fits(head) || target == 1) break;
      target -= std::min(target - 1, head.size() - static_cast<size_t>(budget_));  // ask for fewer tokens
    }
    Unit head_unit = u;
    head_unit.end = head_end;
    emit(head_unit.start, head_end, std::span<const Unit>(&head_unit, 1), std::nullopt, head);
    u.start = skip_space(t_, cut, u.end);
    u.tokens = std::max(1, u.tokens - static_cast<int>(head.size()));
    u.block_first = false;
    u.section_break = false;
    last_spans_ = std::move(head);
    return head_end;
  }

  // The overlap the chunk after [start, end) (units [i, j)) starts with: its last whole sentences that fit in
  // overlap_tokens (and leave room for unit `next`), else a token-boundary tail; none before a section break, none
  // reaching back over a heading, never the whole previous chunk.
  std::optional<Overlap> next_overlap(size_t start, size_t end, size_t i, size_t j, size_t next,
                                      const TokenSpans& spans) const {
    const Unit& nx = units_[next];
    const int limit = std::min(opt_.overlap_tokens, budget_ - nx.tokens);
    if (nx.section_break || limit <= 0) return std::nullopt;
    size_t min_start = start + 1;
    for (size_t k = i; k < j; ++k) {
      if (units_[k].heading_level > 0) min_start = std::max(min_start, std::min(units_[k].end, end));
    }
    const size_t count = spans.size();
    auto tokens_from = [&](size_t p) { return count - tokens_before(spans, p); };
    // Sentence starts can only lie where at most `limit` tokens remain.
    const size_t scan_from = std::max(
        min_start, count > static_cast<size_t>(limit) ? spans[count - static_cast<size_t>(limit)].first : start);
    std::optional<size_t> best;
    auto consider = [&](size_t p) {
      if (p >= min_start && p < end && tokens_from(p) <= static_cast<size_t>(limit) && (!best || p < *best)) best = p;
    };
    for (size_t k = i; k < j; ++k) consider(units_[k].start);
    std::vector<Range> sentences;
    const SentenceSplitter splitter(t_);
    splitter.split(scan_from, end, false, sentences);
    for (size_t k = 0; k < sentences.size(); ++k) {
      if (k > 0 || splitter.starts_sentence(sentences[k].first, start)) consider(sentences[k].first);
    }
    if (!best) {  // the last sentence alone is longer than the overlap: its token-boundary tail
      for (size_t m = count > static_cast<size_t>(limit) ? count - static_cast<size_t>(limit) : 0; m < count; ++m) {
        const size_t p = skip_space(t_, spans[m].first, end);
        if (p >= min_start && p < end && is_cp_start(t_, p) && is_cp_start(t_, spans[m].first)) {
          best = p;
          break;
        }
      }
    }
    if (!best) return std::nullopt;
    int page = units_[i].page;
    for (size_t k = j; k-- > i;) {
      if (units_[k].start <= *best) {
        page = units_[k].page;
        break;
      }
    }
    return Overlap{*best, static_cast<int>(tokens_from(*best)), page};
  }

  // Appends the chunk text[start, end) made of `units` (and the overlap before them).
  void emit(size_t start, size_t end, std::span<const Unit> units, const std::optional<Overlap>& overlap,
            const TokenSpans& spans) {
    TextChunk c;
    c.start = start;
    c.end = end;
    c.start_cp = starts_.at(start);
    c.end_cp = ends_.at(end);
    c.page_first = overlap ? overlap->page : units.front().page;
    c.page_last = c.page_first;
    uint32_t path = units.back().path;
    bool path_found = false;
    for (const Unit& u : units) {
      c.page_first = std::min(c.page_first, u.page);
      c.page_last = std::max(c.page_last, u.page);
      if (!path_found && u.heading_level == 0) {
        path = u.path;
        path_found = true;
      }
    }
    c.section_path = paths_[path];
    c.section = join_section_path(c.section_path);
    c.n_tokens = static_cast<int>(spans.size());
    const std::string_view body = t_.substr(start, end - start);
    if (opt_.prepend_section_path) {
      std::vector<std::string> full;
      if (!opt_.title.empty()) full.push_back(opt_.title);
      full.insert(full.end(), c.section_path.begin(), c.section_path.end());
      if (!full.empty()) c.embed_text = join_section_path(full) + "\n\n";
    }
    c.embed_text.append(body);
    chunks_.push_back(std::move(c));
  }

  std::string_view t_;
  std::vector<Unit> units_;
  std::vector<std::vector<std::string>> paths_;
  const Tokenizer& tok_;
  const ChunkOptions& opt_;
  int budget_;
  CodePointCursor starts_, ends_;
  TokenSpans last_spans_;
  std::vector<TextChunk> chunks_;
};

void check_options(const ChunkOptions& o) {
  if (o.chunk_tokens < kMinChunkTokens) {
    throw Error("chunk_tokens must be at least " + std::to_string(kMinChunkTokens) + ", got " +
                std::to_string(o.chunk_tokens));
  }
  if (o.overlap_tokens < 0 || o.overlap_tokens >= o.chunk_tokens) {
    throw Error("overlap_tokens must be in [0, chunk_tokens) = [0, " + std::to_string(o.chunk_tokens) + "), got " +
                std::to_string(o.overlap_tokens));
  }
}

}  // namespace

std::string join_section_path(const std::vector<std::string>& path) {
  std::string out;
  for (const std::string& p : path) {
    if (!out.empty()) out += " > ";
    out += p;
  }
  return out;
}

std::vector<TextChunk> chunk_document(std::string_view text, std::span<const Block> blocks, const TokenizeFn& tokenize,
                                  const ChunkOptions& options) {
  check_options(options);
  const std::vector<Block> tidy = tidy_blocks(text, blocks);
  const Tokenizer tok(text, tokenize);
  UnitBuilder builder(text, tok, options.chunk_tokens, options.chunk_tokens - options.overlap_tokens);

  std::vector<std::vector<std::string>> paths{{}};  // paths[0]: before any heading
  std::vector<std::pair<int, std::string>> stack;   // (level, title), outermost first
  std::vector<Unit> units;
  uint32_t path = 0;
  for (const Block& b : tidy) {
    int level = 0;
    if (b.kind == Block::Kind::kHeading) {
      level = std::clamp(b.level, 1, 6);
      while (!stack.empty() && stack.back().first >= level) stack.pop_back();
      stack.emplace_back(level, heading_title(text.substr(b.start, b.end - b.start)));
      std::vector<std::string> titles;
      for (const auto& [l, title] : stack) titles.push_back(title);
      paths.push_back(std::move(titles));
      path = static_cast<uint32_t>(paths.size() - 1);
    }
    const size_t first = units.size();
    builder.add_block(b, units);
    for (size_t u = first; u < units.size(); ++u) {
      units[u].path = path;
      units[u].heading_level = level;
    }
    if (level > 0 && first < units.size()) units[first].section_break = level <= options.section_break_level;
  }
  return Packer(text, std::move(units), std::move(paths), tok, options).run();
}

}  // namespace qembed::kb
