// qsparse/kernels/avx2/convert_f16.hpp — float32 <-> binary16 array conversion with F16C, 8 lanes.
//
// Same contract and bit-exact results as qsparse/kernels/scalar/convert_f16.hpp. The rounding mode
// is encoded in the instruction (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), never read from
// MXCSR; MXCSR.DAZ cannot change a result either (a float subnormal becomes ±0 with or without it).
// Main loop: 4 vectors (32 elements) per iteration; then single vectors; the last n % 8 elements go
// through a zero-padded 8-element stack buffer so the tail is converted by the same instruction and
// nothing outside [0, n) is read or written. From convert_f16_streaming_threshold elements on, `out`
// is written with non-temporal stores (kernels/drivers/streaming.hpp).
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

// Ordinary stores: any n, any alignment.
QSPARSE_TARGET_AVX2 inline void convert_f32_to_f16_cached(const float* QSPARSE_RESTRICT in,
                                                          std::uint16_t* QSPARSE_RESTRICT out, std::ptrdiff_t n) {
  constexpr int rounding = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  std::ptrdiff_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256 a = _mm256_loadu_ps(in + i);
    const __m256 b = _mm256_loadu_ps(in + i + 8);
    const __m256 c = _mm256_loadu_ps(in + i + 16);
    const __m256 d = _mm256_loadu_ps(in + i + 24);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(a, rounding));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i + 8), _mm256_cvtps_ph(b, rounding));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i + 16), _mm256_cvtps_ph(c, rounding));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i + 24), _mm256_cvtps_ph(d, rounding));
  }
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(in + i), rounding));
  }
  if (i < n) {
    const auto rest = static_cast<std::size_t>(n - i);
    float src[8] = {};
    std::uint16_t dst[8] = {};
    std::memcpy(src, in + i, rest * sizeof(float));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm256_cvtps_ph(_mm256_loadu_ps(src), rounding));
    std::memcpy(out + i, dst, rest * sizeof(std::uint16_t));
  }
}

QSPARSE_TARGET_AVX2 inline void convert_f16_to_f32_cached(const std::uint16_t* QSPARSE_RESTRICT in,
                                                          float* QSPARSE_RESTRICT out, std::ptrdiff_t n) {
  std::ptrdiff_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i + 8));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i + 16));
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i + 24));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(a));
    _mm256_storeu_ps(out + i + 8, _mm256_cvtph_ps(b));
    _mm256_storeu_ps(out + i + 16, _mm256_cvtph_ps(c));
    _mm256_storeu_ps(out + i + 24, _mm256_cvtph_ps(d));
  }
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  if (i < n) {
    const auto rest = static_cast<std::size_t>(n - i);
    std::uint16_t src[8] = {};
    float dst[8] = {};
    std::memcpy(src, in + i, rest * sizeof(std::uint16_t));
    _mm256_storeu_ps(dst, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src))));
    std::memcpy(out + i, dst, rest * sizeof(float));
  }
}

/// The float32 -> float16 loops for drivers::run_streaming: 32 elements per streaming step, two 32-byte
/// non-temporal stores.
struct f32_to_f16 {
  static constexpr std::ptrdiff_t stream_alignment = 32;
  static constexpr std::ptrdiff_t stream_step = 32;
  QSPARSE_TARGET_AVX2 static void cached(const float* QSPARSE_RESTRICT in, std::uint16_t* QSPARSE_RESTRICT out,
                                         std::ptrdiff_t n) {
    convert_f32_to_f16_cached(in, out, n);
  }
  QSPARSE_TARGET_AVX2 static void stream(const float* QSPARSE_RESTRICT in, std::uint16_t* QSPARSE_RESTRICT out) {
    constexpr int rounding = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    const __m128i a = _mm256_cvtps_ph(_mm256_loadu_ps(in), rounding);
    const __m128i b = _mm256_cvtps_ph(_mm256_loadu_ps(in + 8), rounding);
    const __m128i c = _mm256_cvtps_ph(_mm256_loadu_ps(in + 16), rounding);
    const __m128i d = _mm256_cvtps_ph(_mm256_loadu_ps(in + 24), rounding);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(out), _mm256_setr_m128i(a, b));
    _mm256_stream_si256(reinterpret_cast<__m256i*>(out + 16), _mm256_setr_m128i(c, d));
  }
  static void fence() { _mm_sfence(); }
};

/// The float16 -> float32 loops for drivers::run_streaming: 32 elements per step, four 32-byte stores.
struct f16_to_f32 {
  static constexpr std::ptrdiff_t stream_alignment = 32;
  static constexpr std::ptrdiff_t stream_step = 32;
  QSPARSE_TARGET_AVX2 static void cached(const std::uint16_t* QSPARSE_RESTRICT in, float* QSPARSE_RESTRICT out,
                                         std::ptrdiff_t n) {
    convert_f16_to_f32_cached(in, out, n);
  }
  QSPARSE_TARGET_AVX2 static void stream(const std::uint16_t* QSPARSE_RESTRICT in, float* QSPARSE_RESTRICT out) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 8));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 16));
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 24));
    _mm256_stream_ps(out, _mm256_cvtph_ps(a));
    _mm256_stream_ps(out + 8, _mm256_cvtph_ps(b));
    _mm256_stream_ps(out + 16, _mm256_cvtph_ps(c));
    _mm256_stream_ps(out + 24, _mm256_cvtph_ps(d));
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

#endif  // QSPARSE_X86

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

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END
