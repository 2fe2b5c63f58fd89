// qsparse/cluster/centroids.hpp — the initial centroids of weight clustering, as TF-MOT computes them.
//
//   std::vector<float> c = qsparse::initial_centroids(values, count, 16, qsparse::centroid_init::linear,
//                                                     /*preserve_sparsity*/ false, /*seed*/ 9);
//
// The rules are those of TensorFlow Model Optimization's clustering_centroids.py (tensorflow/model-
// optimization @ 6fbc2cec, tensorflow_model_optimization/python/core/clustering/keras/), every operation
// in float32 in TF's order (docs/clustering.md has the formulas and which rules are bit-exact):
//   linear          tf.linspace(min, max, k): start, start + i·((stop - start) / (k - 1)), stop
//   density_based   the empirical CDF on a 30-point grid over [min - gap, max + gap] (gap 0.01), probed at
//                   linspace(0.01, 1, k) with searchsorted(side=right); the grid point found, through TF's
//                   (degenerate) linear solve
//   kmeans_plus_plus, random   qsparse's own seeded generator (TF uses Philox in a kernel, resp. an
//                   unseeded tf.random.uniform): deterministic, not TF's stream
// With preserve_sparsity one centroid is 0 and the other k - 1 are split between the negative and the
// positive weights in proportion to their counts (round half to even), each side initialized alone; the
// centroids are ordered negative, 0, positive. Zeros (+0 and -0) belong to neither side.
//
// values must be finite (callers check); count >= 1; clusters >= 1. The result always holds `clusters`
// centroids: where TF-MOT returns fewer (all values zero under preserve_sparsity), the rest are 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/unfused.hpp"

namespace qsparse {

/// TF-MOT's CentroidInitialization.
enum class centroid_init : std::uint8_t { linear, density_based, kmeans_plus_plus, random };

inline const char* to_string(centroid_init init) {
  switch (init) {
    case centroid_init::linear: return "linear";
    case centroid_init::density_based: return "density_based";
    case centroid_init::kmeans_plus_plus: return "kmeans_plus_plus";
    case centroid_init::random: return "random";
  }
  return "unknown";
}

namespace detail {

/// splitmix64: the generator behind kmeans_plus_plus and random (small, seedable, the same everywhere).
class cluster_rng {
 public:
  explicit cluster_rng(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  /// Uniform in [0, n), n >= 1 (the tiny modulo bias is irrelevant here).
  std::size_t below(std::size_t n) noexcept { return static_cast<std::size_t>(next() % n); }

 private:
  std::uint64_t state_;
};

/// tf.linspace(start, stop, num) in float32 (math_ops.linspace_nd): start, then start + i·delta for
/// i = 1 .. num-2 with delta = (stop - start) / (num - 1), then stop exactly.
inline std::vector<float> linspace_f32(float start, float stop, std::size_t num) {
  std::vector<float> out(num);
  if (num == 0) return out;
  out[0] = start;
  if (num == 1) return out;
  const float delta = (stop - start) / static_cast<float>(num - 1);
  for (std::size_t i = 1; i + 1 < num; ++i) {
    out[i] = start + detail::product_not_fused(delta, static_cast<float>(i));  // two roundings, as TF's two ops
  }
  out[num - 1] = stop;
  return out;
}

inline std::vector<float> linear_interval(const std::vector<float>& v, std::size_t k) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return linspace_f32(*lo, *hi, k);
}

inline std::vector<float> density_interval(const std::vector<float>& v, std::size_t k, bool preserve_sparsity) {
  const auto [lo_it, hi_it] = std::minmax_element(v.begin(), v.end());
  const float lo = *lo_it, hi = *hi_it;
  float gap = 0.01f;
  if (preserve_sparsity) gap = std::min(0.01f, std::min(std::fabs(lo), std::fabs(hi)) / 2.0f);
  constexpr std::size_t grid_points = 30;
  const std::vector<float> grid = linspace_f32(lo - gap, hi + gap, grid_points);
  std::vector<float> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  const float size = static_cast<float>(v.size());
  std::vector<float> cdf(grid_points);
  for (std::size_t i = 0; i < grid_points; ++i) {
    const auto less_equal = std::upper_bound(sorted.begin(), sorted.end(), grid[i]) - sorted.begin();
    cdf[i] = static_cast<float>(less_equal) / size;
  }
  const std::vector<float> probability = linspace_f32(0.01f, 1.0f, k);
  std::vector<float> out(k);
  for (std::size_t j = 0; j < k; ++j) {
    const std::size_t found =
        static_cast<std::size_t>(std::upper_bound(cdf.begin(), cdf.end(), probability[j]) - cdf.begin());
    const std::size_t i = std::min(found, grid_points - 1);
    const std::size_t previous = i == 0 ? 0 : i - 1;
    const float x1 = grid[i], x2 = grid[previous], y1 = cdf[i], y2 = cdf[previous];
    if (y2 == y1) {
      out[j] = x1;
    } else {
      // TFLinearEquationSolver(x1, y1, x2, y2).solve_for_x(y1); x2 < x1, so the guard max(x2 - x1, 0.001)
      // is always 0.001 and the result is x1 up to float32 rounding.
      const float run = std::max(x2 - x1, 0.001f);
      const float a = (y2 - y1) / run;
      const float slope_times_x1 = detail::product_not_fused(x1, (y2 - y1) / run);
      const float b = y1 - slope_times_x1;
      out[j] = (y1 - b) / a;
    }
  }
  return out;
}

/// k-means++ seeding: the first centroid uniformly, each next one with probability proportional to the
/// squared distance to the nearest centroid chosen so far (in double); when every value already sits
/// on a centroid, the remaining centroids copy the first one.
inline std::vector<float> kmeans_plus_plus_interval(const std::vector<float>& v, std::size_t k, cluster_rng& rng) {
  std::vector<float> out;
  out.reserve(k);
  out.push_back(v[rng.below(v.size())]);
  std::vector<double> d2(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double d = static_cast<double>(v[i]) - out[0];
    d2[i] = d * d;
  }
  while (out.size() < k) {
    double total = 0;
    for (double d : d2) total += d;
    if (!(total > 0)) {
      out.push_back(out[0]);
      continue;
    }
    const double target = rng.uniform() * total;
    double running = 0;
    std::size_t pick = v.size() - 1;
    for (std::size_t i = 0; i < v.size(); ++i) {
      running += d2[i];
      if (d2[i] > 0 && running > target) {
        pick = i;
        break;
      }
    }
    while (d2[pick] == 0 && pick > 0) --pick;  // rounding at the very end of the sum
    out.push_back(v[pick]);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double d = static_cast<double>(v[i]) - v[pick];
      d2[i] = std::min(d2[i], d * d);
    }
  }
  return out;
}

/// Uniform in [min, max]: min + (max - min)·u in float32, u uniform in [0, 1).
inline std::vector<float> random_interval(const std::vector<float>& v, std::size_t k, cluster_rng& rng) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  std::vector<float> out(k);
  for (auto& c : out) c = *lo + detail::product_not_fused(*hi - *lo, static_cast<float>(rng.uniform()));
  return out;
}

inline std::vector<float> interval_centroids(const std::vector<float>& v, std::size_t k, centroid_init init,
                                             bool preserve_sparsity, std::uint64_t seed) {
  if (k == 0) return {};
  cluster_rng rng(seed);
  switch (init) {
    case centroid_init::linear: return linear_interval(v, k);
    case centroid_init::density_based: return density_interval(v, k, preserve_sparsity);
    case centroid_init::kmeans_plus_plus: return kmeans_plus_plus_interval(v, k, rng);
    case centroid_init::random: return random_interval(v, k, rng);
  }
  return {};
}

/// The number of centroids TF-MOT gives the negative weights under preserve_sparsity:
/// round_half_even((k - 1) · negatives / non-zeros), the ratio in double (TF's int32 true division).
inline std::size_t negative_clusters(std::size_t k, std::size_t negatives, std::size_t positives) {
  const double ratio = static_cast<double>(negatives) / static_cast<double>(negatives + positives);
  return static_cast<std::size_t>(std::nearbyint(static_cast<double>(k - 1) * ratio));
}

}  // namespace detail

/// TF-MOT's initial centroids for one set of values (a whole tensor, or one channel). `seed` drives
/// kmeans_plus_plus and random only; the negative and positive sides of preserve_sparsity draw from
/// seed and seed + 1.
inline std::vector<float> initial_centroids(const float* values, std::size_t count, int clusters, centroid_init init,
                                            bool preserve_sparsity, std::uint64_t seed) {
  detail::check(clusters >= 1, "qsparse::initial_centroids: clusters must be at least 1, got clusters = ", clusters);
  detail::check(count >= 1 && values != nullptr,
                "qsparse::initial_centroids: values must hold at least one element, got count = ", count);
  const auto k = static_cast<std::size_t>(clusters);
  if (!preserve_sparsity) return detail::interval_centroids(std::vector<float>(values, values + count), k, init, false, seed);
  std::vector<float> negative, positive;
  for (std::size_t i = 0; i < count; ++i) {
    if (values[i] < 0) negative.push_back(values[i]);
    if (values[i] > 0) positive.push_back(values[i]);
  }
  std::vector<float> out;
  out.reserve(k);
  if (negative.empty() && positive.empty()) {
    out.assign(k, 0.0f);  // TF-MOT: the zero centroid alone
    return out;
  }
  const std::size_t n_negative = detail::negative_clusters(k, negative.size(), positive.size());
  const std::size_t n_positive = k - 1 - n_negative;
  const std::vector<float> left = detail::interval_centroids(negative, n_negative, init, true, seed);
  const std::vector<float> right = detail::interval_centroids(positive, n_positive, init, true, seed + 1);
  out.insert(out.end(), left.begin(), left.end());
  out.push_back(0.0f);
  out.insert(out.end(), right.begin(), right.end());
  return out;
}

}  // namespace qsparse
