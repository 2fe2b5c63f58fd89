// qsparse/quant/requantize.hpp — convert a quantized tensor from one scheme to another.
//
//   requantize<InScheme, OutScheme>(in, out, in_params, out_params)
//
// The output scheme's rounding policy picks the rule (qsparse/kernels/scalar/requantize.hpp):
//   round_half_away_from_zero (TFLite's Requantize op): integer only — per element
//     clamp(multiply_by_quantized_multiplier(q - in_zp, M, shift) + out_zp) with
//     {M, shift} = quantize_multiplier(double(in_scale) / double(out_scale)), double rounding;
//   round_half_to_even (PyTorch's requantize_val): quantize_value(dequantize_value(q)).
// Either scheme may be per tensor or per channel; when both are per channel they must share the axis.
// 8/16-bit tensors under the TFLite rule run AVX-512 / AVX2 kernels bit-exact with the scalar rule;
// requantize_isa pins the level.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/requantize_kernels.hpp"
#include "qsparse/kernels/scalar/requantize.hpp"
#include "qsparse/quant/elementwise.hpp"
#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/quantize.hpp"
#include "qsparse/quant/quantize_value.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

namespace detail {

template <class InScheme, class OutScheme>
typename OutScheme::value_type requantize_one(typename InScheme::value_type q, per_tensor_params in,
                                              per_tensor_params out, quantized_multiplier m) {
  if constexpr (OutScheme::rounding::tflite_params) {
    return requantize_value_fixed_point<typename OutScheme::storage>(q, in.zero_point, m, out.zero_point);
  } else {
    (void)m;
    return quantize_value<typename OutScheme::rounding, typename OutScheme::storage>(
        dequantize_value<typename InScheme::rounding>(q, in.scale, in.zero_point), out.scale, out.zero_point);
  }
}

template <class OutScheme>
quantized_multiplier requantize_multiplier(per_tensor_params in, per_tensor_params out) {
  if constexpr (OutScheme::rounding::tflite_params) {
    return quantize_multiplier(static_cast<double>(in.scale) / static_cast<double>(out.scale));
  } else {
    (void)in;
    (void)out;
    return {};
  }
}

template <class InScheme, class OutScheme>
void requantize_run(isa_level level, const typename InScheme::value_type* in, typename OutScheme::value_type* out,
                    index_t n, per_tensor_params ip, per_tensor_params op) {
  using In = typename InScheme::value_type;
  using Out = typename OutScheme::value_type;
  const quantized_multiplier m = requantize_multiplier<OutScheme>(ip, op);
  if constexpr (OutScheme::rounding::tflite_params && sizeof(In) <= 2 && sizeof(Out) <= 2) {
    using S = typename OutScheme::storage;
    kernels::with_best_kernel(kernels::requantize_kernels{}, level, [&](auto kernel) {
      decltype(kernel)::template requantize_fixed_point<S>(in, out, n, ip.zero_point, m, op.zero_point);
    });
  } else {
    (void)level;
    for (index_t i = 0; i < n; ++i) out[i] = requantize_one<InScheme, OutScheme>(in[i], ip, op, m);
  }
}

}  // namespace detail

/// Requantizes `in` (InScheme, in_params) into `out` (OutScheme, out_params) on kernels of at most `level`.
template <class InScheme, class OutScheme, class InView, class OutView>
void requantize_isa(isa_level level, const InView& in, const OutView& out, const params_for<InScheme>& in_params,
                    const params_for<OutScheme>& out_params) {
  static_assert(is_scheme_v<InScheme> && is_scheme_v<OutScheme>,
                "qsparse::requantize: InScheme and OutScheme must be qsparse::scheme<...> types.");
  static_assert(is_tensor_view_v<InView> && is_tensor_view_v<OutView>,
                "qsparse::requantize: in and out must be qsparse::tensor_view objects.");
  static_assert(std::is_same_v<typename InView::value_type, typename InScheme::value_type>,
                "qsparse::requantize: in must be a view of InScheme::value_type.");
  static_assert(std::is_same_v<typename OutView::element_type, typename OutScheme::value_type>,
                "qsparse::requantize: out must be a view of non-const OutScheme::value_type.");
  static_assert(detail::has_default_accessor_v<InView> && detail::has_default_accessor_v<OutView>,
                "qsparse::requantize: views must use qsparse::default_accessor.");
  constexpr const char* function = "qsparse::requantize";
  detail::check_level(function, level);
  detail::check_same_extents(function, in, out);
  detail::check_elementwise_aliasing(function, "in", in, "out", out);
  const std::ptrdiff_t in_axis = detail::validated_axis<InScheme>(function, in_params, InView::rank(),
                                                                  detail::axis_extent<InScheme>(in, in_params));
  const std::ptrdiff_t out_axis = detail::validated_axis<OutScheme>(function, out_params, OutView::rank(),
                                                                    detail::axis_extent<OutScheme>(out, out_params));
  detail::check(in_axis < 0 || out_axis < 0 || in_axis == out_axis, function,
                ": per-channel input and output must share the axis, got in axis = ", in_axis,
                ", out axis = ", out_axis);
  const std::ptrdiff_t axis = in_axis >= 0 ? in_axis : out_axis;
  const auto* ip = in.data_handle();
  auto* op = out.data_handle();
  detail::for_each_run(
      in, out, axis,
      [&](index_t io, index_t oo, index_t n, index_t c) {
        detail::requantize_run<InScheme, OutScheme>(level, ip + io, op + oo, n,
                                                    detail::channel_params(in_params, c),
                                                    detail::channel_params(out_params, c));
      },
      [&](index_t io, index_t oo, index_t n) {
        for (index_t j = 0; j < n; ++j) {
          const per_tensor_params a = detail::channel_params(in_params, j);
          const per_tensor_params b = detail::channel_params(out_params, j);
          op[oo + j] = detail::requantize_one<InScheme, OutScheme>(ip[io + j], a, b,
                                                                   detail::requantize_multiplier<OutScheme>(a, b));
        }
      },
      [&](index_t io, index_t oo, index_t n, index_t is, index_t os, index_t c) {
        for (index_t j = 0; j < n; ++j) {
          const index_t ch = c == -2 ? j : c;
          const per_tensor_params a = detail::channel_params(in_params, ch);
          const per_tensor_params b = detail::channel_params(out_params, ch);
          op[oo + j * os] = detail::requantize_one<InScheme, OutScheme>(ip[io + j * is], a, b,
                                                                        detail::requantize_multiplier<OutScheme>(a, b));
        }
      });
}

/// Requantizes `in` into `out` on the best kernel for this CPU.
template <class InScheme, class OutScheme, class InView, class OutView>
void requantize(const InView& in, const OutView& out, const params_for<InScheme>& in_params,
                const params_for<OutScheme>& out_params) {
  requantize_isa<InScheme, OutScheme>(best_isa(), in, out, in_params, out_params);
}

}  // namespace qsparse
