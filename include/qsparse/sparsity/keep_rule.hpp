// qsparse/sparsity/keep_rule.hpp — TF-MOT's rule for how many scores survive and where the threshold is.
//
// TF-MOT `Pruning._update_mask` on n scores (|w|, pooled |w| of blocks, or channel norms) at sparsity s:
//   k         = int32(max(round_half_even(float32(n) * float32(1 - s)), 1))   — the number KEPT, >= 1
//   threshold = the k-th largest score
//   keep      = score >= threshold                                             — ties at the threshold
//                                                                                are all kept
// so more than k scores can survive when several equal the threshold, and at least one always does.
// qsparse adds two definitions where TF-MOT has none: k is clamped to n (float32(n) can round above n
// when n > 2^24), and a NaN score ranks below every number (a NaN weight is pruned first); the scores
// are compared through `rank_key`, which maps NaN to -1 (every real score is >= 0).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"

namespace qsparse {

/// The number of scores TF-MOT keeps out of n at sparsity s: max(round_half_even(float32(n) * (1 - s)), 1),
/// in float32 as TF computes it, clamped to n; 0 when n == 0. Throws qsparse::error unless 0 <= s <= 1
/// (1 is accepted: a schedule's float32 sparsity can round up to it, and then one score is kept).
inline index_t kept_count(index_t n, float sparsity) {
  detail::check(sparsity >= 0.0f && sparsity <= 1.0f,
                "qsparse::kept_count: sparsity must be in [0, 1], got sparsity = ", sparsity);
  detail::check(n >= 0, "qsparse::kept_count: n must be >= 0, got n = ", n);
  if (n == 0) return 0;
  const float keep_fraction = 1.0f - sparsity;  // exact for every float sparsity in [0.5, 1]; rounded as TF otherwise
  const float product = static_cast<float>(n) * keep_fraction;
  // round half to even, independent of the floating-point environment's rounding mode
  const float floor = std::floor(product);
  const float fraction = product - floor;  // exact
  float rounded = floor;
  if (fraction > 0.5f || (fraction == 0.5f && std::fmod(floor, 2.0f) != 0.0f)) rounded = floor + 1.0f;
  if (rounded < 1.0f) return 1;
  if (static_cast<double>(rounded) >= static_cast<double>(n)) return n;
  return static_cast<index_t>(rounded);
}

namespace detail {

/// The comparable key of a score: the score itself, or -1 for NaN (ranks below every score >= 0).
template <class Score>
constexpr Score rank_key(Score score) noexcept {
  return score != score ? Score(-1) : score;
}

/// The k-th largest of `keys` (1 <= k <= keys.size()); reorders `keys`.
template <class Score>
Score kth_largest(std::vector<Score>& keys, index_t k) {
  const auto nth = keys.begin() + (k - 1);
  std::nth_element(keys.begin(), nth, keys.end(), std::greater<Score>());
  return *nth;
}

/// The TF-MOT threshold over rank keys at `sparsity`: every key >= the result is kept. `keys` must be
/// non-empty and already hold rank_key values; it is reordered.
template <class Score>
Score keep_threshold(std::vector<Score>& keys, float sparsity) {
  return kth_largest(keys, kept_count(static_cast<index_t>(keys.size()), sparsity));
}

}  // namespace detail
}  // namespace qsparse
