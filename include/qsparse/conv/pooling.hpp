// qsparse/conv/pooling.hpp — int8 max and average pooling on NHWC tensors, TFLite-exact.
//
//   qsparse::pool2d_params pool{2, 2, 2, 2, qsparse::padding::valid()};   // 2x2 window, stride 2
//   qsparse::max_pool2d(ctx, input, output, pool);                         // optional act_min, act_max
//   qsparse::average_pool2d(ctx, input, output, pool, act_min, act_max);
//
// Bit for bit as reference_max_pool2d / reference_average_pool2d (qsparse/conv/reference.hpp, TFLite's
// integer_ops/pooling.h): per output pixel and channel, over the window's taps inside the image (taps in
// the padding are skipped, not counted), the maximum, or the sum divided by the number of taps with
// rounding half away from zero; then clamped to [act_min, act_max] (the fused activation; TFLite
// requires the same scale and zero point on input and output). Input and output are dense NHWC int8,
// [N][H][W][C] and [N][OH][OW][C] with OH, OW from pool_output_geometry.
// The kernels (kernels/<isa>/pool_s8.hpp) run on best_isa(); tasks are ranges of output rows.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "qsparse/conv/conv2d.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/pool_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/spec/pool_args.hpp"
#include "qsparse/spec/pool_params.hpp"

namespace qsparse {

/// The pooling kernel max_pool2d and average_pool2d run at ISA level `isa` (the last of
/// kernels::pool_kernels that `isa` runs).
inline const char* pooling_kernel_name(isa_level isa) {
  const char* name = kernels::selected_kernel_name(kernels::pool_kernels{}, isa, [](auto) { return true; });
  return name != nullptr ? name : "none";
}

namespace detail {

struct pool_taps_tag {};

/// Whether Kernel has max_run (a run of whole windows in one call, pool_run_args).
template <class Kernel, class = void>
struct has_max_run : std::false_type {};
template <class Kernel>
struct has_max_run<Kernel, std::void_t<decltype(Kernel::max_run(std::declval<const kernels::pool_run_args&>()))>>
    : std::true_type {};

template <class Kernel, bool Average>
void run_pool(const context& ctx, const std::int8_t* in, index_t batch, index_t in_h, index_t in_w, index_t channels,
              const pool2d_params& pool, const conv_geometry& g, std::int32_t act_min, std::int32_t act_max,
              std::int8_t* out) {
  const index_t rows = batch * g.out_h;
  const int threads = ctx.concurrency();
  const index_t per_task = threads > 1 ? std::max<index_t>(1, rows / (4 * threads)) : rows;
  const index_t tasks = (rows + per_task - 1) / per_task;
  auto task = [&](std::ptrdiff_t t) {
    const std::int8_t** taps =
        conv_scratch<const std::int8_t*, pool_taps_tag>(static_cast<std::size_t>(pool.filter_h * pool.filter_w));
    const index_t r_end = std::min(rows, (t + 1) * per_task);
    for (index_t r = t * per_task; r < r_end; ++r) {
      const index_t b = r / g.out_h, y = r % g.out_h;
      const index_t y0 = y * pool.stride_h - g.pad_top;
      const index_t fy_begin = std::max<index_t>(0, -y0), fy_end = std::min<index_t>(pool.filter_h, in_h - y0);
      // Max pooling with a kernel that has max_run: the pixels whose windows lie wholly inside the input,
      // [x_lo, x_hi), in one call (a call and a tap list per pixel cost more than the pixel's maxima).
      index_t x_lo = g.out_w, x_hi = g.out_w;
      if constexpr (!Average && has_max_run<Kernel>::value) {
        if (fy_begin == 0 && fy_end == pool.filter_h) {
          x_lo = std::min<index_t>(g.out_w, (g.pad_left + pool.stride_w - 1) / pool.stride_w);
          x_hi = in_w - pool.filter_w + g.pad_left < 0
                     ? x_lo
                     : std::max(x_lo, std::min<index_t>(g.out_w, (in_w - pool.filter_w + g.pad_left) / pool.stride_w + 1));
          if (x_hi > x_lo) {
            const kernels::pool_run_args run{in + ((b * in_h + y0) * in_w + x_lo * pool.stride_w - g.pad_left) * channels,
                                             x_hi - x_lo,
                                             pool.stride_w * channels,
                                             in_w * channels,
                                             pool.filter_h,
                                             pool.filter_w,
                                             channels,
                                             act_min,
                                             act_max,
                                             out + (r * g.out_w + x_lo) * channels};
            Kernel::max_run(run);
          }
        }
      }
      for (index_t x = 0; x < g.out_w; ++x) {
        if (x == x_lo && x_hi > x_lo) {
          x = x_hi - 1;
          continue;
        }
        const index_t x0 = x * pool.stride_w - g.pad_left;
        const index_t fx_begin = std::max<index_t>(0, -x0), fx_end = std::min<index_t>(pool.filter_w, in_w - x0);
        index_t count = 0;
        for (index_t fy = fy_begin; fy < fy_end; ++fy)
          for (index_t fx = fx_begin; fx < fx_end; ++fx)
            taps[count++] = in + ((b * in_h + y0 + fy) * in_w + x0 + fx) * channels;
        const kernels::pool_args args{taps, count, channels, act_min, act_max, out + (r * g.out_w + x) * channels};
        if constexpr (Average) {
          Kernel::average(args);
        } else {
          Kernel::max(args);
        }
      }
    }
  };
  ctx.run_tasks(tasks, task);
}

template <bool Average, class I, class O>
void pool2d(const char* fn, const context& ctx, const I& input, const O& output, const pool2d_params& pool,
            std::int32_t act_min, std::int32_t act_max) {
  static_assert(std::is_same_v<std::remove_const_t<typename I::element_type>, std::int8_t> &&
                    std::is_same_v<typename O::element_type, std::int8_t>,
                "qsparse pooling: input and output must be 4-D NHWC views of std::int8_t (output not const).");
  const index_t batch = input.extent(0), in_h = input.extent(1), in_w = input.extent(2), channels = input.extent(3);
  check(batch >= 1 && channels >= 1, fn, ": batch and channels must be >= 1, got ", batch, ", ", channels);
  const conv_geometry g = pool_output_geometry(pool, in_h, in_w, fn);
  check(pool.pad.kind != padding_kind::explicit_pads || (pool.pad.top < pool.filter_h && pool.pad.bottom < pool.filter_h &&
                                                        pool.pad.left < pool.filter_w && pool.pad.right < pool.filter_w),
        fn, ": explicit pads must be smaller than the filter so that every window holds an input pixel");
  check(output.extent(0) == batch && output.extent(1) == g.out_h && output.extent(2) == g.out_w &&
            output.extent(3) == channels,
        fn, ": output is ", output.extent(0), " x ", output.extent(1), " x ", output.extent(2), " x ", output.extent(3),
        ", expected N x OH x OW x C = ", batch, " x ", g.out_h, " x ", g.out_w, " x ", channels);
  check(act_min >= -128 && act_max <= 127 && act_min <= act_max, fn,
        ": the activation range must be inside [-128, 127] with act_min <= act_max, got act_min = ", act_min,
        ", act_max = ", act_max);
  check_dense_nhwc(input, fn, "input");
  check_dense_nhwc(output, fn, "output");
  check_no_overlap(fn, "output", output, "input", input);
  const std::int8_t* in = &input(0, 0, 0, 0);
  std::int8_t* out = &output(0, 0, 0, 0);
  kernels::with_best_kernel(kernels::pool_kernels{}, best_isa(), [&](auto kernel) {
    run_pool<decltype(kernel), Average>(ctx, in, batch, in_h, in_w, channels, pool, g, act_min, act_max, out);
  });
}

}  // namespace detail

/// TFLite's int8 MaxPool2D on NHWC (see the top of this header).
template <class I, class LI, class AI, class O, class LO, class AO>
void max_pool2d(const context& ctx, const tensor_view<I, 4, LI, AI>& input, const tensor_view<O, 4, LO, AO>& output,
                const pool2d_params& pool, std::int32_t act_min = -128, std::int32_t act_max = 127) {
  detail::pool2d<false>("qsparse::max_pool2d", ctx, input, output, pool, act_min, act_max);
}

/// TFLite's int8 AveragePool2D on NHWC (see the top of this header).
template <class I, class LI, class AI, class O, class LO, class AO>
void average_pool2d(const context& ctx, const tensor_view<I, 4, LI, AI>& input, const tensor_view<O, 4, LO, AO>& output,
                    const pool2d_params& pool, std::int32_t act_min = -128, std::int32_t act_max = 127) {
  detail::pool2d<true>("qsparse::average_pool2d", ctx, input, output, pool, act_min, act_max);
}

}  // namespace qsparse
