// qsparse/calibrate/range.hpp — the finite range of a tensor, per tensor or per channel.
//
//   value_range r = find_range(x);                       // min and max of the finite elements of x
//   find_channel_ranges(x, axis, lo, hi);                // lo[c] = min(lo[c], ...), hi[c] = max(hi[c], ...)
//
// x is a view of float (or const float) of any rank and layout with the default accessor. NaN and ±inf
// are skipped: they carry no range information (quantize maps NaN to the zero point and saturates ±inf
// whatever the range). A tensor with no finite element gives the empty range {+inf, -inf}; a channel
// with none keeps the bounds it had. A zero bound is always +0.0 (never -0.0), so the result does not
// depend on the order of the reduction, and every ISA level gives the same bits.
//
// The work runs on the best kernel for this CPU (AVX-512, AVX2 or the scalar loop); *_isa pins a level.
#pragma once

#include <cstddef>
#include <limits>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/range_kernels.hpp"
#include "qsparse/kernels/scalar/range.hpp"
#include "qsparse/quant/elementwise_n.hpp"

namespace qsparse {

/// A closed interval [min, max] of finite floats, or the empty range {+inf, -inf}.
struct value_range {
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();

  /// True when no finite value has been seen (min > max).
  bool empty() const { return !(min <= max); }
  /// The smallest range holding both (an empty range is the identity).
  value_range merged(const value_range& other) const {
    return {other.min < min ? other.min : min, other.max > max ? other.max : max};
  }
};

namespace detail {

template <class View>
void check_float_view() {
  static_assert(is_tensor_view_v<View>, "qsparse::calibrate: the input must be a qsparse::tensor_view.");
  static_assert(std::is_same_v<typename View::value_type, float>,
                "qsparse::calibrate: the input must be a view of float (or const float).");
  static_assert(std::is_same_v<typename View::accessor_type, default_accessor<typename View::element_type>>,
                "qsparse::calibrate: the input view must use qsparse::default_accessor.");
}

inline void check_level_supported(const char* function, isa_level level) {
  check(cpu_supports(level), function, ": this CPU cannot run isa_level ", to_string(level),
        " (it supports up to ", to_string(detected_isa()), ")");
}

}  // namespace detail

/// The finite range of x, on kernels of at most `level` (which this CPU must support).
template <class View>
value_range find_range_isa(isa_level level, const View& x) {
  detail::check_float_view<View>();
  detail::check_level_supported("qsparse::find_range", level);
  value_range r;
  const float* p = x.data_handle();
  detail::for_each_run_n(
      -1, [&](const auto& o, index_t n, index_t) { kernels::run_finite_range(level, p + o[0], n, r.min, r.max); },
      [&](const auto&, index_t) {},
      [&](const auto& o, index_t n, const auto& s, index_t) {
        kernels::scalar::finite_range_strided(p + o[0], n, s[0], r.min, r.max);
      },
      x);
  return r;
}

/// The finite range of x on the best kernel for this CPU.
template <class View>
value_range find_range(const View& x) {
  return find_range_isa(best_isa(), x);
}

/// Widens lo[c] / hi[c] (caller memory, x.extent(axis) each) by the finite elements of channel c, the
/// index along `axis`. Throws qsparse::error when axis >= rank or lo / hi is null for a non-empty axis.
template <class View>
void find_channel_ranges_isa(isa_level level, const View& x, std::size_t axis, float* lo, float* hi) {
  detail::check_float_view<View>();
  constexpr const char* function = "qsparse::find_channel_ranges";
  detail::check_level_supported(function, level);
  detail::check(axis < View::rank(), function, ": axis = ", axis, " is out of range for a rank-", View::rank(),
                " tensor");
  if constexpr (View::rank() > 0) {
    detail::check(x.extent(axis) == 0 || (lo != nullptr && hi != nullptr), function,
                  ": lo and hi must point at ", x.extent(axis), " values, got a null pointer");
    const float* p = x.data_handle();
    detail::for_each_run_n(
        static_cast<std::ptrdiff_t>(axis),
        [&](const auto& o, index_t n, index_t c) { kernels::run_finite_range(level, p + o[0], n, lo[c], hi[c]); },
        [&](const auto& o, index_t n) { kernels::run_finite_range_channelwise(level, p + o[0], n, lo, hi); },
        [&](const auto& o, index_t n, const auto& s, index_t c) {
          if (c >= 0) {
            kernels::scalar::finite_range_strided(p + o[0], n, s[0], lo[c], hi[c]);
          } else {
            for (index_t j = 0; j < n; ++j) kernels::scalar::finite_range_strided(p + o[0] + j * s[0], 1, 1, lo[j], hi[j]);
          }
        },
        x);
  }
}

/// find_channel_ranges_isa on the best kernel for this CPU.
template <class View>
void find_channel_ranges(const View& x, std::size_t axis, float* lo, float* hi) {
  find_channel_ranges_isa(best_isa(), x, axis, lo, hi);
}

}  // namespace qsparse
