// qsparse/kernels/scalar/quantize.hpp — portable loops for quantize / dequantize (the reference loops).
//
//   quantize_uniform<R, S>(x, q, n, scale, zp)        q[i] = quantize_value<R, S>(x[i], scale, zp)
//   quantize_channelwise<R, S>(x, q, n, scale, zp)    q[i] = quantize_value<R, S>(x[i], scale[i], zp[i])
//   dequantize_uniform<R>(q, x, n, scale, zp)          x[i] = dequantize_value<R>(q[i], scale, zp)
//   dequantize_channelwise<R>(q, x, n, scale, zp)      x[i] = dequantize_value<R>(q[i], scale[i], zp[i])
// "channelwise" is the innermost-axis per-channel case: element i belongs to channel i.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/isa.hpp"
#include "qsparse/quant/quantize_value.hpp"

namespace qsparse::kernels::scalar {

template <class Rounding, class Storage>
void quantize_uniform(const float* x, typename storage_traits<Storage>::value_type* q, std::ptrdiff_t n, float scale,
                      std::int32_t zero_point) {
  for (std::ptrdiff_t i = 0; i < n; ++i) q[i] = quantize_value<Rounding, Storage>(x[i], scale, zero_point);
}

template <class Rounding, class Storage>
void quantize_channelwise(const float* x, typename storage_traits<Storage>::value_type* q, std::ptrdiff_t n,
                          const float* scale, const std::int32_t* zero_point) {
  for (std::ptrdiff_t i = 0; i < n; ++i) q[i] = quantize_value<Rounding, Storage>(x[i], scale[i], zero_point[i]);
}

template <class Rounding, class T>
void dequantize_uniform(const T* q, float* x, std::ptrdiff_t n, float scale, std::int32_t zero_point) {
  for (std::ptrdiff_t i = 0; i < n; ++i) x[i] = dequantize_value<Rounding>(q[i], scale, zero_point);
}

template <class Rounding, class T>
void dequantize_channelwise(const T* q, float* x, std::ptrdiff_t n, const float* scale,
                            const std::int32_t* zero_point) {
  for (std::ptrdiff_t i = 0; i < n; ++i) x[i] = dequantize_value<Rounding>(q[i], scale[i], zero_point[i]);
}

/// The quantize kernels of this ISA as one registry entry (qsparse/kernels/quantize_kernels.hpp).
struct quantize_kernel {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "quantize_f32__scalar"; }
  template <class Rounding, class Storage, class... Args>
  static void quantize_uniform(Args&&... args) {
    scalar::quantize_uniform<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  static void quantize_channelwise(Args&&... args) {
    scalar::quantize_channelwise<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class... Args>
  static void dequantize_uniform(Args&&... args) {
    scalar::dequantize_uniform<Rounding>(std::forward<Args>(args)...);
  }
  template <class Rounding, class... Args>
  static void dequantize_channelwise(Args&&... args) {
    scalar::dequantize_channelwise<Rounding>(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::scalar
