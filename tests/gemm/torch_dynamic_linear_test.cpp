// tests/gemm/torch_dynamic_linear_test.cpp — PyTorch's dynamic quantized linear (QNNPACK) against the
// committed PyTorch 1.13 vectors and against its plain-loop reference on every ISA.
#include "qsparse/gemm/torch_dynamic_linear.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "support/testing.hpp"

namespace vectors {
#include "data/torch_compat_vectors.inc"
}  // namespace vectors

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::to_bits;

TEST_CASE("torch_dynamic_linear equals torch.ao.nn.quantized.dynamic.Linear (qnnpack, PyTorch 1.13)",
          "[gemm][torch_dynamic_linear]") {
  int values = 0;
  for (isa_level isa : testing::supported_levels()) {
    for (const auto& c : vectors::torch_dynamic_linear) {
      const index_t m = c.batch, k = c.in, n = c.out;
      std::vector<float> x(static_cast<std::size_t>(m * k)), bias(static_cast<std::size_t>(n));
      for (index_t i = 0; i < m * k; ++i) x[static_cast<std::size_t>(i)] = from_bits(c.x_bits[i]);
      for (index_t i = 0; i < n; ++i) bias[static_cast<std::size_t>(i)] = from_bits(c.bias_bits[i]);
      // PyTorch's weight is out x in (N x K); pack its transpose.
      std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
      for (index_t o = 0; o < n; ++o) {
        for (index_t i = 0; i < k; ++i) w[static_cast<std::size_t>(i * n + o)] = static_cast<std::int8_t>(c.w[o * k + i]);
      }
      const auto packed = pack_weights(make_view(w.data(), k, n), 0, isa);
      const auto weight_scale = static_cast<float>(c.weight_scale);
      torch_dynamic_linear_params p;
      p.weight_scales = &weight_scale;
      p.bias = bias.data();
      std::vector<float> y(static_cast<std::size_t>(m * n)), want(y.size());
      torch_dynamic_linear(context{}, make_view(static_cast<const float*>(x.data()), m, k), packed,
                           make_view(y.data(), m, n), p);
      reference_torch_dynamic_linear(make_view(x.data(), m, k), make_view(w.data(), k, n), 0, make_view(want.data(), m, n),
                                     p);
      for (index_t i = 0; i < m * n; ++i) {
        INFO(to_string(isa) << " " << m << "x" << k << "x" << n << " output " << i);
        CHECK(to_bits(y[static_cast<std::size_t>(i)]) == c.y_bits[i]);
        CHECK(to_bits(want[static_cast<std::size_t>(i)]) == c.y_bits[i]);
        ++values;
      }
    }
  }
  CHECK(values == 31 * static_cast<int>(testing::supported_levels().size()));
}

TEST_CASE("torch_dynamic_linear equals its reference on every ISA", "[gemm][torch_dynamic_linear]") {
  std::mt19937 rng(21);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::uniform_int_distribution<int> w_dist(-128, 127);
  const index_t shapes[][3] = {{1, 1, 1}, {1, 300, 33}, {5, 17, 9}, {13, 64, 70}};
  for (isa_level isa : testing::supported_levels()) {
    for (const auto& s : shapes) {
      const index_t m = s[0], k = s[1], n = s[2];
      std::vector<float> x(static_cast<std::size_t>(m * k));
      for (auto& v : x) v = normal(rng);
      std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
      for (auto& v : w) v = static_cast<std::int8_t>(w_dist(rng));
      std::vector<float> scales(static_cast<std::size_t>(n)), bias(static_cast<std::size_t>(n));
      for (index_t i = 0; i < n; ++i) {
        scales[static_cast<std::size_t>(i)] = 0.002f + 0.003f * static_cast<float>(i % 5);
        bias[static_cast<std::size_t>(i)] = normal(rng);
      }
      for (int variant = 0; variant < 4; ++variant) {
        const bool per_channel = variant % 2 == 1;
        const std::int32_t w_zp = variant == 2 ? -3 : 0;  // a per-tensor weight zero point
        if (variant == 3) {
          for (auto& v : x) v = std::fabs(v) + 0.25f;  // a positive-only input: zero point 0
        }
        const auto packed = pack_weights(make_view(w.data(), k, n), w_zp, isa);
        torch_dynamic_linear_params p;
        p.weight_scales = scales.data();
        p.per_channel = per_channel;
        p.bias = variant == 0 ? nullptr : bias.data();
        std::vector<float> got(static_cast<std::size_t>(m * n)), want(got.size());
        torch_dynamic_linear(context{}, make_view(static_cast<const float*>(x.data()), m, k), packed,
                             make_view(got.data(), m, n), p);
        reference_torch_dynamic_linear(make_view(x.data(), m, k), make_view(w.data(), k, n), w_zp,
                                       make_view(want.data(), m, n), p);
        INFO(to_string(isa) << " M=" << m << " K=" << k << " N=" << n << " variant " << variant);
        REQUIRE(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("torch_dynamic_linear: a hand-computed output and bad input", "[gemm][torch_dynamic_linear]") {
  // x = [-1, 3]: ChooseQuantizationParams gives scale 4/255 and zero point round(255/4) = 64 (63.75);
  // q = [64 - 64 + ... ] = nearbyint(x * 63.75) + 64 = [0, 255] (191.25 → 191, + 64 = 255).
  const float x[2] = {-1.0f, 3.0f};
  std::int8_t w[2] = {2, -1};  // K = 2, N = 1
  const float scale = 0.5f, bias = 0.25f;
  const auto packed = pack_weights(make_view(w, 2, 1), 0);
  const auto ip = torch_dynamic_linear_input_params(make_view(x, 1, 2));
  CHECK(ip.scale == 4.0 / 255.0);
  CHECK(ip.zero_point == 64);
  torch_dynamic_linear_params p{&scale, false, &bias};
  float y = 0.0f;
  torch_dynamic_linear(context{}, make_view(x, 1, 2), packed, make_view(&y, 1, 1), p);
  // acc = (0 - 64) * 2 + (255 - 64) * -1 = -319; multiplier = 0.5f * float(4 / 255).
  const volatile float multiplier = 0.5f * static_cast<float>(4.0 / 255.0);
  const volatile float product = -319.0f * multiplier;
  CHECK(y == product + 0.25f);

  float nan_x[2] = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  CHECK_THROWS_AS(torch_dynamic_linear(context{}, make_view(static_cast<const float*>(nan_x), 1, 2), packed,
                                       make_view(&y, 1, 1), p),
                  qsparse::error);
  const float tiny = 1e-38f;  // the multiplier tiny * (4 / 255) is subnormal: QNNPACK refuses it
  torch_dynamic_linear_params bad{&tiny, false, nullptr};
  CHECK_THROWS_AS(torch_dynamic_linear(context{}, make_view(x, 1, 2), packed, make_view(&y, 1, 1), bad), qsparse::error);
  const auto shifted = pack_weights(make_view(w, 2, 1), 1);
  torch_dynamic_linear_params per_channel{&scale, true, nullptr};
  CHECK_THROWS_AS(torch_dynamic_linear(context{}, make_view(x, 1, 2), shifted, make_view(&y, 1, 1), per_channel),
                  qsparse::error);
  float wrong[2];
  CHECK_THROWS_AS(torch_dynamic_linear(context{}, make_view(x, 1, 2), packed, make_view(wrong, 1, 2), p), qsparse::error);
  // M = 0 writes nothing.
  torch_dynamic_linear(context{}, make_view(x, 0, 2), packed, make_view(&y, 0, 1), p);
}

TEST_CASE("torch_dynamic_linear equals dynamic Linear (qnnpack) on more shapes, per-channel weights included",
          "[gemm][torch_dynamic_linear]") {
  int values = 0, runs = 0;
  const isa_level isa = best_isa();
  for (const auto& r : vectors::torch_dynamic_linear_runs) {
    const index_t m = r.batch, k = r.in, n = r.out;
    std::vector<float> x(static_cast<std::size_t>(m * k)), bias(static_cast<std::size_t>(n));
    for (index_t i = 0; i < m * k; ++i) x[static_cast<std::size_t>(i)] = from_bits(vectors::torch_dynamic_linear_run_x[r.x_offset + i]);
    for (index_t i = 0; i < n; ++i) bias[static_cast<std::size_t>(i)] = from_bits(vectors::torch_dynamic_linear_run_bias[r.bias_offset + i]);
    std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
    for (index_t o = 0; o < n; ++o) {
      for (index_t i = 0; i < k; ++i) w[static_cast<std::size_t>(i * n + o)] = vectors::torch_dynamic_linear_run_w[r.w_offset + o * k + i];
    }
    std::vector<float> scales(static_cast<std::size_t>(r.per_channel ? n : 1));
    for (std::size_t i = 0; i < scales.size(); ++i) {
      double d;
      const std::uint64_t bits = vectors::torch_dynamic_linear_run_scales[r.scale_offset + static_cast<int>(i)];
      std::memcpy(&d, &bits, sizeof d);
      scales[i] = static_cast<float>(d);  // PyTorch keeps the weight scales as float32 (w_scales)
    }
    const auto packed = pack_weights(make_view(w.data(), k, n), 0, isa);
    torch_dynamic_linear_params p{scales.data(), r.per_channel, bias.data()};
    std::vector<float> y(static_cast<std::size_t>(m * n));
    torch_dynamic_linear(context{}, make_view(static_cast<const float*>(x.data()), m, k), packed, make_view(y.data(), m, n), p);
    for (index_t i = 0; i < m * n; ++i) {
      INFO(r.kind << " " << m << "x" << k << "x" << n << (r.per_channel ? " per-channel" : "") << " output " << i);
      CHECK(to_bits(y[static_cast<std::size_t>(i)]) == vectors::torch_dynamic_linear_run_y[r.y_offset + i]);
      ++values;
    }
    ++runs;
  }
  CHECK(runs == 8);
  CHECK(values == 1 + 64 + 231 + 20 + 36 + 60 + 40 + 63);
}
