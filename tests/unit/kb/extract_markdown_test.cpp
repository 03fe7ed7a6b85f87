// Markdown extraction (md4c): structure, text without markup, front matter.
#include <gtest/gtest.h>

#include "extract_test_util.hpp"

namespace qembed::kb {
namespace {

using test::describe_blocks;
using test::extract_error;
using test::extract_ok;
using Lines = std::vector<std::string>;

TEST(ExtractMarkdown, StructureAndPlainText) {
  const std::string md = R"(# Guide

Intro with *emphasis*, **strong**, `code`, ~~gone~~ and a [link](https://example.com "t").
Soft break here &amp; &copy; &#233; &unknown;

## Install

- first item
- second item
  - nested item

1. numbered

```sh
make   build
  indented
```

| Col A | Col B |
|-------|-------|
| a     | **b** |

> quoted text

<div>raw html</div>

Setext heading
--------------

![alt text](img.png)
)";
  const ExtractedDocument doc = extract_ok(md, "guide.md");
  EXPECT_EQ(doc.format, "markdown");
  EXPECT_EQ(doc.title, "Guide");
  EXPECT_EQ(describe_blocks(doc),
            (Lines{"heading1: Guide",
                   "paragraph: Intro with emphasis, strong, code, gone and a link. Soft break here & \xC2\xA9 "
                   "\xC3\xA9 &unknown;",
                   "heading2: Install", "list_item1: first item", "list_item1: second item", "list_item2: nested item",
                   "list_item1: numbered", "code: make   build\n  indented", "table: Col A | Col B\na | b",
                   "paragraph: quoted text", "heading2: Setext heading", "paragraph: alt text"}));
}

TEST(ExtractMarkdown, LooseListParagraphsStayListItems) {
  const ExtractedDocument doc = extract_ok("* one\n\n  more of one\n\n* two\n", "l.md");
  EXPECT_EQ(describe_blocks(doc), (Lines{"list_item1: one", "list_item1: more of one", "list_item1: two"}));
}

TEST(ExtractMarkdown, FrontMatterTitle) {
  const ExtractedDocument doc = extract_ok("---\ntitle: \"From YAML\"\ntags: [a]\n---\n# Heading\n\nBody\n", "f.md");
  EXPECT_EQ(doc.title, "From YAML");
  EXPECT_EQ(describe_blocks(doc), (Lines{"heading1: Heading", "paragraph: Body"}));
}

TEST(ExtractMarkdown, DeepNestingIsALimitError) {
  std::string md;
  for (int i = 0; i < 2000; ++i) md += ">";
  md += " deep\n";
  const auto f = extract_error(md, "deep.md");
  EXPECT_EQ(f.message, "deep.md: Markdown nested deeper than 512 levels");
  EXPECT_EQ(f.kind, ErrorKind::kLimit);
}

TEST(ExtractMarkdown, NoTextAndBinary) {
  EXPECT_EQ(extract_error("<!-- only a comment -->\n", "c.md").message, "c.md: no text in the document");
  EXPECT_EQ(extract_error(std::string("# a\0b", 5), "b.md").message, "b.md: not text (binary data at byte 3)");
}

}  // namespace
}  // namespace qembed::kb
