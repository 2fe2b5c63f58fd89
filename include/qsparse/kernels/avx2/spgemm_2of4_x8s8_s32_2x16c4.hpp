// qsparse/kernels/avx2/spgemm_2of4_x8s8_s32_2x16c4.hpp — 2:4-sparse int8 GEMM on AVX2: up to 2 rows × 16
// columns per tile (format two_of_four of qsparse/spec/packed_sparse_weights.hpp).
//
// The gather of the AVX-512 kernel on int16: the 8 activations (a - a_zp, int16) of a pair of groups are
// broadcast to both 128-bit lanes, one vpshufb per 4 columns puts each column's 4 selected activations
// beside its 4 kept weights (sign-extended to int16), and vpmaddwd adds them in pairs — exact, no
// intermediate saturates. The control's byte pair (2i, 2i+1) of activation i = slot | 4·(s / 2) is
// decoded from the 2-bit positions once per tile and pair and shared by the tile's rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/output_pipeline.hpp"
#include "qsparse/kernels/avx2/spgemm_block4_x8s8_s32_2x16c4.hpp"
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

/// Constants of the 2:4 gather.
struct alignas(32) spgemm_2of4_constants {
  __m128i slot_bits;    // 3
  __m128i group;        // 4·(s / 2) for byte 4c + s
  __m256i word_scale;   // 0x0202: activation i → bytes (2i, 2i)
  __m256i word_offset;  // 0x0100: → bytes (2i, 2i + 1)
};

QSPARSE_TARGET_AVX2 inline spgemm_2of4_constants spgemm_2of4_make_constants() {
  alignas(16) std::int8_t group[16];
  for (int b = 0; b < 16; ++b) group[b] = static_cast<std::int8_t>(b % 4 >= 2 ? 4 : 0);
  return {_mm_set1_epi8(3), _mm_load_si128(reinterpret_cast<const __m128i*>(group)), _mm256_set1_epi16(0x0202),
          _mm256_set1_epi16(0x0100)};
}

/// The int16 vpshufb control of 4 columns for pair t of a quad (`positions`: their 16 position bytes).
template <int T>
QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) __m256i spgemm_2of4_control(
    __m128i positions, const spgemm_2of4_constants& k) {
  const __m128i shifted = T == 0 ? positions : _mm_srli_epi16(positions, 2 * T);
  const __m128i index = _mm_or_si128(_mm_and_si128(shifted, k.slot_bits), k.group);
  return _mm256_add_epi16(_mm256_mullo_epi16(_mm256_cvtepu8_epi16(index), k.word_scale), k.word_offset);
}

/// Pair j = 4q + T into MR rows × 16 columns: acc[r][h] holds columns 4h .. 4h+3, two partial sums each.
template <int MR, int T>
QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) void spgemm_2of4_pair(
    __m256i (&acc)[std::size_t{MR}][4], const std::int16_t* a, std::ptrdiff_t lda, const std::uint8_t* positions,
    const std::int8_t* values, std::ptrdiff_t j, const spgemm_2of4_constants& k) {
  __m256i x[std::size_t{MR}];
#pragma GCC unroll 2
  for (int r = 0; r < MR; ++r) {
    x[r] = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + r * lda + 8 * j)));
  }
#pragma GCC unroll 4
  for (int h = 0; h < 4; ++h) {
    const __m256i control =
        spgemm_2of4_control<T>(_mm_load_si128(reinterpret_cast<const __m128i*>(positions + 16 * h)), k);
    const __m256i w =
        _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(values + 64 * j + 16 * h)));
#pragma GCC unroll 2
    for (int r = 0; r < MR; ++r) {
      acc[r][h] = _mm256_add_epi32(acc[r][h], _mm256_madd_epi16(_mm256_shuffle_epi8(x[r], control), w));
    }
  }
}

/// MR rows × one panel over all pairs: 16 column sums per row into tile[r * 16 ..].
template <int MR>
QSPARSE_TARGET_AVX2 inline void spgemm_2of4_tile_2x16(const std::int16_t* a, std::ptrdiff_t lda,
                                                      const std::uint8_t* positions, const std::int8_t* values,
                                                      std::ptrdiff_t pairs, const spgemm_2of4_constants& k,
                                                      std::int32_t* tile) {
  __m256i acc[std::size_t{MR}][4];
#pragma GCC unroll 2
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int h = 0; h < 4; ++h) acc[r][h] = _mm256_setzero_si256();
  std::ptrdiff_t j = 0;
  for (; j + 4 <= pairs; j += 4) {
    const std::uint8_t* quad = positions + 16 * j;
    spgemm_2of4_pair<MR, 0>(acc, a, lda, quad, values, j, k);
    spgemm_2of4_pair<MR, 1>(acc, a, lda, quad, values, j + 1, k);
    spgemm_2of4_pair<MR, 2>(acc, a, lda, quad, values, j + 2, k);
    spgemm_2of4_pair<MR, 3>(acc, a, lda, quad, values, j + 3, k);
  }
  if (j < pairs) {
    const std::uint8_t* quad = positions + 16 * j;
    spgemm_2of4_pair<MR, 0>(acc, a, lda, quad, values, j, k);
    if (j + 1 < pairs) spgemm_2of4_pair<MR, 1>(acc, a, lda, quad, values, j + 1, k);
    if (j + 2 < pairs) spgemm_2of4_pair<MR, 2>(acc, a, lda, quad, values, j + 2, k);
  }
  spgemm_store_pairs<MR>(acc, tile);
}

struct spgemm_2of4_x8s8_s32_2x16c4 {
  static constexpr int mr = 2;
  static constexpr int nb = 16;
  static constexpr isa_level isa = isa_level::avx2;
  static constexpr sparse_format format = sparse_format::two_of_four;
  static const char* name() { return "spgemm_2of4_x8s8_s32_2x16c4__avx2"; }

  template <class A, class... S>
  QSPARSE_TARGET_AVX2 static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                      const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                      std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t pairs = g.weights.pairs();
    constexpr int max_block_tiles = 8;
    std::int16_t* rows16 = thread_scratch<std::int16_t>(static_cast<std::size_t>(mr * max_block_tiles * kp));
    const spgemm_2of4_constants constants = spgemm_2of4_make_constants();
    alignas(32) std::int32_t tile[mr * 16];
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += mr * max_block_tiles) {
      const std::ptrdiff_t block_rows = m_end - mb < mr * max_block_tiles ? m_end - mb : mr * max_block_tiles;
      spgemm_widen_rows(g.a + mb * g.lda, g.lda, g.a_zero_point, static_cast<int>(block_rows), g.k, kp, rows16);
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const std::uint8_t* positions = g.weights.positions(p);
        const std::int8_t* values = g.weights.values(p * pairs);
        const std::ptrdiff_t n0 = p * 16;
        for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
          const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
          const std::int16_t* a_tile = rows16 + t0 * kp;
          if (rows == 2) {
            spgemm_2of4_tile_2x16<2>(a_tile, kp, positions, values, pairs, constants, tile);
          } else {
            spgemm_2of4_tile_2x16<1>(a_tile, kp, positions, values, pairs, constants, tile);
          }
          spgemm_store_tile(pipeline, tile, rows, g.n - n0 < 16 ? g.n - n0 : 16, n0, g.dst + (mb + t0) * g.ldd,
                            g.ldd);
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
