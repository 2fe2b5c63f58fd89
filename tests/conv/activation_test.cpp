// tests/conv/activation_test.cpp — gelu_erf and softmax_row (qsparse/conv/activation.hpp): every kernel of
// the registry equal to the scalar definition bit for bit (all lengths up to 70 for the tails, large and
// special values, a range of scales), and the definition's accuracy against std::erf / std::exp.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/conv/activation.hpp"
#include "qsparse/kernels/activation_kernels.hpp"
#include "support/testing.hpp"

using namespace qsparse;

namespace {

std::uint32_t bits_of(float v) {
  std::uint32_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

void require_same_bits(const std::vector<float>& want, const std::vector<float>& got, const std::string& what) {
  REQUIRE(want.size() == got.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (bits_of(want[i]) != bits_of(got[i])) {
      INFO(what << ": element " << i << " of " << want.size() << ": want " << want[i] << " got " << got[i]);
      REQUIRE(bits_of(want[i]) == bits_of(got[i]));
    }
  }
}

std::vector<float> gelu_inputs(std::mt19937& rng) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.0f, 3.9999998f, 4.0f, 4.0000005f, -4.0f, -5.0f, 5.657f, -5.657f, 30.0f,
                          -30.0f, 1e-30f, -1e-30f, std::numeric_limits<float>::denorm_min(), 1e30f, -1e30f, inf,
                          std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()};
  std::normal_distribution<float> wide(0.0f, 3.0f);
  for (int i = 0; i < 2000; ++i) x.push_back(wide(rng));
  std::uniform_real_distribution<float> narrow(-0.01f, 0.01f);
  for (int i = 0; i < 200; ++i) x.push_back(narrow(rng));
  (void)inf;
  return x;
}

}  // namespace

TEST_CASE("gelu_erf: every kernel equals the scalar definition bit for bit", "[conv][activation]") {
  std::mt19937 rng(41);
  const std::vector<float> x = gelu_inputs(rng);
  std::vector<float> want(x.size());
  kernels::scalar::gelu_erf(x.data(), want.data(), static_cast<std::ptrdiff_t>(x.size()));
  std::vector<std::string> ran;
  kernels::for_each_kernel(kernels::activation_kernels{}, [&](auto kernel) {
    using K = decltype(kernel);
    if (!testing::runs_level(K::isa) || !kernels::cpu_has_kernel_extensions<K>()) return;
    ran.emplace_back(K::name());
    // Every length up to 70 at every offset 0..2 (tails and unaligned starts), then the whole array.
    for (std::ptrdiff_t off = 0; off < 3; ++off) {
      for (std::ptrdiff_t n = 0; n <= 70; ++n) {
        std::vector<float> got(static_cast<std::size_t>(n) + 1, 123.0f);
        K::gelu_erf(x.data() + off, got.data(), n);
        REQUIRE(got[static_cast<std::size_t>(n)] == 123.0f);  // nothing written past n
        got.pop_back();
        require_same_bits(std::vector<float>(want.begin() + off, want.begin() + off + n), got, K::name());
      }
    }
    std::vector<float> got = x;
    K::gelu_erf(got.data(), got.data(), static_cast<std::ptrdiff_t>(got.size()));  // in place
    require_same_bits(want, got, K::name());
  });
  testing::require_every_kernel_ran(kernels::activation_kernels{}, ran);
  // NaN stays NaN, +inf stays +inf.
  for (isa_level level : testing::supported_levels()) {
    float v[2] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};
    gelu_erf(v, v, 2, level);
    CHECK(std::isnan(v[0]));
    CHECK(v[1] == std::numeric_limits<float>::infinity());
  }
}

TEST_CASE("gelu_erf: the definition is within 2e-7 |x| + 1e-37 of the erf formula", "[conv][activation]") {
  double worst = 0.0;
  for (float x = -12.0f; x <= 12.0f; x += 0.000731f) {
    const double exact = 0.5 * static_cast<double>(x) * (1.0 + std::erf(static_cast<double>(x) / std::sqrt(2.0)));
    const double err = std::fabs(static_cast<double>(kernels::scalar::activation_detail::gelu(x)) - exact);
    const double bound = 2e-7 * std::fabs(static_cast<double>(x)) + 1e-37;
    if (err > bound) {
      INFO("x = " << x << " gelu " << kernels::scalar::activation_detail::gelu(x) << " exact " << exact);
      REQUIRE(err <= bound);
    }
    worst = std::max(worst, err / (std::fabs(static_cast<double>(x)) + 1e-30));
  }
  CHECK(worst > 0.0);  // the approximation is not exact: the bound above is what is being tested
  CHECK(kernels::scalar::activation_detail::gelu(0.0f) == 0.0f);
  CHECK(kernels::scalar::activation_detail::gelu(10.0f) == 10.0f);
  CHECK(kernels::scalar::activation_detail::gelu(-10.0f) == 0.0f);
}

TEST_CASE("softmax_row: every kernel equals the scalar definition bit for bit", "[conv][activation]") {
  std::mt19937 rng(42);
  std::normal_distribution<float> score(0.0f, 4.0f);
  std::vector<std::string> ran;
  for (const float scale : {1.0f, 0.17677669f, 0.125f, 3.0f}) {
    for (std::ptrdiff_t n : {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 64, 100, 128, 129, 500}) {
      std::vector<float> x(static_cast<std::size_t>(n));
      for (float& v : x) v = score(rng);
      if (n > 3) {
        x[1] = -1e4f;  // exp underflows to the clamp's 2^-126 scale
        x[2] = x[0];   // ties for the max
      }
      std::vector<float> want = x;
      kernels::scalar::softmax_row(want.data(), n, scale);
      double sum = 0.0;
      for (float v : want) sum += v;
      CHECK(std::fabs(sum - 1.0) < 1e-5);
      kernels::for_each_kernel(kernels::activation_kernels{}, [&](auto kernel) {
        using K = decltype(kernel);
        if (!testing::runs_level(K::isa) || !kernels::cpu_has_kernel_extensions<K>()) return;
        if (std::find(ran.begin(), ran.end(), K::name()) == ran.end()) ran.emplace_back(K::name());
        std::vector<float> got = x;
        got.push_back(321.0f);
        K::softmax_row(got.data(), n, scale);
        REQUIRE(got.back() == 321.0f);
        got.pop_back();
        require_same_bits(want, got, std::string(K::name()) + " n = " + std::to_string(n));
      });
    }
  }
  testing::require_every_kernel_ran(kernels::activation_kernels{}, ran);
}

TEST_CASE("softmax_row: the definition is within 1e-6 relative of std::exp's softmax", "[conv][activation]") {
  std::mt19937 rng(43);
  std::normal_distribution<float> score(0.0f, 6.0f);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<float> x(128);
    for (float& v : x) v = score(rng);
    std::vector<float> got = x;
    softmax_row(got.data(), 128, 0.25f);
    double mx = -1e30;
    for (float v : x) mx = std::max(mx, static_cast<double>(v) * 0.25);
    double sum = 0.0;
    for (float v : x) sum += std::exp(static_cast<double>(v) * 0.25 - mx);
    for (std::size_t j = 0; j < x.size(); ++j) {
      const double exact = std::exp(static_cast<double>(x[j]) * 0.25 - mx) / sum;
      if (exact < 1e-30) continue;
      INFO("j = " << j << " exact " << exact << " got " << got[j]);
      REQUIRE(std::fabs(got[j] - exact) <= 1e-6 * exact);
    }
  }
  // One value: probability 1 exactly; all equal: 1 / n exactly.
  float one = 5.0f;
  softmax_row(&one, 1, 1.0f);
  CHECK(one == 1.0f);
  std::vector<float> same(64, -3.5f);
  softmax_row(same.data(), 64, 1.0f);
  for (float v : same) CHECK(v == 1.0f / 64.0f);
}

TEST_CASE("activation: bad arguments are errors naming them", "[conv][activation]") {
  float v = 1.0f;
  CHECK_THROWS_WITH(softmax_row(&v, 0, 1.0f), Catch::Contains("n >= 1") && Catch::Contains("n = 0"));
  CHECK_THROWS_WITH(softmax_row(nullptr, 3, 1.0f), Catch::Contains("non-null row"));
  CHECK_THROWS_WITH(softmax_row(&v, 1, 0.0f), Catch::Contains("scale must be finite and > 0, got scale = 0"));
  CHECK_THROWS_WITH(softmax_row(&v, 1, std::numeric_limits<float>::quiet_NaN()), Catch::Contains("scale must be finite"));
  CHECK_THROWS_WITH(gelu_erf(&v, &v, -1), Catch::Contains("n must be >= 0, got n = -1"));
  CHECK_THROWS_WITH(gelu_erf(nullptr, &v, 2), Catch::Contains("must not be null"));
  gelu_erf(nullptr, nullptr, 0);  // nothing to do
}
