#pragma once
// A read-only memory map of a whole file. Weights are used in place from the map, so resident memory
// tracks the pages actually touched and the OS can share them between processes.
#include <cstddef>
#include <cstdint>
#include <string>

namespace qembed {

//! Maps `path` read-only; throws Error naming the path when it cannot be opened or mapped.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qembed
