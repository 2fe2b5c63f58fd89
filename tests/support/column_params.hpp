// tests/support/column_params.hpp — random per-output-channel requantization parameters for the int32
// GEMM and convolution tests: an int32 bias, a real multiplier 2^e (e uniform in [exp_lo, exp_hi]) as a
// TFLite fixed-point multiplier and shift and as a float scale, and optionally a float bias.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse::testing {

struct column_ranges {
  int bias_bound = 100000;  // bias uniform in [-bias_bound, bias_bound]
  double exp_lo = -20.0;    // multipliers from 2^exp_lo ...
  double exp_hi = 3.0;      // ... to 2^exp_hi (above 1, outputs saturate)
  bool float_bias = true;   // also draw a float bias per column (one more draw from the bias range, / 7)
};

struct column_params {
  std::vector<std::int32_t> bias, multipliers;
  std::vector<int> shifts;
  std::vector<float> scales, float_bias;

  column_params(std::ptrdiff_t n, std::mt19937& rng, column_ranges r = {}) {
    std::uniform_int_distribution<int> b(-r.bias_bound, r.bias_bound);
    std::uniform_real_distribution<double> e(r.exp_lo, r.exp_hi);
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      bias.push_back(b(rng));
      const double real = std::exp2(e(rng));
      const quantized_multiplier q = quantize_multiplier(real);
      multipliers.push_back(q.multiplier);
      shifts.push_back(q.shift);
      scales.push_back(static_cast<float>(real));
      if (r.float_bias) float_bias.push_back(static_cast<float>(b(rng)) / 7.0f);
    }
  }

  /// TFLite's per-channel int8 output pipeline: bias, double-rounding requantization, zero point, clamp.
  auto int8_pipeline(std::int32_t out_zp) const {
    return pipeline(bias_add{bias.data()},
                    requantize_fixed_point_per_channel<double_rounding>{multipliers.data(), shifts.data()},
                    add_zero_point{out_zp}, clamp{-128, 127}, saturating_cast<std::int8_t>{});
  }

  /// The float-scale int8 output pipeline (XNNPACK / PyTorch): bias, half-to-even requantization, zero
  /// point, a ReLU-style clamp.
  auto float_int8_pipeline(std::int32_t out_zp) const {
    return pipeline(bias_add{bias.data()}, requantize_float_per_channel{scales.data()}, add_zero_point{out_zp},
                    clamp{out_zp, 127}, saturating_cast<std::int8_t>{});
  }
};

}  // namespace qsparse::testing
