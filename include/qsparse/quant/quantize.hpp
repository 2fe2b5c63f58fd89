// qsparse/quant/quantize.hpp — quantize and dequantize whole tensors through views.
//
//   quantize<Scheme>(x, q, params)     q = clamp(round(x / scale) + zero_point)   (the rule of quantize_value)
//   dequantize<Scheme>(q, x, params)   x = (q - zero_point) * scale               (the rule of dequantize_value)
//
// x is a view of float, q a view of Scheme::value_type, of equal extents and any layouts (default
// accessors). params is per_tensor_params or, for per-channel schemes, per_channel_params whose axis is
// a tensor axis and whose channel count is the extent along it.
//
// Every element equals quantize_value / dequantize_value exactly. The work runs on the best kernel for
// this CPU (qsparse::best_isa(): AVX-512, AVX2 or the scalar loop; int32 storage always runs the scalar
// loop); quantize_isa / dequantize_isa pin one level, for tests and benchmarks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/quantize_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/quant/elementwise.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/quantize_value.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

namespace detail {

template <class View>
inline constexpr bool has_default_accessor_v =
    std::is_same_v<typename View::accessor_type, default_accessor<typename View::element_type>>;

/// The kernel level that will really run for storage of `bytes` bytes at `level`.
inline isa_level effective_level(isa_level level, std::size_t bytes) {
  return bytes > 2 ? isa_level::scalar : level;
}

/// True when kernel K of quantize_kernels takes element type T with Rounding: the SIMD kernels take 8- and
/// 16-bit storage with the rounding policies they implement (simd_rounding_v); int32 storage and the
/// other policies stay on the scalar loops.
template <class K, class T, class Rounding>
inline constexpr bool quantize_kernel_takes_v =
    (sizeof(T) <= 2 && simd_rounding_v<Rounding>) || K::isa == isa_level::scalar;

/// Calls f(K{}) with the quantize kernel that runs for element type T and Rounding at `level`.
template <class T, class Rounding, class F>
void with_quantize_kernel(isa_level level, F&& f) {
  kernels::with_selected_kernel(
      kernels::quantize_kernels{}, level,
      [](auto kernel) { return quantize_kernel_takes_v<decltype(kernel), T, Rounding>; },
      [&](auto kernel) {
        if constexpr (quantize_kernel_takes_v<decltype(kernel), T, Rounding>) f(kernel);
      });
}

template <class Rounding, class Storage>
void quantize_uniform(isa_level level, const float* x, typename storage_traits<Storage>::value_type* q,
                      index_t n, float scale, std::int32_t zero_point) {
  using T = typename storage_traits<Storage>::value_type;
  with_quantize_kernel<T, Rounding>(level, [&](auto kernel) {
    decltype(kernel)::template quantize_uniform<Rounding, Storage>(x, q, n, scale, zero_point);
  });
}

template <class Rounding, class Storage>
void quantize_channelwise(isa_level level, const float* x, typename storage_traits<Storage>::value_type* q,
                          index_t n, const float* scale, const std::int32_t* zero_point) {
  using T = typename storage_traits<Storage>::value_type;
  with_quantize_kernel<T, Rounding>(level, [&](auto kernel) {
    decltype(kernel)::template quantize_channelwise<Rounding, Storage>(x, q, n, scale, zero_point);
  });
}

template <class Rounding, class T>
void dequantize_uniform(isa_level level, const T* q, float* x, index_t n, float scale, std::int32_t zero_point) {
  with_quantize_kernel<T, Rounding>(level, [&](auto kernel) {
    decltype(kernel)::template dequantize_uniform<Rounding>(q, x, n, scale, zero_point);
  });
}

template <class Rounding, class T>
void dequantize_channelwise(isa_level level, const T* q, float* x, index_t n, const float* scale,
                            const std::int32_t* zero_point) {
  with_quantize_kernel<T, Rounding>(level, [&](auto kernel) {
    decltype(kernel)::template dequantize_channelwise<Rounding>(q, x, n, scale, zero_point);
  });
}

inline void check_level(const char* function, isa_level level) {
  check(cpu_supports(level), function, ": this CPU cannot run isa_level ", to_string(level), " (it supports up to ",
        to_string(detected_isa()), ")");
}

template <class Scheme, class Params>
std::ptrdiff_t validated_axis(const char* function, const Params& params, std::size_t rank,
                              std::ptrdiff_t axis_extent_or_minus_one) {
  if constexpr (Scheme::is_per_channel) {
    validate<Scheme>(params, rank, axis_extent_or_minus_one, function);
    return static_cast<std::ptrdiff_t>(params.axis);
  } else {
    validate<Scheme>(params, function);
    return -1;
  }
}

template <class Scheme, class View>
std::ptrdiff_t axis_extent(const View& view, const params_for<Scheme>& params) {
  if constexpr (Scheme::is_per_channel) {
    return params.axis < View::rank() ? view.extent(params.axis) : -1;
  } else {
    (void)view;
    (void)params;
    return -1;
  }
}

}  // namespace detail

/// Quantizes x into q with `params`, on kernels of at most `level` (which this CPU must support).
template <class Scheme, class InView, class OutView>
void quantize_isa(isa_level level, const InView& x, const OutView& q, const params_for<Scheme>& params) {
  static_assert(is_scheme_v<Scheme>, "qsparse::quantize: Scheme must be a qsparse::scheme<...>.");
  static_assert(is_tensor_view_v<InView> && is_tensor_view_v<OutView>,
                "qsparse::quantize: x and q must be qsparse::tensor_view objects.");
  static_assert(std::is_same_v<typename InView::value_type, float>, "qsparse::quantize: x must be a view of float.");
  static_assert(std::is_same_v<typename OutView::element_type, typename Scheme::value_type>,
                "qsparse::quantize: q must be a view of non-const Scheme::value_type.");
  static_assert(detail::has_default_accessor_v<InView> && detail::has_default_accessor_v<OutView>,
                "qsparse::quantize: views must use qsparse::default_accessor.");
  constexpr const char* function = "qsparse::quantize";
  detail::check_level(function, level);
  detail::check_same_extents(function, x, q);
  detail::check_elementwise_aliasing(function, "x", x, "q", q);
  const std::ptrdiff_t axis =
      detail::validated_axis<Scheme>(function, params, InView::rank(), detail::axis_extent<Scheme>(x, params));
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  const float* xp = x.data_handle();
  auto* qp = q.data_handle();
  detail::for_each_run(
      x, q, axis,
      [&](index_t xo, index_t qo, index_t n, index_t c) {
        const per_tensor_params p = detail::channel_params(params, c);
        detail::quantize_uniform<R, S>(level, xp + xo, qp + qo, n, p.scale, p.zero_point);
      },
      [&](index_t xo, index_t qo, index_t n) {
        detail::quantize_channelwise<R, S>(level, xp + xo, qp + qo, n, detail::channel_scales(params),
                                           detail::channel_zero_points(params));
      },
      [&](index_t xo, index_t qo, index_t n, index_t xs, index_t qs, index_t c) {
        for (index_t j = 0; j < n; ++j) {
          const per_tensor_params p = detail::channel_params(params, c == -2 ? j : c);
          qp[qo + j * qs] = quantize_value<R, S>(xp[xo + j * xs], p.scale, p.zero_point);
        }
      });
}

/// Quantizes x into q with `params` on the best kernel for this CPU.
template <class Scheme, class InView, class OutView>
void quantize(const InView& x, const OutView& q, const params_for<Scheme>& params) {
  quantize_isa<Scheme>(best_isa(), x, q, params);
}

/// Dequantizes q into x with `params`, on kernels of at most `level` (which this CPU must support).
template <class Scheme, class InView, class OutView>
void dequantize_isa(isa_level level, const InView& q, const OutView& x, const params_for<Scheme>& params) {
  static_assert(is_scheme_v<Scheme>, "qsparse::dequantize: Scheme must be a qsparse::scheme<...>.");
  static_assert(is_tensor_view_v<InView> && is_tensor_view_v<OutView>,
                "qsparse::dequantize: q and x must be qsparse::tensor_view objects.");
  static_assert(std::is_same_v<typename InView::value_type, typename Scheme::value_type>,
                "qsparse::dequantize: q must be a view of Scheme::value_type.");
  static_assert(std::is_same_v<typename OutView::element_type, float>,
                "qsparse::dequantize: x must be a view of non-const float.");
  static_assert(detail::has_default_accessor_v<InView> && detail::has_default_accessor_v<OutView>,
                "qsparse::dequantize: views must use qsparse::default_accessor.");
  constexpr const char* function = "qsparse::dequantize";
  detail::check_level(function, level);
  detail::check_same_extents(function, q, x);
  detail::check_elementwise_aliasing(function, "q", q, "x", x);
  const std::ptrdiff_t axis =
      detail::validated_axis<Scheme>(function, params, InView::rank(), detail::axis_extent<Scheme>(q, params));
  using R = typename Scheme::rounding;
  const auto* qp = q.data_handle();
  float* xp = x.data_handle();
  detail::for_each_run(
      q, x, axis,
      [&](index_t qo, index_t xo, index_t n, index_t c) {
        const per_tensor_params p = detail::channel_params(params, c);
        detail::dequantize_uniform<R>(level, qp + qo, xp + xo, n, p.scale, p.zero_point);
      },
      [&](index_t qo, index_t xo, index_t n) {
        detail::dequantize_channelwise<R>(level, qp + qo, xp + xo, n, detail::channel_scales(params),
                                          detail::channel_zero_points(params));
      },
      [&](index_t qo, index_t xo, index_t n, index_t qs, index_t xs, index_t c) {
        for (index_t j = 0; j < n; ++j) {
          const per_tensor_params p = detail::channel_params(params, c == -2 ? j : c);
          xp[xo + j * xs] = dequantize_value<R>(qp[qo + j * qs], p.scale, p.zero_point);
        }
      });
}

/// Dequantizes q into x with `params` on the best kernel for this CPU.
template <class Scheme, class InView, class OutView>
void dequantize(const InView& q, const OutView& x, const params_for<Scheme>& params) {
  dequantize_isa<Scheme>(best_isa(), q, x, params);
}

}  // namespace qsparse
