#pragma once
// Bounds-checked little-endian reads from a byte span. Every failed read throws Error naming the file, the field
// being read and the byte offset, so parsers of outside bytes never read past the end.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace qembed {

class ByteCursor {
 public:
  ByteCursor(const uint8_t* data, size_t size, const std::string& path) : data_(data), size_(size), path_(path) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  const std::string& path() const { return path_; }

  //! Throws Error("PATH: WHAT at byte N").
  [[noreturn]] void fail(const std::string& what, size_t at) const {
    throw Error(path_ + ": " + what + " at byte " + std::to_string(at));
  }
  [[noreturn]] void fail(const std::string& what) const { fail(what, pos_); }

  void need(size_t n, std::string_view field) const {
    if (n > remaining()) {
      fail("truncated file: " + std::string(field) + " needs " + std::to_string(n) + " bytes, " +
           std::to_string(remaining()) + " left");
    }
  }

  template <typename T>
  T read(std::string_view field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));  // files are little-endian; so are the hosts qembed targets
    pos_ += sizeof(T);
    return v;
  }

  //! A u64 length followed by that many bytes. The length is checked against the remaining bytes before any
  //! allocation, so a hostile length cannot make us allocate.
  std::string read_string(std::string_view field) {
    size_t at = pos_;
    uint64_t len = read<uint64_t>(field);
    if (len > remaining()) {
      fail("string length " + std::to_string(len) + " of " + std::string(field) + " exceeds the " +
               std::to_string(remaining()) + " bytes left",
           at);
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }

  void skip(size_t n, std::string_view field) {
    need(n, field);
    pos_ += n;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& path_;
};

}  // namespace qembed
