// qsparse/kernels/avx2/row_quantize.hpp — the dynamic-range row quantizers' rounding loop on 8 lanes (AVX2).
// The operations of qsparse/kernels/scalar/row_quantize.hpp per element (the product kept from FMA
// contraction, vcvttps2dq for the truncation, the half-away step from the exact fraction, the clamp in
// int32), so the results are equal bit for bit. The remainder below 8 elements runs the scalar loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/scalar/row_quantize.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx2 {

QSPARSE_TARGET_AVX2 inline void quantize_row_round_away(const float* x, std::ptrdiff_t k, float inverse, float offset,
                                                        std::int8_t* q, std::int32_t qmin) {
  const bool add = qmin != -127;
  const __m256 inv = _mm256_set1_ps(inverse), off = _mm256_set1_ps(offset);
  const __m256i lo = _mm256_set1_epi32(qmin), hi = _mm256_set1_epi32(127);
  const __m256i one = _mm256_set1_epi32(1);
  std::ptrdiff_t i = 0;
  for (; i + 8 <= k; i += 8) {
    __m256 y = _mm256_mul_ps(_mm256_loadu_ps(x + i), inv);
    QSPARSE_KEEP_ROUNDED(y);
    if (add) y = _mm256_add_ps(off, y);
    const __m256i t = _mm256_cvttps_epi32(y);
    const __m256 frac = _mm256_sub_ps(y, _mm256_cvtepi32_ps(t));
    const __m256i up = _mm256_castps_si256(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ));
    const __m256i down = _mm256_castps_si256(_mm256_cmp_ps(frac, _mm256_set1_ps(-0.5f), _CMP_LE_OQ));
    __m256i v = _mm256_add_epi32(t, _mm256_and_si256(up, one));
    v = _mm256_sub_epi32(v, _mm256_and_si256(down, one));
    v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
    // Narrow 8 int32 (already in [-128, 127]) to 8 int8.
    const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i w8 = _mm_packs_epi16(w16, w16);
    const long long low = _mm_cvtsi128_si64(w8);
    std::memcpy(q + i, &low, 8);
  }
  if (i < k) scalar::quantize_row_round_away(x + i, k - i, inverse, offset, q + i, qmin);
}

/// The row quantization kernel of this ISA as one registry entry (qsparse/kernels/row_quantize_kernels.hpp).
struct row_quantize_kernel {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "quantize_row_f32_s8__avx2"; }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static void quantize_row_round_away(Args&&... args) {
    avx2::quantize_row_round_away(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx2

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
