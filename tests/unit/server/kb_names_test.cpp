// Document names from uploaded file names: only the last path component survives, control characters go, invalid
// UTF-8 becomes U+FFFD, and names that are only a path or dots become "" (refused by the upload route).
#include "server/api/kb_names.hpp"

#include <gtest/gtest.h>

namespace qembed::server::api {
namespace {

TEST(KbNames, KeepsOnlyTheLastPathComponent) {
  EXPECT_EQ(document_name_from_file_name("../../etc/passwd"), "passwd");
  EXPECT_EQ(document_name_from_file_name("/abs/path/report.pdf"), "report.pdf");
  EXPECT_EQ(document_name_from_file_name("C:\\Users\\me\\notes.md"), "notes.md");
  EXPECT_EQ(document_name_from_file_name("..\\..\\boot.ini"), "boot.ini");
  EXPECT_EQ(document_name_from_file_name("plain.txt"), "plain.txt");
}

TEST(KbNames, NamesThatAreOnlyAPathOrDotsBecomeEmpty) {
  for (const char* name : {"", "../", "..", ".", "dir/", "a/..", "  ", "\x01\x02"}) {
    EXPECT_EQ(document_name_from_file_name(name), "") << name;
  }
  EXPECT_EQ(document_name_from_file_name("...txt"), "...txt");
}

TEST(KbNames, DropsControlCharactersAndRepairsUtf8) {
  EXPECT_EQ(document_name_from_file_name("a\r\nb\tc\x7f.txt"), "abc.txt");
  EXPECT_EQ(document_name_from_file_name("x\xC2\x85y"), "xy");                  // U+0085, a C1 control
  EXPECT_EQ(document_name_from_file_name("caf\xC3\xA9.md"), "caf\xC3\xA9.md");  // é kept
  EXPECT_EQ(document_name_from_file_name("bad\xFF.txt"), "bad\xEF\xBF\xBD.txt");
  EXPECT_EQ(document_name_from_file_name("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(document_name_from_file_name("  spaced name.txt  "), "spaced name.txt");
}

TEST(KbNames, LongNamesAreCutOnACharacterBoundary) {
  std::string name;
  for (int i = 0; i < 200; ++i) name += "\xE2\x82\xAC";  // 600 bytes of €
  const std::string out = document_name_from_file_name(name);
  EXPECT_LE(out.size(), kMaxDocumentNameBytes);
  EXPECT_EQ(out.size() % 3, 0u);
  EXPECT_EQ(out.substr(0, 3), "\xE2\x82\xAC");
}

}  // namespace
}  // namespace qembed::server::api
