// qsparse/kernels/avx2/row_quantize.hpp — the dynamic-range row quantizers' rounding loop on 8 lanes (AVX2).
// The values of qsparse/kernels/scalar/row_quantize.hpp per element (the product kept from FMA
// contraction, the half-away rounding as trunc(y + copysign(0.49999997f, y)), the clamp in int32), so the
// results are equal bit for bit. The remainder below 8 elements runs the scalar loop.
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

namespace row_quantize_detail {

/// 8 values rounded and clamped, still int32: half away from zero as trunc(y + copysign(0.49999997f, y)),
/// as the AVX-512 kernel does (kernels/avx512/row_quantize.hpp: the reference's integers for |y| < 2^23).
QSPARSE_TARGET_AVX2 inline __m256i round8(__m256 x, __m256 inverse, __m256 offset, bool add, __m256i lo, __m256i hi) {
  __m256 y = _mm256_mul_ps(x, inverse);
  QSPARSE_KEEP_ROUNDED(y);
  if (add) y = _mm256_add_ps(offset, y);
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)));
  const __m256 half_below = _mm256_castsi256_ps(_mm256_set1_epi32(0x3EFFFFFF));  // 0.49999997f
  const __m256i v = _mm256_cvttps_epi32(_mm256_add_ps(y, _mm256_or_ps(_mm256_and_ps(y, sign), half_below)));
  return _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
}

/// Narrows 8 int32 (already in [-128, 127]) to 8 int8 at q.
QSPARSE_TARGET_AVX2 inline void store8(std::int8_t* q, __m256i v) {
  const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i w8 = _mm_packs_epi16(w16, w16);
  const long long low = _mm_cvtsi128_si64(w8);
  std::memcpy(q, &low, 8);
}

}  // namespace row_quantize_detail

QSPARSE_TARGET_AVX2 inline void quantize_row_round_away(const float* x, std::ptrdiff_t k, float inverse, float offset,
                                                        std::int8_t* q, std::int32_t qmin) {
  using namespace row_quantize_detail;
  const bool add = qmin != -127;
  const __m256 inv = _mm256_set1_ps(inverse), off = _mm256_set1_ps(offset);
  const __m256i lo = _mm256_set1_epi32(qmin), hi = _mm256_set1_epi32(127);
  std::ptrdiff_t i = 0;
  for (; i + 8 <= k; i += 8) store8(q + i, round8(_mm256_loadu_ps(x + i), inv, off, add, lo, hi));
  if (i < k) scalar::quantize_row_round_away(x + i, k - i, inverse, offset, q + i, qmin);
}

/// scalar::quantize_row_group_sums on 8 lanes (group_size is a multiple of 8): each group's int32 values are
/// summed in a vector as they are narrowed, then reduced.
QSPARSE_TARGET_AVX2 inline void quantize_row_group_sums(const float* x, std::ptrdiff_t k, float inverse, std::int8_t* q,
                                                        std::ptrdiff_t group_size, std::int32_t* sums) {
  using namespace row_quantize_detail;
  const __m256 inv = _mm256_set1_ps(inverse), off = _mm256_setzero_ps();
  const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
  for (std::ptrdiff_t at = 0, g = 0; at < k; at += group_size, ++g) {
    __m256i acc = _mm256_setzero_si256();
    for (std::ptrdiff_t i = at; i < at + group_size; i += 8) {
      const __m256i v = round8(_mm256_loadu_ps(x + i), inv, off, false, lo, hi);
      store8(q + i, v);
      acc = _mm256_add_epi32(acc, v);
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    sums[g] = _mm_cvtsi128_si32(s);
  }
}

/// The row quantization kernel of this ISA as one registry entry (qsparse/kernels/row_quantize_kernels.hpp).
struct row_quantize_kernel {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "quantize_row_f32_s8__avx2"; }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static void quantize_row_round_away(Args&&... args) {
    avx2::quantize_row_round_away(std::forward<Args>(args)...);
  }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static void quantize_row_group_sums(Args&&... args) {
    avx2::quantize_row_group_sums(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx2

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
