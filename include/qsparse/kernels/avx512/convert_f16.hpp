// qsparse/kernels/avx512/convert_f16.hpp — float32 <-> binary16 array conversion, AVX-512, 16 lanes.
//
// Same contract and bit-exact results as qsparse/kernels/scalar/convert_f16.hpp. The rounding mode
// is encoded in the instruction (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), never read from
// MXCSR. The loops are drivers::run_lanes: 4 zmm vectors (64 elements) per iteration, then single vectors;
// the last n % 16 elements use masked loads and stores (AVX-512 BW/VL for the 16-bit side), which neither read nor
// write outside [0, n) and never fault there. From convert_f16_streaming_threshold elements on, `out`
// is written with non-temporal stores (kernels/drivers/streaming.hpp).
// Callers must have checked that the CPU has AVX-512 F/BW/VL/DQ (cpu_supports(isa_level::avx512)).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/drivers/streaming.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#include <utility>
#endif

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

inline constexpr const char* convert_f32_f16_name = "convert_f32_f16__avx512";

#if QSPARSE_X86

namespace detail {

// The zero-masked forms with an all-ones mask compile to the plain instructions; the unmasked
// intrinsics of GCC 12.2 pass _mm*_undefined_*() and trip -Wmaybe-uninitialized (GCC PR 105593).
QSPARSE_TARGET_AVX512 inline __m256i cvt_ph(__m512 x) {
  return _mm512_maskz_cvtps_ph(static_cast<__mmask16>(0xFFFF), x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
QSPARSE_TARGET_AVX512 inline __m512 cvt_ps(__m256i x) {
  return _mm512_maskz_cvtph_ps(static_cast<__mmask16>(0xFFFF), x);
}

/// float32 -> float16 for drivers::run_streaming: 16 lanes, masked tail, 64 elements (two lines) per
/// streamed step, two 32-byte non-temporal stores per line.
struct f32_to_f16 {
  static constexpr std::ptrdiff_t lanes = 16;
  static constexpr std::ptrdiff_t stream_alignment = 64;
  static constexpr std::ptrdiff_t stream_step = 64;
  QSPARSE_TARGET_AVX512 static void block(const float* in, std::uint16_t* out) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), cvt_ph(_mm512_loadu_ps(in)));
  }
  QSPARSE_TARGET_AVX512 static void tail(const float* in, std::uint16_t* out, std::ptrdiff_t count) {
    const auto mask = static_cast<__mmask16>((1u << static_cast<unsigned>(count)) - 1u);
    _mm256_mask_storeu_epi16(out, mask, cvt_ph(_mm512_maskz_loadu_ps(mask, in)));
  }
  QSPARSE_TARGET_AVX512 static void stream(const float* in, std::uint16_t* out) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      _mm256_stream_si256(reinterpret_cast<__m256i*>(out + 16 * u), cvt_ph(_mm512_loadu_ps(in + 16 * u)));
    }
  }
  static void fence() { _mm_sfence(); }
};

/// float16 -> float32 for drivers::run_streaming: 16 lanes, masked tail, 64 elements (four lines) per step.
struct f16_to_f32 {
  static constexpr std::ptrdiff_t lanes = 16;
  static constexpr std::ptrdiff_t stream_alignment = 64;
  static constexpr std::ptrdiff_t stream_step = 64;
  QSPARSE_TARGET_AVX512 static void block(const std::uint16_t* in, float* out) {
    _mm512_storeu_ps(out, cvt_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in))));
  }
  QSPARSE_TARGET_AVX512 static void tail(const std::uint16_t* in, float* out, std::ptrdiff_t count) {
    const auto mask = static_cast<__mmask16>((1u << static_cast<unsigned>(count)) - 1u);
    _mm512_mask_storeu_ps(out, mask, cvt_ps(_mm256_maskz_loadu_epi16(mask, in)));
  }
  QSPARSE_TARGET_AVX512 static void stream(const std::uint16_t* in, float* out) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      _mm512_stream_ps(out + 16 * u, cvt_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 16 * u))));
    }
  }
  static void fence() { _mm_sfence(); }
};

}  // namespace detail

QSPARSE_TARGET_AVX512 inline void convert_f32_to_f16(const float* QSPARSE_RESTRICT in,
                                                     std::uint16_t* QSPARSE_RESTRICT out, std::ptrdiff_t n) {
  drivers::run_streaming<detail::f32_to_f16>(in, out, n, convert_f16_streaming_threshold);
}

QSPARSE_TARGET_AVX512 inline void convert_f16_to_f32(const std::uint16_t* QSPARSE_RESTRICT in,
                                                     float* QSPARSE_RESTRICT out, std::ptrdiff_t n) {
  drivers::run_streaming<detail::f16_to_f32>(in, out, n, convert_f16_streaming_threshold);
}

/// The convert f16 kernels of this ISA as one registry entry (qsparse/kernels/convert_f16_kernels.hpp).
struct convert_f16_kernel {
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "convert_f32_f16__avx512"; }
  template <class... Args>
  QSPARSE_TARGET_AVX512 static void convert_f32_to_f16(Args&&... args) {
    avx512::convert_f32_to_f16(std::forward<Args>(args)...);
  }
  template <class... Args>
  QSPARSE_TARGET_AVX512 static void convert_f16_to_f32(Args&&... args) {
    avx512::convert_f16_to_f32(std::forward<Args>(args)...);
  }
};

#endif  // QSPARSE_X86

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END
