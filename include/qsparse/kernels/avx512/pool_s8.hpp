// qsparse/kernels/avx512/pool_s8.hpp — int8 max and average pooling of one output pixel on AVX-512BW
// (qsparse/spec/pool_args.hpp).
//
// Max: 64 channels per vector, vpmaxsb over the taps, then the clamp in int8. Average: 16 channels per
// vector summed in int32, then TFLite's rounding q = trunc((s ± count/2) / count) computed as a float
// division truncated: exact because |s ± count/2| + count < 2^24 (count <= 65536, |s| <= 128 count),
// so the correctly rounded quotient never reaches the next integer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/spec/pool_args.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

struct pool_s8 {
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "pool_s8_c64__avx512"; }

  QSPARSE_TARGET_AVX512 static void max(const pool_args& g) {
    const __m512i lo = _mm512_set1_epi8(static_cast<char>(g.act_min));
    const __m512i hi = _mm512_set1_epi8(static_cast<char>(g.act_max));
    for (std::ptrdiff_t c = 0; c < g.channels; c += 64) {
      const std::ptrdiff_t left = g.channels - c;
      const __mmask64 mask = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
      __m512i v = _mm512_set1_epi8(-128);
      for (std::ptrdiff_t t = 0; t < g.count; ++t) v = _mm512_max_epi8(v, _mm512_maskz_loadu_epi8(mask, g.taps[t] + c));
      v = _mm512_min_epi8(_mm512_max_epi8(v, lo), hi);
      _mm512_mask_storeu_epi8(g.dst + c, mask, v);
    }
  }

  /// max over a run of whole windows (pool_run_args): the same vpmaxsb per tap, without a call per pixel.
  QSPARSE_TARGET_AVX512 static void max_run(const pool_run_args& g) {
    const __m512i lo = _mm512_set1_epi8(static_cast<char>(g.act_min));
    const __m512i hi = _mm512_set1_epi8(static_cast<char>(g.act_max));
    for (std::ptrdiff_t c = 0; c < g.channels; c += 64) {
      const std::ptrdiff_t left = g.channels - c;
      const __mmask64 mask = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
      for (std::ptrdiff_t p = 0; p < g.pixels; ++p) {
        const std::int8_t* window = g.first + p * g.pixel_step + c;
        __m512i v = _mm512_set1_epi8(-128);
        for (std::ptrdiff_t fy = 0; fy < g.filter_h; ++fy)
          for (std::ptrdiff_t fx = 0; fx < g.filter_w; ++fx)
            v = _mm512_max_epi8(v, _mm512_maskz_loadu_epi8(mask, window + fy * g.row_step + fx * g.channels));
        v = _mm512_min_epi8(_mm512_max_epi8(v, lo), hi);
        _mm512_mask_storeu_epi8(g.dst + p * g.channels + c, mask, v);
      }
    }
  }

  QSPARSE_TARGET_AVX512 static void average(const pool_args& g) {
    const auto n = static_cast<std::int32_t>(g.count);
    const __m512i half = _mm512_set1_epi32(n / 2);
    const __m512 divisor = _mm512_set1_ps(static_cast<float>(n));
    const __m512i lo = _mm512_set1_epi32(g.act_min);
    const __m512i hi = _mm512_set1_epi32(g.act_max);
    for (std::ptrdiff_t c = 0; c < g.channels; c += 16) {
      const std::ptrdiff_t left = g.channels - c;
      const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      __m512i s = _mm512_setzero_si512();
      for (std::ptrdiff_t t = 0; t < g.count; ++t)
        s = _mm512_add_epi32(s, _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, g.taps[t] + c)));
      const __mmask16 positive = _mm512_cmpgt_epi32_mask(s, _mm512_setzero_si512());
      const __m512i numerator = _mm512_mask_add_epi32(_mm512_sub_epi32(s, half), positive, s, half);
      __m512i q = _mm512_cvttps_epi32(_mm512_div_ps(_mm512_cvtepi32_ps(numerator), divisor));
      q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
      _mm512_mask_cvtepi32_storeu_epi8(g.dst + c, mask, q);
    }
  }
};

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
