// qsparse/kernels/avx512vnni/dwconv_columns_s8s8_s32_c64.hpp — depthwise convolution on AVX-512 VNNI for
// kernels of at most 4 rows, 64 channels at a time, 4 taps per vpdpbusd grouped by kernel column.
//
// The taps of one kernel column kx are the pixels at the same input column ix of the kernel's rows
// (ky = 0..kh-1), so one interleaved vector set V[ix] — for each channel the 4 bytes
// (row0[ix], row1[ix], row2[ix], row3[ix]), made unsigned (x + 128) — serves every output pixel whose
// kernel covers column ix: kw of them at stride 1. For one output row and 64 channels the kernel first
// builds V for every input column (4 loads and flips, 8 in-lane unpacks, 4 stores, once per column),
// zero-point columns for the padding on either side, then per output pixel adds kw × 4 vpdpbusd (V
// from the buffer, the weights in registers) and runs the pipeline. Per pixel of a 3×3 layer at stride 1
// that is 12 vpdpbusd and 8 unpacks, against 24 unpacks, 8 shuffles and 9 indirect loads in the
// 4-taps-in-tap-order kernel (dwconv_s8s8_s32_c16.hpp), and no indirection table.
//
// The accumulators come out in V's channel order (below). For 8-bit outputs on the fast path
// (bytes_store) the epilogue runs in that order — the per-channel scales and the folded bias are
// transposed once per block — and the packs that narrow to bytes also restore the channel order
// (store_bytes), where the packs may also be the clamp; any other pipeline transposes the
// accumulators' 128-bit blocks per pixel and stores through the generic evaluator (generic_store). A/B
// on the Zen 5 machine: 56x56x128 63.5 -> 42.4 us with the V-order epilogue, then about 5 % (28x28x256
// 9 %) with the packs as the clamp, and 28x28x256 21-24 -> 17 us with the pipeline prepared once per
// call rather than per row.
// TFLite's fixed point (an avx512::has_fixed_point_packs_epilogue() pipeline: bias, any of the four
// roundings, zero point, clamps, 8-bit output) runs in V order too, by the 64-bit form
// (avx512::fixed_point_offset, 7 instructions per 16 outputs, 11 with the correction): its constants live
// in 64-bit lanes, which the 128-bit block transpose keeps whole, so they transpose like the scales
// (fixed_point_store), where avx512::prepare_fixed_point_packs says the form is exact for every channel
// of the block; the generic evaluator, with its per-pixel transpose, remains for the rest.
//
// With stride_h = dilation_h = 1 and kh <= 3 the four input rows of V also hold the next output row's
// kernel rows (1..kh): the kernel then computes both rows from the same V loads, the second with the
// weights one byte up (packed_depthwise_weights::columns_shifted()), which halves the building. A/B on
// the Zen 5 machine against the tap-order kernel, medians of 3 runs of 3: 56x56x128 3x3 82-90 -> 67-73
// us, 28x28x256 36-44 -> 36-38 us; without the row pairs the column kernel measured the same as the
// tap-order one.
//
// Vector q of V holds, in 128-bit lane L and dword i, channel 16L + 4q + i (the unpacks' order); the
// weights are packed in that order (packed_depthwise_weights::columns(): block b, column kx, vector q,
// byte ky). Kernel rows past kh read any row (their weights are 0). The flip adds 128 Σ_t w, which the
// caller's init takes back: with init[o] = -in_zp Σ_t w - 128 Σ_t w and the padding at in_zp,
//   init[o] + Σ_t (x_t + 128) w_t = Σ_t (x_t - in_zp) w_t, exactly TFLite's sum over the taps inside.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <tuple>
#include <type_traits>
#include <vector>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/avx512vnni/dwconv_s8s8_s32_c16.hpp"
#include "qsparse/spec/dwconv_args.hpp"
#include "qsparse/spec/output_stages.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {


namespace avx512_vnni {

struct dwconv_columns_s8s8_s32_c64 {
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static constexpr bool reads_columns = true;  // the kernel-column weight layout (the depthwise registry)
  static constexpr int max_kernel_h = 4;
  static const char* name() { return "dwconv_columns_s8s8_s32_c64__avx512vnni"; }

  /// The input columns one output row reads, padding included: [-pad_left, end).
  static std::ptrdiff_t column_count(std::ptrdiff_t in_w, std::ptrdiff_t out_w, std::ptrdiff_t stride_w,
                                     std::ptrdiff_t dilation_w, std::ptrdiff_t pad_left, std::ptrdiff_t kernel_w) {
    const std::ptrdiff_t last = (out_w - 1) * stride_w - pad_left + (kernel_w - 1) * dilation_w + 1;
    return (last > in_w ? last : in_w) + pad_left;
  }
  /// Scratch bytes for one 64-channel block of V.
  static std::size_t scratch_bytes(std::ptrdiff_t columns) { return static_cast<std::size_t>(columns * 256); }

  /// V for the 64 channels from c0 of every column (see the top).
  template <class Out>
  QSPARSE_TARGET_AVX512_VNNI static void build_columns(const dwconv_columns_args<Out>& g, std::ptrdiff_t c0,
                                                       std::ptrdiff_t count) {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    const __m512i pad = _mm512_set1_epi8(static_cast<char>(g.in_zero_point + 128));
    // Locals: the stores below are of bytes, which may alias g as far as the compiler knows.
    const std::int8_t* rows[4];
    std::ptrdiff_t steps[4];
    for (int ky = 0; ky < 4; ++ky) {
      rows[ky] = g.rows[ky] + c0;
      steps[ky] = g.row_step[ky];
    }
    const std::ptrdiff_t pad_left = g.pad_left, in_w = g.in_w;
    std::uint8_t* v = g.scratch;
    for (std::ptrdiff_t i = 0; i < count; ++i) {
      const std::ptrdiff_t ix = i - pad_left;
      std::uint8_t* out = v + i * 256;
      if (ix < 0 || ix >= in_w) {
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) _mm512_store_si512(out + 64 * q, pad);
        continue;
      }
      __m512i x[4];
#pragma GCC unroll 4
      for (int ky = 0; ky < 4; ++ky) x[ky] = _mm512_xor_si512(_mm512_loadu_si512(rows[ky] + ix * steps[ky]), flip);
      const __m512i lo01 = _mm512_unpacklo_epi8(x[0], x[1]);
      const __m512i hi01 = _mm512_unpackhi_epi8(x[0], x[1]);
      const __m512i lo23 = _mm512_unpacklo_epi8(x[2], x[3]);
      const __m512i hi23 = _mm512_unpackhi_epi8(x[2], x[3]);
      _mm512_store_si512(out, _mm512_unpacklo_epi16(lo01, lo23));
      _mm512_store_si512(out + 64, _mm512_unpackhi_epi16(lo01, lo23));
      _mm512_store_si512(out + 128, _mm512_unpacklo_epi16(hi01, hi23));
      _mm512_store_si512(out + 192, _mm512_unpackhi_epi16(hi01, hi23));
    }
  }

  /// The fast epilogue of an avx512::has_packs_epilogue() pipeline with the 64 channels in V order: init
  /// with the bias folded in, the per-channel scales, and the shared float bounds and offset (per tensor).
  struct alignas(64) v_order_epilogue {
    __m512i init[4];
    __m512 scale[4];
    __m512 lo, hi;
    __m512i offset, offset16;  // the output zero point as int32 and as int16 lanes
    bool packs_clamp;          // store_bytes<true> gives the same bits (see there)
  };

  template <class Out, class Prepared>
  QSPARSE_TARGET_AVX512_VNNI static v_order_epilogue make_v_order_epilogue(const std::int32_t* init,
                                                                           const Prepared (&prepared)[4],
                                                                           std::int64_t accumulator_bound) {
    constexpr std::size_t s = avx512::first_stage_after_bias_fold<true, Prepared>();
    v_order_epilogue e;
    __m512i scale[4];
    std::int64_t bias_magnitude = 0;
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      e.init[j] = _mm512_loadu_si512(init + 16 * j);
      if constexpr (s == 1) {
        const __m512i bias = std::get<0>(prepared[j]).value;
        e.init[j] = _mm512_add_epi32(e.init[j], bias);
        bias_magnitude = std::max(bias_magnitude, avx512::max_magnitude(bias));
      }
      scale[j] = _mm512_castps_si512(std::get<s>(prepared[j]).scale.scale);
    }
    dwconv_s8s8_s32_c16::transpose_blocks(e.init);
    dwconv_s8s8_s32_c16::transpose_blocks(scale);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) e.scale[j] = _mm512_castsi512_ps(scale[j]);
    const auto& tail = std::get<s>(prepared[0]);
    e.lo = tail.lo;
    e.hi = tail.hi;
    e.offset = tail.tail.value;
    // The clamp bounds are L - zp and H - zp for the output range [L, H] (prepare_offset_clamp).
    const float max_scale = _mm512_reduce_max_ps(
        _mm512_max_ps(_mm512_max_ps(e.scale[0], e.scale[1]), _mm512_max_ps(e.scale[2], e.scale[3])));
    e.packs_clamp = avx512::packs_clamp_exact<Out>(tail, max_scale, accumulator_bound + bias_magnitude);
    e.offset16 = _mm512_set1_epi16(static_cast<short>(e.packs_clamp ? _mm512_cvtsi512_si32(tail.tail.value) : 0));
    return e;
  }

  /// The 64 accumulators of one pixel in V order through the epilogue, stored as 64 bytes in channel
  /// order: after vpackssdw (a0, a1), (a2, a3) and vpacksswb / vpackuswb of the two, 128-bit lane L holds
  /// dwords 0-3 of lane L of a0, a1, a2, a3 — channels 16L + 0 .. 16L + 15 — so no shuffle is needed.
  ///  - PacksClamp false: the fast evaluator (clamped in float), so the saturating packs never saturate.
  ///  - PacksClamp true (v_order_epilogue::packs_clamp): the packs are the clamp (avx512::packs_clamp_exact).
  template <bool PacksClamp, class Out>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void store_bytes(
      const __m512i (&acc)[4], const __m512 (&scale)[4], __m512 lo, __m512 hi, __m512i offset, Out* dst) {
    __m512i r[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      if constexpr (PacksClamp) {
        r[j] = avx512::round_scale(acc[j], scale[j]);
      } else {
        r[j] = avx512::round_scale_offset_clamp_fast(acc[j], scale[j], lo, hi, offset);
      }
    }
    __m512i w01 = _mm512_packs_epi32(r[0], r[1]);
    __m512i w23 = _mm512_packs_epi32(r[2], r[3]);
    if constexpr (PacksClamp) {
      w01 = _mm512_adds_epi16(w01, offset);  // offset: the zero point in int16 lanes here
      w23 = _mm512_adds_epi16(w23, offset);
    }
    _mm512_storeu_si512(dst, std::is_same_v<Out, std::int8_t> ? _mm512_packs_epi16(w01, w23)
                                                              : _mm512_packus_epi16(w01, w23));
  }

  /// The epilogue of block for any pipeline: the accumulators' 128-bit blocks transposed back to channel
  /// order, then the generic evaluator (the fast one when Fast).
  template <bool Fast, class Prepared>
  struct generic_store {
    const Prepared* prepared;  // 4 of them, for the 16-channel groups of the block

    template <class Out>
    QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void operator()(__m512i (&acc)[4], Out* dst) const {
      dwconv_s8s8_s32_c16::transpose_blocks(acc);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) avx512::store_prepared<Fast>(prepared[j], acc[j], 0xFFFF, dst + 16 * j);
    }
  };

  /// The epilogue of block for an avx512::has_packs_epilogue() pipeline (store_bytes), its constants
  /// copied into the block's registers.
  template <bool PacksClamp>
  struct alignas(64) bytes_store {
    __m512 scale[4];
    __m512 lo, hi;
    __m512i offset;

    QSPARSE_TARGET_AVX512_VNNI explicit bytes_store(const v_order_epilogue& e)
        : scale{e.scale[0], e.scale[1], e.scale[2], e.scale[3]},
          lo(e.lo),
          hi(e.hi),
          offset(PacksClamp ? e.offset16 : e.offset) {}

    template <class Out>
    QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void operator()(__m512i (&acc)[4], Out* dst) const {
      store_bytes<PacksClamp>(acc, scale, lo, hi, offset, dst);
    }
  };

  /// The epilogue of block for an avx512::has_fixed_point_packs_epilogue() pipeline of rounding R: the
  /// fixed point with the zero point folded in (avx512::fixed_point_offset, constants in V order), then the
  /// packs as in store_bytes, which restore the channel order and clamp where [L, H] is all of Out's range;
  /// Clamp: vpmaxsd / vpminsd to [L, H] first.
  template <class R, bool Clamp>
  struct alignas(64) fixed_point_store {
    avx512::fixed_point_packs k[4];

    template <class Out>
    QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void operator()(__m512i (&acc)[4], Out* dst) const {
      __m512i r[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) r[j] = avx512::fixed_point_offset_clamp<R, Clamp>(acc[j], k[j]);
      const __m512i w01 = _mm512_packs_epi32(r[0], r[1]);
      const __m512i w23 = _mm512_packs_epi32(r[2], r[3]);
      _mm512_storeu_si512(dst, std::is_same_v<Out, std::int8_t> ? _mm512_packs_epi16(w01, w23)
                                                                : _mm512_packus_epi16(w01, w23));
    }
  };

  /// The 64-bit form's constants for the 4 × 16 channels of a block (prepared, channel order) into V order,
  /// and init (channel order, bias not folded) with the bias folded, in V order; false where the form is
  /// not exact for some channel. bound: the accumulators' bound without the bias.
  template <class Out, class Prepared>
  QSPARSE_TARGET_AVX512_VNNI static bool make_fixed_point_store(const std::int32_t* init, const Prepared (&prepared)[4],
                                                                std::int64_t bound, avx512::fixed_point_packs (&k)[4],
                                                                __m512i (&init_v)[4]) {
    constexpr std::size_t s = avx512::first_stage_after_bias_fold<true, Prepared>();
    std::int64_t bias_magnitude = 0;
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      init_v[j] = _mm512_loadu_si512(init + 16 * j);
      if constexpr (s == 1) {
        const __m512i bias = std::get<0>(prepared[j]).value;
        init_v[j] = _mm512_add_epi32(init_v[j], bias);
        bias_magnitude = std::max(bias_magnitude, avx512::max_magnitude(bias));
      }
    }
    for (int j = 0; j < 4; ++j) {
      if (!avx512::prepare_fixed_point_packs<Out>(std::get<s>(prepared[j]), std::get<s + 1>(prepared[j]),
                                                  bound + bias_magnitude, k[j]))
        return false;
    }
    dwconv_s8s8_s32_c16::transpose_blocks(init_v);
    // Each constant is either per 32-bit lane or per 64-bit lane: both stay within their 128-bit block.
    transpose_field(k, &avx512::fixed_point_packs::multiplier);
    transpose_field(k, &avx512::fixed_point_packs::multiplier_odd);
    transpose_field(k, &avx512::fixed_point_packs::add_even);
    transpose_field(k, &avx512::fixed_point_packs::add_odd);
    transpose_field(k, &avx512::fixed_point_packs::shift);
    return true;
  }

  /// One constant of the 4 × 16 channels' forms from channel order into V order.
  QSPARSE_TARGET_AVX512_VNNI static void transpose_field(avx512::fixed_point_packs (&k)[4],
                                                        __m512i avx512::fixed_point_packs::*field) {
    __m512i t[4];
    for (int j = 0; j < 4; ++j) t[j] = k[j].*field;
    dwconv_s8s8_s32_c16::transpose_blocks(t);
    for (int j = 0; j < 4; ++j) k[j].*field = t[j];
  }

  /// Every output pixel of the row (and of the second row, g.dst2) for the 64 channels from c0: the
  /// accumulators start at init (V order) and go through `store`. KW: the kernel width when known at
  /// compile time, 0 for g.kernel_w.
  template <int KW, class Store, class Out>
  QSPARSE_TARGET_AVX512_VNNI static void block(const dwconv_columns_args<Out>& g, const __m512i (&init_v)[4],
                                               const Store& store_arg, std::ptrdiff_t c0) {
    // Locals, so that they stay in registers: the byte stores may alias anything the compiler cannot see.
    const Store store = store_arg;
    __m512i init[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) init[j] = init_v[j];
    const std::ptrdiff_t kw = KW != 0 ? KW : g.kernel_w;
    const std::int8_t* w = g.columns + (c0 / 64) * kw * 256;
    const std::ptrdiff_t pixel_step = g.stride_w * 256, tap_step = g.dilation_w * 256;
    const std::uint8_t* base = g.scratch;
    Out* dst = g.dst + c0;
    const std::ptrdiff_t channels = g.channels, out_w = g.out_w;
    if (g.dst2 != nullptr) {
      const std::int8_t* w2 = g.columns_shifted + (c0 / 64) * kw * 256;
      Out* dst2 = g.dst2 + c0;
      for (std::ptrdiff_t x = 0; x < out_w; ++x, base += pixel_step, dst += channels, dst2 += channels) {
        // Opaque to GCC, which would otherwise hoist the address of every weight vector out of the loop
        // and then spill them: the 24 loads stay base + displacement.
        __asm__("" : "+r"(w2));
        __m512i acc[4] = {init[0], init[1], init[2], init[3]};
        __m512i acc2[4] = {init[0], init[1], init[2], init[3]};
#pragma GCC unroll 3
        for (std::ptrdiff_t kx = 0; kx < kw; ++kx) {
          const std::uint8_t* v = base + kx * tap_step;
          const std::int8_t* wk = w + kx * 256;
#pragma GCC unroll 4
          for (int q = 0; q < 4; ++q) {
            const __m512i vq = _mm512_load_si512(v + 64 * q);
            acc[q] = _mm512_dpbusd_epi32(acc[q], vq, _mm512_loadu_si512(wk + 64 * q));
            acc2[q] = _mm512_dpbusd_epi32(acc2[q], vq, _mm512_loadu_si512(w2 + kx * 256 + 64 * q));
          }
        }
        store(acc, dst);
        store(acc2, dst2);
      }
      return;
    }
    for (std::ptrdiff_t x = 0; x < out_w; ++x, base += pixel_step, dst += channels) {
      __m512i acc[4] = {init[0], init[1], init[2], init[3]};
#pragma GCC unroll 3
      for (std::ptrdiff_t kx = 0; kx < kw; ++kx) {
        const std::uint8_t* v = base + kx * tap_step;
        const std::int8_t* wk = w + kx * 256;
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q)
          acc[q] = _mm512_dpbusd_epi32(acc[q], _mm512_load_si512(v + 64 * q), _mm512_loadu_si512(wk + 64 * q));
      }
      store(acc, dst);
    }
  }

  /// The pipeline prepared for one 64-channel block (what run needs per block, made once per call).
  template <class Prepared>
  struct alignas(64) block_epilogue {
    Prepared prepared[4];
    __m512i init[4];           // g.init in V order (the generic_store path)
    v_order_epilogue v_order;  // when avx512::has_packs_epilogue() and fast
    avx512::fixed_point_packs fixed[4];  // V order, when fixed_mode != 0
    __m512i fixed_init[4];               // g.init with the bias folded, V order, when fixed_mode != 0
    bool fast;
    int fixed_mode;  // avx512::has_fixed_point_packs_epilogue() and fast: 1 the packs clamp, 2 vpmaxsd / vpminsd
  };

  /// Output rows (or row pairs) rows[0 .. n) of one layer — the same geometry, channels, weights, init
  /// and bound — each row 64 channels at a time; the pipeline is prepared once for all of them.
  template <class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const dwconv_columns_args<typename output_pipeline<S...>::output_type>* rows,
                                             std::ptrdiff_t n, const output_pipeline<S...>& pipeline) {
    using out_type = typename output_pipeline<S...>::output_type;
    using prepared_type = decltype(avx512::prepare(pipeline, std::ptrdiff_t{0}, __mmask16{0}, std::int64_t{0}));
    constexpr bool bytes = avx512::has_packs_epilogue<prepared_type, out_type>();
    constexpr bool fixed_point = avx512::has_fixed_point_packs_epilogue<prepared_type, out_type>();
    if (n <= 0) return;
    const dwconv_columns_args<out_type>& first = rows[0];
    std::vector<block_epilogue<prepared_type>> blocks(static_cast<std::size_t>(first.channels / 64));
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      const std::ptrdiff_t c0 = static_cast<std::ptrdiff_t>(b) * 64;
      blocks[b].fast = dwconv_s8s8_s32_c16::prepare_block64(pipeline, c0, first.accumulator_bound, blocks[b].prepared);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) blocks[b].init[j] = _mm512_loadu_si512(first.init + c0 + 16 * j);
      dwconv_s8s8_s32_c16::transpose_blocks(blocks[b].init);
      if constexpr (bytes) {
        if (blocks[b].fast)
          blocks[b].v_order = make_v_order_epilogue<out_type>(first.init + c0, blocks[b].prepared, first.accumulator_bound);
      }
      blocks[b].fixed_mode = 0;
      if constexpr (fixed_point) {
        if (blocks[b].fast && make_fixed_point_store<out_type>(first.init + c0, blocks[b].prepared,
                                                               first.accumulator_bound, blocks[b].fixed,
                                                               blocks[b].fixed_init))
          blocks[b].fixed_mode = blocks[b].fixed[0].full_range ? 1 : 2;
      }
    }
    const std::ptrdiff_t count = column_count(first.in_w, first.out_w, first.stride_w, first.dilation_w,
                                              first.pad_left, first.kernel_w);
    const bool kw3 = first.kernel_w == 3;
    for (std::ptrdiff_t r = 0; r < n; ++r) {
      const dwconv_columns_args<out_type>& g = rows[r];
      for (std::ptrdiff_t c0 = 0; c0 < g.channels; c0 += 64) {
        build_columns(g, c0, count);
        const block_epilogue<prepared_type>& b = blocks[static_cast<std::size_t>(c0 / 64)];
        if constexpr (fixed_point) {
          if (b.fixed_mode != 0) {
            using R = avx512::fixed_point_rounding_t<prepared_type, avx512::first_stage_after_bias_fold<true, prepared_type>()>;
            if (b.fixed_mode == 1) {
              const fixed_point_store<R, false> store{{b.fixed[0], b.fixed[1], b.fixed[2], b.fixed[3]}};
              kw3 ? block<3>(g, b.fixed_init, store, c0) : block<0>(g, b.fixed_init, store, c0);
            } else {
              const fixed_point_store<R, true> store{{b.fixed[0], b.fixed[1], b.fixed[2], b.fixed[3]}};
              kw3 ? block<3>(g, b.fixed_init, store, c0) : block<0>(g, b.fixed_init, store, c0);
            }
            continue;
          }
        }
        if constexpr (bytes) {
          if (b.fast) {
            if (b.v_order.packs_clamp) {
              const bytes_store<true> store(b.v_order);
              kw3 ? block<3>(g, b.v_order.init, store, c0) : block<0>(g, b.v_order.init, store, c0);
            } else {
              const bytes_store<false> store(b.v_order);
              kw3 ? block<3>(g, b.v_order.init, store, c0) : block<0>(g, b.v_order.init, store, c0);
            }
            continue;
          }
        }
        if constexpr (avx512::has_fast_path<prepared_type>::value) {
          if (b.fast) {
            const generic_store<true, prepared_type> store{b.prepared};
            kw3 ? block<3>(g, b.init, store, c0) : block<0>(g, b.init, store, c0);
            continue;
          }
        }
        const generic_store<false, prepared_type> store{b.prepared};
        kw3 ? block<3>(g, b.init, store, c0) : block<0>(g, b.init, store, c0);
      }
    }
  }
};

}  // namespace avx512_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
