// qsparse/kernels/neondotprod/spgemm_2of4_x8s8_s32_4x16c4.hpp — 2:4-sparse int8 GEMM on aarch64 with the
// dot-product instructions: up to 4 rows × 16 columns per tile (format two_of_four of
// qsparse/spec/packed_sparse_weights.hpp, the bytes the x86 kernels read).
//
// Half the multiply-adds of the dense GEMM, as in the x86 kernels: the 16 value bytes of 4 columns of a
// pair of groups (8 k) are the 4 kept weights of each column, and each row meets them with one sdot
// (vector form) whose activation operand is gathered per column: the pair's 8 activations a_s (the low
// 8 bytes of one q load of the row) and one tbl put activation
// (slot | 4·(s / 2)) beside kept weight s of each column. The tbl controls depend on the weights only, so
// they are decoded from the 2-bit positions once per panel and block of rows (ushl, and, orr), into a
// per-thread scratch that the block's tiles then load beside the values: per pair and 4 rows, 4 control
// and 4 value loads, 4 row loads, 16 tbl and 16 sdot (each sdot 16 MACs of kept weights, 32 of the dense
// product), 16 accumulators. Rows are copied per block (up to 8 tiles) as int8 a_s = a - o (o = 0 for
// int8, 128 for uint8: the sign bit flipped), zero padded to the padded K (a multiple of 8), so
//   Σ_k (a - a_zp) w = Σ_kept a_s w - (a_zp - o) colsum[n]          (sparse weights are symmetric: w_zp = 0)
// modulo 2^32, exact because the entry point guarantees the true sum fits int32. The correction and the
// output stages are kernels/neon/output_pipeline.hpp's store_s8s8_tile (row sums unused: w_zp = 0).
//
// sdot is inline asm for Clang 14 (see kernels/neondotprod/gemm_x8s8_s32_4x16c4.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/neon/output_pipeline.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/sparse_gemm_args.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon_dotprod {

/// acc += the 4 lanes' dot products of 4 bytes of a and b (sdot, vector form).
QSPARSE_TARGET_NEON_DOTPROD inline __attribute__((always_inline)) int32x4_t sdot_vector(int32x4_t acc, int8x16_t a,
                                                                                       int8x16_t b) {
  __asm__("sdot %0.4s, %1.16b, %2.16b" : "+w"(acc) : "w"(a), "w"(b));
  return acc;
}

/// The tbl controls of a panel's J pairs: 64 bytes per pair j, byte 4c + s = slot | 4·(s / 2) of kept
/// value s of column c, from the 2-bit fields of `positions` (bits 2t, 2t+1 of byte 4c + s of quad j / 4).
QSPARSE_TARGET_NEON_DOTPROD inline void spgemm_2of4_decode(const std::uint8_t* positions, std::ptrdiff_t pairs,
                                                           std::uint8_t* controls) {
  alignas(16) static constexpr std::uint8_t group_bytes[16] = {0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4};
  const uint8x16_t group = vld1q_u8(group_bytes);
  const uint8x16_t slot_bits = vdupq_n_u8(3);
  for (std::ptrdiff_t j = 0; j < pairs; ++j) {
    const int8x16_t shift = vdupq_n_s8(static_cast<std::int8_t>(-2 * (j % 4)));  // a right shift by 2t
    for (int h = 0; h < 4; ++h) {
      const uint8x16_t pos = vld1q_u8(positions + (j / 4) * 64 + 16 * h);
      vst1q_u8(controls + 64 * j + 16 * h, vorrq_u8(vandq_u8(vshlq_u8(pos, shift), slot_bits), group));
    }
  }
}

/// sums[r][0..15] = Σ over the panel's pairs of the kept products of MR rows (a_s at rows + r * ld).
template <int MR>
QSPARSE_TARGET_NEON_DOTPROD inline void spgemm_2of4_tile_4x16(const std::int8_t* rows, std::ptrdiff_t ld,
                                                              const std::uint8_t* controls, const std::int8_t* values,
                                                              std::ptrdiff_t pairs, std::int32_t* sums) {
  int32x4_t acc[std::size_t{MR}][4];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int h = 0; h < 4; ++h) acc[r][h] = vdupq_n_s32(0);
  for (std::ptrdiff_t j = 0; j < pairs; ++j) {
    const std::uint8_t* c = controls + 64 * j;
    const std::int8_t* v = values + 64 * j;
    const uint8x16_t c0 = vld1q_u8(c), c1 = vld1q_u8(c + 16), c2 = vld1q_u8(c + 32), c3 = vld1q_u8(c + 48);
    const int8x16_t v0 = vld1q_s8(v), v1 = vld1q_s8(v + 16), v2 = vld1q_s8(v + 32), v3 = vld1q_s8(v + 48);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      // The pair's 8 activations in bytes 0-7 (tbl's indices are below 8; bytes 8-15 are the next pair's,
      // or the 16 bytes of slack after the block's last row).
      const int8x16_t x = vld1q_s8(rows + r * ld + 8 * j);
      acc[r][0] = sdot_vector(acc[r][0], vqtbl1q_s8(x, c0), v0);
      acc[r][1] = sdot_vector(acc[r][1], vqtbl1q_s8(x, c1), v1);
      acc[r][2] = sdot_vector(acc[r][2], vqtbl1q_s8(x, c2), v2);
      acc[r][3] = sdot_vector(acc[r][3], vqtbl1q_s8(x, c3), v3);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int h = 0; h < 4; ++h) vst1q_s32(sums + r * 16 + 4 * h, acc[r][h]);
}

struct spgemm_2of4_x8s8_s32_4x16c4 {
  static constexpr int mr = 4;
  static constexpr int nb = 16;
  static constexpr isa_level isa = isa_level::neon_dotprod;
  static constexpr sparse_format format = sparse_format::two_of_four;
  static const char* name() { return "spgemm_2of4_x8s8_s32_4x16c4__neondotprod"; }

  template <class A, class... S>
  QSPARSE_TARGET_NEON_DOTPROD static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                              const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                              std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    static_assert(std::is_same_v<A, std::int8_t> || std::is_same_v<A, std::uint8_t>,
                  "qsparse: the sparse GEMM reads int8 or uint8 activations.");
    constexpr unsigned flip = std::is_same_v<A, std::uint8_t> ? 0x80u : 0u;
    constexpr int max_block_tiles = 8;
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t pairs = g.weights.pairs();
    // 16 bytes of slack: a row's last pair is read as 16 bytes.
    std::int8_t* rows_copy = thread_scratch<std::int8_t>(static_cast<std::size_t>(mr * max_block_tiles * kp + 16));
    std::uint8_t* controls = thread_scratch<std::uint8_t>(static_cast<std::size_t>(64 * pairs));
    const std::int32_t no_row_sums[mr] = {0, 0, 0, 0};  // multiplied by w_zp = 0
    alignas(16) std::int32_t sums[mr * 16];
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += mr * max_block_tiles) {
      const std::ptrdiff_t block_rows = m_end - mb < mr * max_block_tiles ? m_end - mb : mr * max_block_tiles;
      for (std::ptrdiff_t r = 0; r < block_rows; ++r) {
        const A* src = g.a + (mb + r) * g.lda;
        std::int8_t* dst = rows_copy + r * kp;
        for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) {
          dst[kk] = static_cast<std::int8_t>(static_cast<std::uint8_t>(static_cast<std::uint8_t>(src[kk]) ^ flip));
        }
        for (std::ptrdiff_t kk = g.k; kk < kp; ++kk) dst[kk] = 0;
      }
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        spgemm_2of4_decode(g.weights.positions(p), pairs, controls);
        const std::int8_t* values = g.weights.values(p * pairs);
        const std::ptrdiff_t n0 = p * nb;
        for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
          const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
          const std::int8_t* a = rows_copy + t0 * kp;
          switch (rows) {
            case 4: spgemm_2of4_tile_4x16<4>(a, kp, controls, values, pairs, sums); break;
            case 3: spgemm_2of4_tile_4x16<3>(a, kp, controls, values, pairs, sums); break;
            case 2: spgemm_2of4_tile_4x16<2>(a, kp, controls, values, pairs, sums); break;
            default: spgemm_2of4_tile_4x16<1>(a, kp, controls, values, pairs, sums); break;
          }
          neon::store_s8s8_tile<16>(g, pipeline, static_cast<const std::int32_t*>(sums), no_row_sums, rows, mb + t0,
                                    n0);
        }
      }
    }
  }
};

}  // namespace qsparse::kernels::neon_dotprod

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
