// qsparse/kernels/avx512/pair_sums_8x32c2.hpp — the AVX-512 tile shared by the int8 GEMM without VNNI
// and the 16x8 GEMM: MR (<= 8) rows of int16 × 32 columns of int16 weights packed with KR = 2 (64-byte
// panels rows of 32 pairs), int32 sums of pair products a[2q] w[2q] + a[2q+1] w[2q+1] per lane.
//
// The multiply-add is a policy: avx512::madd_pairs (vpmaddwd + vpaddd) here, avx512_vnni's vpdpwssd in
// kernels/avx512vnni/madd_pairs.hpp. The body is always inlined into the caller, whose target
// attribute (AVX-512BW, or AVX-512 VNNI for vpdpwssd) then covers the policy's instruction; GCC and Clang
// emit the same inner loop as a hand-written copy per instruction (checked with objdump).
//
// The caller bounds the range so that the int32 sums are exact (16x8: 255 pairs of at most 2^23 each;
// int8 GEMM: both factors in [-255, 255], the entry point guarantees the sum fits int32).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/avx512/madd_pairs.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

/// Pairs [q_begin, q_end) of MR rows (int16, row stride ld) × 32 columns (w points at pair q_begin of the
/// panel), stored as int32 to sums[r][0..31] (64-byte aligned).
template <int MR, class Madd = madd_pairs>
QSPARSE_TARGET_AVX512 QSPARSE_ALWAYS_INLINE void pair_sums_8x32c2(const std::int16_t* a, std::ptrdiff_t ld,
                                                                  std::ptrdiff_t q_begin, std::ptrdiff_t q_end,
                                                                  const std::int16_t* w, std::int32_t* sums) {
  __m512i acc[std::size_t{MR}][2];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  for (std::ptrdiff_t q = q_begin; q < q_end; ++q) {
    const __m512i b0 = _mm512_load_si512(w);
    const __m512i b1 = _mm512_load_si512(w + 32);
    w += 64;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      std::int32_t pair;
      std::memcpy(&pair, a + r * ld + 2 * q, 4);
      const __m512i av = _mm512_set1_epi32(pair);
      acc[r][0] = Madd::apply(acc[r][0], av, b0);
      acc[r][1] = Madd::apply(acc[r][1], av, b1);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm512_store_si512(sums + r * 32, acc[r][0]);
    _mm512_store_si512(sums + r * 32 + 16, acc[r][1]);
  }
}

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
