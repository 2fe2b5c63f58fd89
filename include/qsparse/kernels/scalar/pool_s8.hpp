// qsparse/kernels/scalar/pool_s8.hpp — portable int8 max and average pooling of one output pixel
// (qsparse/spec/pool_args.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/isa.hpp"
#include "qsparse/spec/pool_args.hpp"

namespace qsparse {
namespace kernels {
namespace scalar {

struct pool_s8 {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "pool_s8_c1__scalar"; }

  static void max(const pool_args& g) {
    for (std::ptrdiff_t c = 0; c < g.channels; ++c) {
      std::int32_t v = -128;
      for (std::ptrdiff_t t = 0; t < g.count; ++t) v = g.taps[t][c] > v ? g.taps[t][c] : v;
      v = v < g.act_min ? g.act_min : (v > g.act_max ? g.act_max : v);
      g.dst[c] = static_cast<std::int8_t>(v);
    }
  }

  static void average(const pool_args& g) {
    const auto n = static_cast<std::int32_t>(g.count);
    for (std::ptrdiff_t c = 0; c < g.channels; ++c) {
      std::int32_t s = 0;
      for (std::ptrdiff_t t = 0; t < g.count; ++t) s += g.taps[t][c];
      s = s > 0 ? (s + n / 2) / n : (s - n / 2) / n;
      s = s < g.act_min ? g.act_min : (s > g.act_max ? g.act_max : s);
      g.dst[c] = static_cast<std::int8_t>(s);
    }
  }
};

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
