// qsparse/sparsity/magnitude.hpp — unstructured magnitude pruning, TF-MOT's `Pruning._update_mask`.
//
//   qsparse::magnitude::compute_mask(weights, mask, 0.5f);   // keep the largest |w|, ties kept
//
// Over all n elements of a tensor of any rank: k = kept_count(n, s) (qsparse/sparsity/keep_rule.hpp),
// threshold = the k-th largest |w|, mask = (|w| >= threshold). Ties at the threshold are all kept, so
// the actual sparsity can be below the target; already-zero weights take part like any other value.
// Example (TF-MOT's test): weights 1..10 at s = 0.200000018 → k = round(7.9999998) = 8, threshold 3,
// mask [0,0,1,1,1,1,1,1,1,1]. A NaN weight ranks below 0 (pruned first).
//
// Pattern contract (shared by block_mask, n_of_m, channel_mask; checked by is_pattern_v):
//   P::name                                 a short name for logs
//   P::compute_mask(weights, mask, s)       writes 0/1 into mask (same shape as weights, any layouts),
//                                           returns the threshold it used (NaN when it has none);
//                                           `s` is a float32 sparsity in [0, 1]; shapes are checked by
//                                           the caller (qsparse::compute_mask, the pruner)
//   P::target_sparsity(s)                   the sparsity the pattern aims at for a scheduled s (s itself,
//                                           or the pattern's own fixed ratio for n_of_m)
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/keep_rule.hpp"
#include "qsparse/sparsity/traversal.hpp"

namespace qsparse {

/// Unstructured magnitude pruning over the whole tensor (TF-MOT's default, block_size (1, 1)).
struct magnitude {
  static constexpr const char* name = "magnitude";

  static constexpr float target_sparsity(float scheduled) noexcept { return scheduled; }

  template <class W, class M>
  static float compute_mask(const W& weights, const M& mask, float sparsity) {
    static_assert(detail::is_float_view_v<W> && detail::is_mask_view_v<M>,
                  "qsparse::magnitude::compute_mask: weights must be a float tensor_view and mask a tensor_view "
                  "of a writable arithmetic type.");
    if (weights.empty()) return std::numeric_limits<float>::quiet_NaN();
    std::vector<float> keys;
    keys.reserve(static_cast<std::size_t>(weights.size()));
    detail::for_each_element(weights, [&](float w) { keys.push_back(detail::rank_key(std::fabs(w))); });
    const float threshold = detail::keep_threshold(keys, sparsity);
    using mask_type = typename M::value_type;
    detail::for_each_element_pair(weights, mask, [&](float w, auto& m) {
      m = detail::rank_key(std::fabs(w)) >= threshold ? mask_type(1) : mask_type(0);
    });
    return threshold;
  }
};

}  // namespace qsparse
