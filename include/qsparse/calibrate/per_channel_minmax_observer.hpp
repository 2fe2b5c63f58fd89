// qsparse/calibrate/per_channel_minmax_observer.hpp — min/max observers with one range per channel.
//
//   per_channel_minmax_observer o(0);                          // PyTorch PerChannelMinMaxObserver(ch_axis=0)
//   o.observe(weights);                                        // any rank, any layout; channels along axis 0
//   per_channel_qparams p = o.params<qsparse::tflite_int8_weight>();
//   qsparse::quantize<qsparse::tflite_int8_weight>(weights, q, p.view());
//   per_channel_moving_average_minmax_observer m(1, 0.01f);   // MovingAveragePerChannelMinMaxObserver
//
// The channel of an element is its index along `axis` (min/max run over every other axis). The number of
// channels is fixed by the first observed tensor (its extent along axis); a later tensor with another
// count, or of a rank that has no such axis, is a qsparse::error naming both. reset() forgets the count.
// Per channel, the rules are those of qsparse/calibrate/minmax_observer.hpp: running min/max, or the
// float32 moving average (a channel's first batch with a finite value sets it; a batch where a channel
// has none leaves that channel alone), and merge() as there (the moving average's merge weights each
// channel by the batches it averaged). A channel that saw nothing gets scale 1 and the zero point of 0.0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "qsparse/calibrate/minmax_observer.hpp"
#include "qsparse/calibrate/observer.hpp"
#include "qsparse/calibrate/range.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/quant/params.hpp"

namespace qsparse {

namespace detail {

/// The per-channel bounds both observers keep, and the checks they share.
class channel_bounds {
 public:
  explicit channel_bounds(std::size_t axis) : axis_(axis) {}

  std::size_t axis() const { return axis_; }
  std::ptrdiff_t channels() const { return static_cast<std::ptrdiff_t>(lo_.size()); }
  bool configured() const { return configured_; }
  const std::vector<float>& lo() const { return lo_; }
  const std::vector<float>& hi() const { return hi_; }
  std::vector<float>& lo() { return lo_; }
  std::vector<float>& hi() { return hi_; }

  /// Checks x's rank and channel count against this observer (fixing the count on first use).
  template <class View>
  void accept(const char* function, const View& x) {
    check(axis_ < View::rank(), function, ": axis = ", axis_, " is out of range for a rank-", View::rank(),
          " tensor");
    if constexpr (View::rank() > 0) {
      const std::ptrdiff_t c = x.extent(axis_);
      if (!configured_) {
        configure(c);
      } else {
        check(c == channels(), function, ": the tensor has ", c, " channels along axis ", axis_,
              " but the observer holds ", channels());
      }
    }
  }

  void configure(std::ptrdiff_t channels) {
    const auto n = static_cast<std::size_t>(channels);
    lo_.assign(n, std::numeric_limits<float>::infinity());
    hi_.assign(n, -std::numeric_limits<float>::infinity());
    configured_ = true;
  }

  void check_mergeable(const char* function, const channel_bounds& other) const {
    check(axis_ == other.axis_, function, ": the observers watch different axes: ", axis_, " vs ", other.axis_);
    check(!configured_ || !other.configured_ || channels() == other.channels(), function,
          ": the observers hold different channel counts: ", channels(), " vs ", other.channels());
  }

  void reset() {
    lo_.clear();
    hi_.clear();
    configured_ = false;
  }

  bool empty() const {
    for (std::size_t c = 0; c < lo_.size(); ++c)
      if (lo_[c] <= hi_[c]) return false;
    return true;
  }

  template <class Scheme>
  per_channel_params params_into(float* scale, std::int32_t* zero_point) const {
    check(lo_.empty() || (scale != nullptr && zero_point != nullptr),
          "qsparse::per_channel observer params: scale and zero_point must point at ", lo_.size(),
          " values, got a null pointer");
    for (std::size_t c = 0; c < lo_.size(); ++c) {
      const per_tensor_params p = params_from_range<Scheme>(value_range{lo_[c], hi_[c]});
      scale[c] = p.scale;
      zero_point[c] = p.zero_point;
    }
    return per_channel_params{scale, zero_point, channels(), axis_};
  }

  template <class Scheme>
  per_channel_qparams params() const {
    per_channel_qparams p;
    p.scale.resize(lo_.size());
    p.zero_point.resize(lo_.size());
    p.axis = axis_;
    params_into<Scheme>(p.scale.data(), p.zero_point.data());
    return p;
  }

 private:
  std::size_t axis_;
  bool configured_ = false;
  std::vector<float> lo_, hi_;
};

}  // namespace detail

/// Running min and max per channel (PyTorch's PerChannelMinMaxObserver).
class per_channel_minmax_observer {
 public:
  /// Channels run along `axis` (PyTorch's ch_axis; 0 by default, the output channel of OHWI weights).
  explicit per_channel_minmax_observer(std::size_t axis = 0) : bounds_(axis) {}

  template <class View>
  void observe_isa(isa_level level, const View& x) {
    detail::check_float_view<View>();
    bounds_.accept("qsparse::per_channel_minmax_observer::observe", x);
    if constexpr (View::rank() > 0) find_channel_ranges_isa(level, x, bounds_.axis(), bounds_.lo().data(), bounds_.hi().data());
  }
  template <class View>
  void observe(const View& x) {
    observe_isa(best_isa(), x);
  }

  /// Per channel, the smallest range holding both. Throws qsparse::error for another axis or channel count.
  void merge(const per_channel_minmax_observer& other) {
    bounds_.check_mergeable("qsparse::per_channel_minmax_observer::merge", other.bounds_);
    if (!other.bounds_.configured()) return;
    if (!bounds_.configured()) {
      bounds_ = other.bounds_;
      return;
    }
    for (std::size_t c = 0; c < bounds_.lo().size(); ++c) {
      const value_range r = value_range{bounds_.lo()[c], bounds_.hi()[c]}.merged(
          value_range{other.bounds_.lo()[c], other.bounds_.hi()[c]});
      bounds_.lo()[c] = r.min;
      bounds_.hi()[c] = r.max;
    }
  }
  void reset() { bounds_.reset(); }

  /// True when no channel has seen a finite value.
  bool empty() const { return bounds_.empty(); }
  std::size_t axis() const { return bounds_.axis(); }
  /// The channel count (0 before the first observe).
  std::ptrdiff_t channels() const { return bounds_.channels(); }
  /// Per-channel bounds ({+inf, -inf} for a channel that saw nothing).
  const std::vector<float>& min() const { return bounds_.lo(); }
  const std::vector<float>& max() const { return bounds_.hi(); }

  template <class Scheme>
  per_channel_qparams params() const {
    detail::check_per_channel_scheme<Scheme>();
    return bounds_.params<Scheme>();
  }
  /// The same, written to caller memory (channels() values each).
  template <class Scheme>
  per_channel_params params(float* scale, std::int32_t* zero_point) const {
    detail::check_per_channel_scheme<Scheme>();
    return bounds_.params_into<Scheme>(scale, zero_point);
  }

 private:
  detail::channel_bounds bounds_;
};

/// A moving average of each channel's batch min and max (PyTorch's MovingAveragePerChannelMinMaxObserver).
class per_channel_moving_average_minmax_observer {
 public:
  explicit per_channel_moving_average_minmax_observer(std::size_t axis = 0, float averaging_constant = 0.01f)
      : bounds_(axis), constant_(averaging_constant) {
    detail::check_averaging_constant("qsparse::per_channel_moving_average_minmax_observer", averaging_constant);
  }

  template <class View>
  void observe_isa(isa_level level, const View& x) {
    detail::check_float_view<View>();
    bounds_.accept("qsparse::per_channel_moving_average_minmax_observer::observe", x);
    if constexpr (View::rank() > 0) {
      const auto n = static_cast<std::size_t>(bounds_.channels());
      batch_lo_.assign(n, std::numeric_limits<float>::infinity());
      batch_hi_.assign(n, -std::numeric_limits<float>::infinity());
      batches_.resize(n, 0);
      find_channel_ranges_isa(level, x, bounds_.axis(), batch_lo_.data(), batch_hi_.data());
      for (std::size_t c = 0; c < n; ++c) {
        if (!(batch_lo_[c] <= batch_hi_[c])) continue;
        if (batches_[c] == 0) {
          bounds_.lo()[c] = batch_lo_[c];
          bounds_.hi()[c] = batch_hi_[c];
        } else {
          bounds_.lo()[c] = detail::moving_average_step(bounds_.lo()[c], batch_lo_[c], constant_);
          bounds_.hi()[c] = detail::moving_average_step(bounds_.hi()[c], batch_hi_[c], constant_);
        }
        ++batches_[c];
      }
    }
  }
  template <class View>
  void observe(const View& x) {
    observe_isa(best_isa(), x);
  }

  /// Per channel, the batch-count-weighted mean of the two running ranges.
  void merge(const per_channel_moving_average_minmax_observer& other) {
    bounds_.check_mergeable("qsparse::per_channel_moving_average_minmax_observer::merge", other.bounds_);
    if (!other.bounds_.configured()) return;
    if (!bounds_.configured()) {
      bounds_ = other.bounds_;
      batches_ = other.batches_;
      return;
    }
    batches_.resize(bounds_.lo().size(), 0);
    for (std::size_t c = 0; c < bounds_.lo().size(); ++c) {
      const std::int64_t nb = c < other.batches_.size() ? other.batches_[c] : 0;
      if (nb == 0) continue;
      if (batches_[c] == 0) {
        bounds_.lo()[c] = other.bounds_.lo()[c];
        bounds_.hi()[c] = other.bounds_.hi()[c];
      } else {
        const double a = static_cast<double>(batches_[c]), b = static_cast<double>(nb);
        // Each product rounded on its own (no FMA contraction), as moving_average_minmax_observer::merge.
        const auto mean = [&](float mine, float theirs) {
          return static_cast<float>(
              (detail::product_not_fused(double{mine}, a) + detail::product_not_fused(double{theirs}, b)) / (a + b));
        };
        bounds_.lo()[c] = mean(bounds_.lo()[c], other.bounds_.lo()[c]);
        bounds_.hi()[c] = mean(bounds_.hi()[c], other.bounds_.hi()[c]);
      }
      batches_[c] += nb;
    }
  }
  void reset() {
    bounds_.reset();
    batches_.clear();
  }

  bool empty() const { return bounds_.empty(); }
  std::size_t axis() const { return bounds_.axis(); }
  std::ptrdiff_t channels() const { return bounds_.channels(); }
  float averaging_constant() const { return constant_; }
  const std::vector<float>& min() const { return bounds_.lo(); }
  const std::vector<float>& max() const { return bounds_.hi(); }

  template <class Scheme>
  per_channel_qparams params() const {
    detail::check_per_channel_scheme<Scheme>();
    return bounds_.params<Scheme>();
  }
  template <class Scheme>
  per_channel_params params(float* scale, std::int32_t* zero_point) const {
    detail::check_per_channel_scheme<Scheme>();
    return bounds_.params_into<Scheme>(scale, zero_point);
  }

 private:
  detail::channel_bounds bounds_;
  float constant_;
  std::vector<std::int64_t> batches_;
  std::vector<float> batch_lo_, batch_hi_;  // scratch, sized once per channel count
};

}  // namespace qsparse
