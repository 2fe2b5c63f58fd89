// qsparse/calibrate/histogram_observers.hpp — observers that keep a histogram and search it for a range.
//
//   percentile_observer p(99.99);        // clip the top (and, for affine schemes, bottom) 0.01 %
//   entropy_observer e;                  // TensorRT's KL-divergence calibration
//   mse_observer m;                      // the range of least mean squared quantization error
//   for (auto& batch : calibration_set) { p.observe(batch); e.observe(batch); m.observe(batch); }
//   auto params = e.params<qsparse::tflite_int8_activation>();
//
// Each holds one qsparse::histogram (2048 bins unless told, 8192 for entropy: fixed memory whatever it sees, exactly
// mergeable, so merge(a, b) equals observing a then b) and runs its search of
// qsparse/calibrate/range_search.hpp when asked: range<Scheme>() gives the clipping range, params<Scheme>()
// feeds it to choose_params<Scheme> (nudging, narrow range and symmetric zero point are the scheme's).
// The scheme decides the search's shape: a symmetric scheme gets a symmetric range [-T, T] from the
// |x| histogram, an affine one an affine [lo, hi]. An observer that saw nothing gives scale 1 and the
// zero point of 0.0. Searches cost O(bins^2) at most (a few milliseconds for 2048 bins); observe() costs
// two reads of the tensor.
#pragma once

#include <cstddef>

#include "qsparse/calibrate/histogram.hpp"
#include "qsparse/calibrate/observer.hpp"
#include "qsparse/calibrate/range.hpp"
#include "qsparse/calibrate/range_search.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/quant/params.hpp"

namespace qsparse {

namespace detail {

/// The histogram plumbing the three observers share; Derived supplies range<Scheme>().
template <class Derived>
class histogram_observer_base {
 public:
  explicit histogram_observer_base(index_t bins) : histogram_(bins) {}

  template <class View>
  void observe_isa(isa_level level, const View& x) {
    histogram_.add_isa(level, x);
  }
  template <class View>
  void observe(const View& x) {
    histogram_.add(x);
  }
  void merge(const Derived& other) { histogram_.merge(other.histogram()); }
  void reset() { histogram_.reset(); }
  bool empty() const { return histogram_.empty(); }
  const qsparse::histogram& histogram() const { return histogram_; }

  template <class Scheme>
  per_tensor_params params() const {
    check_per_tensor_scheme<Scheme>();
    return params_from_range<Scheme>(static_cast<const Derived&>(*this).template range<Scheme>());
  }

 private:
  qsparse::histogram histogram_;
};

}  // namespace detail

/// Clips the given percentile of the values (TensorRT / ONNX Runtime percentile calibration).
class percentile_observer : public detail::histogram_observer_base<percentile_observer> {
 public:
  /// `percentile` in (0, 100] — at least 50 for the affine schemes it will serve (checked then). 99.99 is
  /// TensorRT's default, 99.999 ONNX Runtime's.
  explicit percentile_observer(double percentile = 99.99, index_t bins = 2048)
      : histogram_observer_base(bins), percentile_(percentile) {
    detail::check(percentile > 0.0 && percentile <= 100.0,
                  "qsparse::percentile_observer: percentile must be in (0, 100], got percentile = ", percentile);
  }
  double percentile() const { return percentile_; }

  template <class Scheme>
  value_range range() const {
    return percentile_range(histogram(), percentile_, Scheme::is_symmetric);
  }

 private:
  double percentile_;
};

/// Minimises the KL divergence between the clipped and the quantized distribution (TensorRT entropy
/// calibration; docs/numerics.md).
class entropy_observer : public detail::histogram_observer_base<entropy_observer> {
 public:
  /// 8192 bins by default: at least TensorRT's 2048 over [0, max |x|] (qsparse/calibrate/range_search.hpp).
  explicit entropy_observer(index_t bins = 8192, search_options options = {})
      : histogram_observer_base(bins), options_(options) {
    detail::check_search_options("qsparse::entropy_observer", options);
  }
  const search_options& options() const { return options_; }

  template <class Scheme>
  value_range range() const {
    return entropy_range<Scheme>(histogram(), options_);
  }

 private:
  search_options options_;
};

/// Minimises the binned mean squared error of fake quantization under the scheme.
class mse_observer : public detail::histogram_observer_base<mse_observer> {
 public:
  explicit mse_observer(index_t bins = 2048, search_options options = {})
      : histogram_observer_base(bins), options_(options) {
    detail::check_search_options("qsparse::mse_observer", options);
  }
  const search_options& options() const { return options_; }

  template <class Scheme>
  value_range range() const {
    return mse_range<Scheme>(histogram(), options_);
  }

 private:
  search_options options_;
};

}  // namespace qsparse
