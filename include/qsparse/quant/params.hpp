// qsparse/quant/params.hpp — quantization parameters: scale and zero point, per tensor or per channel.
//
//   real = (q - zero_point) * scale
//
// per_tensor_params is a value (two numbers). per_channel_params points at caller memory: `channels`
// scales and zero points for the indices along `axis` of the tensor it is used with; it owns nothing.
// params_for<Scheme> names the right one for a scheme. validate() checks what every entry point checks:
// scales positive and finite, zero points inside the storage range and equal to the symmetric zero
// point for symmetric schemes, and (per channel) the axis and channel count against the tensor's shape.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

struct per_tensor_params {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

struct per_channel_params {
  const float* scale = nullptr;            // [channels]
  const std::int32_t* zero_point = nullptr;  // [channels]
  std::ptrdiff_t channels = 0;
  std::size_t axis = 0;                    // the tensor axis the channels run along

  /// The parameters of one channel.
  per_tensor_params operator[](std::ptrdiff_t c) const { return {scale[c], zero_point[c]}; }
};

template <class Scheme>
using params_for = std::conditional_t<Scheme::is_per_channel, per_channel_params, per_tensor_params>;

namespace detail {

inline void check_scale(const char* function, float scale, const char* what = "scale") {
  check(std::isfinite(scale) && scale > 0.0f, function, ": ", what, " must be positive and finite, got ", what,
        " = ", scale);
}

template <class Scheme>
void check_zero_point(const char* function, std::int32_t zero_point, const char* what = "zero_point") {
  check(zero_point >= Scheme::qmin && zero_point <= Scheme::qmax, function, ": ", what, " = ", zero_point,
        " is outside the storage range [", Scheme::qmin, ", ", Scheme::qmax, "]");
  if constexpr (Scheme::is_symmetric) {
    check(zero_point == Scheme::symmetric_zero_point, function, ": ", what, " = ", zero_point,
          " but a symmetric scheme requires ", Scheme::symmetric_zero_point);
  }
}

}  // namespace detail

/// Checks per-tensor parameters for Scheme; throws qsparse::error naming `function` and the value.
template <class Scheme>
void validate(const per_tensor_params& p, const char* function = "qsparse::validate") {
  static_assert(is_scheme_v<Scheme>, "qsparse::validate: Scheme must be a qsparse::scheme<...>.");
  detail::check_scale(function, p.scale);
  detail::check_zero_point<Scheme>(function, p.zero_point);
}

/// Checks per-channel parameters for Scheme against a tensor of rank `rank` whose extent along p.axis is
/// `axis_extent`.
template <class Scheme>
void validate(const per_channel_params& p, std::size_t rank, std::ptrdiff_t axis_extent,
              const char* function = "qsparse::validate") {
  static_assert(is_scheme_v<Scheme>, "qsparse::validate: Scheme must be a qsparse::scheme<...>.");
  detail::check(p.axis < rank, function, ": axis = ", p.axis, " is out of range for a rank-", rank, " tensor");
  detail::check(p.channels == axis_extent, function, ": channels = ", p.channels, " but the tensor has ",
                axis_extent, " along axis ", p.axis);
  detail::check(p.channels == 0 || (p.scale != nullptr && p.zero_point != nullptr), function,
                ": scale and zero_point must point at ", p.channels, " values, got a null pointer");
  for (std::ptrdiff_t c = 0; c < p.channels; ++c) {
    if (!(std::isfinite(p.scale[c]) && p.scale[c] > 0.0f)) {
      detail::raise(detail::concat(function, ": scale[", c, "] must be positive and finite, got scale[", c,
                                   "] = ", p.scale[c]));
    }
    if (p.zero_point[c] < Scheme::qmin || p.zero_point[c] > Scheme::qmax ||
        (Scheme::is_symmetric && p.zero_point[c] != Scheme::symmetric_zero_point)) {
      detail::raise(detail::concat(function, ": zero_point[", c, "] = ", p.zero_point[c],
                                   Scheme::is_symmetric ? " but a symmetric scheme requires " : " is outside [",
                                   Scheme::is_symmetric ? Scheme::symmetric_zero_point : Scheme::qmin,
                                   Scheme::is_symmetric ? "" : detail::concat(", ", Scheme::qmax, "]")));
    }
  }
}

namespace detail {

/// The parameters of channel c (any c for per-tensor parameters, which have one set).
inline per_tensor_params channel_params(const per_tensor_params& p, std::ptrdiff_t /*c*/) { return p; }
inline per_tensor_params channel_params(const per_channel_params& p, std::ptrdiff_t c) { return p[c]; }

/// The per-channel arrays (null for per-tensor parameters), for kernels that take one value per element.
inline const float* channel_scales(const per_tensor_params&) { return nullptr; }
inline const float* channel_scales(const per_channel_params& p) { return p.scale; }
inline const std::int32_t* channel_zero_points(const per_tensor_params&) { return nullptr; }
inline const std::int32_t* channel_zero_points(const per_channel_params& p) { return p.zero_point; }

}  // namespace detail

}  // namespace qsparse
