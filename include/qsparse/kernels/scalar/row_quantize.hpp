// qsparse/kernels/scalar/row_quantize.hpp — the rounding loop of the dynamic-range row quantizers
// (qsparse/gemm/hybrid.hpp: quantize_row_dynamic, hybrid_gemm's activations), the reference:
//
//   quantize_row_round_away(x, k, inverse, offset, q, qmin)
//     y    = x[i] * inverse                    (rounded on its own: never fused with the addition)
//     y    = offset + y                        (asymmetric rows: offset = float(zero point); skipped when
//                                               qmin == -127, the symmetric rows, whose offset is 0)
//     q[i] = clamp(round_half_away(y), qmin, 127)
//
//   quantize_row_group_sums(x, k, inverse, q, group_size, sums)
//     the symmetric rows' loop (qmin = -127, no offset) that also sums each group of group_size quantized
//     values: sums[g] = q[g G] + ... + q[g G + G - 1] (exact in int32), for the 4-bit GEMM's activations
//     (qsparse/gemm/gemm_q4.hpp). group_size is a multiple of 8 that divides k.
//
// round_half_away(y) = t + (y - t >= 0.5) - (y - t <= -0.5) with t = y truncated to an integer: std::round's
// value for |y| < 2^23 (the callers' |y| stays within 2^9). Finite x only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/isa.hpp"
#include "qsparse/core/unfused.hpp"

namespace qsparse::kernels::scalar {

namespace row_quantize_detail {

inline std::int32_t round_half_away_small(float y) noexcept {
  const auto t = static_cast<std::int32_t>(y);
  const float frac = y - static_cast<float>(t);
  return t + static_cast<std::int32_t>(frac >= 0.5f) - static_cast<std::int32_t>(frac <= -0.5f);
}

}  // namespace row_quantize_detail

/// qmin is -127 (symmetric: no offset) or -128 (asymmetric: offset added).
inline void quantize_row_round_away(const float* x, std::ptrdiff_t k, float inverse, float offset, std::int8_t* q,
                                    std::int32_t qmin) {
  using namespace row_quantize_detail;
  const bool add = qmin != -127;
  for (std::ptrdiff_t i = 0; i < k; ++i) {
    float y = qsparse::detail::product_not_fused(x[i], inverse);
    if (add) y = offset + y;
    const std::int32_t v = round_half_away_small(y);
    q[i] = static_cast<std::int8_t>(v < qmin ? qmin : (v > 127 ? 127 : v));
  }
}

/// quantize_row_round_away(x, k, inverse, 0, q, -127) and the sum of every group of group_size values of q.
inline void quantize_row_group_sums(const float* x, std::ptrdiff_t k, float inverse, std::int8_t* q,
                                    std::ptrdiff_t group_size, std::int32_t* sums) {
  for (std::ptrdiff_t g = 0; g * group_size < k; ++g) {
    const std::ptrdiff_t at = g * group_size;
    quantize_row_round_away(x + at, group_size, inverse, 0.0f, q + at, -127);
    std::int32_t s = 0;
    for (std::ptrdiff_t i = 0; i < group_size; ++i) s += q[at + i];
    sums[g] = s;
  }
}

/// The row quantization kernel of this ISA as one registry entry (qsparse/kernels/row_quantize_kernels.hpp).
struct row_quantize_kernel {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "quantize_row_f32_s8__scalar"; }
  static void quantize_row_round_away(const float* x, std::ptrdiff_t k, float inverse, float offset, std::int8_t* q,
                                      std::int32_t qmin) {
    scalar::quantize_row_round_away(x, k, inverse, offset, q, qmin);
  }
  static void quantize_row_group_sums(const float* x, std::ptrdiff_t k, float inverse, std::int8_t* q,
                                      std::ptrdiff_t group_size, std::int32_t* sums) {
    scalar::quantize_row_group_sums(x, k, inverse, q, group_size, sums);
  }
};

}  // namespace qsparse::kernels::scalar
