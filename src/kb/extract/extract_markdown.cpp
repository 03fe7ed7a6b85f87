// Markdown (md4c, GitHub dialect): headings with their level, paragraphs, list items (level: list depth), code
// blocks, tables as "cell | cell" rows. The text is what a reader sees: emphasis markers and link targets are gone,
// link and image text stays, entities are decoded, raw HTML is dropped. YAML front matter is skipped and its
// `title:` is the document's title (else the first heading). The bytes are decoded like plain text.
#include <md4c.h>

#include <exception>
#include <string>
#include <vector>

#include "kb/extract/document_builder.hpp"
#include "kb/extract/format_extractors.hpp"
#include "kb/extract/text_decoding.hpp"

namespace qembed::kb {

namespace {

struct NamedEntity {
  std::string_view name;
  char32_t cp;
};
// The named entities worth knowing in prose; others stay as written.
constexpr NamedEntity kEntities[] = {
    {"amp", '&'},     {"lt", '<'},      {"gt", '>'},       {"quot", '"'},     {"apos", '\''},    {"nbsp", 0xA0},
    {"copy", 0xA9},   {"reg", 0xAE},    {"trade", 0x2122}, {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026},
    {"laquo", 0xAB},  {"raquo", 0xBB},  {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
    {"middot", 0xB7}, {"bull", 0x2022}, {"deg", 0xB0},     {"times", 0xD7},   {"divide", 0xF7},  {"euro", 0x20AC},
    {"pound", 0xA3},  {"yen", 0xA5},    {"cent", 0xA2},    {"sect", 0xA7},    {"para", 0xB6},    {"plusmn", 0xB1},
    {"larr", 0x2190}, {"rarr", 0x2192}, {"uarr", 0x2191},  {"darr", 0x2193},  {"harr", 0x2194},  {"le", 0x2264},
    {"ge", 0x2265},   {"ne", 0x2260},   {"infin", 0x221E}, {"check", 0x2713}, {"eacute", 0xE9},  {"egrave", 0xE8},
    {"agrave", 0xE0}, {"ccedil", 0xE7}, {"uuml", 0xFC},    {"ouml", 0xF6},    {"auml", 0xE4},    {"szlig", 0xDF},
    {"shy", 0xAD},    {"zwj", 0x200D},
};

// "&amp;" / "&#233;" / "&#xE9;" -> UTF-8; an unknown entity stays as written.
std::string decode_entity(std::string_view e) {
  std::string out;
  if (e.size() >= 3 && e.front() == '&' && e.back() == ';') {
    const std::string_view body = e.substr(1, e.size() - 2);
    if (body.size() >= 2 && body[0] == '#') {
      const bool hex = body[1] == 'x' || body[1] == 'X';
      char32_t cp = 0;
      bool ok = body.size() > (hex ? 2u : 1u) && body.size() <= 10;
      for (char c : body.substr(hex ? 2 : 1)) {
        int digit = c >= '0' && c <= '9'          ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
        if (digit < 0 || cp > 0x10FFFF) {
          ok = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + char32_t(digit);
      }
      if (ok) {
        append_utf8(out, cp == 0 ? 0xFFFD : cp);
        return out;
      }
    } else {
      for (const NamedEntity& n : kEntities) {
        if (n.name == body) {
          append_utf8(out, n.cp);
          return out;
        }
      }
    }
  }
  return std::string(e);
}

// Splits off YAML front matter ("---" line, ..., "---" or "..." line) and returns its title, unquoted.
std::string_view strip_front_matter(std::string_view* text) {
  if (!text->starts_with("---\n")) return {};
  std::string_view title;
  for (size_t pos = 4; pos < text->size() && pos < 64 * 1024;) {
    size_t eol = text->find('\n', pos);
    if (eol == std::string_view::npos) eol = text->size();
    std::string_view line = text->substr(pos, eol - pos);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line == "---" || line == "...") {
      text->remove_prefix(std::min(eol + 1, text->size()));
      return title;
    }
    if (line.starts_with("title:")) {
      title = line.substr(6);
      while (!title.empty() && title.front() == ' ') title.remove_prefix(1);
      if (title.size() >= 2 && (title.front() == '"' || title.front() == '\'') && title.back() == title.front()) {
        title = title.substr(1, title.size() - 2);
      }
    }
    pos = eol + 1;
  }
  return {};  // no closing line: not front matter
}

class MarkdownReader {
 public:
  MarkdownReader(DocumentBuilder& builder, int max_nesting) : builder_(builder), max_nesting_(max_nesting) {}

  //! Parses; rethrows what a callback threw (md4c is C: nothing may unwind through it).
  void parse(std::string_view text, std::string_view file_name) {
    MD_PARSER parser{};
    parser.abi_version = 0;
    parser.flags = MD_DIALECT_GITHUB;
    parser.enter_block = [](MD_BLOCKTYPE type, void* detail, void* self) {
      return static_cast<MarkdownReader*>(self)->guard(
          [&] { static_cast<MarkdownReader*>(self)->enter(type, detail); });
    };
    parser.leave_block = [](MD_BLOCKTYPE type, void*, void* self) {
      return static_cast<MarkdownReader*>(self)->guard([&] { static_cast<MarkdownReader*>(self)->leave(type); });
    };
    parser.enter_span = [](MD_SPANTYPE, void*, void*) { return 0; };
    parser.leave_span = [](MD_SPANTYPE, void*, void*) { return 0; };
    parser.text = [](MD_TEXTTYPE type, const MD_CHAR* t, MD_SIZE size, void* self) {
      return static_cast<MarkdownReader*>(self)->guard(
          [&] { static_cast<MarkdownReader*>(self)->on_text(type, std::string_view(t, size)); });
    };
    const int rc = md_parse(text.data(), MD_SIZE(text.size()), &parser, this);
    if (too_deep_) {
      throw file_limit_error(file_name, "Markdown nested deeper than " + std::to_string(max_nesting_) + " levels");
    }
    if (error_) std::rethrow_exception(error_);
    if (rc != 0) throw file_error(file_name, "the Markdown could not be parsed (out of memory?)");
    flush();
  }

 private:
  struct Context {
    BlockKind kind;
    int level;
  };

  template <class F>
  int guard(F&& f) {
    try {
      f();
      return 0;
    } catch (...) {
      error_ = std::current_exception();
      return 1;
    }
  }

  void enter(MD_BLOCKTYPE type, void* detail) {
    switch (type) {
      case MD_BLOCK_QUOTE:
      case MD_BLOCK_UL:
      case MD_BLOCK_OL:
        flush();
        if (++nesting_ > max_nesting_) {
          too_deep_ = true;
          throw std::runtime_error("too deep");  // guard() aborts md_parse; parse() reports too_deep_
        }
        if (type != MD_BLOCK_QUOTE) ++list_depth_;
        break;
      case MD_BLOCK_LI:
        flush();
        contexts_.push_back({BlockKind::kListItem, list_depth_});
        break;
      case MD_BLOCK_H:
        flush();
        contexts_.push_back({BlockKind::kHeading, int(static_cast<MD_BLOCK_H_DETAIL*>(detail)->level)});
        break;
      case MD_BLOCK_CODE:
        flush();
        contexts_.push_back({BlockKind::kCode, 0});
        ++in_code_;
        break;
      case MD_BLOCK_P:
        flush();
        contexts_.push_back(!contexts_.empty() && contexts_.back().kind == BlockKind::kListItem
                                ? contexts_.back()
                                : Context{BlockKind::kParagraph, 0});
        break;
      case MD_BLOCK_HTML:
        flush();
        ++in_html_;
        break;
      case MD_BLOCK_HR:
        flush();
        break;
      case MD_BLOCK_TABLE:
        flush();
        in_table_ = true;
        table_.clear();
        break;
      case MD_BLOCK_TR:
        row_.clear();
        first_cell_ = true;
        row_has_text_ = false;
        break;
      case MD_BLOCK_TH:
      case MD_BLOCK_TD:
        cell_ = InlineText();
        in_cell_ = true;
        break;
      default:
        break;
    }
  }

  void leave(MD_BLOCKTYPE type) {
    switch (type) {
      case MD_BLOCK_QUOTE:
      case MD_BLOCK_UL:
      case MD_BLOCK_OL:
        flush();
        --nesting_;
        if (type != MD_BLOCK_QUOTE) --list_depth_;
        break;
      case MD_BLOCK_LI:
      case MD_BLOCK_H:
      case MD_BLOCK_P:
      case MD_BLOCK_CODE:
        flush();
        if (type == MD_BLOCK_CODE) --in_code_;
        if (!contexts_.empty()) contexts_.pop_back();
        break;
      case MD_BLOCK_HTML:
        --in_html_;
        break;
      case MD_BLOCK_TH:
      case MD_BLOCK_TD: {
        std::string cell = cell_.take();
        while (!cell.empty() && (cell.back() == ' ' || cell.back() == '\n')) cell.pop_back();
        if (!first_cell_) row_ += " | ";
        row_ += cell;
        first_cell_ = false;
        row_has_text_ = row_has_text_ || !cell.empty();
        in_cell_ = false;
        break;
      }
      case MD_BLOCK_TR:
        if (row_has_text_) {
          if (!table_.empty()) table_ += '\n';
          table_ += row_;
        }
        break;
      case MD_BLOCK_TABLE:
        builder_.add_block(BlockKind::kTable, 0, 0, table_);
        table_.clear();
        in_table_ = false;
        break;
      default:
        break;
    }
  }

  void on_text(MD_TEXTTYPE type, std::string_view s) {
    if (in_html_ > 0 || type == MD_TEXT_HTML) return;
    InlineText& target = in_cell_ ? cell_ : text_;
    switch (type) {
      case MD_TEXT_NULLCHAR:
        target.add("\xEF\xBF\xBD");
        break;
      case MD_TEXT_BR:
        if (in_cell_) {
          target.space();
        } else {
          target.line_break();
        }
        break;
      case MD_TEXT_SOFTBR:
        target.space();
        break;
      case MD_TEXT_ENTITY:
        target.add(decode_entity(s));
        break;
      default:
        if (in_code_ > 0) {
          target.add_verbatim(s);
        } else {
          target.add(s);
        }
        break;
    }
  }

  void flush() {
    if (text_.empty()) return;
    const Context c = contexts_.empty() ? Context{BlockKind::kParagraph, 0} : contexts_.back();
    builder_.add_block(c.kind, c.level, 0, text_.take());
  }

  DocumentBuilder& builder_;
  int max_nesting_;
  std::exception_ptr error_;
  bool too_deep_ = false;
  std::vector<Context> contexts_;
  InlineText text_, cell_;
  std::string table_, row_;
  bool in_table_ = false, in_cell_ = false, first_cell_ = true, row_has_text_ = false;
  int nesting_ = 0, list_depth_ = 0, in_code_ = 0, in_html_ = 0;
};

}  // namespace

ExtractedDocument extract_markdown(std::span<const uint8_t> bytes, std::string_view file_name,
                                   const ExtractLimits& limits) {
  TextDecodeFailure failure;
  const std::string decoded = decode_text(bytes, &failure);
  if (failure.failed()) throw file_error(file_name, failure.what);
  std::string_view text = decoded;
  DocumentBuilder builder(file_name, kFormatMarkdown, limits.max_text_bytes);
  builder.set_title(strip_front_matter(&text));
  MarkdownReader reader(builder, limits.max_nesting);
  reader.parse(text, file_name);
  return builder.finish(0, "no text in the document");
}

}  // namespace qembed::kb
