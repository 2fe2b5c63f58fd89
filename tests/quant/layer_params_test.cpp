#include "qsparse/quant/layer_params.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using namespace qsparse;

TEST_CASE("quantize_bias: TFLite and PyTorch rules", "[layer_params]") {
  // TFLM FC per-tensor test: input scale 1, weight scale 1 → bias [1, 2, 3] unchanged.
  const float bias[3] = {1.0f, 2.0f, 3.0f};
  CHECK(quantize_bias<tflite_int8_weight_per_tensor>(bias, 3, 1.0f, per_tensor_params{1.0f, 0}) ==
        std::vector<std::int32_t>{1, 2, 3});
  // Per channel: input 0.5, weights [0.2, 0.25, 0.5] → scales [0.1, 0.125, 0.25] → [10, 16, 12].
  const float ws[3] = {0.2f, 0.25f, 0.5f};
  const std::int32_t wz[3] = {0, 0, 0};
  CHECK(quantize_bias<tflite_int8_weight>(bias, 3, 0.5f, per_channel_params{ws, wz, 3, 0}) ==
        std::vector<std::int32_t>{10, 16, 12});
  // Ties: 1.25 / 0.5 = 2.5 → 3 (TFLite) vs 2 (PyTorch); saturation at the int32 range.
  const float tie[3] = {1.25f, -1.25f, 1e30f};
  CHECK(quantize_bias<tflite_int8_weight_per_tensor>(tie, 3, 1.0f, per_tensor_params{0.5f, 0}) ==
        std::vector<std::int32_t>{3, -3, std::numeric_limits<std::int32_t>::max()});
  CHECK(quantize_bias<torch_qint8>(tie, 3, 1.0f, per_tensor_params{0.5f, 0}) ==
        std::vector<std::int32_t>{2, -2, std::numeric_limits<std::int32_t>::max()});
  // The bias scale is the float32 product (TFLite conv test: 0.00392120517 * 0.00448552053 = 1.758864e-5).
  const float b = 0.5f;
  std::int32_t q = 0;
  quantize_bias<tflite_int8_weight_per_tensor>(&b, 1, 0.00392120517f, per_tensor_params{0.00448552053f, 0}, &q);
  CHECK(q == static_cast<std::int32_t>(std::round(0.5f / (0.00392120517f * 0.00448552053f))));
  CHECK_THROWS_WITH(quantize_bias<tflite_int8_weight>(bias, 2, 0.5f, per_channel_params{ws, wz, 3, 0}),
                    "qsparse::quantize_bias: 2 biases but 3 weight scales");
  CHECK_THROWS_WITH(quantize_bias<tflite_int8_weight_per_tensor>(bias, 3, 0.0f, per_tensor_params{1.0f, 0}),
                    "qsparse::quantize_bias: input_scale must be positive and finite, got input_scale = 0");
  CHECK_THROWS_AS(quantize_bias<tflite_int8_weight_per_tensor>(bias, 3, 1e-30f, per_tensor_params{1e-30f, 0}),
                  qsparse::error);  // the product underflows to 0
}

TEST_CASE("requantize_multipliers: TFLite's per-tensor and per-channel rules", "[layer_params]") {
  // FC SimpleTestQuantizedInt8: 1.0 * 1.0 / 0.5 = 2.0 → (2^30, 2).
  const auto m = requantize_multipliers(1.0f, per_tensor_params{1.0f, 0}, 0.5f);
  REQUIRE(m.size() == 1);
  CHECK(m[0] == quantized_multiplier{1073741824, 2});
  // Per channel: 0.5 * [0.2, 0.25, 0.5] / 1.0, in double.
  const float ws[3] = {0.2f, 0.25f, 0.5f};
  const std::int32_t wz[3] = {0, 0, 0};
  const auto pc = requantize_multipliers(0.5f, per_channel_params{ws, wz, 3, 0}, 1.0f);
  REQUIRE(pc.size() == 3);
  CHECK(pc[0] == quantize_multiplier(0.5 * static_cast<double>(0.2f)));
  CHECK(pc[1] == quantized_multiplier{1073741824, -2});
  CHECK(pc[2] == quantized_multiplier{1073741824, -1});
  // The per-tensor product is formed in float32 first: it differs from the double product here.
  const float in = 0.00392120517f, w = 0.00448552053f, out = 0.00627814838f;
  const auto t = requantize_multipliers(in, per_tensor_params{w, 0}, out);
  CHECK(t[0] == quantize_multiplier(static_cast<double>(in * w) / static_cast<double>(out)));
  const float w1[1] = {w};
  const auto c1 = requantize_multipliers(in, per_channel_params{w1, wz, 1, 0}, out);
  CHECK(c1[0] == quantize_multiplier(static_cast<double>(in) * static_cast<double>(w) / static_cast<double>(out)));
  // Caller arrays and the single-rounding policy.
  std::int32_t mult[3];
  int shift[3];
  requantize_multipliers<single_rounding>(0.5f, per_channel_params{ws, wz, 3, 0}, 1.0f, mult, shift);
  CHECK(mult[1] == 1073741824);
  CHECK(shift[1] == -2);
  const auto big = requantize_multipliers<single_rounding>(1.0f, per_tensor_params{1e20f, 0}, 1e-15f);
  CHECK(big[0] == quantized_multiplier{std::numeric_limits<std::int32_t>::max(), 30});
  const float bad[2] = {0.1f, -0.1f};
  CHECK_THROWS_WITH(requantize_multipliers(1.0f, per_channel_params{bad, wz, 2, 0}, 1.0f),
                    "qsparse::requantize_multipliers: weight scale[1] must be positive and finite, got -0.100000001");
  CHECK_THROWS_AS(requantize_multipliers(1.0f, per_tensor_params{1.0f, 0}, 0.0f), qsparse::error);
  CHECK(requantize_multipliers(1.0f, per_channel_params{ws, wz, 0, 0}, 1.0f).empty());
}
