#pragma once
// Produces buffers and consumes them with one stage of overlap: while tensor i is written to disk, tensor i+1 is
// being generated. Writers of large models are otherwise bound by the sum of compute and I/O time.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <vector>

namespace qembed {

//! For i in [0, n): fill(i, buf) into a buffer of size_of(i) bytes (zeroed), then sink(i, buf). fill(i + 1) runs on
//! another thread concurrently with sink(i). Exceptions from either propagate to the caller.
inline void pipelined_fill(size_t n, const std::function<size_t(size_t)>& size_of,
                           const std::function<void(size_t, uint8_t*)>& fill,
                           const std::function<void(size_t, const std::vector<uint8_t>&)>& sink) {
  if (n == 0) return;
  std::vector<uint8_t> bufs[2];
  auto produce = [&](size_t i) {
    std::vector<uint8_t>& b = bufs[i % 2];
    b.assign(size_of(i), 0);
    fill(i, b.data());
  };
  produce(0);
  for (size_t i = 0; i < n; ++i) {
    std::future<void> next;
    if (i + 1 < n) next = std::async(std::launch::async, produce, i + 1);
    sink(i, bufs[i % 2]);  // if this throws, next's destructor waits for the producer before bufs go away
    if (next.valid()) next.get();
  }
}

}  // namespace qembed
