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
// and 8 weight registers (two groups' weights, double buffered), XNNPACK's 4x16c4 shape. A full tile's
// loop over blocks of 16 k is scheduled by hand (gemm_4x16c4_k16_blocks, below) for the in-order
// Cortex-A55 as much as for the out-of-order cores: one tile for every core, no run-time identification
// of the core. The epilogue (the zero-point terms, then every output stage) runs in Advanced SIMD:
// kernels/neon/output_pipeline.hpp.
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

/// The k loop of a full 4-row tile over `iterations` blocks of 16 k (4 k groups), as hand-scheduled
/// assembly: sums[r * 16 + n] = Σ_k a[r * ld + k] w[k][n] over k < 16 * iterations (overwritten, not added).
/// Registers: 16 accumulators (v16-v31), the 4 rows' 16 bytes (v0-v3), the weights of a k group double
/// buffered (v4-v7, v8-v11): the next group's 4 weight loads are interleaved with the current group's 16
/// sdot (one after every 4th sdot), and the next block's rows are loaded after their last use. Every load
/// uses a register offset ([base, index]): 16 weight bases (group g, column quad j at w + 64 g + 16 j) and
/// 4 row bases share two indices, so an iteration has 2 adds, a subs and a branch besides its 20 loads and
/// 64 sdot. On LLVM's in-order Cortex-A55 model a register-offset load issues beside an sdot while an
/// immediate-offset or post-indexed 128-bit load takes an issue cycle of its own (docs/kernels.md); the
/// out-of-order cores are indifferent. The last block is peeled (it loads its own groups 1-3 but no next
/// block), so nothing past the rows' padded K or the panel is read.
QSPARSE_TARGET_NEON_DOTPROD inline void gemm_4x16c4_k16_blocks(const std::int8_t* a, std::ptrdiff_t ld,
                                                               std::ptrdiff_t iterations, const std::int8_t* w,
                                                               std::int32_t* sums) {
  std::ptrdiff_t n = iterations, ka = 0, kw = 0;
  __asm__ volatile(
      "ldr q0, [%[a0], %[ka]]\n"
      "ldr q1, [%[a1], %[ka]]\n"
      "ldr q2, [%[a2], %[ka]]\n"
      "ldr q3, [%[a3], %[ka]]\n"
      "ldr q4, [%[w00], %[kw]]\n"
      "ldr q5, [%[w01], %[kw]]\n"
      "ldr q6, [%[w02], %[kw]]\n"
      "ldr q7, [%[w03], %[kw]]\n"
      "movi v16.4s, #0\n"
      "movi v17.4s, #0\n"
      "movi v18.4s, #0\n"
      "movi v19.4s, #0\n"
      "movi v20.4s, #0\n"
      "movi v21.4s, #0\n"
      "movi v22.4s, #0\n"
      "movi v23.4s, #0\n"
      "movi v24.4s, #0\n"
      "movi v25.4s, #0\n"
      "movi v26.4s, #0\n"
      "movi v27.4s, #0\n"
      "movi v28.4s, #0\n"
      "movi v29.4s, #0\n"
      "movi v30.4s, #0\n"
      "movi v31.4s, #0\n"
      "subs %[n], %[n], #1\n"
      "b.eq 2f\n"
      "1:\n"
      "sdot v16.4s, v4.16b, v0.4b[0]\n"
      "sdot v17.4s, v5.16b, v0.4b[0]\n"
      "ldr q8, [%[w10], %[kw]]\n"
      "sdot v18.4s, v6.16b, v0.4b[0]\n"
      "sdot v19.4s, v7.16b, v0.4b[0]\n"
      "sdot v20.4s, v4.16b, v1.4b[0]\n"
      "sdot v21.4s, v5.16b, v1.4b[0]\n"
      "ldr q9, [%[w11], %[kw]]\n"
      "sdot v22.4s, v6.16b, v1.4b[0]\n"
      "sdot v23.4s, v7.16b, v1.4b[0]\n"
      "sdot v24.4s, v4.16b, v2.4b[0]\n"
      "sdot v25.4s, v5.16b, v2.4b[0]\n"
      "ldr q10, [%[w12], %[kw]]\n"
      "sdot v26.4s, v6.16b, v2.4b[0]\n"
      "sdot v27.4s, v7.16b, v2.4b[0]\n"
      "sdot v28.4s, v4.16b, v3.4b[0]\n"
      "sdot v29.4s, v5.16b, v3.4b[0]\n"
      "ldr q11, [%[w13], %[kw]]\n"
      "sdot v30.4s, v6.16b, v3.4b[0]\n"
      "sdot v31.4s, v7.16b, v3.4b[0]\n"
      "sdot v16.4s, v8.16b, v0.4b[1]\n"
      "sdot v17.4s, v9.16b, v0.4b[1]\n"
      "ldr q4, [%[w20], %[kw]]\n"
      "sdot v18.4s, v10.16b, v0.4b[1]\n"
      "sdot v19.4s, v11.16b, v0.4b[1]\n"
      "sdot v20.4s, v8.16b, v1.4b[1]\n"
      "sdot v21.4s, v9.16b, v1.4b[1]\n"
      "ldr q5, [%[w21], %[kw]]\n"
      "sdot v22.4s, v10.16b, v1.4b[1]\n"
      "sdot v23.4s, v11.16b, v1.4b[1]\n"
      "sdot v24.4s, v8.16b, v2.4b[1]\n"
      "sdot v25.4s, v9.16b, v2.4b[1]\n"
      "ldr q6, [%[w22], %[kw]]\n"
      "sdot v26.4s, v10.16b, v2.4b[1]\n"
      "sdot v27.4s, v11.16b, v2.4b[1]\n"
      "sdot v28.4s, v8.16b, v3.4b[1]\n"
      "sdot v29.4s, v9.16b, v3.4b[1]\n"
      "ldr q7, [%[w23], %[kw]]\n"
      "sdot v30.4s, v10.16b, v3.4b[1]\n"
      "sdot v31.4s, v11.16b, v3.4b[1]\n"
      "sdot v16.4s, v4.16b, v0.4b[2]\n"
      "sdot v17.4s, v5.16b, v0.4b[2]\n"
      "ldr q8, [%[w30], %[kw]]\n"
      "sdot v18.4s, v6.16b, v0.4b[2]\n"
      "sdot v19.4s, v7.16b, v0.4b[2]\n"
      "sdot v20.4s, v4.16b, v1.4b[2]\n"
      "sdot v21.4s, v5.16b, v1.4b[2]\n"
      "ldr q9, [%[w31], %[kw]]\n"
      "sdot v22.4s, v6.16b, v1.4b[2]\n"
      "sdot v23.4s, v7.16b, v1.4b[2]\n"
      "sdot v24.4s, v4.16b, v2.4b[2]\n"
      "sdot v25.4s, v5.16b, v2.4b[2]\n"
      "ldr q10, [%[w32], %[kw]]\n"
      "sdot v26.4s, v6.16b, v2.4b[2]\n"
      "sdot v27.4s, v7.16b, v2.4b[2]\n"
      "sdot v28.4s, v4.16b, v3.4b[2]\n"
      "sdot v29.4s, v5.16b, v3.4b[2]\n"
      "ldr q11, [%[w33], %[kw]]\n"
      "sdot v30.4s, v6.16b, v3.4b[2]\n"
      "sdot v31.4s, v7.16b, v3.4b[2]\n"
      "add %[ka], %[ka], #16\n"
      "add %[kw], %[kw], #256\n"
      "sdot v16.4s, v8.16b, v0.4b[3]\n"
      "sdot v17.4s, v9.16b, v0.4b[3]\n"
      "ldr q4, [%[w00], %[kw]]\n"
      "sdot v18.4s, v10.16b, v0.4b[3]\n"
      "sdot v19.4s, v11.16b, v0.4b[3]\n"
      "ldr q0, [%[a0], %[ka]]\n"
      "sdot v20.4s, v8.16b, v1.4b[3]\n"
      "sdot v21.4s, v9.16b, v1.4b[3]\n"
      "ldr q5, [%[w01], %[kw]]\n"
      "sdot v22.4s, v10.16b, v1.4b[3]\n"
      "sdot v23.4s, v11.16b, v1.4b[3]\n"
      "ldr q1, [%[a1], %[ka]]\n"
      "sdot v24.4s, v8.16b, v2.4b[3]\n"
      "sdot v25.4s, v9.16b, v2.4b[3]\n"
      "ldr q6, [%[w02], %[kw]]\n"
      "sdot v26.4s, v10.16b, v2.4b[3]\n"
      "sdot v27.4s, v11.16b, v2.4b[3]\n"
      "ldr q2, [%[a2], %[ka]]\n"
      "sdot v28.4s, v8.16b, v3.4b[3]\n"
      "sdot v29.4s, v9.16b, v3.4b[3]\n"
      "ldr q7, [%[w03], %[kw]]\n"
      "sdot v30.4s, v10.16b, v3.4b[3]\n"
      "sdot v31.4s, v11.16b, v3.4b[3]\n"
      "ldr q3, [%[a3], %[ka]]\n"
      "subs %[n], %[n], #1\n"
      "b.ne 1b\n"
      "2:\n"
      "sdot v16.4s, v4.16b, v0.4b[0]\n"
      "sdot v17.4s, v5.16b, v0.4b[0]\n"
      "ldr q8, [%[w10], %[kw]]\n"
      "sdot v18.4s, v6.16b, v0.4b[0]\n"
      "sdot v19.4s, v7.16b, v0.4b[0]\n"
      "sdot v20.4s, v4.16b, v1.4b[0]\n"
      "sdot v21.4s, v5.16b, v1.4b[0]\n"
      "ldr q9, [%[w11], %[kw]]\n"
      "sdot v22.4s, v6.16b, v1.4b[0]\n"
      "sdot v23.4s, v7.16b, v1.4b[0]\n"
      "sdot v24.4s, v4.16b, v2.4b[0]\n"
      "sdot v25.4s, v5.16b, v2.4b[0]\n"
      "ldr q10, [%[w12], %[kw]]\n"
      "sdot v26.4s, v6.16b, v2.4b[0]\n"
      "sdot v27.4s, v7.16b, v2.4b[0]\n"
      "sdot v28.4s, v4.16b, v3.4b[0]\n"
      "sdot v29.4s, v5.16b, v3.4b[0]\n"
      "ldr q11, [%[w13], %[kw]]\n"
      "sdot v30.4s, v6.16b, v3.4b[0]\n"
      "sdot v31.4s, v7.16b, v3.4b[0]\n"
      "sdot v16.4s, v8.16b, v0.4b[1]\n"
      "sdot v17.4s, v9.16b, v0.4b[1]\n"
      "ldr q4, [%[w20], %[kw]]\n"
      "sdot v18.4s, v10.16b, v0.4b[1]\n"
      "sdot v19.4s, v11.16b, v0.4b[1]\n"
      "sdot v20.4s, v8.16b, v1.4b[1]\n"
      "sdot v21.4s, v9.16b, v1.4b[1]\n"
      "ldr q5, [%[w21], %[kw]]\n"
      "sdot v22.4s, v10.16b, v1.4b[1]\n"
      "sdot v23.4s, v11.16b, v1.4b[1]\n"
      "sdot v24.4s, v8.16b, v2.4b[1]\n"
      "sdot v25.4s, v9.16b, v2.4b[1]\n"
      "ldr q6, [%[w22], %[kw]]\n"
      "sdot v26.4s, v10.16b, v2.4b[1]\n"
      "sdot v27.4s, v11.16b, v2.4b[1]\n"
      "sdot v28.4s, v8.16b, v3.4b[1]\n"
      "sdot v29.4s, v9.16b, v3.4b[1]\n"
      "ldr q7, [%[w23], %[kw]]\n"
      "sdot v30.4s, v10.16b, v3.4b[1]\n"
      "sdot v31.4s, v11.16b, v3.4b[1]\n"
      "sdot v16.4s, v4.16b, v0.4b[2]\n"
      "sdot v17.4s, v5.16b, v0.4b[2]\n"
      "ldr q8, [%[w30], %[kw]]\n"
      "sdot v18.4s, v6.16b, v0.4b[2]\n"
      "sdot v19.4s, v7.16b, v0.4b[2]\n"
      "sdot v20.4s, v4.16b, v1.4b[2]\n"
      "sdot v21.4s, v5.16b, v1.4b[2]\n"
      "ldr q9, [%[w31], %[kw]]\n"
      "sdot v22.4s, v6.16b, v1.4b[2]\n"
      "sdot v23.4s, v7.16b, v1.4b[2]\n"
      "sdot v24.4s, v4.16b, v2.4b[2]\n"
      "sdot v25.4s, v5.16b, v2.4b[2]\n"
      "ldr q10, [%[w32], %[kw]]\n"
      "sdot v26.4s, v6.16b, v2.4b[2]\n"
      "sdot v27.4s, v7.16b, v2.4b[2]\n"
      "sdot v28.4s, v4.16b, v3.4b[2]\n"
      "sdot v29.4s, v5.16b, v3.4b[2]\n"
      "ldr q11, [%[w33], %[kw]]\n"
      "sdot v30.4s, v6.16b, v3.4b[2]\n"
      "sdot v31.4s, v7.16b, v3.4b[2]\n"
      "sdot v16.4s, v8.16b, v0.4b[3]\n"
      "sdot v17.4s, v9.16b, v0.4b[3]\n"
      "sdot v18.4s, v10.16b, v0.4b[3]\n"
      "sdot v19.4s, v11.16b, v0.4b[3]\n"
      "sdot v20.4s, v8.16b, v1.4b[3]\n"
      "sdot v21.4s, v9.16b, v1.4b[3]\n"
      "sdot v22.4s, v10.16b, v1.4b[3]\n"
      "sdot v23.4s, v11.16b, v1.4b[3]\n"
      "sdot v24.4s, v8.16b, v2.4b[3]\n"
      "sdot v25.4s, v9.16b, v2.4b[3]\n"
      "sdot v26.4s, v10.16b, v2.4b[3]\n"
      "sdot v27.4s, v11.16b, v2.4b[3]\n"
      "sdot v28.4s, v8.16b, v3.4b[3]\n"
      "sdot v29.4s, v9.16b, v3.4b[3]\n"
      "sdot v30.4s, v10.16b, v3.4b[3]\n"
      "sdot v31.4s, v11.16b, v3.4b[3]\n"
      "stp q16, q17, [%[sums]]\n"
      "stp q18, q19, [%[sums], #32]\n"
      "stp q20, q21, [%[sums], #64]\n"
      "stp q22, q23, [%[sums], #96]\n"
      "stp q24, q25, [%[sums], #128]\n"
      "stp q26, q27, [%[sums], #160]\n"
      "stp q28, q29, [%[sums], #192]\n"
      "stp q30, q31, [%[sums], #224]\n"
      : [n] "+r"(n), [ka] "+r"(ka), [kw] "+r"(kw)
      : [a0] "r"(a), [a1] "r"(a + ld), [a2] "r"(a + 2 * ld), [a3] "r"(a + 3 * ld), [sums] "r"(sums),
        [w00] "r"(w), [w01] "r"(w + 16), [w02] "r"(w + 32), [w03] "r"(w + 48),
        [w10] "r"(w + 64), [w11] "r"(w + 80), [w12] "r"(w + 96), [w13] "r"(w + 112),
        [w20] "r"(w + 128), [w21] "r"(w + 144), [w22] "r"(w + 160), [w23] "r"(w + 176),
        [w30] "r"(w + 192), [w31] "r"(w + 208), [w32] "r"(w + 224), [w33] "r"(w + 240)
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v16", "v17",
        "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
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
    std::ptrdiff_t k = 0;
    if constexpr (MR == 4) {  // a full tile: the scheduled loop, then the last 1-3 groups below
      if (kp >= 16) {
        gemm_4x16c4_k16_blocks(a, ld, kp / 16, w, sums);
        k = kp / 16 * 16;
        if (k == kp) return;
        w += 16 * k;
      }
    }
    int32x4_t acc[std::size_t{MR}][4];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      for (int j = 0; j < 4; ++j) acc[r][j] = k == 0 ? vdupq_n_s32(0) : vld1q_s32(sums + r * nr + 4 * j);
    }
    if constexpr (MR < 4) {
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
