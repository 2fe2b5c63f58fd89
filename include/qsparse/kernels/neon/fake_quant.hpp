// qsparse/kernels/neon/fake_quant.hpp — fake quantization forward / backward on 4 lanes (aarch64 Advanced SIMD).
//
// Same contract as qsparse/kernels/scalar/fake_quant.hpp and the per-lane steps of the x86 versions,
// bit-exact with the scalar definition for 8- and 16-bit storage; the rounding is the NEON quantize kernel's
// (frintn / frinta). Per lane: r = round(x * (1 / scale) or x / scale); pass = lo <= r <= hi (false for NaN,
// on the unclamped r: PyTorch's straight-through mask); y = (clamp(r, lo, hi) with NaN → 0, + 0.0) * scale,
// which is float(q - zp) * scale (the + 0.0 makes a zero level +0.0); dx = dy * (pass ? 1 : 0). Blocks of
// 4 lanes; the remainder runs the scalar loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/neon/quantize.hpp"
#include "qsparse/kernels/scalar/fake_quant.hpp"
#include "qsparse/quant/quantize_value.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon {

namespace fake_quant_detail {

/// The clamped level r = q - zp (as float) and the pass mask (all-ones lanes) of 4 lanes.
template <class Rounding>
inline float32x4_t clamped_levels(float32x4_t x, float32x4_t scale_or_inverse, float32x4_t lo, float32x4_t hi,
                                  uint32x4_t& pass) {
  const float32x4_t y = Rounding::multiplies_by_reciprocal ? vmulq_f32(x, scale_or_inverse) : vdivq_f32(x, scale_or_inverse);
  float32x4_t r = round_f32<Rounding>(y);
  pass = vandq_u32(vcgeq_f32(r, lo), vcleq_f32(r, hi));
  r = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(r), vceqq_f32(r, r)));  // NaN → 0
  return vminq_f32(vmaxq_f32(r, lo), hi);
}

/// The parameters of 4 channel-wise lanes: scale, what x is multiplied or divided by, and the level range
/// [qmin - zp, qmax - zp] as float.
template <class Rounding, class Storage>
struct channel_lanes {
  float32x4_t scale, scale_or_inverse, lo, hi;
  channel_lanes(const float* s, const std::int32_t* z) {
    const int32x4_t zp = vld1q_s32(z);
    scale = vld1q_f32(s);
    scale_or_inverse = Rounding::multiplies_by_reciprocal ? vdivq_f32(vdupq_n_f32(1.0f), scale) : scale;
    lo = vcvtq_f32_s32(vsubq_s32(vdupq_n_s32(storage_traits<Storage>::qmin), zp));
    hi = vcvtq_f32_s32(vsubq_s32(vdupq_n_s32(storage_traits<Storage>::qmax), zp));
  }
};

/// Four 0/1 bytes from an all-ones / all-zeros lane mask.
inline void store_mask(std::uint8_t* mask, uint32x4_t pass) {
  const uint16x4_t halves = vmovn_u32(pass);
  const uint8x8_t bytes = vand_u8(vmovn_u16(vcombine_u16(halves, halves)), vdup_n_u8(1));
  std::memcpy(mask, &bytes, 4);
}

/// y of 4 lanes: (r + 0.0) * scale, never contracted (there is nothing to contract it with).
inline float32x4_t dequantized(float32x4_t r, float32x4_t scale) { return vmulq_f32(vaddq_f32(r, vdupq_n_f32(0.0f)), scale); }

/// dy * (pass ? 1.0f : 0.0f) of 4 lanes.
inline float32x4_t gated(float32x4_t dy, uint32x4_t pass) {
  return vmulq_f32(dy, vreinterpretq_f32_u32(vandq_u32(pass, vreinterpretq_u32_f32(vdupq_n_f32(1.0f)))));
}

}  // namespace fake_quant_detail

template <class Rounding, class Storage>
void fake_quantize_uniform(const float* x, float* y, std::uint8_t* mask, std::ptrdiff_t n, float scale,
                           std::int32_t zero_point) {
  using namespace fake_quant_detail;
  static_assert(sizeof(typename storage_traits<Storage>::value_type) <= 2,
                "neon::fake_quantize_uniform: 8- and 16-bit storage only");
  const float32x4_t s = vdupq_n_f32(Rounding::multiplies_by_reciprocal ? 1.0f / scale : scale);
  const float32x4_t sc = vdupq_n_f32(scale);
  const float32x4_t lo = vdupq_n_f32(static_cast<float>(storage_traits<Storage>::qmin - zero_point));
  const float32x4_t hi = vdupq_n_f32(static_cast<float>(storage_traits<Storage>::qmax - zero_point));
  std::ptrdiff_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32x4_t pass;
    const float32x4_t r = clamped_levels<Rounding>(vld1q_f32(x + i), s, lo, hi, pass);
    vst1q_f32(y + i, dequantized(r, sc));
    if (mask != nullptr) store_mask(mask + i, pass);
  }
  scalar::fake_quantize_uniform<Rounding, Storage>(x + i, y + i, mask != nullptr ? mask + i : nullptr, n - i, scale,
                                                   zero_point);
}

template <class Rounding, class Storage>
void fake_quantize_channelwise(const float* x, float* y, std::uint8_t* mask, std::ptrdiff_t n, const float* scale,
                               const std::int32_t* zero_point) {
  using namespace fake_quant_detail;
  static_assert(sizeof(typename storage_traits<Storage>::value_type) <= 2,
                "neon::fake_quantize_channelwise: 8- and 16-bit storage only");
  std::ptrdiff_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const channel_lanes<Rounding, Storage> c(scale + i, zero_point + i);
    uint32x4_t pass;
    const float32x4_t r = clamped_levels<Rounding>(vld1q_f32(x + i), c.scale_or_inverse, c.lo, c.hi, pass);
    vst1q_f32(y + i, dequantized(r, c.scale));
    if (mask != nullptr) store_mask(mask + i, pass);
  }
  scalar::fake_quantize_channelwise<Rounding, Storage>(x + i, y + i, mask != nullptr ? mask + i : nullptr, n - i,
                                                       scale + i, zero_point + i);
}

template <class Rounding, class Storage>
void fake_quantize_backward_uniform(const float* x, const float* dy, float* dx, std::ptrdiff_t n, float scale,
                                    std::int32_t zero_point) {
  using namespace fake_quant_detail;
  const float32x4_t s = vdupq_n_f32(Rounding::multiplies_by_reciprocal ? 1.0f / scale : scale);
  const float32x4_t lo = vdupq_n_f32(static_cast<float>(storage_traits<Storage>::qmin - zero_point));
  const float32x4_t hi = vdupq_n_f32(static_cast<float>(storage_traits<Storage>::qmax - zero_point));
  std::ptrdiff_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32x4_t pass;
    (void)clamped_levels<Rounding>(vld1q_f32(x + i), s, lo, hi, pass);
    vst1q_f32(dx + i, gated(vld1q_f32(dy + i), pass));
  }
  scalar::fake_quantize_backward_uniform<Rounding, Storage>(x + i, dy + i, dx + i, n - i, scale, zero_point);
}

template <class Rounding, class Storage>
void fake_quantize_backward_channelwise(const float* x, const float* dy, float* dx, std::ptrdiff_t n,
                                        const float* scale, const std::int32_t* zero_point) {
  using namespace fake_quant_detail;
  std::ptrdiff_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const channel_lanes<Rounding, Storage> c(scale + i, zero_point + i);
    uint32x4_t pass;
    (void)clamped_levels<Rounding>(vld1q_f32(x + i), c.scale_or_inverse, c.lo, c.hi, pass);
    vst1q_f32(dx + i, gated(vld1q_f32(dy + i), pass));
  }
  scalar::fake_quantize_backward_channelwise<Rounding, Storage>(x + i, dy + i, dx + i, n - i, scale + i,
                                                                zero_point + i);
}

/// The fake quant kernels of this ISA as one registry entry (qsparse/kernels/fake_quantize_kernels.hpp).
struct fake_quantize_kernel {
  static constexpr isa_level isa = isa_level::neon;
  static const char* name() { return "fake_quantize_f32__neon"; }
  template <class Rounding, class Storage, class... Args>
  static void fake_quantize_uniform(Args&&... args) {
    neon::fake_quantize_uniform<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  static void fake_quantize_channelwise(Args&&... args) {
    neon::fake_quantize_channelwise<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  static void fake_quantize_backward_uniform(Args&&... args) {
    neon::fake_quantize_backward_uniform<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  static void fake_quantize_backward_channelwise(Args&&... args) {
    neon::fake_quantize_backward_channelwise<Rounding, Storage>(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::neon

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
