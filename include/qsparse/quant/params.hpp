// qsparse/quant/params.hpp — quantization parameters: scale and zero point, per tensor or per channel.
//
//   real = (q - zero_point) * scale
//
// per_tensor_params is a value (two numbers). per_channel_params points at caller memory: `channels`
// scales and zero points for the indices along `axis` of the tensor it is used with; it owns nothing.
// group_params<Scale> points at the scales (float or float16) and zero points of the groups of a matrix:
// groups of `group_size` consecutive elements along the reduction axis `axis`; the group of element
// (r, c) with axis 1 is r * (cols / group_size) + c / group_size (with axis 0: c * (rows / group_size) +
// r / group_size), so the arrays are laid out [line][group], as a [N, K / group_size] matrix for weights
// of N outputs along a reduction of K. params_for<Scheme> names the parameters of a per-tensor or
// per-channel scheme, group_params_for<Scheme> those of a per_group scheme; each is undefined for the
// other kind (a substitution failure), so the element-wise entry points and the group-wise ones
// (qsparse/quant/group_quantize.hpp, qsparse/qat/group_fake_quant.hpp) overload on the scheme. validate() checks what every entry point checks:
// scales positive and finite, zero points inside the storage range and equal to the symmetric zero
// point for symmetric schemes, and (per channel) the axis and channel count against the tensor's shape.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"
#include "qsparse/core/float16.hpp"
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

/// Per-group parameters of a matrix (see the header comment); zero_point may be null for a symmetric
/// scheme (every group then has the symmetric zero point).
template <class Scale>
struct group_params {
  const Scale* scale = nullptr;                // [groups]
  const std::int32_t* zero_point = nullptr;    // [groups], or null (symmetric schemes)
  index_t group_size = 0;                      // elements per group along `axis`
  std::size_t axis = 0;                        // the reduction axis of the matrix: 0 or 1
  index_t groups = 0;                          // lines * (extent along axis / group_size)
};

namespace detail {
template <class Scheme, class = void>
struct params_of {};  // per_group schemes: no parameters here (group_params_of)
template <class Scheme>
struct params_of<Scheme, std::enable_if_t<!Scheme::is_per_group>> {
  using type = std::conditional_t<Scheme::is_per_channel, per_channel_params, per_tensor_params>;
};
template <class Scheme, class = void>
struct group_params_of {};
template <class Scheme>
struct group_params_of<Scheme, std::enable_if_t<Scheme::is_per_group>> {
  using type = group_params<typename Scheme::granularity::scale_type>;
};
}  // namespace detail

/// per_tensor_params or per_channel_params for a per-tensor or per-channel scheme (none for per_group).
template <class Scheme>
using params_for = typename detail::params_of<Scheme>::type;
/// group_params<float> or group_params<float16> for a per_group scheme (none for the others).
template <class Scheme>
using group_params_for = typename detail::group_params_of<Scheme>::type;

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

inline float scale_value(float s) { return s; }
inline float scale_value(float16 s) { return static_cast<float>(s); }

/// The parameters of group g (zero_point null: the symmetric zero point).
template <class Scheme, class Scale>
per_tensor_params group_at(const group_params<Scale>& p, index_t g) {
  return {scale_value(p.scale[g]), p.zero_point != nullptr ? p.zero_point[g] : Scheme::symmetric_zero_point};
}

/// The number of groups of a rows x cols matrix; throws qsparse::error (naming `function`, the argument
/// and the values) for an axis past 1, a group_size that is not positive or does not divide the extent
/// along the axis.
inline index_t group_count(const char* function, index_t rows, index_t cols, std::size_t axis, index_t group_size) {
  check(axis <= 1, function, ": axis = ", axis, " is out of range for a rank-2 tensor (groups run along axis 0 or 1)");
  check(group_size > 0, function, ": group_size must be positive, got group_size = ", group_size);
  const index_t along = axis == 1 ? cols : rows, lines = axis == 1 ? rows : cols;
  check(along % group_size == 0, function, ": group_size = ", group_size, " does not divide the extent ", along,
        " along axis ", axis);
  return lines * (along / group_size);
}

}  // namespace detail

/// Checks group parameters for Scheme against a rows x cols matrix: axis, group_size and group count, the
/// pointers, every scale positive and finite, every zero point inside the storage range (and equal to the
/// symmetric zero point for symmetric schemes; affine schemes need zero points).
template <class Scheme, class Scale>
void validate(const group_params<Scale>& p, index_t rows, index_t cols, const char* function = "qsparse::validate") {
  static_assert(is_scheme_v<Scheme> && Scheme::is_per_group,
                "qsparse::validate: group_params go with a qsparse::scheme<..., qsparse::per_group<Scale>, ...>.");
  static_assert(std::is_same_v<Scale, typename Scheme::granularity::scale_type>,
                "qsparse::validate: the parameters' scale type must be the scheme's per_group<Scale>.");
  const index_t groups = detail::group_count(function, rows, cols, p.axis, p.group_size);
  detail::check(p.groups == groups, function, ": groups = ", p.groups, " but a ", rows, " x ", cols,
                " matrix has ", groups, " groups of ", p.group_size, " along axis ", p.axis);
  detail::check(groups == 0 || p.scale != nullptr, function, ": scale must point at ", groups, " values, got null");
  detail::check(groups == 0 || p.zero_point != nullptr || Scheme::is_symmetric, function,
                ": zero_point must point at ", groups, " values for an affine scheme, got null");
  for (index_t g = 0; g < groups; ++g) {
    const float s = detail::scale_value(p.scale[g]);
    if (!(std::isfinite(s) && s > 0.0f)) {
      detail::raise(detail::concat(function, ": scale[", g, "] must be positive and finite, got scale[", g, "] = ", s));
    }
    if (p.zero_point == nullptr) continue;
    const std::int32_t z = p.zero_point[g];
    if (z < Scheme::qmin || z > Scheme::qmax || (Scheme::is_symmetric && z != Scheme::symmetric_zero_point)) {
      detail::raise(detail::concat(function, ": zero_point[", g, "] = ", z,
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
