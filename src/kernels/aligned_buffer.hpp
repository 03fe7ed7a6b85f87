#pragma once
// A zero-filled, 64-byte aligned byte buffer (aligned zmm loads from repacked weights).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace qembed {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) {
    void* p = std::aligned_alloc(64, ((n + 63) / 64) * 64 + 64);
    if (p == nullptr) throw std::bad_alloc();
    std::memset(p, 0, n);
    data_.reset(static_cast<uint8_t*>(p));
  }
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
};

}  // namespace qembed
