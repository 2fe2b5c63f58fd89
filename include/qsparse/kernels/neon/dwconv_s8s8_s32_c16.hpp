// qsparse/kernels/neon/dwconv_s8s8_s32_c16.hpp — depthwise convolution on aarch64 Advanced SIMD: 16 channels
// per block over an output row's indirection table (qsparse/spec/dwconv_args.hpp).
//
// The packed weights hold w - w_zp as int16 in the low half of an int32; a block's weights are narrowed to
// int16 once (xtn), 2 q registers per tap. A 3x3 kernel whose pixels share their input columns (stride 1,
// dilation 1: checked on the row's table) runs an inline-asm loop scheduled for Cortex-A55 over groups of 4
// pixels and 8 channels (dwconv3x3_c8x4_a55: the 4 pixels read 18 input columns for 36 taps, widened as
// x << 8 by zip1 with zero, smull / smlal into 8 accumulators, the 9 weight registers held). Every other
// case (other kernels, strides, dilations, the pixels after the last group, a channel tail) widens each
// tap's 16 inputs with sxtl/sxtl2 and runs 4 smlal/smlal2 (int16 x int16 widened into the 4 int32
// accumulators of 16 channels; exact, and modulo 2^32 as the definition adds). A channel tail (< 16) is read
// through a zero-padded copy of its bytes, so no load passes the end of an input row; the epilogue is
// kernels/neon/output_pipeline.hpp.
// Advanced SIMD is baseline on aarch64: no target attribute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/neon/output_pipeline.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/dwconv_args.hpp"
#include "qsparse/spec/output_stages.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon {

/// 16 int8 at p (only `count` < 16 of them readable when Tail).
template <bool Tail>
inline int8x16_t load_s8x16(const std::int8_t* p, int count) {
  if constexpr (Tail) {
    std::int8_t t[16] = {};
    std::memcpy(t, p, static_cast<std::size_t>(count));
    return vld1q_s8(t);
  } else {
    (void)count;
    return vld1q_s8(p);
  }
}

/// acc[0..3] (16 channels) += x * (wl, wh), x the 16 int8 inputs, wl / wh the int16 weights of channels 0-7 / 8-15.
inline void dwconv_tap16(int32x4_t (&acc)[4], int8x16_t x, int16x8_t wl, int16x8_t wh) {
  const int16x8_t xl = vmovl_s8(vget_low_s8(x));
  const int16x8_t xh = vmovl_high_s8(x);
  acc[0] = vmlal_s16(acc[0], vget_low_s16(xl), vget_low_s16(wl));
  acc[1] = vmlal_high_s16(acc[1], xl, wl);
  acc[2] = vmlal_s16(acc[2], vget_low_s16(xh), vget_low_s16(wh));
  acc[3] = vmlal_high_s16(acc[3], xh, wh);
}

/// The 3x3 multiply-adds of 8 channels of `groups` groups of 4 adjacent pixels at stride 1, scheduled for
/// Cortex-A55: sums[4 p + {0, 1}] (p the pixel) = 256 Σ_t x_t w_t for channels
/// c0 .. c0+7 of pixels [0, 4 groups), no init. Pixel j of a group reads input column ky, kx + j of the group:
/// its kernel rows share 6 columns (every pixel pair shares what stride 1 shares), so a group loads and
/// widens 18 columns for 72 smull / smlal, where one pixel alone loads 9 for 18. The widening is
/// `zip1` with zero (x << 8: exact, and an operation LLVM's A55 model issues without the bubble `sxtl`
/// takes after a multiply), every load is register-offset (the model dual-issues only those with a
/// multiply). scripts/gen_neon_dwconv3x3_a55.py wrote the loop, list-scheduled by these rules: a
/// multiply waits 4 multiplies for its accumulator's previous one and for its column's zip1, a column's
/// input load runs 4 SIMD operations before its zip1 and its pointer load 4 before that, a pixel's sums are
/// stored 4 multiplies after its last one, and the loop is rotated by 4 operations: the next group's first
/// 4 zip1 and their loads run at the end of an iteration (the first group's in front of the loop). So the
/// loop reads the tap pointers 0-2 of pixel 4 groups and tap 2 of pixel 4 groups + 1: the table must hold
/// those pixels. |256 Σ| <= 256 * 9 * 128 * 255 < 2^31: exact.
/// w: the 9 taps' int16 weights of these 8 channels; groups >= 1.
inline void dwconv3x3_c8x4_a55(const std::int8_t* const* taps, std::ptrdiff_t c0, const int16x8_t* w,
                               int32x4_t* sums, std::ptrdiff_t groups) {
  // x0-x2: the table at kernel rows 0-2 of the group; x6-x10: offsets of pixel 0's taps 1-2 and of pixels
  // 1-3's tap 2 (pixel p's kx = 2 column is pixel p+1's kx = 1 and pixel p+2's kx = 0); x11-x16: tap
  // pointers, v25-v28 / v8 / v9: inputs, v29-v31 / v10-v12: widened; v0-v7: pixel j's sums (v2j, v2j+1);
  // v13 = 0; v16-v24: the weights.
  __asm__ volatile(
      "mov x0, %[taps]\n"
      "add x1, x0, #24\n"
      "add x2, x0, #48\n"
      "mov x3, %[c0]\n"
      "add x4, %[sums], #192\n"
      "mov x5, %[groups]\n"
      "mov x6, #8\n"
      "mov x7, #16\n"
      "mov x8, #88\n"
      "mov x9, #160\n"
      "mov x10, #232\n"
      "ldp q16, q17, [%[w]]\n"
      "ldp q18, q19, [%[w], #32]\n"
      "ldp q20, q21, [%[w], #64]\n"
      "ldp q22, q23, [%[w], #96]\n"
      "ldr q24, [%[w], #128]\n"
      "movi v13.16b, #0\n"
      "ldr x11, [x0, xzr]\n"
      "ldr x12, [x0, x6]\n"
      "ldr x13, [x0, x7]\n"
      "ldr x14, [x0, x8]\n"
      "ldr d25, [x11, x3]\n"
      "ldr d26, [x12, x3]\n"
      "ldr d27, [x13, x3]\n"
      "ldr d28, [x14, x3]\n"
      "zip1 v29.16b, v13.16b, v25.16b\n"
      "zip1 v30.16b, v13.16b, v26.16b\n"
      "zip1 v31.16b, v13.16b, v27.16b\n"
      "zip1 v10.16b, v13.16b, v28.16b\n"
      "1:\n"
      "smull v0.4s, v29.4h, v16.4h\n"
      "smull2 v1.4s, v29.8h, v16.8h\n"
      "smull v2.4s, v30.4h, v16.4h\n"
      "smull2 v3.4s, v30.8h, v16.8h\n"
      "smlal v0.4s, v30.4h, v17.4h\n"
      "smlal2 v1.4s, v30.8h, v17.8h\n"
      "ldr x15, [x0, x9]\n"
      "smlal v2.4s, v31.4h, v17.4h\n"
      "smlal2 v3.4s, v31.8h, v17.8h\n"
      "smlal v0.4s, v31.4h, v18.4h\n"
      "smlal2 v1.4s, v31.8h, v18.8h\n"
      "ldr d8, [x15, x3]\n"
      "smull v4.4s, v31.4h, v16.4h\n"
      "ldr x16, [x0, x10]\n"
      "add x0, x0, #288\n"
      "smull2 v5.4s, v31.8h, v16.8h\n"
      "smlal v2.4s, v10.4h, v18.4h\n"
      "smlal2 v3.4s, v10.8h, v18.8h\n"
      "ldr x11, [x1, xzr]\n"
      "zip1 v11.16b, v13.16b, v8.16b\n"
      "ldr d9, [x16, x3]\n"
      "smlal v4.4s, v10.4h, v17.4h\n"
      "smlal2 v5.4s, v10.8h, v17.8h\n"
      "ldr x12, [x1, x6]\n"
      "smull v6.4s, v10.4h, v16.4h\n"
      "ldr d25, [x11, x3]\n"
      "smull2 v7.4s, v10.8h, v16.8h\n"
      "zip1 v12.16b, v13.16b, v9.16b\n"
      "smlal v4.4s, v11.4h, v18.4h\n"
      "ldr d26, [x12, x3]\n"
      "smlal2 v5.4s, v11.8h, v18.8h\n"
      "ldr x13, [x1, x7]\n"
      "zip1 v29.16b, v13.16b, v25.16b\n"
      "smlal v6.4s, v11.4h, v17.4h\n"
      "smlal2 v7.4s, v11.8h, v17.8h\n"
      "zip1 v30.16b, v13.16b, v26.16b\n"
      "ldr d27, [x13, x3]\n"
      "smlal v0.4s, v29.4h, v19.4h\n"
      "smlal v6.4s, v12.4h, v18.4h\n"
      "ldr x14, [x1, x8]\n"
      "smlal2 v7.4s, v12.8h, v18.8h\n"
      "smlal2 v1.4s, v29.8h, v19.8h\n"
      "zip1 v31.16b, v13.16b, v27.16b\n"
      "smlal v0.4s, v30.4h, v20.4h\n"
      "ldr d28, [x14, x3]\n"
      "smlal v2.4s, v30.4h, v19.4h\n"
      "smlal2 v1.4s, v30.8h, v20.8h\n"
      "smlal2 v3.4s, v30.8h, v19.8h\n"
      "smlal v0.4s, v31.4h, v21.4h\n"
      "ldr x15, [x1, x9]\n"
      "zip1 v10.16b, v13.16b, v28.16b\n"
      "smlal2 v1.4s, v31.8h, v21.8h\n"
      "smlal v2.4s, v31.4h, v20.4h\n"
      "smlal2 v3.4s, v31.8h, v20.8h\n"
      "ldr d8, [x15, x3]\n"
      "smlal v4.4s, v31.4h, v19.4h\n"
      "ldr x16, [x1, x10]\n"
      "add x1, x1, #288\n"
      "smlal2 v5.4s, v31.8h, v19.8h\n"
      "smlal v2.4s, v10.4h, v21.4h\n"
      "smlal2 v3.4s, v10.8h, v21.8h\n"
      "ldr x11, [x2, xzr]\n"
      "zip1 v11.16b, v13.16b, v8.16b\n"
      "ldr d9, [x16, x3]\n"
      "smlal v4.4s, v10.4h, v20.4h\n"
      "smlal2 v5.4s, v10.8h, v20.8h\n"
      "ldr x12, [x2, x6]\n"
      "smlal v6.4s, v10.4h, v19.4h\n"
      "ldr d25, [x11, x3]\n"
      "smlal2 v7.4s, v10.8h, v19.8h\n"
      "zip1 v12.16b, v13.16b, v9.16b\n"
      "smlal v4.4s, v11.4h, v21.4h\n"
      "ldr d26, [x12, x3]\n"
      "smlal2 v5.4s, v11.8h, v21.8h\n"
      "ldr x13, [x2, x7]\n"
      "zip1 v29.16b, v13.16b, v25.16b\n"
      "smlal v6.4s, v11.4h, v20.4h\n"
      "smlal2 v7.4s, v11.8h, v20.8h\n"
      "zip1 v30.16b, v13.16b, v26.16b\n"
      "ldr d27, [x13, x3]\n"
      "smlal v0.4s, v29.4h, v22.4h\n"
      "smlal v6.4s, v12.4h, v21.4h\n"
      "ldr x14, [x2, x8]\n"
      "smlal2 v7.4s, v12.8h, v21.8h\n"
      "smlal2 v1.4s, v29.8h, v22.8h\n"
      "zip1 v31.16b, v13.16b, v27.16b\n"
      "smlal v0.4s, v30.4h, v23.4h\n"
      "ldr d28, [x14, x3]\n"
      "smlal v2.4s, v30.4h, v22.4h\n"
      "smlal2 v1.4s, v30.8h, v23.8h\n"
      "smlal2 v3.4s, v30.8h, v22.8h\n"
      "smlal v0.4s, v31.4h, v24.4h\n"
      "ldr x15, [x2, x9]\n"
      "zip1 v10.16b, v13.16b, v28.16b\n"
      "smlal2 v1.4s, v31.8h, v24.8h\n"
      "smlal v2.4s, v31.4h, v23.4h\n"
      "smlal2 v3.4s, v31.8h, v23.8h\n"
      "ldr d8, [x15, x3]\n"
      "smlal v4.4s, v31.4h, v22.4h\n"
      "ldr x16, [x2, x10]\n"
      "add x2, x2, #288\n"
      "smlal2 v5.4s, v31.8h, v22.8h\n"
      "stp q0, q1, [x4, #-192]\n"
      "smlal v2.4s, v10.4h, v24.4h\n"
      "smlal2 v3.4s, v10.8h, v24.8h\n"
      "zip1 v11.16b, v13.16b, v8.16b\n"
      "ldr d9, [x16, x3]\n"
      "smlal v4.4s, v10.4h, v23.4h\n"
      "smlal2 v5.4s, v10.8h, v23.8h\n"
      "smlal v6.4s, v10.4h, v22.4h\n"
      "ldr x11, [x0, xzr]\n"
      "stp q2, q3, [x4, #-128]\n"
      "smlal2 v7.4s, v10.8h, v22.8h\n"
      "ldr x12, [x0, x6]\n"
      "zip1 v12.16b, v13.16b, v9.16b\n"
      "ldr x13, [x0, x7]\n"
      "smlal v4.4s, v11.4h, v24.4h\n"
      "ldr x14, [x0, x8]\n"
      "smlal2 v5.4s, v11.8h, v24.8h\n"
      "ldr d25, [x11, x3]\n"
      "smlal v6.4s, v11.4h, v23.4h\n"
      "ldr d26, [x12, x3]\n"
      "smlal2 v7.4s, v11.8h, v23.8h\n"
      "ldr d27, [x13, x3]\n"
      "subs x5, x5, #1\n"
      "smlal v6.4s, v12.4h, v24.4h\n"
      "ldr d28, [x14, x3]\n"
      "smlal2 v7.4s, v12.8h, v24.8h\n"
      "stp q4, q5, [x4, #-64]\n"
      "zip1 v29.16b, v13.16b, v25.16b\n"
      "zip1 v30.16b, v13.16b, v26.16b\n"
      "zip1 v31.16b, v13.16b, v27.16b\n"
      "zip1 v10.16b, v13.16b, v28.16b\n"
      "stp q6, q7, [x4], #256\n"
      "b.ne 1b\n"
      :
      : [taps] "r"(taps), [c0] "r"(c0), [sums] "r"(sums), [groups] "r"(groups), [w] "r"(w)
      : "cc", "memory", "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
        "x14", "x15", "x16", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
        "v13", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29",
        "v30", "v31");
}

/// Whether pixel p+j's tap (ky, kx) of every group of 4 pixels in [0, 4 groups) is pixel p's tap (ky, kx+j)
/// where kx+j <= 2 (a 3x3 kernel at stride 1 and dilation 1, borders included), as dwconv3x3_c8x4_a55 reads.
inline bool dwconv3x3_shares_columns(const std::int8_t* const* taps, std::ptrdiff_t groups) {
  for (std::ptrdiff_t p = 0; p < 4 * groups; p += 4) {
    const std::int8_t* const* e = taps + p * 9;
    for (int j = 1; j < 4; ++j)
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx + j <= 2; ++kx)
          if (e[j * 9 + 3 * ky + kx] != e[3 * ky + kx + j]) return false;
  }
  return true;
}

struct dwconv_s8s8_s32_c16 {
  static constexpr int channel_block = 16;
  static constexpr isa_level isa = isa_level::neon;
  static const char* name() { return "dwconv_s8s8_s32_c16__neon"; }

  /// The int16 weights of channels c0 .. c0+15 of tap t: low = channels 0-7, high = 8-15 (channels_padded is a
  /// multiple of 16, so the reads stay inside the packed weights).
  template <class Out>
  static void narrow_weights(const dwconv_args<Out>& g, std::ptrdiff_t t, std::ptrdiff_t c0, int16x8_t& low,
                             int16x8_t& high) {
    const std::int32_t* w = g.weights + t * g.channels_padded + c0;
    low = vcombine_s16(vmovn_s32(vld1q_s32(w)), vmovn_s32(vld1q_s32(w + 4)));
    high = vcombine_s16(vmovn_s32(vld1q_s32(w + 8)), vmovn_s32(vld1q_s32(w + 12)));
  }

  template <class Prepared, class Out>
  static void store16(const Prepared (&prepared)[4], const int32x4_t (&acc)[4], int count, Out* dst) {
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const int left = count - 4 * j;
      if (left <= 0) break;
      store_prepared(prepared[j], acc[j], left >= 4 ? 4 : left, dst + 4 * j);
    }
  }

  /// A 3x3 kernel (9 taps) of whole 16-channel blocks, in two passes over the row: the multiply-adds with the
  /// weight registers held for the whole row (the sums go to scratch), then the output stages 4 channels
  /// at a time with that group's parameters held in registers. One pass would need both sets at once (the
  /// weights and 4 groups' stage parameters are more than the 32 vector registers) and reload them per pixel.
  /// Pixels [0, 4 groups) (groups > 0 only where their taps share columns: run() checks) go through the
  /// A55 loop twice (channels 0-7, 8-15), the rest through the intrinsics loop over single pixels.
  template <class Prepared, class Out>
  static void block9(const dwconv_args<Out>& g, const Prepared (&prepared)[4], std::ptrdiff_t c0, std::ptrdiff_t groups) {
    int16x8_t wl[9], wh[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) narrow_weights(g, t, c0, wl[t], wh[t]);
    int32x4_t init[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) init[j] = vld1q_s32(g.init + c0 + 4 * j);
    int32x4_t* sums = thread_scratch<int32x4_t>(static_cast<std::size_t>(4 * g.pixels));
    // Pixels [0, 4 groups): 256 Σ without init, by the A55-scheduled loop, channels 0-7 then 8-15.
    if (groups > 0) {
      dwconv3x3_c8x4_a55(g.taps, c0, wl, sums, groups);
      dwconv3x3_c8x4_a55(g.taps, c0 + 8, wh, sums + 2, groups);
    }
    for (std::ptrdiff_t p = 4 * groups; p < g.pixels; ++p) {
      const std::int8_t* const* taps = g.taps + p * 9;
      int32x4_t acc[4] = {init[0], init[1], init[2], init[3]};
#pragma GCC unroll 9
      for (int t = 0; t < 9; ++t) dwconv_tap16(acc, vld1q_s8(taps[t] + c0), wl[t], wh[t]);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) sums[4 * p + j] = acc[j];
    }
#pragma GCC unroll 1
    for (int j = 0; j < 4; ++j) {
      const Prepared stages = prepared[j];  // a local copy: the stores below cannot alias it
      Out* dst = g.dst + c0 + 4 * j;
      const std::ptrdiff_t channels = g.channels;
      // init + (256 Σ >> 8), wrapping as the definition adds; 4 pixels at a time, so that an in-order core
      // has 4 independent chains of output stages to interleave.
      std::ptrdiff_t p = 0;
      for (; p < 4 * groups; p += 4) {
        const auto v0 = apply_all<0>(stages, vsraq_n_s32(init[j], sums[4 * p + j], 8));
        const auto v1 = apply_all<0>(stages, vsraq_n_s32(init[j], sums[4 * p + 4 + j], 8));
        const auto v2 = apply_all<0>(stages, vsraq_n_s32(init[j], sums[4 * p + 8 + j], 8));
        const auto v3 = apply_all<0>(stages, vsraq_n_s32(init[j], sums[4 * p + 12 + j], 8));
        Out* d = dst + p * channels;  // channels: a local, which the byte stores cannot change
        store_applied(v0, 4, d);
        store_applied(v1, 4, d + channels);
        store_applied(v2, 4, d + 2 * channels);
        store_applied(v3, 4, d + 3 * channels);
      }
      for (; p < g.pixels; ++p) store_prepared(stages, sums[4 * p + j], 4, dst + p * g.channels);
    }
  }

  /// Any kernel size and a channel tail: the narrowed weights in scratch, two pixels at a time.
  template <bool Tail, class Prepared, class Out>
  static void block(const dwconv_args<Out>& g, const Prepared (&prepared)[4], std::ptrdiff_t c0, int count) {
    const std::ptrdiff_t taps = g.tap_count;
    auto* w16 = thread_scratch<int16x8_t>(static_cast<std::size_t>(2 * taps));
    for (std::ptrdiff_t t = 0; t < taps; ++t) narrow_weights(g, t, c0, w16[2 * t], w16[2 * t + 1]);
    int32x4_t init[4];
    for (int j = 0; j < 4; ++j) init[j] = vld1q_s32(g.init + c0 + 4 * j);
    std::ptrdiff_t p = 0;
    for (; p + 2 <= g.pixels; p += 2) {
      const std::int8_t* const* t0 = g.taps + p * taps;
      const std::int8_t* const* t1 = t0 + taps;
      int32x4_t acc0[4] = {init[0], init[1], init[2], init[3]};
      int32x4_t acc1[4] = {init[0], init[1], init[2], init[3]};
      for (std::ptrdiff_t t = 0; t < taps; ++t) {
        const int16x8_t wl = w16[2 * t], wh = w16[2 * t + 1];
        dwconv_tap16(acc0, load_s8x16<Tail>(t0[t] + c0, count), wl, wh);
        dwconv_tap16(acc1, load_s8x16<Tail>(t1[t] + c0, count), wl, wh);
      }
      store16(prepared, acc0, count, g.dst + p * g.channels + c0);
      store16(prepared, acc1, count, g.dst + (p + 1) * g.channels + c0);
    }
    for (; p < g.pixels; ++p) {
      const std::int8_t* const* t0 = g.taps + p * taps;
      int32x4_t acc0[4] = {init[0], init[1], init[2], init[3]};
      for (std::ptrdiff_t t = 0; t < taps; ++t) dwconv_tap16(acc0, load_s8x16<Tail>(t0[t] + c0, count), w16[2 * t], w16[2 * t + 1]);
      store16(prepared, acc0, count, g.dst + p * g.channels + c0);
    }
  }

  template <class... S>
  static void run(const dwconv_args<typename output_pipeline<S...>::output_type>& g, const output_pipeline<S...>& pipeline) {
    using prepared_type = decltype(prepare(pipeline, 0, 4));
    // The A55 loop's groups of 4 pixels: it prefetches the tap pointers of the 2 pixels after them.
    std::ptrdiff_t groups = g.tap_count == 9 && g.pixels >= 6 ? (g.pixels - 2) / 4 : 0;
    if (groups > 0 && !dwconv3x3_shares_columns(g.taps, groups)) groups = 0;
    for (std::ptrdiff_t c0 = 0; c0 < g.channels; c0 += 16) {
      const int count = static_cast<int>(g.channels - c0 < 16 ? g.channels - c0 : 16);
      prepared_type prepared[4];
      for (int j = 0; j < 4; ++j) {
        const int left = count - 4 * j;
        if (left > 0) prepared[j] = prepare(pipeline, c0 + 4 * j, left >= 4 ? 4 : left);
      }
      if (count == 16 && g.tap_count == 9) {
        block9(g, prepared, c0, groups);
      } else if (count == 16) {
        block<false>(g, prepared, c0, count);
      } else {
        block<true>(g, prepared, c0, count);
      }
    }
  }
};

}  // namespace qsparse::kernels::neon

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
