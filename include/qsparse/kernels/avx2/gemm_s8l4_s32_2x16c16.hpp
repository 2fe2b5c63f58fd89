// qsparse/kernels/avx2/gemm_s8l4_s32_2x16c16.hpp — the clustered GEMM on AVX2: up to 2 rows × one panel of 16
// columns, taken as two halves of 8, weights in the layout of qsparse/spec/packed_clustered_weights.hpp.
//
// Half h reads bytes 32 h .. 32 h + 31 of every table and chunk: lanes L = 2 h, 2 h + 1, i.e. columns
// 8 h + g and 8 h + 4 + g of chunk g. Per step (32 k) and chunk: a 32-byte load, vpand / vpsrlw + vpand for
// the indices, vpshufb with the table for u = codebook + 128, vpunpck{l,h}bw with zero to int16, and
// vpmaddwd against the row's int16 activations (8 k broadcast to both lanes): exact int32 pairs
// (|u a| <= 255 · 128; vpmaddubsw would saturate). Three vphaddd reduce the 4 chunks' partial sums to the 8
// columns in order. The epilogue takes off 128 Σ_k a[m][k] and a_zp · colsum[n] (modulo 2^32, exact
// because the entry bounds the true sum) and runs the pipeline through avx2::prepare / store_prepared.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/output_pipeline.hpp"
#include "qsparse/kernels/drivers/clustered_rows.hpp"
#include "qsparse/spec/gemm_clustered_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_clustered_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

struct gemm_s8l4_s32_2x16c16 {
  static constexpr int mr = 2;
  static constexpr int nr = 16;
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "gemm_s8l4_s32_2x16c16__avx2"; }
  using row_type = std::int16_t;

  /// Columns 8 h .. 8 h + 7 of panel p for MR rows.
  template <int MR, class Out, class... S>
  QSPARSE_TARGET_AVX2 static inline __attribute__((always_inline)) void half(
      const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline, const std::int16_t* rows,
      std::ptrdiff_t ld, std::ptrdiff_t kp, const std::int32_t* row_sums, std::ptrdiff_t m0, std::ptrdiff_t p, int h) {
    const std::ptrdiff_t n0 = p * 16 + 8 * h;
    if (n0 >= g.n) return;
    const unsigned char* panel = g.weights.panel(p) + 32 * h;
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256i zero = _mm256_setzero_si256();
    __m256i table[4];
    __m256i acc[static_cast<std::size_t>(MR)][4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      table[c] = _mm256_load_si256(reinterpret_cast<const __m256i*>(panel + 64 * c));
#pragma GCC unroll 2
      for (int r = 0; r < MR; ++r) acc[r][c] = _mm256_setzero_si256();
    }
    const unsigned char* w = panel + 256;
    for (std::ptrdiff_t k = 0; k < kp; k += 32, w += 256) {
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 64 * c));
        const __m256i lo = _mm256_shuffle_epi8(table[c], _mm256_and_si256(v, low));
        const __m256i hi = _mm256_shuffle_epi8(table[c], _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
        const __m256i u0 = _mm256_unpacklo_epi8(lo, zero), u1 = _mm256_unpackhi_epi8(lo, zero);
        const __m256i u2 = _mm256_unpacklo_epi8(hi, zero), u3 = _mm256_unpackhi_epi8(hi, zero);
#pragma GCC unroll 2
        for (int r = 0; r < MR; ++r) {
          const std::int16_t* a = rows + r * ld + k;
          const __m256i a0 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)));
          const __m256i a1 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 8)));
          const __m256i a2 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 16)));
          const __m256i a3 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 24)));
          const __m256i s01 = _mm256_add_epi32(_mm256_madd_epi16(u0, a0), _mm256_madd_epi16(u1, a1));
          const __m256i s23 = _mm256_add_epi32(_mm256_madd_epi16(u2, a2), _mm256_madd_epi16(u3, a3));
          acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_add_epi32(s01, s23));
        }
      }
    }
    const std::ptrdiff_t left = g.n - n0;
    const int count = left >= 8 ? 8 : static_cast<int>(left);
    const __m256i mask = lane_mask(count);
    const __m256i column_sums =
        _mm256_load_si256(reinterpret_cast<const __m256i*>(g.weights.column_sums() + n0));
    const auto minus_zp = static_cast<std::int32_t>(0u - static_cast<std::uint32_t>(g.a_zero_point));
    const __m256i column_term = _mm256_mullo_epi32(column_sums, _mm256_set1_epi32(minus_zp));
    const auto prepared = prepare(pipeline, n0, mask);
#pragma GCC unroll 2
    for (int r = 0; r < MR; ++r) {
      const __m256i h01 = _mm256_hadd_epi32(acc[r][0], acc[r][1]);
      const __m256i h23 = _mm256_hadd_epi32(acc[r][2], acc[r][3]);
      const __m256i sums = _mm256_hadd_epi32(h01, h23);
      const auto row_term = static_cast<std::int32_t>(0u - 128u * static_cast<std::uint32_t>(row_sums[r]));
      const __m256i v = _mm256_add_epi32(_mm256_add_epi32(sums, column_term), _mm256_set1_epi32(row_term));
      store_prepared(prepared, v, count, mask, g.dst + (m0 + r) * g.ldd + n0);
    }
  }

  template <int MR, class Out, class... S>
  QSPARSE_TARGET_AVX2 static void tile(const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline,
                                       const std::int16_t* rows, std::ptrdiff_t ld, std::ptrdiff_t kp, const std::int32_t* row_sums,
                                       std::ptrdiff_t m0, std::ptrdiff_t p) {
    half<MR>(g, pipeline, rows, ld, kp, row_sums, m0, p, 0);
    half<MR>(g, pipeline, rows, ld, kp, row_sums, m0, p, 1);
  }

  template <class Out, class... S>
  QSPARSE_TARGET_AVX2 static void run(const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline,
                                      std::ptrdiff_t m_begin, std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                      std::ptrdiff_t panel_end) {
    drivers::run_clustered_rows<gemm_s8l4_s32_2x16c16>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
