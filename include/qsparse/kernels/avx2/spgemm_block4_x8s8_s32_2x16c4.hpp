// qsparse/kernels/avx2/spgemm_block4_x8s8_s32_2x16c4.hpp — block-sparse int8 GEMM on AVX2: up to 2 rows ×
// 16 columns per tile, visiting only the stored 4 × NB blocks (formats block_4x16 / block_4x32 of
// qsparse/spec/packed_sparse_weights.hpp; a 32-wide panel is run as two 16-column halves).
//
// As in the dense AVX2 kernel nothing may saturate, so products are int16 × int16 with vpmaddwd: the
// activation rows are widened to int16 (a - a_zp) per tile, and each block's signed bytes are
// sign-extended (vpmovsxbw) as they are loaded — the packed buffer stays int8, half the bytes of the dense
// AVX2 layout. A block (16 columns × 4 k) is four ymm of 4 columns × 4 k; vpmaddwd against the row's 4
// activations (broadcast as one 64-bit word) leaves two partial sums per column, which are added
// pairwise (vphaddd) once per tile. All sums are exact in int32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/output_pipeline.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/sparse_gemm_args.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

/// acc[r][0..3] += rows' 4 activations at `offset` × one 16-column × 4-k block given as 4 int16 vectors.
template <int MR>
QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) void spgemm_madd_block(__m256i (&acc)[std::size_t{MR}][4],
                                                                                 const std::int16_t* a,
                                                                                 std::ptrdiff_t lda,
                                                                                 std::ptrdiff_t offset,
                                                                                 const __m256i (&w)[4]) {
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
    std::int64_t word;
    std::memcpy(&word, a + r * lda + offset, 8);
    const __m256i av = _mm256_set1_epi64x(word);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[r][j] = _mm256_add_epi32(acc[r][j], _mm256_madd_epi16(av, w[j]));
  }
}

/// The pairwise sums of acc[r][0..3] (4 columns × 2 partial sums each) as 16 column sums in tile[r].
template <int MR>
QSPARSE_TARGET_AVX2 inline void spgemm_store_pairs(const __m256i (&acc)[std::size_t{MR}][4], std::int32_t* tile) {
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      // hadd gives columns [0 1 4 5 | 2 3 6 7] of the pair; restore the order with a 64-bit permute.
      const __m256i sums = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][2 * h], acc[r][2 * h + 1]), 0xD8);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * 16 + 8 * h), sums);
    }
  }
}

/// The 16 columns of half `h` of one block: 4 vectors of 4 columns × 4 k as int16.
QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) void spgemm_load_block(const std::int8_t* w,
                                                                                 __m256i (&out)[4]) {
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    out[j] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 16 * j)));
  }
}

template <int MR>
QSPARSE_TARGET_AVX2 inline void spgemm_block_tile_2x16(const std::int16_t* a, std::ptrdiff_t lda,
                                                       const std::uint32_t* block_k, const std::int8_t* w,
                                                       std::int64_t blocks, std::ptrdiff_t block_bytes,
                                                       std::int32_t* tile) {
  __m256i acc[std::size_t{MR}][4];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[r][j] = _mm256_setzero_si256();
  for (std::int64_t b = 0; b < blocks; ++b) {
    __m256i wv[4];
    spgemm_load_block(w + b * block_bytes, wv);
    spgemm_madd_block<MR>(acc, a, lda, block_k[b], wv);
  }
  spgemm_store_pairs<MR>(acc, tile);
}

/// Copies `rows` activation rows as int16 (a - a_zp), zero padded to kp, into out (row stride kp).
template <class A>
inline void spgemm_widen_rows(const A* a, std::ptrdiff_t lda, std::int32_t a_zero_point, int rows, std::ptrdiff_t k,
                              std::ptrdiff_t kp, std::int16_t* out) {
  for (int r = 0; r < rows; ++r) {
    const A* src = a + r * lda;
    std::int16_t* dst = out + r * kp;
    for (std::ptrdiff_t kk = 0; kk < k; ++kk) dst[kk] = static_cast<std::int16_t>(src[kk] - a_zero_point);
    for (std::ptrdiff_t kk = k; kk < kp; ++kk) dst[kk] = 0;
  }
}

/// Runs the pipeline over a 2 × 16 tile of sums (columns [n0, n0 + columns)).
template <class Out, class... S>
QSPARSE_TARGET_AVX2 inline void spgemm_store_tile(const output_pipeline<S...>& pipeline, const std::int32_t* tile,
                                                  int rows, std::ptrdiff_t columns, std::ptrdiff_t n0, Out* dst,
                                                  std::ptrdiff_t ldd) {
  for (int j = 0; j < 2; ++j) {
    const std::ptrdiff_t left = columns - 8 * j;
    if (left <= 0) break;
    const int count = static_cast<int>(left >= 8 ? 8 : left);
    const __m256i mask = lane_mask(count);
    const auto prepared = prepare(pipeline, n0 + 8 * j, mask);
    for (int r = 0; r < rows; ++r) {
      store_prepared(prepared, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile + r * 16 + 8 * j)), count,
                     mask, dst + r * ldd + n0 + 8 * j);
    }
  }
}

template <int NB>
struct spgemm_block4_x8s8_s32_2x16c4 {
  static_assert(NB == 16 || NB == 32, "spgemm_block4_x8s8_s32_2x16c4: NB must be 16 or 32");
  static constexpr int mr = 2;
  static constexpr int nb = NB;
  static constexpr isa_level isa = isa_level::avx2;
  static constexpr sparse_format format = NB == 16 ? sparse_format::block_4x16 : sparse_format::block_4x32;
  static const char* name() {
    return NB == 16 ? "spgemm_block4x16_x8s8_s32_2x16c4__avx2" : "spgemm_block4x32_x8s8_s32_2x16c4__avx2";
  }

  template <class A, class... S>
  QSPARSE_TARGET_AVX2 static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                      const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                      std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    std::int16_t* rows16 = thread_scratch<std::int16_t>(static_cast<std::size_t>(mr * kp));
    const std::int64_t* start = g.weights.panel_start();
    const std::uint32_t* block_k = g.weights.block_k();
    alignas(32) std::int32_t tile[mr * 16];
    for (std::ptrdiff_t m0 = m_begin; m0 < m_end; m0 += mr) {
      const int rows = static_cast<int>(m_end - m0 < mr ? m_end - m0 : mr);
      spgemm_widen_rows(g.a + m0 * g.lda, g.lda, g.a_zero_point, rows, g.k, kp, rows16);
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const std::int64_t first = start[p];
        const std::int64_t blocks = start[p + 1] - first;
        for (int half = 0; half < NB / 16; ++half) {
          const std::ptrdiff_t n0 = p * NB + 16 * half;
          const std::ptrdiff_t columns = g.n - n0 < 16 ? g.n - n0 : 16;
          if (columns <= 0) break;
          const std::int8_t* w = g.weights.values(first) + 64 * half;
          if (rows == 2) {
            spgemm_block_tile_2x16<2>(rows16, kp, block_k + first, w, blocks, 4 * NB, tile);
          } else {
            spgemm_block_tile_2x16<1>(rows16, kp, block_k + first, w, blocks, 4 * NB, tile);
          }
          spgemm_store_tile(pipeline, tile, rows, columns, n0, g.dst + m0 * g.ldd, g.ldd);
        }
      }
    }
  }
};

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
