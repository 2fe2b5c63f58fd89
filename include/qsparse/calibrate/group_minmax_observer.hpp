// qsparse/calibrate/group_minmax_observer.hpp — a min/max observer with one range per group of a matrix.
//
//   qsparse::group_minmax_observer o(1, 32);       // groups of 32 along axis 1 (the reduction axis)
//   o.observe(w);                                  // a rank-2 view of float, any layout
//   auto p = o.params<w4>();                       // group_qparams<Scale>: round to nearest per group
//   qsparse::quantize<w4>(w, q, p.view());
//
// Per group the rules of per_channel_minmax_observer: a running min and max of the finite values (NaN and
// ±inf skipped, a zero bound is +0.0), merge() is "observe a, then b", and params<Scheme>() is
// choose_params<Scheme> of each group's range (the scheme's rule), rounded to the scheme's scale type as
// choose_group_params does; a group that saw nothing gets scale 1 and the zero point of 0.0. The shape is
// fixed by the first observed matrix; a later one of another shape, or a group_size that does not divide
// the extent along the axis, is a qsparse::error naming the values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "qsparse/calibrate/observer.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/quant/group_quantize.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

/// Running min and max per group of `group_size` elements along `axis` of a matrix.
class group_minmax_observer {
 public:
  /// Throws qsparse::error when axis > 1 or group_size <= 0.
  group_minmax_observer(std::size_t axis, index_t group_size) : axis_(axis), group_size_(group_size) {
    detail::group_count("qsparse::group_minmax_observer", 0, 0, axis, group_size);
  }

  template <class View>
  void observe(const View& x) {
    detail::check_group_float_view<View>();
    constexpr const char* function = "qsparse::group_minmax_observer::observe";
    const index_t groups = detail::group_count(function, x.extent(0), x.extent(1), axis_, group_size_);
    if (!configured_) {
      rows_ = x.extent(0);
      cols_ = x.extent(1);
      lo_.assign(static_cast<std::size_t>(groups), std::numeric_limits<float>::infinity());
      hi_.assign(static_cast<std::size_t>(groups), -std::numeric_limits<float>::infinity());
      configured_ = true;
    } else {
      detail::check(x.extent(0) == rows_ && x.extent(1) == cols_, function, ": the matrix is ", x.extent(0), " x ",
                    x.extent(1), " but the observer holds ", rows_, " x ", cols_);
    }
    find_group_ranges(x, axis_, group_size_, lo_.data(), hi_.data());
  }

  void merge(const group_minmax_observer& other) {
    constexpr const char* function = "qsparse::group_minmax_observer::merge";
    detail::check(axis_ == other.axis_ && group_size_ == other.group_size_, function,
                  ": the observers differ: axis ", axis_, " vs ", other.axis_, ", group_size ", group_size_, " vs ",
                  other.group_size_);
    if (!other.configured_) return;
    if (!configured_) {
      *this = other;
      return;
    }
    detail::check(rows_ == other.rows_ && cols_ == other.cols_, function, ": the observers hold ", rows_, " x ", cols_,
                  " and ", other.rows_, " x ", other.cols_, " matrices");
    for (std::size_t g = 0; g < lo_.size(); ++g) {
      if (other.lo_[g] < lo_[g]) lo_[g] = other.lo_[g];
      if (other.hi_[g] > hi_[g]) hi_[g] = other.hi_[g];
    }
  }

  void reset() {
    lo_.clear();
    hi_.clear();
    rows_ = cols_ = 0;
    configured_ = false;
  }

  bool empty() const {
    for (std::size_t g = 0; g < lo_.size(); ++g)
      if (lo_[g] <= hi_[g]) return false;
    return true;
  }

  std::size_t axis() const { return axis_; }
  index_t group_size() const { return group_size_; }
  index_t groups() const { return static_cast<index_t>(lo_.size()); }
  /// The bounds of every group ({+inf, -inf} for one that saw nothing).
  const std::vector<float>& min() const { return lo_; }
  const std::vector<float>& max() const { return hi_; }

  /// Round-to-nearest parameters of every group (an empty observer has no groups).
  template <class Scheme>
  group_qparams<typename Scheme::granularity::scale_type> params() const {
    static_assert(is_scheme_v<Scheme> && Scheme::is_per_group,
                  "qsparse::group_minmax_observer::params: Scheme must be a qsparse::scheme<..., "
                  "qsparse::per_group<Scale>, ...>.");
    group_qparams<typename Scheme::granularity::scale_type> p;
    p.scale.resize(lo_.size());
    p.zero_point.resize(lo_.size());
    p.group_size = group_size_;
    p.axis = axis_;
    detail::group_params_from_ranges<Scheme>(lo_.data(), hi_.data(), groups(), p.scale.data(), p.zero_point.data());
    return p;
  }

 private:
  std::size_t axis_;
  index_t group_size_;
  index_t rows_ = 0, cols_ = 0;
  bool configured_ = false;
  std::vector<float> lo_, hi_;
};

}  // namespace qsparse
