// qsparse/qat/group_fake_quant.hpp — fake quantization of a matrix with per_group schemes.
//
//   qsparse::fake_quantize<w4>(w, y, p);                  // y = dequantize(quantize(w)) group by group
//   qsparse::fake_quantize_with_mask<w4>(w, y, mask, p);  // and the straight-through mask
//   qsparse::fake_quantize_backward<w4>(w, dy, dx, p);    // dx = dy * mask(w)
//
// The same overloads as qsparse/qat/fake_quant.hpp, taking group_params_for<Scheme>: every element is
// fake_quantize_value / fake_quantize_passes of the scheme with its group's float(scale) and zero point
// (the functions of the per-tensor path), so the rules of docs/numerics.md hold unchanged: the forward
// value is what the integer path dequantizes, the gradient passes where qmin <= round(x / scale) + zp <=
// qmax on the unclamped value, a blocked gradient is dy * 0, NaN and ±inf block. Views are rank-2 views of
// float (uint8_t for the mask) of equal extents and any layout; y may be x and dx may be dy. Scalar
// reference only (no SIMD path yet).
#pragma once

#include <cstdint>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/kernels/scalar/fake_quant.hpp"
#include "qsparse/qat/fake_quant.hpp"
#include "qsparse/quant/group_quantize.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

namespace detail {

template <class Scheme, class InView, class OutView, class MaskView>
void fake_quantize_groups(const char* function, const InView& x, const OutView& y, const MaskView* mask,
                          const group_params_for<Scheme>& params) {
  static_assert(is_scheme_v<Scheme>, "qsparse::fake_quantize: Scheme must be a qsparse::scheme<...>.");
  check_group_float_view<InView>();
  static_assert(is_writable_view_of_v<OutView, float> && OutView::rank() == 2,
                "qsparse::fake_quantize: y must be a rank-2 qsparse::tensor_view of non-const float.");
  check_all_same_extents(function, x, y);
  check_in_place_or_disjoint(function, "y", y, "x", x);
  if constexpr (!std::is_same_v<MaskView, std::nullptr_t>) {
    static_assert(is_writable_view_of_v<MaskView, std::uint8_t> && MaskView::rank() == 2,
                  "qsparse::fake_quantize_with_mask: mask must be a rank-2 qsparse::tensor_view of non-const "
                  "std::uint8_t.");
    check_all_same_extents(function, x, *mask);
    check_no_overlap(function, "mask", *mask, "x", x);
    check_no_overlap(function, "mask", *mask, "y", y);
  }
  validate<Scheme>(params, x.extent(0), x.extent(1), function);
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  index_t current = -1;
  per_tensor_params p;
  for_each_group_element(x.extent(0), x.extent(1), params.axis, params.group_size, [&](index_t g, index_t r, index_t c) {
    if (g != current) p = group_at<Scheme>(params, current = g);
    const float v = x(r, c);
    if constexpr (!std::is_same_v<MaskView, std::nullptr_t>) {
      (*mask)(r, c) = kernels::scalar::fake_quantize_passes<R, S>(v, p.scale, p.zero_point) ? 1 : 0;
    }
    y(r, c) = kernels::scalar::fake_quantize_value<R, S>(v, p.scale, p.zero_point);
  });
}

}  // namespace detail

/// y = dequantize(quantize(x)) group by group.
template <class Scheme, class InView, class OutView>
void fake_quantize(const InView& x, const OutView& y, const group_params_for<Scheme>& params) {
  detail::fake_quantize_groups<Scheme, InView, OutView, std::nullptr_t>("qsparse::fake_quantize", x, y, nullptr, params);
}

/// The forward pass that also writes the straight-through mask (1 where the gradient passes).
template <class Scheme, class InView, class OutView, class MaskView>
void fake_quantize_with_mask(const InView& x, const OutView& y, const MaskView& mask,
                             const group_params_for<Scheme>& params) {
  detail::fake_quantize_groups<Scheme>("qsparse::fake_quantize_with_mask", x, y, &mask, params);
}

/// dx = dy * [qmin <= round(x / scale) + zero_point <= qmax] with each element's group parameters.
template <class Scheme, class XView, class DyView, class DxView>
void fake_quantize_backward(const XView& x, const DyView& dy, const DxView& dx, const group_params_for<Scheme>& params) {
  static_assert(is_scheme_v<Scheme>, "qsparse::fake_quantize_backward: Scheme must be a qsparse::scheme<...>.");
  detail::check_group_float_view<XView>();
  static_assert(detail::is_default_view_of_v<DyView, float> && DyView::rank() == 2 &&
                    detail::is_writable_view_of_v<DxView, float> && DxView::rank() == 2,
                "qsparse::fake_quantize_backward: dy and dx must be rank-2 views of float (dx non-const).");
  constexpr const char* function = "qsparse::fake_quantize_backward";
  detail::check_all_same_extents(function, x, dy, dx);
  detail::check_in_place_or_disjoint(function, "dx", dx, "dy", dy);
  detail::check_in_place_or_disjoint(function, "dx", dx, "x", x);
  validate<Scheme>(params, x.extent(0), x.extent(1), function);
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  index_t current = -1;
  per_tensor_params p;
  detail::for_each_group_element(x.extent(0), x.extent(1), params.axis, params.group_size,
                                 [&](index_t g, index_t r, index_t c) {
                                   if (g != current) p = detail::group_at<Scheme>(params, current = g);
                                   const bool pass =
                                       kernels::scalar::fake_quantize_passes<R, S>(x(r, c), p.scale, p.zero_point);
                                   dx(r, c) = dy(r, c) * (pass ? 1.0f : 0.0f);
                                 });
}

}  // namespace qsparse
