// HTML (gumbo): the main text of a page. Scripts, styles, navigation, page headers and footers, asides, forms and
// embedded frames are dropped; a <main> (else the <article>s) is the text when there is one. h1-h6 are headings, li
// list items (level: list depth), pre code blocks, tables "cell | cell" rows; whitespace collapses as a browser
// does and gumbo decodes entities. UTF-8 is assumed; a meta charset of Latin-1 / Windows-1252 / ASCII is decoded
// as Windows-1252, another charset is an error.
//
// Deep documents: gumbo's parser is quadratic in nesting depth and frees its tree recursively, so a pre-scan
// bounds the depth before parsing (max_nesting), the walks below follow parent links instead of recursing, and the
// tree is flattened before gumbo frees it.
#include <gumbo.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kb/extract/document_builder.hpp"
#include "kb/extract/format_extractors.hpp"
#include "kb/extract/text_decoding.hpp"

namespace qembed::kb {

namespace {

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return out;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == ':' || c == '.';
}

// The charset a <meta> in the first 1024 bytes declares, lower-cased ("" when none).
std::string sniff_charset(std::span<const uint8_t> bytes) {
  const std::string head =
      lower_ascii(std::string_view(reinterpret_cast<const char*>(bytes.data()), std::min<size_t>(bytes.size(), 1024)));
  for (size_t meta = head.find("<meta"); meta != std::string::npos; meta = head.find("<meta", meta + 5)) {
    const size_t end = head.find('>', meta);
    const std::string_view tag = std::string_view(head).substr(meta, end == std::string::npos ? end : end - meta);
    size_t pos = tag.find("charset");
    if (pos == std::string_view::npos) continue;
    pos += 7;
    while (pos < tag.size() && (tag[pos] == ' ' || tag[pos] == '=' || tag[pos] == '"' || tag[pos] == '\'')) ++pos;
    size_t stop = pos;
    while (stop < tag.size() && is_name_char(tag[stop])) ++stop;
    if (stop > pos) return std::string(tag.substr(pos, stop - pos));
  }
  return "";
}

bool is_utf8_charset(std::string_view c) {
  return c.empty() || c == "utf-8" || c == "utf8" || c == "unicode-1-1-utf-8";
}
bool is_8bit_charset(std::string_view c) {
  return c == "iso-8859-1" || c == "latin1" || c == "latin-1" || c == "l1" || c == "windows-1252" || c == "cp1252" ||
         c == "us-ascii" || c == "ascii" || c == "iso8859-1" || c == "iso_8859-1" || c == "x-cp1252";
}

// Elements whose content a reader never sees as text, and page furniture that is not the page's text.
bool is_dropped(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_MATH:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_EMBED:
    case GUMBO_TAG_CANVAS:
    case GUMBO_TAG_SELECT:
    case GUMBO_TAG_BUTTON:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_NOFRAMES:
    case GUMBO_TAG_NOEMBED:
      return true;
    default:
      return false;
  }
}

// Elements that start and end a block of text (anything else is inline).
bool is_block(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P:
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_H1:
    case GUMBO_TAG_H2:
    case GUMBO_TAG_H3:
    case GUMBO_TAG_H4:
    case GUMBO_TAG_H5:
    case GUMBO_TAG_H6:
    case GUMBO_TAG_HGROUP:
    case GUMBO_TAG_UL:
    case GUMBO_TAG_OL:
    case GUMBO_TAG_MENU:
    case GUMBO_TAG_LI:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_LISTING:
    case GUMBO_TAG_XMP:
    case GUMBO_TAG_PLAINTEXT:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_DETAILS:
    case GUMBO_TAG_SUMMARY:
    case GUMBO_TAG_CENTER:
    case GUMBO_TAG_FIELDSET:
    case GUMBO_TAG_LEGEND:
    case GUMBO_TAG_BODY:
    case GUMBO_TAG_HTML:
    case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_TABLE:
    case GUMBO_TAG_TR:
    case GUMBO_TAG_TD:
    case GUMBO_TAG_TH:
      return true;
    default:
      return false;
  }
}

bool is_preformatted(GumboTag tag) {
  return tag == GUMBO_TAG_PRE || tag == GUMBO_TAG_LISTING || tag == GUMBO_TAG_XMP || tag == GUMBO_TAG_PLAINTEXT;
}

int heading_level(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_H1:
      return 1;
    case GUMBO_TAG_H2:
      return 2;
    case GUMBO_TAG_H3:
      return 3;
    case GUMBO_TAG_H4:
      return 4;
    case GUMBO_TAG_H5:
      return 5;
    case GUMBO_TAG_H6:
      return 6;
    default:
      return 0;
  }
}

// The position of "</name" (any case) at or after `from`, npos when none.
size_t find_end_tag(std::string_view html, std::string_view name, size_t from) {
  for (size_t i = html.find("</", from); i != std::string_view::npos; i = html.find("</", i + 2)) {
    if (html.size() - i - 2 < name.size()) return std::string_view::npos;
    bool same = true;
    for (size_t k = 0; k < name.size() && same; ++k) {
      char c = html[i + 2 + k];
      if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
      same = c == name[k];
    }
    if (same) return i;
  }
  return std::string_view::npos;
}

// Estimated element depth of the source, without building a tree: start tags minus matching end tags, leaving
// out void elements and those whose end tag the parser implies (p, li, td, ...) or that cannot nest (a).
int estimate_nesting(std::string_view html) {
  static const std::vector<std::string_view> kNotCounted = {
      "area",   "base",   "br",       "col",    "embed",    "hr",      "img",   "input", "link",  "meta",     "param",
      "source", "track",  "wbr",      "keygen", "basefont", "bgsound", "frame", "image", "p",     "li",       "dt",
      "dd",     "option", "optgroup", "tr",     "td",       "th",      "tbody", "thead", "tfoot", "colgroup", "caption",
      "rb",     "rt",     "rp",       "rtc",    "a",        "nobr",    "html",  "head",  "body"};
  static const std::vector<std::string_view> kRawText = {"script", "style",   "textarea", "title",    "xmp",
                                                         "iframe", "noembed", "noframes", "plaintext"};
  std::unordered_map<std::string, int> open;
  int depth = 0, max_depth = 0;
  const size_t n = html.size();
  for (size_t i = html.find('<'); i != std::string_view::npos && i + 1 < n; i = html.find('<', i + 1)) {
    if (html.compare(i, 4, "<!--") == 0) {
      i = html.find("-->", i + 4);
      if (i == std::string_view::npos) break;
      continue;
    }
    const bool end_tag = html[i + 1] == '/';
    size_t pos = i + (end_tag ? 2 : 1);
    if (pos >= n || !((html[pos] >= 'a' && html[pos] <= 'z') || (html[pos] >= 'A' && html[pos] <= 'Z'))) continue;
    size_t stop = pos;
    while (stop < n && is_name_char(html[stop])) ++stop;
    const std::string name = lower_ascii(html.substr(pos, stop - pos));
    if (end_tag) {
      auto it = open.find(name);
      if (it != open.end() && it->second > 0) --it->second, --depth;
      continue;
    }
    if (std::find(kRawText.begin(), kRawText.end(), name) != kRawText.end()) {
      const size_t close = find_end_tag(html, name, stop);
      if (close == std::string_view::npos) break;
      i = close;
      continue;
    }
    if (std::find(kNotCounted.begin(), kNotCounted.end(), name) != kNotCounted.end()) continue;
    ++open[name];
    max_depth = std::max(max_depth, ++depth);
  }
  return max_depth;
}

const GumboVector* children_of(const GumboNode* node) {
  if (node->type == GUMBO_NODE_DOCUMENT) return &node->v.document.children;
  if (node->type == GUMBO_NODE_ELEMENT || node->type == GUMBO_NODE_TEMPLATE) return &node->v.element.children;
  return nullptr;
}

GumboNode* first_child(const GumboNode* node) {
  const GumboVector* c = children_of(node);
  return c != nullptr && c->length > 0 ? static_cast<GumboNode*>(c->data[0]) : nullptr;
}

GumboNode* next_sibling(const GumboNode* node) {
  if (node->parent == nullptr) return nullptr;
  const GumboVector* c = children_of(node->parent);
  size_t i = node->index_within_parent;
  if (i >= c->length || c->data[i] != node) {  // defensive: find it
    for (i = 0; i < c->length && c->data[i] != node; ++i) {
    }
  }
  return i + 1 < c->length ? static_cast<GumboNode*>(c->data[i + 1]) : nullptr;
}

// Visits root's descendants in document order without recursion: enter(node) returns whether to descend; leave
// (node) follows for each node entered with descent.
template <class Enter, class Leave>
void walk(GumboNode* root, Enter&& enter, Leave&& leave) {
  GumboNode* node = first_child(root);
  while (node != nullptr) {
    if (enter(node)) {
      if (GumboNode* c = first_child(node)) {
        node = c;
        continue;
      }
      leave(node);
    }
    for (;;) {
      if (GumboNode* s = next_sibling(node)) {
        node = s;
        break;
      }
      node = node->parent;
      if (node == root || node == nullptr) return;
      leave(node);
    }
  }
}

bool is_element(const GumboNode* n) { return n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE; }
GumboTag tag_of(const GumboNode* n) { return is_element(n) ? n->v.element.tag : GUMBO_TAG_UNKNOWN; }

bool is_hidden(const GumboNode* n) {
  return is_element(n) && gumbo_get_attribute(&n->v.element.attributes, "hidden") != nullptr;
}

// The element depth of the parsed tree (walk calls leave once for every node enter descended into).
int tree_depth(GumboNode* root) {
  int depth = 0, max_depth = 0;
  walk(
      root,
      [&](GumboNode*) {
        max_depth = std::max(max_depth, ++depth);
        return true;
      },
      [&](GumboNode*) { --depth; });
  return max_depth;
}

// Gumbo frees its tree recursively; a flat tree (every node a child of the document) frees at constant depth.
// Relies on the allocator being malloc/free (set in extract_html's options).
void flatten_tree(GumboOutput* output) {
  std::vector<GumboNode*> nodes;
  std::vector<GumboNode*> pending = {output->document};
  while (!pending.empty()) {
    GumboNode* n = pending.back();
    pending.pop_back();
    const GumboVector* c = children_of(n);
    if (c == nullptr) continue;
    for (unsigned i = 0; i < c->length; ++i) {
      auto* child = static_cast<GumboNode*>(c->data[i]);
      nodes.push_back(child);
      pending.push_back(child);
    }
  }
  for (GumboNode* n : nodes) {
    if (is_element(n)) n->v.element.children.length = 0;
  }
  GumboVector& top = output->document->v.document.children;
  void** data = static_cast<void**>(std::malloc(std::max<size_t>(nodes.size(), 1) * sizeof(void*)));
  if (data == nullptr) std::abort();
  std::copy(nodes.begin(), nodes.end(), data);
  std::free(top.data);
  top.data = data;
  top.length = unsigned(nodes.size());
  top.capacity = unsigned(std::max<size_t>(nodes.size(), 1));
}

void* gumbo_alloc(void*, size_t n) { return std::malloc(n); }
void gumbo_free(void*, void* p) { std::free(p); }

struct GumboDeleter {
  const GumboOptions* options;
  void operator()(GumboOutput* output) const {
    flatten_tree(output);
    gumbo_destroy_output(options, output);
  }
};

// All text under a node, whitespace collapsed, dropped elements left out (cells, captions, titles).
std::string inline_text(GumboNode* root) {
  InlineText text;
  walk(
      root,
      [&](GumboNode* n) {
        if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_CDATA) {
          text.add(n->v.text.text);
          return false;
        }
        if (!is_element(n) || is_dropped(tag_of(n)) || is_hidden(n)) return false;
        if (tag_of(n) == GUMBO_TAG_BR) text.space();
        if (is_block(tag_of(n))) text.space();
        return true;
      },
      [&](GumboNode* n) {
        if (is_block(tag_of(n))) text.space();
      });
  std::string out = text.take();
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Rows of "cell | cell", one per line. Nested tables are flattened into their cell's text.
std::string table_text(GumboNode* table) {
  std::string out;
  walk(
      table,
      [&](GumboNode* n) {
        if (!is_element(n)) return false;
        const GumboTag tag = tag_of(n);
        if (tag != GUMBO_TAG_TR) return tag == GUMBO_TAG_TBODY || tag == GUMBO_TAG_THEAD || tag == GUMBO_TAG_TFOOT;
        std::string row;
        bool any_text = false, first = true;
        const GumboVector* cells = children_of(n);
        for (unsigned i = 0; i < cells->length; ++i) {
          auto* cell = static_cast<GumboNode*>(cells->data[i]);
          if (tag_of(cell) != GUMBO_TAG_TD && tag_of(cell) != GUMBO_TAG_TH) continue;
          const std::string text = inline_text(cell);
          if (!first) row += " | ";
          row += text;
          first = false;
          any_text = any_text || !text.empty();
        }
        if (any_text) {
          if (!out.empty()) out += '\n';
          out += row;
        }
        return false;
      },
      [](GumboNode*) {});
  return out;
}

// Walks the chosen roots, emitting blocks.
class HtmlReader {
 public:
  HtmlReader(DocumentBuilder& builder, bool drop_header) : builder_(builder), drop_header_(drop_header) {}

  void read(GumboNode* root) {
    contexts_.assign(1, {BlockKind::kParagraph, 0});
    walk(
        root, [&](GumboNode* n) { return enter(n); }, [&](GumboNode* n) { leave(n); });
    flush();
  }

 private:
  struct Context {
    BlockKind kind;
    int level;
  };

  bool enter(GumboNode* n) {
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_CDATA) {
      if (verbatim_ > 0) {
        text_.add_verbatim(n->v.text.text);
      } else {
        text_.add(n->v.text.text);
      }
      return false;
    }
    if (!is_element(n)) return false;
    const GumboTag tag = tag_of(n);
    if (is_dropped(tag) || is_hidden(n) || (drop_header_ && tag == GUMBO_TAG_HEADER)) return false;
    if (tag == GUMBO_TAG_BR) {
      if (verbatim_ > 0) {
        text_.add_verbatim("\n");
      } else {
        text_.line_break();
      }
      return false;
    }
    if (tag == GUMBO_TAG_TABLE) {
      flush();
      builder_.add_block(BlockKind::kTable, 0, 0, table_text(n));
      return false;
    }
    if (!is_block(tag)) return true;
    flush();
    const Context& parent = contexts_.back();
    Context context{BlockKind::kParagraph, 0};
    if (const int level = heading_level(tag); level > 0) {
      context = {BlockKind::kHeading, level};
    } else if (is_preformatted(tag)) {
      context = {BlockKind::kCode, 0};
      ++verbatim_;
    } else if (tag == GUMBO_TAG_LI) {
      context = {BlockKind::kListItem, list_depth_};
    } else if (parent.kind != BlockKind::kParagraph) {
      context = parent;  // a <p> in a list item or a heading is still that
    }
    if (tag == GUMBO_TAG_UL || tag == GUMBO_TAG_OL || tag == GUMBO_TAG_MENU) ++list_depth_;
    contexts_.push_back(context);
    return true;
  }

  void leave(GumboNode* n) {
    const GumboTag tag = tag_of(n);
    if (!is_element(n) || !is_block(tag) || tag == GUMBO_TAG_TABLE) return;
    flush();
    if (is_preformatted(tag)) --verbatim_;
    if (tag == GUMBO_TAG_UL || tag == GUMBO_TAG_OL || tag == GUMBO_TAG_MENU) --list_depth_;
    if (contexts_.size() > 1) contexts_.pop_back();
  }

  void flush() {
    if (text_.empty()) return;
    const Context& c = contexts_.back();
    builder_.add_block(c.kind, c.level, 0, text_.take());
  }

  DocumentBuilder& builder_;
  bool drop_header_;
  std::vector<Context> contexts_;
  InlineText text_;
  int verbatim_ = 0;
  int list_depth_ = 0;
};

GumboNode* find_first(GumboNode* root, GumboTag tag) {
  GumboNode* found = nullptr;
  walk(
      root,
      [&](GumboNode* n) {
        if (found != nullptr || !is_element(n)) return false;
        if (tag_of(n) == tag) {
          found = n;
          return false;
        }
        return !is_dropped(tag_of(n)) || tag_of(n) == GUMBO_TAG_HEAD;
      },
      [](GumboNode*) {});
  return found;
}

// The <article>s that are not inside another article.
std::vector<GumboNode*> find_articles(GumboNode* root) {
  std::vector<GumboNode*> articles;
  walk(
      root,
      [&](GumboNode* n) {
        if (!is_element(n) || is_dropped(tag_of(n))) return false;
        if (tag_of(n) == GUMBO_TAG_ARTICLE) {
          articles.push_back(n);
          return false;
        }
        return true;
      },
      [](GumboNode*) {});
  return articles;
}

}  // namespace

ExtractedDocument extract_html(std::span<const uint8_t> bytes, std::string_view file_name,
                               const ExtractLimits& limits) {
  const std::string charset = sniff_charset(bytes);
  if (!is_utf8_charset(charset) && !is_8bit_charset(charset)) {
    throw file_error(
        file_name, "unsupported charset \"" + display_name(charset) + "\" (UTF-8, Latin-1 and Windows-1252 are read)");
  }
  TextDecodeFailure failure;
  const std::string html = decode_text(bytes, &failure, is_8bit_charset(charset));
  if (failure.failed()) throw file_error(file_name, failure.what);
  const int estimated_depth = estimate_nesting(html);
  if (estimated_depth > limits.max_nesting) {
    throw file_limit_error(file_name, "HTML nested deeper than " + std::to_string(limits.max_nesting) + " elements");
  }

  GumboOptions options = kGumboDefaultOptions;
  options.allocator = gumbo_alloc;
  options.deallocator = gumbo_free;
  options.max_errors = 0;
  std::unique_ptr<GumboOutput, GumboDeleter> output(gumbo_parse_with_options(&options, html.data(), html.size()),
                                                    GumboDeleter{&options});
  if (!output) throw file_error(file_name, "the HTML could not be parsed");
  if (tree_depth(output->document) > limits.max_nesting + 8) {
    throw file_limit_error(file_name, "HTML nested deeper than " + std::to_string(limits.max_nesting) + " elements");
  }

  DocumentBuilder builder(file_name, kFormatHtml, limits.max_text_bytes);
  if (GumboNode* title = find_first(output->document, GUMBO_TAG_TITLE)) builder.set_title(inline_text(title));
  GumboNode* body = find_first(output->document, GUMBO_TAG_BODY);
  if (body == nullptr) body = output->root;
  if (GumboNode* main = find_first(body, GUMBO_TAG_MAIN)) {
    HtmlReader(builder, false).read(main);
  } else if (std::vector<GumboNode*> articles = find_articles(body); !articles.empty()) {
    HtmlReader reader(builder, false);
    for (GumboNode* a : articles) reader.read(a);
  } else {
    HtmlReader(builder, true).read(body);
  }
  return builder.finish(0, "no text in the page");
}

}  // namespace qembed::kb
