// qsparse/kernels/avx512vnni/spgemm_block4_u8s8_s32_8xNc4.hpp — block-sparse int8 GEMM on AVX-512 VNNI:
// up to 8 rows × one panel of NB (16 or 32) columns per tile, one vpdpbusd per row and 16 columns for
// each stored 4 × NB block (formats block_4x16 / block_4x32 of qsparse/spec/packed_sparse_weights.hpp).
//
// A stored block is exactly the operand of the dense VNNI kernel's k group (NB columns × 4 consecutive
// k, signed bytes), so its inner loop is the dense one with the k offset read from block_k[] instead of
// counted: NB/16 weight loads, one 4-byte broadcast per row from that offset, MR × NB/16 vpdpbusd.
// All-zero blocks are never visited. Activations are made unsigned (int8: a + 128) while each tile's
// rows are copied to a per-thread scratch; the epilogue adds -(a_zp + o) * colsum[n] (o = 128 for int8
// activations, 0 for uint8), modulo 2^32, which restores Σ (a - a_zp) w exactly (w_zp is 0).
// Few rows (matrix-vector products) spread the blocks over 2 or 4 accumulator sets to hide the
// latency of the vpdpbusd chain.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/avx512vnni/gemm_u8s8_s32_8x32c4.hpp"  // accumulator_bound
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

/// out[0, k) = src[0, k) as unsigned bytes (sign bit flipped when Flip), out[k, kp) = 0.
template <bool Flip>
QSPARSE_TARGET_AVX512_VNNI inline void spgemm_copy_row_unsigned(const std::uint8_t* src, std::ptrdiff_t k,
                                                                std::ptrdiff_t kp, std::uint8_t* out) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (std::ptrdiff_t kk = 0; kk < kp; kk += 64) {
    const std::ptrdiff_t loaded = k - kk < 64 ? (k - kk > 0 ? k - kk : 0) : 64;
    const std::ptrdiff_t stored = kp - kk < 64 ? kp - kk : 64;
    const __mmask64 load_mask = loaded == 64 ? ~__mmask64{0} : (__mmask64{1} << loaded) - 1;
    const __mmask64 store_mask = stored == 64 ? ~__mmask64{0} : (__mmask64{1} << stored) - 1;
    __m512i v = _mm512_maskz_loadu_epi8(load_mask, src + kk);
    if constexpr (Flip) v = _mm512_maskz_mov_epi8(load_mask, _mm512_xor_si512(v, flip));
    _mm512_mask_storeu_epi8(out + kk, store_mask, v);
  }
}

/// Rows of unsigned bytes padded to kp, as the sparse tiles read them: their first byte and their stride.
struct spgemm_unsigned_rows {
  const std::uint8_t* data;
  std::ptrdiff_t stride;
};

/// The `rows` rows of A from `a` (stride lda) as unsigned bytes padded to kp: the caller's own when they
/// already are (uint8 activations and a_padded), else copied into `buffer` (rows × kp bytes; int8 flipped).
template <class A>
QSPARSE_TARGET_AVX512_VNNI inline spgemm_unsigned_rows spgemm_rows_unsigned(const A* a, std::ptrdiff_t lda, bool a_padded,
                                                                          std::ptrdiff_t rows, std::ptrdiff_t k,
                                                                          std::ptrdiff_t kp, std::uint8_t* buffer) {
  constexpr bool flip = std::is_same_v<A, std::int8_t>;
  if (!flip && a_padded) return {reinterpret_cast<const std::uint8_t*>(a), lda};
  for (std::ptrdiff_t r = 0; r < rows; ++r) {
    spgemm_copy_row_unsigned<flip>(reinterpret_cast<const std::uint8_t*>(a + r * lda), k, kp, buffer + r * kp);
  }
  return {buffer, kp};
}

/// One stored block into accumulator set `acc`: MR rows × NV vectors of 16 columns.
template <int MR, int NV>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void spgemm_block_step(
    __m512i (&acc)[std::size_t{MR}][std::size_t{NV}], const std::uint8_t* a, std::ptrdiff_t lda, std::uint32_t offset, const std::int8_t* w) {
  __m512i b[std::size_t{NV}];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) b[j] = _mm512_load_si512(w + 64 * j);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    std::int32_t word;
    std::memcpy(&word, a + r * lda + offset, 4);
    const __m512i av = _mm512_set1_epi32(word);
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], av, b[j]);
  }
}

/// MR rows of unsigned activations × the `blocks` stored blocks of one panel: Σ a_u w into tile[r][0..NB).
template <int MR, int NV>
QSPARSE_TARGET_AVX512_VNNI inline void spgemm_block_tile(const std::uint8_t* a, std::ptrdiff_t lda,
                                                         const std::uint32_t* block_k, const std::int8_t* w,
                                                         std::int64_t blocks, std::int32_t* tile) {
  // Independent accumulator sets over alternating blocks when there are few accumulators per set.
  constexpr int sets = MR * NV >= 8 ? 1 : (MR * NV >= 4 ? 2 : 4);
  constexpr int block_bytes = 64 * NV;
  __m512i acc[std::size_t{sets}][std::size_t{MR}][std::size_t{NV}];
#pragma GCC unroll 4
  for (int s = 0; s < sets; ++s)
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[s][r][j] = _mm512_setzero_si512();
  std::int64_t b = 0;
  if constexpr (sets > 1) {
    for (; b + sets <= blocks; b += sets) {
#pragma GCC unroll 4
      for (int s = 0; s < sets; ++s) {
        spgemm_block_step<MR, NV>(acc[s], a, lda, block_k[b + s], w + (b + s) * block_bytes);
      }
    }
  }
  for (; b < blocks; ++b) spgemm_block_step<MR, NV>(acc[0], a, lda, block_k[b], w + b * block_bytes);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      __m512i sum = acc[0][r][j];
#pragma GCC unroll 4
      for (int s = 1; s < sets; ++s) sum = _mm512_add_epi32(sum, acc[s][r][j]);
      _mm512_storeu_si512(tile + r * 16 * NV + 16 * j, sum);
    }
  }
}

/// spgemm_block_step with each row at its own address: rows[r] + offset.
template <int MR, int NV>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void spgemm_block_step_rows(
    __m512i (&acc)[std::size_t{MR}][std::size_t{NV}], const std::uint8_t* const (&rows)[std::size_t{MR}],
    std::uint32_t offset, const std::int8_t* w) {
  __m512i b[std::size_t{NV}];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) b[j] = _mm512_load_si512(w + 64 * j);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    std::int32_t word;
    std::memcpy(&word, rows[r] + offset, 4);
    const __m512i av = _mm512_set1_epi32(word);
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], av, b[j]);
  }
}

/// spgemm_block_tile with each row at its own address (rows[r] + block offset): the tile of run_gather.
template <int MR, int NV>
QSPARSE_TARGET_AVX512_VNNI inline void spgemm_block_tile_rows(const std::uint8_t* const* row_starts,
                                                              const std::uint32_t* block_offset, const std::int8_t* w,
                                                              std::int64_t blocks, std::int32_t* tile) {
  constexpr int sets = MR * NV >= 8 ? 1 : (MR * NV >= 4 ? 2 : 4);
  constexpr int block_bytes = 64 * NV;
  const std::uint8_t* rows[std::size_t{MR}];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) rows[r] = row_starts[r];
  __m512i acc[std::size_t{sets}][std::size_t{MR}][std::size_t{NV}];
#pragma GCC unroll 4
  for (int s = 0; s < sets; ++s)
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[s][r][j] = _mm512_setzero_si512();

  std::int64_t b = 0;
  if constexpr (sets > 1) {
    for (; b + sets <= blocks; b += sets) {
#pragma GCC unroll 4
      for (int s = 0; s < sets; ++s) spgemm_block_step_rows<MR, NV>(acc[s], rows, block_offset[b + s], w + (b + s) * block_bytes);
    }
  }
  for (; b < blocks; ++b) spgemm_block_step_rows<MR, NV>(acc[0], rows, block_offset[b], w + b * block_bytes);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      __m512i sum = acc[0][r][j];
#pragma GCC unroll 4
      for (int s = 1; s < sets; ++s) sum = _mm512_add_epi32(sum, acc[s][r][j]);
      _mm512_storeu_si512(tile + r * 16 * NV + 16 * j, sum);
    }
  }
}

/// What the gathering entry point (spgemm_block4_u8s8_s32_8xNc4::run_gather) is given: a band of output
/// rows of one convolution whose input taps are unsigned bytes in a padded copy, and per stored block
/// the byte offset of its 4 taps from a pixel's first tap (the sparse conv2d computes them from block_k).
template <class Out>
struct spgemm_gather_args {
  const std::uint8_t* band;       // output pixel (y, x) of the band reads block b at band + y*row_step + x*pixel_step + offsets[b]
  std::ptrdiff_t pixel_step;      // bytes between horizontally adjacent output pixels' taps
  std::ptrdiff_t row_step;        // bytes between vertically adjacent output rows' taps
  std::ptrdiff_t out_w, out_rows;  // the band's output pixels: out_rows × out_w
  const std::uint32_t* offsets;   // one per stored block, indexed as weights.block_k()
  std::uint32_t a_offset;         // the unsigned zero point the taps carry (the padding's value)
  std::int64_t bound;             // |Σ (a - a_zp) w| <= bound (accumulator_bound of the original operands)
  packed_sparse_weights_view weights;
  Out* dst;  // pixel (y, x) at dst + (y * out_w + x) * ldd, N contiguous elements
  std::ptrdiff_t ldd;
};

/// The kernel family: tiles of 8 rows × NB columns, remainder rows through the smaller instantiations.
template <int NB>
struct spgemm_block4_u8s8_s32_8xNc4 {
  static_assert(NB == 16 || NB == 32, "spgemm_block4_u8s8_s32_8xNc4: NB must be 16 or 32");
  static constexpr int mr = 8;
  static constexpr int nb = NB;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static constexpr sparse_format format = NB == 16 ? sparse_format::block_4x16 : sparse_format::block_4x32;
  static const char* name() {
    return NB == 16 ? "spgemm_block4x16_u8s8_s32_8x16c4__avx512vnni" : "spgemm_block4x32_u8s8_s32_8x32c4__avx512vnni";
  }

  template <class A, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                             const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                             std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                             std::ptrdiff_t panel_end) {
    constexpr int nv = NB / 16;
    constexpr bool flip = std::is_same_v<A, std::int8_t>;
    // |Σ (a - a_zp) w| over K, for the fast epilogue (pruned weights are 0, so K bounds the kept terms).
    const std::int64_t bound = accumulator_bound<A>(g.k, g.a_zero_point, 0);
    const auto a_offset = static_cast<std::uint32_t>(g.a_zero_point) + (flip ? 128u : 0u);
    const __m512i column_factor = _mm512_set1_epi32(static_cast<std::int32_t>(0u - a_offset));
    const std::int32_t* column_sums = g.weights.column_sums();
    const std::int64_t* start = g.weights.panel_start();
    const std::uint32_t* block_k = g.weights.block_k();
    const std::ptrdiff_t kp = g.weights.k_padded();
    // Up to 8 tiles share each panel's blocks while they stay in L1 (as in the dense kernel).
    constexpr int max_block_tiles = 8;
    std::uint8_t* rows8 = thread_scratch<std::uint8_t>(static_cast<std::size_t>(mr * max_block_tiles * kp));
    alignas(64) std::int32_t tile[std::size_t{mr * NB}];
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += mr * max_block_tiles) {
      const std::ptrdiff_t block_rows = m_end - mb < mr * max_block_tiles ? m_end - mb : mr * max_block_tiles;
      const auto [a_rows, a_stride] =
          spgemm_rows_unsigned(g.a + mb * g.lda, g.lda, g.a_padded, block_rows, g.k, kp, rows8);
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const std::int64_t first = start[p];
        const std::int64_t blocks = start[p + 1] - first;
        const std::int8_t* w = g.weights.values(first);
        const std::uint32_t* offsets = block_k + first;
        const std::ptrdiff_t n0 = p * NB;
        const std::ptrdiff_t columns = g.n - n0 < NB ? g.n - n0 : NB;
        for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
          const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
          const std::uint8_t* a_tile = a_rows + t0 * a_stride;
          switch (rows) {
            case 8: spgemm_block_tile<8, nv>(a_tile, a_stride, offsets, w, blocks, tile); break;
            case 7: spgemm_block_tile<7, nv>(a_tile, a_stride, offsets, w, blocks, tile); break;
            case 6: spgemm_block_tile<6, nv>(a_tile, a_stride, offsets, w, blocks, tile); break;
            case 5: spgemm_block_tile<5, nv>(a_tile, a_stride, offsets, w, blocks, tile); break;
            case 4: spgemm_block_tile<4, nv>(a_tile, a_stride, offsets, w, blocks, tile); break;
            case 3: spgemm_block_tile<3, nv>(a_tile, a_stride, offsets, w, blocks, tile); break;
            case 2: spgemm_block_tile<2, nv>(a_tile, a_stride, offsets, w, blocks, tile); break;
            default: spgemm_block_tile<1, nv>(a_tile, a_stride, offsets, w, blocks, tile); break;
          }
          const std::ptrdiff_t m0 = mb + t0;
          for (int j = 0; j < nv; ++j) {
            const std::ptrdiff_t left = columns - 16 * j;
            if (left <= 0) break;
            const std::ptrdiff_t n = n0 + 16 * j;
            const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
            const __m512i column_term = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n), column_factor);
            const auto prepared = avx512::prepare(pipeline, n, mask, bound);
            if (avx512::fast_path_exact(prepared)) {
              for (int r = 0; r < rows; ++r) {
                const __m512i acc = _mm512_add_epi32(_mm512_load_si512(tile + r * NB + 16 * j), column_term);
                avx512::store_prepared<true>(prepared, acc, mask, g.dst + (m0 + r) * g.ldd + n);
              }
            } else {
              for (int r = 0; r < rows; ++r) {
                const __m512i acc = _mm512_add_epi32(_mm512_load_si512(tile + r * NB + 16 * j), column_term);
                avx512::store_prepared(prepared, acc, mask, g.dst + (m0 + r) * g.ldd + n);
              }
            }
          }
        }
      }
    }
  }

  /// The sparse conv2d's implicit im2col: tiles of up to 8 pixels of one output row (a fixed pixel_step
  /// apart), each stored block's 4 taps read in place at the pixel's first tap + offsets[b]; the pipeline
  /// is prepared once per panel for the whole band.
  template <class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run_gather(const spgemm_gather_args<typename output_pipeline<S...>::output_type>& g,
                                                    const output_pipeline<S...>& pipeline) {
    using Out = typename output_pipeline<S...>::output_type;
    constexpr int nv = NB / 16;
    const __m512i column_factor = _mm512_set1_epi32(static_cast<std::int32_t>(0u - g.a_offset));
    const std::int32_t* column_sums = g.weights.column_sums();
    const std::int64_t* start = g.weights.panel_start();
    const auto panels = static_cast<std::ptrdiff_t>(g.weights.panels());
    const std::ptrdiff_t n_total = g.weights.n();
    alignas(64) std::int32_t tile[std::size_t{mr * NB}];
    for (std::ptrdiff_t p = 0; p < panels; ++p) {
      const std::int64_t first = start[p];
      const std::int64_t blocks = start[p + 1] - first;
      const std::int8_t* w = g.weights.values(first);
      const std::uint32_t* offsets = g.offsets + first;
      const std::ptrdiff_t n0 = p * NB;
      const std::ptrdiff_t columns = n_total - n0 < NB ? n_total - n0 : NB;
      // Columns n0 .. n0+15 and n0+16 .. n0+31 (block_4x32; an empty mask when the panel has 16 or fewer).
      const std::ptrdiff_t left1 = columns - 16;
      const auto mask0 = static_cast<__mmask16>(columns >= 16 ? 0xFFFF : (1u << columns) - 1u);
      const auto mask1 = static_cast<__mmask16>(left1 >= 16 ? 0xFFFF : (left1 > 0 ? (1u << left1) - 1u : 0u));
      const __m512i term0 = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n0), column_factor);
      const auto prepared0 = avx512::prepare(pipeline, n0, mask0, g.bound);
      const bool fast0 = avx512::fast_path_exact(prepared0);
      __m512i term1 = term0;
      auto prepared1 = prepared0;
      bool fast1 = fast0;
      if (nv > 1 && left1 > 0) {
        term1 = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n0 + 16), column_factor);
        prepared1 = avx512::prepare(pipeline, n0 + 16, mask1, g.bound);
        fast1 = avx512::fast_path_exact(prepared1);
      }
      const std::ptrdiff_t pixels = g.out_rows * g.out_w;
      for (std::ptrdiff_t i0 = 0; i0 < pixels; i0 += mr) {
        {
          const int rows = static_cast<int>(pixels - i0 < mr ? pixels - i0 : mr);
          // Tiles of 8 consecutive output pixels of the band, across output rows.
          const std::uint8_t* starts[mr];
          std::ptrdiff_t y = i0 / g.out_w, x = i0 % g.out_w;
          for (int r = 0; r < rows; ++r) {
            starts[r] = g.band + y * g.row_step + x * g.pixel_step;
            if (++x == g.out_w) {
              x = 0;
              ++y;
            }
          }
          switch (rows) {
            case 8: spgemm_block_tile_rows<8, nv>(starts, offsets, w, blocks, tile); break;
            case 7: spgemm_block_tile_rows<7, nv>(starts, offsets, w, blocks, tile); break;
            case 6: spgemm_block_tile_rows<6, nv>(starts, offsets, w, blocks, tile); break;
            case 5: spgemm_block_tile_rows<5, nv>(starts, offsets, w, blocks, tile); break;
            case 4: spgemm_block_tile_rows<4, nv>(starts, offsets, w, blocks, tile); break;
            case 3: spgemm_block_tile_rows<3, nv>(starts, offsets, w, blocks, tile); break;
            case 2: spgemm_block_tile_rows<2, nv>(starts, offsets, w, blocks, tile); break;
            default: spgemm_block_tile_rows<1, nv>(starts, offsets, w, blocks, tile); break;
          }
          Out* out = g.dst + i0 * g.ldd + n0;
          if (fast0) {
            for (int r = 0; r < rows; ++r)
              avx512::store_prepared<true>(prepared0, _mm512_add_epi32(_mm512_load_si512(tile + r * NB), term0), mask0,
                                           out + r * g.ldd);
          } else {
            for (int r = 0; r < rows; ++r)
              avx512::store_prepared(prepared0, _mm512_add_epi32(_mm512_load_si512(tile + r * NB), term0), mask0,
                                     out + r * g.ldd);
          }
          if (nv > 1 && left1 > 0) {
            if (fast1) {
              for (int r = 0; r < rows; ++r)
                avx512::store_prepared<true>(prepared1, _mm512_add_epi32(_mm512_load_si512(tile + r * NB + 16), term1),
                                             mask1, out + r * g.ldd + 16);
            } else {
              for (int r = 0; r < rows; ++r)
                avx512::store_prepared(prepared1, _mm512_add_epi32(_mm512_load_si512(tile + r * NB + 16), term1), mask1,
                                       out + r * g.ldd + 16);
            }
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
