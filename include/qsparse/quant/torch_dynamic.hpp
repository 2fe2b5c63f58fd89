// qsparse/quant/torch_dynamic.hpp — PyTorch's dynamic-quantization parameters and its per-channel
// dequantize with float64 scales.
//
//   torch_dynamic_params<Storage>(min, max, reduce_range)
//     PyTorch's ChooseQuantizationParams (aten/src/ATen/native/quantized/cpu/QuantUtils.h), as
//     quantize_per_tensor_dynamic and the dynamic quantized linear use it — not the observers' rule:
//       min = min(min, 0), max = max(max, 0) (float32); qmin/qmax of Storage, halved by reduce_range
//       (qmin / 2, qmax / 2: [0, 127] for quint8, [-64, 63] for qint8);
//       scale = (double(max) - double(min)) / (qmax - qmin) in double;
//       float(scale) == 0 or 1 / float(scale) infinite → scale = 0.1 (min == max == 0 included);
//       scale < 6.1e-5f → scale = 6.1e-5f and the range rebuilt from it (as QuantUtils.h does);
//       zero point from min (qmin - min / scale) or max (qmax - max / scale), chosen by comparing
//       |qmin| - |min / scale| with |qmax| - |max / scale| (minus, unlike TFLite), then clamped and
//       rounded half to even (nearbyint).
//     The result keeps the double scale (quantize_per_tensor_dynamic reports it; the quantization uses
//     float(scale)).
//   torch_dequantize_per_channel(q, y, outer, channels, inner, scale (double[]), zero_point)
//     PyTorch's per-channel dequantize: y = float(double(q - zp) * scale[c]), the scale a float64
//     (q = -128, scale 0.2, zp 1 → -25.7999992; the float32 product gives -25.8000011).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "qsparse/core/error.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/rounding.hpp"
#include "qsparse/quant/storage.hpp"

namespace qsparse {

/// Dynamic parameters with PyTorch's double scale.
struct torch_dynamic_params_result {
  double scale = 1.0;
  std::int32_t zero_point = 0;
  /// The parameters quantize uses (the scale rounded to float32).
  per_tensor_params params() const { return {static_cast<float>(scale), zero_point}; }
};

/// PyTorch's ChooseQuantizationParams for a tensor whose values lie in [min, max] (finite, min <= max).
template <class Storage>
torch_dynamic_params_result torch_dynamic_params(float min, float max, bool reduce_range = false) {
  static_assert(is_storage_v<Storage>, "qsparse::torch_dynamic_params: Storage must be a qsparse storage policy.");
  detail::check(std::isfinite(min) && std::isfinite(max) && min <= max,
                "qsparse::torch_dynamic_params: min and max must be finite with min <= max, got min = ", min,
                ", max = ", max);
  std::int32_t qmin = storage_traits<Storage>::qmin;
  std::int32_t qmax = storage_traits<Storage>::qmax;
  if (reduce_range) {
    qmin /= 2;
    qmax /= 2;
  }
  // QuantUtils.h keeps min and max as float and widens the range to include zero.
  float lo = std::min(min, 0.0f);
  float hi = std::max(max, 0.0f);
  double scale = (static_cast<double>(hi) - lo) / (qmax - qmin);
  if (static_cast<float>(scale) == 0.0f || std::isinf(1.0f / static_cast<float>(scale))) scale = 0.1;
  constexpr float smallest_scale = 6.1e-5f;  // SMALL_SCALE_THRESHOLD, a float
  if (scale < smallest_scale) {
    const auto original = static_cast<float>(scale);
    scale = smallest_scale;
    if (lo == 0.0f) {
      hi = smallest_scale * static_cast<float>(qmax - qmin);
    } else if (hi == 0.0f) {
      lo = -smallest_scale * static_cast<float>(qmax - qmin);
    } else {
      const float amplifier = smallest_scale / original;
      lo *= amplifier;
      hi *= amplifier;
    }
  }
  const double zero_point_from_min = qmin - lo / scale;
  const double zero_point_from_max = qmax - hi / scale;
  const double error_from_min = std::abs(qmin) - std::fabs(lo / scale);
  const double error_from_max = std::abs(qmax) - std::fabs(hi / scale);
  const double initial = error_from_min < error_from_max ? zero_point_from_min : zero_point_from_max;
  std::int32_t nudged;
  if (initial < qmin) {
    nudged = qmin;
  } else if (initial > qmax) {
    nudged = qmax;
  } else {  // nearbyint in the default mode: half to even
    double r = std::round(initial);
    if (std::fabs(initial - std::trunc(initial)) == 0.5) r = 2.0 * std::round(initial * 0.5);
    nudged = static_cast<std::int32_t>(r);
  }
  return {scale, nudged};
}

/// PyTorch's per-channel dequantize with float64 scales, over a row-major tensor seen as
/// [outer][channels][inner] (the channel axis in the middle): y = float(double(q - zero_point[c]) * scale[c]).
template <class T>
void torch_dequantize_per_channel(const T* q, float* y, std::ptrdiff_t outer, std::ptrdiff_t channels,
                                  std::ptrdiff_t inner, const double* scale, const std::int32_t* zero_point) {
  constexpr const char* function = "qsparse::torch_dequantize_per_channel";
  detail::check(outer >= 0 && channels >= 0 && inner >= 0, function, ": sizes must be non-negative, got outer = ",
                outer, ", channels = ", channels, ", inner = ", inner);
  for (std::ptrdiff_t c = 0; c < channels; ++c) {
    detail::check(std::isfinite(scale[c]) && scale[c] > 0.0, function, ": scale[", c,
                  "] must be positive and finite, got ", scale[c]);
  }
  for (std::ptrdiff_t o = 0; o < outer; ++o) {
    for (std::ptrdiff_t c = 0; c < channels; ++c) {
      const std::ptrdiff_t base = (o * channels + c) * inner;
      for (std::ptrdiff_t i = 0; i < inner; ++i) {
        const double centred = static_cast<double>(static_cast<std::int64_t>(q[base + i]) - zero_point[c]);
        y[base + i] = static_cast<float>(centred * scale[c]);
      }
    }
  }
}

}  // namespace qsparse
