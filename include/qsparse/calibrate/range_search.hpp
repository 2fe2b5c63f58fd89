// qsparse/calibrate/range_search.hpp — choose a clipping range from a histogram: percentile, entropy, MSE.
//
// Every search returns a value_range inside the observed [min, max] — for the affine entropy and MSE
// searches, inside [min(min, 0), max(max, 0)], the range choose_params uses — so a search never widens
// the data's range, and when keeping every value is best its parameters are exactly the min/max ones. Candidate ranges are
// made of histogram edges (qsparse/calibrate/histogram.hpp); a symmetric search works on the folded
// histogram of |x| (abs bin k = signed bins half + k and half - 1 - k; a negative value lying exactly on
// an edge counts one bin below its magnitude) and returns [-T, T]; an affine search returns [lo, hi]
// with lo <= 0 <= hi edges. An empty histogram gives the empty range.
//
// percentile_range(h, p, symmetric)    p in (0, 100] (symmetric) or [50, 100] (affine). Symmetric: the
//     smallest edge T with count(|x| >= T) <= (1 - p/100) * total; affine: the largest lower edge with at
//     most that many values below it and the smallest upper edge with at most that many above it.
//     (TensorRT's percentile calibrator takes the lower edge of the bin where the CDF reaches p; this
//     takes its upper edge, so a constant tensor keeps its value.)
// entropy_range(h, levels, symmetric, options)    TensorRT's KL-divergence search (docs/numerics.md):
//     symmetric — on the |x| bins 0..stop (stop = one past the last non-empty bin): bins[0] = bins[1]
//       (TensorRT replaces the zero bin), then for each candidate i = start, start + stride, ... < stop
//       and i = stop (with stride 1, exactly TensorRT's list):
//       P = bins[0..i) with the count of bins[i..stop) added to P[i-1]; Q = bins[0..i) merged into
//       `levels` groups (bin j in group floor(j * levels / i)), each group's total spread evenly over its
//       non-empty bins; KL(P || Q) of the normalised distributions (p > 0 with q = 0 → +inf); the
//       minimum wins, ties to the larger i (TensorRT's last argmin); T = i * w.
//     affine — the same divergence on the signed bins for windows [s, t): P = bins[s..t) with the counts
//       left of s added to P[0] and right of t to P[last]; s runs from the first non-empty bin up to the
//       zero edge and t from one past the last non-empty bin down to it, both in steps of `stride`, each
//       list ending at the zero edge; windows narrower than `start` bins are skipped (unless none is
//       wider); the zero bin is not replaced. Minimum KL, ties to the first window met (widest first).
//     `levels` is the number of quantization levels the range maps onto: qmax - zero_point + 1 for a
//     symmetric scheme (128 for int8, TensorRT's 2^(bits-1)), qmax - qmin + 1 for an affine one.
// mse_range<Scheme>(h, options)    the candidates of the entropy search (symmetric for a symmetric scheme),
//     scored by the mean squared error of fake quantizing each bin's centre with choose_params<Scheme> of
//     the candidate, weighted by the bin's count (the scheme's own quantize_value / dequantize_value, in
//     double); the minimum wins, ties to the wider range. Bin centres stand for the values: a value on
//     a bin's lower edge is scored as if it sat half a bin higher, so the next narrower candidate can
//     beat the exact range (on a constant tensor the MSE range may end one candidate step short).
// options.stride = 0 picks one: entropy symmetric max(1, ceil(stop / 2048)) (1, TensorRT's, up to 2048
// bins of data); MSE symmetric max(1, stop / 128); affine max(1, ceil(side / 32)) for the longer side, so
// an affine search scores at most 33 x 33 windows.
//
// Resolution matters to the entropy search: TensorRT bins |x| into 2048 bins over [0, max |x|], and with
// much fewer bins over the data the KL criterion stops clipping outliers (Gaussian data with three
// outliers at 25-40 x sigma: TensorRT's own code picks 3.8 with 2048 bins and 25 with 1280). The folded
// histogram puts between bins/4 and bins/2 bins over [0, max |x|], so entropy_observer defaults to 8192
// bins (at least 2048 over the data).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "qsparse/calibrate/histogram.hpp"
#include "qsparse/calibrate/range.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/quant/choose_params.hpp"
#include "qsparse/quant/quantize_value.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

/// Candidate grid of the entropy and MSE searches.
struct search_options {
  index_t start = 128;  // the narrowest candidate, in bins (TensorRT's start_bin)
  index_t stride = 0;   // step between candidates, in bins; 0 = automatic (see the header comment)
};

namespace detail {

/// The histogram of |x| over `half` bins: abs[k] = signed[half + k] + signed[half - 1 - k].
inline std::vector<double> folded_counts(const histogram& h) {
  const auto half = static_cast<std::size_t>(h.bins() / 2);
  std::vector<double> a(half);
  for (std::size_t k = 0; k < half; ++k)
    a[k] = static_cast<double>(h.counts()[half + k]) + static_cast<double>(h.counts()[half - 1 - k]);
  return a;
}

inline std::vector<double> signed_counts(const histogram& h) {
  std::vector<double> c(h.counts().size());
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<double>(h.counts()[i]);
  return c;
}

/// One past the last non-zero entry (0 if none).
inline index_t occupied_end(const std::vector<double>& c) {
  for (std::size_t i = c.size(); i > 0; --i)
    if (c[i - 1] != 0.0) return static_cast<index_t>(i);
  return 0;
}
inline index_t occupied_begin(const std::vector<double>& c) {
  for (std::size_t i = 0; i < c.size(); ++i)
    if (c[i] != 0.0) return static_cast<index_t>(i);
  return static_cast<index_t>(c.size());
}

/// KL(P || Q) for the window c[begin, end) with `left` / `right` outlier counts folded into its ends and
/// the window merged into `levels` groups (TensorRT's construction of Q; see the header comment).
inline double window_divergence(const std::vector<double>& c, index_t begin, index_t end, double left, double right,
                                std::int64_t levels, std::vector<double>& group_sum, std::vector<double>& group_count) {
  const index_t length = end - begin;
  group_sum.assign(static_cast<std::size_t>(levels), 0.0);
  group_count.assign(static_cast<std::size_t>(levels), 0.0);
  for (index_t j = 0; j < length; ++j) {
    const double v = c[static_cast<std::size_t>(begin + j)];
    if (v == 0.0) continue;
    const auto g = static_cast<std::size_t>(static_cast<std::int64_t>(j) * levels / length);
    group_sum[g] += v;
    group_count[g] += 1.0;
  }
  double p_total = left + right, q_total = 0.0;
  for (index_t j = 0; j < length; ++j) p_total += c[static_cast<std::size_t>(begin + j)];
  for (std::size_t g = 0; g < group_sum.size(); ++g) q_total += group_sum[g];
  if (p_total == 0.0 || q_total == 0.0) return std::numeric_limits<double>::infinity();
  double kl = 0.0;
  for (index_t j = 0; j < length; ++j) {
    const double raw = c[static_cast<std::size_t>(begin + j)];
    double p = raw;
    if (j == 0) p += left;
    if (j == length - 1) p += right;
    if (p == 0.0) continue;
    double q = 0.0;
    if (raw != 0.0) {
      const auto g = static_cast<std::size_t>(static_cast<std::int64_t>(j) * levels / length);
      q = group_sum[g] / group_count[g];
    }
    if (q == 0.0) return std::numeric_limits<double>::infinity();
    const double pn = p / p_total, qn = q / q_total;
    kl += product_not_fused(pn, std::log(pn / qn));  // rounded, then added: no FMA on any target
  }
  return kl;
}

/// The symmetric candidates start, start + stride, ... < stop, and stop itself (the full range).
inline std::vector<index_t> symmetric_candidates(index_t stop, index_t start, index_t stride) {
  std::vector<index_t> v;
  for (index_t i = std::max<index_t>(start, 1); i < stop; i += stride) v.push_back(i);
  v.push_back(stop);
  return v;
}

/// Lower window edges from `first` up to `zero` (inclusive) and upper ones from `end` down to `zero`.
inline std::vector<index_t> lower_candidates(index_t first, index_t zero, index_t stride) {
  std::vector<index_t> v;
  for (index_t s = first; s < zero; s += stride) v.push_back(s);
  v.push_back(zero);
  return v;
}
inline std::vector<index_t> upper_candidates(index_t end, index_t zero, index_t stride) {
  std::vector<index_t> v;
  for (index_t t = end; t > zero; t -= stride) v.push_back(t);
  v.push_back(zero);
  return v;
}

inline index_t affine_stride(index_t requested, index_t first, index_t end, index_t zero) {
  if (requested > 0) return requested;
  const index_t side = std::max<index_t>(std::max<index_t>(zero - first, end - zero), 1);
  return std::max<index_t>(1, (side + 31) / 32);
}

inline value_range clip_symmetric(const histogram& h, double threshold) {
  const value_range r = h.range();
  const float m = std::max(std::fabs(r.min), std::fabs(r.max));
  const float t = static_cast<float>(std::min<double>(threshold, m));
  return {-t, t};
}

/// [lo, hi] (edges with lo <= 0 <= hi) inside the observed range widened to include zero.
inline value_range clip_affine(const histogram& h, double lo, double hi) {
  const value_range r = h.range();
  const double rmin = std::min<double>(r.min, 0.0), rmax = std::max<double>(r.max, 0.0);
  return {static_cast<float>(std::max(lo, rmin)), static_cast<float>(std::min(hi, rmax))};
}

/// [lo, hi] (any edges, lo <= hi) inside the observed range.
inline value_range clip_to_observed(const histogram& h, double lo, double hi) {
  const value_range r = h.range();
  const auto l = static_cast<float>(std::min<double>(std::max<double>(lo, r.min), r.max));
  const auto u = static_cast<float>(std::max<double>(std::min<double>(hi, r.max), l));
  return {l, u};
}

inline void check_search_options(const char* function, const search_options& o) {
  check(o.start >= 1, function, ": options.start must be at least 1, got start = ", o.start);
  check(o.stride >= 0, function, ": options.stride must be non-negative (0 = automatic), got stride = ", o.stride);
}

}  // namespace detail

/// The percentile clipping range (see the header comment).
inline value_range percentile_range(const histogram& h, double percentile, bool symmetric) {
  if (symmetric) {
    detail::check(percentile > 0.0 && percentile <= 100.0,
                  "qsparse::percentile_range: percentile must be in (0, 100], got percentile = ", percentile);
  } else {
    detail::check(percentile >= 50.0 && percentile <= 100.0,
                  "qsparse::percentile_range: an affine range needs percentile in [50, 100], got percentile = ",
                  percentile);
  }
  if (h.empty()) return value_range{};
  const double allowed = (1.0 - percentile / 100.0) * static_cast<double>(h.total());
  if (symmetric) {
    const std::vector<double> a = detail::folded_counts(h);
    const index_t stop = detail::occupied_end(a);
    double above = 0.0;  // count of bins [i, stop)
    index_t i = stop;
    while (i > 0 && above + a[static_cast<std::size_t>(i - 1)] <= allowed) {
      above += a[static_cast<std::size_t>(i - 1)];
      --i;
    }
    return detail::clip_symmetric(h, std::ldexp(static_cast<double>(i), h.exponent()));
  }
  const std::vector<double> c = detail::signed_counts(h);
  const auto n = static_cast<index_t>(c.size());
  double below = 0.0;
  index_t s = 0;
  while (s < n && below + c[static_cast<std::size_t>(s)] <= allowed) below += c[static_cast<std::size_t>(s++)];
  double above = 0.0;
  index_t t = n;
  while (t > 0 && above + c[static_cast<std::size_t>(t - 1)] <= allowed) above += c[static_cast<std::size_t>(--t)];
  if (t < s) t = s;  // only when allowed >= half the data (percentile 50): a point range
  return detail::clip_to_observed(h, h.edge(s), h.edge(t));
}

/// TensorRT's entropy (KL-divergence) search; `levels` quantization levels (see the header comment).
inline value_range entropy_range(const histogram& h, std::int64_t levels, bool symmetric, search_options options = {}) {
  constexpr const char* function = "qsparse::entropy_range";
  detail::check(levels >= 2, function, ": levels must be at least 2, got levels = ", levels);
  detail::check_search_options(function, options);
  if (h.empty()) return value_range{};
  std::vector<double> group_sum, group_count;
  if (symmetric) {
    std::vector<double> a = detail::folded_counts(h);
    const index_t stop = detail::occupied_end(a);
    if (stop > 1) a[0] = a[1];
    std::vector<double> suffix(static_cast<std::size_t>(stop) + 1, 0.0);
    for (index_t k = stop; k > 0; --k)
      suffix[static_cast<std::size_t>(k - 1)] = suffix[static_cast<std::size_t>(k)] + a[static_cast<std::size_t>(k - 1)];
    const index_t stride = options.stride > 0 ? options.stride : std::max<index_t>(1, (stop + 2047) / 2048);
    double best = std::numeric_limits<double>::infinity();
    index_t best_i = stop;
    for (index_t i : detail::symmetric_candidates(stop, options.start, stride)) {
      const double kl = detail::window_divergence(a, 0, i, 0.0, suffix[static_cast<std::size_t>(i)], levels, group_sum,
                                                  group_count);
      if (kl <= best) {  // ties to the larger i
        best = kl;
        best_i = i;
      }
    }
    return detail::clip_symmetric(h, std::ldexp(static_cast<double>(best_i), h.exponent()));
  }
  const std::vector<double> c = detail::signed_counts(h);
  const index_t zero = h.bins() / 2;
  const index_t first = std::min(detail::occupied_begin(c), zero);
  const index_t end = std::max(detail::occupied_end(c), zero);
  std::vector<double> prefix(c.size() + 1, 0.0);
  for (std::size_t i = 0; i < c.size(); ++i) prefix[i + 1] = prefix[i] + c[i];
  const index_t stride = detail::affine_stride(options.stride, first, end, zero);
  const index_t widest = end - first;
  const index_t min_width = std::min(options.start, widest);
  double best = std::numeric_limits<double>::infinity();
  index_t best_s = first, best_t = end;
  for (index_t s : detail::lower_candidates(first, zero, stride)) {
    for (index_t t : detail::upper_candidates(end, zero, stride)) {
      if (t - s < std::max<index_t>(min_width, 1)) continue;
      const double left = prefix[static_cast<std::size_t>(s)];
      const double right = prefix.back() - prefix[static_cast<std::size_t>(t)];
      const double kl = detail::window_divergence(c, s, t, left, right, levels, group_sum, group_count);
      if (kl < best) {
        best = kl;
        best_s = s;
        best_t = t;
      }
    }
  }
  return detail::clip_affine(h, h.edge(best_s), h.edge(best_t));
}

/// entropy_range with the levels and symmetry of Scheme.
template <class Scheme>
value_range entropy_range(const histogram& h, search_options options = {}) {
  static_assert(is_scheme_v<Scheme>, "qsparse::entropy_range: Scheme must be a qsparse::scheme<...>.");
  constexpr std::int64_t levels = Scheme::is_symmetric
                                      ? std::int64_t{Scheme::qmax} - Scheme::symmetric_zero_point + 1
                                      : std::int64_t{Scheme::qmax} - Scheme::qmin + 1;
  return entropy_range(h, levels, Scheme::is_symmetric, options);
}

namespace detail {

/// Σ count * (centre - fake_quant(centre))^2 over the non-empty signed bins [first, end), for the
/// parameters choose_params<Scheme>(lo, hi).
template <class Scheme>
double binned_squared_error(const histogram& h, const std::vector<double>& c, index_t first, index_t end, double lo,
                            double hi) {
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  const per_tensor_params p = choose_params<Scheme>(static_cast<float>(lo), static_cast<float>(hi));
  const index_t half = h.bins() / 2;
  const double w = h.bin_width();
  double error = 0.0;
  for (index_t b = first; b < end; ++b) {
    const double n = c[static_cast<std::size_t>(b)];
    if (n == 0.0) continue;
    const auto centre = static_cast<float>((static_cast<double>(b - half) + 0.5) * w);
    const float back = dequantize_value<R>(quantize_value<R, S>(centre, p.scale, p.zero_point), p.scale, p.zero_point);
    const double e = static_cast<double>(centre) - static_cast<double>(back);
    error += detail::product_not_fused(n * e, e);
  }
  return error;
}

}  // namespace detail

/// The range of the smallest binned mean squared fake-quantization error under Scheme.
template <class Scheme>
value_range mse_range(const histogram& h, search_options options = {}) {
  static_assert(is_scheme_v<Scheme>, "qsparse::mse_range: Scheme must be a qsparse::scheme<...>.");
  detail::check_search_options("qsparse::mse_range", options);
  if (h.empty()) return value_range{};
  const std::vector<double> c = detail::signed_counts(h);
  const index_t zero = h.bins() / 2;
  const index_t first = detail::occupied_begin(c);
  const index_t end = detail::occupied_end(c);
  double best = std::numeric_limits<double>::infinity();
  if constexpr (Scheme::is_symmetric) {
    const index_t stop = detail::occupied_end(detail::folded_counts(h));
    const index_t stride = options.stride > 0 ? options.stride : std::max<index_t>(1, stop / 128);
    std::vector<index_t> candidates = detail::symmetric_candidates(stop, options.start, stride);
    index_t best_i = stop;
    for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {  // widest first; ties keep it
      const double t = std::ldexp(static_cast<double>(*it), h.exponent());
      const value_range clipped = detail::clip_symmetric(h, t);
      const double e = detail::binned_squared_error<Scheme>(h, c, first, end, clipped.min, clipped.max);
      if (e < best) {
        best = e;
        best_i = *it;
      }
    }
    return detail::clip_symmetric(h, std::ldexp(static_cast<double>(best_i), h.exponent()));
  } else {
    const index_t lo_edge = std::min(first, zero), hi_edge = std::max(end, zero);
    const index_t stride = detail::affine_stride(options.stride, lo_edge, hi_edge, zero);
    const index_t min_width = std::max<index_t>(std::min(options.start, hi_edge - lo_edge), 1);
    index_t best_s = lo_edge, best_t = hi_edge;
    for (index_t s : detail::lower_candidates(lo_edge, zero, stride)) {
      for (index_t t : detail::upper_candidates(hi_edge, zero, stride)) {
        if (t - s < min_width) continue;
        const value_range clipped = detail::clip_affine(h, h.edge(s), h.edge(t));
        const double e = detail::binned_squared_error<Scheme>(h, c, first, end, clipped.min, clipped.max);
        if (e < best) {
          best = e;
          best_s = s;
          best_t = t;
        }
      }
    }
    return detail::clip_affine(h, h.edge(best_s), h.edge(best_t));
  }
}

}  // namespace qsparse
