// The quantization recipe: type names, the _M mixes' Q6_K layers and heads, norms in F32, and the fallback when a
// block size does not divide a row.
#include "convert/quant_recipe.hpp"

#include <gtest/gtest.h>

namespace qembed::convert {
namespace {

TEST(QuantRecipe, ParsesTheTypeNamesCaseInsensitively) {
  auto m = parse_quant_target("q4_k_m");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->base, GgmlType::Q4_K);
  EXPECT_TRUE(m->mix);
  EXPECT_EQ(m->file_type, 15u);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  EXPECT_EQ(m->name, "Q4_K_M");
  EXPECT_EQ(parse_quant_target("Q8_0")->file_type, 7u);
  EXPECT_EQ(parse_quant_target("bf16")->base, GgmlType::BF16);
  EXPECT_FALSE(parse_quant_target("Q8_0")->mix);
  EXPECT_FALSE(parse_quant_target("Q3_K").has_value());
  EXPECT_FALSE(parse_quant_target("").has_value());
}

TEST(QuantRecipe, MixKeepsSixBitsWhereErrorsMatterMost) {
  const QuantTarget q4km = *parse_quant_target("Q4_K_M");
  const int64_t n_layer = 28;
  auto type = [&](const std::string& name, int n_dims = 2, int64_t n_in = 1024) {
    return choose_tensor_type(q4km, name, n_dims, n_in, n_layer).type;
  };
  EXPECT_EQ(type("token_embd.weight"), GgmlType::Q6_K);
  EXPECT_EQ(type("cls.output.weight"), GgmlType::Q6_K);
  EXPECT_EQ(type("blk.0.attn_q.weight"), GgmlType::Q4_K);
  EXPECT_EQ(type("blk.0.attn_v.weight"), GgmlType::Q6_K);     // first eighth (layers 0-2)
  EXPECT_EQ(type("blk.27.ffn_down.weight"), GgmlType::Q6_K);  // last eighth (layers 24-27)
  EXPECT_EQ(type("blk.5.ffn_down.weight"), GgmlType::Q6_K);   // (5 - 3) % 3 == 2
  EXPECT_EQ(type("blk.6.ffn_down.weight"), GgmlType::Q4_K);
  EXPECT_EQ(type("blk.6.ffn_up.weight"), GgmlType::Q4_K);
  EXPECT_EQ(type("blk.0.attn_norm.weight", 1), GgmlType::F32);
  int six = 0;
  for (int i = 0; i < n_layer; ++i) six += type("blk." + std::to_string(i) + ".attn_v.weight") == GgmlType::Q6_K;
  EXPECT_EQ(six, 3 + 4 + 7);  // 3 first, 4 last, every third of the 21 between
}

TEST(QuantRecipe, PlainTypesApplyToEveryMatrix) {
  const QuantTarget q8 = *parse_quant_target("Q8_0");
  EXPECT_EQ(choose_tensor_type(q8, "token_embd.weight", 2, 1024, 28).type, GgmlType::Q8_0);
  EXPECT_EQ(choose_tensor_type(q8, "blk.0.attn_v.weight", 2, 1024, 28).type, GgmlType::Q8_0);
  EXPECT_EQ(choose_tensor_type(q8, "output_norm.weight", 1, 1024, 28).type, GgmlType::F32);
}

TEST(QuantRecipe, FallsBackWhenTheBlockSizeDoesNotDivideARowAndSaysWhy) {
  const QuantTarget q4k = *parse_quant_target("Q4_K");
  TensorTypeChoice c = choose_tensor_type(q4k, "blk.0.attn_q.weight", 2, 96, 2);
  EXPECT_EQ(c.type, GgmlType::Q8_0);
  EXPECT_NE(c.note.find("n_in = 96"), std::string::npos) << c.note;
  EXPECT_EQ(choose_tensor_type(q4k, "blk.0.attn_q.weight", 2, 40, 2).type, GgmlType::F16);
  EXPECT_TRUE(choose_tensor_type(q4k, "blk.0.attn_q.weight", 2, 256, 2).note.empty());
}

}  // namespace
}  // namespace qembed::convert
