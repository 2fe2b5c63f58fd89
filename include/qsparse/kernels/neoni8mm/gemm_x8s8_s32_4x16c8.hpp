// qsparse/kernels/neoni8mm/gemm_x8s8_s32_4x16c8.hpp — int8 GEMM on aarch64 with the matrix-multiply
// instructions (FEAT_I8MM: Neoverse N2/V1/V2, Cortex-A510/A710/X2 and later): up to 4 rows × 16 columns per
// tile, 8 consecutive k per column (weights layout s8_c8_nr16).
//
// `smmla vd.4s, vn.16b, vm.16b` multiplies a 2×8 int8 matrix (vn: two rows of 8 bytes) by the transpose of
// another (vm: two columns of 8 bytes) into a 2×2 int32 block, vd = [r0·c0, r0·c1, r1·c0, r1·c1]: 32
// multiply-adds per instruction, twice sdot's 16. The packed layout is the generic one with KR = 8
// (spec/packed_weights.hpp): a k group of a panel is 16 columns × 8 k = 128 bytes, and its q register j
// is columns 2j, 2j+1 × 8 k, exactly smmla's vm. The rows are copied per tile as the dot-product tile's
// (kernels/drivers/row_tiles.hpp's s8s8_s32_tile: int8, uint8 with the sign bit flipped, zero padded to
// whole k groups, the zero points restored from the column and row sums), but interleaved by pairs: rows
// 2p and 2p+1 alternate 8-byte chunks (the driver's loads_tile_rows), so 16 bytes of the copy are smmla's
// vn for one k group, loaded as they are. A 1-row last pair has a zero second row.
//
// Per 2 k groups the inner loop has 4 row loads, 16 weight loads and 32 smmla (1024 MACs): 16
// accumulators (2 row pairs × 8 column pairs), 8 weight and 4 row registers. Zipping the pairs in the
// loop instead (zip1/zip2 .2d of plain rows) costs 4 permutes per 32 smmla on the same two vector pipes:
// llvm-mca predicts 89 % of the smmla peak on Neoverse N2 with them, 100 % without (docs/kernels.md).
// The accumulators are unzipped into rows once per tile (zip1/zip2 .2d of two column pairs give 4
// columns of one row). The epilogue runs in Advanced SIMD (kernels/neon/output_pipeline.hpp), as for the
// dot-product tile.
//
// smmla is inline asm: Clang 14's arm_neon.h declares vmmlaq_s32 only under -march=...+i8mm, never for a
// function with a target attribute. GCC 12 declares it for target("arch=armv8.2-a+i8mm") but not for
// target("+i8mm") ("target specific option mismatch"), and Clang 14 rejects "+i8mm" ("not a recognized
// feature"; it takes "i8mm"): QSPARSE_TARGET_NEON_I8MM (qsparse/core/config.hpp) spells each compiler's form.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/drivers/row_tiles.hpp"
#include "qsparse/kernels/neon/output_pipeline.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace neon_i8mm {

/// acc (2×2 int32) += a (2 rows × 8 int8) × w (2 columns × 8 int8)^T.
QSPARSE_TARGET_NEON_I8MM inline __attribute__((always_inline)) int32x4_t smmla(int32x4_t acc, int8x16_t a,
                                                                               int8x16_t w) {
  __asm__("smmla %0.4s, %1.16b, %2.16b" : "+w"(acc) : "w"(a), "w"(w));
  return acc;
}

/// One k group (128 bytes of the panel at w) into the MR rows' accumulators; a[p] holds rows 2p, 2p+1.
template <int MR>
QSPARSE_TARGET_NEON_I8MM inline __attribute__((always_inline)) void gemm_step_4x16c8(int32x4_t (&acc)[std::size_t{(MR + 1) / 2}][8],
                                                                                    const int8x16_t (&a)[std::size_t{(MR + 1) / 2}],
                                                                                    const std::int8_t* w) {
  constexpr int pairs = (MR + 1) / 2;
  int8x16_t wv[8];
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) wv[j] = vld1q_s8(w + 16 * j);
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
#pragma GCC unroll 2
    for (int p = 0; p < pairs; ++p) acc[p][j] = smmla(acc[p][j], a[p], wv[j]);
  }
}

struct gemm_x8s8_s32_4x16c8 : drivers::s8s8_s32_tile<gemm_x8s8_s32_4x16c8> {
  static constexpr int mr = 4;
  static constexpr int nr = 16;
  static constexpr int kr = 8;
  static constexpr isa_level isa = isa_level::neon_i8mm;
  static constexpr packed_layout layout = packed_layout::s8_c8_nr16;
  static const char* name() { return "gemm_x8s8_s32_4x16c8__neoni8mm"; }

  static constexpr bool loads_tile_rows = true;

  /// Rows m0 .. m0 + rows - 1 as int8 a_s (load_row), row r of the tile into pair r / 2 of `out`: pair p
  /// holds 2 k_padded bytes from out + 2 p k_padded, rows 2p and 2p+1 alternating 8-byte chunks. A 1-row
  /// last pair gets a zero second row (its results are never stored; zeros keep the read defined).
  template <class G>
  static void load_rows(const G& g, std::ptrdiff_t m0, int rows, std::int8_t* out, std::int32_t* row_sums_of_tile) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    for (int r = 0; r < rows; ++r) {
      row_sums_of_tile[r] = load_row_chunks<8, 16>(g, m0 + r, out + (r / 2) * 2 * kp + (r % 2) * 8);
    }
    if (rows % 2 != 0) {
      std::int8_t* partner = out + (rows / 2) * 2 * kp + 8;
      for (std::ptrdiff_t kk = 0; kk < kp; kk += 8) std::memset(partner + 2 * kk, 0, 8);
    }
  }

  /// sums[r][n] = Σ_k a_s[r][k] w[k][n] over the padded K (a multiple of 8), modulo 2^32; `a` holds the
  /// tile's rows as load_rows leaves them, ld = k_padded.
  template <int MR>
  QSPARSE_TARGET_NEON_I8MM static void multiply(const std::int8_t* a, std::ptrdiff_t ld, std::ptrdiff_t kp,
                                                const void* panel, std::int32_t* sums) {
    constexpr int pairs = (MR + 1) / 2;
    const auto* w = static_cast<const std::int8_t*>(panel);
    int32x4_t acc[std::size_t{pairs}][8];
#pragma GCC unroll 2
    for (int p = 0; p < pairs; ++p) {
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) acc[p][j] = vdupq_n_s32(0);
    }
    // Pair p's 16 bytes of group k / 8 are at a + 2 p ld + 2 k (see load_rows).
    std::ptrdiff_t k = 0;
    for (; k + 16 <= kp; k += 16) {  // 2 k groups per iteration
      int8x16_t lo[std::size_t{pairs}], hi[std::size_t{pairs}];
#pragma GCC unroll 2
      for (int p = 0; p < pairs; ++p) {
        lo[p] = vld1q_s8(a + 2 * p * ld + 2 * k);
        hi[p] = vld1q_s8(a + 2 * p * ld + 2 * k + 16);
      }
      gemm_step_4x16c8<MR>(acc, lo, w);
      gemm_step_4x16c8<MR>(acc, hi, w + 128);
      w += 256;
    }
    if (k < kp) {  // the last group
      int8x16_t lo[std::size_t{pairs}];
#pragma GCC unroll 2
      for (int p = 0; p < pairs; ++p) lo[p] = vld1q_s8(a + 2 * p * ld + 2 * k);
      gemm_step_4x16c8<MR>(acc, lo, w);
    }
    // acc[p][j] = [r c, r c+1, r+1 c, r+1 c+1] with r = 2p, c = 2j: 4 columns of row r are the low halves
    // of acc[p][2q] and acc[p][2q+1], those of row r + 1 their high halves.
#pragma GCC unroll 2
    for (int p = 0; p < pairs; ++p) {
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) {
        const int64x2_t left = vreinterpretq_s64_s32(acc[p][2 * q]);
        const int64x2_t right = vreinterpretq_s64_s32(acc[p][2 * q + 1]);
        vst1q_s32(sums + (2 * p) * nr + 4 * q, vreinterpretq_s32_s64(vzip1q_s64(left, right)));
        if (2 * p + 1 < MR) vst1q_s32(sums + (2 * p + 1) * nr + 4 * q, vreinterpretq_s32_s64(vzip2q_s64(left, right)));
      }
    }
  }

  /// The zero-point terms and the output stages in Advanced SIMD (hides s8s8_s32_tile's scalar store).
  template <class G, class Pipeline>
  static void store(const G& g, const Pipeline& pipeline, const std::int32_t* sums, const std::int32_t* row_sums,
                    int rows, std::ptrdiff_t m0, std::ptrdiff_t n0) {
    neon::store_s8s8_tile<nr>(g, pipeline, sums, row_sums, rows, m0, n0);
  }

  template <class A, class... S>
  QSPARSE_TARGET_NEON_I8MM static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                           const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                           std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    drivers::run_row_tiles<gemm_x8s8_s32_4x16c8>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

}  // namespace neon_i8mm
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
