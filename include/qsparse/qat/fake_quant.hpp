// qsparse/qat/fake_quant.hpp — fake quantization for training: forward, straight-through backward.
//
//   qsparse::fake_quantize<Scheme>(x, y, params);                 // y = dequantize(quantize(x)); y may be x
//   qsparse::fake_quantize_with_mask<Scheme>(x, y, mask, params); // also mask = the straight-through mask
//   qsparse::fake_quantize_backward<Scheme>(x, dy, dx, params);   // dx = dy * mask(x); dx may be dy
//   qsparse::fake_quantize_backward_masked(mask, dy, dx);         // dx = dy * mask, from a saved mask
//
// Forward: every element equals dequantize_value(quantize_value(x)) of the scheme — the functions the
// integer kernels use — bit for bit, per tensor or per channel (per_channel_params along any axis), for
// every storage, mapping and rounding policy. So a network trained with fake quantization computes what
// the converted integer network computes. Under the PyTorch policy (round_half_to_even) this is
// torch.fake_quantize_per_tensor_affine / _per_channel_affine exactly, except for NaN: qsparse gives 0
// (NaN quantizes to the zero point), PyTorch an unspecified value (its int64 conversion of NaN).
//
// Backward (straight-through estimator, PyTorch's rule, docs/numerics.md): the gradient passes where
// qmin <= round(x / scale) + zero_point <= qmax on the *unclamped* rounded value — an input that rounds
// exactly onto qmin or qmax passes, one that rounds past it gets 0 — computed as dy * (pass ? 1 : 0), so a
// blocked gradient is ±0.0 by the sign of dy and a NaN dy stays NaN. NaN and ±inf inputs block.
//
// Views: float (x, dy may be const), uint8_t masks (1 = pass), all of the same extents, any layouts,
// default accessors; y may be x and dx may be dy (or x), but partially overlapping views are not
// allowed. 8- and 16-bit storage runs AVX-512 / AVX2 kernels bit-exact with the scalar definition
// (qsparse/kernels/<isa>/fake_quant.hpp); *_isa pins the level.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/fake_quantize_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/fake_quant.hpp"
#include "qsparse/quant/elementwise_n.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/quantize.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

namespace detail {

template <class View, class T>
inline constexpr bool is_default_view_of_v =
    is_tensor_view_v<View> && std::is_same_v<typename View::value_type, T> &&
    std::is_same_v<typename View::accessor_type, default_accessor<typename View::element_type>>;

template <class View, class T>
inline constexpr bool is_writable_view_of_v = is_default_view_of_v<View, T> && std::is_same_v<typename View::element_type, T>;

/// The parameters of a run's channel c (c >= 0 for per-channel parameters; the clamp only keeps the
/// compiler from flagging the per-tensor path's c = -1, which never reaches per-channel parameters).
inline per_tensor_params run_params(const per_tensor_params& p, index_t /*c*/) { return p; }
inline per_tensor_params run_params(const per_channel_params& p, index_t c) { return p[c < 0 ? 0 : c]; }

/// True when kernel K of fake_quantize_kernels takes Scheme: the SIMD kernels take 8- and 16-bit storage
/// with the rounding policies they implement (simd_rounding_v); the rest stays on the scalar loops.
template <class K, class Scheme>
inline constexpr bool fake_quant_kernel_takes_v =
    (sizeof(typename Scheme::value_type) <= 2 && simd_rounding_v<typename Scheme::rounding>) ||
    K::isa == isa_level::scalar;

/// Calls f(K{}) with the fake-quantization kernel that runs for Scheme at `level`.
template <class Scheme, class F>
void with_fake_quant_kernel(isa_level level, F&& f) {
  kernels::with_selected_kernel(
      kernels::fake_quantize_kernels{}, level,
      [](auto kernel) { return fake_quant_kernel_takes_v<decltype(kernel), Scheme>; },
      [&](auto kernel) {
        if constexpr (fake_quant_kernel_takes_v<decltype(kernel), Scheme>) f(kernel);
      });
}

template <class Scheme>
void fake_quantize_run(isa_level level, const float* x, float* y, std::uint8_t* mask, index_t n, float scale,
                       std::int32_t zero_point) {
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  with_fake_quant_kernel<Scheme>(level, [&](auto kernel) {
    decltype(kernel)::template fake_quantize_uniform<R, S>(x, y, mask, n, scale, zero_point);
  });
}

template <class Scheme>
void fake_quantize_channel_run(isa_level level, const float* x, float* y, std::uint8_t* mask, index_t n,
                               const float* scale, const std::int32_t* zero_point) {
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  with_fake_quant_kernel<Scheme>(level, [&](auto kernel) {
    decltype(kernel)::template fake_quantize_channelwise<R, S>(x, y, mask, n, scale, zero_point);
  });
}

template <class Scheme>
void fake_quantize_backward_run(isa_level level, const float* x, const float* dy, float* dx, index_t n, float scale,
                                std::int32_t zero_point) {
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  with_fake_quant_kernel<Scheme>(level, [&](auto kernel) {
    decltype(kernel)::template fake_quantize_backward_uniform<R, S>(x, dy, dx, n, scale, zero_point);
  });
}

template <class Scheme>
void fake_quantize_backward_channel_run(isa_level level, const float* x, const float* dy, float* dx, index_t n,
                                        const float* scale, const std::int32_t* zero_point) {
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  with_fake_quant_kernel<Scheme>(level, [&](auto kernel) {
    decltype(kernel)::template fake_quantize_backward_channelwise<R, S>(x, dy, dx, n, scale, zero_point);
  });
}

/// The forward pass over views; `mask` is a view of uint8_t or nullptr_t (no mask).
template <class Scheme, class InView, class OutView, class MaskView>
void fake_quantize_views(const char* function, isa_level level, const InView& x, const OutView& y,
                         const MaskView* mask, const params_for<Scheme>& params) {
  static_assert(is_scheme_v<Scheme>, "qsparse::fake_quantize: Scheme must be a qsparse::scheme<...>.");
  static_assert(is_default_view_of_v<InView, float>,
                "qsparse::fake_quantize: x must be a qsparse::tensor_view of float with the default accessor.");
  static_assert(is_writable_view_of_v<OutView, float>,
                "qsparse::fake_quantize: y must be a qsparse::tensor_view of non-const float with the default accessor.");
  check_level(function, level);
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  const float* xp = x.data_handle();
  float* yp = y.data_handle();
  if constexpr (std::is_same_v<MaskView, std::nullptr_t>) {
    (void)mask;
    check_all_same_extents(function, x, y);
    check_in_place_or_disjoint(function, "y", y, "x", x);
    const std::ptrdiff_t axis = validated_axis<Scheme>(function, params, InView::rank(), axis_extent<Scheme>(x, params));
    for_each_run_n(
        axis,
        [&](const auto& o, index_t n, index_t c) {
          const per_tensor_params p = run_params(params, c);
          fake_quantize_run<Scheme>(level, xp + o[0], yp + o[1], nullptr, n, p.scale, p.zero_point);
        },
        [&](const auto& o, index_t n) {
          fake_quantize_channel_run<Scheme>(level, xp + o[0], yp + o[1], nullptr, n, channel_scales(params),
                                            channel_zero_points(params));
        },
        [&](const auto& o, index_t n, const auto& s, index_t c) {
          for (index_t j = 0; j < n; ++j) {
            const per_tensor_params p = run_params(params, c == -2 ? j : c);
            yp[o[1] + j * s[1]] = kernels::scalar::fake_quantize_value<R, S>(xp[o[0] + j * s[0]], p.scale, p.zero_point);
          }
        },
        x, y);
  } else {
    static_assert(is_writable_view_of_v<MaskView, std::uint8_t>,
                  "qsparse::fake_quantize_with_mask: mask must be a qsparse::tensor_view of non-const std::uint8_t.");
    check_all_same_extents(function, x, y, *mask);
    check_in_place_or_disjoint(function, "y", y, "x", x);
    check_no_overlap(function, "mask", *mask, "x", x);
    check_no_overlap(function, "mask", *mask, "y", y);
    const std::ptrdiff_t axis = validated_axis<Scheme>(function, params, InView::rank(), axis_extent<Scheme>(x, params));
    std::uint8_t* mp = mask->data_handle();
    for_each_run_n(
        axis,
        [&](const auto& o, index_t n, index_t c) {
          const per_tensor_params p = run_params(params, c);
          fake_quantize_run<Scheme>(level, xp + o[0], yp + o[1], mp + o[2], n, p.scale, p.zero_point);
        },
        [&](const auto& o, index_t n) {
          fake_quantize_channel_run<Scheme>(level, xp + o[0], yp + o[1], mp + o[2], n, channel_scales(params),
                                            channel_zero_points(params));
        },
        [&](const auto& o, index_t n, const auto& s, index_t c) {
          for (index_t j = 0; j < n; ++j) {
            const per_tensor_params p = run_params(params, c == -2 ? j : c);
            const float v = xp[o[0] + j * s[0]];
            mp[o[2] + j * s[2]] = kernels::scalar::fake_quantize_passes<R, S>(v, p.scale, p.zero_point) ? 1 : 0;
            yp[o[1] + j * s[1]] = kernels::scalar::fake_quantize_value<R, S>(v, p.scale, p.zero_point);
          }
        },
        x, y, *mask);
  }
}

}  // namespace detail

/// y = dequantize(quantize(x)) under Scheme and `params`, on kernels of at most `level`.
template <class Scheme, class InView, class OutView>
void fake_quantize_isa(isa_level level, const InView& x, const OutView& y, const params_for<Scheme>& params) {
  detail::fake_quantize_views<Scheme, InView, OutView, std::nullptr_t>("qsparse::fake_quantize", level, x, y, nullptr,
                                                                        params);
}

/// y = dequantize(quantize(x)) on the best kernel for this CPU.
template <class Scheme, class InView, class OutView>
void fake_quantize(const InView& x, const OutView& y, const params_for<Scheme>& params) {
  fake_quantize_isa<Scheme>(best_isa(), x, y, params);
}

/// The forward pass that also writes the straight-through mask (1 where the gradient passes).
template <class Scheme, class InView, class OutView, class MaskView>
void fake_quantize_with_mask_isa(isa_level level, const InView& x, const OutView& y, const MaskView& mask,
                                 const params_for<Scheme>& params) {
  detail::fake_quantize_views<Scheme>("qsparse::fake_quantize_with_mask", level, x, y, &mask, params);
}

template <class Scheme, class InView, class OutView, class MaskView>
void fake_quantize_with_mask(const InView& x, const OutView& y, const MaskView& mask, const params_for<Scheme>& params) {
  fake_quantize_with_mask_isa<Scheme>(best_isa(), x, y, mask, params);
}

/// dx = dy * [qmin <= round(x / scale) + zero_point <= qmax] (the straight-through estimator).
template <class Scheme, class XView, class DyView, class DxView>
void fake_quantize_backward_isa(isa_level level, const XView& x, const DyView& dy, const DxView& dx,
                                const params_for<Scheme>& params) {
  static_assert(is_scheme_v<Scheme>, "qsparse::fake_quantize_backward: Scheme must be a qsparse::scheme<...>.");
  static_assert(detail::is_default_view_of_v<XView, float> && detail::is_default_view_of_v<DyView, float>,
                "qsparse::fake_quantize_backward: x and dy must be qsparse::tensor_view objects of float.");
  static_assert(detail::is_writable_view_of_v<DxView, float>,
                "qsparse::fake_quantize_backward: dx must be a qsparse::tensor_view of non-const float.");
  constexpr const char* function = "qsparse::fake_quantize_backward";
  detail::check_level(function, level);
  detail::check_all_same_extents(function, x, dy, dx);
  detail::check_in_place_or_disjoint(function, "dx", dx, "dy", dy);
  detail::check_in_place_or_disjoint(function, "dx", dx, "x", x);
  const std::ptrdiff_t axis =
      detail::validated_axis<Scheme>(function, params, XView::rank(), detail::axis_extent<Scheme>(x, params));
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  const float* xp = x.data_handle();
  const float* gp = dy.data_handle();
  float* dp = dx.data_handle();
  detail::for_each_run_n(
      axis,
      [&](const auto& o, index_t n, index_t c) {
        const per_tensor_params p = detail::run_params(params, c);
        detail::fake_quantize_backward_run<Scheme>(level, xp + o[0], gp + o[1], dp + o[2], n, p.scale, p.zero_point);
      },
      [&](const auto& o, index_t n) {
        detail::fake_quantize_backward_channel_run<Scheme>(level, xp + o[0], gp + o[1], dp + o[2], n,
                                                           detail::channel_scales(params),
                                                           detail::channel_zero_points(params));
      },
      [&](const auto& o, index_t n, const auto& s, index_t c) {
        for (index_t j = 0; j < n; ++j) {
          const per_tensor_params p = detail::run_params(params, c == -2 ? j : c);
          const bool pass = kernels::scalar::fake_quantize_passes<R, S>(xp[o[0] + j * s[0]], p.scale, p.zero_point);
          dp[o[2] + j * s[2]] = gp[o[1] + j * s[1]] * (pass ? 1.0f : 0.0f);
        }
      },
      x, dy, dx);
}

template <class Scheme, class XView, class DyView, class DxView>
void fake_quantize_backward(const XView& x, const DyView& dy, const DxView& dx, const params_for<Scheme>& params) {
  fake_quantize_backward_isa<Scheme>(best_isa(), x, dy, dx, params);
}

/// dx = dy * mask (mask from fake_quantize_with_mask; any non-zero byte passes).
template <class MaskView, class DyView, class DxView>
void fake_quantize_backward_masked(const MaskView& mask, const DyView& dy, const DxView& dx) {
  static_assert(detail::is_default_view_of_v<MaskView, std::uint8_t>,
                "qsparse::fake_quantize_backward_masked: mask must be a qsparse::tensor_view of std::uint8_t.");
  static_assert(detail::is_default_view_of_v<DyView, float> && detail::is_writable_view_of_v<DxView, float>,
                "qsparse::fake_quantize_backward_masked: dy and dx must be views of float (dx non-const).");
  detail::check_all_same_extents("qsparse::fake_quantize_backward_masked", mask, dy, dx);
  detail::check_in_place_or_disjoint("qsparse::fake_quantize_backward_masked", "dx", dx, "dy", dy);
  detail::check_no_overlap("qsparse::fake_quantize_backward_masked", "dx", dx, "mask", mask);
  const std::uint8_t* mp = mask.data_handle();
  const float* gp = dy.data_handle();
  float* dp = dx.data_handle();
  detail::for_each_run_n(
      -1,
      [&](const auto& o, index_t n, index_t) {
        for (index_t j = 0; j < n; ++j) dp[o[2] + j] = gp[o[1] + j] * (mp[o[0] + j] != 0 ? 1.0f : 0.0f);
      },
      [&](const auto&, index_t) {},
      [&](const auto& o, index_t n, const auto& s, index_t) {
        for (index_t j = 0; j < n; ++j)
          dp[o[2] + j * s[2]] = gp[o[1] + j * s[1]] * (mp[o[0] + j * s[0]] != 0 ? 1.0f : 0.0f);
      },
      mask, dy, dx);
}

}  // namespace qsparse
