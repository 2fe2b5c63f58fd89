// qsparse/kernels/neondotprod/spgemm_block4_x8s8_s32_4x16c4.hpp — block-sparse int8 GEMM on aarch64 with the
// dot-product instructions: up to 4 rows × 16 columns per tile, visiting only the stored 4 × NB blocks
// (formats block_4x16 and block_4x32 of qsparse/spec/packed_sparse_weights.hpp; a 32-wide panel runs as two
// 16-column halves).
//
// A stored block keeps each column's 4 k together (values[4 c + kk]), which is the dot-product tile's layout:
// 16 bytes are 4 columns × 4 k, one sdot per 4 columns and row. Per block: 4 weight loads, and per row one
// 4-byte broadcast load (ld1r) of its activations at the block's k and 4 sdot into the row's 4 accumulators:
// 16 accumulators, 4 weight and 4 row registers. The rows are copied per tile as int8 a_s = a - o (o = 0 for
// int8, 128 for uint8: the sign bit flipped) and zero padded to whole k groups, so
//   Σ_k (a - a_zp) w = Σ_stored a_s w - (a_zp - o) colsum[n]          (sparse weights are symmetric: w_zp = 0)
// modulo 2^32, exact because the entry point guarantees the true sum fits int32. The correction and the
// output stages are kernels/neon/output_pipeline.hpp's store_s8s8_tile (row sums unused: w_zp = 0).
//
// sdot is inline asm for Clang 14 (see kernels/neondotprod/gemm_x8s8_s32_4x16c4.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/neon/output_pipeline.hpp"
#include "qsparse/kernels/neondotprod/gemm_x8s8_s32_4x16c4.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/sparse_gemm_args.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon_dotprod {

/// sums[r][0..15] = Σ over the panel's blocks of rows' a_s at block_k × the block's 16 columns (of this half).
template <int MR>
QSPARSE_TARGET_NEON_DOTPROD inline void spgemm_block_tile_4x16(const std::int8_t* rows, std::ptrdiff_t ld,
                                                               const std::uint32_t* block_k, const std::int8_t* w,
                                                               std::int64_t blocks, std::ptrdiff_t block_bytes,
                                                               std::int32_t* sums) {
  int32x4_t acc[std::size_t{MR}][4];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[r][j] = vdupq_n_s32(0);
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::int8_t* wb = w + b * block_bytes;
    const int8x16_t w0 = vld1q_s8(wb), w1 = vld1q_s8(wb + 16), w2 = vld1q_s8(wb + 32), w3 = vld1q_s8(wb + 48);
    const std::ptrdiff_t k0 = block_k[b];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      std::int32_t word;
      std::memcpy(&word, rows + r * ld + k0, 4);
      const int8x16_t a = vreinterpretq_s8_s32(vdupq_n_s32(word));
      acc[r][0] = sdot_lane<0>(acc[r][0], w0, a);
      acc[r][1] = sdot_lane<0>(acc[r][1], w1, a);
      acc[r][2] = sdot_lane<0>(acc[r][2], w2, a);
      acc[r][3] = sdot_lane<0>(acc[r][3], w3, a);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) vst1q_s32(sums + r * 16 + 4 * j, acc[r][j]);
}

template <int NB>
struct spgemm_block4_x8s8_s32_4x16c4 {
  static_assert(NB == 16 || NB == 32, "spgemm_block4_x8s8_s32_4x16c4: NB must be 16 or 32");
  static constexpr int mr = 4;
  static constexpr int nb = NB;
  static constexpr isa_level isa = isa_level::neon_dotprod;
  static constexpr sparse_format format = NB == 16 ? sparse_format::block_4x16 : sparse_format::block_4x32;
  static const char* name() {
    return NB == 16 ? "spgemm_block4x16_x8s8_s32_4x16c4__neondotprod" : "spgemm_block4x32_x8s8_s32_4x16c4__neondotprod";
  }

  template <class A, class... S>
  QSPARSE_TARGET_NEON_DOTPROD static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                              const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                              std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    static_assert(std::is_same_v<A, std::int8_t> || std::is_same_v<A, std::uint8_t>,
                  "qsparse: the sparse GEMM reads int8 or uint8 activations.");
    constexpr unsigned flip = std::is_same_v<A, std::uint8_t> ? 0x80u : 0u;
    const std::ptrdiff_t kp = g.weights.k_padded();
    std::int8_t* rows_copy = thread_scratch<std::int8_t>(static_cast<std::size_t>(mr * kp));
    const std::int64_t* start = g.weights.panel_start();
    const std::uint32_t* block_k = g.weights.block_k();
    const std::int32_t no_row_sums[mr] = {0, 0, 0, 0};  // multiplied by w_zp = 0
    alignas(16) std::int32_t sums[mr * 16];
    for (std::ptrdiff_t m0 = m_begin; m0 < m_end; m0 += mr) {
      const int rows = static_cast<int>(m_end - m0 < mr ? m_end - m0 : mr);
      for (int r = 0; r < rows; ++r) {
        const A* src = g.a + (m0 + r) * g.lda;
        std::int8_t* dst = rows_copy + r * kp;
        for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) {
          dst[kk] = static_cast<std::int8_t>(static_cast<std::uint8_t>(static_cast<std::uint8_t>(src[kk]) ^ flip));
        }
        for (std::ptrdiff_t kk = g.k; kk < kp; ++kk) dst[kk] = 0;
      }
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const std::int64_t first = start[p];
        const std::int64_t blocks = start[p + 1] - first;
        for (int half = 0; half < NB / 16; ++half) {
          const std::ptrdiff_t n0 = p * NB + 16 * half;
          if (g.n - n0 <= 0) break;
          const std::int8_t* w = g.weights.values(first) + 64 * half;
          switch (rows) {
            case 4: spgemm_block_tile_4x16<4>(rows_copy, kp, block_k + first, w, blocks, 4 * NB, sums); break;
            case 3: spgemm_block_tile_4x16<3>(rows_copy, kp, block_k + first, w, blocks, 4 * NB, sums); break;
            case 2: spgemm_block_tile_4x16<2>(rows_copy, kp, block_k + first, w, blocks, 4 * NB, sums); break;
            default: spgemm_block_tile_4x16<1>(rows_copy, kp, block_k + first, w, blocks, 4 * NB, sums); break;
          }
          neon::store_s8s8_tile<16>(g, pipeline, static_cast<const std::int32_t*>(sums), no_row_sums, rows, m0, n0);
        }
      }
    }
  }
};

}  // namespace qsparse::kernels::neon_dotprod

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
