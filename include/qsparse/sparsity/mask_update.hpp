// qsparse/sparsity/mask_update.hpp — when a pruning step may change the mask: recompute_mask or frozen_mask.
//
//   qsparse::pruner<qsparse::polynomial_decay, qsparse::magnitude>                        recomputed
//   qsparse::pruner<qsparse::constant_sparsity, qsparse::n_of_m<2, 4>, qsparse::frozen_mask>  once
//
// Contract (is_mask_update_v): `U::name` and `U::should_update(mask) -> bool`, asked only at the steps
// where the schedule prunes.
//   recompute_mask  the mask is recomputed at every pruning step (TF-MOT's magnitude and block masks).
//   frozen_mask     the mask is computed once: at a pruning step it is recomputed only while it still
//                   has no zero (a fresh all-ones mask); as soon as it prunes anything it never changes.
//                   The rule reads only (step, mask), so the step function stays pure and a training
//                   loop may count steps from 0 or 1; a mask loaded from a checkpoint (or computed by
//                   hand) is kept as it is — sparsity-preserving fine-tuning. TF-MOT freezes its m-by-n
//                   masks the same way (computed at its first training step, then fixed).
#pragma once

#include <type_traits>

#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/traversal.hpp"

namespace qsparse {

/// Recompute the mask at every step the schedule prunes at.
struct recompute_mask {
  static constexpr const char* name = "recompute_mask";
  template <class M>
  static bool should_update(const M& /*mask*/) noexcept {
    return true;
  }
};

/// Compute the mask once (while it is all ones), then keep it.
struct frozen_mask {
  static constexpr const char* name = "frozen_mask";
  template <class M>
  static bool should_update(const M& mask) {
    bool all_ones = true;
    detail::for_each_element(mask, [&](const auto& m) {
      if (m == 0) all_ones = false;
    });
    return all_ones;
  }
};

template <class U>
inline constexpr bool is_mask_update_v = std::is_same_v<U, recompute_mask> || std::is_same_v<U, frozen_mask>;

}  // namespace qsparse
