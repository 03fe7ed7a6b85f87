// DOCX (libzip + pugixml): the paragraphs and tables of word/document.xml. Headings come from paragraph styles
// (Heading 1..9, Title; localized style ids resolved through word/styles.xml names, outline levels and basedOn),
// list items from numbering properties or list styles, tables as text ("cell | cell" rows). The title comes from
// docProps/core.xml. Only these three entries are ever read, each within max_xml_bytes and all together within
// max_uncompressed_bytes, counted both from the zip's declared sizes and while inflating (a zip bomb's declared
// sizes lie). Text boxes and the VML fallbacks of drawings are skipped (Word stores their text twice).
#include <zip.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <pugixml.hpp>
#include <unordered_map>

#include "kb/extract/document_builder.hpp"
#include "kb/extract/format_extractors.hpp"

namespace qembed::kb {

namespace {

constexpr const char* kDocumentXml = "word/document.xml";
constexpr const char* kStylesXml = "word/styles.xml";
constexpr const char* kCoreXml = "docProps/core.xml";

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipCloser>;

struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

// Opens an in-memory zip (the bytes are not copied); nullptr when it is not a readable zip.
ZipPtr open_zip(std::span<const uint8_t> bytes, std::string* why) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) {
    if (why) *why = zip_error_strerror(&error);
    zip_error_fini(&error);
    return nullptr;
  }
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY, &error);
  if (archive == nullptr) {
    if (why) *why = zip_error_strerror(&error);
    zip_source_free(source);
  }
  zip_error_fini(&error);
  return ZipPtr(archive);
}

// Reads the few entries a DOCX needs within the limits; what it has read counts against the total.
class EntryReader {
 public:
  EntryReader(zip_t* archive, std::string_view file_name, const ExtractLimits& limits)
      : archive_(archive), name_(file_name), limits_(limits) {}

  //! The entry's bytes; nullopt-like false when the archive has no such entry.
  bool read(const char* entry, std::string* out) {
    const zip_int64_t index = zip_name_locate(archive_, entry, 0);
    if (index < 0) return false;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive_, zip_uint64_t(index), 0, &st) != 0 || (st.valid & ZIP_STAT_SIZE) == 0) {
      throw file_error(name_, std::string("cannot read ") + entry + " in the zip archive");
    }
    check_size(entry, st.size);
    std::unique_ptr<zip_file_t, ZipFileCloser> file(zip_fopen_index(archive_, zip_uint64_t(index), 0));
    if (!file) {
      throw file_error(name_, std::string("cannot read ") + entry + " (" + zip_strerror(archive_) + ")");
    }
    out->clear();
    out->reserve(st.size);
    char buffer[64 * 1024];
    for (;;) {
      const zip_int64_t n = zip_fread(file.get(), buffer, sizeof buffer);
      if (n < 0) {
        throw file_error(name_, std::string("damaged zip entry ") + entry + " (" + zip_file_strerror(file.get()) + ")");
      }
      if (n == 0) break;
      if (out->size() + size_t(n) > st.size) {
        throw file_limit_error(name_, std::string(entry) + " inflates past its declared size (a zip bomb?)");
      }
      out->append(buffer, size_t(n));
      check_size(entry, out->size());
    }
    if (out->size() != st.size) {
      throw file_error(name_, std::string("damaged zip entry ") + entry + " (shorter than declared)");
    }
    total_bytes_ += int64_t(out->size());
    return true;
  }

 private:
  void check_size(const char* entry, uint64_t n_bytes) const {
    if (n_bytes > uint64_t(limits_.max_uncompressed_bytes - total_bytes_)) {
      throw file_limit_error(
          name_, "uncompressed size exceeds " + format_bytes(limits_.max_uncompressed_bytes) + " (a zip bomb?)");
    }
    if (n_bytes > uint64_t(limits_.max_xml_bytes)) {
      throw file_limit_error(name_, std::string(entry) + " is larger than " + format_bytes(limits_.max_xml_bytes));
    }
  }

  zip_t* archive_;
  std::string_view name_;
  const ExtractLimits& limits_;
  int64_t total_bytes_ = 0;
};

// The element's name without its namespace prefix ("w:p" -> "p").
std::string_view local_name(pugi::xml_node node) {
  const std::string_view name = node.name();
  const size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

// The first child element with this local name.
pugi::xml_node child(pugi::xml_node node, std::string_view name) {
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_name(c) == name) return c;
  }
  return {};
}

// The attribute with this local name (w:val, w:styleId).
std::string_view attribute(pugi::xml_node node, std::string_view name) {
  for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
    std::string_view n = a.name();
    const size_t colon = n.find(':');
    if ((colon == std::string_view::npos ? n : n.substr(colon + 1)) == name) return a.value();
  }
  return {};
}

int parse_small_int(std::string_view s) {
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || v > 1000) return -1;
    v = v * 10 + (c - '0');
  }
  return s.empty() ? -1 : v;
}

// Visits the subtree of `root` (not root itself) in document order without recursion; visit(node) returns whether
// to descend into the node. Throws a limit error past max_nesting levels.
template <class Visit>
void walk(pugi::xml_node root, int max_nesting, std::string_view file_name, Visit&& visit) {
  pugi::xml_node node = root.first_child();
  int depth = 1;
  while (node) {
    if (visit(node) && node.first_child()) {
      if (++depth > max_nesting) {
        throw file_limit_error(file_name, "XML nested deeper than " + std::to_string(max_nesting) + " elements");
      }
      node = node.first_child();
      continue;
    }
    while (node != root && !node.next_sibling()) {
      node = node.parent();
      --depth;
    }
    if (node == root) break;
    node = node.next_sibling();
  }
}

pugi::xml_document parse_xml(const std::string& xml, const char* entry, std::string_view file_name) {
  // A DTD has no place in OOXML; refusing it keeps pugixml's recursive DOCTYPE parser away from hostile nesting.
  if (xml.find("<!DOCTYPE") != std::string::npos) {
    throw file_error(file_name, std::string(entry) + " has a DOCTYPE (not a Word document)");
  }
  pugi::xml_document doc;
  const pugi::xml_parse_result result =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default | pugi::parse_ws_pcdata, pugi::encoding_utf8);
  if (!result) {
    throw file_error(file_name, std::string(entry) + " is not valid XML (" + result.description() + " at byte " +
                                    std::to_string(result.offset) + ")");
  }
  return doc;
}

// What a paragraph style makes of a paragraph.
struct StyleInfo {
  int heading_level = 0;  // 0: not a heading
  bool list = false;
  std::string based_on;
};

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return out;
}

// Heading level or list from a style's name ("heading 2", "Title", "List Bullet") or id ("Heading2").
void classify_style_name(std::string_view name, StyleInfo* info) {
  const std::string n = lower_ascii(name);
  if (n == "title") {
    info->heading_level = 1;
  } else if (n.starts_with("heading")) {
    std::string_view rest = std::string_view(n).substr(7);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const int level = parse_small_int(rest);
    if (level >= 1 && level <= 9) info->heading_level = std::min(level, 6);
  } else if (n.starts_with("list")) {
    info->list = true;
  }
}

using StyleMap = std::unordered_map<std::string, StyleInfo>;

StyleMap read_styles(const pugi::xml_document& styles_xml) {
  StyleMap styles;
  pugi::xml_node root = child(styles_xml, "styles");
  for (pugi::xml_node s = root.first_child(); s; s = s.next_sibling()) {
    if (local_name(s) != "style" || attribute(s, "type") != "paragraph") continue;
    StyleInfo info;
    classify_style_name(attribute(child(s, "name"), "val"), &info);
    const int outline = parse_small_int(attribute(child(child(s, "pPr"), "outlineLvl"), "val"));
    if (info.heading_level == 0 && outline >= 0 && outline < 9) info.heading_level = std::min(outline + 1, 6);
    info.based_on = std::string(attribute(child(s, "basedOn"), "val"));
    styles[std::string(attribute(s, "styleId"))] = std::move(info);
  }
  return styles;
}

// A style's heading level / list, following basedOn a few steps (a custom style based on "Heading 1").
StyleInfo resolve_style(const StyleMap& styles, std::string_view id) {
  StyleInfo result;
  classify_style_name(id, &result);  // documents without styles.xml still say "Heading1"
  std::string current(id);
  for (int hop = 0; hop < 8 && !current.empty(); ++hop) {
    const auto it = styles.find(current);
    if (it == styles.end()) break;
    if (result.heading_level == 0) result.heading_level = it->second.heading_level;
    result.list = result.list || it->second.list;
    if (result.heading_level != 0) break;
    current = it->second.based_on;
  }
  return result;
}

class DocxReader {
 public:
  DocxReader(const StyleMap& styles, DocumentBuilder& builder, std::string_view file_name, int max_nesting)
      : styles_(styles), builder_(builder), name_(file_name), max_nesting_(max_nesting) {}

  //! Every paragraph and table of the body, in order.
  void read_body(pugi::xml_node body) {
    walk(body, max_nesting_, name_, [&](pugi::xml_node node) {
      if (node.type() != pugi::node_element) return false;
      const std::string_view name = local_name(node);
      if (name == "p") {
        add_paragraph(node);
        return false;
      }
      if (name == "tbl") {
        builder_.add_block(BlockKind::kTable, 0, 0, table_text(node));
        return false;
      }
      return name != "sectPr";  // content controls, custom XML, tracked insertions: look inside
    });
  }

 private:
  void add_paragraph(pugi::xml_node p) {
    const std::string text = paragraph_text(p);
    if (text.empty()) return;
    const pugi::xml_node ppr = child(p, "pPr");
    StyleInfo style = resolve_style(styles_, attribute(child(ppr, "pStyle"), "val"));
    const int outline = parse_small_int(attribute(child(ppr, "outlineLvl"), "val"));
    if (style.heading_level == 0 && outline >= 0 && outline < 9) style.heading_level = std::min(outline + 1, 6);
    const pugi::xml_node num = child(ppr, "numPr");
    const std::string_view num_id = attribute(child(num, "numId"), "val");
    if (style.heading_level > 0) {
      builder_.add_block(BlockKind::kHeading, style.heading_level, 0, text);
    } else if ((num && num_id != "0") || style.list) {
      const int ilvl = parse_small_int(attribute(child(num, "ilvl"), "val"));
      builder_.add_block(BlockKind::kListItem, ilvl >= 0 ? ilvl + 1 : 1, 0, text);
    } else {
      builder_.add_block(BlockKind::kParagraph, 0, 0, text);
    }
  }

  // The visible text of a paragraph: runs' text, tabs, breaks; not deleted text, field codes or properties.
  std::string paragraph_text(pugi::xml_node p) {
    InlineText text;
    walk(p, max_nesting_, name_, [&](pugi::xml_node node) {
      if (node.type() != pugi::node_element) return false;
      const std::string_view name = local_name(node);
      if (name == "t") {
        text.add(node.child_value());
        return false;
      }
      if (name == "tab" || name == "ptab") {
        text.space();
      } else if (name == "br" || name == "cr") {
        text.line_break();
      } else if (name == "noBreakHyphen") {
        text.add("-");
      }
      return !(name == "pPr" || name == "rPr" || name == "delText" || name == "instrText" || name == "del" ||
               name == "txbxContent" || name == "Fallback" || name == "tab" || name == "br");
    });
    std::string out = text.take();
    while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
    return out;
  }

  // Rows of "cell | cell", one per line; nested tables are flattened into their cell's text.
  std::string table_text(pugi::xml_node tbl) {
    std::string out;
    walk(tbl, max_nesting_, name_, [&](pugi::xml_node node) {
      if (node.type() != pugi::node_element) return false;
      const std::string_view name = local_name(node);
      if (name == "tr") {
        const std::string row = row_text(node);
        if (!row.empty()) {
          if (!out.empty()) out += '\n';
          out += row;
        }
        return false;
      }
      return name != "tbl" && name != "tblPr" && name != "tblGrid";
    });
    return out;
  }

  std::string row_text(pugi::xml_node tr) {
    std::string row;
    bool any_text = false, first = true;
    walk(tr, max_nesting_, name_, [&](pugi::xml_node node) {
      if (node.type() != pugi::node_element) return false;
      if (local_name(node) != "tc") return local_name(node) != "trPr";
      std::string cell;
      walk(node, max_nesting_, name_, [&](pugi::xml_node n) {
        if (n.type() != pugi::node_element) return false;
        if (local_name(n) != "p") return true;
        const std::string text = paragraph_text(n);
        if (!text.empty()) {
          if (!cell.empty()) cell += ' ';
          cell += text;
        }
        return false;
      });
      for (char& c : cell) {
        if (c == '\n') c = ' ';
      }
      if (!first) row += " | ";
      row += cell;
      first = false;
      any_text = any_text || !cell.empty();
      return false;
    });
    return any_text ? row : std::string();
  }

  const StyleMap& styles_;
  DocumentBuilder& builder_;
  std::string_view name_;
  int max_nesting_;
};

}  // namespace

bool is_docx_archive(std::span<const uint8_t> bytes) {
  ZipPtr archive = open_zip(bytes, nullptr);
  return archive && zip_name_locate(archive.get(), kDocumentXml, 0) >= 0;
}

ExtractedDocument extract_docx(std::span<const uint8_t> bytes, std::string_view file_name,
                               const ExtractLimits& limits) {
  std::string why;
  ZipPtr archive = open_zip(bytes, &why);
  if (!archive) throw file_error(file_name, "not a DOCX file (not a readable zip archive: " + why + ")");
  EntryReader reader(archive.get(), file_name, limits);
  std::string xml;
  if (!reader.read(kDocumentXml, &xml)) throw file_error(file_name, "not a DOCX file (no word/document.xml)");
  pugi::xml_document document = parse_xml(xml, kDocumentXml, file_name);

  StyleMap styles;
  if (reader.read(kStylesXml, &xml)) styles = read_styles(parse_xml(xml, kStylesXml, file_name));

  DocumentBuilder builder(file_name, kFormatDocx, limits.max_text_bytes);
  if (reader.read(kCoreXml, &xml)) {
    pugi::xml_document core = parse_xml(xml, kCoreXml, file_name);
    builder.set_title(child(child(core, "coreProperties"), "title").child_value());
  }
  const pugi::xml_node body = child(child(document, "document"), "body");
  if (!body) throw file_error(file_name, "word/document.xml has no document body");
  DocxReader(styles, builder, file_name, limits.max_nesting).read_body(body);
  return builder.finish(0, "no text in the document");
}

}  // namespace qembed::kb
