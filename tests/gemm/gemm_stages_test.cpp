// tests/gemm/gemm_stages_test.cpp — the int8 GEMM against reference_gemm, bit for bit, on every ISA: full-range
// inputs and extreme zero points, and every output stage (saturating biases, float and fixed-point
// requantization, dequantization, clamps). Shared helpers: gemm_cases.hpp; the rest: gemm_test.cpp.
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "gemm/gemm_cases.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/reference.hpp"
#include "support/column_params.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using namespace qsparse::gemm_test;
using qsparse::testing::column_params;

TEST_CASE("gemm: full-range inputs and extreme zero points", "[gemm][kernels]") {
  std::mt19937 rng(7);
  for (isa_level isa : testing::supported_levels()) {
    for (fill how : {fill::low, fill::high, fill::alternating, fill::random}) {
      for (std::int32_t w_zp : {-128, 0, 127}) {
        column_params cp(45, rng);
        const auto raw = pipeline();
        const auto q = pipeline(bias_add{cp.bias.data()},
                                requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(), cp.shifts.data()},
                                add_zero_point{-128}, saturating_cast<std::int8_t>{});
        for (std::int32_t a_zp : {-128, 127}) {
          check_case<std::int8_t>(isa, 19, 131, 45, 1, 2, a_zp, w_zp, how, raw, rng);
          check_case<std::int8_t>(isa, 19, 131, 45, 0, 0, a_zp, w_zp, how, q, rng);
        }
        for (std::int32_t a_zp : {0, 255}) {
          check_case<std::uint8_t>(isa, 19, 131, 45, 1, 2, a_zp, w_zp, how, raw, rng);
          check_case<std::uint8_t>(isa, 19, 131, 45, 0, 0, a_zp, w_zp, how, q, rng);
        }
      }
    }
    // The deepest K the bound allows for int8 x symmetric int8 at the extremes: every product is
    // (-128 - 127)... here (a - a_zp) = 255 and (w - 0) = -128 → K * 32640 must stay below 2^31.
    column_params cp(33, rng);
    check_case<std::int8_t>(isa, 3, 65793, 33, 0, 0, 127, 0, fill::low, pipeline(), rng);
  }
}

TEST_CASE("gemm: every output stage on every kernel", "[gemm][stages]") {
  std::mt19937 rng(3);
  const std::ptrdiff_t shapes[][3] = {{1, 1, 1}, {5, 9, 33}, {9, 64, 17}, {17, 5, 70}, {2, 300, 100}, {150, 21, 40}};
  for (isa_level isa : testing::supported_levels()) {
    for (const auto& s : shapes) {
      const std::ptrdiff_t m = s[0], k = s[1], n = s[2];
      column_params cp(n, rng);
      const quantized_multiplier one = quantize_multiplier(0.0123);
      check_case<std::int8_t>(isa, m, k, n, 2, 1, 5, 0, fill::random,
                              pipeline(requantize_fixed_point<single_rounding>{one}, add_zero_point{100},
                                       saturating_cast<std::uint8_t>{}),
                              rng);
      check_case<std::uint8_t>(isa, m, k, n, 0, 3, 128, -2, fill::random,
                               pipeline(bias_add{cp.bias.data()},
                                        requantize_fixed_point_per_channel<single_rounding>{cp.multipliers.data(),
                                                                                           cp.shifts.data()},
                                        saturating_cast<std::int16_t>{}),
                               rng);
      check_case<std::int8_t>(isa, m, k, n, 0, 0, -1, 0, fill::random,
                              pipeline(bias_add{cp.bias.data()}, requantize_float_per_channel{cp.scales.data()},
                                       add_zero_point{-1}, clamp{-128, 100}, saturating_cast<std::int8_t>{}),
                              rng);
      check_case<std::int8_t>(isa, m, k, n, 0, 0, 0, 0, fill::random,
                              pipeline(requantize_float{3.5e3f}, add_zero_point{2147483000}), rng);  // saturates
      check_case<std::uint8_t>(isa, m, k, n, 1, 1, 7, 0, fill::random,
                               pipeline(dequantize_float_per_channel{cp.scales.data(), cp.float_bias.data()},
                                        clamp_float{-1000.0f, 5000.0f}),
                               rng);
      check_case<std::int8_t>(isa, m, k, n, 0, 0, 3, 1, fill::random,
                              pipeline(dequantize_float{0.25f, nullptr}), rng);
      check_case<std::int8_t>(isa, m, k, n, 0, 0, 3, 1, fill::high,
                              pipeline(bias_add{cp.bias.data()}, requantize_fixed_point<double_rounding>{{2147483647, 30}}),
                              rng);  // the left shift saturates
      // Biases at the int32 limits: the sum saturates on both sides.
      std::vector<std::int32_t> extreme(static_cast<std::size_t>(n));
      for (std::ptrdiff_t i = 0; i < n; ++i) {
        extreme[static_cast<std::size_t>(i)] = i % 3 == 0 ? INT32_MAX - static_cast<std::int32_t>(i) : (i % 3 == 1 ? INT32_MIN + static_cast<std::int32_t>(i) : static_cast<std::int32_t>(i));
      }
      for (fill how : {fill::high, fill::low, fill::alternating}) {
        check_case<std::int8_t>(isa, m, k, n, 0, 0, 127, 0, how, pipeline(bias_add{extreme.data()}), rng);
        check_case<std::uint8_t>(isa, m, k, n, 0, 0, 0, -128, how, pipeline(bias_add{extreme.data()}), rng);
        // Before a float requantization: the fast epilogue (which folds the bias into the accumulators)
        // must be refused for these panels and taken for the random biases.
        check_case<std::int8_t>(isa, m, k, n, 0, 0, -128, 0, how,
                                pipeline(bias_add{extreme.data()}, requantize_float_per_channel{cp.scales.data()},
                                         add_zero_point{3}, saturating_cast<std::int8_t>{}),
                                rng);
        check_case<std::int8_t>(isa, m, k, n, 0, 0, -128, 0, how,
                                pipeline(bias_add{cp.bias.data()}, requantize_float_per_channel{cp.scales.data()},
                                         add_zero_point{3}, saturating_cast<std::int8_t>{}),
                                rng);
      }
    }
  }
}
