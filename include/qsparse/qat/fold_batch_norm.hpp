// qsparse/qat/fold_batch_norm.hpp — fold an inference batch norm into the preceding layer's weights and bias.
//
//   qsparse::fold_batch_norm(weights, bias, qsparse::batch_norm_params{gamma, beta, mean, var, 1e-5f});
//
// For a layer y = W x + b followed by BN(y) = gamma * (y - mean) / sqrt(var + eps) + beta, per output
// channel c (the index along `axis` of the weights; 0 for OIHW conv and [out, in] linear weights, 1 for
// transposed convolutions):
//   r = 1 / sqrt(var[c] + eps)                 (float32: add, sqrt, divide — torch.rsqrt)
//   W[c, ...] *= gamma[c] * r
//   b[c] = ((b[c] - mean[c]) * r) * gamma[c] + beta[c]
// exactly PyTorch's torch.nn.utils.fusion.fuse_conv_bn_weights, every operation rounded to float32 (the
// last multiply-add is never contracted into an FMA). gamma and beta may be null (1 and 0, as PyTorch's
// affine=False); bias must point at `channels` floats (zeros for a layer without one) and is updated in
// place, as are the weights (any layout, default accessor). var[c] + eps must be positive and finite and
// every parameter finite: qsparse::error names the channel otherwise.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/quant/elementwise_n.hpp"

namespace qsparse {

/// The per-channel statistics and affine parameters of an inference batch norm (caller memory).
struct batch_norm_params {
  const float* gamma = nullptr;  // null: 1
  const float* beta = nullptr;   // null: 0
  const float* mean = nullptr;
  const float* var = nullptr;
  float eps = 1e-5f;
};

namespace detail {
/// a * b + c with the product rounded first (no contraction into an FMA).
inline float multiply_then_add(float a, float b, float c) {
  volatile float product = a * b;
  return product + c;
}
}  // namespace detail

/// Folds `bn` into `weights` (channels along `axis`) and `bias` (weights.extent(axis) values), in place.
template <class WeightView>
void fold_batch_norm(const WeightView& weights, float* bias, const batch_norm_params& bn, std::size_t axis = 0) {
  static_assert(is_tensor_view_v<WeightView> && std::is_same_v<typename WeightView::element_type, float> &&
                    std::is_same_v<typename WeightView::accessor_type, default_accessor<float>>,
                "qsparse::fold_batch_norm: weights must be a qsparse::tensor_view of non-const float.");
  constexpr const char* function = "qsparse::fold_batch_norm";
  detail::check(axis < WeightView::rank(), function, ": axis = ", axis, " is out of range for a rank-", WeightView::rank(),
                " tensor");
  if constexpr (WeightView::rank() > 0) {
    const index_t channels = weights.extent(axis);
    detail::check(channels == 0 || (bias != nullptr && bn.mean != nullptr && bn.var != nullptr), function,
                  ": bias, mean and var must point at ", channels, " values, got a null pointer");
    detail::check(std::isfinite(bn.eps) && bn.eps >= 0.0f, function, ": eps must be finite and non-negative, got eps = ",
                  bn.eps);
    std::vector<float> factor(static_cast<std::size_t>(channels));
    for (index_t c = 0; c < channels; ++c) {
      const float gamma = bn.gamma != nullptr ? bn.gamma[c] : 1.0f;
      const float beta = bn.beta != nullptr ? bn.beta[c] : 0.0f;
      const float denominator = bn.var[c] + bn.eps;
      if (!(denominator > 0.0f) || !std::isfinite(denominator)) {
        detail::raise(detail::concat(function, ": var[", c, "] + eps must be positive and finite, got var[", c,
                                     "] = ", bn.var[c], ", eps = ", bn.eps));
      }
      if (!std::isfinite(gamma) || !std::isfinite(beta) || !std::isfinite(bn.mean[c]) || !std::isfinite(bias[c])) {
        detail::raise(detail::concat(function, ": channel ", c, " has a non-finite parameter: gamma = ", gamma,
                                     ", beta = ", beta, ", mean = ", bn.mean[c], ", bias = ", bias[c]));
      }
      const float r = 1.0f / std::sqrt(denominator);
      factor[static_cast<std::size_t>(c)] = gamma * r;
      bias[c] = detail::multiply_then_add((bias[c] - bn.mean[c]) * r, gamma, beta);
    }
    float* w = weights.data_handle();
    detail::for_each_run_n(
        static_cast<std::ptrdiff_t>(axis),
        [&](const auto& o, index_t n, index_t c) {
          const float f = factor[static_cast<std::size_t>(c < 0 ? 0 : c)];
          for (index_t j = 0; j < n; ++j) w[o[0] + j] *= f;
        },
        [&](const auto& o, index_t n) {
          for (index_t j = 0; j < n; ++j) w[o[0] + j] *= factor[static_cast<std::size_t>(j)];
        },
        [&](const auto& o, index_t n, const auto& s, index_t c) {
          for (index_t j = 0; j < n; ++j) w[o[0] + j * s[0]] *= factor[static_cast<std::size_t>(c == -2 ? j : c)];
        },
        weights);
  }
}

}  // namespace qsparse
