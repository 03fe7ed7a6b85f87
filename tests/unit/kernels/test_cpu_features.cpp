// The SIMD level: QEMBED_SIMD names a level or is reported as an error, levels passed to kernels are capped at the
// hardware's, and ScopedSimdLevel restores the process-wide level.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "kernels/cpu_features.hpp"

namespace qembed {
namespace {

class SimdEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* v = std::getenv("QEMBED_SIMD");
    if (v) saved_ = v;
  }
  void TearDown() override {
    if (saved_) {
      ::setenv("QEMBED_SIMD", saved_->c_str(), 1);
    } else {
      ::unsetenv("QEMBED_SIMD");
    }
  }

 private:
  std::optional<std::string> saved_;
};

TEST_F(SimdEnv, LevelNamesAndUnsetAreValid) {
  ::unsetenv("QEMBED_SIMD");
  EXPECT_EQ(simd_env_error(), "");
  for (SimdLevel l : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512, SimdLevel::Avx512Vnni}) {
    ::setenv("QEMBED_SIMD", simd_level_name(l), 1);
    EXPECT_EQ(simd_env_error(), "") << simd_level_name(l);
  }
  ::setenv("QEMBED_SIMD", "", 1);
  EXPECT_EQ(simd_env_error(), "");
}

TEST_F(SimdEnv, AnythingElseIsNamed) {
  for (const char* bad : {"bogus", "AVX2", "avx512bf16", " avx2"}) {
    ::setenv("QEMBED_SIMD", bad, 1);
    EXPECT_EQ(simd_env_error(),
              std::string("QEMBED_SIMD must be scalar, avx2, avx512 or avx512vnni, got \"") + bad + "\"");
  }
}

TEST(SimdLevels, CappedAtTheHardware) {
  EXPECT_EQ(simd_level_capped(SimdLevel::Avx512Vnni), simd_level_hardware());
  EXPECT_EQ(simd_level_capped(SimdLevel::Scalar), SimdLevel::Scalar);
  const SimdLevel before = simd_level();
  {
    ScopedSimdLevel s(SimdLevel::Scalar);
    EXPECT_EQ(simd_level(), SimdLevel::Scalar);
  }
  EXPECT_EQ(simd_level(), before);
}

}  // namespace
}  // namespace qembed
