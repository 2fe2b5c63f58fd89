// qsparse/sparsity/pruner.hpp — the pruning step for a training loop: a schedule, a pattern and an update rule.
//
//   using prune = qsparse::pruner<qsparse::polynomial_decay, qsparse::block_mask<4, 1>>;
//   prune p(qsparse::polynomial_decay(0.0, 0.8, 0, 1000, 3, 100));
//   qsparse::tensor<float, 2> mask_storage(w.extents());            // start from ones
//   qsparse::fill_mask(mask_storage.view());
//   for (std::int64_t step = 1; step <= 1000; ++step) {             // TF-MOT/Keras count from 1
//     auto s = p.step(step, w.view(), mask_storage.view());         // maybe update the mask, apply it
//     forward / backward ...
//     qsparse::mask_gradient(grad.view(), mask_storage.view());     // pruned weights get no update
//     optimizer update of w ...
//     log(s.scheduled_sparsity, s.actual_sparsity(), s.threshold);
//   }
//   auto final_weights = qsparse::strip(w.view(), mask_storage.view());
//
// pruner<Schedule, Pattern, Update>::step(step, weights, mask) is a pure function of its arguments:
// when the schedule prunes at `step` and Update allows it, the mask is recomputed by Pattern from the
// current weights at the schedule's sparsity; then the mask is applied (weights = 0 where mask == 0),
// at every call, as TF-MOT's wrapper does. The returned pruning_summary carries what TF-MOT's pruning
// summaries log: the schedule's sparsity, the mask's actual sparsity (1 - mean(mask)) and the threshold.
// Weights are float views of any layout; a mask is a view of the same shape of any arithmetic type
// (float like TF-MOT, or uint8_t), "kept" where non-zero. Shapes are checked (qsparse::error).
//
// apply_mask and mask_gradient set the pruned elements to +0 by selection rather than by multiplying
// by the mask (TF-MOT multiplies): an infinite or NaN weight that is pruned becomes 0, not NaN, and a
// negative pruned weight becomes +0 rather than -0. Kept elements are never touched.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/magnitude.hpp"
#include "qsparse/sparsity/mask_update.hpp"
#include "qsparse/sparsity/schedule.hpp"
#include "qsparse/sparsity/statistics.hpp"  // count_nonzero, nonzeros_per_slice/_block for logging
#include "qsparse/sparsity/traversal.hpp"

namespace qsparse {

namespace detail {
template <class P, class = void>
struct is_pattern : std::false_type {};
template <class P>
struct is_pattern<P, std::void_t<decltype(P::name), decltype(P::target_sparsity(0.0f))>> : std::true_type {};
}  // namespace detail

/// True for a type with the pattern contract of qsparse/sparsity/magnitude.hpp.
template <class P>
inline constexpr bool is_pattern_v = detail::is_pattern<P>::value;

/// Sets every element of a mask to 1 (a fresh mask keeps everything).
template <class M>
void fill_mask(const M& mask) {
  static_assert(detail::is_mask_view_v<M>, "qsparse::fill_mask: mask must be a tensor_view of a writable arithmetic type.");
  using mask_type = typename M::value_type;
  detail::for_each_element(mask, [](auto& m) { m = mask_type(1); });
}

/// Computes Pattern's mask of `weights` at `sparsity` into `mask` (same shape) and returns the
/// threshold (NaN when the pattern has none). Throws qsparse::error for a sparsity outside [0, 1) or a
/// mask of another shape.
template <class Pattern, class W, class M>
float compute_mask(const W& weights, const M& mask, float sparsity) {
  static_assert(is_pattern_v<Pattern>, "qsparse::compute_mask: Pattern must be a mask pattern such as qsparse::magnitude, "
                                       "qsparse::block_mask<R, C>, qsparse::n_of_m<N, M> or qsparse::channel_mask<Axis>.");
  static_assert(detail::is_float_view_v<W>, "qsparse::compute_mask: weights must be a tensor_view of float.");
  static_assert(detail::is_mask_view_v<M>, "qsparse::compute_mask: mask must be a tensor_view of a writable arithmetic type.");
  detail::check(sparsity >= 0.0f && sparsity < 1.0f, "qsparse::compute_mask: sparsity must be in [0, 1), got sparsity = ",
                sparsity);
  detail::check_same_shape("compute_mask", "weights", weights, "mask", mask);
  return Pattern::compute_mask(weights, mask, sparsity);
}

/// weights = +0 where mask == 0; returns the number of kept (mask != 0) elements.
template <class W, class M>
index_t apply_mask(const W& weights, const M& mask) {
  static_assert(detail::is_float_view_v<W> && !std::is_const_v<typename W::element_type>,
                "qsparse::apply_mask: weights must be a tensor_view of (non-const) float.");
  static_assert(detail::is_arithmetic_view_v<M>,
                "qsparse::apply_mask: mask must be a tensor_view of an arithmetic type.");
  detail::check_same_shape("apply_mask", "weights", weights, "mask", mask);
  index_t kept = 0;
  detail::for_each_element_pair(weights, mask, [&](float& w, const auto& m) {  // branch-free: masks are random
    const bool keep = m != 0;
    w = keep ? w : 0.0f;
    kept += keep;
  });
  return kept;
}

/// gradient = +0 where mask == 0, so that an optimizer never moves a pruned weight.
template <class G, class M>
void mask_gradient(const G& gradient, const M& mask) {
  static_assert(detail::is_float_view_v<G> && !std::is_const_v<typename G::element_type>,
                "qsparse::mask_gradient: gradient must be a tensor_view of (non-const) float.");
  static_assert(detail::is_arithmetic_view_v<M>,
                "qsparse::mask_gradient: mask must be a tensor_view of an arithmetic type.");
  detail::check_same_shape("mask_gradient", "gradient", gradient, "mask", mask);
  detail::for_each_element_pair(gradient, mask, [](float& g, const auto& m) { g = m != 0 ? g : 0.0f; });
}

/// The final weights for export (TF-MOT's strip_pruning): out = weights where mask != 0, else +0.
template <class W, class M, class O>
void strip(const W& weights, const M& mask, const O& out) {
  static_assert(detail::is_float_view_v<W> && detail::is_float_view_v<O> && !std::is_const_v<typename O::element_type>,
                "qsparse::strip: weights and out must be tensor_views of float (out non-const).");
  static_assert(detail::is_arithmetic_view_v<M>,
                "qsparse::strip: mask must be a tensor_view of an arithmetic type.");
  detail::check_same_shape("strip", "weights", weights, "mask", mask);
  detail::check_same_shape("strip", "weights", weights, "out", out);
  detail::for_each_index(weights.extents(), [&](const auto& i) { out[i] = mask[i] == 0 ? 0.0f : weights[i]; });
}

/// The final weights as a new row-major tensor.
template <class W, class M>
tensor<float, W::rank()> strip(const W& weights, const M& mask) {
  tensor<float, W::rank()> out(weights.extents());
  strip(weights, mask, out.view());
  return out;
}

/// What one pruning step did, for logging (TF-MOT's pruning summaries and more).
struct pruning_summary {
  std::int64_t step = 0;
  bool mask_updated = false;     // the mask was recomputed at this step
  float scheduled_sparsity = 0;  // the schedule's sparsity at this step (TF-MOT's 'sparsity' summary)
  float target_sparsity = 0;     // what the pattern aims at (= scheduled, or 1 - N/M for n_of_m)
  float threshold = std::numeric_limits<float>::quiet_NaN();  // the score threshold when mask_updated
                                                              // (NaN otherwise, or for n_of_m)
  index_t size = 0;              // elements in the tensor
  index_t kept = 0;              // mask elements != 0 after the step

  /// 1 - kept / size: TF-MOT's '<mask>/sparsity' summary (0 for an empty tensor).
  double actual_sparsity() const noexcept {
    return size == 0 ? 0.0 : 1.0 - static_cast<double>(kept) / static_cast<double>(size);
  }
};

/// A schedule, a pattern and an update rule composed at compile time; step() is the training loop's call.
template <class Schedule, class Pattern = magnitude, class Update = recompute_mask>
class pruner {
  static_assert(is_schedule_v<Schedule>,
                "qsparse::pruner: Schedule must be a pruning schedule such as qsparse::constant_sparsity or "
                "qsparse::polynomial_decay (name, and operator()(std::int64_t) -> schedule_point).");
  static_assert(is_pattern_v<Pattern>,
                "qsparse::pruner: Pattern must be a mask pattern such as qsparse::magnitude, qsparse::block_mask<R, C>, "
                "qsparse::n_of_m<N, M> or qsparse::channel_mask<Axis>.");
  static_assert(is_mask_update_v<Update>, "qsparse::pruner: Update must be qsparse::recompute_mask or qsparse::frozen_mask.");

 public:
  using schedule_type = Schedule;
  using pattern_type = Pattern;
  using update_type = Update;

  explicit pruner(const Schedule& schedule) : schedule_(schedule) {}

  const Schedule& schedule() const noexcept { return schedule_; }

  /// Updates the mask if the schedule prunes at `step` (and Update allows it), then applies the mask to
  /// the weights. Throws qsparse::error when mask and weights differ in shape.
  template <class W, class M>
  pruning_summary step(std::int64_t step, const W& weights, const M& mask) const {
    static_assert(detail::is_float_view_v<W> && !std::is_const_v<typename W::element_type>,
                  "qsparse::pruner::step: weights must be a tensor_view of (non-const) float.");
    static_assert(detail::is_mask_view_v<M>, "qsparse::pruner::step: mask must be a tensor_view of a writable arithmetic type.");
    detail::check_same_shape("pruner::step", "weights", weights, "mask", mask);
    const schedule_point point = schedule_(step);
    pruning_summary summary;
    summary.step = step;
    summary.scheduled_sparsity = point.sparsity;
    summary.target_sparsity = Pattern::target_sparsity(point.sparsity);
    summary.size = weights.size();
    if (point.should_prune && Update::should_update(mask)) {
      summary.threshold = Pattern::compute_mask(weights, mask, point.sparsity);
      summary.mask_updated = true;
    }
    summary.kept = apply_mask(weights, mask);
    return summary;
  }

 private:
  Schedule schedule_;
};

}  // namespace qsparse
