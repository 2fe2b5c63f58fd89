// qsparse/kernels/avx512/gemm_s8l4_s32_2x16c16.hpp — the clustered GEMM on AVX-512 (F/BW, no VNNI): up to 2
// rows × one panel of 16 columns, weights in the layout of qsparse/spec/packed_clustered_weights.hpp, and
// the epilogue every AVX-512 clustered tile shares.
//
// Per step (32 k) and chunk g (4 columns × 16 k per nibble half): one 64-byte load, vpandd 0x0F and
// vpsrlw 4 + vpandd give the indices, vpshufb with table g (column 4 L + g's codebook + 128 in lane L) gives
// the unsigned weights u = codebook + 128; vpunpck{l,h}bw with zero widens them to int16, and vpmaddwd
// against the row's int16 activations (k 0..7 / 8..15 of the half, broadcast to every lane) adds exact
// pairs into the int32 lanes (|u a| <= 255 · 128). Each int32 lane holds a partial sum of its lane's column.
//
// The epilogue (store_clustered_tile) reduces the 4 chunks' partial sums to the 16 columns in order
// (unpack and add; lane L of chunk g is column 4 L + g), takes off 128 Σ_k a[m][k] (the tables' offset)
// and a_zp · colsum[n] (the activations' zero point), all modulo 2^32 — exact because the entry bounds the
// true sum — and runs the output pipeline through avx512::prepare / store_prepared, bit-exact with
// evaluate for every built-in stage.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/drivers/clustered_rows.hpp"
#include "qsparse/spec/gemm_clustered_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_clustered_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

/// The 16 column sums of one row from the partial sums of its 4 chunks (chunk g, lane L: column 4 L + g).
QSPARSE_TARGET_AVX512 inline __attribute__((always_inline)) __m512i reduce_clustered_chunks(__m512i a0, __m512i a1,
                                                                                          __m512i a2, __m512i a3) {
  const __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
  const __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
  return _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
}

/// The epilogue of MR rows × panel p: sums[r] (raw Σ u a of the 16 columns) corrected and stored through
/// the pipeline.
template <int MR, class Out, class... S>
QSPARSE_TARGET_AVX512 inline __attribute__((always_inline)) void store_clustered_tile(
    const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline, const __m512i (&sums)[static_cast<std::size_t>(MR)],
    const std::int32_t* row_sums, std::ptrdiff_t m0, std::ptrdiff_t p) {
  const std::ptrdiff_t n0 = p * 16;
  const std::ptrdiff_t left = g.n - n0;
  const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
  const __m512i column_sums = _mm512_load_si512(g.weights.column_sums() + n0);
  const auto minus_zp = static_cast<std::int32_t>(0u - static_cast<std::uint32_t>(g.a_zero_point));
  const __m512i column_term = _mm512_mullo_epi32(column_sums, _mm512_set1_epi32(minus_zp));
  const auto prepared = prepare(pipeline, n0, mask);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    const auto row_term = static_cast<std::int32_t>(0u - 128u * static_cast<std::uint32_t>(row_sums[r]));
    const __m512i v = _mm512_add_epi32(_mm512_add_epi32(sums[r], column_term), _mm512_set1_epi32(row_term));
    store_prepared(prepared, v, mask, g.dst + (m0 + r) * g.ldd + n0);
  }
}

struct gemm_s8l4_s32_2x16c16 {
  static constexpr int mr = 2;
  static constexpr int nr = 16;
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "gemm_s8l4_s32_2x16c16__avx512"; }
  using row_type = std::int16_t;

  template <int MR, class Out, class... S>
  QSPARSE_TARGET_AVX512 static void tile(const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline,
                                         const std::int16_t* rows, std::ptrdiff_t ld, std::ptrdiff_t kp, const std::int32_t* row_sums,
                                         std::ptrdiff_t m0, std::ptrdiff_t p) {
    const unsigned char* panel = g.weights.panel(p);
    const __m512i low = _mm512_set1_epi8(0x0F);
    const __m512i zero = _mm512_setzero_si512();
    __m512i table[4];
    __m512i acc[static_cast<std::size_t>(MR)][4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      table[c] = _mm512_load_si512(panel + 64 * c);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) acc[r][c] = _mm512_setzero_si512();
    }
    const unsigned char* w = panel + 256;
    for (std::ptrdiff_t k = 0; k < kp; k += 32, w += 256) {
      __m512i a[static_cast<std::size_t>(MR)][4];
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) {
          a[r][q] = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows + r * ld + k + 8 * q)));
        }
      }
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        const __m512i v = _mm512_load_si512(w + 64 * c);
        const __m512i lo = _mm512_shuffle_epi8(table[c], _mm512_and_si512(v, low));
        const __m512i hi = _mm512_shuffle_epi8(table[c], _mm512_and_si512(_mm512_srli_epi16(v, 4), low));
        const __m512i u0 = _mm512_unpacklo_epi8(lo, zero), u1 = _mm512_unpackhi_epi8(lo, zero);
        const __m512i u2 = _mm512_unpacklo_epi8(hi, zero), u3 = _mm512_unpackhi_epi8(hi, zero);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          const __m512i s01 = _mm512_add_epi32(_mm512_madd_epi16(u0, a[r][0]), _mm512_madd_epi16(u1, a[r][1]));
          const __m512i s23 = _mm512_add_epi32(_mm512_madd_epi16(u2, a[r][2]), _mm512_madd_epi16(u3, a[r][3]));
          acc[r][c] = _mm512_add_epi32(acc[r][c], _mm512_add_epi32(s01, s23));
        }
      }
    }
    __m512i sums[static_cast<std::size_t>(MR)];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) sums[r] = reduce_clustered_chunks(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
    store_clustered_tile<MR>(g, pipeline, sums, row_sums, m0, p);
  }

  template <class Out, class... S>
  QSPARSE_TARGET_AVX512 static void run(const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline,
                                        std::ptrdiff_t m_begin, std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                        std::ptrdiff_t panel_end) {
    drivers::run_clustered_rows<gemm_s8l4_s32_2x16c16>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
