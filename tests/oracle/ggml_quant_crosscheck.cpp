// Cross-checks qembed's quant block codecs against llama.cpp's ggml (libggml-base.so from node-llama-cpp, loaded
// with dlopen, so no ggml headers are needed). For every type:
//   (a) ggml quantizes; qembed's dequantize_row_ref must equal ggml's to_float bit for bit,
//   (b) qembed quantizes; ggml's to_float must equal qembed's dequantize_row_ref bit for bit,
// which together prove the block layouts are llama.cpp's. It also prints the relative RMS error of both
// quantizers on the same data, so ours can be compared with ggml's reference quantizers.
//
// Build and run (tests/oracle/run_ggml_quant_crosscheck.sh does this):
//   g++ -std=c++20 -O2 -Isrc tests/oracle/ggml_quant_crosscheck.cpp src/kernels/fp16.cpp
//       src/kernels/quant_blocks.cpp src/kernels/quant_blocks_legacy.cpp src/kernels/quant_blocks_kquants.cpp
//       -ldl -o build/ggml_quant_crosscheck
//   build/ggml_quant_crosscheck [path/to/libggml-base.so]
// Exit status 0 when every comparison matches, 1 on a mismatch, 2 when the library cannot be used.
#include <dlfcn.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/fp16.hpp"
#include "kernels/quant_blocks.hpp"

namespace {

using qembed::GgmlType;

// The head of ggml's `struct ggml_type_traits` (ggml.h); checked field by field against known values below
// before any function pointer in it is trusted.
using GgmlToFloat = void (*)(const void* x, float* y, int64_t k);
struct GgmlTypeTraitsHead {
  const char* type_name;
  int64_t blck_size;
  int64_t blck_size_interleave;
  size_t type_size;
  bool is_quantized;
  GgmlToFloat to_float;
};

using GetTypeTraitsFn = const GgmlTypeTraitsHead* (*)(int type);
using QuantizeChunkFn = size_t (*)(int type, const float* src, void* dst, int64_t start, int64_t nrows,
                                   int64_t n_per_row, const float* imatrix);
using Fp32ToFp16Fn = uint16_t (*)(float);

struct TypeCase {
  GgmlType type;
  const char* ggml_name;  // ggml's type_name
  int64_t block_values;
  size_t block_bytes;
};

const TypeCase kTypes[] = {
    {GgmlType::F32, "f32", 1, 4},       {GgmlType::F16, "f16", 1, 2},       {GgmlType::BF16, "bf16", 1, 2},
    {GgmlType::Q8_0, "q8_0", 32, 34},   {GgmlType::Q4_0, "q4_0", 32, 18},   {GgmlType::Q4_1, "q4_1", 32, 20},
    {GgmlType::Q5_0, "q5_0", 32, 22},   {GgmlType::Q5_1, "q5_1", 32, 24},   {GgmlType::Q4_K, "q4_K", 256, 144},
    {GgmlType::Q5_K, "q5_K", 256, 176}, {GgmlType::Q6_K, "q6_K", 256, 210},
};

// Test rows: each distribution fills whole rows; the edge cases cover zero, constant, one-signed, huge, tiny and
// outlier blocks, the gaussian rows give the error figures.
struct Dataset {
  std::vector<float> values;  // (n_rows, n_per_row)
  int64_t n_rows = 0;
  int64_t n_gaussian_rows = 0;  // the first rows, used for the error figures
};

constexpr int64_t kPerRow = 1024;

Dataset make_dataset() {
  Dataset ds;
  std::mt19937 rng(1234);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::uniform_real_distribution<float> unif(-1.0f, 1.0f);
  auto add_row = [&](auto gen) {
    for (int64_t i = 0; i < kPerRow; ++i) ds.values.push_back(gen(i));
    ++ds.n_rows;
  };
  for (int r = 0; r < 256; ++r) add_row([&](int64_t) { return gauss(rng); });
  ds.n_gaussian_rows = ds.n_rows;
  add_row([&](int64_t) { return unif(rng); });
  add_row([&](int64_t) { return 0.0f; });
  add_row([&](int64_t) { return 0.75f; });
  add_row([&](int64_t) { return -3.25f; });
  add_row([&](int64_t) { return -std::fabs(gauss(rng)); });
  add_row([&](int64_t) { return std::fabs(gauss(rng)) + 2.0f; });
  add_row([&](int64_t) { return gauss(rng) * 1000.0f; });
  add_row([&](int64_t) { return gauss(rng) * 1e-6f; });
  add_row([&](int64_t i) { return i % 97 == 0 ? 50.0f * gauss(rng) : gauss(rng); });  // outliers
  add_row([&](int64_t i) { return (i / 32) % 2 ? gauss(rng) : 0.0f; });               // zero blocks mixed in
  add_row([&](int64_t i) { return static_cast<float>(static_cast<int>(i % 16) - 8) * 0.125f; });
  return ds;
}

double rel_rms(const float* x, const float* y, int64_t n) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; ++i) {
    num += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    den += static_cast<double>(x[i]) * x[i];
  }
  return den > 0 ? std::sqrt(num / den) : 0.0;
}

int64_t count_bit_mismatches(const std::vector<float>& a, const std::vector<float>& b) {
  int64_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], 4) != 0) ++bad;
  return bad;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string lib_path =
      argc > 1 ? argv[1] : "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so";
  void* lib = dlopen(lib_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "cannot load %s: %s\n", lib_path.c_str(), dlerror());
    return 2;
  }
  auto get_traits = reinterpret_cast<GetTypeTraitsFn>(dlsym(lib, "ggml_get_type_traits"));
  auto quantize_chunk = reinterpret_cast<QuantizeChunkFn>(dlsym(lib, "ggml_quantize_chunk"));
  auto fp32_to_fp16 = reinterpret_cast<Fp32ToFp16Fn>(dlsym(lib, "ggml_fp32_to_fp16"));
  if (!get_traits || !quantize_chunk || !fp32_to_fp16) {
    std::fprintf(stderr, "%s lacks ggml_get_type_traits / ggml_quantize_chunk / ggml_fp32_to_fp16\n", lib_path.c_str());
    return 2;
  }

  const Dataset ds = make_dataset();
  const int64_t n_all = ds.n_rows * kPerRow;
  const int64_t n_gauss = ds.n_gaussian_rows * kPerRow;
  bool ok = true;

  // f32 -> f16 on every non-nan float pattern with a random 23-bit mantissa per exponent and sign.
  {
    std::mt19937 rng(99);
    int64_t bad = 0, total = 0;
    for (uint32_t hi = 0; hi < 512; ++hi) {
      for (int k = 0; k < 4096; ++k) {
        const uint32_t bits = (hi << 23) | (rng() & 0x7fffffu);
        float f;
        std::memcpy(&f, &bits, 4);
        if (std::isnan(f)) continue;
        ++total;
        if (qembed::f32_to_f16(f) != fp32_to_fp16(f)) ++bad;
      }
    }
    std::printf("%-5s f32->f16 vs ggml_fp32_to_fp16: %lld / %lld differ\n", "f16", static_cast<long long>(bad),
                static_cast<long long>(total));
    ok = ok && bad == 0;
  }

  std::printf("%-5s %13s %13s %12s %12s %11s\n", "type", "a:ggml->ours", "b:ours->ggml", "rms ours", "rms ggml",
              "same bytes");
  for (const TypeCase& tc : kTypes) {
    const int type_id = static_cast<int>(tc.type);
    const GgmlTypeTraitsHead* traits = get_traits(type_id);
    if (!traits || !traits->type_name || std::strcmp(traits->type_name, tc.ggml_name) != 0 ||
        traits->blck_size != tc.block_values || traits->type_size != tc.block_bytes ||
        traits->is_quantized != (tc.block_values > 1)) {
      std::fprintf(stderr, "%s: ggml_type_traits layout not as expected (name %s); cannot check\n", tc.ggml_name,
                   traits && traits->type_name ? traits->type_name : "?");
      return 2;
    }
    // ggml has no to_float for f32 (it is the identity).
    auto ggml_to_float = [&](const uint8_t* src, float* dst, int64_t n) {
      if (traits->to_float)
        traits->to_float(src, dst, n);
      else
        std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    };
    if (!traits->to_float && tc.type != GgmlType::F32) {
      std::fprintf(stderr, "%s: ggml has no to_float\n", tc.ggml_name);
      return 2;
    }
    const size_t row_bytes = static_cast<size_t>(kPerRow / tc.block_values) * tc.block_bytes;
    std::vector<uint8_t> q_ggml(row_bytes * ds.n_rows), q_ours(row_bytes * ds.n_rows);
    quantize_chunk(type_id, ds.values.data(), q_ggml.data(), 0, ds.n_rows, kPerRow, nullptr);
    for (int64_t r = 0; r < ds.n_rows; ++r)
      qembed::quantize_row_ref(tc.type, ds.values.data() + r * kPerRow, q_ours.data() + r * row_bytes, kPerRow);

    // (a) ggml's bytes, decoded by both.
    std::vector<float> a_ggml(n_all), a_ours(n_all);
    std::vector<float> b_ggml(n_all), b_ours(n_all);
    for (int64_t r = 0; r < ds.n_rows; ++r) {
      ggml_to_float(q_ggml.data() + r * row_bytes, a_ggml.data() + r * kPerRow, kPerRow);
      qembed::dequantize_row_ref(tc.type, q_ggml.data() + r * row_bytes, a_ours.data() + r * kPerRow, kPerRow);
      ggml_to_float(q_ours.data() + r * row_bytes, b_ggml.data() + r * kPerRow, kPerRow);
      qembed::dequantize_row_ref(tc.type, q_ours.data() + r * row_bytes, b_ours.data() + r * kPerRow, kPerRow);
    }
    const int64_t bad_a = count_bit_mismatches(a_ggml, a_ours);
    const int64_t bad_b = count_bit_mismatches(b_ggml, b_ours);
    ok = ok && bad_a == 0 && bad_b == 0;

    int64_t same_blocks = 0;
    const int64_t n_blocks = static_cast<int64_t>(q_ggml.size() / tc.block_bytes);
    for (int64_t i = 0; i < n_blocks; ++i)
      if (std::memcmp(q_ggml.data() + i * tc.block_bytes, q_ours.data() + i * tc.block_bytes, tc.block_bytes) == 0)
        ++same_blocks;

    std::printf("%-5s %13lld %13lld %12.6f %12.6f %10.1f%%\n", tc.ggml_name, static_cast<long long>(bad_a),
                static_cast<long long>(bad_b), rel_rms(ds.values.data(), b_ours.data(), n_gauss),
                rel_rms(ds.values.data(), a_ggml.data(), n_gauss), 100.0 * same_blocks / n_blocks);

    // Per edge-case row: both quantizers' errors, and no inf/nan out of ours.
    for (int64_t r = ds.n_gaussian_rows; r < ds.n_rows; ++r) {
      const float* x = ds.values.data() + r * kPerRow;
      for (int64_t i = 0; i < kPerRow; ++i) {
        if (!std::isfinite(b_ours[r * kPerRow + i])) {
          std::printf("  %s row %lld: non-finite output at %lld\n", tc.ggml_name, static_cast<long long>(r),
                      static_cast<long long>(i));
          ok = false;
          break;
        }
      }
      if (std::getenv("CROSSCHECK_VERBOSE"))
        std::printf("    edge row %lld: rms ours %.6f ggml %.6f\n", static_cast<long long>(r - ds.n_gaussian_rows),
                    rel_rms(x, b_ours.data() + r * kPerRow, kPerRow), rel_rms(x, a_ggml.data() + r * kPerRow, kPerRow));
    }
  }
  std::printf("%s\n", ok ? "OK: qembed block layouts match ggml bit for bit" : "FAILED");
  return ok ? 0 : 1;
}
