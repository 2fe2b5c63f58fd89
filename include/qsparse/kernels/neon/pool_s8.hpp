// qsparse/kernels/neon/pool_s8.hpp — int8 max and average pooling of one output pixel on aarch64 Advanced
// SIMD (qsparse/spec/pool_args.hpp).
//
// Max: 16 channels per vector, smax over the taps, clamp in int8. Average: 16 channels summed in 4 int32
// vectors (sxtl + saddw), TFLite's rounding (s ± count/2, divided with truncation) as a float division
// truncated by fcvtzs: exact because |s ± count/2| + count < 2^24 (count <= 65536, |s| <= 128 count), the
// argument of kernels/avx512/pool_s8.hpp. Channel tails go through zero-padded 16-byte copies, so no load
// or store passes the row's end. Advanced SIMD is baseline on aarch64: no target attribute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/spec/pool_args.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon {

struct pool_s8 {
  static constexpr isa_level isa = isa_level::neon;
  static const char* name() { return "pool_s8_c16__neon"; }

  static void max(const pool_args& g) {
    const int8x16_t lo = vdupq_n_s8(static_cast<std::int8_t>(g.act_min));
    const int8x16_t hi = vdupq_n_s8(static_cast<std::int8_t>(g.act_max));
    for (std::ptrdiff_t c = 0; c < g.channels; c += 16) {
      const auto rest = static_cast<std::size_t>(g.channels - c < 16 ? g.channels - c : 16);
      std::int8_t buffer[16] = {};
      int8x16_t v = vdupq_n_s8(-128);
      for (std::ptrdiff_t t = 0; t < g.count; ++t) {
        if (rest == 16) {
          v = vmaxq_s8(v, vld1q_s8(g.taps[t] + c));
        } else {
          std::memcpy(buffer, g.taps[t] + c, rest);
          v = vmaxq_s8(v, vld1q_s8(buffer));
        }
      }
      v = vminq_s8(vmaxq_s8(v, lo), hi);
      if (rest == 16) {
        vst1q_s8(g.dst + c, v);
      } else {
        vst1q_s8(buffer, v);
        std::memcpy(g.dst + c, buffer, rest);
      }
    }
  }

  static void average(const pool_args& g) {
    const auto n = static_cast<std::int32_t>(g.count);
    const int32x4_t half = vdupq_n_s32(n / 2);
    const float32x4_t divisor = vdupq_n_f32(static_cast<float>(n));
    const int32x4_t lo = vdupq_n_s32(g.act_min);
    const int32x4_t hi = vdupq_n_s32(g.act_max);
    const int32x4_t zero = vdupq_n_s32(0);
    for (std::ptrdiff_t c = 0; c < g.channels; c += 16) {
      const auto rest = static_cast<std::size_t>(g.channels - c < 16 ? g.channels - c : 16);
      std::int8_t buffer[16] = {};
      int32x4_t s[4] = {zero, zero, zero, zero};
      for (std::ptrdiff_t t = 0; t < g.count; ++t) {
        int8x16_t x;
        if (rest == 16) {
          x = vld1q_s8(g.taps[t] + c);
        } else {
          std::memcpy(buffer, g.taps[t] + c, rest);
          x = vld1q_s8(buffer);
        }
        const int16x8_t xl = vmovl_s8(vget_low_s8(x));
        const int16x8_t xh = vmovl_high_s8(x);
        s[0] = vaddw_s16(s[0], vget_low_s16(xl));
        s[1] = vaddw_high_s16(s[1], xl);
        s[2] = vaddw_s16(s[2], vget_low_s16(xh));
        s[3] = vaddw_high_s16(s[3], xh);
      }
      int16x4_t words[4];
      for (int j = 0; j < 4; ++j) {
        // s + half where s > 0, s - half elsewhere; then the truncated quotient, clamped.
        const int32x4_t numerator = vbslq_s32(vcgtq_s32(s[j], zero), vaddq_s32(s[j], half), vsubq_s32(s[j], half));
        int32x4_t q = vcvtq_s32_f32(vdivq_f32(vcvtq_f32_s32(numerator), divisor));
        q = vminq_s32(vmaxq_s32(q, lo), hi);
        words[j] = vqmovn_s32(q);
      }
      const int8x16_t v = vcombine_s8(vqmovn_s16(vcombine_s16(words[0], words[1])), vqmovn_s16(vcombine_s16(words[2], words[3])));
      if (rest == 16) {
        vst1q_s8(g.dst + c, v);
      } else {
        vst1q_s8(buffer, v);
        std::memcpy(g.dst + c, buffer, rest);
      }
    }
  }
};

}  // namespace qsparse::kernels::neon

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
