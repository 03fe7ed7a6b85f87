// HTML extraction: main text, structure, whitespace, charsets, hostile nesting.
#include <gtest/gtest.h>

#include "extract_test_util.hpp"

namespace qembed::kb {
namespace {

using test::describe_blocks;
using test::extract_error;
using test::extract_ok;
using Lines = std::vector<std::string>;

TEST(ExtractHtml, MainTextAndStructure) {
  const std::string html = R"(<!DOCTYPE html><html><head><title> The   page &amp; more </title>
<style>p { color: red }</style><script>var x = "<p>no</p>";</script></head>
<body><header><h1>Site name</h1></header><nav><ul><li>Home</li></ul></nav>
<main>
  <h1>Article   title</h1>
  <p>First  paragraph
     with <b>bold</b>, <a href="/x">a link</a> and&nbsp;an entity &eacute;.</p>
  <ul><li>one</li><li>two <ul><li>nested</li></ul></li></ul>
  <pre><code>int main() {
  return 0;
}</code></pre>
  <table><tr><th>Name</th><th>Value</th></tr><tr><td>a</td><td> 1 </td></tr><tr><td></td><td></td></tr></table>
  <div>Line<br>break</div>
  <h7>not a heading</h7><h3>Sub</h3>
  <form><label>Form text</label><input value="x"></form><aside>Aside</aside><noscript>No script</noscript>
  <p hidden>Hidden</p><svg><text>svg text</text></svg>
</main>
<footer>Footer</footer></body></html>)";
  const ExtractedDocument doc = extract_ok(html, "page.html");
  EXPECT_EQ(doc.format, "html");
  EXPECT_EQ(doc.title, "The page & more");
  EXPECT_EQ(describe_blocks(doc), (Lines{"heading1: Article title",
                                         "paragraph: First paragraph with bold, a link and\xC2\xA0"
                                         "an entity \xC3\xA9.",
                                         "list_item1: one", "list_item1: two", "list_item2: nested",
                                         "code: int main() {\n  return 0;\n}", "table: Name | Value\na | 1",
                                         "paragraph: Line\nbreak", "paragraph: not a heading", "heading3: Sub"}));
}

TEST(ExtractHtml, ArticlesWhenNoMainAndBodyOtherwise) {
  const ExtractedDocument articles = extract_ok(
      "<html><body><div>menu</div><article><header><h2>One</h2></header><p>a</p></article>"
      "<article><p>b</p><article><p>c</p></article></article><footer>f</footer></body></html>",
      "a.html");
  EXPECT_EQ(describe_blocks(articles), (Lines{"heading2: One", "paragraph: a", "paragraph: b", "paragraph: c"}));
  EXPECT_EQ(articles.title, "One");
  const ExtractedDocument body =
      extract_ok("<html><body><header>Top</header>Loose text<p>Para</p>tail</body></html>", "b.html");
  EXPECT_EQ(describe_blocks(body), (Lines{"paragraph: Loose text", "paragraph: Para", "paragraph: tail"}));
}

TEST(ExtractHtml, Charsets) {
  const ExtractedDocument latin1 =
      extract_ok("<html><head><meta charset=\"ISO-8859-1\"></head><body><p>caf\xE9 \x80</p></body></html>", "l.html");
  EXPECT_EQ(latin1.text, "caf\xC3\xA9 \xE2\x82\xAC");
  const ExtractedDocument http_equiv = extract_ok(
      "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\"></head>"
      "<body>na\xEFve</body></html>",
      "w.html");
  EXPECT_EQ(http_equiv.text, "na\xC3\xAFve");
  EXPECT_EQ(extract_ok("<meta charset=utf-8><p>\xC3\xA9t\xC3\xA9</p>", "u.html").text, "\xC3\xA9t\xC3\xA9");
  const auto f = extract_error("<html><head><meta charset=\"Shift_JIS\"></head><body>x</body></html>", "jp.html");
  EXPECT_EQ(f.message, "jp.html: unsupported charset \"shift_jis\" (UTF-8, Latin-1 and Windows-1252 are read)");
}

TEST(ExtractHtml, NoText) {
  EXPECT_EQ(extract_error("<html><head><title>Only a title</title><script>x()</script></head><body> </body></html>",
                          "empty.html")
                .message,
            "empty.html: no text in the page");
}

TEST(ExtractHtml, DeepNestingIsALimitErrorNotACrash) {
  std::string html = "<html><body>";
  for (int i = 0; i < 100000; ++i) html += "<div>";
  html += "deep";
  const auto f = extract_error(html, "deep.html");
  EXPECT_EQ(f.message, "deep.html: HTML nested deeper than 512 elements");
  EXPECT_EQ(f.kind, ErrorKind::kLimit);
  // Unclosed paragraphs and list items do not nest: a long flat page passes.
  std::string flat = "<html><body>";
  for (int i = 0; i < 5000; ++i) flat += "<p>para " + std::to_string(i) + "<li>item";
  const ExtractedDocument doc = extract_ok(flat, "flat.html");
  EXPECT_EQ(doc.blocks.size(), 10000u);
}

TEST(ExtractHtml, TagsInsideScriptsAndCommentsDoNotNest) {
  std::string divs;
  for (int i = 0; i < 1000; ++i) divs += "<div>";
  const ExtractedDocument doc = extract_ok(
      "<html><head><SCRIPT>var s = '" + divs + "';</Script><!-- " + divs + " --></head><body><p>ok</p>", "s.html");
  EXPECT_EQ(doc.text, "ok");
}

TEST(ExtractHtml, NestingJustBelowTheLimitIsRead) {
  ExtractLimits limits;
  limits.max_nesting = 2000;
  std::string html = "<html><body>";
  for (int i = 0; i < 1900; ++i) html += "<div>";
  html += "deep text";
  const ExtractedDocument doc = extract_ok(html, "deep.html", limits);
  EXPECT_EQ(doc.text, "deep text");
}

}  // namespace
}  // namespace qembed::kb
