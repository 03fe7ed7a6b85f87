// The incremental multipart/form-data parser: parts and their bytes come out the same however the body is cut
// into chunks (every split point, one byte at a time), delimiter look-alikes inside a file stay data, file names
// arrive as sent (RFC 5987 decoded), memory stays at a delimiter's length inside a large part, and malformed bodies
// fail with a message naming what is wrong.
#include "server/http/multipart.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qembed::server {
namespace {

struct RecordedPart {
  PartHeader header;
  std::string data;
  bool ended = false;
};

class RecordingSink : public PartSink {
 public:
  void part_begin(const PartHeader& header) override { parts.push_back({header, "", false}); }
  void part_data(std::string_view bytes) override {
    ASSERT_FALSE(parts.empty());
    ASSERT_FALSE(parts.back().ended);
    ASSERT_FALSE(bytes.empty()) << "empty data events are noise";
    parts.back().data.append(bytes);
  }
  void part_end() override { parts.back().ended = true; }
  std::vector<RecordedPart> parts;
};

const std::string kBoundary = "----qembedBoundary7MA4YWxk";

std::string part(const std::string& disposition, const std::string& data, const std::string& extra_headers = "") {
  return "--" + kBoundary + "\r\nContent-Disposition: " + disposition + "\r\n" + extra_headers + "\r\n" + data + "\r\n";
}

std::string close_body() { return "--" + kBoundary + "--\r\n"; }

std::string sample_body() {
  // A file whose bytes look like delimiters without being one, CRLFs at its edges, and an empty file.
  const std::string tricky = "\r\nline\r\n--" + kBoundary.substr(0, 10) + "X\r\n-- not it\r\n\r\n";
  return part("form-data; name=\"metadata\"", R"({"team":"docs"})") +
         part("form-data; name=\"file\"; filename=\"a.md\"", "# Title\n\nbody", "Content-Type: text/markdown\r\n") +
         part("form-data; name=\"file\"; filename=\"tricky.bin\"", tricky) +
         part("form-data; name=\"file\"; filename=\"empty.txt\"", "") + close_body();
}

void expect_sample(const std::vector<RecordedPart>& parts) {
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0].header.name, "metadata");
  EXPECT_FALSE(parts[0].header.filename.has_value());
  EXPECT_EQ(parts[0].data, R"({"team":"docs"})");
  EXPECT_EQ(parts[1].header.filename.value_or("?"), "a.md");
  EXPECT_EQ(parts[1].header.content_type, "text/markdown");
  EXPECT_EQ(parts[1].data, "# Title\n\nbody");
  EXPECT_EQ(parts[2].data, "\r\nline\r\n--" + kBoundary.substr(0, 10) + "X\r\n-- not it\r\n\r\n");
  EXPECT_EQ(parts[3].header.filename.value_or("?"), "empty.txt");
  EXPECT_EQ(parts[3].data, "");
  for (const RecordedPart& p : parts) EXPECT_TRUE(p.ended);
}

std::vector<RecordedPart> parse_in_chunks(const std::string& body, size_t chunk) {
  MultipartParser parser(kBoundary);
  RecordingSink sink;
  for (size_t i = 0; i < body.size(); i += chunk) parser.feed(std::string_view(body).substr(i, chunk), sink);
  parser.finish();
  EXPECT_TRUE(parser.done());
  return sink.parts;
}

TEST(Multipart, ParsesFieldsAndFilesWhole) { expect_sample(parse_in_chunks(sample_body(), 1 << 20)); }

TEST(Multipart, SameResultOneByteAtATime) { expect_sample(parse_in_chunks(sample_body(), 1)); }

TEST(Multipart, SameResultAtEverySplitPoint) {
  const std::string body = sample_body();
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    MultipartParser parser(kBoundary);
    RecordingSink sink;
    parser.feed(std::string_view(body).substr(0, cut), sink);
    parser.feed(std::string_view(body).substr(cut), sink);
    parser.finish();
    SCOPED_TRACE("cut at " + std::to_string(cut));
    expect_sample(sink.parts);
  }
}

TEST(Multipart, PreambleAndEpilogueAreIgnored) {
  const std::string body = "this is a preamble\r\n" + part("form-data; name=\"x\"", "v") + close_body() +
                           "and an epilogue that may be long " + std::string(100000, 'e');
  const auto parts = parse_in_chunks(body, 4096);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].data, "v");
}

TEST(Multipart, LargePartStreamsThroughADelimiterOfMemory) {
  MultipartParser parser(kBoundary);
  struct CountingSink : PartSink {
    void part_begin(const PartHeader&) override {}
    void part_data(std::string_view b) override { bytes += b.size(); }
    void part_end() override { ++ended; }
    size_t bytes = 0;
    int ended = 0;
  } sink;
  parser.feed("--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big\"\r\n\r\n", sink);
  const std::string chunk(64 * 1024, 'z');
  for (int i = 0; i < 160; ++i) {  // 10 MiB
    parser.feed(chunk, sink);
    ASSERT_LT(parser.buffered_bytes(), kBoundary.size() + 4) << "chunk " << i;
  }
  parser.feed("\r\n" + close_body(), sink);
  parser.finish();
  EXPECT_EQ(sink.bytes, 160u * chunk.size());
  EXPECT_EQ(sink.ended, 1);
}

TEST(Multipart, FileNamesArriveAsSent) {
  const std::string body =
      part("form-data; name=\"file\"; filename=\"../../etc/passwd\"", "a") +
      part("form-data; name=\"file\"; filename=\"C:\\dir\\report.txt\"", "b") +  // browsers do not escape '\'
      part("form-data; name=\"file\"; filename=\"say \\\"hi\\\".txt\"", "c") +
      part("form-data; name=\"file\"; filename=\"fallback.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt", "d") +
      part("FORM-DATA; NAME=file; FILENAME=plain.txt", "e") + close_body();
  const auto parts = parse_in_chunks(body, 7);
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(*parts[0].header.filename, "../../etc/passwd");
  EXPECT_EQ(*parts[1].header.filename, "C:\\dir\\report.txt");
  EXPECT_EQ(*parts[2].header.filename, "say \"hi\".txt");
  EXPECT_EQ(*parts[3].header.filename, "\xE2\x82\xAC rates.txt");
  EXPECT_EQ(parts[4].header.name, "file");
  EXPECT_EQ(*parts[4].header.filename, "plain.txt");
}

TEST(Multipart, PartWithoutHeaderLinesIsRefused) {
  MultipartParser parser(kBoundary);
  RecordingSink sink;
  EXPECT_THROW(parser.feed("--" + kBoundary + "\r\n\r\nbody\r\n" + close_body(), sink), MultipartError);
}

void expect_error(const std::string& body, const std::string& message_part, MultipartLimits limits = {}) {
  MultipartParser parser(kBoundary, limits);
  RecordingSink sink;
  try {
    parser.feed(body, sink);
    parser.finish();
    FAIL() << "no error for: " << body.substr(0, 200);
  } catch (const MultipartError& e) {
    EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
  }
  // Failed for good: more bytes fail again, nothing more is reported.
  const size_t reported = sink.parts.size();
  EXPECT_THROW(parser.feed(close_body(), sink), MultipartError);
  EXPECT_EQ(sink.parts.size(), reported);
}

TEST(Multipart, MalformedBodiesFailWithAMessage) {
  expect_error("", "ended before its closing delimiter");
  expect_error("no delimiter at all", "ended before its closing delimiter");
  expect_error(std::string(70 * 1024, 'x'), "no delimiter");
  expect_error(part("form-data; name=\"x\"", "v"), "ended before its closing delimiter");
  expect_error("--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nhalf a file",
               "(inside part 1)");
  expect_error("--" + kBoundary + "garbage\r\n", "must be followed by CRLF");
  expect_error("--" + kBoundary + "\r\nContent-Type: text/plain\r\n\r\nv\r\n" + close_body(), "no Content-Disposition");
  expect_error(part("attachment; filename=\"a\"", "v") + close_body(), "not form-data");
  expect_error(part("form-data; name=\"x\"; filename=\"unclosed", "v") + close_body(), "unclosed quoted string");
  expect_error("--" + kBoundary + "\r\nX-Long: " + std::string(20000, 'h') + "\r\n", "header is larger than");
  std::string many;
  for (int i = 0; i < 5; ++i) many += part("form-data; name=\"x\"", "v");
  expect_error(many + close_body(), "more than 4 parts", MultipartLimits{4, 16 * 1024});
  expect_error("--" + kBoundary + std::string(100, ' ') + "\r\n", "spaces after a delimiter");
}

TEST(Multipart, SinkMayRefuseAPart) {
  struct RefusingSink : RecordingSink {
    void part_begin(const PartHeader& h) override {
      if (h.name == "bad") throw MultipartError("unknown form field \"bad\"");
      RecordingSink::part_begin(h);
    }
  } sink;
  MultipartParser parser(kBoundary);
  const std::string body = part("form-data; name=\"ok\"", "1") + part("form-data; name=\"bad\"", "2") + close_body();
  EXPECT_THROW(parser.feed(body, sink), MultipartError);
  EXPECT_EQ(sink.parts.size(), 1u);
  EXPECT_THROW(parser.finish(), MultipartError);
}

TEST(Multipart, BoundaryFromContentType) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc").value_or("?"), "abc");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data;BOUNDARY=\"a b:c\"").value_or("?"), "a b:c");
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=utf-8; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW")
                .value_or("?"),
            "----WebKitFormBoundary7MA4YWxkTrZu0gW");
  EXPECT_FALSE(multipart_boundary("application/json"));
  EXPECT_FALSE(multipart_boundary("multipart/mixed; boundary=abc"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary="));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"ends with space \""));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=bad\"quote"));
  EXPECT_THROW(MultipartParser(""), std::invalid_argument);
}

}  // namespace
}  // namespace qembed::server
