// qsparse/calibrate/minmax_observer.hpp — per-tensor min/max observers: running and moving-average.
//
//   minmax_observer o;                      // PyTorch MinMaxObserver
//   o.observe(x);  o.params<qsparse::tflite_int8_activation>();
//   moving_average_minmax_observer m(0.01f);  // PyTorch MovingAverageMinMaxObserver(averaging_constant)
//
// minmax_observer keeps min = min(min, batch min), max = max(max, batch max) over the finite values.
// merge(a, b) is exactly the observer that saw a's batches then b's.
//
// moving_average_minmax_observer: the first batch with a finite value sets min/max; every later one moves
// them toward its own: min = min + c * (batch_min - min) (same for max), in float32, three separately
// rounded operations (PyTorch's tensor ops; never a fused multiply-add). A batch with no finite value
// changes nothing. merge(other) is the data-parallel combination — each replica averaged its own stream,
// so no sequential order exists: the result is the mean of the two running bounds weighted by the
// number of batches each averaged (computed in double, rounded to float once); counts add.
//
// params<Scheme>() = choose_params<Scheme>(min, max) (the range is widened to include zero there), or scale
// 1 and the zero point of 0.0 before any finite value (qsparse/calibrate/observer.hpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "qsparse/calibrate/observer.hpp"
#include "qsparse/calibrate/range.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/quant/params.hpp"

namespace qsparse {

namespace detail {

/// running + c * (batch - running) in float32 with each operation rounded (no contraction into an FMA,
/// whatever -ffp-contract says): PyTorch's moving-average update. When batch - running overflows float
/// (bounds of opposite signs near FLT_MAX), the step is taken in double instead, so the average stays
/// between running and batch rather than becoming an infinity (PyTorch gives -inf or +inf there).
inline float moving_average_step(float running, float batch, float c) {
  const float next = running + product_not_fused(c, batch - running);
  if (std::isfinite(next)) return next;
  const double d =
      static_cast<double>(running) + product_not_fused(static_cast<double>(c), static_cast<double>(batch) - running);
  return static_cast<float>(d);
}

inline void check_averaging_constant(const char* function, float c) {
  check(c > 0.0f && c <= 1.0f, function, ": averaging_constant must be in (0, 1], got averaging_constant = ", c);
}

}  // namespace detail

/// The running min and max of every finite value observed (PyTorch's MinMaxObserver).
class minmax_observer {
 public:
  minmax_observer() = default;

  /// Widens the range by the finite elements of x, on kernels of at most `level`.
  template <class View>
  void observe_isa(isa_level level, const View& x) {
    range_ = range_.merged(find_range_isa(level, x));
  }
  template <class View>
  void observe(const View& x) {
    observe_isa(best_isa(), x);
  }

  void merge(const minmax_observer& other) { range_ = range_.merged(other.range_); }
  void reset() { range_ = value_range{}; }

  bool empty() const { return range_.empty(); }
  /// The observed range ({+inf, -inf} while empty).
  value_range range() const { return range_; }
  float min() const { return range_.min; }
  float max() const { return range_.max; }

  template <class Scheme>
  per_tensor_params params() const {
    detail::check_per_tensor_scheme<Scheme>();
    return detail::params_from_range<Scheme>(range_);
  }

 private:
  value_range range_;
};

/// An exponential moving average of each batch's min and max (PyTorch's MovingAverageMinMaxObserver).
class moving_average_minmax_observer {
 public:
  /// `averaging_constant` in (0, 1]; PyTorch's default is 0.01. Throws qsparse::error otherwise.
  explicit moving_average_minmax_observer(float averaging_constant = 0.01f) : constant_(averaging_constant) {
    detail::check_averaging_constant("qsparse::moving_average_minmax_observer", averaging_constant);
  }

  template <class View>
  void observe_isa(isa_level level, const View& x) {
    const value_range batch = find_range_isa(level, x);
    if (batch.empty()) return;
    if (batches_ == 0) {
      range_ = batch;
    } else {
      range_.min = detail::moving_average_step(range_.min, batch.min, constant_);
      range_.max = detail::moving_average_step(range_.max, batch.max, constant_);
    }
    ++batches_;
  }
  template <class View>
  void observe(const View& x) {
    observe_isa(best_isa(), x);
  }

  /// The batch-count-weighted mean of the two running ranges (see the header comment).
  void merge(const moving_average_minmax_observer& other) {
    if (other.batches_ == 0) return;
    if (batches_ == 0) {
      range_ = other.range_;
      batches_ = other.batches_;
      return;
    }
    const double a = static_cast<double>(batches_), b = static_cast<double>(other.batches_);
    // Each product rounded on its own (no FMA contraction), the same on every compiler and architecture.
    const auto mean = [&](float mine, float theirs) {
      return static_cast<float>(
          (detail::product_not_fused(double{mine}, a) + detail::product_not_fused(double{theirs}, b)) / (a + b));
    };
    range_.min = mean(range_.min, other.range_.min);
    range_.max = mean(range_.max, other.range_.max);
    batches_ += other.batches_;
  }
  void reset() {
    range_ = value_range{};
    batches_ = 0;
  }

  bool empty() const { return batches_ == 0; }
  value_range range() const { return range_; }
  float min() const { return range_.min; }
  float max() const { return range_.max; }
  float averaging_constant() const { return constant_; }
  /// The number of batches that had a finite value.
  std::int64_t batches() const { return batches_; }

  template <class Scheme>
  per_tensor_params params() const {
    detail::check_per_tensor_scheme<Scheme>();
    return detail::params_from_range<Scheme>(range_);
  }

 private:
  value_range range_;
  float constant_;
  std::int64_t batches_ = 0;
};

}  // namespace qsparse
