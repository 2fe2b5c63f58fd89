#include "qsparse/quant/layer_params.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
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

namespace {

/// clamp(Policy::apply(bias, m, s) + zp, lo, hi): what a channel with all-zero weights outputs.
template <class Policy>
std::int64_t zero_channel_output(std::int32_t bias, std::int32_t m, int s, std::int32_t zp, std::int32_t lo,
                                 std::int32_t hi) {
  const std::int64_t v = static_cast<std::int64_t>(Policy::apply(bias, m, s)) + zp;
  return std::min<std::int64_t>(std::max<std::int64_t>(v, lo), hi);
}

template <class Policy>
void check_fold_random(std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::int32_t> multiplier(1 << 30, INT32_MAX), shift(-20, 12), zp(-128, 127),
      small_bias(-5000, 5000), any_bias(INT32_MIN, INT32_MAX), coin(0, 3);
  for (int round = 0; round < 200; ++round) {
    const int n = 1 + round % 37;
    std::vector<std::int32_t> bias(static_cast<std::size_t>(n)), m(bias.size());
    std::vector<int> s(bias.size());
    std::vector<char> zero(bias.size());
    for (std::size_t c = 0; c < bias.size(); ++c) {
      bias[c] = coin(rng) == 0 ? any_bias(rng) : small_bias(rng);
      m[c] = multiplier(rng);
      s[c] = shift(rng);
      zero[c] = coin(rng) != 0;
    }
    const std::int32_t z = zp(rng);
    const std::int32_t lo = round % 3 == 0 ? -128 : std::max(-128, z), hi = round % 5 == 0 ? std::max(lo, 100) : 127;
    const auto bias0 = bias;
    const auto m0 = m;
    const auto s0 = s;
    const std::ptrdiff_t folded = fold_zero_weight_channels<Policy>([&](std::ptrdiff_t c) { return zero[static_cast<std::size_t>(c)] != 0; },
                                                                    n, bias.data(), m.data(), s.data(), z, lo, hi);
    std::ptrdiff_t changed = 0;
    for (std::size_t c = 0; c < bias.size(); ++c) {
      INFO("round " << round << " channel " << c << " bias " << bias0[c] << " multiplier " << m0[c] << " shift " << s0[c]);
      if (!zero[c]) {
        CHECK(bias[c] == bias0[c]);
        CHECK(m[c] == m0[c]);
        CHECK(s[c] == s0[c]);
        continue;
      }
      // The same constant, in the fast epilogues' form.
      CHECK(zero_channel_output<Policy>(bias[c], m[c], s[c], z, lo, hi) ==
            zero_channel_output<Policy>(bias0[c], m0[c], s0[c], z, lo, hi));
      CHECK(m[c] == INT32_MAX);
      CHECK(s[c] == -1);
      changed += m[c] != m0[c] || s[c] != s0[c] || bias[c] != bias0[c] ? 1 : 0;
    }
    CHECK(folded >= changed);
  }
}

}  // namespace

TEST_CASE("fold_zero_weight_channels: the same constant with a right shift", "[layer_params]") {
  // The CNN demo's pruned stem: input scale 1/255, output 0.00172, a zero channel's weight scale 1 →
  // real multiplier 2.277 (shift +2), bias 7207.
  const std::vector<quantized_multiplier> q =
      requantize_multipliers(1.0f / 255.0f, per_channel_params{std::vector<float>{1.0f}.data(), nullptr, 1, 1}, 0.00172225f);
  REQUIRE(q.size() == 1);
  REQUIRE(q[0].shift == 2);
  std::int32_t bias = 7207, m = q[0].multiplier;
  int s = q[0].shift;
  const std::int64_t before = zero_channel_output<double_rounding>(bias, m, s, -128, -128, 127);
  CHECK(before == 127);  // 7207 * 2.277 saturates the int8 range
  CHECK(fold_zero_weight_channels([](std::ptrdiff_t) { return true; }, 1, &bias, &m, &s, -128, -128, 127) == 1);
  CHECK(bias == 2 * 255);  // t = 127 - (-128)
  CHECK(m == INT32_MAX);
  CHECK(s == -1);
  CHECK(zero_channel_output<double_rounding>(bias, m, s, -128, -128, 127) == 127);
  // A small constant inside the range, a negative one, and no bias at all.
  for (std::int32_t b : {0, 1, -1, 3, -3, 41, -41, 100000, -100000}) {
    std::int32_t bb = b, mm = q[0].multiplier;
    int ss = q[0].shift;
    const std::int64_t want = zero_channel_output<double_rounding>(b, mm, ss, 5, -128, 127);
    CHECK(fold_zero_weight_channels([](std::ptrdiff_t) { return true; }, 1, &bb, &mm, &ss, 5, -128, 127) == 1);
    CHECK(zero_channel_output<double_rounding>(bb, mm, ss, 5, -128, 127) == want);
  }
  std::int32_t m2[2] = {q[0].multiplier, q[0].multiplier};
  int s2[2] = {2, -3};
  CHECK(fold_zero_weight_channels([](std::ptrdiff_t c) { return c == 0; }, 2, nullptr, m2, s2, 0, -128, 127) == 1);
  CHECK(m2[0] == INT32_MAX);
  CHECK(s2[0] == -1);
  CHECK(m2[1] == q[0].multiplier);
  CHECK(s2[1] == -3);
  // Random parameters under each rounding policy.
  check_fold_random<double_rounding>(1);
  check_fold_random<double_rounding_up>(2);
  check_fold_random<single_rounding>(3);
  // Bad arguments name themselves.
  CHECK_THROWS_WITH(fold_zero_weight_channels([](std::ptrdiff_t) { return true; }, 1, &bias, &m, &s, 0, 10, -10),
                    Catch::Contains("lo <= hi") && Catch::Contains("lo = 10"));
  CHECK_THROWS_WITH(fold_zero_weight_channels([](std::ptrdiff_t) { return true; }, 1, &bias, nullptr, &s, 0, -128, 127),
                    Catch::Contains("null pointer"));
}
