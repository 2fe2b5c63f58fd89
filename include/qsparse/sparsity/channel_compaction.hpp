// qsparse/sparsity/channel_compaction.hpp — turn pruned channels into a smaller layer.
//
// Channel pruning (channel_mask<0>) zeroes whole output channels but keeps the shapes, so the GEMM and
// the convolution do the same work. Compaction removes them: the producer loses its pruned output
// channels, the consumer the matching input channels, and what a removed channel still contributed (its
// bias, after activation) is folded into the consumer's bias.
//
//   // producer: conv OHWI [O][kh][kw][I] (output axis 0) or dense K×N (output axis 1) or N×K (axis 0)
//   auto plan = qsparse::plan_channel_compaction(producer_w, /*output_axis*/ 0);     // or from the mask
//   auto dropped = qsparse::dropped_channel_values(plan, producer_bias, qsparse::channel_activation::relu);
//   auto small_w = qsparse::compact_outputs(producer_w, 0, plan);                   // [O'][kh][kw][I]
//   auto small_b = qsparse::compact_channels(producer_bias, plan);                 // also scales, BN params
//   // consumer: OHWI (input axis 3, output axis 0) or K×N dense (input axis 0, output axis 1)
//   auto next_w = qsparse::compact_inputs(consumer_w, 3, 0, plan, dropped, consumer_bias);   // bias updated
//
// Rules.
//   - A channel is kept when any element of its slice (weights or mask) is non-zero; -0.0 counts as zero.
//     An all-pruned layer keeps no channel: plan.kept is empty and the compacted tensors have extent 0.
//   - Batch norm: fold it first (qsparse/qat/fold_batch_norm.hpp: W *= gamma·r, b = (b - mean)·r·gamma +
//     beta), then compact. A pruned channel's weights stay 0 under the fold, and its folded bias is the
//     constant it emits: dropped value = activation(bias[c]) (bias null: 0).
//   - The consumer's bias absorbs v_c · Σ W[o, .., c] for every dropped channel c with v_c != 0, summed
//     in double over the channel's taps and rounded once, then added to the float bias. This is exact for
//     dense consumers and for convolutions without padding. With zero padding the border outputs of a
//     convolution see padded zeros, not v_c, so there the fold is exact only when every v_c is 0 (the
//     common case of ReLU after a non-positive bias); compact_inputs does not know the padding and folds.
//   - Depthwise convolutions (input channel = output channel) are not handled.
// Compacted tensors are new row-major float tensors; inputs may have any layout. Every function checks
// axes, extents and the plan against the tensors and raises qsparse::error naming the argument.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/traversal.hpp"

namespace qsparse {

/// The channels a compaction keeps, ascending, out of `channels`.
struct channel_compaction {
  index_t channels = 0;
  std::vector<index_t> kept;

  index_t kept_count() const noexcept { return static_cast<index_t>(kept.size()); }
  index_t dropped_count() const noexcept { return channels - kept_count(); }

  friend bool operator==(const channel_compaction& a, const channel_compaction& b) {
    return a.channels == b.channels && a.kept == b.kept;
  }
  friend bool operator!=(const channel_compaction& a, const channel_compaction& b) { return !(a == b); }
};

/// The activation between producer and consumer, applied to a dropped channel's constant output.
enum class channel_activation : std::uint8_t { none, relu, relu6 };

namespace detail {

inline std::size_t compaction_axis(const char* who, const char* name, int axis, std::size_t rank) {
  const int r = static_cast<int>(rank);
  check(axis >= -r && axis < r, who, ": ", name, " must be in [-rank, rank) for a tensor of rank ", r, ", got ", name,
        " = ", axis);
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

inline void check_plan(const char* who, const char* name, const channel_compaction& plan, index_t channels) {
  check(plan.channels == channels, who, ": the plan is for ", plan.channels, " channels, ", name, " has ", channels);
  index_t previous = -1;
  for (index_t c : plan.kept) {
    check(c > previous && c < channels, who, ": the plan's kept channels must be increasing and in [0, ", channels,
          "), got ", c, " after ", previous);
    previous = c;
  }
}

/// kept position of every channel, -1 for a dropped one.
inline std::vector<index_t> kept_position(const channel_compaction& plan) {
  std::vector<index_t> pos(static_cast<std::size_t>(plan.channels), -1);
  for (std::size_t i = 0; i < plan.kept.size(); ++i) pos[static_cast<std::size_t>(plan.kept[i])] = static_cast<index_t>(i);
  return pos;
}

}  // namespace detail

/// The plan that keeps every channel (slice along `output_axis`) holding a non-zero element of `w`
/// (weights, or a mask from channel_mask).
template <class W>
channel_compaction plan_channel_compaction(const W& w, int output_axis) {
  static_assert(is_tensor_view_v<W>, "qsparse::plan_channel_compaction: the argument must be a qsparse::tensor_view.");
  const std::size_t a = detail::compaction_axis("qsparse::plan_channel_compaction", "output_axis", output_axis, W::rank());
  channel_compaction plan;
  plan.channels = w.extent(a);
  std::vector<std::uint8_t> any(static_cast<std::size_t>(plan.channels), 0);
  detail::for_each_index(w.extents(), [&](const auto& i) {
    if (w[i] != 0) any[static_cast<std::size_t>(i[a])] = 1;
  });
  for (index_t c = 0; c < plan.channels; ++c)
    if (any[static_cast<std::size_t>(c)]) plan.kept.push_back(c);
  return plan;
}

/// The producer without its dropped output channels: a row-major tensor, extent kept_count() on the axis.
template <class W>
tensor<float, W::rank()> compact_outputs(const W& weights, int output_axis, const channel_compaction& plan) {
  constexpr const char* who = "qsparse::compact_outputs";
  const std::size_t a = detail::compaction_axis(who, "output_axis", output_axis, W::rank());
  detail::check_plan(who, "weights", plan, weights.extent(a));
  auto e = weights.extents().as_array();
  e[a] = plan.kept_count();
  tensor<float, W::rank()> out(extents<W::rank()>{e});
  auto o = out.view();
  detail::for_each_index(o.extents(), [&](const auto& i) {
    auto src = i;
    src[a] = plan.kept[static_cast<std::size_t>(i[a])];
    o[i] = static_cast<float>(weights[src]);
  });
  return out;
}

/// The kept entries of a per-channel array (bias, scales, batch-norm parameters), in order.
inline std::vector<float> compact_channels(const std::vector<float>& values, const channel_compaction& plan) {
  detail::check_plan("qsparse::compact_channels", "values", plan, static_cast<index_t>(values.size()));
  std::vector<float> out;
  out.reserve(plan.kept.size());
  for (index_t c : plan.kept) out.push_back(values[static_cast<std::size_t>(c)]);
  return out;
}

/// The constant every channel emits when its weights are all zero: activation(bias[c]) for a dropped
/// channel, 0 for a kept one (those are not folded). bias may be empty (no bias: every value 0).
inline std::vector<float> dropped_channel_values(const channel_compaction& plan, const std::vector<float>& bias,
                                                 channel_activation activation) {
  constexpr const char* who = "qsparse::dropped_channel_values";
  std::vector<float> out(static_cast<std::size_t>(plan.channels), 0.0f);
  if (bias.empty()) return out;
  detail::check_plan(who, "bias", plan, static_cast<index_t>(bias.size()));
  const std::vector<index_t> pos = detail::kept_position(plan);
  for (std::size_t c = 0; c < out.size(); ++c) {
    if (pos[c] >= 0) continue;
    float v = bias[c];
    detail::check(std::isfinite(v), who, ": bias[", c, "] of a dropped channel must be finite, got ", v);
    if (activation != channel_activation::none && v < 0) v = 0;
    if (activation == channel_activation::relu6 && v > 6) v = 6;
    out[c] = v;
  }
  return out;
}

/// The consumer without the dropped input channels (slices along `input_axis`); for every dropped
/// channel c with dropped_values[c] != 0, bias[o] += dropped_values[c] · Σ weights[.., o, .., c, ..]
/// (o along `output_axis`). `bias` (length = output channels) may be empty only when no value is folded.
template <class W>
tensor<float, W::rank()> compact_inputs(const W& weights, int input_axis, int output_axis,
                                         const channel_compaction& plan, const std::vector<float>& dropped_values,
                                         std::vector<float>& bias) {
  constexpr const char* who = "qsparse::compact_inputs";
  const std::size_t in = detail::compaction_axis(who, "input_axis", input_axis, W::rank());
  const std::size_t oa = detail::compaction_axis(who, "output_axis", output_axis, W::rank());
  detail::check(in != oa, who, ": input_axis and output_axis must differ, both are ", in);
  detail::check_plan(who, "weights", plan, weights.extent(in));
  detail::check(dropped_values.size() == static_cast<std::size_t>(plan.channels), who, ": dropped_values must hold ",
                plan.channels, " values, got ", dropped_values.size());
  bool folds = false;
  const std::vector<index_t> pos = detail::kept_position(plan);
  for (std::size_t c = 0; c < dropped_values.size(); ++c) folds = folds || (pos[c] < 0 && dropped_values[c] != 0);
  if (folds)
    detail::check(bias.size() == static_cast<std::size_t>(weights.extent(oa)), who, ": bias must hold ",
                  weights.extent(oa), " values (one per output channel) to absorb the dropped channels, got ",
                  bias.size());
  if (folds) {
    std::vector<double> add(bias.size(), 0.0);
    detail::for_each_index(weights.extents(), [&](const auto& i) {
      const auto c = static_cast<std::size_t>(i[in]);
      if (pos[c] < 0 && dropped_values[c] != 0)
        add[static_cast<std::size_t>(i[oa])] += static_cast<double>(dropped_values[c]) * static_cast<double>(weights[i]);
    });
    for (std::size_t o = 0; o < bias.size(); ++o) bias[o] += static_cast<float>(add[o]);
  }
  auto e = weights.extents().as_array();
  e[in] = plan.kept_count();
  tensor<float, W::rank()> out(extents<W::rank()>{e});
  auto o = out.view();
  detail::for_each_index(o.extents(), [&](const auto& i) {
    auto src = i;
    src[in] = plan.kept[static_cast<std::size_t>(i[in])];
    o[i] = static_cast<float>(weights[src]);
  });
  return out;
}

}  // namespace qsparse
