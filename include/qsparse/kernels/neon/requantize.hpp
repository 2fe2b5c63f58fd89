// qsparse/kernels/neon/requantize.hpp — TFLite fixed-point requantization of 8/16-bit tensors on 4 int32
// lanes (aarch64 Advanced SIMD).
//
// Bit-exact with requantize_value_fixed_point (qsparse/kernels/scalar/requantize.hpp), in the same steps as
// the x86 kernels: widen, subtract the input zero point (exact in int32 for 8/16-bit input),
// multiply_by_quantized_multiplier (double rounding: sqrdmulh and a rounding shift, kernels/neon/fixed_point.hpp),
// clamp to [qmin - out_zp, qmax - out_zp] (so adding the zero point cannot overflow), add, narrow. Blocks of
// 16 in SIMD, the remainder on the scalar definition.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/neon/fixed_point.hpp"
#include "qsparse/kernels/neon/quantize.hpp"
#include "qsparse/kernels/scalar/requantize.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon {

template <class OutStorage, class In>
void requantize_fixed_point(const In* q, typename storage_traits<OutStorage>::value_type* out, std::ptrdiff_t n,
                            std::int32_t in_zero_point, quantized_multiplier m, std::int32_t out_zero_point) {
  static_assert(sizeof(In) <= 2 && sizeof(typename storage_traits<OutStorage>::value_type) <= 2,
                "neon::requantize_fixed_point: 8- and 16-bit storage only");
  const int32x4_t in_zp = vdupq_n_s32(in_zero_point);
  const int32x4_t multiplier = vdupq_n_s32(m.multiplier);
  const int32x4_t shift = vdupq_n_s32(m.shift);
  const int32x4_t lo = vdupq_n_s32(storage_traits<OutStorage>::qmin - out_zero_point);
  const int32x4_t hi = vdupq_n_s32(storage_traits<OutStorage>::qmax - out_zero_point);
  const int32x4_t out_zp = vdupq_n_s32(out_zero_point);
  std::ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) {
    int32x4_t y[4];
    load_widen8(q + i, y[0], y[1]);
    load_widen8(q + i + 8, y[2], y[3]);
    for (int j = 0; j < 4; ++j) {
      const int32x4_t r = multiply_by_quantized_multiplier(vsubq_s32(y[j], in_zp), multiplier, shift);
      y[j] = vaddq_s32(vminq_s32(vmaxq_s32(r, lo), hi), out_zp);
    }
    store_narrow16(out + i, y[0], y[1], y[2], y[3]);
  }
  for (; i < n; ++i) out[i] = requantize_value_fixed_point<OutStorage>(q[i], in_zero_point, m, out_zero_point);
}

/// The requantize kernels of this ISA as one registry entry (qsparse/kernels/requantize_kernels.hpp).
struct requantize_kernel {
  static constexpr isa_level isa = isa_level::neon;
  static const char* name() { return "requantize_fixed_point__neon"; }
  template <class OutStorage, class... Args>
  static void requantize_fixed_point(Args&&... args) {
    neon::requantize_fixed_point<OutStorage>(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::neon

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
