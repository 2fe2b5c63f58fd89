// examples/demo/prune.hpp — magnitude pruning during fine-tuning with qsparse's pruner (TF-MOT's recipe).
//
// Every weight matrix (K×N, all layers, as TF-MOT's prune_low_magnitude on the whole model) gets a mask.
// Before each training step pruner<polynomial_decay, Pattern>::step(step, w, mask) updates the mask
// when the schedule says so and applies it; the backward pass zeroes the gradient of pruned weights
// (mask_gradient) so Adam does not move them. Patterns:
//   unstructured  qsparse::magnitude
//   block         qsparse::block_mask<4, 16> on (K, N): the blocks qsparse::sparse_gemm's block_4x16
//                 format skips
//   2:4           qsparse::n_of_m<2, 4> along K (axis -2 of K×N): the sparse_gemm two_of_four format
//   channel       qsparse::channel_mask<1> (whole output channels, columns of K×N, by L2 norm) on every
//                 weighted layer but the last (its outputs are the classes; its mask stays all ones):
//                 gradual channel pruning, the pruned channels then removed by channel_prune.hpp's
//                 compact_network. The pattern keeps max(round_half_even(N · (1 - s)), 1) channels of a
//                 layer at the schedule's sparsity s (ties at the threshold kept).
// A pruned model fine-tuned again (QAT) keeps its masks frozen: apply_mask before each step, and the
// gradient masked.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "features.hpp"
#include "nn.hpp"

#if DEMO_HAVE_PRUNING
#include "qsparse/sparsity/block_mask.hpp"
#include "qsparse/sparsity/channel_mask.hpp"
#include "qsparse/sparsity/magnitude.hpp"
#include "qsparse/sparsity/n_of_m.hpp"
#include "qsparse/sparsity/pruner.hpp"
#include "qsparse/sparsity/schedule.hpp"
#endif

namespace demo {

enum class prune_pattern { unstructured, block_4x16, two_of_four, channel };

inline const char* to_string(prune_pattern p) {
  switch (p) {
    case prune_pattern::unstructured: return "unstructured";
    case prune_pattern::block_4x16: return "block 4x16";
    case prune_pattern::two_of_four: return "2:4";
    case prune_pattern::channel: return "channel";
  }
  return "?";
}

#if DEMO_HAVE_PRUNING

/// One mask per weight matrix (float, 1 = kept), the same shape as the weights.
using masks = std::vector<matrix>;

/// Hooks that prune `net` on a polynomial_decay schedule (or keep frozen masks), wrapping `inner` hooks
/// (e.g. QAT's) for everything else.
class pruning_hooks {
 public:
  /// Schedule-driven pruning: initial → final sparsity over [0, end_step], every `frequency` steps, power 3.
  pruning_hooks(network& net, prune_pattern pattern, double initial, double final_sparsity, long end_step,
                long frequency = 100, const training_hooks* inner = nullptr)
      : net_(net), inner_(inner) {
    for (const parameters& p : net.params()) masks_.push_back(matrix::Ones(p.w.rows(), p.w.cols()));
    const qsparse::polynomial_decay schedule(initial, final_sparsity, 0, end_step, 3, frequency);
    switch (pattern) {
      case prune_pattern::unstructured: step_ = make_step<qsparse::magnitude>(schedule); break;
      case prune_pattern::block_4x16: step_ = make_step<qsparse::block_mask<4, 16>>(schedule); break;
      case prune_pattern::two_of_four: step_ = make_step<qsparse::n_of_m<2, 4>>(schedule); break;
      case prune_pattern::channel: step_ = make_step<qsparse::channel_mask<1>>(schedule, masks_.size() - 1); break;
    }
    wire();
  }

  /// Frozen masks (fine-tuning a pruned model).
  pruning_hooks(network& net, masks frozen, const training_hooks* inner = nullptr)
      : net_(net), inner_(inner), masks_(std::move(frozen)) {
    step_ = [this](long) {
      for (std::size_t i = 0; i < masks_.size(); ++i) qsparse::apply_mask(wview(i), mview(i));
    };
    wire();
  }

  const training_hooks& hooks() const { return hooks_; }
  const masks& current_masks() const { return masks_; }

  /// Applies the masks once more (after the last optimizer step) so the exported weights are pruned.
  void finish() {
    for (std::size_t i = 0; i < masks_.size(); ++i) qsparse::apply_mask(wview(i), mview(i));
  }

  /// The fraction of zero weights over all matrices.
  double sparsity() const {
    double zeros = 0, total = 0;
    for (const parameters& p : net_.params()) {
      zeros += static_cast<double>((p.w.array() == 0.0f).count());
      total += static_cast<double>(p.w.size());
    }
    return total == 0 ? 0.0 : zeros / total;
  }

 private:
  qsparse::tensor_view<float, 2> wview(std::size_t i) {
    matrix& w = net_.params()[i].w;
    return qsparse::make_view(w.data(), w.rows(), w.cols());
  }
  qsparse::tensor_view<float, 2> mview(std::size_t i) {
    return qsparse::make_view(masks_[i].data(), masks_[i].rows(), masks_[i].cols());
  }

  /// The pruner's step on the first `layers` matrices (all by default); the others keep all-ones masks.
  template <class Pattern>
  std::function<void(long)> make_step(const qsparse::polynomial_decay& schedule, std::size_t layers = static_cast<std::size_t>(-1)) {
    auto p = std::make_shared<qsparse::pruner<qsparse::polynomial_decay, Pattern>>(schedule);
    const std::size_t n = std::min(layers, masks_.size());
    return [this, p, n](long step) {
      for (std::size_t i = 0; i < n; ++i) p->step(step, wview(i), mview(i));
    };
  }

  void wire() {
    if (inner_ != nullptr) hooks_ = *inner_;
    auto inner_backward = hooks_.weight_backward;
    hooks_.before_step = [this](long step) { step_(step); };
    hooks_.weight_backward = [this, inner_backward](int i, const matrix& w, matrix& grad) {
      if (inner_backward) inner_backward(i, w, grad);
      const matrix& m = masks_[static_cast<std::size_t>(i)];
      qsparse::mask_gradient(qsparse::make_view(grad.data(), grad.rows(), grad.cols()),
                             qsparse::make_view(m.data(), m.rows(), m.cols()));
    };
  }

  network& net_;
  const training_hooks* inner_;
  masks masks_;
  std::function<void(long)> step_;
  training_hooks hooks_;
};

#endif  // DEMO_HAVE_PRUNING

}  // namespace demo
