// examples/demo/channel_prune.hpp — channel pruning that shrinks the model (issue 26): prune a fraction of
// every hidden layer's output channels, then remove them with qsparse's channel compaction so the int8
// GEMM and convolution run on smaller shapes.
//
//   masks      for every weighted layer but the last (its outputs are the classes): the `fraction` of its
//              output channels (columns of its K×N weights) with the smallest L2 norm are pruned
//              (floor(fraction · N) channels; ties: the lower channel index is pruned first). A mask is
//              K×N of 1 and 0, whole columns 0; pruning_hooks' frozen masks keep them 0 while fine-tuning.
//   compact    qsparse::plan_channel_compaction on each producer's weights (output axis 1), then
//              compact_outputs / compact_channels for the producer, dropped_channel_values (its ReLU) and
//              compact_inputs for the next weighted layer (pools in between keep the channel order and
//              pass a dropped channel's constant through). The consumer's K is viewed as
//              [K / C][C][N] (C = the producer's channels, innermost in the demo's NHWC and im2col
//              order), so dense-after-dense, conv-after-conv and dense-after-flatten are one case.
// The compacted network computes what the pruned one does (exactly for the float model when the dropped
// channels' biases fold without rounding, and up to float rounding of the summation order otherwise).
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <utility>
#include <vector>

#include "nn.hpp"
#include "qsparse/sparsity/channel_compaction.hpp"

namespace demo {

/// K×N masks (1 kept, 0 pruned) that prune `fraction` of each hidden layer's output channels by L2 norm.
inline std::vector<matrix> channel_masks(const network& net, double fraction) {
  if (!(fraction >= 0 && fraction < 1)) throw std::invalid_argument("channel_masks: fraction must be in [0, 1)");
  std::vector<matrix> masks;
  const std::size_t nw = net.params().size();
  for (std::size_t j = 0; j < nw; ++j) {
    const matrix& w = net.params()[j].w;
    matrix m = matrix::Ones(w.rows(), w.cols());
    if (j + 1 < nw) {
      const auto n = static_cast<std::size_t>(w.cols());
      std::vector<double> norm(n, 0.0);
      for (Eigen::Index c = 0; c < w.cols(); ++c) {
        double s = 0;
        for (Eigen::Index r = 0; r < w.rows(); ++r) s += static_cast<double>(w(r, c)) * static_cast<double>(w(r, c));
        norm[static_cast<std::size_t>(c)] = std::sqrt(s);
      }
      std::vector<std::size_t> order(n);
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return norm[a] < norm[b]; });
      const auto drop = static_cast<std::size_t>(std::floor(fraction * static_cast<double>(n)));
      for (std::size_t i = 0; i < drop; ++i) m.col(static_cast<Eigen::Index>(order[i])).setZero();
    }
    masks.push_back(std::move(m));
  }
  return masks;
}

/// The output channels (columns of a K×N weight matrix) with at least one non-zero weight.
inline int kept_channels(const matrix& w) {
  int kept = 0;
  for (Eigen::Index c = 0; c < w.cols(); ++c) kept += (w.col(c).array() != 0.0f).any() ? 1 : 0;
  return kept;
}

/// Zeroes the pruned weights (mask 0) of every layer.
inline void apply_channel_masks(network& net, const std::vector<matrix>& masks) {
  for (std::size_t j = 0; j < masks.size(); ++j) net.params()[j].w = net.params()[j].w.cwiseProduct(masks[j]);
}

/// The network without its all-zero output channels (and the matching inputs of their consumers).
inline network compact_network(const network& net) {
  std::vector<layer_spec> specs = net.layers();
  std::vector<matrix> w;
  std::vector<std::vector<float>> b;
  for (const parameters& p : net.params()) {
    w.push_back(p.w);
    b.emplace_back(p.b.data(), p.b.data() + p.b.size());
  }
  // Graph index of each weighted layer.
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < specs.size(); ++i)
    if (specs[i].has_weights()) at.push_back(i);
  for (std::size_t j = 0; j + 1 < at.size(); ++j) {
    const qsparse::index_t k = w[j].rows(), n = w[j].cols();
    const auto wv = qsparse::make_view(static_cast<const float*>(w[j].data()), k, n);
    const qsparse::channel_compaction plan = qsparse::plan_channel_compaction(wv, 1);
    if (plan.dropped_count() == 0) continue;
    const auto act = specs[at[j]].relu ? qsparse::channel_activation::relu : qsparse::channel_activation::none;
    const std::vector<float> dropped = qsparse::dropped_channel_values(plan, b[j], act);
    const auto small = qsparse::compact_outputs(wv, 1, plan);
    const qsparse::index_t kept = plan.kept_count();
    w[j] = Eigen::Map<const matrix>(small.view().data_handle(), k, kept);
    b[j] = qsparse::compact_channels(b[j], plan);
    // The consumer: [K / n][n][N'] with input axis 1.
    const qsparse::index_t kc = w[j + 1].rows(), nc = w[j + 1].cols();
    if (kc % n != 0) throw std::logic_error("compact_network: the consumer's depth is not a multiple of the producer's channels");
    const auto cv = qsparse::make_view(static_cast<const float*>(w[j + 1].data()), kc / n, n, nc);
    const auto next = qsparse::compact_inputs(cv, 1, 2, plan, dropped, b[j + 1]);
    w[j + 1] = Eigen::Map<const matrix>(next.view().data_handle(), kc / n * kept, nc);
    // Shapes: the producer's outputs, the pools after it, the consumer's inputs.
    specs[at[j]].out_c = static_cast<int>(kept);
    for (std::size_t i = at[j] + 1; i < at[j + 1]; ++i) specs[i].in_c = specs[i].out_c = static_cast<int>(kept);
    layer_spec& c = specs[at[j + 1]];
    if (c.kind == layer_kind::conv) {
      c.in_c = static_cast<int>(kept);
    } else {
      c.in_c = static_cast<int>(kc / n * kept);  // dense: K = h · w · channels of the flattened input
    }
  }
  network out(specs, 0);
  for (std::size_t j = 0; j < w.size(); ++j) {
    out.params()[j].w = w[j];
    out.params()[j].b = Eigen::Map<const row_vector>(b[j].data(), static_cast<Eigen::Index>(b[j].size()));
  }
  out.reset_optimizer();
  return out;
}

}  // namespace demo
