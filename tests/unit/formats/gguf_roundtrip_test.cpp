// Writer -> reader round trips: every metadata type, arrays, every tensor type's byte size, alignment.
#include <gtest/gtest.h>

#include <cstring>

#include "common/error.hpp"
#include "formats/gguf_reader.hpp"
#include "formats/gguf_writer.hpp"
#include "temp_dir.hpp"

namespace qembed {
namespace {

void fill_pattern(uint8_t* dst, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(seed + i * 7);
}

TEST(GgmlTypes, GeometryAndNames) {
  EXPECT_EQ(ggml_row_bytes(GgmlType::F32, 10), 40u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::F16, 10), 20u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::BF16, 10), 20u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q8_0, 64), 68u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_0, 64), 36u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_1, 64), 40u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q5_0, 64), 44u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q5_1, 64), 48u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_K, 512), 288u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q5_K, 512), 352u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q6_K, 512), 420u);
  EXPECT_EQ(ggml_type_from_name("q4_k"), GgmlType::Q4_K);
  EXPECT_EQ(ggml_type_from_name("bf16"), GgmlType::BF16);
  EXPECT_FALSE(ggml_type_from_name("Q4_K_M").has_value());
  EXPECT_EQ(find_ggml_type(5), nullptr);  // removed Q4_2
  EXPECT_EQ(find_ggml_type(99), nullptr);
  EXPECT_STREQ(ggml_type_info(GgmlType::Q6_K).name, "Q6_K");
}

// One key of every metadata type and array kind, edge values included (19 keys).
void set_every_type(GgufWriter& w) {
  w.set_u8("t.u8", 200);
  w.set_i8("t.i8", -100);
  w.set_u16("t.u16", 60000);
  w.set_i16("t.i16", -30000);
  w.set_u32("t.u32", 4000000000u);
  w.set_i32("t.i32", -2000000000);
  w.set_u64("t.u64", 1ull << 40);
  w.set_i64("t.i64", -(1ll << 40));
  w.set_f32("t.f32", 1.5f);
  w.set_f64("t.f64", 1e-300);
  w.set_bool("t.bool", true);
  w.set_string("t.str", std::string("h\0llo", 5));
  w.set_string("t.empty", "");
  w.set_string_array("t.strs", {"a", "", "Ġthe"});
  w.set_i32_array("t.i32s", {1, -2, 3});
  w.set_f32_array("t.f32s", {0.25f, -8.0f});
  w.set_u64_array("t.u64s", {7, 1ull << 50});
  w.set_bool_array("t.bools", {true, false, true});
  w.set_string_array("t.no_strs", {});
}

TEST(GgufRoundTrip, AllMetadataTypes) {
  test::TempDir dir;
  GgufWriter w;
  set_every_type(w);
  w.write(dir.file("kv.gguf"));

  auto f = GgufFile::open(dir.file("kv.gguf"));
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->metadata().size(), 19u);
  EXPECT_EQ(f->metadata()[0].first, "t.u8");  // file order kept
  EXPECT_EQ(f->get_int("t.u8"), 200);
  EXPECT_EQ(f->get_int("t.i8"), -100);
  EXPECT_EQ(f->get_int("t.u16"), 60000);
  EXPECT_EQ(f->get_int("t.i16"), -30000);
  EXPECT_EQ(f->get_int("t.u32"), 4000000000ll);
  EXPECT_EQ(f->get_int("t.i32"), -2000000000);
  EXPECT_EQ(f->get_int("t.u64"), 1ll << 40);
  EXPECT_EQ(f->get_int("t.i64"), -(1ll << 40));
  EXPECT_EQ(f->get_float("t.f32"), 1.5);
  EXPECT_EQ(f->get_float("t.f64"), 1e-300);
  EXPECT_EQ(f->get_float("t.u32"), 4000000000.0);
  EXPECT_EQ(f->get_bool("t.bool"), true);
  EXPECT_EQ(f->get_int("t.bool"), 1);
  EXPECT_EQ(f->get_string("t.str"), std::string("h\0llo", 5));
  EXPECT_EQ(f->get_string("t.empty"), "");
  EXPECT_EQ(*f->get_string_array("t.strs"), (std::vector<std::string>{"a", "", "Ġthe"}));
  EXPECT_EQ(*f->get_int_array("t.i32s"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(*f->get_int_array("t.u64s"), (std::vector<int64_t>{7, 1ll << 50}));
  EXPECT_EQ(*f->get_int_array("t.bools"), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_TRUE(f->get_string_array("t.no_strs")->empty());
  const GgufValue* fl = f->find("t.f32s");
  ASSERT_NE(fl, nullptr);
  EXPECT_EQ(fl->type, GgufType::ARRAY);
  EXPECT_EQ(fl->array_type, GgufType::F32);
  EXPECT_EQ(std::get<std::vector<double>>(fl->value), (std::vector<double>{0.25, -8.0}));

  EXPECT_FALSE(f->get_int("missing").has_value());
  EXPECT_EQ(f->get_string_array("missing"), nullptr);
  EXPECT_THROW(f->get_string("t.u8"), Error);
  EXPECT_THROW(f->get_int("t.str"), Error);
  EXPECT_THROW(f->get_bool("t.u8"), Error);
  EXPECT_THROW(f->get_float("t.bool"), Error);
  EXPECT_THROW(f->get_string_array("t.i32s"), Error);
  EXPECT_THROW(f->get_int_array("t.strs"), Error);
  EXPECT_TRUE(f->tensors().empty());
}

// set_value writes back what the reader holds, each value in its own stored type: copying a file's metadata key by
// key (qembed quantize) reproduces the original bytes of the metadata section.
TEST(GgufRoundTrip, SetValueCopiesEveryKeyWithItsType) {
  test::TempDir dir;
  GgufWriter w;
  set_every_type(w);
  w.write(dir.file("a.gguf"));
  auto a = GgufFile::open(dir.file("a.gguf"));

  GgufWriter copy;
  for (const auto& [key, value] : a->metadata()) copy.set_value(key, value);
  copy.write(dir.file("b.gguf"));
  auto b = GgufFile::open(dir.file("b.gguf"));
  ASSERT_EQ(a->file_size(), b->file_size());
  ASSERT_EQ(a->metadata().size(), b->metadata().size());
  for (size_t i = 0; i < a->metadata().size(); ++i) {
    const GgufValue &x = a->metadata()[i].second, &y = b->metadata()[i].second;
    EXPECT_EQ(a->metadata()[i].first, b->metadata()[i].first);
    EXPECT_EQ(x.type, y.type) << a->metadata()[i].first;
    EXPECT_EQ(x.array_type, y.array_type) << a->metadata()[i].first;
    EXPECT_EQ(x.value, y.value) << a->metadata()[i].first;
  }
}

TEST(GgufRoundTrip, EveryTensorType) {
  test::TempDir dir;
  const GgmlType types[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                            GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                            GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
  GgufWriter w;
  w.set_string("general.architecture", "test");
  int i = 0;
  for (GgmlType t : types) {
    const int64_t n0 = ggml_type_info(t).block_values * 2;
    std::vector<int64_t> ne = {n0, 3};
    if (i % 3 == 1) ne.push_back(2);
    const uint8_t seed = static_cast<uint8_t>(i);
    size_t n_bytes = ggml_row_bytes(t, n0) * static_cast<size_t>(ne.size() == 3 ? 6 : 3);
    w.add_tensor(std::string("t.") + ggml_type_info(t).name, t, ne,
                 [n_bytes, seed](uint8_t* dst) { fill_pattern(dst, n_bytes, seed); });
    ++i;
  }
  w.add_tensor("vec", GgmlType::F32, {5}, [](uint8_t* dst) { fill_pattern(dst, 20, 99); });
  w.write(dir.file("t.gguf"));

  auto f = GgufFile::open(dir.file("t.gguf"));
  ASSERT_EQ(f->tensors().size(), std::size(types) + 1);
  i = 0;
  for (GgmlType t : types) {
    const GgufTensorInfo* info = f->find_tensor(std::string("t.") + ggml_type_info(t).name);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->type, t);
    const int64_t n0 = ggml_type_info(t).block_values * 2;
    const int64_t rows = i % 3 == 1 ? 6 : 3;
    EXPECT_EQ(info->ne[0], n0);
    EXPECT_EQ(info->n_elements(), n0 * rows);
    EXPECT_EQ(info->n_bytes, ggml_row_bytes(t, n0) * rows);
    EXPECT_EQ(info->offset % 32, 0u);
    std::vector<uint8_t> expect(info->n_bytes);
    fill_pattern(expect.data(), expect.size(), static_cast<uint8_t>(i));
    EXPECT_EQ(std::memcmp(info->data, expect.data(), expect.size()), 0) << ggml_type_info(t).name;
    ++i;
  }
  const GgufTensorInfo* vec = f->find_tensor("vec");
  ASSERT_NE(vec, nullptr);
  EXPECT_EQ(vec->ne, std::vector<int64_t>{5});
  EXPECT_EQ(vec->n_bytes, 20u);
  EXPECT_EQ(f->find_tensor("nope"), nullptr);
  EXPECT_EQ((f->data_offset()) % 32, 0u);
}

TEST(GgufRoundTrip, CustomAlignment) {
  test::TempDir dir;
  GgufWriter w;
  w.set_alignment(64);
  w.add_tensor("a", GgmlType::F32, {3}, [](uint8_t* dst) { fill_pattern(dst, 12, 1); });
  w.add_tensor("b", GgmlType::F16, {5}, [](uint8_t* dst) { fill_pattern(dst, 10, 2); });
  w.write(dir.file("a.gguf"));
  auto f = GgufFile::open(dir.file("a.gguf"));
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  EXPECT_EQ(f->find_tensor("b")->offset, 64u);
}

TEST(GgufWriter, RejectsDuplicatesAndBadShapes) {
  GgufWriter w;
  w.set_u32("k", 1);
  EXPECT_THROW(w.set_string("k", "x"), Error);
  w.add_tensor("t", GgmlType::F32, {4}, [](uint8_t*) {});
  EXPECT_THROW(w.add_tensor("t", GgmlType::F32, {4}, [](uint8_t*) {}), Error);
  EXPECT_THROW(w.add_tensor("q", GgmlType::Q8_0, {31}, [](uint8_t*) {}), Error);
}

TEST(MappedFile, MissingEmptyAndDirectory) {
  test::TempDir dir;
  EXPECT_THROW(MappedFile(dir.file("missing.gguf")), Error);
  EXPECT_THROW(MappedFile(dir.path().string()), Error);
  test::write_bytes(dir.file("empty"), {});
  try {
    MappedFile m(dir.file("empty"));
    FAIL() << "empty file accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos);
  }
  EXPECT_THROW(GgufFile::open(dir.file("missing.gguf")), Error);
}

}  // namespace
}  // namespace qembed
