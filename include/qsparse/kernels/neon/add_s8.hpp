// qsparse/kernels/neon/add_s8.hpp — TFLite's int8 ADD on aarch64 Advanced SIMD, 16 values per step.
//
// The arithmetic of kernels/scalar/add_s8.hpp lane for lane: widen, add the input offsets, shift left by
// left_shift (20 in TFLite: |a + offset| <= 255, so the product fits int32), rescale each input with the
// double-rounding MultiplyByQuantizedMultiplier (sqrdmulh and rounding shifts, kernels/neon/fixed_point.hpp),
// add, rescale to the output, add its offset, clamp to the activation range, narrow. The tail (< 16 values)
// goes through zero-padded copies, so nothing past `count` is read or written. Advanced SIMD is baseline on
// aarch64: no target attribute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/neon/fixed_point.hpp"
#include "qsparse/spec/add_params.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon {

struct add_s8 {
  static constexpr isa_level isa = isa_level::neon;
  static const char* name() { return "add_s8_c16__neon"; }

  static void run(const std::int8_t* a, const std::int8_t* b, std::int8_t* out, std::ptrdiff_t count,
                  const add_params& p) {
    const int32x4_t offset_a = vdupq_n_s32(p.input1_offset);
    const int32x4_t offset_b = vdupq_n_s32(p.input2_offset);
    const int32x4_t m_a = vdupq_n_s32(p.input1_multiplier);
    const int32x4_t m_b = vdupq_n_s32(p.input2_multiplier);
    const int32x4_t m_out = vdupq_n_s32(p.output_multiplier);
    const int32x4_t s_a = vdupq_n_s32(p.input1_shift);
    const int32x4_t s_b = vdupq_n_s32(p.input2_shift);
    const int32x4_t s_out = vdupq_n_s32(p.output_shift);
    const int32x4_t left = vdupq_n_s32(p.left_shift);
    const int32x4_t zp_out = vdupq_n_s32(p.output_offset);
    const int32x4_t lo = vdupq_n_s32(p.activation_min);
    const int32x4_t hi = vdupq_n_s32(p.activation_max);
    const auto widen = [](int8x16_t x, int32x4_t (&v)[4]) {
      const int16x8_t xl = vmovl_s8(vget_low_s8(x));
      const int16x8_t xh = vmovl_high_s8(x);
      v[0] = vmovl_s16(vget_low_s16(xl));
      v[1] = vmovl_high_s16(xl);
      v[2] = vmovl_s16(vget_low_s16(xh));
      v[3] = vmovl_high_s16(xh);
    };
    for (std::ptrdiff_t i = 0; i < count; i += 16) {
      const auto rest = static_cast<std::size_t>(count - i < 16 ? count - i : 16);
      std::int8_t ba[16] = {}, bb[16] = {};
      int8x16_t xa, xb;
      if (rest == 16) {
        xa = vld1q_s8(a + i);
        xb = vld1q_s8(b + i);
      } else {
        std::memcpy(ba, a + i, rest);
        std::memcpy(bb, b + i, rest);
        xa = vld1q_s8(ba);
        xb = vld1q_s8(bb);
      }
      int32x4_t va[4], vb[4];
      widen(xa, va);
      widen(xb, vb);
      int16x4_t words[4];
      for (int j = 0; j < 4; ++j) {
        const int32x4_t sa = vshlq_s32(vaddq_s32(va[j], offset_a), left);
        const int32x4_t sb = vshlq_s32(vaddq_s32(vb[j], offset_b), left);
        const int32x4_t sum =
            vaddq_s32(multiply_by_quantized_multiplier(sa, m_a, s_a), multiply_by_quantized_multiplier(sb, m_b, s_b));
        int32x4_t v = vaddq_s32(multiply_by_quantized_multiplier(sum, m_out, s_out), zp_out);
        v = vminq_s32(vmaxq_s32(v, lo), hi);
        words[j] = vqmovn_s32(v);
      }
      const int8x16_t result =
          vcombine_s8(vqmovn_s16(vcombine_s16(words[0], words[1])), vqmovn_s16(vcombine_s16(words[2], words[3])));
      if (rest == 16) {
        vst1q_s8(out + i, result);
      } else {
        vst1q_s8(ba, result);
        std::memcpy(out + i, ba, rest);
      }
    }
  }
};

}  // namespace qsparse::kernels::neon

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
