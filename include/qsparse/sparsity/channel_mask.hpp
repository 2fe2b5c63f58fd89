// qsparse/sparsity/channel_mask.hpp — channel / filter pruning: whole slices along an axis, ranked by norm.
//
//   qsparse::channel_mask<0>                      filters of OHWI / OI weights (output channels), by L2 norm
//   qsparse::channel_mask<-1, qsparse::l1_norm>   input channels of OHWI weights, by L1 norm
//
// Each index c along Axis is one channel: the slice of every element with that index. Its score is
// Σ|w| (l1_norm) or sqrt(Σ w²) (l2_norm) over the slice, accumulated in double (channels are ranked by
// Σ w² itself, so the square root cannot create ties). The magnitude rule (keep_rule.hpp) is applied
// to the channel scores — k = max(round_half_even(C · (1 - s)), 1) channels kept, ties kept — and each
// channel's decision is written to its whole slice. The returned threshold is the kept channels' lowest
// norm (as a float). A channel holding a NaN ranks lowest. TF-MOT has no channel pruning; this is the
// structured pruning PyTorch users know (`ln_structured`), with TF-MOT's count and tie rules.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/keep_rule.hpp"
#include "qsparse/sparsity/traversal.hpp"

namespace qsparse {

/// Channel score Σ|w|.
struct l1_norm {
  static constexpr const char* name = "l1";
};
/// Channel score sqrt(Σ w²).
struct l2_norm {
  static constexpr const char* name = "l2";
};

template <int Axis = 0, class Norm = l2_norm>
struct channel_mask {
  static_assert(std::is_same_v<Norm, l1_norm> || std::is_same_v<Norm, l2_norm>,
                "qsparse::channel_mask: Norm must be qsparse::l1_norm or qsparse::l2_norm.");
  static constexpr const char* name = "channel";
  static constexpr int axis = Axis;
  using norm = Norm;

  static constexpr float target_sparsity(float scheduled) noexcept { return scheduled; }

  /// The score of every channel (the L1 norm, or the sum of squares for L2), NaN mapped to -1.
  template <class W>
  static std::vector<double> channel_scores(const W& weights) {
    constexpr std::size_t a = detail::resolve_axis<Axis, W::rank()>();
    std::vector<double> scores(static_cast<std::size_t>(weights.extent(a)), 0.0);
    detail::for_each_index(weights.extents(), [&](const auto& i) {
      const auto w = static_cast<double>(weights[i]);
      scores[static_cast<std::size_t>(i[a])] += std::is_same_v<Norm, l1_norm> ? std::fabs(w) : w * w;
    });
    for (auto& s : scores) s = detail::rank_key(s);
    return scores;
  }

  template <class W, class M>
  static float compute_mask(const W& weights, const M& mask, float sparsity) {
    static_assert(detail::is_float_view_v<W> && detail::is_mask_view_v<M>,
                  "qsparse::channel_mask::compute_mask: weights must be a float tensor_view and mask a tensor_view "
                  "of a writable arithmetic type.");
    constexpr std::size_t a = detail::resolve_axis<Axis, W::rank()>();
    if (weights.extent(a) == 0) return std::numeric_limits<float>::quiet_NaN();
    const std::vector<double> scores = channel_scores(weights);
    std::vector<double> order = scores;
    const double threshold = detail::keep_threshold(order, sparsity);
    using mask_type = typename M::value_type;
    detail::for_each_index(weights.extents(), [&](const auto& i) {
      mask[i] = scores[static_cast<std::size_t>(i[a])] >= threshold ? mask_type(1) : mask_type(0);
    });
    if (threshold < 0) return std::numeric_limits<float>::quiet_NaN();
    return static_cast<float>(std::is_same_v<Norm, l1_norm> ? threshold : std::sqrt(threshold));
  }
};

}  // namespace qsparse
