// qsparse/kernels/neondotprod/gemm_x8s8_s32_4x16c4.hpp — int8 GEMM on aarch64 with the dot-product
// instructions (FEAT_DotProd: Cortex-A55/A76 and later, Neoverse N1 and later): up to 4 rows × 16 columns
// per tile, 4 consecutive k per sdot lane (weights layout s8_c4_nr16).
//
// sdot multiplies signed bytes by signed bytes. The weights are packed raw (int8), 16 bytes = 4 columns
// × 4 k per q register, so one k group of a panel is 4 registers. The activation rows are copied per tile
// into int8 (uint8 rows with the sign bit flipped: a_s = a - 128), zero padded to whole k groups, and
// read 16 bytes (4 k groups) at a time; `sdot v.4s, w.16b, a.4b[lane]` takes the lane-th group. With
// o = 0 for int8 and 128 for uint8 activations and a_s = a - o, the exact result is (modulo 2^32, exact
// because the entry point guarantees the true sum fits int32):
//   Σ_k (a - a_zp)(w - w_zp) = Σ_k a_s w - (a_zp - o)(colsum[n] - K w_zp) - w_zp Σ_k a_s
// the column sums from the packed buffer, the row sums from the copy (the row copy, the row sums and this
// correction are kernels/drivers/row_tiles.hpp's s8s8_s32_tile, shared with the i8mm tile). Per k group the
// inner loop has 4 weight loads and 16 sdot for 4 rows (1 row load per 4 groups): 16 accumulators, 4 row
// and 4 weight registers, 24 of the 32 vector registers, XNNPACK's 4x16c4 shape. The epilogue (the
// zero-point terms, then every output stage) runs in Advanced SIMD: kernels/neon/output_pipeline.hpp.
//
// sdot is inline asm: Clang 14's arm_neon.h declares vdotq_laneq_s32 only under -march=...+dotprod,
// never for a function with a target attribute (qsparse/core/config.hpp).
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
namespace neon_dotprod {

/// acc += the 4 columns × 4 k of w (16 bytes) dotted with the Lane-th 4 bytes of a (sdot by element).
template <int Lane>
QSPARSE_TARGET_NEON_DOTPROD inline __attribute__((always_inline)) int32x4_t sdot_lane(int32x4_t acc, int8x16_t w,
                                                                                     int8x16_t a) {
  __asm__("sdot %0.4s, %1.16b, %2.4b[%3]" : "+w"(acc) : "w"(w), "w"(a), "i"(Lane));
  return acc;
}

/// One k group (the Lane-th 4 bytes of each row's register) of a 16-column panel into MR rows.
template <int MR, int Lane>
QSPARSE_TARGET_NEON_DOTPROD inline __attribute__((always_inline)) void gemm_step_4x16c4(int32x4_t (&acc)[std::size_t{MR}][4],
                                                                                       const int8x16_t (&a)[std::size_t{MR}],
                                                                                       const std::int8_t* w) {
  const int8x16_t w0 = vld1q_s8(w);
  const int8x16_t w1 = vld1q_s8(w + 16);
  const int8x16_t w2 = vld1q_s8(w + 32);
  const int8x16_t w3 = vld1q_s8(w + 48);
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
    acc[r][0] = sdot_lane<Lane>(acc[r][0], w0, a[r]);
    acc[r][1] = sdot_lane<Lane>(acc[r][1], w1, a[r]);
    acc[r][2] = sdot_lane<Lane>(acc[r][2], w2, a[r]);
    acc[r][3] = sdot_lane<Lane>(acc[r][3], w3, a[r]);
  }
}

struct gemm_x8s8_s32_4x16c4 : drivers::s8s8_s32_tile<gemm_x8s8_s32_4x16c4> {
  static constexpr int mr = 4;
  static constexpr int nr = 16;
  static constexpr int kr = 4;
  static constexpr isa_level isa = isa_level::neon_dotprod;
  static constexpr packed_layout layout = packed_layout::s8_c4_nr16;
  static const char* name() { return "gemm_x8s8_s32_4x16c4__neondotprod"; }

  /// sums[r][n] = Σ_k a_s[r][k] w[k][n] over the padded K (a multiple of 4), modulo 2^32.
  template <int MR>
  QSPARSE_TARGET_NEON_DOTPROD static void multiply(const std::int8_t* a, std::ptrdiff_t ld, std::ptrdiff_t kp,
                                                   const void* panel, std::int32_t* sums) {
    const auto* w = static_cast<const std::int8_t*>(panel);
    int32x4_t acc[std::size_t{MR}][4];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      for (int j = 0; j < 4; ++j) acc[r][j] = vdupq_n_s32(0);
    }
    std::ptrdiff_t k = 0;
    for (; k + 16 <= kp; k += 16) {  // 4 k groups per 16-byte row load
      int8x16_t av[std::size_t{MR}];
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) av[r] = vld1q_s8(a + r * ld + k);
      gemm_step_4x16c4<MR, 0>(acc, av, w);
      gemm_step_4x16c4<MR, 1>(acc, av, w + 64);
      gemm_step_4x16c4<MR, 2>(acc, av, w + 128);
      gemm_step_4x16c4<MR, 3>(acc, av, w + 192);
      w += 256;
    }
    for (; k < kp; k += 4) {  // the last 1-3 groups: 4 bytes of each row in lane 0
      int8x16_t av[std::size_t{MR}];
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {
        std::int32_t word;
        std::memcpy(&word, a + r * ld + k, 4);
        av[r] = vreinterpretq_s8_s32(vdupq_n_s32(word));
      }
      gemm_step_4x16c4<MR, 0>(acc, av, w);
      w += 64;
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      for (int j = 0; j < 4; ++j) vst1q_s32(sums + r * nr + 4 * j, acc[r][j]);
    }
  }

  /// The zero-point terms and the output stages in Advanced SIMD (hides s8s8_s32_tile's scalar store).
  template <class G, class Pipeline>
  static void store(const G& g, const Pipeline& pipeline, const std::int32_t* sums, const std::int32_t* row_sums,
                    int rows, std::ptrdiff_t m0, std::ptrdiff_t n0) {
    neon::store_s8s8_tile<nr>(g, pipeline, sums, row_sums, rows, m0, n0);
  }

  template <class A, class... S>
  QSPARSE_TARGET_NEON_DOTPROD static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                              const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                              std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                              std::ptrdiff_t panel_end) {
    drivers::run_row_tiles<gemm_x8s8_s32_4x16c4>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

}  // namespace neon_dotprod
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
