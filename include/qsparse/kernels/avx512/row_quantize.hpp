// qsparse/kernels/avx512/row_quantize.hpp — the dynamic-range row quantizers' rounding loop on 16 lanes
// (AVX-512 F/BW). The values of qsparse/kernels/scalar/row_quantize.hpp per element (the product kept
// from FMA contraction, the half-away rounding as trunc(y + copysign(0.49999997f, y)), which gives the
// reference's integers for every |y| < 2^23, the clamp in int32), so the results are equal bit for bit.
// Tails use masked loads and stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx512 {

namespace row_quantize_detail {

/// 16 values rounded and clamped, still int32. Half away from zero as trunc(y + copysign(0.49999997f, y)),
/// the largest float below one half: one vpternlogd, one add and vcvttps2dq instead of the reference's
/// fraction test (5 instructions more). Checked against round_half_away_small for every float |y| < 2^23,
/// both signs (the callers' |y| stays within 2^9): the same integers.
QSPARSE_TARGET_AVX512 inline __m512i round16(__m512 x, __m512 inverse, __m512 offset, bool add, __m512i lo, __m512i hi) {
  __m512 y = _mm512_mul_ps(x, inverse);
  QSPARSE_KEEP_ROUNDED(y);
  if (add) y = _mm512_add_ps(offset, y);
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  const __m512i half_below = _mm512_set1_epi32(0x3EFFFFFF);  // 0.49999997f
  // (y & sign) | half_below: 0xEA is the truth table of (A & B) | C
  const __m512 step = _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(y), sign, half_below, 0xEA));
  const __m512i v = _mm512_cvttps_epi32(_mm512_add_ps(y, step));
  return _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
}

}  // namespace row_quantize_detail

/// 16 values of the row quantizers' rounding loop as int8: clamp(round_half_away(offset + x * inverse), lo,
/// hi) (`add` false: without the offset), the product never fused into the addition. A building block
/// for kernels that quantize a row as they compute it (the fused attention of examples/minilm/).
QSPARSE_TARGET_AVX512 inline __m128i quantize_row16(__m512 x, __m512 inverse, __m512 offset, bool add, __m512i lo,
                                                    __m512i hi) {
  return _mm512_cvtepi32_epi8(row_quantize_detail::round16(x, inverse, offset, add, lo, hi));
}

QSPARSE_TARGET_AVX512 inline void quantize_row_round_away(const float* x, std::ptrdiff_t k, float inverse, float offset,
                                                          std::int8_t* q, std::int32_t qmin) {
  const bool add = qmin != -127;
  const __m512 inv = _mm512_set1_ps(inverse), off = _mm512_set1_ps(offset);
  const __m512i lo = _mm512_set1_epi32(qmin), hi = _mm512_set1_epi32(127);
  std::ptrdiff_t i = 0;
  for (; i + 16 <= k; i += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), quantize_row16(_mm512_loadu_ps(x + i), inv, off, add, lo, hi));
  }
  if (i < k) {
    const auto m = static_cast<__mmask16>((1u << (k - i)) - 1u);
    _mm_mask_storeu_epi8(q + i, m, quantize_row16(_mm512_maskz_loadu_ps(m, x + i), inv, off, add, lo, hi));
  }
}

/// scalar::quantize_row_group_sums on 16 lanes: each group's int32 values are summed in a vector as they are
/// narrowed, then reduced (a group of 8 mod 16 ends with a masked half).
QSPARSE_TARGET_AVX512 inline void quantize_row_group_sums(const float* x, std::ptrdiff_t k, float inverse, std::int8_t* q,
                                                          std::ptrdiff_t group_size, std::int32_t* sums) {
  using row_quantize_detail::round16;
  const __m512 inv = _mm512_set1_ps(inverse), off = _mm512_setzero_ps();
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
  const std::ptrdiff_t full = group_size & ~std::ptrdiff_t{15};
  for (std::ptrdiff_t at = 0, g = 0; at < k; at += group_size, ++g) {
    __m512i acc = _mm512_setzero_si512();
    std::ptrdiff_t i = at;
    for (; i < at + full; i += 16) {
      const __m512i v = round16(_mm512_loadu_ps(x + i), inv, off, false, lo, hi);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtepi32_epi8(v));
      acc = _mm512_add_epi32(acc, v);
    }
    if (full != group_size) {  // 8 values left: the masked-off lanes load 0.0f, which round to 0
      const __m512i v = round16(_mm512_maskz_loadu_ps(0xFF, x + i), inv, off, false, lo, hi);
      _mm_mask_storeu_epi8(q + i, 0xFF, _mm512_cvtepi32_epi8(v));
      acc = _mm512_add_epi32(acc, v);
    }
    sums[g] = _mm512_reduce_add_epi32(acc);
  }
}

/// The row quantization kernel of this ISA as one registry entry (qsparse/kernels/row_quantize_kernels.hpp).
struct row_quantize_kernel {
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "quantize_row_f32_s8__avx512"; }
  template <class... Args>
  QSPARSE_TARGET_AVX512 static void quantize_row_round_away(Args&&... args) {
    avx512::quantize_row_round_away(std::forward<Args>(args)...);
  }
  template <class... Args>
  QSPARSE_TARGET_AVX512 static void quantize_row_group_sums(Args&&... args) {
    avx512::quantize_row_group_sums(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx512

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
