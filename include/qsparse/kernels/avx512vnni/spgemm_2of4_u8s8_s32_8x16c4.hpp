// qsparse/kernels/avx512vnni/spgemm_2of4_u8s8_s32_8x16c4.hpp — 2:4-sparse int8 GEMM on AVX-512 VNNI: up
// to 8 rows × 16 columns per tile (format two_of_four of qsparse/gemm/packed_sparse_weights.hpp).
//
// 2:4 weights are stored compressed: per 16 columns × 4 k, 32 value bytes (two per column) and a 64-bit
// mask of the kept slots — 40 bytes instead of 64. The kernel expands them back to the 64-byte
// vpdpbusd operand in registers and runs the dense inner loop: a matrix-vector product, which streams
// its weights, reads 62.5 % of the dense bytes; the multiplies are not halved (see docs/sparse_gemm.md
// for why gathering activations instead does not pay on AVX-512).
//
// The expansion needs AVX-512BW only (no VBMI2 vpexpandb): the 32 value bytes are broadcast to both
// halves of a zmm (a plain load), where the packer placed each 128-bit lane's columns at bytes 0-7
// (lanes 0, 1) or 8-15 (lanes 2, 3). Output byte 4c + i (column c, slot i) takes value byte
// base(c) + rank, rank = 1 when an earlier slot of the column is kept; a zero-masked vpshufb under the
// kept-slot mask zeroes the rest. The rank mask is three shifts of the kept mask in general registers.
// When a task has more than one 8-row tile, each panel is expanded once into a per-thread scratch and
// every tile runs the block-sparse tile over it (consecutive k offsets) instead of expanding it again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/output_stages.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/avx512vnni/spgemm_block4_u8s8_s32_8xNc4.hpp"
#include "qsparse/kernels/gemm_args.hpp"
#include "qsparse/kernels/sparse_gemm_args.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512_vnni {

/// vpshufb source index of output byte 4c + i before the rank is added: 2 * (c % 4), + 8 in lanes 2, 3.
QSPARSE_TARGET_AVX512_VNNI inline __m512i spgemm_2of4_base() {
  alignas(64) std::int8_t base[64];
  for (int b = 0; b < 64; ++b) base[b] = static_cast<std::int8_t>(2 * ((b / 4) % 4) + (b >= 32 ? 8 : 0));
  return _mm512_load_si512(base);
}

/// The 64-byte vpdpbusd operand (16 columns × 4 k) of one compressed 2:4 group.
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) __m512i spgemm_2of4_expand(std::uint64_t kept,
                                                                                          const std::int8_t* values,
                                                                                          __m512i base,
                                                                                          __m512i base_plus_one) {
  const std::uint64_t rank = ((kept << 1) & 0xEEEEEEEEEEEEEEEEull) | ((kept << 2) & 0xCCCCCCCCCCCCCCCCull) |
                             ((kept << 3) & 0x8888888888888888ull);
  const __m512i v = _mm512_broadcast_i64x4(_mm256_load_si256(reinterpret_cast<const __m256i*>(values)));
  const __m512i index = _mm512_mask_blend_epi8(static_cast<__mmask64>(rank), base, base_plus_one);
  return _mm512_maskz_shuffle_epi8(static_cast<__mmask64>(kept), v, index);
}

/// One compressed group q (k = 4q .. 4q+3) into one accumulator set.
template <int MR>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void spgemm_2of4_step(
    __m512i (&acc)[MR], const std::uint8_t* a, std::ptrdiff_t lda, const std::uint64_t* masks,
    const std::int8_t* values, std::ptrdiff_t q, __m512i base, __m512i base_plus_one) {
  const __m512i w = spgemm_2of4_expand(masks[q], values + 32 * q, base, base_plus_one);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    std::int32_t word;
    std::memcpy(&word, a + r * lda + 4 * q, 4);
    acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_set1_epi32(word), w);
  }
}

/// MR rows × 16 columns over `groups` compressed groups: Σ a_u w into tile[r][0..16).
template <int MR>
QSPARSE_TARGET_AVX512_VNNI inline void spgemm_2of4_tile(const std::uint8_t* a, std::ptrdiff_t lda,
                                                        const std::uint64_t* masks, const std::int8_t* values,
                                                        std::ptrdiff_t groups, std::int32_t* tile) {
  constexpr int sets = MR >= 8 ? 1 : (MR >= 4 ? 2 : 4);
  const __m512i base = spgemm_2of4_base();
  const __m512i base_plus_one = _mm512_add_epi8(base, _mm512_set1_epi8(1));
  __m512i acc[sets][MR];
#pragma GCC unroll 4
  for (int s = 0; s < sets; ++s)
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) acc[s][r] = _mm512_setzero_si512();
  std::ptrdiff_t q = 0;
  if constexpr (sets > 1) {
    for (; q + sets <= groups; q += sets) {
#pragma GCC unroll 4
      for (int s = 0; s < sets; ++s) spgemm_2of4_step<MR>(acc[s], a, lda, masks, values, q + s, base, base_plus_one);
    }
  }
  for (; q < groups; ++q) spgemm_2of4_step<MR>(acc[0], a, lda, masks, values, q, base, base_plus_one);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    __m512i sum = acc[0][r];
#pragma GCC unroll 4
    for (int s = 1; s < sets; ++s) sum = _mm512_add_epi32(sum, acc[s][r]);
    _mm512_storeu_si512(tile + r * 16, sum);
  }
}

struct spgemm_2of4_u8s8_s32_8x16c4 {
  static constexpr int mr = 8;
  static constexpr int nb = 16;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static const char* name() { return "spgemm_2of4_u8s8_s32_8x16c4__avx512vnni"; }

  template <class A, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                             const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                             std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                             std::ptrdiff_t panel_end) {
    constexpr bool flip = std::is_same_v<A, std::int8_t>;
    const auto a_offset = static_cast<std::uint32_t>(g.a_zero_point) + (flip ? 128u : 0u);
    const __m512i column_factor = _mm512_set1_epi32(static_cast<std::int32_t>(0u - a_offset));
    const std::int32_t* column_sums = g.weights.column_sums();
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t groups = g.weights.groups();
    constexpr int max_block_tiles = 8;
    std::uint8_t* rows8 = thread_scratch<std::uint8_t>(static_cast<std::size_t>(mr * max_block_tiles * kp));
    alignas(64) std::int32_t tile[mr * 16];
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += mr * max_block_tiles) {
      const std::ptrdiff_t block_rows = m_end - mb < mr * max_block_tiles ? m_end - mb : mr * max_block_tiles;
      for (std::ptrdiff_t r = 0; r < block_rows; ++r) {
        spgemm_copy_row_unsigned<flip>(reinterpret_cast<const std::uint8_t*>(g.a + (mb + r) * g.lda), g.k, kp,
                                       rows8 + r * kp);
      }
      // Several tiles: expand each panel once (64 bytes per group, L2-resident) and run the block-sparse
      // tile over it with consecutive k offsets, instead of expanding it again for every tile.
      const bool shared = block_rows > mr;
      std::int8_t* expanded = nullptr;
      const std::uint32_t* offsets = nullptr;
      if (shared) {
        // 64-byte aligned: the block tile loads its weights with aligned loads.
        std::int8_t* raw = thread_scratch<std::int8_t>(static_cast<std::size_t>(groups * 64 + 64));
        expanded = raw + (64 - reinterpret_cast<std::uintptr_t>(raw) % 64) % 64;
        std::uint32_t* k_offsets = thread_scratch<std::uint32_t>(static_cast<std::size_t>(groups));
        for (std::ptrdiff_t q = 0; q < groups; ++q) k_offsets[q] = static_cast<std::uint32_t>(4 * q);
        offsets = k_offsets;
      }
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const std::uint64_t* masks = g.weights.masks() + p * groups;
        const std::int8_t* values = g.weights.values(p * groups);
        if (shared) {
          const __m512i base = spgemm_2of4_base();
          const __m512i base_plus_one = _mm512_add_epi8(base, _mm512_set1_epi8(1));
          for (std::ptrdiff_t q = 0; q < groups; ++q) {
            _mm512_storeu_si512(expanded + 64 * q, spgemm_2of4_expand(masks[q], values + 32 * q, base, base_plus_one));
          }
        }
        const std::ptrdiff_t n0 = p * 16;
        const std::ptrdiff_t columns = g.n - n0 < 16 ? g.n - n0 : 16;
        const auto mask = static_cast<__mmask16>(columns >= 16 ? 0xFFFF : (1u << columns) - 1u);
        const __m512i column_term = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n0), column_factor);
        const auto prepared = avx512::prepare(pipeline, n0, mask);
        for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
          const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
          const std::uint8_t* a_tile = rows8 + t0 * kp;
          if (shared) {
            switch (rows) {
              case 8: spgemm_block_tile<8, 1>(a_tile, kp, offsets, expanded, groups, tile); break;
              case 7: spgemm_block_tile<7, 1>(a_tile, kp, offsets, expanded, groups, tile); break;
              case 6: spgemm_block_tile<6, 1>(a_tile, kp, offsets, expanded, groups, tile); break;
              case 5: spgemm_block_tile<5, 1>(a_tile, kp, offsets, expanded, groups, tile); break;
              case 4: spgemm_block_tile<4, 1>(a_tile, kp, offsets, expanded, groups, tile); break;
              case 3: spgemm_block_tile<3, 1>(a_tile, kp, offsets, expanded, groups, tile); break;
              case 2: spgemm_block_tile<2, 1>(a_tile, kp, offsets, expanded, groups, tile); break;
              default: spgemm_block_tile<1, 1>(a_tile, kp, offsets, expanded, groups, tile); break;
            }
          } else {
            switch (rows) {
              case 8: spgemm_2of4_tile<8>(a_tile, kp, masks, values, groups, tile); break;
              case 7: spgemm_2of4_tile<7>(a_tile, kp, masks, values, groups, tile); break;
              case 6: spgemm_2of4_tile<6>(a_tile, kp, masks, values, groups, tile); break;
              case 5: spgemm_2of4_tile<5>(a_tile, kp, masks, values, groups, tile); break;
              case 4: spgemm_2of4_tile<4>(a_tile, kp, masks, values, groups, tile); break;
              case 3: spgemm_2of4_tile<3>(a_tile, kp, masks, values, groups, tile); break;
              case 2: spgemm_2of4_tile<2>(a_tile, kp, masks, values, groups, tile); break;
              default: spgemm_2of4_tile<1>(a_tile, kp, masks, values, groups, tile); break;
            }
          }
          const std::ptrdiff_t m0 = mb + t0;
          for (int r = 0; r < rows; ++r) {
            const __m512i acc = _mm512_add_epi32(_mm512_load_si512(tile + r * 16), column_term);
            avx512::store_prepared(prepared, acc, mask, g.dst + (m0 + r) * g.ldd + n0);
          }
        }
      }
    }
  }
};

}  // namespace avx512_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
