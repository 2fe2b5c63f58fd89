// qsparse/calibrate/observer.hpp — what every observer is, and the parameters it hands out.
//
// An observer watches the tensors a training or calibration loop shows it and turns what it saw into
// quantization parameters. Contract of an observer O (checked by is_observer_v):
//   o.observe(view)          records a view of float (any rank, layout; const or not); NaN and ±inf are
//                            skipped; an empty view changes nothing
//   o.merge(other)           folds in what another observer of the same type saw (parallel calibration)
//   o.reset()                forgets everything (the configuration — axis, bins, constants — stays)
//   o.empty()                true when no finite value has been seen
//   o.params<Scheme>()       per_tensor_params (per-tensor observers) or per_channel_qparams
//                            (per-channel observers), by choose_params<Scheme>: the scheme's own rules
//                            (TFLite nudging or PyTorch's eps floor, narrow range, symmetric zero point)
// Observers are plain values: copyable, no global state, no allocation while observing beyond the
// fixed storage they were built with (per-channel bounds, histogram bins).
//
// An observer that has seen nothing (or a channel that has) gives scale 1 and the zero point of 0.0:
// the symmetric zero point, or 0 clamped into the storage range — PyTorch's answer ([1.0], [0]) for an
// uninitialised observer, made valid for every scheme.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "qsparse/calibrate/range.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/quant/choose_params.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

/// Per-channel parameters that own their arrays (what a per-channel observer returns).
struct per_channel_qparams {
  std::vector<float> scale;
  std::vector<std::int32_t> zero_point;
  std::size_t axis = 0;

  std::ptrdiff_t channels() const { return static_cast<std::ptrdiff_t>(scale.size()); }
  /// The non-owning per_channel_params every entry point takes (valid while this object lives).
  per_channel_params view() const {
    return per_channel_params{scale.data(), zero_point.data(), channels(), axis};
  }
};

namespace detail {

/// The parameters of an observer that has seen nothing: scale 1, the zero point of 0.0.
template <class Scheme>
per_tensor_params unobserved_params() {
  if constexpr (Scheme::is_symmetric) {
    return {1.0f, Scheme::symmetric_zero_point};
  } else {
    return {1.0f, Scheme::qmin > 0 ? Scheme::qmin : (Scheme::qmax < 0 ? Scheme::qmax : 0)};
  }
}

/// choose_params<Scheme>(r.min, r.max), or unobserved_params for an empty range.
template <class Scheme>
per_tensor_params params_from_range(const value_range& r) {
  static_assert(is_scheme_v<Scheme>, "qsparse::observer::params: Scheme must be a qsparse::scheme<...>.");
  if (r.empty()) return unobserved_params<Scheme>();
  return choose_params<Scheme>(r.min, r.max);
}

template <class Scheme>
void check_per_tensor_scheme() {
  static_assert(is_scheme_v<Scheme>, "qsparse::observer::params: Scheme must be a qsparse::scheme<...>.");
  static_assert(!Scheme::is_per_channel,
                "qsparse::observer::params: this observer keeps one range per tensor; use a per-channel "
                "observer (per_channel_minmax_observer, ...) for a per_channel scheme.");
}

template <class Scheme>
void check_per_channel_scheme() {
  static_assert(is_scheme_v<Scheme>, "qsparse::observer::params: Scheme must be a qsparse::scheme<...>.");
  static_assert(Scheme::is_per_channel,
                "qsparse::observer::params: a per-channel observer gives per-channel parameters; use a "
                "per_channel scheme (or qsparse::with_granularity<Scheme, qsparse::per_channel>).");
}

template <class O, class = void>
struct is_observer : std::false_type {};
template <class O>
struct is_observer<O, std::void_t<decltype(std::declval<O&>().observe(std::declval<tensor_view<const float, 1>>())),
                                  decltype(std::declval<O&>().merge(std::declval<const O&>())),
                                  decltype(std::declval<O&>().reset()),
                                  decltype(static_cast<bool>(std::declval<const O&>().empty()))>>
    : std::true_type {};

}  // namespace detail

/// True for a type meeting the observer contract above.
template <class O>
inline constexpr bool is_observer_v = detail::is_observer<O>::value;

}  // namespace qsparse
