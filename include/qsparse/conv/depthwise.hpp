// qsparse/conv/depthwise.hpp — int8 depthwise 2-D convolution on NHWC activations, with its own SIMD
// kernels (it is memory-bound; a GEMM is the wrong tool).
//
//   auto packed = qsparse::pack_depthwise_weights(filter_1hwc, w_zero_point);      // once per layer
//   qsparse::depthwise_conv2d(ctx, qsparse::quantized(input, in_zp), packed, output, params, pipeline);
//
// computes, bit for bit as reference_depthwise_conv2d (qsparse/conv/reference.hpp, TFLite's
// DepthwiseConvPerChannel):
//   out[b][y][x][o] = evaluate(pipeline, Σ_{ky,kx} (in[b][iy][ix][o / dm] - in_zp) * (w[0][ky][kx][o] - w_zp),
//                              m = (b*OH + y)*OW + x, o)
// with dm = C_out / C_in the depth multiplier, taps outside the image skipped.
//   * input [N][H][W][C_in] int8, dense NHWC, in_zp in [-128, 127];
//   * filter [1][kh][kw][C_out] int8 (C_out = C_in * dm), one zero point (per-channel scales go in the
//     pipeline); packed as int32 lanes holding w - w_zp in their low 16 bits, channels padded to 16;
//   * output [N][OH][OW][C_out], dense NHWC, of the pipeline's output type.
//
// The kernels (kernels/<isa>/dwconv_*.hpp) walk one output row at a time through an indirection table
// (XNNPACK's way): for each pixel, kh*kw pointers to the input pixels its taps read, or to a row of
// in_zp values for taps in the padding. Then Σ_t x_t * w_t - in_zp * Σ_t w_t is exactly the skipped-tap
// sum. A depth multiplier > 1 first repeats each input channel dm times (one copy of the input). On
// AVX-512 VNNI, kernels of at most 4 rows over a multiple of 64 channels take the column kernel instead
// (kernels/avx512vnni/dwconv_columns_s8s8_s32_c64.hpp): no table, the kernel rows' pointers per output
// row, taps grouped by kernel column so each interleaved input column serves kw output pixels.
// Tasks are ranges of output rows; every thread count gives the same bits.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "qsparse/conv/conv2d.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/scalar_epilogue.hpp"
#include "qsparse/kernels/depthwise_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/spec/conv_params.hpp"
#include "qsparse/spec/dwconv_args.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

/// The depthwise kernels (the registry, qsparse/kernels/depthwise_kernels.hpp).
using kernels::depthwise_kernels;

/// The depthwise kernel that runs at ISA level `isa` on weights without the column layout.
inline const char* depthwise_kernel_name(isa_level isa) {
  const char* name = kernels::selected_kernel_name(
      depthwise_kernels{}, isa, [](auto kernel) { return !kernels::reads_depthwise_columns_v<decltype(kernel)>; });
  return name != nullptr ? name : "none";
}

/// Depthwise weights [1][kh][kw][C_out] packed once: int32 lanes (w - w_zp in the low 16 bits),
/// [kh*kw][C_out padded to 16], and Σ_t (w - w_zp) per channel; the same for every ISA. When every
/// w - w_zp fits int8 (always for w_zp = 0) also the VNNI kernel's layout of the whole 64-channel
/// blocks: the int8 weights of 4 taps side by side in each 32-bit lane, lanes in the order the kernel's
/// byte unpacks leave the channels (kernels/avx512vnni/dwconv_s8s8_s32_c16.hpp), and -128 Σ_t (w - w_zp)
/// per channel, the term that undoes the kernel's sign flip of the input.
class packed_depthwise_weights {
 public:
  packed_depthwise_weights() = default;

  template <class W, class L, class Acc>
  packed_depthwise_weights(const tensor_view<W, 4, L, Acc>& filter, std::int32_t weight_zero_point) {
    static_assert(std::is_same_v<std::remove_const_t<W>, std::int8_t>,
                  "qsparse::pack_depthwise_weights: the filter must be a 4-D [1][kh][kw][C_out] view of std::int8_t.");
    const char* fn = "qsparse::pack_depthwise_weights";
    detail::check(filter.extent(0) == 1, fn, ": the filter must be [1][kh][kw][C_out], got extent(0) = ", filter.extent(0));
    k_h_ = filter.extent(1);
    k_w_ = filter.extent(2);
    c_out_ = filter.extent(3);
    detail::check(k_h_ >= 1 && k_w_ >= 1 && c_out_ >= 1, fn, ": kh, kw and C_out must be >= 1, got ", k_h_, ", ", k_w_,
                  ", ", c_out_);
    detail::check(weight_zero_point >= -128 && weight_zero_point <= 127, fn,
                  ": weight_zero_point must be in [-128, 127], got weight_zero_point = ", weight_zero_point);
    detail::check(k_h_ * k_w_ <= 65536, fn, ": the kernel may hold at most 65536 taps, got ", k_h_, " x ", k_w_);
    weight_zero_point_ = weight_zero_point;
    c_padded_ = (c_out_ + 15) / 16 * 16;
    const index_t taps = k_h_ * k_w_;
    weights_.assign(static_cast<std::size_t>(taps * c_padded_), 0);
    sums_.assign(static_cast<std::size_t>(c_padded_), 0);
    for (index_t ky = 0; ky < k_h_; ++ky) {
      for (index_t kx = 0; kx < k_w_; ++kx) {
        for (index_t o = 0; o < c_out_; ++o) {
          const std::int32_t w = std::int32_t{filter(0, ky, kx, o)} - weight_zero_point;
          weights_[static_cast<std::size_t>((ky * k_w_ + kx) * c_padded_ + o)] =
              static_cast<std::int32_t>(static_cast<std::uint32_t>(w) & 0xFFFFu);
          sums_[static_cast<std::size_t>(o)] += w;
        }
      }
    }
    bool fits_int8 = true;
    for (index_t t = 0; t < taps; ++t)
      for (index_t o = 0; o < c_out_; ++o) {
        const auto w = static_cast<std::int16_t>(weights_[static_cast<std::size_t>(t * c_padded_ + o)]);
        fits_int8 = fits_int8 && w >= -128 && w <= 127;
      }
    const index_t blocks = c_out_ / 64;
    if (!fits_int8 || blocks == 0) return;
    tap_groups_ = (taps + 3) / 4;
    // Block b, tap group j, vector q, 128-bit lane L, lane dword i, byte tt: tap 4j + tt of channel
    // 64b + 16L + 4q + i (0 past the last tap).
    interleaved_.assign(static_cast<std::size_t>(blocks * tap_groups_ * 256), 0);
    for (index_t b = 0; b < blocks; ++b)
      for (index_t j = 0; j < tap_groups_; ++j)
        for (index_t q = 0; q < 4; ++q)
          for (index_t lane = 0; lane < 4; ++lane)
            for (index_t i = 0; i < 4; ++i)
              for (index_t tt = 0; tt < 4; ++tt) {
                const index_t t = 4 * j + tt, o = 64 * b + 16 * lane + 4 * q + i;
                if (t >= taps) continue;
                interleaved_[static_cast<std::size_t>(((b * tap_groups_ + j) * 4 + q) * 64 + lane * 16 + i * 4 + tt)] =
                    static_cast<std::int8_t>(static_cast<std::int16_t>(weights_[static_cast<std::size_t>(t * c_padded_ + o)]));
              }
    flip_terms_.assign(static_cast<std::size_t>(c_padded_), 0);
    for (index_t o = 0; o < c_out_; ++o) flip_terms_[static_cast<std::size_t>(o)] = -128 * sums_[static_cast<std::size_t>(o)];
    if (c_out_ % 64 != 0 || k_h_ > column_max_kernel_h) return;
    // Block b, column kx, vector q, 128-bit lane L, lane dword i, byte ky: row ky of column kx of channel
    // 64b + 16L + 4q + i (0 for ky >= kh).
    columns_.assign(static_cast<std::size_t>(blocks * k_w_ * 256), 0);
    if (k_h_ < column_max_kernel_h) columns_shifted_.assign(columns_.size(), 0);
    for (index_t b = 0; b < blocks; ++b)
      for (index_t kx = 0; kx < k_w_; ++kx)
        for (index_t q = 0; q < 4; ++q)
          for (index_t lane = 0; lane < 4; ++lane)
            for (index_t i = 0; i < 4; ++i)
              for (index_t ky = 0; ky < k_h_; ++ky) {
                const index_t o = 64 * b + 16 * lane + 4 * q + i;
                const std::size_t at = static_cast<std::size_t>(((b * k_w_ + kx) * 4 + q) * 64 + lane * 16 + i * 4 + ky);
                const auto value = static_cast<std::int8_t>(
                    static_cast<std::int16_t>(weights_[static_cast<std::size_t>((ky * k_w_ + kx) * c_padded_ + o)]));
                columns_[at] = value;
                if (!columns_shifted_.empty()) columns_shifted_[at + 1] = value;
              }
  }

  index_t output_channels() const noexcept { return c_out_; }
  index_t channels_padded() const noexcept { return c_padded_; }
  index_t kernel_h() const noexcept { return k_h_; }
  index_t kernel_w() const noexcept { return k_w_; }
  std::int32_t weight_zero_point() const noexcept { return weight_zero_point_; }
  bool empty() const noexcept { return weights_.empty(); }
  const std::int32_t* weights() const noexcept { return weights_.data(); }
  /// Σ_t (w - w_zp) per (padded) channel.
  const std::int32_t* sums() const noexcept { return sums_.data(); }
  /// The VNNI layout of the whole 64-channel blocks (above), or nullptr when w - w_zp leaves int8 or
  /// there is no whole block.
  const std::int8_t* interleaved() const noexcept { return interleaved_.empty() ? nullptr : interleaved_.data(); }
  /// -128 Σ_t (w - w_zp) per (padded) channel, with interleaved().
  const std::int32_t* flip_terms() const noexcept { return flip_terms_.empty() ? nullptr : flip_terms_.data(); }
  /// The VNNI column kernel's layout (kernels/avx512vnni/dwconv_columns_s8s8_s32_c64.hpp), or nullptr: built
  /// with interleaved() when C_out is a multiple of 64 and kh <= column_max_kernel_h. The int8 weights of
  /// kernel rows 0..3 of one column side by side in each 32-bit lane, per 64-channel block and column,
  /// lanes in interleaved()'s channel order.
  const std::int8_t* columns() const noexcept { return columns_.empty() ? nullptr : columns_.data(); }
  /// columns() one byte up in each lane (kernel row ky at byte ky + 1), for kh < 4, or nullptr: the
  /// next output row's weights over the same four input rows.
  const std::int8_t* columns_shifted() const noexcept {
    return columns_shifted_.empty() ? nullptr : columns_shifted_.data();
  }
  static constexpr index_t column_max_kernel_h = 4;

 private:
  index_t k_h_ = 0, k_w_ = 0, c_out_ = 0, c_padded_ = 0, tap_groups_ = 0;
  std::int32_t weight_zero_point_ = 0;
  std::vector<std::int32_t> weights_;
  std::vector<std::int32_t> sums_;
  std::vector<std::int8_t> interleaved_;
  std::vector<std::int32_t> flip_terms_;
  std::vector<std::int8_t> columns_;
  std::vector<std::int8_t> columns_shifted_;
};

/// Packs a [1][kh][kw][C_out] filter for depthwise_conv2d.
template <class W, class L, class Acc>
packed_depthwise_weights pack_depthwise_weights(const tensor_view<W, 4, L, Acc>& filter,
                                                std::int32_t weight_zero_point = 0) {
  return packed_depthwise_weights(filter, weight_zero_point);
}

/// The depthwise kernel depthwise_conv2d runs now (best_isa() under the ceiling): on AVX-512 VNNI the column
/// kernel when the weights have its layout (packed_depthwise_weights::columns()), else the ISA's kernel.
inline const char* selected_kernel_name(const packed_depthwise_weights& weights) {
  const char* name = kernels::selected_kernel_name(depthwise_kernels{}, best_isa(), [&](auto kernel) {
    return !kernels::reads_depthwise_columns_v<decltype(kernel)> || weights.columns() != nullptr;
  });
  return name != nullptr ? name : "none";
}

namespace detail {

struct depthwise_taps_tag {};

template <class Kernel, class Out, class... S>
void run_depthwise(const context& ctx, const std::int8_t* in, index_t batch, index_t in_h, index_t in_w,
                   index_t channels, const packed_depthwise_weights& w, const conv2d_params& p, const conv_geometry& g,
                   const std::int32_t* init, const std::int8_t* pad_row, Out* out, const output_pipeline<S...>& pipeline) {
  const index_t k_h = w.kernel_h(), k_w = w.kernel_w();
  const index_t taps = k_h * k_w;
  const index_t rows = batch * g.out_h;
  // Tasks: a few output rows each, about 4 per thread.
  const int threads = ctx.concurrency();
  const index_t per_task = threads > 1 ? std::max<index_t>(1, rows / (4 * threads)) : rows;
  const index_t tasks = (rows + per_task - 1) / per_task;
  auto task = [&](std::ptrdiff_t t) {
    const std::int8_t** table = conv_scratch<const std::int8_t*, depthwise_taps_tag>(static_cast<std::size_t>(g.out_w * taps));
    const index_t r_end = std::min(rows, (t + 1) * per_task);
    for (index_t r = t * per_task; r < r_end; ++r) {
      const index_t b = r / g.out_h, y = r % g.out_h;
      for (index_t ky = 0; ky < k_h; ++ky) {
        const index_t iy = y * p.stride_h - g.pad_top + ky * p.dilation_h;
        const std::int8_t** entry = table + ky * k_w;
        if (iy < 0 || iy >= in_h) {
          for (index_t x = 0; x < g.out_w; ++x, entry += taps)
            for (index_t kx = 0; kx < k_w; ++kx) entry[kx] = pad_row;
          continue;
        }
        const std::int8_t* row = in + (b * in_h + iy) * in_w * channels;
        const auto border = [&](index_t x) {  // a pixel whose taps may leave the row
          const index_t x0 = x * p.stride_w - g.pad_left;
          const std::int8_t** e = entry + x * taps;
          for (index_t kx = 0; kx < k_w; ++kx) {
            const index_t ix = x0 + kx * p.dilation_w;
            e[kx] = ix >= 0 && ix < in_w ? row + ix * channels : pad_row;
          }
        };
        // Interior pixels [x_lo, x_hi): every tap inside the row, no bounds checks.
        const index_t span = (k_w - 1) * p.dilation_w;
        const index_t x_lo = std::min(g.out_w, (g.pad_left + p.stride_w - 1) / p.stride_w);
        const index_t x_hi = std::max(x_lo, std::min(g.out_w, in_w - span + g.pad_left > 0
                                                                   ? (in_w - span + g.pad_left - 1) / p.stride_w + 1
                                                                   : index_t{0}));
        for (index_t x = 0; x < x_lo; ++x) border(x);
        const std::int8_t* pixel = row + (x_lo * p.stride_w - g.pad_left) * channels;
        const index_t step = p.stride_w * channels, gap = p.dilation_w * channels;
        const std::int8_t** e = entry + x_lo * taps;
        if (k_w == 3) {
          for (index_t x = x_lo; x < x_hi; ++x, e += taps, pixel += step) {
            e[0] = pixel;
            e[1] = pixel + gap;
            e[2] = pixel + 2 * gap;
          }
        } else {
          for (index_t x = x_lo; x < x_hi; ++x, e += taps, pixel += step)
            for (index_t kx = 0; kx < k_w; ++kx) e[kx] = pixel + kx * gap;
        }
        for (index_t x = x_hi; x < g.out_w; ++x) border(x);
      }
      // |Σ_t (x - in_zp)(w - w_zp)| <= taps * 255 * 255: the entry validated both zero points.
      const kernels::dwconv_args<Out> args{table,
                                           g.out_w,
                                           taps,
                                           channels,
                                           w.channels_padded(),
                                           w.weights(),
                                           init,
                                           r * g.out_w,
                                           out + r * g.out_w * channels,
                                           w.interleaved(),
                                           w.flip_terms(),
                                           std::int64_t{taps} * 255 * 255};
      Kernel::run(args, pipeline);
    }
  };
  ctx.run_tasks(tasks, task);
}

struct depthwise_columns_tag {};

/// depthwise_conv2d through the VNNI column kernel (weights.columns() != nullptr, channels = C_out).
/// init holds -(in_zp + 128) Σ_t (w - w_zp) per channel; pad_row one pixel of in_zp values.
template <class Kernel, class Out, class... S>
void run_depthwise_columns(const context& ctx, const std::int8_t* in, index_t batch, index_t in_h, index_t in_w,
                           index_t channels, const packed_depthwise_weights& w, std::int32_t in_zp,
                           const conv2d_params& p, const conv_geometry& g, const std::int32_t* init,
                           const std::int8_t* pad_row, Out* out, const output_pipeline<S...>& pipeline) {
  using kernel = Kernel;
  const index_t k_h = w.kernel_h(), k_w = w.kernel_w();
  const index_t rows = batch * g.out_h;
  const int threads = ctx.concurrency();
  const index_t per_task = threads > 1 ? std::max<index_t>(1, rows / (4 * threads)) : rows;
  const index_t tasks = (rows + per_task - 1) / per_task;
  const index_t count = kernel::column_count(in_w, g.out_w, p.stride_w, p.dilation_w, g.pad_left, k_w);
  auto task = [&](std::ptrdiff_t t) {
    // 64-byte aligned for the kernel's stores.
    std::uint8_t* raw = conv_scratch<std::uint8_t, depthwise_columns_tag>(kernel::scratch_bytes(count) + 64);
    std::uint8_t* scratch = raw + (64 - reinterpret_cast<std::uintptr_t>(raw) % 64) % 64;
    const index_t r_end = std::min(rows, (t + 1) * per_task);
    auto* list = conv_scratch<kernels::dwconv_columns_args<Out>, depthwise_columns_tag>(
        static_cast<std::size_t>(r_end - t * per_task));
    index_t n = 0;
    for (index_t r = t * per_task; r < r_end; ++r) {
      const index_t b = r / g.out_h, y = r % g.out_h;
      // Two output rows over the same four input rows (kernel rows 0..kh-1 and 1..kh).
      const bool pair = w.columns_shifted() != nullptr && p.stride_h == 1 && p.dilation_h == 1 && r + 1 < r_end &&
                        y + 1 < g.out_h;
      kernels::dwconv_columns_args<Out>& args = list[n++];
      args = kernels::dwconv_columns_args<Out>{};
      for (index_t ky = 0; ky < 4; ++ky) {
        const index_t iy = y * p.stride_h - g.pad_top + ky * p.dilation_h;
        const bool inside = (ky < k_h || (pair && ky == k_h)) && iy >= 0 && iy < in_h;
        args.rows[ky] = inside ? in + (b * in_h + iy) * in_w * channels : pad_row;
        args.row_step[ky] = inside ? channels : 0;
      }
      args.in_w = in_w;
      args.channels = channels;
      args.out_w = g.out_w;
      args.stride_w = p.stride_w;
      args.dilation_w = p.dilation_w;
      args.pad_left = g.pad_left;
      args.kernel_w = k_w;
      args.in_zero_point = in_zp;
      args.columns = w.columns();
      args.init = init;
      args.dst = out + r * g.out_w * channels;
      args.scratch = scratch;
      // |Σ_t (x - in_zp)(w - w_zp)| <= taps * 255 * 255: the entry validated both zero points.
      args.accumulator_bound = std::int64_t{k_h * k_w} * 255 * 255;
      if (pair) {
        args.columns_shifted = w.columns_shifted();
        args.dst2 = args.dst + g.out_w * channels;
        ++r;
      }
    }
    kernel::run(list, n, pipeline);
  };
  ctx.run_tasks(tasks, task);
}

}  // namespace detail

/// out = pipeline(depthwise(in - in_zp, w - w_zp)) in NHWC. See the top of this header.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void depthwise_conv2d(const context& ctx, const quantized_operand<tensor_view<A, 4, LA, AA>>& input,
                      const packed_depthwise_weights& weights, const tensor_view<D, 4, LD, AD>& output,
                      const conv2d_params& params, const output_pipeline<S...>& pipeline) {
  static_assert(std::is_same_v<std::remove_const_t<A>, std::int8_t>,
                "qsparse::depthwise_conv2d: the input must be a 4-D NHWC view of std::int8_t.");
  static_assert(std::is_same_v<typename output_pipeline<S...>::accumulator_type, std::int32_t>,
                "qsparse::depthwise_conv2d: the int8 depthwise convolution accumulates in int32, so its pipeline must "
                "start with an int32 stage.");
  using out_t = typename output_pipeline<S...>::output_type;
  static_assert(std::is_same_v<D, out_t>,
                "qsparse::depthwise_conv2d: the output pipeline does not produce the output's element type: end the "
                "pipeline with saturating_cast<T> for an int8/uint8/int16 output, dequantize_float for float, or use "
                "an int32 output for the empty pipeline.");
  const char* fn = "qsparse::depthwise_conv2d";
  const auto& in = input.view;
  detail::check(!weights.empty(), fn, ": the packed weights are empty");
  const index_t batch = in.extent(0), in_h = in.extent(1), in_w = in.extent(2), c_in = in.extent(3);
  const index_t c_out = weights.output_channels();
  detail::check(batch >= 1 && c_in >= 1, fn, ": batch and C_in must be >= 1, got ", batch, ", ", c_in);
  detail::check(c_out % c_in == 0, fn, ": the filter's C_out = ", c_out,
                " must be a multiple of the input's C_in = ", c_in, " (C_out = C_in * depth_multiplier)");
  const index_t multiplier = c_out / c_in;
  const conv_geometry g = conv_output_geometry(params, in_h, in_w, weights.kernel_h(), weights.kernel_w(), fn);
  detail::check(output.extent(0) == batch && output.extent(1) == g.out_h && output.extent(2) == g.out_w &&
                    output.extent(3) == c_out,
                fn, ": output is ", output.extent(0), " x ", output.extent(1), " x ", output.extent(2), " x ",
                output.extent(3), ", expected N x OH x OW x C_out = ", batch, " x ", g.out_h, " x ", g.out_w, " x ",
                c_out);
  detail::check_dense_nhwc(in, fn, "input");
  detail::check_dense_nhwc(output, fn, "output");
  detail::check_no_overlap(fn, "output", output, "input", in);
  detail::check(input.zero_point >= -128 && input.zero_point <= 127, fn,
                ": input zero point must be in [-128, 127], got ", input.zero_point);
  validate(pipeline, c_out, fn);
  if constexpr (detail::pipeline_has_custom_stage_v<output_pipeline<S...>>) {
    // A stage of the caller's own: the kernels write raw accumulators, its scalar definition the output.
    detail::run_with_scalar_epilogue<std::int32_t>(output, pipeline, [&](const auto& raw) {
      depthwise_conv2d(ctx, input, weights, raw, params, output_pipeline<>{});
    });
  } else {
    // The kernels add init + Σ x*w modulo 2^32, exact when the true sum fits int32.
    const std::int64_t bound = static_cast<std::int64_t>(weights.kernel_h() * weights.kernel_w()) *
                               detail::max_distance<std::int8_t>(input.zero_point) *
                               detail::max_distance<std::int8_t>(weights.weight_zero_point());
    detail::check(bound <= std::numeric_limits<std::int32_t>::max(), fn, ": kh * kw = ",
                  weights.kernel_h() * weights.kernel_w(), " taps are too many for an exact int32 accumulator");

    const std::int8_t* data = &in(0, 0, 0, 0);
    std::vector<std::int8_t> repeated;
    if (multiplier > 1) {  // channel o reads input channel o / dm: repeat each input channel dm times
      const index_t pixels = batch * in_h * in_w;
      repeated.resize(static_cast<std::size_t>(pixels * c_out));
      for (index_t i = 0; i < pixels; ++i)
        for (index_t o = 0; o < c_out; ++o)
          repeated[static_cast<std::size_t>(i * c_out + o)] = data[i * c_in + o / multiplier];
      data = repeated.data();
    }
    std::vector<std::int32_t> init(static_cast<std::size_t>(weights.channels_padded()));
    for (std::size_t o = 0; o < init.size(); ++o)
      init[o] = static_cast<std::int32_t>(-std::int64_t{input.zero_point} * weights.sums()[o]);
    const std::vector<std::int8_t> pad_row(static_cast<std::size_t>(weights.channels_padded()),
                                           static_cast<std::int8_t>(input.zero_point));
    out_t* out = &output(0, 0, 0, 0);
    kernels::with_selected_kernel(
        depthwise_kernels{}, best_isa(),
        [&](auto kernel) { return !kernels::reads_depthwise_columns_v<decltype(kernel)> || weights.columns() != nullptr; },
        [&](auto kernel) {
          using K = decltype(kernel);
          if constexpr (kernels::reads_depthwise_columns_v<K>) {
            std::vector<std::int32_t> column_init(init.size());
            for (std::size_t o = 0; o < init.size(); ++o)
              column_init[o] = static_cast<std::int32_t>(static_cast<std::uint32_t>(init[o]) +
                                                         static_cast<std::uint32_t>(weights.flip_terms()[o]));
            detail::run_depthwise_columns<K>(ctx, data, batch, in_h, in_w, c_out, weights, input.zero_point, params, g,
                                             column_init.data(), pad_row.data(), out, pipeline);
          } else {
            detail::run_depthwise<K>(ctx, data, batch, in_h, in_w, c_out, weights, params, g, init.data(),
                                     pad_row.data(), out, pipeline);
          }
        });
  }
}

// A view of another rank: this takes views of any rank, so a call with a 2-D or 3-D view meets one
// sentence instead of the list of candidates. For 4-D views the overload above is more specialised and
// always wins; this one is never chosen for a call that compiles.

/// Rank check of depthwise_conv2d(ctx, quantized(input, in_zp), packed, output, params, pipeline).
template <class A, std::size_t RA, class LA, class AA, class D, std::size_t RD, class LD, class AD, class... S>
void depthwise_conv2d(const context&, const quantized_operand<tensor_view<A, RA, LA, AA>>&,
                      const packed_depthwise_weights&, const tensor_view<D, RD, LD, AD>&, const conv2d_params&,
                      const output_pipeline<S...>&) {
  static_assert(RA == 4 && RD == 4,
                "qsparse::depthwise_conv2d: the input and the output must be 4-D NHWC views ([N][H][W][C]; a "
                "single image is N = 1).");
}

}  // namespace qsparse
