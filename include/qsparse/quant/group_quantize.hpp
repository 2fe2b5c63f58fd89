// qsparse/quant/group_quantize.hpp — group-wise quantization of a matrix: parameters, quantize, dequantize.
//
//   using w4 = qsparse::scheme<qsparse::int4, qsparse::per_group<qsparse::float16>, qsparse::symmetric,
//                              qsparse::round_half_to_even>;
//   // w: N x K float weights, groups of 32 along the reduction axis 1
//   std::vector<qsparse::float16> scale(N * K / 32);
//   auto p = qsparse::choose_group_params<w4>(w, 1, 32, scale.data(), nullptr);      // round to nearest
//   std::vector<std::uint8_t> bytes(N * qsparse::packed_bytes<qsparse::int4>(K));
//   qsparse::sub_byte_view<qsparse::int4, std::uint8_t> q(bytes.data(), N, K, 1);   // packed along K
//   qsparse::quantize<w4>(w, q, p);
//   qsparse::dequantize<w4>(q, w_out, p);
//
// Per element (r, c) in group g (qsparse/quant/params.hpp gives g), with s = float(scale[g]) and zp the
// group's zero point (the symmetric one when zero_point is null), the rules are quantize_value /
// dequantize_value of the scheme: the same functions the per-tensor and per-channel paths use, so NaN
// goes to the zero point and ±inf saturate (docs/numerics.md). The matrix is a rank-2 view of float of any
// layout; the quantized side is a rank-2 tensor_view of Scheme::value_type (one value per element, any
// storage) or, for sub-byte storage, a sub_byte_view (packed; any packed axis, usually the group axis) of
// the same extents. This is the scalar reference; there is no SIMD path here yet.
//
// choose_group_params<Scheme> is round-to-nearest from each group's min/max: choose_params<Scheme> of the
// group's finite range (the scheme's rule: widened to hold 0, TFLite nudging or PyTorch's eps floor), a
// group without a finite value gets scale 1 and the zero point of 0.0. A float16 scale is the float one
// clamped to [2^-24, 65504] (the positive finite float16 range) and rounded to nearest even; the zero point
// is chosen for the float scale. Quantization then divides by the stored scale, so quantize, dequantize and
// fake quantization all agree with what is stored (llama.cpp quantizes with the unrounded scale instead).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/quant/choose_params.hpp"
#include "qsparse/quant/elementwise.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/quantize_value.hpp"
#include "qsparse/quant/scheme.hpp"
#include "qsparse/quant/sub_byte.hpp"

namespace qsparse {

/// Group parameters that own their arrays (what choose_group_params_owned and the group observer return).
template <class Scale>
struct group_qparams {
  std::vector<Scale> scale;
  std::vector<std::int32_t> zero_point;  // one per group (the symmetric zero point for symmetric schemes)
  index_t group_size = 0;
  std::size_t axis = 0;

  index_t groups() const { return static_cast<index_t>(scale.size()); }
  /// The non-owning group_params every entry point takes (valid while this object lives).
  group_params<Scale> view() const { return {scale.data(), zero_point.data(), group_size, axis, groups()}; }
};

namespace detail {

/// The stored form of a float scale: itself, or float16 clamped to [2^-24, 65504] and rounded to nearest even.
template <class Scale>
Scale to_group_scale(float s) {
  if constexpr (std::is_same_v<Scale, float16>) {
    constexpr float smallest = 5.9604644775390625e-8f;  // 2^-24, the smallest positive float16
    constexpr float largest = 65504.0f;
    return float16(s < smallest ? smallest : (s > largest ? largest : s));
  } else {
    return s;
  }
}

/// Calls f(g, r, c) for every element (r, c) of a rows x cols matrix, group by group (g ascending).
template <class F>
void for_each_group_element(index_t rows, index_t cols, std::size_t axis, index_t group_size, F&& f) {
  const index_t along = axis == 1 ? cols : rows, lines = axis == 1 ? rows : cols;
  const index_t per_line = along / group_size;
  for (index_t line = 0; line < lines; ++line) {
    for (index_t gi = 0; gi < per_line; ++gi) {
      const index_t g = line * per_line + gi;
      for (index_t k = gi * group_size; k < (gi + 1) * group_size; ++k) {
        if (axis == 1) {
          f(g, line, k);
        } else {
          f(g, k, line);
        }
      }
    }
  }
}

/// The parameters of a group that saw no finite value: scale 1, the zero point of 0.0.
template <class Scheme>
per_tensor_params empty_group_params() {
  if constexpr (Scheme::is_symmetric) {
    return {1.0f, Scheme::symmetric_zero_point};
  } else {
    return {1.0f, Scheme::qmin > 0 ? Scheme::qmin : (Scheme::qmax < 0 ? Scheme::qmax : 0)};
  }
}

/// Round to nearest from [lo[g], hi[g]] (empty when lo > hi) into scale[g] / zero_point[g] (zero_point may
/// be null for a symmetric scheme).
template <class Scheme, class Scale>
void group_params_from_ranges(const float* lo, const float* hi, index_t groups, Scale* scale,
                              std::int32_t* zero_point) {
  for (index_t g = 0; g < groups; ++g) {
    const per_tensor_params p =
        lo[g] <= hi[g] ? choose_params<Scheme>(lo[g], hi[g]) : empty_group_params<Scheme>();
    scale[g] = to_group_scale<Scale>(p.scale);
    if (zero_point != nullptr) zero_point[g] = p.zero_point;
  }
}

template <class View>
void check_group_float_view() {
  static_assert(is_tensor_view_v<View> && View::rank() == 2,
                "qsparse: group-wise quantization takes a rank-2 qsparse::tensor_view (a matrix; view a convolution's "
                "weights as [H * W * I, O]).");
  static_assert(std::is_same_v<typename View::value_type, float>, "qsparse: the matrix must be a view of float.");
}

template <class Scheme, class Scale>
void check_group_outputs(const char* function, index_t groups, const Scale* scale, const std::int32_t* zero_point) {
  check(groups == 0 || scale != nullptr, function, ": scale must point at ", groups, " values, got null");
  check(groups == 0 || zero_point != nullptr || Scheme::is_symmetric, function, ": zero_point must point at ", groups,
        " values for an affine scheme, got null");
}

/// The byte range of a quantized matrix (a tensor_view or a sub_byte_view), for the aliasing check.
template <class Q>
byte_range quantized_bytes(const Q& q) {
  if constexpr (is_sub_byte_view_v<Q>) {
    return bytes_of(static_cast<const void*>(q.data()), static_cast<std::size_t>(q.size_bytes()));
  } else {
    return bytes_of(q);
  }
}

template <class Scheme, class Q>
void check_quantized_matrix() {
  using value_type = typename Scheme::value_type;
  if constexpr (is_sub_byte_view_v<Q>) {
    static_assert(std::is_same_v<typename Q::storage, typename Scheme::storage>,
                  "qsparse: the sub_byte_view's storage must be the scheme's storage.");
  } else {
    static_assert(is_tensor_view_v<Q> && Q::rank() == 2,
                  "qsparse: the quantized matrix must be a rank-2 qsparse::tensor_view of Scheme::value_type or a "
                  "qsparse::sub_byte_view of the scheme's storage.");
    static_assert(std::is_same_v<typename Q::value_type, value_type>,
                  "qsparse: the quantized matrix must hold Scheme::value_type.");
  }
}

}  // namespace detail

/// The finite range of every group: lo[g] = min(lo[g], ...), hi[g] = max(hi[g], ...) over the finite
/// elements of group g (caller memory; NaN and ±inf skipped, a zero bound reported as +0.0). Returns the
/// number of groups; throws qsparse::error for a bad axis or group_size (naming the value).
template <class View>
index_t find_group_ranges(const View& x, std::size_t axis, index_t group_size, float* lo, float* hi) {
  detail::check_group_float_view<View>();
  constexpr const char* function = "qsparse::find_group_ranges";
  const index_t groups = detail::group_count(function, x.extent(0), x.extent(1), axis, group_size);
  detail::check(groups == 0 || (lo != nullptr && hi != nullptr), function, ": lo and hi must point at ", groups,
                " values, got a null pointer");
  detail::for_each_group_element(x.extent(0), x.extent(1), axis, group_size, [&](index_t g, index_t r, index_t c) {
    const float v = x(r, c);
    if (!std::isfinite(v)) return;
    const float z = v == 0.0f ? 0.0f : v;  // +0.0 for either zero
    if (z < lo[g]) lo[g] = z;
    if (z > hi[g]) hi[g] = z;
  });
  return groups;
}

/// Round-to-nearest group parameters of x from each group's min/max, written to scale[g] and
/// zero_point[g] (caller memory; zero_point may be null for a symmetric scheme).
template <class Scheme, class View>
group_params_for<Scheme> choose_group_params(const View& x, std::size_t axis, index_t group_size,
                                             typename Scheme::granularity::scale_type* scale,
                                             std::int32_t* zero_point) {
  static_assert(is_scheme_v<Scheme> && Scheme::is_per_group,
                "qsparse::choose_group_params: Scheme must be a qsparse::scheme<..., qsparse::per_group<Scale>, ...>.");
  detail::check_group_float_view<View>();
  constexpr const char* function = "qsparse::choose_group_params";
  const index_t groups = detail::group_count(function, x.extent(0), x.extent(1), axis, group_size);
  detail::check_group_outputs<Scheme>(function, groups, scale, zero_point);
  std::vector<float> lo(static_cast<std::size_t>(groups), std::numeric_limits<float>::infinity());
  std::vector<float> hi(static_cast<std::size_t>(groups), -std::numeric_limits<float>::infinity());
  find_group_ranges(x, axis, group_size, lo.data(), hi.data());
  detail::group_params_from_ranges<Scheme>(lo.data(), hi.data(), groups, scale, zero_point);
  return {scale, zero_point, group_size, axis, groups};
}

/// choose_group_params into arrays it owns.
template <class Scheme, class View>
group_qparams<typename Scheme::granularity::scale_type> choose_group_params(const View& x, std::size_t axis,
                                                                            index_t group_size) {
  detail::check_group_float_view<View>();
  group_qparams<typename Scheme::granularity::scale_type> p;
  const index_t groups =
      detail::group_count("qsparse::choose_group_params", x.extent(0), x.extent(1), axis, group_size);
  p.scale.resize(static_cast<std::size_t>(groups));
  p.zero_point.resize(static_cast<std::size_t>(groups));
  p.group_size = group_size;
  p.axis = axis;
  choose_group_params<Scheme>(x, axis, group_size, p.scale.data(), p.zero_point.data());
  return p;
}

/// Quantizes the matrix x into q (a tensor_view of Scheme::value_type or a sub_byte_view) group by group.
template <class Scheme, class InView, class OutView>
void quantize(const InView& x, const OutView& q, const group_params_for<Scheme>& params) {
  static_assert(is_scheme_v<Scheme>, "qsparse::quantize: Scheme must be a qsparse::scheme<...>.");
  detail::check_group_float_view<InView>();
  detail::check_quantized_matrix<Scheme, OutView>();
  constexpr const char* function = "qsparse::quantize";
  detail::check(x.extent(0) == q.extent(0) && x.extent(1) == q.extent(1), function, ": x is ", x.extent(0), " x ",
                x.extent(1), " but q is ", q.extent(0), " x ", q.extent(1));
  detail::check_ranges_disjoint(function, "q", detail::quantized_bytes(q), "x", detail::bytes_of(x));
  validate<Scheme>(params, x.extent(0), x.extent(1), function);
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  index_t current = -1;
  per_tensor_params p;
  detail::for_each_group_element(x.extent(0), x.extent(1), params.axis, params.group_size,
                                 [&](index_t g, index_t r, index_t c) {
                                   if (g != current) p = detail::group_at<Scheme>(params, current = g);
                                   const auto v = quantize_value<R, S>(x(r, c), p.scale, p.zero_point);
                                   if constexpr (is_sub_byte_view_v<OutView>) {
                                     q.set(r, c, v);
                                   } else {
                                     q(r, c) = v;
                                   }
                                 });
}

/// Dequantizes q (a tensor_view of Scheme::value_type or a sub_byte_view) into the matrix x group by group.
template <class Scheme, class InView, class OutView>
void dequantize(const InView& q, const OutView& x, const group_params_for<Scheme>& params) {
  static_assert(is_scheme_v<Scheme>, "qsparse::dequantize: Scheme must be a qsparse::scheme<...>.");
  detail::check_group_float_view<OutView>();
  static_assert(!std::is_const_v<typename OutView::element_type>, "qsparse::dequantize: x must be a view of non-const float.");
  detail::check_quantized_matrix<Scheme, InView>();
  constexpr const char* function = "qsparse::dequantize";
  detail::check(x.extent(0) == q.extent(0) && x.extent(1) == q.extent(1), function, ": q is ", q.extent(0), " x ",
                q.extent(1), " but x is ", x.extent(0), " x ", x.extent(1));
  detail::check_ranges_disjoint(function, "x", detail::bytes_of(x), "q", detail::quantized_bytes(q));
  validate<Scheme>(params, x.extent(0), x.extent(1), function);
  using R = typename Scheme::rounding;
  index_t current = -1;
  per_tensor_params p;
  detail::for_each_group_element(x.extent(0), x.extent(1), params.axis, params.group_size,
                                 [&](index_t g, index_t r, index_t c) {
                                   if (g != current) p = detail::group_at<Scheme>(params, current = g);
                                   std::int32_t v;
                                   if constexpr (is_sub_byte_view_v<InView>) {
                                     v = q.get(r, c);
                                   } else {
                                     v = q(r, c);
                                   }
                                   x(r, c) = dequantize_value<R>(v, p.scale, p.zero_point);
                                 });
}

}  // namespace qsparse
