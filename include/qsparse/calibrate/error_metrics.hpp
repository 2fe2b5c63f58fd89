// qsparse/calibrate/error_metrics.hpp — how far a quantized tensor is from its float reference: SQNR,
// RMSE and max abs error, accumulated over batches (a quantization debugger's per-layer numbers).
//
//   qsparse::error_stats s;
//   s.add(reference, quantized, n);          // float spans of n values each; call once per batch
//   s.sqnr_db();  s.rmse();  s.max_abs();     // over everything added so far
//
// Definitions (e = quantized - reference, sums over every value added, in double):
//   signal   = Σ reference²          noise = Σ e²
//   sqnr_db  = 10 · log10(signal / noise): +infinity when noise = 0 (identical, or both empty), -infinity
//              when signal = 0 < noise
//   rmse     = sqrt(noise / count)  (0 when nothing was added)
//   max_abs  = max |e|              (0 when nothing was added)
// Each difference is taken in double from the two floats (exact), squared and summed in double in index
// order, so the numbers do not depend on the platform. merge(a, b) is the statistics of a's values then
// b's (sums added, maxima combined): batches may be measured apart and combined.
// A NaN or infinity in either span is a qsparse::error naming the span and the index: an error metric
// over non-finite values means nothing.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "qsparse/core/error.hpp"

namespace qsparse {

/// Running error statistics of an approximation against a reference.
class error_stats {
 public:
  /// Adds n pairs (reference[i], approx[i]); both spans may be null only when n = 0.
  void add(const float* reference, const float* approx, std::size_t n) {
    constexpr const char* who = "qsparse::error_stats::add: ";
    if (n == 0) return;
    detail::check(reference != nullptr, who, "reference must not be null for n = ", n);
    detail::check(approx != nullptr, who, "approx must not be null for n = ", n);
    double signal = 0, noise = 0, worst = max_abs_;
    for (std::size_t i = 0; i < n; ++i) {
      const float r = reference[i], a = approx[i];
      detail::check(std::isfinite(r), who, "reference[", i, "] must be finite, got ", r);
      detail::check(std::isfinite(a), who, "approx[", i, "] must be finite, got ", a);
      const double e = static_cast<double>(a) - static_cast<double>(r);
      signal += static_cast<double>(r) * static_cast<double>(r);
      noise += e * e;
      worst = std::max(worst, std::abs(e));
    }
    signal_ += signal;
    noise_ += noise;
    max_abs_ = worst;
    count_ += n;
  }

  /// The statistics of this one's values followed by other's.
  void merge(const error_stats& other) {
    signal_ += other.signal_;
    noise_ += other.noise_;
    max_abs_ = std::max(max_abs_, other.max_abs_);
    count_ += other.count_;
  }

  std::size_t count() const noexcept { return count_; }
  double signal_power() const noexcept { return signal_; }  // Σ reference²
  double noise_power() const noexcept { return noise_; }    // Σ (approx - reference)²

  /// Signal-to-quantization-noise ratio in decibels (see the header comment for the infinities).
  double sqnr_db() const noexcept {
    if (noise_ == 0) return std::numeric_limits<double>::infinity();
    if (signal_ == 0) return -std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal_ / noise_);
  }

  double rmse() const noexcept { return count_ == 0 ? 0.0 : std::sqrt(noise_ / static_cast<double>(count_)); }
  double max_abs() const noexcept { return max_abs_; }

 private:
  double signal_ = 0, noise_ = 0, max_abs_ = 0;
  std::size_t count_ = 0;
};

}  // namespace qsparse
