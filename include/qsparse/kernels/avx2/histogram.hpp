// qsparse/kernels/avx2/histogram.hpp — histogram bins of 8 floats at a time (AVX2).
//
// Same contract as qsparse/kernels/scalar/histogram.hpp and bit-exact with it (the per-lane steps of the
// AVX-512 version, with blends for masks). The remainder below 8 elements runs the scalar loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/scalar/histogram.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx2 {

QSPARSE_TARGET_AVX2 inline __m256i histogram_bins_ps(__m256 x, __m256 inv_width, __m256 neg_half, __m256 pos_half,
                                                    __m256i top, __m256i half, __m256i outside) {
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)));
  const __m256 finite =
      _mm256_cmp_ps(_mm256_andnot_ps(sign, x), _mm256_set1_ps(std::numeric_limits<float>::infinity()), _CMP_LT_OQ);
  const __m256i negative = _mm256_castps_si256(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
  __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(x, inv_width), neg_half), pos_half);
  v = _mm256_round_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m256i b = _mm256_min_epi32(_mm256_cvttps_epi32(v), top);
  b = _mm256_blendv_epi8(b, _mm256_min_epi32(b, _mm256_set1_epi32(-1)), negative);
  return _mm256_blendv_epi8(outside, _mm256_add_epi32(b, half), _mm256_castps_si256(finite));
}

QSPARSE_TARGET_AVX2 inline void histogram_bins(const float* x, std::ptrdiff_t n, float inv_width, std::int32_t half,
                                               std::int32_t* bins) {
  const __m256 inv = _mm256_set1_ps(inv_width);
  const __m256 neg_half = _mm256_set1_ps(-static_cast<float>(half));
  const __m256 pos_half = _mm256_set1_ps(static_cast<float>(half));
  const __m256i top = _mm256_set1_epi32(half - 1);
  const __m256i h = _mm256_set1_epi32(half);
  const __m256i outside = _mm256_set1_epi32(2 * half);
  std::ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i a = histogram_bins_ps(_mm256_loadu_ps(x + i), inv, neg_half, pos_half, top, h, outside);
    const __m256i b = histogram_bins_ps(_mm256_loadu_ps(x + i + 8), inv, neg_half, pos_half, top, h, outside);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(bins + i), a);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(bins + i + 8), b);
  }
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(bins + i),
                        histogram_bins_ps(_mm256_loadu_ps(x + i), inv, neg_half, pos_half, top, h, outside));
  }
  scalar::histogram_bins(x + i, n - i, inv_width, half, bins + i);
}

/// The histogram kernels of this ISA as one registry entry (qsparse/kernels/histogram_kernels.hpp).
struct histogram_kernel {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "histogram_bins_f32__avx2"; }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static void histogram_bins(Args&&... args) {
    avx2::histogram_bins(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx2

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
