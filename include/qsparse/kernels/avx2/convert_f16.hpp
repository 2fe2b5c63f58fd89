// qsparse/kernels/avx2/convert_f16.hpp — float32 <-> binary16 array conversion with F16C, 8 lanes.
//
// Same contract and bit-exact results as qsparse/kernels/scalar/convert_f16.hpp. The rounding mode
// is encoded in the instruction (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), never read from
// MXCSR; MXCSR.DAZ cannot change a result either (a float subnormal becomes ±0 with or without it).
// The loops are drivers::run_lanes: 4 vectors (32 elements) per iteration, then single vectors; the last
// n % 8 elements go through a zero-padded 8-element stack buffer so the tail is converted by the same
// instruction and nothing outside [0, n) is read or written. From convert_f16_streaming_threshold
// elements on, `out` is written with non-temporal stores (kernels/drivers/streaming.hpp).
// Callers must have checked that the CPU has AVX2 + F16C (qsparse::cpu_supports(isa_level::avx2)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

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
namespace avx2 {

inline constexpr const char* convert_f32_f16_name = "convert_f32_f16__avx2";

#if QSPARSE_X86

namespace detail {

constexpr int f16_rounding = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

/// float32 -> float16 for drivers::run_streaming: 8 lanes; the tail goes through a zero-padded 8-element
/// stack buffer, so it is converted by the same instruction and nothing outside [0, n) is touched;
/// 32 elements per streamed step, two 32-byte non-temporal stores.
struct f32_to_f16 {
  static constexpr std::ptrdiff_t lanes = 8;
  static constexpr std::ptrdiff_t stream_alignment = 32;
  static constexpr std::ptrdiff_t stream_step = 32;
  QSPARSE_TARGET_AVX2 static void block(const float* in, std::uint16_t* out) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_cvtps_ph(_mm256_loadu_ps(in), f16_rounding));
  }
  QSPARSE_TARGET_AVX2 static void tail(const float* in, std::uint16_t* out, std::ptrdiff_t count) {
    float src[8] = {};
    std::uint16_t dst[8] = {};
    std::memcpy(src, in, static_cast<std::size_t>(count) * sizeof(float));
    block(src, dst);
    std::memcpy(out, dst, static_cast<std::size_t>(count) * sizeof(std::uint16_t));
  }
  QSPARSE_TARGET_AVX2 static void stream(const float* in, std::uint16_t* out) {
#pragma GCC unroll 2
    for (int u = 0; u < 2; ++u) {
      const __m128i lo = _mm256_cvtps_ph(_mm256_loadu_ps(in + 16 * u), f16_rounding);
      const __m128i hi = _mm256_cvtps_ph(_mm256_loadu_ps(in + 16 * u + 8), f16_rounding);
      _mm256_stream_si256(reinterpret_cast<__m256i*>(out + 16 * u), _mm256_setr_m128i(lo, hi));
    }
  }
  static void fence() { _mm_sfence(); }
};

/// float16 -> float32 for drivers::run_streaming: 8 lanes, the tail through a stack buffer as above,
/// 32 elements per streamed step, four 32-byte non-temporal stores.
struct f16_to_f32 {
  static constexpr std::ptrdiff_t lanes = 8;
  static constexpr std::ptrdiff_t stream_alignment = 32;
  static constexpr std::ptrdiff_t stream_step = 32;
  QSPARSE_TARGET_AVX2 static void block(const std::uint16_t* in, float* out) {
    _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in))));
  }
  QSPARSE_TARGET_AVX2 static void tail(const std::uint16_t* in, float* out, std::ptrdiff_t count) {
    std::uint16_t src[8] = {};
    float dst[8] = {};
    std::memcpy(src, in, static_cast<std::size_t>(count) * sizeof(std::uint16_t));
    block(src, dst);
    std::memcpy(out, dst, static_cast<std::size_t>(count) * sizeof(float));
  }
  QSPARSE_TARGET_AVX2 static void stream(const std::uint16_t* in, float* out) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      _mm256_stream_ps(out + 8 * u, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 8 * u))));
    }
  }
  static void fence() { _mm_sfence(); }
};

}  // namespace detail

QSPARSE_TARGET_AVX2 inline void convert_f32_to_f16(const float* QSPARSE_RESTRICT in,
                                                   std::uint16_t* QSPARSE_RESTRICT out, std::ptrdiff_t n) {
  drivers::run_streaming<detail::f32_to_f16>(in, out, n, convert_f16_streaming_threshold);
}

QSPARSE_TARGET_AVX2 inline void convert_f16_to_f32(const std::uint16_t* QSPARSE_RESTRICT in,
                                                   float* QSPARSE_RESTRICT out, std::ptrdiff_t n) {
  drivers::run_streaming<detail::f16_to_f32>(in, out, n, convert_f16_streaming_threshold);
}

/// The convert f16 kernels of this ISA as one registry entry (qsparse/kernels/convert_f16_kernels.hpp).
struct convert_f16_kernel {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "convert_f32_f16__avx2"; }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static void convert_f32_to_f16(Args&&... args) {
    avx2::convert_f32_to_f16(std::forward<Args>(args)...);
  }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static void convert_f16_to_f32(Args&&... args) {
    avx2::convert_f16_to_f32(std::forward<Args>(args)...);
  }
};

#endif  // QSPARSE_X86

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END
