// qsparse/kernels/neon/dwconv_s8s8_s32_c16.hpp — depthwise convolution on aarch64 Advanced SIMD: 16 channels
// per block over an output row's indirection table (qsparse/spec/dwconv_args.hpp).
//
// The packed weights hold w - w_zp as int16 in the low half of an int32; a block's weights are narrowed to
// int16 once (xtn), 2 q registers per tap. Per tap and pixel: one 16-byte load of int8 inputs, sxtl/sxtl2 to
// int16, and 4 smlal/smlal2 (int16 x int16 widened into the 4 int32 accumulators of 16 channels; exact, and
// modulo 2^32 as the definition adds). For a 3x3 kernel the taps unroll and the 18 weight registers stay put,
// with the 4 accumulators, 1 input and 2 widened registers: 25 of the 32 vector registers. Two pixels share
// each weight register read in the general loop. A channel tail (< 16) is read through a zero-padded copy
// of its bytes, so no load passes the end of an input row; the epilogue is kernels/neon/output_pipeline.hpp.
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
  /// 18 weight registers held for the whole row (the sums go to scratch), then the output stages 4 channels
  /// at a time with that group's parameters held in registers. One pass would need both sets at once (the
  /// weights and 4 groups' stage parameters are more than the 32 vector registers) and reload them per pixel.
  template <class Prepared, class Out>
  static void block9(const dwconv_args<Out>& g, const Prepared (&prepared)[4], std::ptrdiff_t c0) {
    int16x8_t wl[9], wh[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) narrow_weights(g, t, c0, wl[t], wh[t]);
    int32x4_t init[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) init[j] = vld1q_s32(g.init + c0 + 4 * j);
    int32x4_t* sums = thread_scratch<int32x4_t>(static_cast<std::size_t>(4 * g.pixels));
    for (std::ptrdiff_t p = 0; p < g.pixels; ++p) {
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
      for (std::ptrdiff_t p = 0; p < g.pixels; ++p) store_prepared(stages, sums[4 * p + j], 4, dst + p * g.channels);
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
    for (std::ptrdiff_t c0 = 0; c0 < g.channels; c0 += 16) {
      const int count = static_cast<int>(g.channels - c0 < 16 ? g.channels - c0 : 16);
      prepared_type prepared[4];
      for (int j = 0; j < 4; ++j) {
        const int left = count - 4 * j;
        if (left > 0) prepared[j] = prepare(pipeline, c0 + 4 * j, left >= 4 ? 4 : left);
      }
      if (count == 16 && g.tap_count == 9) {
        block9(g, prepared, c0);
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
