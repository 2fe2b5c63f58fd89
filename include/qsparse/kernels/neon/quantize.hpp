// qsparse/kernels/neon/quantize.hpp — quantize / dequantize loops on 4 float lanes (aarch64 Advanced SIMD).
//
// Same contract as qsparse/kernels/scalar/quantize.hpp and the same per-lane steps as the AVX2 version;
// bit-exact with quantize_value / dequantize_value for 8- and 16-bit storage:
//   y = x * (1 / scale) or x / scale (fmul / fdiv: IEEE, correctly rounded, never fused with anything)
//   r = frintn(y) (ties to even) or frinta(y) (ties away from zero): both ignore FPCR's rounding mode
//   NaN → 0 (so the result is zp), clamp to [qmin - zp, qmax - zp] in float, fcvtzs (exact: r is an
//   integer in range), + zp, narrow (sqxtn/sqxtun, never saturating: the value is in range).
// dequantize: float(q - zp) * scale; for the TFLite policy (float(double(scale) * (q - zp))) this is the
// same number: |q - zp| < 2^17 and scale's 24-bit significand make the double product exact, so both
// round the same real number once. Full blocks of 16 (quantize) or 8 (dequantize) lanes run in SIMD; the
// remainder runs the scalar definition. Advanced SIMD is part of every aarch64 CPU: no target attribute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/quant/quantize_value.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon {

template <class Rounding>
inline float32x4_t round_f32(float32x4_t y) {
  if constexpr (std::is_same_v<Rounding, round_half_to_even>) {
    return vrndnq_f32(y);
  } else {
    static_assert(std::is_same_v<Rounding, round_half_away_from_zero>, "neon::round_f32: two rounding policies");
    return vrndaq_f32(y);
  }
}

/// One quantized lane group: int32 values in [qmin, qmax] of the storage (lo, hi are qmin - zp, qmax - zp).
template <class Rounding>
inline int32x4_t quantize_f32(float32x4_t x, float32x4_t scale_or_inverse, float32x4_t lo, float32x4_t hi,
                              int32x4_t zero_point) {
  const float32x4_t y = Rounding::multiplies_by_reciprocal ? vmulq_f32(x, scale_or_inverse) : vdivq_f32(x, scale_or_inverse);
  float32x4_t r = round_f32<Rounding>(y);
  r = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(r), vceqq_f32(r, r)));  // NaN → 0
  r = vminq_f32(vmaxq_f32(r, lo), hi);
  return vaddq_s32(vcvtq_s32_f32(r), zero_point);
}

/// Narrows 4 × 4 int32 lanes (already inside T's range) to 16 values of T, in order.
template <class T>
inline void store_narrow16(T* q, int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  const int16x8_t ab = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
  const int16x8_t cd = vcombine_s16(vqmovn_s32(c), vqmovn_s32(d));
  if constexpr (std::is_same_v<T, std::int16_t>) {
    vst1q_s16(q, ab);
    vst1q_s16(q + 8, cd);
  } else if constexpr (std::is_same_v<T, std::int8_t>) {
    vst1q_s8(q, vcombine_s8(vqmovn_s16(ab), vqmovn_s16(cd)));
  } else {
    static_assert(std::is_same_v<T, std::uint8_t>, "neon::store_narrow16: 8- and 16-bit storage only");
    vst1q_u8(q, vcombine_u8(vqmovun_s16(ab), vqmovun_s16(cd)));
  }
}

/// 8 values of T widened to two int32x4 (first four, last four).
template <class T>
inline void load_widen8(const T* q, int32x4_t& lo, int32x4_t& hi) {
  int16x8_t h;
  if constexpr (std::is_same_v<T, std::int8_t>) {
    h = vmovl_s8(vld1_s8(q));
  } else if constexpr (std::is_same_v<T, std::uint8_t>) {
    h = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(q)));
  } else {
    static_assert(std::is_same_v<T, std::int16_t>, "neon::load_widen8: 8- and 16-bit storage only");
    h = vld1q_s16(q);
  }
  lo = vmovl_s16(vget_low_s16(h));
  hi = vmovl_s16(vget_high_s16(h));
}

template <class Rounding, class Storage>
void quantize_uniform(const float* x, typename storage_traits<Storage>::value_type* q, std::ptrdiff_t n, float scale,
                      std::int32_t zero_point) {
  using T = typename storage_traits<Storage>::value_type;
  static_assert(sizeof(T) <= 2, "neon::quantize_uniform: 8- and 16-bit storage only");
  const float32x4_t s = vdupq_n_f32(Rounding::multiplies_by_reciprocal ? 1.0f / scale : scale);
  const float32x4_t lo = vdupq_n_f32(static_cast<float>(storage_traits<Storage>::qmin - zero_point));
  const float32x4_t hi = vdupq_n_f32(static_cast<float>(storage_traits<Storage>::qmax - zero_point));
  const int32x4_t zp = vdupq_n_s32(zero_point);
  std::ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) {
    store_narrow16(q + i, quantize_f32<Rounding>(vld1q_f32(x + i), s, lo, hi, zp),
                   quantize_f32<Rounding>(vld1q_f32(x + i + 4), s, lo, hi, zp),
                   quantize_f32<Rounding>(vld1q_f32(x + i + 8), s, lo, hi, zp),
                   quantize_f32<Rounding>(vld1q_f32(x + i + 12), s, lo, hi, zp));
  }
  for (; i < n; ++i) q[i] = quantize_value<Rounding, Storage>(x[i], scale, zero_point);
}

template <class Rounding, class Storage>
void quantize_channelwise(const float* x, typename storage_traits<Storage>::value_type* q, std::ptrdiff_t n,
                          const float* scale, const std::int32_t* zero_point) {
  using T = typename storage_traits<Storage>::value_type;
  static_assert(sizeof(T) <= 2, "neon::quantize_channelwise: 8- and 16-bit storage only");
  const int32x4_t qmin = vdupq_n_s32(storage_traits<Storage>::qmin);
  const int32x4_t qmax = vdupq_n_s32(storage_traits<Storage>::qmax);
  const float32x4_t one = vdupq_n_f32(1.0f);
  std::ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) {
    int32x4_t v[4];
    for (int j = 0; j < 4; ++j) {
      const int32x4_t zp = vld1q_s32(zero_point + i + 4 * j);
      float32x4_t s = vld1q_f32(scale + i + 4 * j);
      if (Rounding::multiplies_by_reciprocal) s = vdivq_f32(one, s);
      const float32x4_t lo = vcvtq_f32_s32(vsubq_s32(qmin, zp));
      const float32x4_t hi = vcvtq_f32_s32(vsubq_s32(qmax, zp));
      v[j] = quantize_f32<Rounding>(vld1q_f32(x + i + 4 * j), s, lo, hi, zp);
    }
    store_narrow16(q + i, v[0], v[1], v[2], v[3]);
  }
  for (; i < n; ++i) q[i] = quantize_value<Rounding, Storage>(x[i], scale[i], zero_point[i]);
}

template <class Rounding, class T>
void dequantize_uniform(const T* q, float* x, std::ptrdiff_t n, float scale, std::int32_t zero_point) {
  static_assert(sizeof(T) <= 2, "neon::dequantize_uniform: 8- and 16-bit storage only");
  const float32x4_t s = vdupq_n_f32(scale);
  const int32x4_t zp = vdupq_n_s32(zero_point);
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    int32x4_t a, b;
    load_widen8(q + i, a, b);
    vst1q_f32(x + i, vmulq_f32(vcvtq_f32_s32(vsubq_s32(a, zp)), s));
    vst1q_f32(x + i + 4, vmulq_f32(vcvtq_f32_s32(vsubq_s32(b, zp)), s));
  }
  for (; i < n; ++i) x[i] = dequantize_value<Rounding>(q[i], scale, zero_point);
}

template <class Rounding, class T>
void dequantize_channelwise(const T* q, float* x, std::ptrdiff_t n, const float* scale, const std::int32_t* zero_point) {
  static_assert(sizeof(T) <= 2, "neon::dequantize_channelwise: 8- and 16-bit storage only");
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    int32x4_t a, b;
    load_widen8(q + i, a, b);
    const float32x4_t fa = vcvtq_f32_s32(vsubq_s32(a, vld1q_s32(zero_point + i)));
    const float32x4_t fb = vcvtq_f32_s32(vsubq_s32(b, vld1q_s32(zero_point + i + 4)));
    vst1q_f32(x + i, vmulq_f32(fa, vld1q_f32(scale + i)));
    vst1q_f32(x + i + 4, vmulq_f32(fb, vld1q_f32(scale + i + 4)));
  }
  for (; i < n; ++i) x[i] = dequantize_value<Rounding>(q[i], scale[i], zero_point[i]);
}

/// The quantize kernels of this ISA as one registry entry (qsparse/kernels/quantize_kernels.hpp).
struct quantize_kernel {
  static constexpr isa_level isa = isa_level::neon;
  static const char* name() { return "quantize_f32__neon"; }
  template <class Rounding, class Storage, class... Args>
  static void quantize_uniform(Args&&... args) {
    neon::quantize_uniform<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  static void quantize_channelwise(Args&&... args) {
    neon::quantize_channelwise<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class... Args>
  static void dequantize_uniform(Args&&... args) {
    neon::dequantize_uniform<Rounding>(std::forward<Args>(args)...);
  }
  template <class Rounding, class... Args>
  static void dequantize_channelwise(Args&&... args) {
    neon::dequantize_channelwise<Rounding>(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::neon

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
