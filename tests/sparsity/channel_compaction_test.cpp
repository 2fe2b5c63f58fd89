// tests/sparsity/channel_compaction_test.cpp — qsparse/sparsity/channel_compaction.hpp: dropping pruned
// channels gives a smaller dense pair and a smaller conv pair that compute what the pruned pair computed.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "qsparse/sparsity/channel_compaction.hpp"
#include "qsparse/sparsity/channel_mask.hpp"

#include "support/testing.hpp"

namespace {

using qsparse::testing::error_of;


float relu(float v) { return v > 0 ? v : 0.0f; }

// y[m][n] = relu?(Σ_k x[m][k] w[k][n] + b[n]), K×N weights, accumulated in double.
std::vector<float> dense(const std::vector<float>& x, const float* w, const std::vector<float>& b, int m, int k, int n,
                         bool apply_relu) {
  std::vector<float> y(static_cast<std::size_t>(m * n));
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double acc = b.empty() ? 0.0 : b[static_cast<std::size_t>(j)];
      for (int p = 0; p < k; ++p) acc += static_cast<double>(x[static_cast<std::size_t>(i * k + p)]) * w[p * n + j];
      const auto v = static_cast<float>(acc);
      y[static_cast<std::size_t>(i * n + j)] = apply_relu ? relu(v) : v;
    }
  return y;
}

// NHWC (batch 1) × OHWI, stride 1, no padding.
std::vector<float> conv(const std::vector<float>& x, int h, int w, int c, const float* f, int o, int kh, int kw,
                        const std::vector<float>& b, bool apply_relu) {
  const int oh = h - kh + 1, ow = w - kw + 1;
  std::vector<float> y(static_cast<std::size_t>(oh * ow * o));
  for (int y0 = 0; y0 < oh; ++y0)
    for (int x0 = 0; x0 < ow; ++x0)
      for (int oc = 0; oc < o; ++oc) {
        double acc = b.empty() ? 0.0 : b[static_cast<std::size_t>(oc)];
        for (int dy = 0; dy < kh; ++dy)
          for (int dx = 0; dx < kw; ++dx)
            for (int ic = 0; ic < c; ++ic)
              acc += static_cast<double>(x[static_cast<std::size_t>(((y0 + dy) * w + x0 + dx) * c + ic)]) *
                     f[((oc * kh + dy) * kw + dx) * c + ic];
        const auto v = static_cast<float>(acc);
        y[static_cast<std::size_t>((y0 * ow + x0) * o + oc)] = apply_relu ? relu(v) : v;
      }
  return y;
}

std::vector<float> values(std::size_t n, int seed) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(static_cast<int>((i * 31 + 7 * static_cast<std::size_t>(seed)) % 17) - 8) * 0.125f;
  return v;
}

}  // namespace

TEST_CASE("dense K×N pair: the compacted layers compute the pruned ones", "[sparsity][compaction]") {
  constexpr int m = 3, k = 4, n1 = 5, n2 = 2;
  const std::vector<float> x = values(m * k, 1);
  std::vector<float> w1 = values(k * n1, 2), w2 = values(n1 * n2, 3);
  std::vector<float> b1{0.25f, 0.75f, -0.5f, -0.25f, 0.5f}, b2{0.125f, -1.f};
  for (int p = 0; p < k; ++p) w1[static_cast<std::size_t>(p * n1 + 1)] = w1[static_cast<std::size_t>(p * n1 + 3)] = 0.0f;
  const std::vector<float> h = dense(x, w1.data(), b1, m, k, n1, true);
  const std::vector<float> y = dense(h, w2.data(), b2, m, n1, n2, false);

  const auto w1v = qsparse::make_view(static_cast<const float*>(w1.data()), k, n1);
  const auto plan = qsparse::plan_channel_compaction(w1v, /*output_axis*/ 1);
  CHECK(plan.channels == 5);
  CHECK(plan.kept == std::vector<qsparse::index_t>{0, 2, 4});
  const auto dropped = qsparse::dropped_channel_values(plan, b1, qsparse::channel_activation::relu);
  CHECK(dropped == std::vector<float>{0.f, 0.75f, 0.f, 0.f, 0.f});  // channel 3's relu(-0.25) = 0
  const auto small_w1 = qsparse::compact_outputs(w1v, 1, plan);
  const auto small_b1 = qsparse::compact_channels(b1, plan);
  CHECK(small_w1.extent(0) == 4);
  CHECK(small_w1.extent(1) == 3);
  CHECK(small_w1(2, 1) == w1[2 * n1 + 2]);
  CHECK(small_b1 == std::vector<float>{0.25f, -0.5f, 0.5f});
  std::vector<float> small_b2 = b2;
  const auto small_w2 = qsparse::compact_inputs(qsparse::make_view(static_cast<const float*>(w2.data()), n1, n2),
                                                /*input_axis*/ 0, /*output_axis*/ 1, plan, dropped, small_b2);
  CHECK(small_w2.extent(0) == 3);
  CHECK(small_b2[0] == b2[0] + 0.75f * w2[1 * n2 + 0]);  // exact: the products are multiples of 2^-5
  CHECK(small_b2[1] == b2[1] + 0.75f * w2[1 * n2 + 1]);

  const std::vector<float> h2 = dense(x, small_w1.data(), small_b1, m, k, 3, true);
  const std::vector<float> y2 = dense(h2, small_w2.data(), small_b2, m, 3, n2, false);
  REQUIRE(y2.size() == y.size());
  for (std::size_t i = 0; i < y.size(); ++i) CHECK(y2[i] == y[i]);
}

TEST_CASE("OHWI conv pair without padding, planned from a channel_mask", "[sparsity][compaction]") {
  constexpr int h = 5, w = 5, c = 2, o1 = 4, o2 = 3, kh = 3, kw = 3, kh2 = 2, kw2 = 2;
  const std::vector<float> x = values(h * w * c, 4);
  std::vector<float> f1 = values(o1 * kh * kw * c, 5), f2 = values(o2 * kh2 * kw2 * o1, 6);
  std::vector<float> b1{0.5f, -0.125f, 0.625f, 0.25f}, b2{0.f, 0.5f, -0.25f};
  // Filter pruning with channel_mask<0> at 50 %: two of the four filters go.
  const auto f1v = qsparse::make_view(f1.data(), o1, kh, kw, c);
  std::vector<std::uint8_t> mask(f1.size());
  qsparse::channel_mask<0>::compute_mask(f1v, qsparse::make_view(mask.data(), o1, kh, kw, c), 0.5f);
  for (std::size_t i = 0; i < f1.size(); ++i)
    if (mask[i] == 0) f1[i] = 0.0f;
  const auto plan = qsparse::plan_channel_compaction(qsparse::make_view(mask.data(), o1, kh, kw, c), 0);
  REQUIRE(plan.kept.size() == 2);
  CHECK(plan == qsparse::plan_channel_compaction(f1v, 0));

  const std::vector<float> y1 = conv(x, h, w, c, f1.data(), o1, kh, kw, b1, true);
  const std::vector<float> y2 = conv(y1, 3, 3, o1, f2.data(), o2, kh2, kw2, b2, false);

  const auto dropped = qsparse::dropped_channel_values(plan, b1, qsparse::channel_activation::relu6);
  const auto small_f1 = qsparse::compact_outputs(f1v, 0, plan);
  const auto small_b1 = qsparse::compact_channels(b1, plan);
  std::vector<float> small_b2 = b2;
  const auto small_f2 = qsparse::compact_inputs(qsparse::make_view(static_cast<const float*>(f2.data()), o2, kh2, kw2, o1),
                                                /*input_axis*/ -1, /*output_axis*/ 0, plan, dropped, small_b2);
  CHECK(small_f2.extent(3) == 2);
  const std::vector<float> z1 = conv(x, h, w, c, small_f1.data(), 2, kh, kw, small_b1, true);
  const std::vector<float> z2 = conv(z1, 3, 3, 2, small_f2.data(), o2, kh2, kw2, small_b2, false);
  REQUIRE(z2.size() == y2.size());
  for (std::size_t i = 0; i < y2.size(); ++i) CHECK(z2[i] == Approx(y2[i]).margin(1e-6));
}

TEST_CASE("compaction edges and errors", "[sparsity][compaction]") {
  std::vector<float> w(6, 0.0f);
  const auto v = qsparse::make_view(static_cast<const float*>(w.data()), 2, 3);
  const auto none = qsparse::plan_channel_compaction(v, 0);
  CHECK(none.kept.empty());
  CHECK(qsparse::compact_outputs(v, 0, none).extent(0) == 0);
  w[4] = -0.0f;  // -0 is zero
  CHECK(qsparse::plan_channel_compaction(v, 0).kept.empty());
  w[4] = 1.0f;
  const auto plan = qsparse::plan_channel_compaction(v, 0);
  CHECK(plan.kept == std::vector<qsparse::index_t>{1});
  CHECK(error_of([&] { qsparse::plan_channel_compaction(v, 2); }) ==
        "qsparse::plan_channel_compaction: output_axis must be in [-rank, rank) for a tensor of rank 2, got output_axis = 2");
  CHECK(error_of([&] { qsparse::compact_outputs(v, 1, plan); }) ==
        "qsparse::compact_outputs: the plan is for 2 channels, weights has 3");
  std::vector<float> bias;
  const std::vector<float> dropped{2.0f, 0.0f};
  CHECK(error_of([&] { qsparse::compact_inputs(v, 0, 1, plan, dropped, bias); }) ==
        "qsparse::compact_inputs: bias must hold 3 values (one per output channel) to absorb the dropped channels, got 0");
  CHECK(error_of([&] { qsparse::compact_inputs(v, 0, 0, plan, dropped, bias); }) ==
        "qsparse::compact_inputs: input_axis and output_axis must differ, both are 0");
  CHECK(error_of([&] { qsparse::compact_inputs(v, 0, 1, plan, std::vector<float>{1.f}, bias); }) ==
        "qsparse::compact_inputs: dropped_values must hold 2 values, got 1");
  qsparse::channel_compaction bad{2, {1, 1}};
  CHECK(error_of([&] { qsparse::compact_outputs(v, 0, bad); }) ==
        "qsparse::compact_outputs: the plan's kept channels must be increasing and in [0, 2), got 1 after 1");
  // Zero dropped values need no bias.
  CHECK(qsparse::compact_inputs(v, 0, 1, plan, std::vector<float>{0.f, 0.f}, bias).extent(0) == 1);
}
