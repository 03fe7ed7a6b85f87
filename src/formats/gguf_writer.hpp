#pragma once
// GGUF v3 writer, used by the test-model generator and `qembed quantize`.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "formats/ggml_types.hpp"
#include "formats/gguf_reader.hpp"

namespace qembed {

class GgufWriter {
 public:
  void set_string(const std::string& key, const std::string& value);
  void set_u32(const std::string& key, uint32_t value);
  void set_i32(const std::string& key, int32_t value);
  void set_f32(const std::string& key, float value);
  void set_bool(const std::string& key, bool value);
  void set_string_array(const std::string& key, const std::vector<std::string>& values);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& values);
  // The remaining metadata types, so tests and tools can write every GGUF value type.
  void set_u8(const std::string& key, uint8_t value);
  void set_i8(const std::string& key, int8_t value);
  void set_u16(const std::string& key, uint16_t value);
  void set_i16(const std::string& key, int16_t value);
  void set_u64(const std::string& key, uint64_t value);
  void set_i64(const std::string& key, int64_t value);
  void set_f64(const std::string& key, double value);
  void set_f32_array(const std::string& key, const std::vector<float>& values);
  void set_u64_array(const std::string& key, const std::vector<uint64_t>& values);
  void set_bool_array(const std::string& key, const std::vector<bool>& values);
  //! Any value as the reader holds it, written back with its own type (copying a file's metadata). Scalars and
  //! arrays of every element type; Error for an array of arrays, which GGUF readers do not agree on.
  void set_value(const std::string& key, const GgufValue& value);
  //! Sets general.alignment (a power of two) and pads the data section to it.
  void set_alignment(uint32_t alignment);

  //! Adds a tensor whose bytes are produced at write time by `fill(dst)` (dst holds n_bytes), so a large model is
  //! written without holding every tensor in memory. ne[0] must be a multiple of the type's block size.
  //! Fills run one at a time in tensor order, but on a helper thread (overlapped with writing the previous one).
  void add_tensor(const std::string& name, GgmlType type, const std::vector<int64_t>& ne,
                  std::function<void(uint8_t* dst)> fill);

  //! Writes the file (alignment 32 unless set_alignment); throws Error on I/O failure.
  void write(const std::string& path) const;

 private:
  struct Kv;
  struct Tensor;
  std::vector<std::vector<uint8_t>> kv_bytes_;  // each KV pair serialized
  struct PendingTensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    std::function<void(uint8_t*)> fill;
  };
  std::vector<PendingTensor> tensors_;
  uint32_t alignment_ = 32;
  std::vector<std::string> keys_;  // to reject duplicates, which readers refuse

  std::vector<uint8_t>& begin_kv(const std::string& key, uint32_t type);
};

}  // namespace qembed
