#include "convert/quantize_model.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/error.hpp"
#include "convert/model_source.hpp"
#include "kernels/quant_blocks.hpp"
#include "kernels/thread_pool.hpp"

namespace qembed::convert {

namespace {

bool is_float_type(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

//! Re-encodes rows [begin, end) of `t` into `type`: decoded to f32, then encoded with the reference quantizer.
void convert_rows(const SourceTensor& t, GgmlType type, uint8_t* dst, int64_t begin, int64_t end) {
  const int64_t n = t.ne[0];
  const size_t in_bytes = ggml_row_bytes(t.type, n), out_bytes = ggml_row_bytes(type, n);
  std::vector<float> row(static_cast<size_t>(n));
  for (int64_t r = begin; r < end; ++r) {
    dequantize_row_ref(t.type, t.data + static_cast<size_t>(r) * in_bytes, row.data(), n);
    quantize_row_ref(type, row.data(), dst + static_cast<size_t>(r) * out_bytes, n);
  }
}

//! A tensor's output bytes; a tensor already in the output type is copied as it is (no second rounding).
void fill_tensor(const SourceTensor& t, GgmlType type, uint8_t* dst, ThreadPool& pool) {
  const int64_t rows = t.rows();
  if (t.type == type) {
    std::copy_n(t.data, ggml_row_bytes(type, t.ne[0]) * static_cast<size_t>(rows), dst);
    return;
  }
  // Each row is encoded alone, so the bytes do not depend on how the rows are split across threads.
  pool.parallel_for(rows, [&](int64_t begin, int64_t end, int) { convert_rows(t, type, dst, begin, end); });
}

}  // namespace

QuantizeReport quantize_model(const QuantizeOptions& o, const QuantizeProgress& progress) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::equivalent(o.input, o.output, ec)) throw Error(o.output + ": the output would overwrite the input");
  const bool folder = fs::is_directory(o.input);
  if (!folder && o.reranker) {
    throw Error("--reranker applies to a HuggingFace folder; a GGUF file says what it is (its pooling type)");
  }
  ModelSource src = folder ? open_hf_source(o.input, o.reranker) : open_gguf_source(o.input);

  QuantizeReport report;
  report.input_bytes = src.input_bytes;
  report.n_tensors = src.tensors.size();
  std::vector<GgmlType> types;
  uint64_t total_values = 0;
  bool quantized = false;
  for (const SourceTensor& t : src.tensors) {
    TensorTypeChoice c = choose_tensor_type(o.target, t.gguf_name, static_cast<int>(t.ne.size()), t.ne[0], src.n_layer);
    if (!c.note.empty()) report.notes.push_back(c.note);
    if (!is_float_type(t.type) && t.type != c.type && !o.allow_requantize) {
      throw Error(o.input + ": tensor " + t.gguf_name + " is already " + ggml_type_info(t.type).name +
                  "; quantizing it to " + ggml_type_info(c.type).name +
                  " rounds twice — start from an F32/F16/BF16 model, or pass --allow-requantize");
    }
    quantized = quantized || ggml_type_info(c.type).block_values > 1;
    types.push_back(c.type);
    ++report.output_types[ggml_type_info(c.type).name];
    total_values += static_cast<uint64_t>(t.ne[0] * t.rows());
    report.output_bytes += ggml_row_bytes(c.type, t.ne[0]) * static_cast<size_t>(t.rows());
  }

  GgufWriter w;
  src.write_metadata(w, {src.default_name, o.target.file_type, quantized});
  // Fills run one at a time (on the writer's helper thread), so one pool and one running count serve them all.
  ThreadPool pool(std::max(1, o.n_threads));
  uint64_t done = 0;
  for (size_t i = 0; i < src.tensors.size(); ++i) {
    const SourceTensor* t = &src.tensors[i];
    const GgmlType type = types[i];
    w.add_tensor(t->gguf_name, type, t->ne, [t, type, &pool, &progress, &done, total_values](uint8_t* dst) {
      fill_tensor(*t, type, dst, pool);
      done += static_cast<uint64_t>(t->ne[0] * t->rows());
      if (progress) progress(done, total_values);
    });
  }
  // Written beside the target and renamed: an interrupted run never leaves a truncated file that looks complete.
  const std::string part = o.output + ".part";
  try {
    w.write(part);
  } catch (...) {
    fs::remove(part, ec);
    throw;
  }
  fs::rename(part, o.output, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(part, ec);
    throw Error(o.output + ": cannot rename " + part + " to it (" + why + ")");
  }
  return report;
}

}  // namespace qembed::convert
