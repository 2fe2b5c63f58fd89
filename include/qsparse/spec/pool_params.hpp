// qsparse/spec/pool_params.hpp — the window of a 2-D pooling on NHWC int8 tensors.
//
//   qsparse::pool2d_params pool{3, 3, 2, 2, qsparse::padding::same()};   // filter 3x3, stride 2, SAME
//   qsparse::conv_geometry g = qsparse::pool_output_geometry(pool, in_h, in_w, "my_fn");
//
// TFLite's pooling uses the convolution padding arithmetic with dilation 1 (qsparse/spec/conv_params.hpp);
// every window must hold at least one input pixel (explicit pads smaller than the filter guarantee it).
#pragma once

#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"
#include "qsparse/spec/conv_params.hpp"

namespace qsparse {

/// Filter size, strides and padding of a pooling window.
struct pool2d_params {
  index_t filter_h = 1;
  index_t filter_w = 1;
  index_t stride_h = 1;
  index_t stride_w = 1;
  padding pad = padding::valid();
};

/// The output geometry of `pool` on an in_h × in_w image; throws qsparse::error prefixed with `fn`.
inline conv_geometry pool_output_geometry(const pool2d_params& pool, index_t in_h, index_t in_w, const char* fn) {
  detail::check(pool.filter_h >= 1 && pool.filter_w >= 1, fn, ": the pooling filter must be at least 1 x 1, got ",
                pool.filter_h, " x ", pool.filter_w);
  detail::check(detail::checked_mul(fn, "filter_h * filter_w", pool.filter_h, pool.filter_w) <= 65536, fn, ": the pooling filter may hold at most 65536 taps, got ",
                pool.filter_h, " x ", pool.filter_w);
  conv2d_params p{};
  p.stride_h = pool.stride_h;
  p.stride_w = pool.stride_w;
  p.pad = pool.pad;
  return conv_output_geometry(p, in_h, in_w, pool.filter_h, pool.filter_w, fn);
}

}  // namespace qsparse
