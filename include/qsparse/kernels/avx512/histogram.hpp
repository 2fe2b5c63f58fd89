// qsparse/kernels/avx512/histogram.hpp — histogram bins of 16 floats at a time (AVX-512 F/BW/VL/DQ).
//
// Same contract as qsparse/kernels/scalar/histogram.hpp and bit-exact with it, per lane:
//   v = min(max(x * inv_width, -half), half); b = cvtt(floor(v)) (vrndscaleps toward -inf);
//   b = min(b, half - 1); b = min(b, -1) where x < 0; bin = b + half; 2 * half where x is not finite.
// Tails use masked loads and stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx512 {

QSPARSE_TARGET_AVX512 inline __m512i histogram_bins_ps(__m512 x, __m512 inv_width, __m512 neg_half, __m512 pos_half,
                                                      __m512i top, __m512i half, __m512i outside) {
  const __mmask16 finite =
      _mm512_cmp_ps_mask(_mm512_abs_ps(x), _mm512_set1_ps(std::numeric_limits<float>::infinity()), _CMP_LT_OQ);
  const __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(x, inv_width), neg_half), pos_half);
// Without __OPTIMIZE__, GCC's _mm512_roundscale_ps is a macro whose (__mmask16)(-1) trips -Wsign-conversion.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
  v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
#pragma GCC diagnostic pop
  __m512i b = _mm512_min_epi32(_mm512_cvttps_epi32(v), top);
  b = _mm512_mask_min_epi32(b, negative, b, _mm512_set1_epi32(-1));
  return _mm512_mask_add_epi32(outside, finite, b, half);
}

QSPARSE_TARGET_AVX512 inline void histogram_bins(const float* x, std::ptrdiff_t n, float inv_width, std::int32_t half,
                                                 std::int32_t* bins) {
  const __m512 inv = _mm512_set1_ps(inv_width);
  const __m512 neg_half = _mm512_set1_ps(-static_cast<float>(half));
  const __m512 pos_half = _mm512_set1_ps(static_cast<float>(half));
  const __m512i top = _mm512_set1_epi32(half - 1);
  const __m512i h = _mm512_set1_epi32(half);
  const __m512i outside = _mm512_set1_epi32(2 * half);
  std::ptrdiff_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i a = histogram_bins_ps(_mm512_loadu_ps(x + i), inv, neg_half, pos_half, top, h, outside);
    const __m512i b = histogram_bins_ps(_mm512_loadu_ps(x + i + 16), inv, neg_half, pos_half, top, h, outside);
    _mm512_storeu_si512(bins + i, a);
    _mm512_storeu_si512(bins + i + 16, b);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512i a = histogram_bins_ps(_mm512_maskz_loadu_ps(m, x + i), inv, neg_half, pos_half, top, h, outside);
    _mm512_mask_storeu_epi32(bins + i, m, a);
  }
}

/// The histogram kernels of this ISA as one registry entry (qsparse/kernels/histogram_kernels.hpp).
struct histogram_kernel {
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "histogram_bins_f32__avx512"; }
  template <class... Args>
  QSPARSE_TARGET_AVX512 static void histogram_bins(Args&&... args) {
    avx512::histogram_bins(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx512

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
