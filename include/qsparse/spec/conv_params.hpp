// qsparse/spec/conv_params.hpp — the geometry of a 2-D convolution or pooling window on NHWC tensors:
// strides, dilations, padding (TFLite's arithmetic, kernels/padding.h; docs/conv.md), and the output size they give.
//
//   qsparse::conv2d_params p{};                       // stride 1, dilation 1, VALID
//   p.stride_h = p.stride_w = 2;
//   p.padding = qsparse::padding::same();             // or padding::valid(), padding::explicit_pads(t, b, l, r)
//   qsparse::conv_geometry g = qsparse::conv_output_geometry(p, in_h, in_w, k_h, k_w, "my_fn");
//   // g.out_h, g.out_w, g.pad_top, g.pad_left (bottom/right follow from the sizes)
//
// TFLite (kernels/padding.h): effective kernel e = (k - 1) * d + 1;
//   SAME:     out = ceil(in / s); total = max((out - 1) * s + e - in, 0); top/left = total / 2 (the odd
//             extra goes to bottom/right);
//   VALID:    out = floor((in - e) / s) + 1 (no padding);
//   explicit: out = floor((in + top + bottom - e) / s) + 1.
// An input tap outside the image contributes as the input zero point would (i.e. it is skipped).
// A geometry that leaves no output (out <= 0), strides or dilations <= 0, negative explicit pads and
// pads as large as the effective kernel are errors naming the argument and the value; so are strides,
// dilations and effective kernels above 2^31 - 1 (TFLite's int32 geometry), and every product or sum of
// them that would overflow (core/checked.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>

#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

/// How the border of the image is padded.
enum class padding_kind : std::uint8_t { valid, same, explicit_pads };

/// A padding rule: VALID, SAME (TFLite's split) or explicit pads on each side.
struct padding {
  padding_kind kind = padding_kind::valid;
  index_t top = 0, bottom = 0, left = 0, right = 0;

  static constexpr padding valid() noexcept { return {padding_kind::valid, 0, 0, 0, 0}; }
  static constexpr padding same() noexcept { return {padding_kind::same, 0, 0, 0, 0}; }
  static constexpr padding explicit_pads(index_t top, index_t bottom, index_t left, index_t right) noexcept {
    return {padding_kind::explicit_pads, top, bottom, left, right};
  }
};

/// Strides, dilations and padding of a convolution (NHWC; the same for depthwise).
struct conv2d_params {
  index_t stride_h = 1;
  index_t stride_w = 1;
  index_t dilation_h = 1;
  index_t dilation_w = 1;
  padding pad = padding::valid();
};

/// The output size and the top/left padding a conv2d_params gives for one input size and kernel.
struct conv_geometry {
  index_t out_h = 0, out_w = 0;
  index_t pad_top = 0, pad_left = 0;
};

namespace detail {

/// The largest stride, dilation, effective kernel and pad (TFLite's int32 geometry).
inline constexpr index_t max_geometry = 2147483647;

/// Output size along one axis and the leading pad; `axis` is "height" or "width" for messages.
inline std::pair<index_t, index_t> conv_axis(const char* fn, const char* axis, const padding& pad, index_t in,
                                             index_t kernel, index_t stride, index_t dilation, index_t lead,
                                             index_t trail) {
  // Every sum and product of caller values is checked (core/checked.hpp): a dilation near 2^62 must be an
  // error, not a wrapped-around small kernel.
  const bool height = axis[0] == 'h';
  const std::int64_t dilated = checked_mul(fn, height ? "(kernel_h - 1) * dilation_h" : "(kernel_w - 1) * dilation_w",
                                           kernel - 1, dilation);
  const std::int64_t effective64 =
      checked_add(fn, height ? "the effective kernel height" : "the effective kernel width", dilated, 1);
  check(effective64 <= max_geometry, fn, ": the effective kernel ", axis, " (kernel - 1) * dilation + 1 = (", kernel,
        " - 1) * ", dilation, " + 1 = ", effective64, " exceeds 2^31 - 1");
  const auto effective = static_cast<index_t>(effective64);  // <= 2^31 - 1: fits
  index_t out = 0;
  index_t pad_lead = 0;
  switch (pad.kind) {
    case padding_kind::same: {
      out = in / stride + (in % stride != 0 ? 1 : 0);  // ceil(in / stride) without forming in + stride - 1
      // (out - 1) * stride < in, so the total is below the effective kernel and fits.
      const index_t total = ((out - 1) * stride - in) + effective;
      pad_lead = total > 0 ? total / 2 : 0;
      break;
    }
    case padding_kind::valid:
      out = in >= effective ? (in - effective) / stride + 1 : 0;
      break;
    case padding_kind::explicit_pads: {
      check(lead >= 0 && trail >= 0, fn, ": explicit padding must be >= 0, got ", axis, " pads = ", lead, ", ", trail);
      check(lead < effective && trail < effective, fn, ": explicit ", axis,
            " pads must be smaller than the effective kernel (", effective, "), got ", lead, ", ", trail);
      const char* what = height ? "in_h + pad_top + pad_bottom" : "in_w + pad_left + pad_right";
      const index_t padded = checked_index(fn, what, checked_add(fn, what, checked_add(fn, what, in, lead), trail));
      out = padded >= effective ? (padded - effective) / stride + 1 : 0;
      pad_lead = lead;
      break;
    }
  }
  check(out > 0, fn, ": the padding leaves no output along the ", axis, ": input ", axis, " = ", in,
        ", effective kernel = ", effective, " (kernel ", kernel, ", dilation ", dilation, "), stride = ", stride);
  return {out, pad_lead};
}

}  // namespace detail

/// The output geometry of `params` on an in_h × in_w image with a k_h × k_w kernel; throws
/// qsparse::error (prefixed with `fn`) on strides/dilations <= 0, kernels <= 0 or no output.
inline conv_geometry conv_output_geometry(const conv2d_params& params, index_t in_h, index_t in_w, index_t k_h,
                                          index_t k_w, const char* fn) {
  detail::check(params.stride_h >= 1, fn, ": stride_h must be >= 1, got stride_h = ", params.stride_h);
  detail::check(params.stride_w >= 1, fn, ": stride_w must be >= 1, got stride_w = ", params.stride_w);
  detail::check(params.dilation_h >= 1, fn, ": dilation_h must be >= 1, got dilation_h = ", params.dilation_h);
  detail::check(params.dilation_w >= 1, fn, ": dilation_w must be >= 1, got dilation_w = ", params.dilation_w);
  // TFLite's geometry is int32; bounding strides, dilations and effective kernels (hence pads) by it keeps
  // every offset the drivers form from them (stride * channels, x * stride - pad, ...) inside int64.
  constexpr index_t limit = detail::max_geometry;
  detail::check(params.stride_h <= limit && params.stride_w <= limit, fn, ": strides must be at most 2^31 - 1, got ",
                "stride_h = ", params.stride_h, ", stride_w = ", params.stride_w);
  detail::check(params.dilation_h <= limit && params.dilation_w <= limit, fn,
                ": dilations must be at most 2^31 - 1, got dilation_h = ", params.dilation_h,
                ", dilation_w = ", params.dilation_w);
  detail::check(k_h >= 1 && k_w >= 1, fn, ": the kernel must be at least 1 x 1, got ", k_h, " x ", k_w);
  detail::check(in_h >= 1 && in_w >= 1, fn, ": the input image must be at least 1 x 1, got ", in_h, " x ", in_w);
  const padding& p = params.pad;
  const auto [out_h, top] =
      detail::conv_axis(fn, "height", p, in_h, k_h, params.stride_h, params.dilation_h, p.top, p.bottom);
  const auto [out_w, left] =
      detail::conv_axis(fn, "width", p, in_w, k_w, params.stride_w, params.dilation_w, p.left, p.right);
  return {out_h, out_w, top, left};
}

// The per-group offsetting of a pipeline's per-column data (detail::offset_pipeline) is declared by each
// stage: qsparse/spec/output_stages.hpp.
}  // namespace qsparse
