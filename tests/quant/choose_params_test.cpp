#include "qsparse/quant/choose_params.hpp"

#include <catch2/catch.hpp>
#include <cfloat>
#include <cmath>
#include <limits>
#include <cstring>
#include <string>

#include "support/testing.hpp"

namespace {
#include "data/torch_quant_vectors.inc"
}

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::to_bits;

TEST_CASE("choose_params TFLite affine int8 follows ChooseQuantizationParams", "[choose_params]") {
  using S = tflite_int8_activation;
  // [-1, 1]: scale 2/255; both candidates are -0.5, the max-based one wins, nudged half away → -1.
  auto p = choose_params<S>(-1.0f, 1.0f);
  CHECK(p.scale == static_cast<float>(2.0 / 255.0));
  CHECK(p.zero_point == -1);
  // [-10, 30]: zero point -64.25 → -64.
  p = choose_params<S>(-10.0f, 30.0f);
  CHECK(p.scale == static_cast<float>(40.0 / 255.0));
  CHECK(p.zero_point == -64);
  // A range that excludes zero is widened to include it: [2, 4] → [0, 4], zero point at qmin.
  p = choose_params<S>(2.0f, 4.0f);
  CHECK(p.scale == static_cast<float>(4.0 / 255.0));
  CHECK(p.zero_point == -128);
  p = choose_params<S>(-4.0f, -2.0f);
  CHECK(p.scale == static_cast<float>(4.0 / 255.0));
  CHECK(p.zero_point == 127);
  // Zero-width range: a usable scale of 1 (TFLite would return 0).
  p = choose_params<S>(0.0f, 0.0f);
  CHECK(p.scale == 1.0f);
  CHECK(p.zero_point == 0);
  // A denormal range still gives a normal scale.
  p = choose_params<S>(0.0f, 1e-40f);
  CHECK(p.scale == FLT_MIN);
  CHECK(p.zero_point == -128);
}

TEST_CASE("choose_params TFLite affine uint8 matches the ONNX DynamicQuantizeLinear example range", "[choose_params]") {
  using S = scheme<std::uint8_t, per_tensor, affine, round_half_away_from_zero>;
  auto p = choose_params<S>(-3.0f, 2.0f);
  CHECK(p.scale == static_cast<float>(5.0 / 255.0));
  CHECK(p.zero_point == 153);
  // [-1, 1]: zero point 127.5 from min wins and rounds away from zero → 128.
  p = choose_params<S>(-1.0f, 1.0f);
  CHECK(p.zero_point == 128);
  p = choose_params<S>(0.0f, 6.0f);
  CHECK(p.zero_point == 0);
}

TEST_CASE("choose_params TFLite symmetric weights use max|w| / 127 and zero point 0", "[choose_params]") {
  auto p = choose_params<tflite_int8_weight_per_tensor>(-0.5f, 0.25f);
  CHECK(p.scale == 0.5f / 127.0f);
  CHECK(p.zero_point == 0);
  p = choose_params<tflite_int16_activation>(-3.0f, 1.0f);
  CHECK(p.scale == 3.0f / 32767.0f);
  CHECK(p.zero_point == 0);
  // Full-range int8 symmetric halves 255 levels: max / 127.5.
  p = choose_params<scheme<std::int8_t, per_tensor, symmetric, round_half_away_from_zero>>(-1.0f, 2.0f);
  CHECK(p.scale == 2.0f / 127.5f);
  CHECK(choose_params<tflite_int8_weight_per_tensor>(0.0f, 0.0f).scale == 1.0f);
}

TEST_CASE("choose_params PyTorch rule equals MinMaxObserver.calculate_qparams bit for bit", "[choose_params][torch]") {
  int checked = 0;
  for (const auto& c : torch_params_cases) {
    const float lo = from_bits(c.min_bits), hi = from_bits(c.max_bits);
    const std::string dtype = c.dtype, mapping = c.mapping;
    per_tensor_params p;
    if (dtype == "quint8" && mapping == "affine") p = choose_params<torch_quint8>(lo, hi);
    if (dtype == "quint8" && mapping == "symmetric")
      p = choose_params<scheme<std::uint8_t, per_tensor, symmetric, round_half_to_even>>(lo, hi);
    if (dtype == "qint8" && mapping == "affine")
      p = choose_params<scheme<std::int8_t, per_tensor, affine, round_half_to_even>>(lo, hi);
    if (dtype == "qint8" && mapping == "symmetric") p = choose_params<torch_qint8>(lo, hi);
    INFO(dtype << " " << mapping << " [" << lo << ", " << hi << "]");
    CHECK(to_bits(p.scale) == c.scale_bits);
    CHECK(p.zero_point == c.zero_point);
    ++checked;
  }
  CHECK(checked == 160);
}

TEST_CASE("choose_params rejects invalid ranges with the value in the message", "[choose_params][errors]") {
  using S = tflite_int8_activation;
  REQUIRE_THROWS_WITH(choose_params<S>(1.0f, -1.0f),
                      "qsparse::choose_params: min must not exceed max, got min = 1, max = -1");
  REQUIRE_THROWS_WITH(choose_params<S>(std::nanf(""), 1.0f), Catch::Contains("min must be finite, got min = nan"));
  REQUIRE_THROWS_WITH(choose_params<S>(0.0f, INFINITY), Catch::Contains("max must be finite, got max = inf"));
  REQUIRE_THROWS_AS(choose_params<S>(0.0f, INFINITY), qsparse::error);
}

TEST_CASE("choose_params per channel writes caller memory and returns a view of it", "[choose_params]") {
  const float mins[3] = {-1.0f, 0.0f, -0.25f};
  const float maxs[3] = {1.0f, 0.0f, 0.5f};
  float scales[3];
  std::int32_t zps[3];
  auto p = choose_params<tflite_int8_weight>(mins, maxs, 3, 0, scales, zps);
  CHECK(p.scale == scales);
  CHECK(p.zero_point == zps);
  CHECK(p.channels == 3);
  CHECK(p.axis == 0);
  CHECK(scales[0] == 1.0f / 127.0f);
  CHECK(scales[1] == 1.0f);
  CHECK(scales[2] == 0.5f / 127.0f);
  CHECK((zps[0] == 0 && zps[1] == 0 && zps[2] == 0));
  const float bad_max[3] = {1.0f, -1.0f, 0.5f};
  REQUIRE_THROWS_WITH(choose_params<tflite_int8_weight>(mins, bad_max, 3, 0, scales, zps),
                      Catch::Contains("channel 1 has an invalid range [0, -1]"));
  REQUIRE_THROWS_WITH(choose_params<tflite_int8_weight>(mins, maxs, -1, 0, scales, zps),
                      Catch::Contains("channels = -1"));
}

TEST_CASE("choose_params of the widest float range has a finite scale (issue 22)", "[choose_params][errors]") {
  const float m = std::numeric_limits<float>::max();
  const per_tensor_params torch = choose_params<torch_quint8>(-m, m);
  CHECK(std::isfinite(torch.scale));
  CHECK(torch.scale == static_cast<float>(2.0 * m / 255.0));
  CHECK(torch.zero_point >= 127);
  CHECK(torch.zero_point <= 128);
  const per_tensor_params tfl = choose_params<tflite_int8_activation>(-m, m);
  CHECK(std::isfinite(tfl.scale));
}
