// qsparse/cluster/assign.hpp — nearest-centroid assignment (TF-MOT's pulling indices) and Lloyd's k-means.
//
//   std::int32_t j = qsparse::nearest_centroid(w, centroids, k);
//   qsparse::refine_centroids(values, count, centroids, k, /*iterations*/ 10, /*pinned*/ -1);
//
// nearest_centroid is TF-MOT's ClusteringAlgorithm.get_pulling_indices: tf.argmin(|w - c|) with the
// difference and its absolute value in float32; on a tie the lowest index wins (tf.argmin keeps the
// first minimum).
//
// refine_centroids is not in TF-MOT, which only initializes centroids and then trains them by gradient
// descent. It runs Lloyd's algorithm from the given centroids: assign every value to its nearest
// centroid, move each centroid to the mean of its values (summed in double, rounded to float), at most
// `iterations` rounds. A centroid without values keeps its place; the
// `pinned` centroid (the zero centroid of sparsity-preserving clustering; -1 for none) never moves. It stops
// after a round that moves no centroid.
// Centroids and values must be finite (callers check).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qsparse {

/// The index of the centroid nearest to w: argmin_j float32(|w - c[j]|), the lowest j on a tie.
inline std::int32_t nearest_centroid(float w, const float* centroids, std::size_t count) noexcept {
  std::int32_t best = 0;
  float best_distance = std::fabs(w - centroids[0]);
  for (std::size_t j = 1; j < count; ++j) {
    const float d = std::fabs(w - centroids[j]);
    if (d < best_distance) {
      best_distance = d;
      best = static_cast<std::int32_t>(j);
    }
  }
  return best;
}

/// Lloyd's k-means from `centroids` (updated in place) on `values`; returns the rounds that moved a
/// centroid (0 when the centroids were already stable).
inline int refine_centroids(const float* values, std::size_t count, float* centroids, std::size_t clusters,
                            int iterations, std::int64_t pinned = -1) {
  if (count == 0 || clusters == 0) return 0;
  std::vector<std::int32_t> assignment(count);
  std::vector<double> sums(clusters);
  std::vector<std::size_t> members(clusters);
  int moved_rounds = 0;
  for (int round = 0; round < iterations; ++round) {
    for (std::size_t i = 0; i < count; ++i) assignment[i] = nearest_centroid(values[i], centroids, clusters);
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(members.begin(), members.end(), std::size_t{0});
    for (std::size_t i = 0; i < count; ++i) {
      sums[static_cast<std::size_t>(assignment[i])] += values[i];
      ++members[static_cast<std::size_t>(assignment[i])];
    }
    bool moved = false;
    for (std::size_t j = 0; j < clusters; ++j) {
      if (members[j] == 0 || static_cast<std::int64_t>(j) == pinned) continue;
      const auto mean = static_cast<float>(sums[j] / static_cast<double>(members[j]));
      moved = moved || mean != centroids[j];
      centroids[j] = mean;
    }
    if (!moved) break;
    ++moved_rounds;
  }
  return moved_rounds;
}

}  // namespace qsparse
