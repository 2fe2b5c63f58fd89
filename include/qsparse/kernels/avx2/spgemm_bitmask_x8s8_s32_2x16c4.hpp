// qsparse/kernels/avx2/spgemm_bitmask_x8s8_s32_2x16c4.hpp — unstructured sparse int8 GEMM on AVX2: up to
// 2 rows × 16 columns per tile, reading the bitmask format of qsparse/spec/packed_sparse_weights.hpp.
//
// AVX2 has no byte expand, so each 16-byte quarter of a group's dense operand (4 columns × 4 k, 16 bits of
// the mask) is expanded with one vpshufb: the control is two 8-byte entries of a 256-entry table (byte i of
// entry b = the rank of bit i among the set bits of b, or 0x80 for a clear bit), the high one shifted by the
// popcount of the low byte, applied to 16 bytes loaded at the quarter's first stored value (the format
// leaves at least 64 readable bytes after the last value). Then as the block kernels: the bytes are
// sign-extended to int16 and multiplied with vpmaddwd by int16 a - a_zp (nothing saturates), two partial
// sums per column, added pairwise once per tile. Blocks of more than 2 rows expand each panel once into a
// dense scratch and run the block kernel's tile over it, so the expansion is paid once per 32 rows.
#pragma once

#include <array>
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

/// Per mask byte b: the vpshufb control expanding popcount(b) packed bytes to the set bits' positions
/// (low 8 bytes), and popcount(b) (byte 8).
struct bitmask_expand_table {
  std::array<std::uint64_t, 256> control{};
  std::array<std::uint8_t, 256> count{};
  constexpr bitmask_expand_table() {
    for (unsigned b = 0; b < 256; ++b) {
      std::uint64_t c = 0;
      unsigned rank = 0;
      for (unsigned i = 0; i < 8; ++i) {
        const std::uint64_t byte = ((b >> i) & 1u) != 0 ? rank++ : 0x80u;
        c |= byte << (8 * i);
      }
      control[b] = c;
      count[b] = static_cast<std::uint8_t>(rank);
    }
  }
};

inline constexpr bitmask_expand_table bitmask_expand{};

/// The 4 quarters (4 columns × 4 k each, int8) of one group, expanded from its mask and values; returns the
/// number of values read.
QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) std::ptrdiff_t spgemm_bitmask_expand_bytes(
    std::uint64_t mask, const std::int8_t* v, __m128i (&out)[4]) {
  std::ptrdiff_t at = 0;
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const unsigned lo = static_cast<unsigned>(mask >> (16 * j)) & 0xFFu;
    const unsigned hi = static_cast<unsigned>(mask >> (16 * j + 8)) & 0xFFu;
    const std::uint8_t lo_count = bitmask_expand.count[lo];
    const __m128i control = _mm_add_epi8(
        _mm_set_epi64x(static_cast<long long>(bitmask_expand.control[hi]), static_cast<long long>(bitmask_expand.control[lo])),
        _mm_set_epi64x(static_cast<long long>(0x0101010101010101ull * lo_count), 0));
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(v + at));
    out[j] = _mm_shuffle_epi8(packed, control);
    at += lo_count + bitmask_expand.count[hi];
  }
  return at;
}

/// The same as 4 int16 vectors (sign-extended for vpmaddwd).
QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) std::ptrdiff_t spgemm_bitmask_expand(
    std::uint64_t mask, const std::int8_t* v, __m256i (&out)[4]) {
  __m128i bytes[4];
  const std::ptrdiff_t at = spgemm_bitmask_expand_bytes(mask, v, bytes);
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) out[j] = _mm256_cvtepi8_epi16(bytes[j]);
  return at;
}

/// A whole panel expanded to the dense block layout (group g at dense[64 g]), for tiles that share it.
QSPARSE_TARGET_AVX2 inline void spgemm_bitmask_expand_panel(const std::uint64_t* masks, const std::int8_t* v,
                                                            std::int64_t groups, std::int8_t* dense) {
  for (std::int64_t grp = 0; grp < groups; ++grp) {
    __m128i bytes[4];
    v += spgemm_bitmask_expand_bytes(masks[grp], v, bytes);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) _mm_storeu_si128(reinterpret_cast<__m128i*>(dense + 64 * grp + 16 * j), bytes[j]);
  }
}

template <int MR>
QSPARSE_TARGET_AVX2 inline void spgemm_bitmask_tile_2x16(const std::int16_t* a, std::ptrdiff_t lda,
                                                         const std::uint64_t* masks, const std::int8_t* v,
                                                         std::int64_t groups, std::int32_t* tile) {
  __m256i acc[std::size_t{MR}][4];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[r][j] = _mm256_setzero_si256();
  for (std::int64_t grp = 0; grp < groups; ++grp) {
    __m256i wv[4];
    v += spgemm_bitmask_expand(masks[grp], v, wv);
    spgemm_madd_block<MR>(acc, a, lda, 4 * grp, wv);
  }
  spgemm_store_pairs<MR>(acc, tile);
}

struct spgemm_bitmask_x8s8_s32_2x16c4 {
  static constexpr int mr = 2;
  static constexpr int nb = 16;
  static constexpr isa_level isa = isa_level::avx2;
  static constexpr sparse_format format = sparse_format::bitmask;
  static const char* name() { return "spgemm_bitmask_x8s8_s32_2x16c4__avx2"; }

  template <class A, class... S>
  QSPARSE_TARGET_AVX2 static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                      const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                      std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::int64_t groups = g.weights.groups();
    // Blocks of up to 32 rows share each panel: with more than one tile the panel is expanded once into a
    // dense scratch (L1 / L2) and the tiles run the block kernel's loop on it.
    constexpr std::ptrdiff_t row_block = 32;
    std::int16_t* rows16 = thread_scratch<std::int16_t>(static_cast<std::size_t>(row_block * kp));
    const std::int64_t* start = g.weights.value_start();
    const std::int8_t* values = g.weights.bitmask_values();
    const bool shared = m_end - m_begin > mr;
    std::int8_t* dense = shared ? thread_scratch<std::int8_t>(static_cast<std::size_t>(groups * 64 + 16)) : nullptr;
    std::uint32_t* offsets = shared ? thread_scratch<std::uint32_t>(static_cast<std::size_t>(groups)) : nullptr;
    for (std::int64_t grp = 0; shared && grp < groups; ++grp) offsets[grp] = static_cast<std::uint32_t>(4 * grp);
    alignas(32) std::int32_t tile[mr * 16];
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += row_block) {
      const std::ptrdiff_t block_rows = m_end - mb < row_block ? m_end - mb : row_block;
      for (std::ptrdiff_t r0 = 0; r0 < block_rows; r0 += mr) {
        const int rows = static_cast<int>(block_rows - r0 < mr ? block_rows - r0 : mr);
        spgemm_widen_rows(g.a + (mb + r0) * g.lda, g.lda, g.a_zero_point, rows, g.k, kp, rows16 + r0 * kp);
      }
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const std::ptrdiff_t n0 = p * 16;
        const std::ptrdiff_t columns = g.n - n0 < 16 ? g.n - n0 : 16;
        if (block_rows > mr) spgemm_bitmask_expand_panel(g.weights.masks(p), values + start[p], groups, dense);
        for (std::ptrdiff_t r0 = 0; r0 < block_rows; r0 += mr) {
          const int rows = static_cast<int>(block_rows - r0 < mr ? block_rows - r0 : mr);
          const std::int16_t* a = rows16 + r0 * kp;
          if (block_rows > mr) {
            if (rows == 2) {
              spgemm_block_tile_2x16<2>(a, kp, offsets, dense, groups, 64, tile);
            } else {
              spgemm_block_tile_2x16<1>(a, kp, offsets, dense, groups, 64, tile);
            }
          } else if (rows == 2) {
            spgemm_bitmask_tile_2x16<2>(a, kp, g.weights.masks(p), values + start[p], groups, tile);
          } else {
            spgemm_bitmask_tile_2x16<1>(a, kp, g.weights.masks(p), values + start[p], groups, tile);
          }
          spgemm_store_tile(pipeline, tile, rows, columns, n0, g.dst + (mb + r0) * g.ldd, g.ldd);
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
