// qsparse/kernels/scalar/fake_quant.hpp — fake quantization forward and backward (the reference loops).
//
//   fake_quantize_value<R, S>(x, scale, zp)   = dequantize_value<R>(quantize_value<R, S>(x, scale, zp), scale, zp)
//   fake_quantize_passes<R, S>(x, scale, zp)  = qmin <= round(x / scale) + zp <= qmax with the rounding and
//                                               division / reciprocal of R, on the *unclamped* rounded value
//                                               (PyTorch's straight-through mask); false for NaN and ±inf
//   fake_quantize_uniform<R, S>(x, y, mask, n, scale, zp)         y[i] = fake_quantize_value(x[i]);
//                                                                 mask[i] = passes(x[i]) if mask != nullptr
//   fake_quantize_channelwise<R, S>(x, y, mask, n, scale, zp)     the same with scale[i], zp[i]
//   fake_quantize_backward_uniform<R, S>(x, dy, dx, n, scale, zp) dx[i] = dy[i] * (passes(x[i]) ? 1.0f : 0.0f)
//   fake_quantize_backward_channelwise<R, S>(...)                 the same with scale[i], zp[i]
// The backward pass multiplies (as PyTorch's dY * mask does): a blocked gradient is +0.0 or -0.0 by the
// sign of dy, and NaN stays NaN. y may be x, and dx may be dy (element i is read before it is written).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/isa.hpp"
#include "qsparse/quant/quantize_value.hpp"

namespace qsparse::kernels::scalar {

template <class Rounding, class Storage>
inline float fake_quantize_value(float x, float scale, std::int32_t zero_point) {
  return dequantize_value<Rounding>(quantize_value<Rounding, Storage>(x, scale, zero_point), scale, zero_point);
}

template <class Rounding, class Storage>
inline bool fake_quantize_passes(float x, float scale, std::int32_t zero_point) {
  const float y = Rounding::multiplies_by_reciprocal ? x * (1.0f / scale) : x / scale;
  const double r = static_cast<double>(Rounding::round(y));
  return r >= static_cast<double>(storage_traits<Storage>::qmin) - zero_point &&
         r <= static_cast<double>(storage_traits<Storage>::qmax) - zero_point;
}

template <class Rounding, class Storage>
void fake_quantize_uniform(const float* x, float* y, std::uint8_t* mask, std::ptrdiff_t n, float scale,
                           std::int32_t zero_point) {
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (mask != nullptr) mask[i] = fake_quantize_passes<Rounding, Storage>(v, scale, zero_point) ? 1 : 0;
    y[i] = fake_quantize_value<Rounding, Storage>(v, scale, zero_point);
  }
}

template <class Rounding, class Storage>
void fake_quantize_channelwise(const float* x, float* y, std::uint8_t* mask, std::ptrdiff_t n, const float* scale,
                               const std::int32_t* zero_point) {
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (mask != nullptr) mask[i] = fake_quantize_passes<Rounding, Storage>(v, scale[i], zero_point[i]) ? 1 : 0;
    y[i] = fake_quantize_value<Rounding, Storage>(v, scale[i], zero_point[i]);
  }
}

template <class Rounding, class Storage>
void fake_quantize_backward_uniform(const float* x, const float* dy, float* dx, std::ptrdiff_t n, float scale,
                                    std::int32_t zero_point) {
  for (std::ptrdiff_t i = 0; i < n; ++i)
    dx[i] = dy[i] * (fake_quantize_passes<Rounding, Storage>(x[i], scale, zero_point) ? 1.0f : 0.0f);
}

template <class Rounding, class Storage>
void fake_quantize_backward_channelwise(const float* x, const float* dy, float* dx, std::ptrdiff_t n,
                                        const float* scale, const std::int32_t* zero_point) {
  for (std::ptrdiff_t i = 0; i < n; ++i)
    dx[i] = dy[i] * (fake_quantize_passes<Rounding, Storage>(x[i], scale[i], zero_point[i]) ? 1.0f : 0.0f);
}

/// The fake quant kernels of this ISA as one registry entry (qsparse/kernels/fake_quant_kernels.hpp).
struct fake_quantize_kernel {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "fake_quantize_f32__scalar"; }
  template <class Rounding, class Storage, class... Args>
  static void fake_quantize_uniform(Args&&... args) {
    scalar::fake_quantize_uniform<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  static void fake_quantize_channelwise(Args&&... args) {
    scalar::fake_quantize_channelwise<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  static void fake_quantize_backward_uniform(Args&&... args) {
    scalar::fake_quantize_backward_uniform<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  static void fake_quantize_backward_channelwise(Args&&... args) {
    scalar::fake_quantize_backward_channelwise<Rounding, Storage>(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::scalar
