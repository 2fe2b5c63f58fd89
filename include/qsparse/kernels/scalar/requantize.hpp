// qsparse/kernels/scalar/requantize.hpp — the definition of requantizing one value, and its portable loop.
//
// TFLite rule (output scheme rounds half away from zero; TFLite's Requantize op, docs/numerics.md):
//   out = clamp(multiply_by_quantized_multiplier(saturate_int32(q - in_zp), M, shift) + out_zp, qmin, qmax)
//   with {M, shift} = quantize_multiplier(double(in_scale) / double(out_scale)), double rounding.
// PyTorch rule (output scheme rounds half to even; at::native::requantize_val):
//   out = quantize_value(dequantize_value(q, in_scale, in_zp), out_scale, out_zp)
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

#include "qsparse/core/isa.hpp"
#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/quant/quantize_value.hpp"

namespace qsparse {

/// TFLite's requantization of one value (see the header comment).
template <class OutStorage>
inline typename storage_traits<OutStorage>::value_type requantize_value_fixed_point(std::int64_t q,
                                                                                   std::int32_t in_zero_point,
                                                                                   quantized_multiplier m,
                                                                                   std::int32_t out_zero_point) {
  std::int64_t centred = q - in_zero_point;
  constexpr std::int64_t lo32 = std::numeric_limits<std::int32_t>::min(), hi32 = std::numeric_limits<std::int32_t>::max();
  centred = centred < lo32 ? lo32 : (centred > hi32 ? hi32 : centred);
  const std::int64_t y =
      static_cast<std::int64_t>(double_rounding::apply(static_cast<std::int32_t>(centred), m.multiplier, m.shift)) +
      out_zero_point;
  constexpr std::int64_t qmin = storage_traits<OutStorage>::qmin, qmax = storage_traits<OutStorage>::qmax;
  return static_cast<typename storage_traits<OutStorage>::value_type>(y < qmin ? qmin : (y > qmax ? qmax : y));
}

namespace kernels::scalar {

template <class OutStorage, class In>
void requantize_fixed_point(const In* q, typename storage_traits<OutStorage>::value_type* out, std::ptrdiff_t n,
                            std::int32_t in_zero_point, quantized_multiplier m, std::int32_t out_zero_point) {
  for (std::ptrdiff_t i = 0; i < n; ++i)
    out[i] = requantize_value_fixed_point<OutStorage>(q[i], in_zero_point, m, out_zero_point);
}

/// The requantize kernels of this ISA as one registry entry (qsparse/kernels/requantize_kernels.hpp).
struct requantize_kernel {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "requantize_fixed_point__scalar"; }
  template <class OutStorage, class... Args>
  static void requantize_fixed_point(Args&&... args) {
    scalar::requantize_fixed_point<OutStorage>(std::forward<Args>(args)...);
  }
};

}  // namespace kernels::scalar
}  // namespace qsparse
