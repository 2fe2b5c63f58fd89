// qsparse/kernels/neon/convert_f16.hpp — float32 <-> binary16 array conversion on aarch64 (Advanced SIMD
// fcvtn / fcvtl, part of every ARMv8 CPU), 8 lanes per step.
//
// Same contract and bit-exact results as qsparse/kernels/scalar/convert_f16.hpp under the default
// floating-point environment (FPCR: round to nearest even, no flush to zero, no default NaN), which is what
// every aarch64 Linux process starts with: fcvtn rounds to nearest even and converts a NaN as the definition
// does (sign and top 10 fraction bits kept, quiet bit set); fcvtl is exact and quiets NaNs the same way. A
// float32 subnormal becomes ±0 either way. The last n % 8 elements go through a zero-padded stack buffer, so
// the tail is converted by the same instructions and nothing outside [0, n) is read or written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon {

namespace detail {
inline void f32_to_f16_block8(const float* in, std::uint16_t* out) {
  const float16x8_t h = vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(in)), vld1q_f32(in + 4));
  vst1q_u16(out, vreinterpretq_u16_f16(h));
}
inline void f16_to_f32_block8(const std::uint16_t* in, float* out) {
  const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(in));
  vst1q_f32(out, vcvt_f32_f16(vget_low_f16(h)));
  vst1q_f32(out + 4, vcvt_high_f32_f16(h));
}
}  // namespace detail

inline void convert_f32_to_f16(const float* QSPARSE_RESTRICT in, std::uint16_t* QSPARSE_RESTRICT out, std::ptrdiff_t n) {
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) detail::f32_to_f16_block8(in + i, out + i);
  if (i < n) {
    float src[8] = {};
    std::uint16_t dst[8] = {};
    const auto count = static_cast<std::size_t>(n - i);
    std::memcpy(src, in + i, count * sizeof(float));
    detail::f32_to_f16_block8(src, dst);
    std::memcpy(out + i, dst, count * sizeof(std::uint16_t));
  }
}

inline void convert_f16_to_f32(const std::uint16_t* QSPARSE_RESTRICT in, float* QSPARSE_RESTRICT out, std::ptrdiff_t n) {
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) detail::f16_to_f32_block8(in + i, out + i);
  if (i < n) {
    std::uint16_t src[8] = {};
    float dst[8] = {};
    const auto count = static_cast<std::size_t>(n - i);
    std::memcpy(src, in + i, count * sizeof(std::uint16_t));
    detail::f16_to_f32_block8(src, dst);
    std::memcpy(out + i, dst, count * sizeof(float));
  }
}

/// The convert f16 kernels of this ISA as one registry entry (qsparse/kernels/convert_f16_kernels.hpp).
struct convert_f16_kernel {
  static constexpr isa_level isa = isa_level::neon;
  static const char* name() { return "convert_f32_f16__neon"; }
  template <class... Args>
  static void convert_f32_to_f16(Args&&... args) {
    neon::convert_f32_to_f16(std::forward<Args>(args)...);
  }
  template <class... Args>
  static void convert_f16_to_f32(Args&&... args) {
    neon::convert_f16_to_f32(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::neon

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
