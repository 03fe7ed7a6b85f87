// The CPU backend as the engine sees it: resumable tasks that interleave without changing a bit, captures between
// two steps of a live task, the memory plan and info it reports, and QEMBED_SIMD checked at construction.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <random>
#include <string>

#include "../support/generated_models.hpp"
#include "backend/backend_factory.hpp"
#include "backend/cpu/cpu_backend.hpp"
#include "backend/cpu/cpu_prefix_entry.hpp"
#include "backend/cpu/cpu_weights.hpp"
#include "backend/cpu/forward_reference.hpp"
#include "common/error.hpp"
#include "engine/cost_model.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/matmul_int8.hpp"
#include "model/model.hpp"
#include "test_vectors.hpp"

namespace qembed {
namespace {

using testing::random_ids;
using testing::random_tokens;

std::unique_ptr<Model> tiny_model(const std::string& type) {
  return Model::load(testing::generated_model("engine-tiny-seed11-" + type + ".gguf",
                                              "--shape tiny --format gguf --seed 11 --type " + type));
}

std::vector<float> run_alone(Backend& backend, const PackedBatch& batch) {
  return backend.run(batch, OutputHead::kLastTokenPooled);
}

class CpuTasks : public ::testing::TestWithParam<std::string> {};

// A scheduler may run a short batch to completion between two steps of a long one, and compute a prefix entry in
// between: each task owns its residual stream and K/V, so every result keeps every bit of its run alone.
TEST_P(CpuTasks, InterleavedTasksEqualEachRunAlone) {
  // Four layers (tiny has two), so the short batch and the capture land between different steps of the long one.
  const std::string type = GetParam();
  auto model = Model::load(testing::generated_model(
      "backend-4layers-seed11-" + type + ".gguf", "--shape custom --layers 4 --format gguf --seed 11 --type " + type));
  ASSERT_EQ(model->config.n_layer, 4);
  const int32_t eos = model->tokenizer->eos_id();
  CpuBackend backend(*model, 2, /*chunk_tokens=*/16);
  std::mt19937 rng(31);
  const std::vector<int32_t> prompt = random_ids(rng, 10);
  const std::shared_ptr<PrefixEntry> entry = backend.capture(prompt, {});
  std::vector<int32_t> with_prompt = prompt;
  for (int32_t id : random_tokens(rng, 20, eos)) with_prompt.push_back(id);
  const std::vector<int32_t> l0 = random_tokens(rng, 150, eos), l1 = random_tokens(rng, 7, eos);
  const std::vector<int32_t> s0 = random_tokens(rng, 5, eos), s1 = random_tokens(rng, 12, eos);
  const PackedBatch long_batch = PackedBatch::pack({l0, with_prompt, l1}, {{}, {entry, 10}, {}});
  const PackedBatch short_batch = PackedBatch::pack({s0, s1}, {});
  const std::vector<int32_t> other_prompt = random_ids(rng, 9);

  const std::vector<float> long_alone = run_alone(backend, long_batch);
  const std::vector<float> short_alone = run_alone(backend, short_batch);
  const auto other_alone = std::dynamic_pointer_cast<CpuPrefixEntry>(backend.capture(other_prompt, {}));
  ASSERT_TRUE(other_alone);

  std::unique_ptr<ForwardTask> long_task = backend.start(long_batch, OutputHead::kLastTokenPooled);
  const int64_t n_layer = model->config.n_layer;
  EXPECT_EQ(long_task->layers_total(), n_layer) << "one step per layer";
  EXPECT_EQ(long_task->layers_done(), 0);
  ASSERT_FALSE(long_task->step());
  EXPECT_EQ(long_task->layers_done(), 1);

  std::unique_ptr<ForwardTask> short_task = backend.start(short_batch, OutputHead::kLastTokenPooled);
  int64_t short_steps = 0;
  for (bool done = false; !done; ++short_steps) done = short_task->step();
  EXPECT_EQ(short_steps, n_layer);
  EXPECT_EQ(short_task->layers_done(), short_task->layers_total());
  EXPECT_EQ(short_task->take_output(), short_alone) << "the short batch between two steps of the long one";

  ASSERT_FALSE(long_task->step());
  EXPECT_EQ(long_task->layers_done(), 2);
  const auto other = std::dynamic_pointer_cast<CpuPrefixEntry>(backend.capture(other_prompt, {}));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->kv, other_alone->kv) << "a capture between two steps of a live task";
  ASSERT_FALSE(long_task->step());
  EXPECT_TRUE(long_task->step());
  EXPECT_EQ(long_task->layers_done(), n_layer);
  EXPECT_TRUE(long_task->step()) << "stepping a finished task does nothing";
  EXPECT_EQ(long_task->take_output(), long_alone) << "the long batch around the short one";
}

// With a step work bound a step is a chunk of a layer (so a 32K-token input cannot hold the worker for a whole
// layer); the chunks are cut by work, the results keep every bit of whole-layer steps, and work_done() adds up to
// the cost model's work of the computed positions (cached ones excluded).
TEST_P(CpuTasks, BoundedStepsCutLayersIntoChunksWithTheSameBits) {
  const std::string type = GetParam();
  auto model = tiny_model(type);
  const int32_t eos = model->tokenizer->eos_id();
  CpuBackend backend(*model, 2, /*chunk_tokens=*/64);
  std::mt19937 rng(47);
  const std::vector<int32_t> prompt = random_ids(rng, 12);
  const std::shared_ptr<PrefixEntry> entry = backend.capture(prompt, {});
  std::vector<int32_t> with_prompt = prompt;
  for (int32_t id : random_tokens(rng, 90, eos)) with_prompt.push_back(id);
  const std::vector<int32_t> a = random_tokens(rng, 150, eos), b = random_tokens(rng, 9, eos);
  const PackedBatch batch = PackedBatch::pack({a, with_prompt, b}, {{}, {entry, 12}, {}});
  const std::vector<float> whole_layers = run_alone(backend, batch);

  std::unique_ptr<ForwardTask> task = backend.start(batch, OutputHead::kLastTokenPooled);
  task->set_step_work(0.5);  // half a token-equivalent: about 16 rows of one layer (the floor), far below a layer
  int64_t steps = 0;
  while (!task->step()) {
    ++steps;
    if (steps == 1) {
      EXPECT_EQ(task->layers_done(), 0) << "the first step ran part of layer 0";
    }
  }
  const int64_t n_layer = model->config.n_layer;
  EXPECT_GE(steps, n_layer * (batch.n_tokens() / 64)) << "several steps per layer";
  EXPECT_EQ(task->layers_done(), n_layer);
  EXPECT_EQ(task->take_output(), whole_layers) << "chunked steps change no bit";
  const CostModel cost(model->config);
  const double expected =
      cost.sequence(150) + cost.span(12, static_cast<int64_t>(with_prompt.size())) + cost.sequence(9);
  EXPECT_NEAR(task->work_done(), expected, 1e-6 * expected);
}

INSTANTIATE_TEST_SUITE_P(Types, CpuTasks, ::testing::Values("F32", "Q8_0"));

TEST(CpuBackendInfo, MemoryPlanAndInfoDescribeWhatTheBackendHolds) {
  for (std::string type : {"F32", "Q8_0"}) {
    SCOPED_TRACE(type);
    auto model = tiny_model(type);
    const Qwen3Config& c = model->config;
    CpuBackend backend(*model, 2, /*chunk_tokens=*/64);
    const BackendInfo info = backend.info();
    EXPECT_EQ(info.name, "cpu");
    EXPECT_EQ(info.numeric_path, std::string("cpu/") + simd_level_name(simd_level()));
    EXPECT_EQ(info.n_threads, 2);
    const bool packs = int8_path_at(simd_level()) && type == "Q8_0";
    EXPECT_EQ(info.prepared_bytes > 0, packs);
    EXPECT_EQ(info.prepared_bytes, backend.weights().prepared_bytes());

    const MemoryPlan plan = backend.memory_plan(1000);
    const int64_t f = sizeof(float);
    const int64_t per_task = 1000 * (c.n_embd + 2 * c.kv_dim());  // residual stream, one layer's K and V
    const int64_t per_chunk = 64 * (2 * c.n_embd + 2 * c.q_dim() + 2 * c.n_ff + 2 * c.kv_dim());
    EXPECT_EQ(plan.activation_bytes, f * (per_task + per_chunk));
    EXPECT_EQ(plan.prefix_bytes_per_token, CpuPrefixEntry::bytes_for(1, c.n_layer, c.kv_dim()));
    EXPECT_EQ(plan.weights_bytes,
              static_cast<int64_t>(model->file_bytes) - backend.weights().released_file_bytes() + info.prepared_bytes);
    EXPECT_EQ(plan.device_total_bytes, 0);
    if (!packs) {
      EXPECT_EQ(plan.weights_bytes, static_cast<int64_t>(model->file_bytes));
    }
  }
}

// QEMBED_SIMD is read when a CPU backend is made: a name that is no level is the user's error, not a silent default.
TEST(CpuBackendSimdEnv, InvalidValueIsAnErrorAtConstruction) {
  auto model = tiny_model("F32");
  const char* saved = std::getenv("QEMBED_SIMD");
  const std::optional<std::string> restore = saved ? std::optional<std::string>(saved) : std::nullopt;
  ::setenv("QEMBED_SIMD", "bogus", 1);
  try {
    BackendOptions o;
    o.n_threads = 1;
    make_backend(*model, o);
    ADD_FAILURE() << "an invalid QEMBED_SIMD was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "QEMBED_SIMD must be scalar, avx2, avx512 or avx512vnni, got \"bogus\"");
  }
  ::setenv("QEMBED_SIMD", "avx512vnni", 1);  // at or above the hardware: capped silently to what the CPU has
  EXPECT_NO_THROW(CpuBackend(*model, 1, 64));
  if (restore) {
    ::setenv("QEMBED_SIMD", restore->c_str(), 1);
  } else {
    ::unsetenv("QEMBED_SIMD");
  }
}

// The int8 preparation and the reference's like-fast arithmetic are plain C++: check them on any CPU (the int8
// kernels that use the copies are checked in test_forward.cpp where the CPU has them, and in test_matmul_int8.cpp).
// Copies at avx2 and above, none below.
TEST(CpuWeights, Int8CopiesForQuantizedMatricesFromAvx2) {
  for (std::string type : {"Q8_0", "Q4_K_M", "F16"}) {
    SCOPED_TRACE(type);
    auto model = tiny_model(type);
    const CpuWeights below(*model, SimdLevel::Scalar);
    EXPECT_EQ(below.prepared_bytes(), 0);
    EXPECT_EQ(below.layer(0).wq.int8, nullptr);
    const CpuWeights avx2(*model, SimdLevel::Avx2);
    const CpuWeights vnni(*model, SimdLevel::Avx512Vnni);
    // 4-bit codes are kept two per byte at every int8 level, so both copies take the same bytes.
    EXPECT_EQ(avx2.prepared_bytes(), vnni.prepared_bytes());
    if (type == "Q4_K_M") {
      for (const CpuWeights* at : {&avx2, &vnni}) {
        EXPECT_TRUE(at->layer(0).wq.int8->nibbles);                    // Q4_K
        EXPECT_TRUE(at->layer(0).wq.int8->k_scales);
        EXPECT_FALSE(at->layer(at->n_layer() - 1).wv.int8->nibbles);  // Q6_K in the mix's last layers
      }
    }
    const bool quantized = type != "F16";
    EXPECT_EQ(vnni.prepared_bytes() > 0, quantized);
    ASSERT_EQ(vnni.n_layer(), model->config.n_layer);
    for (int64_t l = 0; l < vnni.n_layer(); ++l) {
      const CpuLayerMatrices& L = vnni.layer(l);
      EXPECT_EQ(L.w_down.w, &model->layers[static_cast<size_t>(l)].w_down) << "views of the model's matrices";
      for (const CpuMatrix* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) {
        EXPECT_EQ(m->int8 != nullptr, quantized) << m->w->name;
        if (m->int8) {
          EXPECT_EQ(m->int8->n_out, m->w->n_out) << m->w->name;
        }
      }
    }
    // The like-fast reference over these copies: the int8 activation rounding, within the int8 path's bound of
    // the model's math (test_forward.cpp: 0.9999).
    std::mt19937 rng(3);
    const std::vector<int32_t> ids = random_tokens(rng, 40, model->tokenizer->eos_id());
    const double cos = testing::cosine(forward_reference(*model, ids, &vnni), forward_reference(*model, ids));
    EXPECT_GT(cos, 0.9999);
    // Both record forms hold the same codes: the int8 reference over either gives the same vector, bit for bit.
    EXPECT_EQ(forward_reference(*model, ids, &avx2), forward_reference(*model, ids, &vnni));
    if (quantized) {
      EXPECT_LT(cos, 1.0 - 1e-9) << "the int8 reference rounds activations";
    }
  }
}

TEST(CpuBackendFactory, UnknownDeviceIsNamed) {
  auto model = tiny_model("F32");
  BackendOptions o;
  o.device = "tpu";
  EXPECT_THROW(make_backend(*model, o), Error);
}

}  // namespace
}  // namespace qembed
