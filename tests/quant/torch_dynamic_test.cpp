#include "qsparse/quant/torch_dynamic.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "support/testing.hpp"

namespace {
#include "data/torch_compat_vectors.inc"

double double_from_bits(std::uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}
}  // namespace

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::to_bits;

TEST_CASE("torch_dynamic_params equals quantize_per_tensor_dynamic (PyTorch 1.13)", "[torch_dynamic]") {
  int n = 0;
  for (const auto& c : torch_dynamic_params_cases) {
    const float lo = from_bits(c.min_bits), hi = from_bits(c.max_bits);
    const auto p = std::strcmp(c.dtype, "quint8") == 0 ? qsparse::torch_dynamic_params<std::uint8_t>(lo, hi, c.reduce_range)
                                                       : qsparse::torch_dynamic_params<std::int8_t>(lo, hi, c.reduce_range);
    INFO(c.dtype << " reduce_range " << c.reduce_range << " [" << lo << ", " << hi << "]");
    CHECK(p.scale == double_from_bits(c.scale_bits));
    CHECK(p.zero_point == c.zero_point);
    ++n;
  }
  CHECK(n == 240);
}

TEST_CASE("torch_dynamic_params: the documented edges", "[torch_dynamic]") {
  // min = max = 0: scale 0.1; qint8's zero point from max: 127 - 0 → 127.
  auto p = qsparse::torch_dynamic_params<std::int8_t>(0.0f, 0.0f);
  CHECK(p.scale == 0.1);
  CHECK(p.zero_point == 127);
  p = qsparse::torch_dynamic_params<std::uint8_t>(0.0f, 0.0f);  // quint8: from min, 0
  CHECK(p.scale == 0.1);
  CHECK(p.zero_point == 0);
  // A tiny range is floored at 6.1e-5f.
  p = qsparse::torch_dynamic_params<std::uint8_t>(-1e-9f, 1e-9f);
  CHECK(p.scale == static_cast<double>(6.1e-5f));
  CHECK_THROWS_AS(qsparse::torch_dynamic_params<std::uint8_t>(1.0f, 0.0f), qsparse::error);
}

TEST_CASE("torch_dequantize_per_channel uses float64 scales as PyTorch does", "[torch_dynamic]") {
  for (const auto& c : torch_per_channel_dequant) {
    std::vector<double> scale(5);
    for (int i = 0; i < 5; ++i) scale[i] = double_from_bits(c.scale_bits[i]);
    std::vector<float> y(160);
    torch_dequantize_per_channel(c.q, y.data(), 1, c.channels, c.size, scale.data(), c.zero_point);
    for (int i = 0; i < c.channels * c.size; ++i) {
      INFO(c.dtype << " element " << i);
      CHECK(to_bits(y[i]) == c.y_bits[i]);
    }
  }
  // The example: q = -128, scale 0.2, zp 1.
  const std::int8_t q = -128;
  const double s = 0.2;
  const std::int32_t zp = 1;
  float y = 0.0f;
  torch_dequantize_per_channel(&q, &y, 1, 1, 1, &s, &zp);
  CHECK(y == -25.7999992f);
  CHECK(static_cast<float>(-129) * 0.2f != y);
}
