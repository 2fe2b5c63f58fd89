// qsparse/kernels/avx2/pool_s8.hpp — int8 max and average pooling of one output pixel on AVX2
// (qsparse/spec/pool_args.hpp).
//
// Max: 32 channels per vector, vpmaxsb over the taps, clamp in int8. Average: 8 channels per vector
// summed in int32, TFLite's rounding as a truncated float division (exact: see kernels/avx512/pool_s8.hpp).
// Channel tails go through small zero-padded copies, so no load or store passes the row's end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/spec/pool_args.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

struct pool_s8 {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "pool_s8_c32__avx2"; }

  QSPARSE_TARGET_AVX2 static void max(const pool_args& g) {
    const __m256i lo = _mm256_set1_epi8(static_cast<char>(g.act_min));
    const __m256i hi = _mm256_set1_epi8(static_cast<char>(g.act_max));
    std::ptrdiff_t c = 0;
    for (; c + 32 <= g.channels; c += 32) {
      __m256i v = _mm256_set1_epi8(-128);
      for (std::ptrdiff_t t = 0; t < g.count; ++t)
        v = _mm256_max_epi8(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g.taps[t] + c)));
      v = _mm256_min_epi8(_mm256_max_epi8(v, lo), hi);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(g.dst + c), v);
    }
    if (c < g.channels) {
      const auto rest = static_cast<std::size_t>(g.channels - c);
      alignas(32) std::int8_t buffer[32] = {};
      __m256i v = _mm256_set1_epi8(-128);
      for (std::ptrdiff_t t = 0; t < g.count; ++t) {
        std::memcpy(buffer, g.taps[t] + c, rest);
        v = _mm256_max_epi8(v, _mm256_load_si256(reinterpret_cast<const __m256i*>(buffer)));
      }
      v = _mm256_min_epi8(_mm256_max_epi8(v, lo), hi);
      _mm256_store_si256(reinterpret_cast<__m256i*>(buffer), v);
      std::memcpy(g.dst + c, buffer, rest);
    }
  }

  /// max over a run of whole windows (pool_run_args), as max without a call per pixel.
  QSPARSE_TARGET_AVX2 static void max_run(const pool_run_args& g) {
    const __m256i lo = _mm256_set1_epi8(static_cast<char>(g.act_min));
    const __m256i hi = _mm256_set1_epi8(static_cast<char>(g.act_max));
    const std::ptrdiff_t whole = g.channels / 32 * 32;
    const auto rest = static_cast<std::size_t>(g.channels - whole);
    for (std::ptrdiff_t p = 0; p < g.pixels; ++p) {
      const std::int8_t* window = g.first + p * g.pixel_step;
      std::int8_t* dst = g.dst + p * g.channels;
      for (std::ptrdiff_t c = 0; c < whole; c += 32) {
        __m256i v = _mm256_set1_epi8(-128);
        for (std::ptrdiff_t fy = 0; fy < g.filter_h; ++fy)
          for (std::ptrdiff_t fx = 0; fx < g.filter_w; ++fx)
            v = _mm256_max_epi8(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(window + fy * g.row_step +
                                                                                      fx * g.channels + c)));
        v = _mm256_min_epi8(_mm256_max_epi8(v, lo), hi);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c), v);
      }
      if (rest != 0) {
        alignas(32) std::int8_t buffer[32] = {};
        __m256i v = _mm256_set1_epi8(-128);
        for (std::ptrdiff_t fy = 0; fy < g.filter_h; ++fy)
          for (std::ptrdiff_t fx = 0; fx < g.filter_w; ++fx) {
            std::memcpy(buffer, window + fy * g.row_step + fx * g.channels + whole, rest);
            v = _mm256_max_epi8(v, _mm256_load_si256(reinterpret_cast<const __m256i*>(buffer)));
          }
        v = _mm256_min_epi8(_mm256_max_epi8(v, lo), hi);
        _mm256_store_si256(reinterpret_cast<__m256i*>(buffer), v);
        std::memcpy(dst + whole, buffer, rest);
      }
    }
  }

  QSPARSE_TARGET_AVX2 static void average(const pool_args& g) {
    const auto n = static_cast<std::int32_t>(g.count);
    const __m256i half = _mm256_set1_epi32(n / 2);
    const __m256 divisor = _mm256_set1_ps(static_cast<float>(n));
    const __m256i lo = _mm256_set1_epi32(g.act_min);
    const __m256i hi = _mm256_set1_epi32(g.act_max);
    for (std::ptrdiff_t c = 0; c < g.channels; c += 8) {
      const auto count = static_cast<std::size_t>(g.channels - c < 8 ? g.channels - c : 8);
      __m256i s = _mm256_setzero_si256();
      for (std::ptrdiff_t t = 0; t < g.count; ++t) {
        std::int64_t word = 0;
        std::memcpy(&word, g.taps[t] + c, count);
        s = _mm256_add_epi32(s, _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(word)));
      }
      const __m256i positive = _mm256_cmpgt_epi32(s, _mm256_setzero_si256());
      // s + half where s > 0, s - half elsewhere.
      const __m256i numerator = _mm256_blendv_epi8(_mm256_sub_epi32(s, half), _mm256_add_epi32(s, half), positive);
      __m256i q = _mm256_cvttps_epi32(_mm256_div_ps(_mm256_cvtepi32_ps(numerator), divisor));
      q = _mm256_min_epi32(_mm256_max_epi32(q, lo), hi);
      const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
      const __m128i bytes = _mm_packs_epi16(words, words);
      std::int64_t out = _mm_cvtsi128_si64(bytes);
      std::memcpy(g.dst + c, &out, count);
    }
  }
};

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
