// qsparse/kernels/neon/gemm_s16s8_s64_4x16c1.hpp — the 16x8 GEMM (int16 activations × int8 weights, exact
// int64 sums) on aarch64 Advanced SIMD: up to 4 rows × 16 columns per tile, the scalar kernel's panel layout
// (int16 weights, KR = 1: 16 columns of one k are 32 contiguous bytes; qsparse/spec/packed_weights_16x8.hpp).
//
// Per k: 2 weight loads (columns 0-7, 8-15) and, per row, 4 smlal/smlal2 by element (the row's int16 value
// times 4 weights, widened into int32): 16 int32x4 accumulators for 4 rows. A row's activations are read 8 k
// at a time into one register and used lane by lane. Each product is at most 32768 * 128 = 2^22 in magnitude,
// so int32 partial sums over blocks of 511 k are exact (511 * 2^22 < 2^31), as in the scalar kernel; each
// block is then widened into int64 sums (saddw). The int64 output stages are the scalar definition
// `evaluate` (no int64 stage has a NEON evaluator). Advanced SIMD is baseline on aarch64: no target attribute.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_16x8.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon {

struct gemm_s16s8_s64_4x16c1 {
  static constexpr int mr = 4;
  static constexpr int nr = 16;
  static constexpr int kr = 1;
  static constexpr isa_level isa = isa_level::neon;
  /// k per exact int32 block: 511 * 2^22 < 2^31.
  static constexpr std::ptrdiff_t block_k = 511;
  static const char* name() { return "gemm_s16s8_s64_4x16c1__neon"; }

  /// acc[r][0..3] += a[r] × the 16 int16 weights (w0: columns 0-7, w1: 8-15) of one k; a[r] is lane L of av[r].
  template <int MR, int L>
  static inline __attribute__((always_inline)) void step(int32x4_t (&acc)[std::size_t{MR}][4],
                                                         const int16x8_t (&av)[std::size_t{MR}], int16x8_t w0,
                                                         int16x8_t w1) {
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      acc[r][0] = vmlal_laneq_s16(acc[r][0], vget_low_s16(w0), av[r], L);
      acc[r][1] = vmlal_high_laneq_s16(acc[r][1], w0, av[r], L);
      acc[r][2] = vmlal_laneq_s16(acc[r][2], vget_low_s16(w1), av[r], L);
      acc[r][3] = vmlal_high_laneq_s16(acc[r][3], w1, av[r], L);
    }
  }

  /// sums[r][0..15] (int64) = Σ_k a[r][k] w[k][0..15] for MR rows of one panel.
  template <int MR>
  static void tile(const std::int16_t* a, std::ptrdiff_t lda, std::ptrdiff_t k, const std::int16_t* w,
                   std::int64_t* sums) {
    int64x2_t total[std::size_t{MR}][8];
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < 8; ++j) total[r][j] = vdupq_n_s64(0);
    for (std::ptrdiff_t k0 = 0; k0 < k; k0 += block_k) {
      const std::ptrdiff_t k1 = k - k0 < block_k ? k : k0 + block_k;
      int32x4_t acc[std::size_t{MR}][4];
      for (int r = 0; r < MR; ++r)
        for (int j = 0; j < 4; ++j) acc[r][j] = vdupq_n_s32(0);
      std::ptrdiff_t kk = k0;
      for (; kk + 8 <= k1; kk += 8) {
        int16x8_t av[std::size_t{MR}];
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) av[r] = vld1q_s16(a + r * lda + kk);
        const std::int16_t* wk = w + kk * nr;
        step<MR, 0>(acc, av, vld1q_s16(wk), vld1q_s16(wk + 8));
        step<MR, 1>(acc, av, vld1q_s16(wk + 16), vld1q_s16(wk + 24));
        step<MR, 2>(acc, av, vld1q_s16(wk + 32), vld1q_s16(wk + 40));
        step<MR, 3>(acc, av, vld1q_s16(wk + 48), vld1q_s16(wk + 56));
        step<MR, 4>(acc, av, vld1q_s16(wk + 64), vld1q_s16(wk + 72));
        step<MR, 5>(acc, av, vld1q_s16(wk + 80), vld1q_s16(wk + 88));
        step<MR, 6>(acc, av, vld1q_s16(wk + 96), vld1q_s16(wk + 104));
        step<MR, 7>(acc, av, vld1q_s16(wk + 112), vld1q_s16(wk + 120));
      }
      for (; kk < k1; ++kk) {
        int16x8_t av[std::size_t{MR}];
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) av[r] = vdupq_n_s16(a[r * lda + kk]);
        step<MR, 0>(acc, av, vld1q_s16(w + kk * nr), vld1q_s16(w + kk * nr + 8));
      }
      for (int r = 0; r < MR; ++r) {
        for (int j = 0; j < 4; ++j) {
          total[r][2 * j] = vaddw_s32(total[r][2 * j], vget_low_s32(acc[r][j]));
          total[r][2 * j + 1] = vaddw_high_s32(total[r][2 * j + 1], acc[r][j]);
        }
      }
    }
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < 8; ++j) vst1q_s64(sums + r * nr + 2 * j, total[r][j]);
  }

  template <class Out, class... S>
  static void run(const gemm_panel_args<std::int16_t, packed_weights_16x8_view, Out>& g,
                  const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
                  std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    alignas(16) std::int64_t sums[mr * nr];
    for (std::ptrdiff_t m0 = m_begin; m0 < m_end; m0 += mr) {
      const int rows = static_cast<int>(m_end - m0 < mr ? m_end - m0 : mr);
      const std::int16_t* a = g.a + m0 * g.lda;
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto* w = static_cast<const std::int16_t*>(g.weights.panel(p));
        switch (rows) {
          case 4: tile<4>(a, g.lda, g.k, w, sums); break;
          case 3: tile<3>(a, g.lda, g.k, w, sums); break;
          case 2: tile<2>(a, g.lda, g.k, w, sums); break;
          default: tile<1>(a, g.lda, g.k, w, sums); break;
        }
        const std::ptrdiff_t n0 = p * nr;
        const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
        for (int r = 0; r < rows; ++r) {
          Out* dst = g.dst + (m0 + r) * g.ldd + n0;
          for (std::ptrdiff_t j = 0; j < columns; ++j) dst[j] = evaluate(pipeline, sums[r * nr + j], m0 + r, n0 + j);
        }
      }
    }
  }
};

}  // namespace qsparse::kernels::neon

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
