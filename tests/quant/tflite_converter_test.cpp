#include "qsparse/quant/tflite_converter.hpp"

#include <catch2/catch.hpp>
#include <cstring>

#include "support/testing.hpp"

namespace {
#include "data/tflite_oracle_vectors.inc"
}

using namespace qsparse;
using qsparse::testing::from_bits;

TEST_CASE("tflite_converter_choose_params equals the TensorFlow 2.21 converter on every calibrated range",
          "[tflite_converter]") {
  int int8_cases = 0, int16_cases = 0, scale_differs_from_runtime_rule = 0;
  for (const auto& c : tflite_converter_params) {
    const float lo = from_bits(c.min_bits), hi = from_bits(c.max_bits);
    per_tensor_params p;
    if (std::strcmp(c.activation, "int8") == 0) {
      p = tflite_converter_choose_params<tflite_int8_activation>(lo, hi);
      ++int8_cases;
      if (choose_params<tflite_int8_activation>(lo, hi).scale != from_bits(c.scale_bits)) ++scale_differs_from_runtime_rule;
    } else {
      p = tflite_converter_choose_params<tflite_int16_activation>(lo, hi);
      ++int16_cases;
    }
    INFO(c.activation << " [" << lo << ", " << hi << "]");
    CHECK(p.scale == from_bits(c.scale_bits));
    CHECK(p.zero_point == c.zero_point);
  }
  CHECK(int8_cases == 72);
  CHECK(int16_cases == 72);
  // The runtime's ChooseQuantizationParams (double subtraction) is off by an ulp on some ranges.
  CHECK(scale_differs_from_runtime_rule > 0);
}

TEST_CASE("tflite_converter_quantize_bias equals the converter's int32 biases", "[tflite_converter]") {
  int n = 0;
  for (const auto& c : tflite_converter_bias) {
    const float b = from_bits(c.bias_bits), si = from_bits(c.input_scale_bits), sw = from_bits(c.weight_scale_bits);
    INFO("bias " << b << " input scale " << si << " weight scale " << sw);
    CHECK(tflite_converter_quantize_bias(b, si, sw) == c.q);
    ++n;
  }
  CHECK(n == 240);
}

TEST_CASE("tflite_converter_quantize_bias saturates and maps NaN to 0", "[tflite_converter]") {
  CHECK(tflite_converter_quantize_bias(1e30f, 1e-3f, 1e-3f) == INT32_MAX);
  CHECK(tflite_converter_quantize_bias(-1e30f, 1e-3f, 1e-3f) == INT32_MIN);
  CHECK(tflite_converter_quantize_bias(std::nanf(""), 1.0f, 1.0f) == 0);
  CHECK(tflite_converter_quantize_bias(2.5f, 1.0f, 1.0f) == 3);
  CHECK(tflite_converter_quantize_bias(-2.5f, 1.0f, 1.0f) == -3);
}
