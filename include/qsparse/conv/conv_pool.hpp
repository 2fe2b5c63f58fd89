// qsparse/conv/conv_pool.hpp — a convolution followed by a max pool in one call, without the
// full-resolution convolution output in memory.
//
//   auto packed = qsparse::pack_conv2d_weights(filter_ohwi);                 // or pack_sparse_conv2d_weights
//   qsparse::pool2d_params pool{2, 2, 2, 2, qsparse::padding::valid()};
//   qsparse::conv2d_max_pool2d(ctx, qsparse::quantized(input, in_zp), packed, output, conv_params, pool,
//                              pipeline);                                    // optional act_min, act_max
//
// Bit for bit as
//   conv2d(ctx, input, packed, tmp, conv_params, pipeline);                  // tmp: [N][OH][OW][C_out] int8
//   max_pool2d(ctx, tmp, output, pool, act_min, act_max);                    // output: [N][POH][POW][C_out]
// (reference_conv2d then reference_max_pool2d, qsparse/conv/reference.hpp), for every weights type conv2d
// takes (packed_conv2d_weights; packed_sparse_conv2d_weights when qsparse/conv/sparse_conv2d.hpp is
// included) and every pipeline of built-in stages that ends in int8 (a caller's own stage sees the output
// pixel's row index m, which a band of the image does not have). Float output too (a dynamic-range
// conv: dequantize_float_per_channel, then optionally clamp_float), bit for bit as conv2d with that
// pipeline then a float max pool keeping the first of a window's largest values (see the float branch).
//
// How: on AVX-512 VNNI, a filter packed for the direct shallow kernel (a 1- or 3-channel stem) under an
// unpadded pool runs that kernel with the pool inside it: per window, the maximum of the int32
// accumulators, then the pipeline once (a quarter of the epilogues for 2×2 windows, which dominate at
// K = 9; why the maximum may come first: detail::conv_pool_direct). Otherwise tasks are bands of pooled
// output rows of one image. A task runs conv2d on the input rows its band
// reads (the same taps: the band's rows of the image with explicit pads where the band meets the image's
// border, so every output value is the one conv2d gives), writing the conv rows the band's windows cover
// into a per-thread scratch of about 32 KiB, and pools them from there. The conv output never leaves the
// cache: at batch 256 the CNN demo's 28×28×1 → 32 stem wrote 5.5 MB that its pool read back.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "qsparse/conv/conv2d.hpp"
#include "qsparse/conv/pooling.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/spec/conv_params.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/pool_params.hpp"

namespace qsparse {

namespace detail {

struct conv_pool_scratch_tag {};

/// Bytes of conv output a band keeps (the scratch of one task).
inline constexpr index_t conv_pool_band_bytes = 32 * 1024;

/// The rows [begin, end) of an axis of `size` that the windows of pooled rows [p0, p1) read (filter f,
/// stride s, leading pad `pad`), clipped to the axis.
inline std::pair<index_t, index_t> pool_rows_read(index_t p0, index_t p1, index_t f, index_t s, index_t pad, index_t size) {
  return {std::max<index_t>(0, p0 * s - pad), std::min<index_t>(size, (p1 - 1) * s - pad + f)};
}

/// Whether Weights were packed for one ISA (weights.isa()): conv2d then requires that ISA to run.
template <class Weights, class = void>
struct has_packed_isa : std::false_type {};
template <class Weights>
struct has_packed_isa<Weights, std::void_t<decltype(std::declval<const Weights&>().isa())>> : std::true_type {};

#if QSPARSE_X86
/// Whether conv2d_max_pool2d pools inside the direct shallow kernel: weights packed for it
/// (packed_conv2d_weights::has_direct(), conv_copy_rows_eligible) and a pool whose windows all lie inside
/// the conv output (no padding).
inline bool conv_pool_direct_eligible(const packed_conv2d_weights& weights, const conv2d_params& params,
                                      const pool2d_params& pool) {
  const padding& pad = pool.pad;
  const bool unpadded = pad.kind == padding_kind::valid || (pad.kind == padding_kind::explicit_pads && pad.top == 0 &&
                                                            pad.bottom == 0 && pad.left == 0 && pad.right == 0);
  return unpadded && weights.has_direct() && conv_copy_rows_eligible(weights, params);
}

/// conv2d_max_pool2d through the direct shallow kernel (conv_pool_direct_eligible, checked inputs), which
/// takes the maximum of each window's int32 accumulators and runs the pipeline once per window
/// (gemm_u8s8_s32_4x32c4::run_direct_max_pool). That is the pooled pipeline output because every
/// pipeline this entry takes is non-decreasing in the accumulator, per channel: its stages are built in
/// (static_assert) and end in int8, and each such stage is a non-decreasing map of int32 — adding the
/// channel's bias or the zero point (saturating), TFLite's fixed-point multiply with a multiplier >= 0
/// (validate rejects negative ones) followed by a rounding shift (round half up or away from zero: both
/// non-decreasing), float scaling by a scale > 0 (validate) rounded to nearest, clamping and saturating.
/// For a non-decreasing f, max(f(a), f(b)) = f(max(a, b)), so the maximum may be taken before f. (Were
/// a stage decreasing — a negative scale — the maximum of f would be f of the minimum; the library's
/// pipelines have none, and tests/conv/conv_pool_test.cpp checks that such a pipeline is refused.) The
/// pool's clamp [act_min, act_max] then applies to the stored bytes. Tasks are bands of pooled rows of
/// one image; a task copies the input rows its band reads as conv2d_direct_shallow does.
template <class A, class... S>
void conv_pool_direct(const context& ctx, const A* in, index_t batch, index_t in_h, index_t in_w, index_t c_in,
                      std::int32_t in_zp, const packed_conv2d_weights& weights, const conv2d_params& p,
                      const conv_geometry& g, const pool2d_params& pool, const conv_geometry& pg, std::int32_t act_min,
                      std::int32_t act_max, typename output_pipeline<S...>::output_type* out,
                      const output_pipeline<S...>& pipeline) {
  using out_t = typename output_pipeline<S...>::output_type;
  using kernel = kernels::avx512_vnni::gemm_u8s8_s32_4x32c4;
  constexpr bool flip = std::is_same_v<A, std::int8_t>;
  const auto u_zp = static_cast<std::uint8_t>(flip ? in_zp + 128 : in_zp);
  const index_t k_h = weights.kernel_h(), row_groups = weights.direct_row_groups(), c_out = weights.output_channels();
  const index_t pixel_step = p.stride_w * c_in;
  const index_t used = std::max((g.pad_left + in_w) * c_in, (g.out_w - 1) * pixel_step + 4 * row_groups);
  const index_t pitch = (used + 15) / 16 * 16;
  const index_t span = (k_h - 1) * p.dilation_h + 1;  // input rows one conv row reads
  // Input rows that pooled rows [p0, p0 + n) read: conv rows p0*stride .. (p0+n-1)*stride + filter - 1.
  const auto input_rows = [&](index_t n) { return ((n - 1) * pool.stride_h + pool.filter_h - 1) * p.stride_h + span; };
  index_t band = pg.out_h;
  while (band > 1 && input_rows(band) * pitch > 64 * 1024) --band;
  const index_t min_bands = std::min<index_t>(pg.out_h, batch < ctx.concurrency() ? ctx.concurrency() : 1);
  band = std::min(band, (pg.out_h + min_bands - 1) / min_bands);
  const index_t bands = (pg.out_h + band - 1) / band;
  const bool clamp = std::is_same_v<out_t, std::int8_t> && (act_min > -128 || act_max < 127);
  const kernels::shallow_pool_window window{static_cast<int>(pool.filter_h), static_cast<int>(pool.filter_w), pixel_step,
                                            p.stride_h * pitch};
  auto task = [&](std::ptrdiff_t t) {
    const index_t b = t / bands;
    const index_t p0 = (t % bands) * band, p1 = std::min(pg.out_h, p0 + band);
    const index_t iy0 = p0 * pool.stride_h * p.stride_h - g.pad_top;
    std::uint8_t* scratch =
        conv_scratch<std::uint8_t, direct_band_scratch_tag>(static_cast<std::size_t>(input_rows(band) * pitch));
    copy_band_rows(in + b * in_h * in_w * c_in, in_h, in_w * c_in, g.pad_left * c_in, iy0, input_rows(p1 - p0), u_zp,
                   scratch, pitch);
    const index_t m0 = (b * pg.out_h + p0) * pg.out_w;
    out_t* dst = out + m0 * c_out;
    const kernels::shallow_gemm_args<out_t> args{scratch, pool.stride_w * pixel_step, p.dilation_h * pitch,
                                                       pg.out_w, p1 - p0, pool.stride_h * p.stride_h * pitch, u_zp,
                                                       weights.direct(), c_out, m0, dst, c_out};
    kernel::run_direct_max_pool(args, static_cast<int>(k_h), static_cast<int>(row_groups), window, pipeline);
    if constexpr (std::is_same_v<out_t, std::int8_t>) {
      if (clamp) {
        const index_t count = (p1 - p0) * pg.out_w * c_out;
        for (index_t i = 0; i < count; ++i)
          dst[i] = static_cast<std::int8_t>(std::min<std::int32_t>(act_max, std::max<std::int32_t>(act_min, dst[i])));
      }
    }
  };
  ctx.run_tasks(batch * bands, task);
}
#endif

/// Whether a float pipeline (dequantize_float_per_channel, then optionally clamp_float) is increasing in
/// the int32 sum, per channel, with no -0 or NaN among its values, so that the maximum of a window's
/// outputs is the output of the window's largest sum, bit for bit: see conv2d_max_pool2d (float).
template <class Stage>
bool float_stage_pools_first(const Stage&, index_t) {
  return false;
}
inline bool float_stage_pools_first(const dequantize_float_per_channel& d, index_t c_out) {
  for (index_t c = 0; c < c_out; ++c) {
    const float s = d.scales[c];
    if (!(s > 0.0f) || !(s <= std::numeric_limits<float>::max())) return false;
    if (d.bias != nullptr && !(std::abs(d.bias[c]) <= std::numeric_limits<float>::max())) return false;
  }
  return true;
}
inline bool float_stage_pools_first(const clamp_float& c, index_t) {
  const auto plain = [](float b) { return !std::isnan(b) && !(b == 0.0f && std::signbit(b)); };
  return plain(c.min) && plain(c.max);
}
template <class... S>
bool float_pipeline_pools_first(const output_pipeline<S...>& pipeline, index_t c_out) {
  return std::apply([&](const auto&... st) { return (float_stage_pools_first(st, c_out) && ...); }, pipeline.stages);
}

/// The float max pool the definition uses: per channel, the first of the window's largest values (v > best
/// replaces best), windows clipped to the image (padded taps are not values).
inline void max_pool2d_float_reference(const float* in, index_t batch, index_t h, index_t w, index_t c,
                                       const pool2d_params& pool, const conv_geometry& pg, float* out) {
  for (index_t b = 0; b < batch; ++b)
    for (index_t oy = 0; oy < pg.out_h; ++oy)
      for (index_t ox = 0; ox < pg.out_w; ++ox) {
        const index_t y0 = std::max<index_t>(0, oy * pool.stride_h - pg.pad_top);
        const index_t y1 = std::min(h, oy * pool.stride_h - pg.pad_top + pool.filter_h);
        const index_t x0 = std::max<index_t>(0, ox * pool.stride_w - pg.pad_left);
        const index_t x1 = std::min(w, ox * pool.stride_w - pg.pad_left + pool.filter_w);
        // Channels innermost (they vectorize); per channel the same rule as a window at a time.
        float* o = out + ((b * pg.out_h + oy) * pg.out_w + ox) * c;
        std::copy_n(in + ((b * h + y0) * w + x0) * c, c, o);
        for (index_t y = y0; y < y1; ++y)
          for (index_t x = y == y0 ? x0 + 1 : x0; x < x1; ++x) {
            const float* v = in + ((b * h + y) * w + x) * c;
            for (index_t ch = 0; ch < c; ++ch) o[ch] = v[ch] > o[ch] ? v[ch] : o[ch];
          }
      }
}

}  // namespace detail

/// max_pool2d(conv2d(input, weights, conv_params, pipeline), pool, act_min, act_max) with int8 output.
/// See the top of this header.
template <class A, class LA, class AA, class Weights, class O, class LO, class AO, class... S>
void conv2d_max_pool2d(const context& ctx, const quantized_operand<tensor_view<A, 4, LA, AA>>& input,
                       const Weights& weights, const tensor_view<O, 4, LO, AO>& output, const conv2d_params& conv_params,
                       const pool2d_params& pool, const output_pipeline<S...>& pipeline, std::int32_t act_min = -128,
                       std::int32_t act_max = 127) {
  static_assert(detail::is_gemm_activation_v<A>,
                "qsparse::conv2d_max_pool2d: the input must be a 4-D NHWC view of std::int8_t or std::uint8_t.");
  using out_t = typename output_pipeline<S...>::output_type;
  static_assert((std::is_same_v<out_t, std::int8_t> || std::is_same_v<out_t, float>) && std::is_same_v<O, out_t>,
                "qsparse::conv2d_max_pool2d: the pipeline must end with saturating_cast<std::int8_t> (int8 output) "
                "or write float (dequantize_float_per_channel, clamp_float), and the output must be a (non-const) "
                "view of that type.");
  static_assert(!detail::pipeline_has_custom_stage_v<output_pipeline<S...>>,
                "qsparse::conv2d_max_pool2d: a stage of your own sees the output pixel's row index, which the "
                "bands this function convolves do not keep; call conv2d and max_pool2d instead.");
  using a_t = std::remove_const_t<A>;
  const char* fn = "qsparse::conv2d_max_pool2d";
  const auto& in = input.view;
  detail::check(!weights.empty(), fn, ": the packed weights are empty");
  const index_t batch = in.extent(0), in_h = in.extent(1), in_w = in.extent(2), c_in = in.extent(3);
  const index_t c_out = weights.output_channels();
  detail::check(batch >= 1, fn, ": batch must be >= 1, got batch = ", batch);
  detail::check(c_in == weights.input_channels_per_group() * weights.groups(), fn, ": input has C_in = ", c_in,
                " channels but the weights expect groups * C_in/groups = ", weights.groups(), " * ",
                weights.input_channels_per_group(), " = ", weights.groups() * weights.input_channels_per_group());
  const index_t k_h = weights.kernel_h(), k_w = weights.kernel_w();
  const conv_geometry cg = conv_output_geometry(conv_params, in_h, in_w, k_h, k_w, fn);
  const conv_geometry pg = pool_output_geometry(pool, cg.out_h, cg.out_w, fn);
  detail::check(pool.pad.kind != padding_kind::explicit_pads ||
                    (pool.pad.top < pool.filter_h && pool.pad.bottom < pool.filter_h && pool.pad.left < pool.filter_w &&
                     pool.pad.right < pool.filter_w),
                fn, ": explicit pool pads must be smaller than the pool filter so that every window holds a pixel");
  detail::check(output.extent(0) == batch && output.extent(1) == pg.out_h && output.extent(2) == pg.out_w &&
                    output.extent(3) == c_out,
                fn, ": output is ", output.extent(0), " x ", output.extent(1), " x ", output.extent(2), " x ",
                output.extent(3), ", expected N x POH x POW x C_out = ", batch, " x ", pg.out_h, " x ", pg.out_w, " x ",
                c_out, " (the pool's output of the ", cg.out_h, " x ", cg.out_w, " convolution output)");
  detail::check(act_min >= -128 && act_max <= 127 && act_min <= act_max, fn,
                ": the activation range must be inside [-128, 127] with act_min <= act_max, got act_min = ", act_min,
                ", act_max = ", act_max);
  detail::check_dense_nhwc(in, fn, "input");
  detail::check_dense_nhwc(output, fn, "output");
  detail::check_no_overlap(fn, "output", output, "input", in);
  validate(pipeline, c_out, fn);
  if constexpr (detail::has_packed_isa<Weights>::value) {  // (sparse weights run on best_isa())
    const isa_level allowed = best_isa();
    detail::check(isa_runs(allowed, weights.isa()), fn, ": the weights were packed for ", to_string(weights.isa()),
                  " but this CPU (or the ISA ceiling) allows at most ", to_string(allowed));
  }
  constexpr std::int32_t zp_lo = std::numeric_limits<a_t>::min(), zp_hi = std::numeric_limits<a_t>::max();
  detail::check(input.zero_point >= zp_lo && input.zero_point <= zp_hi, fn, ": input zero point must be in [", zp_lo,
                ", ", zp_hi, "], got ", input.zero_point);
  if constexpr (std::is_same_v<out_t, float>) {
    // Float output (a dynamic-range convolution: int32 sums times the image's scale times each channel's
    // weight scale, plus a float bias, clamped). Pooling first is exact when every stage is non-decreasing
    // in the sum and no two different sums give equal values of different bits: for a non-decreasing f,
    // max(f(a), f(b)) = f(max(a, b)) as values, and the pool keeps the first of equal values, so the bits
    // agree unless equal values differ in bits, i.e. -0 and +0 (NaN is not a value the pool orders).
    // float_pipeline_pools_first accepts dequantize_float_per_channel with every scale finite and > 0 and
    // every bias finite, then optionally clamp_float with bounds that are not NaN: s * scale rounded to
    // nearest is non-decreasing in s, never -0 (s = 0 gives +0; |s| >= 1 times a scale >= the smallest
    // subnormal does not round to 0) and never NaN (s is finite, scale is finite); adding a finite bias is
    // non-decreasing, gives no NaN, and -0 only if both terms are -0, which the product is not; clamping
    // to [min, max] is non-decreasing, and with bounds that are neither NaN nor -0 it makes no -0 (a -0
    // bound could turn one sum into -0 and a larger one into +0: equal values, different bits). So the
    // direct shallow kernel's window maximum of int32 sums, then the pipeline, is the pooled output bit
    // for bit. Any other pipeline, or weights / pool the kernel does not take, runs the definition:
    // conv2d into a float buffer, then the float pool.
    detail::check(act_min == -128 && act_max == 127, fn,
                  ": with float output the activation range belongs in the pipeline (clamp_float); got act_min = ",
                  act_min, ", act_max = ", act_max);
#if QSPARSE_X86
    if constexpr (std::is_same_v<Weights, packed_conv2d_weights>) {
      if (detail::conv_pool_direct_eligible(weights, conv_params, pool) &&
          detail::float_pipeline_pools_first(pipeline, c_out)) {
        detail::conv_pool_direct(ctx, &in(0, 0, 0, 0), batch, in_h, in_w, c_in, input.zero_point, weights,
                                 conv_params, cg, pool, pg, act_min, act_max, &output(0, 0, 0, 0), pipeline);
        return;
      }
    }
#endif
    float* conv_out = detail::conv_scratch<float, detail::conv_pool_scratch_tag>(
        static_cast<std::size_t>(batch * cg.out_h * cg.out_w * c_out));
    conv2d(ctx, input, weights, make_view(conv_out, batch, cg.out_h, cg.out_w, c_out), conv_params, pipeline);
    detail::max_pool2d_float_reference(conv_out, batch, cg.out_h, cg.out_w, c_out, pool, pg, &output(0, 0, 0, 0));
    return;
  } else {

#if QSPARSE_X86
  if constexpr (std::is_same_v<Weights, packed_conv2d_weights>) {
    if (detail::conv_pool_direct_eligible(weights, conv_params, pool)) {
      detail::conv_pool_direct(ctx, &in(0, 0, 0, 0), batch, in_h, in_w, c_in, input.zero_point, weights, conv_params,
                               cg, pool, pg, act_min, act_max, &output(0, 0, 0, 0), pipeline);
      return;
    }
  }
#endif
  // Bands: pooled rows per task such that the conv rows they read fit conv_pool_band_bytes (at least one
  // pooled row), and, for a single image on several threads, at least a band per thread.
  const index_t conv_row_bytes = cg.out_w * c_out;
  const index_t rows_fit = std::max<index_t>(1, detail::conv_pool_band_bytes / conv_row_bytes);
  index_t band = rows_fit >= pool.filter_h ? std::max<index_t>(1, (rows_fit - pool.filter_h) / pool.stride_h + 1) : 1;
  band = std::min(band, pg.out_h);
  const int threads = ctx.concurrency();
  if (batch < threads) band = std::min(band, std::max<index_t>(1, pg.out_h / (threads / static_cast<int>(batch))));
  const index_t bands = (pg.out_h + band - 1) / band;
  const index_t max_conv_rows = std::min(cg.out_h, (band - 1) * pool.stride_h + pool.filter_h);
  const index_t e_h = (k_h - 1) * conv_params.dilation_h + 1, e_w = (k_w - 1) * conv_params.dilation_w + 1;
  // The image's right pad (0 when VALID leaves columns unread: the output width is the same).
  const index_t pad_right = std::max<index_t>(0, (cg.out_w - 1) * conv_params.stride_w + e_w - in_w - cg.pad_left);
  const a_t* in_data = &in(0, 0, 0, 0);
  std::int8_t* out_data = &output(0, 0, 0, 0);
  const context serial{};
  kernels::with_best_kernel(kernels::pool_kernels{}, best_isa(), [&](auto kernel) {
    auto task = [&](std::ptrdiff_t t) {
      const index_t b = t / bands;
      const index_t p0 = (t % bands) * band, p1 = std::min(pg.out_h, p0 + band);
      // Conv rows [r0, r1) the band's windows read; the input rows [i0, i1) they read, and the pads
      // standing for the image's rows above and below those.
      const auto [r0, r1] = detail::pool_rows_read(p0, p1, pool.filter_h, pool.stride_h, pg.pad_top, cg.out_h);
      const index_t first = r0 * conv_params.stride_h - cg.pad_top;  // input row of conv row r0's first tap
      const index_t last = (r1 - 1) * conv_params.stride_h - cg.pad_top + e_h;
      const index_t i0 = std::max<index_t>(0, first), i1 = std::min(in_h, last);
      conv2d_params band_params = conv_params;
      band_params.pad = padding::explicit_pads(i0 - first, last - i1, cg.pad_left, pad_right);
      auto* rows = detail::conv_scratch<std::int8_t, detail::conv_pool_scratch_tag>(
          static_cast<std::size_t>(max_conv_rows * conv_row_bytes));
      conv2d(serial, quantized(make_view(in_data + (b * in_h + i0) * in_w * c_in, index_t{1}, i1 - i0, in_w, c_in),
                               input.zero_point),
             weights, make_view(rows, index_t{1}, r1 - r0, cg.out_w, c_out), band_params, pipeline);
      // Pool the band: pooled row p0 + y reads conv rows from (p0 + y) * stride - pad_top, i.e. from
      // y * stride - (pad_top + r0 - p0 * stride) in the scratch.
      conv_geometry band_g = pg;
      band_g.out_h = p1 - p0;
      band_g.pad_top = pg.pad_top + r0 - p0 * pool.stride_h;
      detail::run_pool<decltype(kernel), false>(serial, rows, 1, r1 - r0, cg.out_w, c_out, pool, band_g, act_min,
                                                act_max, out_data + (b * pg.out_h + p0) * pg.out_w * c_out);
    };
    ctx.run_tasks(batch * bands, task);
  });
  }
}

/// The same with an input whose zero point is 0.
template <class A, class LA, class AA, class Weights, class O, class LO, class AO, class... S>
void conv2d_max_pool2d(const context& ctx, const tensor_view<A, 4, LA, AA>& input, const Weights& weights,
                       const tensor_view<O, 4, LO, AO>& output, const conv2d_params& conv_params,
                       const pool2d_params& pool, const output_pipeline<S...>& pipeline, std::int32_t act_min = -128,
                       std::int32_t act_max = 127) {
  conv2d_max_pool2d(ctx, quantized(input, 0), weights, output, conv_params, pool, pipeline, act_min, act_max);
}

}  // namespace qsparse
