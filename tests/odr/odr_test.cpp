// Compiled with default flags; links against odr_avx2_flags.cpp compiled with -mavx2 -mfma -mf16c.
#include <catch2/catch.hpp>

#include "odr/odr_common.hpp"
#include "qsparse/qsparse.hpp"
#include "support/testing.hpp"

odr_result run_default_flags(const std::vector<float>& x, int level_number)
#include "odr/odr_body.inc"

float range_width_after_quantize_headers(const std::vector<float>& x);  // odr/include_order.cpp

TEST_CASE("headers compose in any include order", "[odr]") {
  // 2^14 floats, past the prefetch threshold, so the SIMD range loop's prefetching branch runs.
  std::vector<float> x(1 << 14, 0.5f);
  x[100] = -2.0f;
  x[9000] = 3.0f;
  CHECK(range_width_after_quantize_headers(x) == 5.0f);
}

TEST_CASE("two TUs compiled with different -m flags give identical results on every ISA", "[odr]") {
  auto x = qsparse::testing::random_floats(4099, 3.0f, 3);
  const auto adversarial = qsparse::testing::adversarial_floats(0.05f);
  x.insert(x.end(), adversarial.begin(), adversarial.end());
  for (qsparse::isa_level level : qsparse::testing::supported_levels()) {
    if (level != qsparse::isa_level::scalar && !qsparse::cpu_supports(qsparse::isa_level::avx2)) continue;
    const auto a = run_default_flags(x, static_cast<int>(level));
    const auto b = run_avx2_flags(x, static_cast<int>(level));
    INFO(qsparse::to_string(level));
    CHECK(a.quantized == b.quantized);
    CHECK(a.requantized == b.requantized);
    CHECK(a.half == b.half);
    bool defined = true;
    for (std::size_t i = 0; i < x.size(); ++i)
      defined = defined && a.quantized[i] == qsparse::quantize_value<qsparse::round_half_away_from_zero, std::int8_t>(
                                                 x[i], 0.05f, 3);
    CHECK(defined);
  }
}
