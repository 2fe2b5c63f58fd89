#include "qsparse/qat/fold_batch_norm.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "qsparse/core/tensor.hpp"
#include "support/testing.hpp"

namespace {
#include "data/torch_qat_vectors.inc"
}

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::to_bits;

namespace {
std::vector<float> floats(const std::uint32_t* bits, std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = from_bits(bits[i]);
  return v;
}
}  // namespace

TEST_CASE("fold_batch_norm equals PyTorch's fuse_conv_bn_weights", "[fold_batch_norm][torch]") {
  for (const auto& c : torch_fold_cases) {
    const auto oc = static_cast<std::size_t>(c.out_channels), per = static_cast<std::size_t>(c.per_channel);
    auto w = floats(c.w, oc * per);
    auto b = floats(c.b, oc);
    const auto mean = floats(c.mean, oc), var = floats(c.var, oc), gamma = floats(c.gamma, oc),
               beta = floats(c.beta, oc);
    fold_batch_norm(make_view(w.data(), c.out_channels, c.per_channel), b.data(),
                    batch_norm_params{gamma.data(), beta.data(), mean.data(), var.data(), from_bits(c.eps)});
    for (std::size_t i = 0; i < w.size(); ++i) CHECK(to_bits(w[i]) == c.folded_w[i]);
    for (std::size_t i = 0; i < oc; ++i) CHECK(to_bits(b[i]) == c.folded_b[i]);
  }
}

TEST_CASE("fold_batch_norm: known answers, other axes, defaults, errors", "[fold_batch_norm]") {
  // gamma 2, var 3, eps 1: r = 0.5; w *= 1; b = (b - mean) * 0.5 * 2 + beta.
  tensor<float, 2> w(2, 3);
  for (index_t i = 0; i < 6; ++i) w.data()[i] = static_cast<float>(i + 1);
  std::vector<float> bias = {1.0f, -1.0f};
  const float gamma[2] = {2.0f, 4.0f}, beta[2] = {0.5f, 0.0f}, mean[2] = {3.0f, 1.0f}, var[2] = {3.0f, 15.0f};
  fold_batch_norm(w.view(), bias.data(), batch_norm_params{gamma, beta, mean, var, 1.0f});
  CHECK(w(0, 2) == 3.0f);
  CHECK(w(1, 0) == 4.0f);  // factor 4 * 1/4 = 1
  CHECK(bias[0] == -1.5f);
  CHECK(bias[1] == -2.0f);
  // Channels along axis 1 (a transposed convolution's [in, out, ...]), no gamma / beta.
  tensor<float, 3> t(2, 2, 2);
  std::fill(t.begin(), t.end(), 1.0f);
  std::vector<float> tb = {0.0f, 0.0f};
  const float m2[2] = {1.0f, -1.0f}, v2[2] = {0.0f, 3.0f};
  fold_batch_norm(t.view(), tb.data(), batch_norm_params{nullptr, nullptr, m2, v2, 1.0f}, 1);
  CHECK(t(0, 0, 1) == 1.0f);
  CHECK(t(1, 1, 0) == 0.5f);
  CHECK(tb[0] == -1.0f);
  CHECK(tb[1] == 0.5f);
  // A strided weight view folds the same way.
  tensor<float, 2> wide(2, 6);
  std::fill(wide.begin(), wide.end(), 2.0f);
  auto every_other = make_strided_view(wide.data(), std::array<index_t, 2>{2, 3}, std::array<index_t, 2>{6, 2});
  std::vector<float> sb = {0.0f, 0.0f};
  const float m3[2] = {0.0f, 0.0f}, v3[2] = {3.0f, 0.0f};
  fold_batch_norm(every_other, sb.data(), batch_norm_params{nullptr, nullptr, m3, v3, 1.0f});
  CHECK(wide(0, 0) == 1.0f);
  CHECK(wide(0, 1) == 2.0f);  // untouched
  CHECK(wide(1, 4) == 2.0f);
  const float bad_var[2] = {-2.0f, 1.0f};
  CHECK_THROWS_WITH(fold_batch_norm(w.view(), bias.data(), batch_norm_params{nullptr, nullptr, mean, bad_var, 1.0f}),
                    "qsparse::fold_batch_norm: var[0] + eps must be positive and finite, got var[0] = -2, eps = 1");
  CHECK_THROWS_WITH(fold_batch_norm(w.view(), bias.data(), batch_norm_params{nullptr, nullptr, mean, var, 1.0f}, 2),
                    "qsparse::fold_batch_norm: axis = 2 is out of range for a rank-2 tensor");
  CHECK_THROWS_AS(fold_batch_norm(w.view(), nullptr, batch_norm_params{nullptr, nullptr, mean, var, 1.0f}), qsparse::error);
  const float nan_mean[2] = {std::numeric_limits<float>::quiet_NaN(), 0.0f};
  CHECK_THROWS_AS(fold_batch_norm(w.view(), bias.data(), batch_norm_params{nullptr, nullptr, nan_mean, var, 1.0f}),
                  qsparse::error);
}
