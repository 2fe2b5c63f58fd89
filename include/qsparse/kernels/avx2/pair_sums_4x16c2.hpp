// qsparse/kernels/avx2/pair_sums_4x16c2.hpp — the AVX2 tile shared by the int8 GEMM and the 16x8 GEMM:
// MR (<= 4) rows of int16 × 16 columns of int16 weights packed with KR = 2 (64-byte panel rows of 16
// pairs), int32 sums of pair products a[2q] w[2q] + a[2q+1] w[2q+1] per lane (vpmaddwd, vpaddd).
//
// The caller bounds the range so that the int32 sums are exact (16x8: 255 pairs of at most 2^23 each;
// int8 GEMM: both factors in [-255, 255], the entry point guarantees the sum fits int32).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

/// Pairs [q_begin, q_end) of MR rows (int16, row stride ld) × 16 columns (w points at pair q_begin of the
/// panel), stored as int32 to sums[r][0..15] (32-byte aligned).
template <int MR>
QSPARSE_TARGET_AVX2 inline void pair_sums_4x16c2(const std::int16_t* a, std::ptrdiff_t ld, std::ptrdiff_t q_begin,
                                                 std::ptrdiff_t q_end, const std::int16_t* w, std::int32_t* sums) {
  __m256i acc[std::size_t{MR}][2];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (std::ptrdiff_t q = q_begin; q < q_end; ++q) {
    const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 16));
    w += 32;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      std::int32_t pair;
      std::memcpy(&pair, a + r * ld + 2 * q, 4);
      const __m256i av = _mm256_set1_epi32(pair);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(sums + r * 16), acc[r][0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(sums + r * 16 + 8), acc[r][1]);
  }
}

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
