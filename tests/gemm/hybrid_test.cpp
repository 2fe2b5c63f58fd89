// tests/gemm/hybrid_test.cpp — the dynamic-range GEMM against its reference on every ISA, TFLite's row
// quantizers on hand-computed values, the all-zero input path and bad input.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/gemm/hybrid.hpp"
#include "qsparse/kernels/gemm_kernels.hpp"
#include "qsparse/kernels/hybrid_output_kernels.hpp"
#include "qsparse/kernels/row_quantize_kernels.hpp"
#include "support/testing.hpp"

using namespace qsparse;

TEST_CASE("quantize_row_symmetric follows TFLite's PortableSymmetricQuantizeFloats", "[gemm][hybrid]") {
  const float x[4] = {1.0f, -2.0f, 0.5f, 4.0f};
  std::int8_t q[4];
  const hybrid_row_quantization r = quantize_row_symmetric(x, 4, q);
  // range 4: x * 31.75 = 31.75, -63.5, 15.875, 127 → half away from zero.
  CHECK(std::vector<int>(q, q + 4) == std::vector<int>{32, -64, 16, 127});
  CHECK(r.scale == 4.0f / 127.0f);
  CHECK(r.zero_point == 0);
  const float zeros[3] = {0.0f, -0.0f, 0.0f};
  CHECK(quantize_row_symmetric(zeros, 3, q).scale == 1.0f);
  CHECK(std::vector<int>(q, q + 3) == std::vector<int>{0, 0, 0});
}

TEST_CASE("quantize_row_asymmetric follows TFLite's PortableAsymmetricQuantizeFloats", "[gemm][hybrid]") {
  // Range [0, 2.55]: scale 0.01, zero point from min = -128 (error 128 vs 127 + 255 = 382).
  const float x[3] = {0.0f, 1.0f, 2.55f};
  std::int8_t q[3];
  const hybrid_row_quantization r = quantize_row_asymmetric(x, 3, q);
  CHECK(r.zero_point == -128);
  CHECK(r.scale == static_cast<float>(2.549999952316284 / 255.0));
  CHECK(std::vector<int>(q, q + 3) == std::vector<int>{-128, -28, 127});
  // A range excluding zero is widened to include it; all-equal zero rows quantize to 0 with scale 1.
  const float negative[2] = {-1.0f, -3.0f};
  const hybrid_row_quantization n = quantize_row_asymmetric(negative, 2, q);
  CHECK(n.zero_point == 127);
  CHECK(static_cast<int>(q[0]) == static_cast<int>(std::round(127.0f + -1.0f * static_cast<float>(1.0 / n.scale))));
  CHECK(static_cast<int>(q[1]) == -128);
  const float zeros[2] = {0.0f, 0.0f};
  const hybrid_row_quantization z = quantize_row_asymmetric(zeros, 2, q);
  CHECK(z.scale == 1.0f);
  CHECK(z.zero_point == 0);
}

namespace {

// TFLite's PortableAsymmetricQuantizeFloats parameters written out in full (no shortcut).
hybrid_row_quantization tflite_asymmetric_parameters(float lo, float hi) {
  const double rmin = std::fmin(0.0, static_cast<double>(lo));
  const double rmax = std::fmax(0.0, static_cast<double>(hi));
  if (rmin == rmax) return {1.0f, 0};
  const double scale = (rmax - rmin) / 255.0;
  const double from_min = -128.0 - rmin / scale, from_max = 127.0 - rmax / scale;
  const double zero_point = 128.0 + std::fabs(rmin / scale) < 127.0 + std::fabs(rmax / scale) ? from_min : from_max;
  const std::int32_t nudged = zero_point <= -128.0 ? -128
                              : zero_point >= 127.0 ? 127
                                                    : static_cast<std::int32_t>(std::round(zero_point));
  return {static_cast<float>(scale), nudged};
}

}  // namespace

TEST_CASE("asymmetric_row_parameters' one-signed shortcut equals TFLite's full formula", "[gemm][hybrid]") {
  const float tiny = std::numeric_limits<float>::denorm_min(), big = std::numeric_limits<float>::max();
  std::vector<std::pair<float, float>> ranges = {{0.0f, 1.0f}, {-0.0f, 1.0f}, {0.0f, tiny}, {0.0f, big},
                                                 {-1.0f, 0.0f}, {-1.0f, -0.0f}, {-tiny, 0.0f}, {-big, -0.0f},
                                                 {0.25f, 0.5f}, {-3.0f, -2.0f}, {tiny, tiny}, {-big, -tiny},
                                                 {1e-30f, 1.0f}, {-2.0f, 3.0f}, {-1e-38f, 1e-38f}};
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> mantissa(0.0f, 1.0f);
  std::uniform_int_distribution<int> exponent(-140, 127);
  for (int i = 0; i < 20000; ++i) {
    float a = std::ldexp(mantissa(rng), exponent(rng)), b = std::ldexp(mantissa(rng), exponent(rng));
    if (a > b) std::swap(a, b);
    ranges.emplace_back(a, b);      // both >= 0
    ranges.emplace_back(-b, -a);    // both <= 0
    ranges.emplace_back(0.0f, b);   // a softmax row's range
  }
  for (const auto& [lo, hi] : ranges) {
    const hybrid_row_quantization got = detail::asymmetric_row_parameters(lo, hi);
    const hybrid_row_quantization want = tflite_asymmetric_parameters(lo, hi);
    INFO("lo = " << lo << " hi = " << hi);
    CHECK(got.zero_point == want.zero_point);
    CHECK(std::memcmp(&got.scale, &want.scale, sizeof(float)) == 0);
  }
}

TEST_CASE("hybrid_gemm equals its reference on every ISA", "[gemm][hybrid]") {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::uniform_int_distribution<int> w_dist(-127, 127);
  const std::ptrdiff_t shapes[][3] = {{1, 1, 1}, {1, 784, 256}, {3, 33, 17}, {9, 64, 70}, {16, 131, 40}};
  for (isa_level isa : testing::supported_levels()) {
    for (const auto& s : shapes) {
      const std::ptrdiff_t m = s[0], k = s[1], n = s[2];
      std::vector<float> a(static_cast<std::size_t>(m * k));
      for (auto& v : a) v = normal(rng);
      if (m > 2) {
        for (std::ptrdiff_t i = 0; i < k; ++i) a[static_cast<std::size_t>(k + i)] = 0.0f;   // an all-zero row
        for (std::ptrdiff_t i = 0; i < k; ++i) a[static_cast<std::size_t>(2 * k + i)] = -std::fabs(a[static_cast<std::size_t>(2 * k + i)]);
      }
      std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
      for (auto& v : w) v = static_cast<std::int8_t>(w_dist(rng));
      std::vector<float> scales(static_cast<std::size_t>(n)), bias(static_cast<std::size_t>(n));
      for (std::ptrdiff_t i = 0; i < n; ++i) {
        scales[static_cast<std::size_t>(i)] = 0.001f + 0.01f * static_cast<float>(i % 7);
        bias[static_cast<std::size_t>(i)] = normal(rng);
      }
      const auto packed = pack_weights(make_view(w.data(), k, n), 0, isa);
      for (bool per_channel : {false, true}) {
        for (auto mode : {hybrid_quantization::symmetric, hybrid_quantization::asymmetric}) {
          hybrid_params p;
          p.weight_scales = scales.data();
          p.per_channel = per_channel;
          p.bias = per_channel ? bias.data() : nullptr;
          p.input_quantization = mode;
          if (per_channel) {
            p.activation_min = -0.5f;
            p.activation_max = 6.0f;
          }
          std::vector<float> got(static_cast<std::size_t>(m * n)), want(got.size());
          hybrid_gemm(context{}, make_view(static_cast<const float*>(a.data()), m, k), packed, make_view(got.data(), m, n), p);
          reference_hybrid_gemm(make_view(a.data(), m, k), make_view(w.data(), k, n), make_view(want.data(), m, n), p);
          INFO(to_string(isa) << " M=" << m << " K=" << k << " N=" << n << " per_channel=" << per_channel
                              << " asymmetric=" << (mode == hybrid_quantization::asymmetric));
          REQUIRE(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
        }
      }
    }
  }
}

TEST_CASE("hybrid_gemm: a hand-computed product, the all-zero input and bad input", "[gemm][hybrid]") {
  const float x[4] = {1.0f, -2.0f, 0.5f, 4.0f};
  std::int8_t w[4] = {1, 2, 3, 4};  // K = 4, N = 1
  const float scale = 0.5f;
  const auto packed = pack_weights(make_view(w, 4, 1));
  float out = 0.0f;
  hybrid_params p;
  p.weight_scales = &scale;
  hybrid_gemm(context{}, make_view(x, 1, 4), packed, make_view(&out, 1, 1), p);
  // q = [32, -64, 16, 127] → Σ q w = 32 - 128 + 48 + 508 = 460; 460 * (4/127 * 0.5).
  const float row_scale = 4.0f / 127.0f;
  const float combined = row_scale * scale;
  CHECK(out == 460.0f * combined);
  CHECK(std::fabs(out - 7.2440944f) < 1e-5f);

  const float zeros[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  const float bias = -0.0f;
  p.bias = &bias;
  out = 1.0f;
  hybrid_gemm(context{}, make_view(zeros, 1, 4), packed, make_view(&out, 1, 1), p);
  CHECK(std::signbit(out));  // the product is skipped: dst = bias exactly

  using Catch::Matchers::Contains;
  const float bad[4] = {1.0f, std::numeric_limits<float>::quiet_NaN(), 0.0f, 0.0f};
  p.bias = nullptr;
  CHECK_THROWS_WITH(hybrid_gemm(context{}, make_view(bad, 1, 4), packed, make_view(&out, 1, 1), p),
                    Contains("finite") && Contains("a(0, 1)"));
  const auto with_zp = pack_weights(make_view(w, 4, 1), 3);
  CHECK_THROWS_WITH(hybrid_gemm(context{}, make_view(x, 1, 4), with_zp, make_view(&out, 1, 1), p),
                    Contains("symmetric"));
  const float negative_scale = -1.0f;
  p.weight_scales = &negative_scale;
  CHECK_THROWS_WITH(hybrid_gemm(context{}, make_view(x, 1, 4), packed, make_view(&out, 1, 1), p),
                    Contains("weight_scales") && Contains("-1"));
}

TEST_CASE("hybrid_gemm's vectorizable row quantizers equal TFLite's, ties included", "[gemm][hybrid]") {
  // round_half_away_small against std::round on every quarter step in [-300, 300] (ties at each .5),
  // and on the floats next to the ties.
  for (int i = -1200; i <= 1200; ++i) {
    const float y = static_cast<float>(i) * 0.25f;
    for (float v : {y, std::nextafter(y, -1000.0f), std::nextafter(y, 1000.0f)}) {
      INFO(v);
      CHECK(detail::round_half_away_small(v) == static_cast<std::int32_t>(std::round(v)));
    }
  }
  // Whole rows: random, rows whose products land on ties (x = j / 2 with range 127), one-sided rows.
  std::mt19937 rng(23);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<std::vector<float>> rows;
  for (int r = 0; r < 40; ++r) {
    std::vector<float> x(static_cast<std::size_t>(1 + r * 13));
    for (auto& v : x) v = normal(rng);
    if (r % 4 == 1)
      for (auto& v : x) v = std::fabs(v);
    if (r % 4 == 2)
      for (auto& v : x) v = -std::fabs(v);
    rows.push_back(x);
  }
  std::vector<float> ties;
  for (int j = -254; j <= 254; ++j) ties.push_back(static_cast<float>(j) * 0.5f);
  rows.push_back(ties);
  for (const auto& x : rows) {
    const auto k = static_cast<std::ptrdiff_t>(x.size());
    float lo = x[0], hi = x[0];
    for (float v : x) lo = std::min(lo, v), hi = std::max(hi, v);
    std::vector<std::int8_t> want(x.size()), got(x.size());
    const hybrid_row_quantization s0 = quantize_row_symmetric(x.data(), k, want.data());
    const hybrid_row_quantization s1 = detail::quantize_row_symmetric_in_range<true>(x.data(), k, got.data(), lo, hi);
    CHECK(s0.scale == s1.scale);
    CHECK(s0.zero_point == s1.zero_point);
    CHECK(want == got);
    const hybrid_row_quantization a0 = quantize_row_asymmetric(x.data(), k, want.data());
    const hybrid_row_quantization a1 = detail::quantize_row_asymmetric_in_range<true>(x.data(), k, got.data(), lo, hi);
    CHECK(a0.scale == a1.scale);
    CHECK(a0.zero_point == a1.zero_point);
    CHECK(want == got);
    // The public fast form, on every ISA's range kernel, for both rules.
    for (isa_level level : testing::supported_levels()) {
      INFO(to_string(level) << " k = " << k);
      std::vector<std::int8_t> fast(x.size()), reference(x.size());
      const hybrid_row_quantization ra = quantize_row_asymmetric(x.data(), k, reference.data());
      const hybrid_row_quantization f = quantize_row_dynamic(level, hybrid_quantization::asymmetric, x.data(), k, fast.data());
      CHECK(f.scale == ra.scale);
      CHECK(f.zero_point == ra.zero_point);
      CHECK(fast == reference);
      const hybrid_row_quantization rs = quantize_row_symmetric(x.data(), k, reference.data());
      const hybrid_row_quantization fs = quantize_row_dynamic(level, hybrid_quantization::symmetric, x.data(), k, fast.data());
      CHECK(fs.scale == rs.scale);
      CHECK(fast == reference);
    }
  }
  std::vector<float> bad = {1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f};
  std::vector<std::int8_t> q(3);
  CHECK_THROWS_WITH(quantize_row_dynamic(best_isa(), hybrid_quantization::asymmetric, bad.data(), 3, q.data()),
                    Catch::Contains("x[1]"));
  CHECK_THROWS_WITH(quantize_row_dynamic(best_isa(), hybrid_quantization::symmetric, bad.data(), 0, q.data()),
                    Catch::Contains("k = 0"));
}

TEST_CASE("hybrid_gemm: a destination sharing memory with the activations is an error (issue 22)", "[hybrid][errors]") {
  std::vector<std::int8_t> w(4 * 4, 1);
  const auto packed = pack_weights(make_view(static_cast<const std::int8_t*>(w.data()), 4, 4));
  const float scale = 0.5f;
  hybrid_params p;
  p.weight_scales = &scale;
  std::vector<float> buffer(4 * 4, 1.0f);
  CHECK_THROWS_WITH(hybrid_gemm(context{}, make_view(static_cast<const float*>(buffer.data()), 4, 4), packed,
                                make_view(buffer.data(), 4, 4), p),
                    Catch::Contains("qsparse::hybrid_gemm: destination overlaps activations in memory"));
}

TEST_CASE("hybrid_gemm's output kernels equal the scalar row bit for bit", "[gemm][hybrid][kernels]") {
  std::mt19937 rng(31);
  std::uniform_int_distribution<std::int32_t> acc_dist(-3000000, 3000000), sum_dist(-20000, 20000);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::string> ran;
  for (std::ptrdiff_t n : {1, 7, 8, 9, 15, 16, 17, 33, 100}) {
    std::vector<std::int32_t> acc(static_cast<std::size_t>(n)), sums(acc.size());
    std::vector<float> scales(acc.size()), bias(acc.size());
    for (std::size_t i = 0; i < acc.size(); ++i) {
      acc[i] = acc_dist(rng);
      sums[i] = sum_dist(rng);
      scales[i] = 0.0005f + 0.001f * std::fabs(normal(rng));
      bias[i] = normal(rng);
    }
    acc[0] = std::numeric_limits<std::int32_t>::max();  // the correction wraps as uint32
    sums[0] = -7;
    for (std::int32_t zp : {0, -128, 37, 127}) {
      for (bool per_channel : {false, true}) {
        for (bool with_bias : {false, true}) {
          for (float lim : {std::numeric_limits<float>::infinity(), 0.75f}) {
            std::vector<float> want(acc.size() + 1, 99.0f);
            kernels::scalar::hybrid_output_row(acc.data(), n, zp, sums.data(), 0.0123f, scales.data(), per_channel,
                                               with_bias ? bias.data() : nullptr, -lim, lim, want.data());
            kernels::for_each_kernel(kernels::hybrid_output_kernels{}, [&](auto kernel) {
              using K = decltype(kernel);
              if (!testing::runs_level(K::isa) || !kernels::cpu_has_kernel_extensions<K>()) return;
              if (std::find(ran.begin(), ran.end(), K::name()) == ran.end()) ran.emplace_back(K::name());
              std::vector<float> got(acc.size() + 1, 99.0f);
              K::hybrid_output_row(acc.data(), n, zp, sums.data(), 0.0123f, scales.data(), per_channel,
                                   with_bias ? bias.data() : nullptr, -lim, lim, got.data());
              INFO(K::name() << " n = " << n << " zp = " << zp << " per_channel = " << per_channel);
              REQUIRE(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);  // incl. n: untouched
            });
          }
        }
      }
    }
  }
  testing::require_every_kernel_ran(kernels::hybrid_output_kernels{}, ran);
}

TEST_CASE("hybrid_gemm on strided activations and destination equals its reference", "[gemm][hybrid]") {
  std::mt19937 rng(32);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::uniform_int_distribution<int> w_dist(-127, 127);
  const std::ptrdiff_t m = 5, k = 20, n = 19, lda = 47, ldd = 41;  // sub-blocks of wider matrices
  std::vector<float> a(static_cast<std::size_t>(m * lda));
  for (auto& v : a) v = normal(rng);
  std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
  for (auto& v : w) v = static_cast<std::int8_t>(w_dist(rng));
  std::vector<float> scales(static_cast<std::size_t>(n), 0.01f);
  hybrid_params p;
  p.weight_scales = scales.data();
  p.per_channel = true;
  p.input_quantization = hybrid_quantization::asymmetric;
  const auto av = make_strided_view(static_cast<const float*>(a.data()) + 3, {m, k}, {lda, std::ptrdiff_t{1}});
  for (isa_level isa : testing::supported_levels()) {
    const auto packed = pack_weights(make_view(w.data(), k, n), 0, isa);
    std::vector<float> got(static_cast<std::size_t>(m * ldd), -5.0f), want(static_cast<std::size_t>(m * n));
    hybrid_gemm(context{}, av, packed, make_strided_view(got.data() + 2, {m, n}, {ldd, std::ptrdiff_t{1}}), p);
    reference_hybrid_gemm(av, make_view(w.data(), k, n), make_view(want.data(), m, n), p);
    for (std::ptrdiff_t r = 0; r < m; ++r) {
      INFO(to_string(isa) << " row " << r);
      REQUIRE(std::memcmp(got.data() + r * ldd + 2, want.data() + r * n, static_cast<std::size_t>(n) * sizeof(float)) == 0);
      CHECK(got[static_cast<std::size_t>(r * ldd + 1)] == -5.0f);       // left of the block untouched
      CHECK(got[static_cast<std::size_t>(r * ldd + 2 + n)] == -5.0f);   // right of it
    }
    // A column-strided destination (a transposed view) goes through the row copy.
    std::vector<float> t(static_cast<std::size_t>(n * m));
    hybrid_gemm(context{}, av, packed, make_strided_view(t.data(), {m, n}, {std::ptrdiff_t{1}, m}), p);
    for (std::ptrdiff_t r = 0; r < m; ++r)
      for (std::ptrdiff_t c = 0; c < n; ++c) REQUIRE(t[static_cast<std::size_t>(c * m + r)] == want[static_cast<std::size_t>(r * n + c)]);
  }
}

TEST_CASE("release_hybrid_scratch frees the calling thread's buffers and the next call gives the same bits",
          "[gemm][hybrid]") {
  std::mt19937 rng(41);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::uniform_int_distribution<int> w_dist(-127, 127);
  const std::ptrdiff_t m = 64, k = 300, n = 200;
  std::vector<float> a(static_cast<std::size_t>(m * k)), bias(static_cast<std::size_t>(n)), scales(bias.size());
  for (auto& v : a) v = normal(rng);
  for (auto& v : bias) v = normal(rng);
  for (std::size_t i = 0; i < scales.size(); ++i) scales[i] = 0.001f + 0.002f * static_cast<float>(i % 5);
  std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
  for (auto& v : w) v = static_cast<std::int8_t>(w_dist(rng));
  hybrid_params p;
  p.weight_scales = scales.data();
  p.per_channel = true;
  p.bias = bias.data();
  p.input_quantization = hybrid_quantization::asymmetric;
  const auto packed = pack_weights(make_view(w.data(), k, n), 0);
  const auto av = make_view(static_cast<const float*>(a.data()), m, k);
  std::vector<float> want(static_cast<std::size_t>(m * n)), first(want.size()), again(want.size());
  reference_hybrid_gemm(make_view(a.data(), m, k), make_view(w.data(), k, n), make_view(want.data(), m, n), p);
  // The int8 rows, their quantizations and, where the output is not fused into the kernel, the int32 sums.
  const std::size_t least = static_cast<std::size_t>(m * k) + static_cast<std::size_t>(m) * sizeof(hybrid_row_quantization) +
                            (gemm_evaluates_row_output(packed) ? 0 : static_cast<std::size_t>(m * n) * sizeof(std::int32_t));

  release_hybrid_scratch();
  REQUIRE(hybrid_scratch_bytes() == 0);
  hybrid_gemm(context{}, av, packed, make_view(first.data(), m, n), p);
  CHECK(hybrid_scratch_bytes() >= least);
  release_hybrid_scratch();
  CHECK(hybrid_scratch_bytes() == 0);
  hybrid_gemm(context{}, av, packed, make_view(again.data(), m, n), p);
  CHECK(hybrid_scratch_bytes() >= least);
  REQUIRE(std::memcmp(first.data(), want.data(), want.size() * sizeof(float)) == 0);
  REQUIRE(std::memcmp(again.data(), want.data(), want.size() * sizeof(float)) == 0);

  // Every instantiation of hybrid_gemm uses the same buffers: a call on strided views (a column-strided
  // destination goes through the row buffer) is counted and freed too.
  release_hybrid_scratch();
  std::vector<float> t(want.size());
  hybrid_gemm(context{}, make_strided_view(static_cast<const float*>(a.data()), {m, k}, {k, std::ptrdiff_t{1}}), packed,
              make_strided_view(t.data(), {m, n}, {std::ptrdiff_t{1}, m}), p);
  CHECK(hybrid_scratch_bytes() >= least + static_cast<std::size_t>(n) * sizeof(float));
  for (std::ptrdiff_t r = 0; r < m; ++r)
    for (std::ptrdiff_t c = 0; c < n; ++c) REQUIRE(t[static_cast<std::size_t>(c * m + r)] == want[static_cast<std::size_t>(r * n + c)]);

  // Another thread's buffers are its own: its call and its release leave this thread's alone.
  const std::size_t mine = hybrid_scratch_bytes();
  std::size_t before = 1, after = 0, released = 1;
  std::vector<float> other(want.size());
  std::thread([&] {
    before = hybrid_scratch_bytes();
    hybrid_gemm(context{}, av, packed, make_view(other.data(), m, n), p);
    after = hybrid_scratch_bytes();
    release_hybrid_scratch();
    released = hybrid_scratch_bytes();
  }).join();
  CHECK(before == 0);
  CHECK(after >= least);
  CHECK(released == 0);
  CHECK(hybrid_scratch_bytes() == mine);
  REQUIRE(std::memcmp(other.data(), want.data(), want.size() * sizeof(float)) == 0);
  release_hybrid_scratch();
  CHECK(hybrid_scratch_bytes() == 0);
}

TEST_CASE("the row quantization kernels equal the scalar loop bit for bit", "[gemm][hybrid][kernels]") {
  std::mt19937 rng(33);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> x;
  for (int j = -300; j <= 300; ++j) x.push_back(static_cast<float>(j) * 0.5f);  // ties at every .5
  for (int j = 0; j < 300; ++j) x.push_back(normal(rng));
  for (int j = -60; j <= 60; ++j) {  // the floats next to the ties (the SIMD rounding adds 0.49999997)
    x.push_back(std::nextafter(static_cast<float>(j) * 0.5f, -1000.0f));
    x.push_back(std::nextafter(static_cast<float>(j) * 0.5f, 1000.0f));
  }
  std::vector<std::string> ran;
  for (const float inverse : {1.0f, 0.73f, 127.0f / 150.0f, 2.5f}) {
    for (const std::pair<float, std::int32_t>& rule : {std::pair<float, std::int32_t>{0.0f, -127}, {-3.0f, -128}, {17.0f, -128}, {-128.0f, -128}}) {
      const float offset = rule.first;  // plain variables: a lambda cannot capture a structured binding in C++17
      const std::int32_t qmin = rule.second;
      for (std::ptrdiff_t k : std::vector<std::ptrdiff_t>{1, 7, 8, 9, 16, 17, 33, static_cast<std::ptrdiff_t>(x.size())}) {
        std::vector<std::int8_t> want(static_cast<std::size_t>(k) + 1, 55);
        kernels::scalar::quantize_row_round_away(x.data(), k, inverse, offset, want.data(), qmin);
        kernels::for_each_kernel(kernels::row_quantize_kernels{}, [&](auto kernel) {
          using K = decltype(kernel);
          if (!testing::runs_level(K::isa) || !kernels::cpu_has_kernel_extensions<K>()) return;
          if (std::find(ran.begin(), ran.end(), K::name()) == ran.end()) ran.emplace_back(K::name());
          std::vector<std::int8_t> got(want.size(), 55);
          K::quantize_row_round_away(x.data(), k, inverse, offset, got.data(), qmin);
          INFO(K::name() << " k = " << k << " inverse = " << inverse << " offset = " << offset);
          REQUIRE(got == want);  // element k untouched too
        });
      }
    }
  }
  testing::require_every_kernel_ran(kernels::row_quantize_kernels{}, ran);
}

TEST_CASE("hybrid_gemm on a pool: rows cut into chunks give the serial bits, a bad row is named", "[gemm][hybrid]") {
  std::mt19937 rng(43);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::uniform_int_distribution<int> w_dist(-127, 127);
  const std::ptrdiff_t m = 37, k = 45, n = 29;  // 37 rows: chunks of unequal size
  std::vector<float> a(static_cast<std::size_t>(m * k)), bias(static_cast<std::size_t>(n)), scales(bias.size());
  for (auto& v : a) v = normal(rng);
  for (auto& v : bias) v = normal(rng);
  for (std::size_t i = 0; i < scales.size(); ++i) scales[i] = 0.001f + 0.001f * static_cast<float>(i % 7);
  std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
  for (auto& v : w) v = static_cast<std::int8_t>(w_dist(rng));
  const auto packed = pack_weights(make_view(w.data(), k, n), 0);
  const auto av = make_view(static_cast<const float*>(a.data()), m, k);
  const context pool(threads{3});
  for (const auto how : {hybrid_quantization::symmetric, hybrid_quantization::asymmetric}) {
    hybrid_params p;
    p.weight_scales = scales.data();
    p.per_channel = true;
    p.bias = bias.data();
    p.input_quantization = how;
    std::vector<float> want(static_cast<std::size_t>(m * n)), got(want.size()), strided(want.size());
    reference_hybrid_gemm(av, make_view(w.data(), k, n), make_view(want.data(), m, n), p);
    for (int repeat = 0; repeat < 3; ++repeat) {
      hybrid_gemm(pool, av, packed, make_view(got.data(), m, n), p);
      REQUIRE(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);
    }
    // Column-strided activations and destination: the rows go through each thread's row buffer.
    std::vector<float> at(a.size());
    for (std::ptrdiff_t r = 0; r < m; ++r)
      for (std::ptrdiff_t c = 0; c < k; ++c) at[static_cast<std::size_t>(c * m + r)] = a[static_cast<std::size_t>(r * k + c)];
    hybrid_gemm(pool, make_strided_view(static_cast<const float*>(at.data()), {m, k}, {std::ptrdiff_t{1}, m}), packed,
                make_strided_view(strided.data(), {m, n}, {std::ptrdiff_t{1}, m}), p);
    for (std::ptrdiff_t r = 0; r < m; ++r)
      for (std::ptrdiff_t c = 0; c < n; ++c)
        REQUIRE(strided[static_cast<std::size_t>(c * m + r)] == want[static_cast<std::size_t>(r * n + c)]);
  }
  // Non-finite values in two chunks: the first in row order is reported, as one thread reports it.
  using Catch::Matchers::Contains;
  hybrid_params p;
  p.weight_scales = scales.data();
  p.per_channel = true;
  std::vector<float> bad = a, out(static_cast<std::size_t>(m * n));
  bad[static_cast<std::size_t>(33 * k + 4)] = std::numeric_limits<float>::infinity();
  bad[static_cast<std::size_t>(20 * k + 7)] = std::numeric_limits<float>::quiet_NaN();
  const auto bv = make_view(static_cast<const float*>(bad.data()), m, k);
  CHECK_THROWS_WITH(hybrid_gemm(pool, bv, packed, make_view(out.data(), m, n), p), Contains("finite") && Contains("a(20, 7)"));
  CHECK_THROWS_WITH(hybrid_gemm(context{}, bv, packed, make_view(out.data(), m, n), p), Contains("finite") && Contains("a(20, 7)"));
}

namespace {

/// The shapes, rows and parameters of the fused float output's tests: a random M x K matrix with an
/// all-zero row, a one-signed row (zero point -128), a row of one value and a row with ties.
std::vector<float> fused_test_rows(std::mt19937& rng, std::ptrdiff_t m, std::ptrdiff_t k) {
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> a(static_cast<std::size_t>(m * k));
  for (auto& v : a) v = normal(rng);
  const auto row = [&](std::ptrdiff_t r) { return a.begin() + r * k; };
  if (m > 1) std::fill(row(1), row(1) + k, 0.0f);
  if (m > 2) std::transform(row(2), row(2) + k, row(2), [](float v) { return std::fabs(v); });
  if (m > 3) std::fill(row(3), row(3) + k, -0.75f);
  if (m > 4) {
    for (std::ptrdiff_t i = 0; i < k; ++i) a[static_cast<std::size_t>(4 * k + i)] = static_cast<float>(i % 5) - 2.5f;
  }
  return a;
}

}  // namespace

TEST_CASE("hybrid_gemm's float output in the GEMM epilogue equals the two passes and the definition",
          "[gemm][hybrid][fused]") {
  std::mt19937 rng(77);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> w_dist(-127, 127);
  // Odd M (tiles of 8 and their remainders), K around the shallow kernel's 32 and the copy threshold of 64,
  // N around the 16- and 32-column halves and panels.
  const std::ptrdiff_t shapes[][3] = {{1, 1, 1},   {2, 5, 17},   {7, 33, 31},  {9, 64, 33},
                                      {17, 100, 47}, {33, 131, 65}, {130, 40, 16}, {12, 384, 96}};
  bool fused_seen = false;
  for (isa_level isa : testing::supported_levels()) {
    for (const auto& s : shapes) {
      const std::ptrdiff_t m = s[0], k = s[1], n = s[2];
      const std::vector<float> a = fused_test_rows(rng, m, k);
      std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
      for (auto& v : w) v = static_cast<std::int8_t>(w_dist(rng));
      std::vector<float> scales(static_cast<std::size_t>(n)), bias(static_cast<std::size_t>(n));
      for (std::ptrdiff_t i = 0; i < n; ++i) {
        scales[static_cast<std::size_t>(i)] = 0.0007f + 0.0031f * static_cast<float>(i % 9);
        bias[static_cast<std::size_t>(i)] = normal(rng);
      }
      const auto packed = pack_weights(make_view(w.data(), k, n), 0, isa);
      fused_seen = fused_seen || gemm_evaluates_row_output(packed);
      const std::ptrdiff_t ldd = n + 3;  // a row stride wider than N
      const auto av = make_view(static_cast<const float*>(a.data()), m, k);
      int variant = 0;
      for (bool per_channel : {false, true}) {
        for (bool with_bias : {false, true}) {
          for (auto mode : {hybrid_quantization::symmetric, hybrid_quantization::asymmetric}) {
            hybrid_params p;
            p.weight_scales = scales.data();
            p.per_channel = per_channel;
            p.bias = with_bias ? bias.data() : nullptr;
            p.input_quantization = mode;
            if (variant % 3 == 1) {
              p.activation_min = -0.5f;
              p.activation_max = 0.75f;
            } else if (variant % 3 == 2) {
              p.activation_min = -0.0f;  // ReLU with a -0 bound: zeros keep their sign as the scalar clamp keeps them
              p.activation_max = std::numeric_limits<float>::infinity();
            }
            ++variant;
            std::vector<float> want(static_cast<std::size_t>(m * n));
            reference_hybrid_gemm(av, make_view(w.data(), k, n), make_view(want.data(), m, n), p);
            for (int t = 1; t <= 3; ++t) {
              const context ctx = t == 1 ? context{} : context(threads{t});
              std::vector<float> fused(static_cast<std::size_t>(m * ldd), -9.0f), two(fused.size(), -9.0f);
              hybrid_gemm(ctx, av, packed, make_strided_view(fused.data(), {m, n}, {ldd, std::ptrdiff_t{1}}), p);
              {
                const detail::scoped_hybrid_two_pass force(true);
                hybrid_gemm(ctx, av, packed, make_strided_view(two.data(), {m, n}, {ldd, std::ptrdiff_t{1}}), p);
              }
              INFO(to_string(isa) << " M=" << m << " K=" << k << " N=" << n << " per_channel=" << per_channel
                                  << " bias=" << with_bias << " asymmetric=" << (mode == hybrid_quantization::asymmetric)
                                  << " clamp=" << p.activation_min << ".." << p.activation_max << " threads=" << t);
              for (std::ptrdiff_t r = 0; r < m; ++r) {
                REQUIRE(std::memcmp(fused.data() + r * ldd, want.data() + r * n, static_cast<std::size_t>(n) * sizeof(float)) == 0);
                REQUIRE(std::memcmp(two.data() + r * ldd, want.data() + r * n, static_cast<std::size_t>(n) * sizeof(float)) == 0);
                for (std::ptrdiff_t c = n; c < ldd; ++c) REQUIRE(fused[static_cast<std::size_t>(r * ldd + c)] == -9.0f);
              }
            }
          }
        }
      }
    }
  }
  // On a CPU with AVX-512 VNNI the deep shapes ran the fused epilogue (and not only its fallbacks).
  if (testing::runs_level(isa_level::avx512_vnni)) CHECK(fused_seen);
}

TEST_CASE("gemm with dequantize_rows_float equals the stage's definition on every kernel", "[gemm][hybrid][fused]") {
  std::mt19937 rng(78);
  std::uniform_int_distribution<int> a_dist(-128, 127), w_dist(-127, 127), zp_dist(-128, 127);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const std::ptrdiff_t shapes[][3] = {{3, 20, 40}, {11, 70, 33}, {8, 256, 64}};
  for (isa_level isa : testing::supported_levels()) {
    for (const auto& s : shapes) {
      const std::ptrdiff_t m = s[0], k = s[1], n = s[2];
      std::vector<std::int8_t> a(static_cast<std::size_t>(m * k)), w(static_cast<std::size_t>(k * n));
      for (auto& v : a) v = static_cast<std::int8_t>(a_dist(rng));
      for (auto& v : w) v = static_cast<std::int8_t>(w_dist(rng));
      std::vector<hybrid_row_quantization> rows(static_cast<std::size_t>(m));
      for (auto& r : rows) r = {std::ldexp(std::fabs(normal(rng)) + 0.1f, -7), zp_dist(rng)};
      rows[0].zero_point = 0;
      std::vector<float> scales(static_cast<std::size_t>(n)), bias(static_cast<std::size_t>(n));
      for (auto& v : scales) v = 0.001f + std::fabs(normal(rng)) * 0.01f;
      for (auto& v : bias) v = normal(rng);
      const auto packed = pack_weights(make_view(w.data(), k, n), 0, isa);
      const dequantize_rows_float stage{rows.data(), packed.view().column_sums(), scales.data(), true, bias.data(),
                                        -2.0f, 2.0f};
      std::vector<std::int32_t> raw(static_cast<std::size_t>(m * n));
      gemm(context{}, make_view(static_cast<const std::int8_t*>(a.data()), m, k), packed.view(),
           make_view(raw.data(), m, n), pipeline());
      std::vector<float> got(raw.size()), want(raw.size());
      gemm(context{}, make_view(static_cast<const std::int8_t*>(a.data()), m, k), packed.view(),
           make_view(got.data(), m, n), pipeline(stage));
      for (std::ptrdiff_t r = 0; r < m; ++r)
        for (std::ptrdiff_t c = 0; c < n; ++c)
          want[static_cast<std::size_t>(r * n + c)] = stage.apply(raw[static_cast<std::size_t>(r * n + c)], r, c);
      INFO(to_string(isa) << " M=" << m << " K=" << k << " N=" << n << " kernel " << selected_kernel_name(packed.view()));
      REQUIRE(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
    }
  }
}
