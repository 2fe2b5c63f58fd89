// qsparse/kernels/avx512vnni/spgemm_bitmask_u8s8_s32_8x16c4.hpp — unstructured sparse int8 GEMM on AVX-512
// VNNI + VBMI2: up to 8 rows × two panels of 16 columns per tile (one panel, more accumulator sets, for
// fewer than 4 rows), reading the bitmask format of
// qsparse/spec/packed_sparse_weights.hpp.
//
// Per 4 k × 16 columns the format stores a 64-bit mask in the dense kernel's "c4" byte order and only the
// nonzero bytes. One vpexpandb from memory (_mm512_maskz_expandloadu_epi8, which reads exactly popcount(mask)
// bytes) puts them back into the 64-byte vpdpbusd operand with zeros elsewhere; the rest is the dense VNNI
// k group: one 4-byte broadcast per row and one vpdpbusd per row. So the multiply-adds are the dense ones
// (the kernel gains where the dense GEMM waits for weight bytes: matrix-vector products and small M on
// weights beyond the caches), and the bytes are 1/8 + density of the dense ones.
//
// Activations are made unsigned (int8: a + 128) while each tile's rows are copied; the epilogue adds
// -(a_zp + o) * colsum[n] (o = 128 for int8, 0 for uint8) modulo 2^32, as the block kernels do.
// VBMI2 is not part of the avx512_vnni rung (Cascade Lake has VNNI without it), so the kernel says
// cpu_has_extensions(): on a CPU without VBMI2 the AVX2 bitmask kernel runs instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/cpu_features.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/avx512vnni/spgemm_block4_u8s8_s32_8xNc4.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/sparse_gemm_args.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512_vnni {

/// One group (4 k × 16 columns) into accumulator set `acc`: expand the stored bytes, MR broadcasts and vpdpbusd.
template <int MR>
QSPARSE_TARGET_AVX512_VNNI_VBMI2 inline __attribute__((always_inline)) void spgemm_bitmask_step(
    __m512i (&acc)[std::size_t{MR}], const std::uint8_t* a, std::ptrdiff_t lda, std::ptrdiff_t offset,
    std::uint64_t mask, const std::int8_t* v) {
  const __m512i w = _mm512_maskz_expandloadu_epi8(static_cast<__mmask64>(mask), v);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    std::int32_t word;
    std::memcpy(&word, a + r * lda + offset, 4);
    acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_set1_epi32(word), w);
  }
}

/// MR rows of unsigned activations × the `groups` groups of one panel: Σ a_u w into tile[r][0..16).
template <int MR>
QSPARSE_TARGET_AVX512_VNNI_VBMI2 inline void spgemm_bitmask_tile(const std::uint8_t* a, std::ptrdiff_t lda,
                                                                 const std::uint64_t* masks, const std::int8_t* v,
                                                                 std::int64_t groups, std::int32_t* tile) {
  // Independent accumulator sets over alternating groups when there are few rows (the vpdpbusd chain).
  constexpr int sets = MR >= 8 ? 1 : (MR >= 4 ? 2 : 4);
  __m512i acc[std::size_t{sets}][std::size_t{MR}];
#pragma GCC unroll 4
  for (int s = 0; s < sets; ++s)
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) acc[s][r] = _mm512_setzero_si512();
  std::int64_t grp = 0;
  if constexpr (sets > 1) {
    for (; grp + sets <= groups; grp += sets) {
      std::uint64_t m[std::size_t{sets}];
      const std::int8_t* at[std::size_t{sets}];
#pragma GCC unroll 4
      for (int s = 0; s < sets; ++s) {
        m[s] = masks[grp + s];
        at[s] = v;
        v += _mm_popcnt_u64(m[s]);
      }
#pragma GCC unroll 4
      for (int s = 0; s < sets; ++s) spgemm_bitmask_step<MR>(acc[s], a, lda, 4 * (grp + s), m[s], at[s]);
    }
  }
  for (; grp < groups; ++grp) {
    const std::uint64_t m = masks[grp];
    spgemm_bitmask_step<MR>(acc[0], a, lda, 4 * grp, m, v);
    v += _mm_popcnt_u64(m);
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    __m512i sum = acc[0][r];
#pragma GCC unroll 4
    for (int s = 1; s < sets; ++s) sum = _mm512_add_epi32(sum, acc[s][r]);
    _mm512_storeu_si512(tile + r * 16, sum);
  }
}

/// MR rows × two panels (32 columns): each row's broadcast feeds both panels' vpdpbusd, as the dense
/// 8×32 tile does (9 loads per 8 vpdpbusd become 10 per 16). Sums into tile[r][0..32).
template <int MR>
QSPARSE_TARGET_AVX512_VNNI_VBMI2 inline void spgemm_bitmask_tile_2p(const std::uint8_t* a, std::ptrdiff_t lda,
                                                                    const std::uint64_t* masks0, const std::int8_t* v0,
                                                                    const std::uint64_t* masks1, const std::int8_t* v1,
                                                                    std::int64_t groups, std::int32_t* tile) {
  __m512i acc[std::size_t{MR}][2];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  for (std::int64_t grp = 0; grp < groups; ++grp) {
    const std::uint64_t m0 = masks0[grp], m1 = masks1[grp];
    const __m512i w0 = _mm512_maskz_expandloadu_epi8(static_cast<__mmask64>(m0), v0);
    const __m512i w1 = _mm512_maskz_expandloadu_epi8(static_cast<__mmask64>(m1), v1);
    v0 += _mm_popcnt_u64(m0);
    v1 += _mm_popcnt_u64(m1);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      std::int32_t word;
      std::memcpy(&word, a + r * lda + 4 * grp, 4);
      const __m512i av = _mm512_set1_epi32(word);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, w0);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, w1);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm512_storeu_si512(tile + r * 32, acc[r][0]);
    _mm512_storeu_si512(tile + r * 32 + 16, acc[r][1]);
  }
}

struct spgemm_bitmask_u8s8_s32_8x16c4 {
  static constexpr int mr = 8;
  static constexpr int nb = 16;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static constexpr sparse_format format = sparse_format::bitmask;
  static const char* name() { return "spgemm_bitmask_u8s8_s32_8x16c4__avx512vnni_vbmi2"; }
  static bool cpu_has_extensions() { return cpu().avx512_vbmi2; }

  template <class A, class... S>
  QSPARSE_TARGET_AVX512_VNNI_VBMI2 static void run(
      const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g, const output_pipeline<S...>& pipeline,
      std::ptrdiff_t m_begin, std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    constexpr bool flip = std::is_same_v<A, std::int8_t>;
    const auto a_offset = static_cast<std::uint32_t>(g.a_zero_point) + (flip ? 128u : 0u);
    const __m512i column_factor = _mm512_set1_epi32(static_cast<std::int32_t>(0u - a_offset));
    const std::int32_t* column_sums = g.weights.column_sums();
    const std::int64_t* start = g.weights.value_start();
    const std::int8_t* values = g.weights.bitmask_values();
    const std::int64_t groups = g.weights.groups();
    const std::ptrdiff_t kp = g.weights.k_padded();
    // Up to 8 tiles share each panel's masks and values while they stay in L1.
    constexpr int max_block_tiles = 8;
    std::uint8_t* rows8 = thread_scratch<std::uint8_t>(static_cast<std::size_t>(mr * max_block_tiles * kp));
    alignas(64) std::int32_t tile[std::size_t{mr * 32}];
    // The dense scratch of two panels (64-byte aligned for the block tile's aligned loads) and its k offsets.
    const bool shared = m_end - m_begin > mr;
    std::int8_t* dense = nullptr;
    std::uint32_t* offsets = nullptr;
    if (shared) {
      auto* raw = thread_scratch<std::int8_t>(static_cast<std::size_t>(groups * 128 + 64));
      dense = raw + (64 - reinterpret_cast<std::uintptr_t>(raw) % 64) % 64;
      offsets = thread_scratch<std::uint32_t>(static_cast<std::size_t>(groups));
      for (std::int64_t grp = 0; grp < groups; ++grp) offsets[grp] = static_cast<std::uint32_t>(4 * grp);
    }
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += mr * max_block_tiles) {
      const std::ptrdiff_t block_rows = m_end - mb < mr * max_block_tiles ? m_end - mb : mr * max_block_tiles;
      const auto [a_rows, a_stride] =
          spgemm_rows_unsigned(g.a + mb * g.lda, g.lda, g.a_padded, block_rows, g.k, kp, rows8);
      std::ptrdiff_t p = panel_begin;
      // More than one tile: expand each pair of panels once into a dense scratch in the block_4x32 layout
      // and run the block kernel's 8×32 tile over it (one expand per 64 rows instead of per 8).
      for (; block_rows > mr && p + 2 <= panel_end; p += 2) {
        for (int half = 0; half < 2; ++half) {
          const std::uint64_t* mk = g.weights.masks(p + half);
          const std::int8_t* v = values + start[p + half];
          for (std::int64_t grp = 0; grp < groups; ++grp) {
            _mm512_store_si512(dense + 128 * grp + 64 * half,
                               _mm512_maskz_expandloadu_epi8(static_cast<__mmask64>(mk[grp]), v));
            v += _mm_popcnt_u64(mk[grp]);
          }
        }
        for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
          const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
          const std::uint8_t* a_tile = a_rows + t0 * a_stride;
          switch (rows) {
            case 8: spgemm_block_tile<8, 2>(a_tile, a_stride, offsets, dense, groups, tile); break;
            case 7: spgemm_block_tile<7, 2>(a_tile, a_stride, offsets, dense, groups, tile); break;
            case 6: spgemm_block_tile<6, 2>(a_tile, a_stride, offsets, dense, groups, tile); break;
            case 5: spgemm_block_tile<5, 2>(a_tile, a_stride, offsets, dense, groups, tile); break;
            case 4: spgemm_block_tile<4, 2>(a_tile, a_stride, offsets, dense, groups, tile); break;
            case 3: spgemm_block_tile<3, 2>(a_tile, a_stride, offsets, dense, groups, tile); break;
            case 2: spgemm_block_tile<2, 2>(a_tile, a_stride, offsets, dense, groups, tile); break;
            default: spgemm_block_tile<1, 2>(a_tile, a_stride, offsets, dense, groups, tile); break;
          }
          for (int half = 0; half < 2; ++half) {
            const std::ptrdiff_t n0 = (p + half) * 16;
            const std::ptrdiff_t columns = g.n - n0 < 16 ? g.n - n0 : 16;
            const auto mask = static_cast<__mmask16>(columns >= 16 ? 0xFFFF : (1u << columns) - 1u);
            const __m512i column_term = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n0), column_factor);
            const auto prepared = avx512::prepare(pipeline, n0, mask);
            for (int r = 0; r < rows; ++r) {
              const __m512i acc = _mm512_add_epi32(_mm512_load_si512(tile + r * 32 + 16 * half), column_term);
              avx512::store_prepared(prepared, acc, mask, g.dst + (mb + t0 + r) * g.ldd + n0);
            }
          }
        }
      }
      // Pairs of panels for tiles of 4 and more rows (fewer rows keep one panel and more accumulator sets).
      for (; block_rows >= 4 && p + 2 <= panel_end; p += 2) {
        for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
          const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
          const std::uint8_t* a_tile = a_rows + t0 * a_stride;
          const std::uint64_t* m0 = g.weights.masks(p);
          const std::uint64_t* m1 = g.weights.masks(p + 1);
          const std::int8_t* v0 = values + start[p];
          const std::int8_t* v1 = values + start[p + 1];
          switch (rows) {
            case 8: spgemm_bitmask_tile_2p<8>(a_tile, a_stride, m0, v0, m1, v1, groups, tile); break;
            case 7: spgemm_bitmask_tile_2p<7>(a_tile, a_stride, m0, v0, m1, v1, groups, tile); break;
            case 6: spgemm_bitmask_tile_2p<6>(a_tile, a_stride, m0, v0, m1, v1, groups, tile); break;
            case 5: spgemm_bitmask_tile_2p<5>(a_tile, a_stride, m0, v0, m1, v1, groups, tile); break;
            case 4: spgemm_bitmask_tile_2p<4>(a_tile, a_stride, m0, v0, m1, v1, groups, tile); break;
            case 3: spgemm_bitmask_tile_2p<3>(a_tile, a_stride, m0, v0, m1, v1, groups, tile); break;
            case 2: spgemm_bitmask_tile_2p<2>(a_tile, a_stride, m0, v0, m1, v1, groups, tile); break;
            default: spgemm_bitmask_tile_2p<1>(a_tile, a_stride, m0, v0, m1, v1, groups, tile); break;
          }
          for (int half = 0; half < 2; ++half) {
            const std::ptrdiff_t n0 = (p + half) * 16;
            const std::ptrdiff_t columns = g.n - n0 < 16 ? g.n - n0 : 16;
            const auto mask = static_cast<__mmask16>(columns >= 16 ? 0xFFFF : (1u << columns) - 1u);
            const __m512i column_term = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n0), column_factor);
            const auto prepared = avx512::prepare(pipeline, n0, mask);
            for (int r = 0; r < rows; ++r) {
              const __m512i acc = _mm512_add_epi32(_mm512_load_si512(tile + r * 32 + 16 * half), column_term);
              avx512::store_prepared(prepared, acc, mask, g.dst + (mb + t0 + r) * g.ldd + n0);
            }
          }
        }
      }
      for (; p < panel_end; ++p) {
        const std::uint64_t* masks = g.weights.masks(p);
        const std::int8_t* v = values + start[p];
        const std::ptrdiff_t n0 = p * 16;
        const std::ptrdiff_t columns = g.n - n0 < 16 ? g.n - n0 : 16;
        const auto mask = static_cast<__mmask16>(columns >= 16 ? 0xFFFF : (1u << columns) - 1u);
        const __m512i column_term = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n0), column_factor);
        const auto prepared = avx512::prepare(pipeline, n0, mask);
        for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
          const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
          const std::uint8_t* a_tile = a_rows + t0 * a_stride;
          switch (rows) {
            case 8: spgemm_bitmask_tile<8>(a_tile, a_stride, masks, v, groups, tile); break;
            case 7: spgemm_bitmask_tile<7>(a_tile, a_stride, masks, v, groups, tile); break;
            case 6: spgemm_bitmask_tile<6>(a_tile, a_stride, masks, v, groups, tile); break;
            case 5: spgemm_bitmask_tile<5>(a_tile, a_stride, masks, v, groups, tile); break;
            case 4: spgemm_bitmask_tile<4>(a_tile, a_stride, masks, v, groups, tile); break;
            case 3: spgemm_bitmask_tile<3>(a_tile, a_stride, masks, v, groups, tile); break;
            case 2: spgemm_bitmask_tile<2>(a_tile, a_stride, masks, v, groups, tile); break;
            default: spgemm_bitmask_tile<1>(a_tile, a_stride, masks, v, groups, tile); break;
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
