// qsparse/conv/reference.hpp — the definition of every convolution-family result, in the plainest
// code, following TFLite's reference integer kernels (docs/conv.md). Every fast path (conv2d,
// depthwise_conv2d, max_pool2d, average_pool2d, add) is tested bit-exact against these.
//
//   reference_conv2d(quantized(in, in_zp), quantized(filter, w_zp), groups, out, params, pipeline)
//     in NHWC [N][H][W][C_in], filter OHWI [C_out][kh][kw][C_in / groups], out NHWC [N][OH][OW][C_out];
//     output channel o reads input channels [g * C_in/groups, (g + 1) * C_in/groups), g = o / (C_out/groups);
//     out[b][y][x][o] = evaluate(pipeline, Σ_{ky,kx,c} (in - in_zp) * (w - w_zp), m, o) with
//     m = (b * OH + y) * OW + x; taps outside the image are skipped (= padding with in_zp).
//   reference_depthwise_conv2d(quantized(in, in_zp), quantized(filter, w_zp), out, params, pipeline)
//     filter [1][kh][kw][C_out], C_out = C_in * depth_multiplier, output channel o reads input
//     channel o / depth_multiplier (TFLite's order).
//   reference_max_pool2d / reference_average_pool2d(in, out, pool, act_min, act_max)
//     int8, per channel over the taps inside the image; average rounds half away from zero
//     (acc > 0 ? (acc + n/2) / n : (acc - n/2) / n, C++ division), both clamp to [act_min, act_max].
//   reference_add(a, b, out, add_params)   TFLite's int8 ADD (left shift 20, per-input multipliers).
// Sums are formed in int64 and must fit int32 (checked per element here).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/spec/add_params.hpp"
#include "qsparse/spec/conv_params.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/pool_params.hpp"

namespace qsparse {

/// The definition of conv2d (see the top of this header).
template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD, class... S>
void reference_conv2d(const quantized_operand<tensor_view<A, 4, LA, AA>>& input,
                      const quantized_operand<tensor_view<W, 4, LW, AW>>& filter, index_t groups,
                      const tensor_view<D, 4, LD, AD>& output, const conv2d_params& params,
                      const output_pipeline<S...>& pipeline) {
  const char* fn = "qsparse::reference_conv2d";
  const auto& in = input.view;
  const auto& w = filter.view;
  const index_t batch = in.extent(0), in_h = in.extent(1), in_w = in.extent(2), c_in = in.extent(3);
  const index_t c_out = w.extent(0), k_h = w.extent(1), k_w = w.extent(2), c_in_group = w.extent(3);
  detail::check(groups >= 1 && c_in_group * groups == c_in && c_out % groups == 0, fn,
                ": channels must split into groups: C_in = ", c_in, ", filter C_in = ", c_in_group, ", C_out = ", c_out,
                ", groups = ", groups);
  const conv_geometry g = conv_output_geometry(params, in_h, in_w, k_h, k_w, fn);
  detail::check(output.extent(0) == batch && output.extent(1) == g.out_h && output.extent(2) == g.out_w &&
                    output.extent(3) == c_out,
                fn, ": output shape does not match");
  const index_t c_out_group = c_out / groups;
  for (index_t b = 0; b < batch; ++b) {
    for (index_t y = 0; y < g.out_h; ++y) {
      for (index_t x = 0; x < g.out_w; ++x) {
        for (index_t o = 0; o < c_out; ++o) {
          const index_t group = o / c_out_group;
          std::int64_t acc = 0;
          for (index_t ky = 0; ky < k_h; ++ky) {
            const index_t iy = y * params.stride_h - g.pad_top + ky * params.dilation_h;
            if (iy < 0 || iy >= in_h) continue;
            for (index_t kx = 0; kx < k_w; ++kx) {
              const index_t ix = x * params.stride_w - g.pad_left + kx * params.dilation_w;
              if (ix < 0 || ix >= in_w) continue;
              for (index_t c = 0; c < c_in_group; ++c) {
                const std::int64_t xv = std::int64_t{in(b, iy, ix, group * c_in_group + c)} - input.zero_point;
                const std::int64_t wv = std::int64_t{w(o, ky, kx, c)} - filter.zero_point;
                acc += xv * wv;
              }
            }
          }
          detail::check(acc >= std::numeric_limits<std::int32_t>::min() && acc <= std::numeric_limits<std::int32_t>::max(),
                        fn, ": the exact sum ", acc, " does not fit int32");
          const index_t m = (b * g.out_h + y) * g.out_w + x;
          output(b, y, x, o) = evaluate(pipeline, static_cast<std::int32_t>(acc), m, o);
        }
      }
    }
  }
}

/// The definition of depthwise_conv2d (see the top of this header).
template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD, class... S>
void reference_depthwise_conv2d(const quantized_operand<tensor_view<A, 4, LA, AA>>& input,
                                const quantized_operand<tensor_view<W, 4, LW, AW>>& filter,
                                const tensor_view<D, 4, LD, AD>& output, const conv2d_params& params,
                                const output_pipeline<S...>& pipeline) {
  const char* fn = "qsparse::reference_depthwise_conv2d";
  const auto& in = input.view;
  const auto& w = filter.view;
  const index_t batch = in.extent(0), in_h = in.extent(1), in_w = in.extent(2), c_in = in.extent(3);
  const index_t k_h = w.extent(1), k_w = w.extent(2), c_out = w.extent(3);
  detail::check(w.extent(0) == 1 && c_in >= 1 && c_out % c_in == 0, fn,
                ": filter must be [1][kh][kw][C_in * depth_multiplier]");
  const index_t multiplier = c_out / c_in;
  const conv_geometry g = conv_output_geometry(params, in_h, in_w, k_h, k_w, fn);
  detail::check(output.extent(0) == batch && output.extent(1) == g.out_h && output.extent(2) == g.out_w &&
                    output.extent(3) == c_out,
                fn, ": output shape does not match");
  for (index_t b = 0; b < batch; ++b) {
    for (index_t y = 0; y < g.out_h; ++y) {
      for (index_t x = 0; x < g.out_w; ++x) {
        for (index_t o = 0; o < c_out; ++o) {
          std::int64_t acc = 0;
          for (index_t ky = 0; ky < k_h; ++ky) {
            const index_t iy = y * params.stride_h - g.pad_top + ky * params.dilation_h;
            if (iy < 0 || iy >= in_h) continue;
            for (index_t kx = 0; kx < k_w; ++kx) {
              const index_t ix = x * params.stride_w - g.pad_left + kx * params.dilation_w;
              if (ix < 0 || ix >= in_w) continue;
              acc += (std::int64_t{in(b, iy, ix, o / multiplier)} - input.zero_point) *
                     (std::int64_t{w(0, ky, kx, o)} - filter.zero_point);
            }
          }
          detail::check(acc >= std::numeric_limits<std::int32_t>::min() && acc <= std::numeric_limits<std::int32_t>::max(),
                        fn, ": the exact sum ", acc, " does not fit int32");
          const index_t m = (b * g.out_h + y) * g.out_w + x;
          output(b, y, x, o) = evaluate(pipeline, static_cast<std::int32_t>(acc), m, o);
        }
      }
    }
  }
}

namespace detail {

template <bool Average, class I, class O>
void reference_pool(const char* fn, const I& in, const O& output, const pool2d_params& pool, std::int32_t act_min,
                    std::int32_t act_max) {
  const index_t batch = in.extent(0), in_h = in.extent(1), in_w = in.extent(2), channels = in.extent(3);
  const conv_geometry g = pool_output_geometry(pool, in_h, in_w, fn);
  check(output.extent(0) == batch && output.extent(1) == g.out_h && output.extent(2) == g.out_w &&
            output.extent(3) == channels,
        fn, ": output shape does not match");
  for (index_t b = 0; b < batch; ++b) {
    for (index_t y = 0; y < g.out_h; ++y) {
      for (index_t x = 0; x < g.out_w; ++x) {
        const index_t y0 = y * pool.stride_h - g.pad_top;
        const index_t x0 = x * pool.stride_w - g.pad_left;
        const index_t fy_begin = std::max<index_t>(0, -y0), fy_end = std::min<index_t>(pool.filter_h, in_h - y0);
        const index_t fx_begin = std::max<index_t>(0, -x0), fx_end = std::min<index_t>(pool.filter_w, in_w - x0);
        for (index_t c = 0; c < channels; ++c) {
          std::int32_t acc = Average ? 0 : std::numeric_limits<std::int8_t>::lowest();
          std::int32_t count = 0;
          for (index_t fy = fy_begin; fy < fy_end; ++fy) {
            for (index_t fx = fx_begin; fx < fx_end; ++fx) {
              const std::int32_t v = in(b, y0 + fy, x0 + fx, c);
              acc = Average ? acc + v : std::max(acc, v);
              ++count;
            }
          }
          check(count > 0, fn, ": a pooling window holds no input pixel");
          if (Average) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          acc = std::min(std::max(acc, act_min), act_max);
          output(b, y, x, c) = static_cast<std::int8_t>(acc);
        }
      }
    }
  }
}

}  // namespace detail

/// TFLite's int8 MaxPool: the largest input over the window's taps inside the image, clamped.
template <class I, class LI, class AI, class O, class LO, class AO>
void reference_max_pool2d(const tensor_view<I, 4, LI, AI>& input, const tensor_view<O, 4, LO, AO>& output,
                          const pool2d_params& pool, std::int32_t act_min = -128, std::int32_t act_max = 127) {
  detail::reference_pool<false>("qsparse::reference_max_pool2d", input, output, pool, act_min, act_max);
}

/// TFLite's int8 AveragePool: the mean over the taps inside the image, rounded half away from zero, clamped.
template <class I, class LI, class AI, class O, class LO, class AO>
void reference_average_pool2d(const tensor_view<I, 4, LI, AI>& input, const tensor_view<O, 4, LO, AO>& output,
                              const pool2d_params& pool, std::int32_t act_min = -128, std::int32_t act_max = 127) {
  detail::reference_pool<true>("qsparse::reference_average_pool2d", input, output, pool, act_min, act_max);
}

/// TFLite's int8 ADD on one pair of values (add_params from add_params::from_scales).
constexpr std::int8_t reference_add_value(std::int8_t a, std::int8_t b, const add_params& p) noexcept {
  const std::int32_t a_shifted = (std::int32_t{a} + p.input1_offset) * (std::int32_t{1} << p.left_shift);
  const std::int32_t b_shifted = (std::int32_t{b} + p.input2_offset) * (std::int32_t{1} << p.left_shift);
  const std::int32_t a_scaled = detail::multiply_by_quantized_multiplier(a_shifted, p.input1_multiplier, p.input1_shift);
  const std::int32_t b_scaled = detail::multiply_by_quantized_multiplier(b_shifted, p.input2_multiplier, p.input2_shift);
  const std::int32_t raw =
      detail::multiply_by_quantized_multiplier(a_scaled + b_scaled, p.output_multiplier, p.output_shift) +
      p.output_offset;
  return static_cast<std::int8_t>(std::min(std::max(raw, p.activation_min), p.activation_max));
}

/// TFLite's int8 ADD, element by element over `count` values (same shapes, no broadcasting).
inline void reference_add(const std::int8_t* a, const std::int8_t* b, std::int8_t* out, std::ptrdiff_t count,
                          const add_params& p) {
  for (std::ptrdiff_t i = 0; i < count; ++i) out[i] = reference_add_value(a[i], b[i], p);
}

}  // namespace qsparse
