// tests/gemm/gemm_f16_test.cpp — every float16-weight GEMM kernel against reference_gemm_f16, bit for bit:
// edge shapes derived from each kernel's MR/NR (including the multi-panel tiles of small MR), strided
// operands, every float stage order, infinities, subnormals, signed zeros and NaN in activations and
// weights, fused-vs-unfused rounding, threads, bad input, the packed format.
#include "qsparse/gemm/gemm_f16.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "qsparse/core/context.hpp"
#include "qsparse/gemm/reference_f16.hpp"
#include "qsparse/quant/float16.hpp"
#include "support/testing.hpp"

using namespace qsparse;

namespace {

constexpr float inf = std::numeric_limits<float>::infinity();

std::vector<float> random_values(std::size_t count, float spread, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> v(count);
  for (float& x : v) x = normal(rng);
  return v;
}

// Every element equal bit for bit, or both NaN (a NaN's payload is unspecified); names the first mismatch.
bool same_floats(const std::vector<float>& got, const std::vector<float>& want, std::string& where) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) && std::isnan(want[i])) continue;
    if (testing::to_bits(got[i]) != testing::to_bits(want[i])) {
      where = "index " + std::to_string(i) + ": got " + std::to_string(got[i]) + " (0x" +
              std::to_string(testing::to_bits(got[i])) + "), want " + std::to_string(want[i]) + " (0x" +
              std::to_string(testing::to_bits(want[i])) + ")";
      return false;
    }
  }
  return true;
}

// Runs gemm_f16 on weights packed for `isa` (from float16) and reference_gemm_f16 on the same data; the
// destination's padding (strided rows) must stay untouched.
template <class Pipeline, class Sum = f16_fma_chain>
void check_values(isa_level isa, std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t n, std::ptrdiff_t lda,
                  std::ptrdiff_t ldd, const std::vector<float>& a, const std::vector<float16>& w,
                  const Pipeline& pipeline, const context& ctx = context{}, Sum sum = Sum{}) {
  const auto a_view = make_strided_view(a.data(), {m, k}, {lda, 1});
  const auto w_view = make_view(w.data(), k, n);
  std::vector<float> got(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * ldd, 1)), 77.0f);
  std::vector<float> want = got;
  const packed_weights_f16 packed = pack_weights_f16(w_view, isa);
  gemm_f16(ctx, a_view, packed, make_strided_view(got.data(), {m, n}, {ldd, 1}), pipeline, sum);
  reference_gemm_f16(a_view, w_view, make_strided_view(want.data(), {m, n}, {ldd, 1}), pipeline, sum);
  std::string where;
  INFO(selected_kernel_name(packed.view()) << " " << Sum::name
       << " on " << to_string(isa) << " M=" << m << " K=" << k << " N=" << n << " lda=" << lda << " ldd=" << ldd);
  const bool same = same_floats(got, want, where);
  INFO(where);
  REQUIRE(same);
}

template <class Pipeline, class Sum = f16_fma_chain>
void check_case(isa_level isa, std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t n, std::ptrdiff_t lda_extra,
                std::ptrdiff_t ldd_extra, const Pipeline& pipeline, std::mt19937& rng, Sum sum = Sum{}) {
  const std::ptrdiff_t lda = k + lda_extra;
  const auto a = random_values(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * lda, 1)), 1.0f, rng);
  const auto wf = random_values(static_cast<std::size_t>(k * n), 1.0f, rng);
  std::vector<float16> w(wf.size());
  to_float16(wf.data(), w.data(), static_cast<std::ptrdiff_t>(w.size()));
  check_values(isa, m, k, n, lda, n + ldd_extra, a, w, pipeline, context{}, sum);
}

template <class Kernel>
struct family {
  static std::vector<std::ptrdiff_t> ks() { return {1, 2, 3, 16, 17, 67}; }
  static std::vector<std::ptrdiff_t> ms() {
    std::vector<std::ptrdiff_t> v{1, 2, 3, Kernel::mr, Kernel::mr + 1, 2 * Kernel::mr + 3};
    if (Kernel::mr > 2) v.push_back(Kernel::mr - 1);
    return v;
  }
  static std::vector<std::ptrdiff_t> ns() {
    // Single panels and the 2- and 4-panel tiles of small MR, each with a remainder.
    return {1,
            Kernel::nr / 2 + 1,
            Kernel::nr - 1,
            Kernel::nr,
            Kernel::nr + 1,
            2 * Kernel::nr + 7,
            4 * Kernel::nr,
            5 * Kernel::nr + 3};
  }
};

template <class F>
void for_each_kernel(F&& f) {
  kernels::for_each_kernel(gemm_f16_kernels{}, f);
}

std::vector<isa_level> exercised;

}  // namespace

TEST_CASE("gemm_f16: every kernel equals the reference on its edge shapes", "[gemm_f16][kernels]") {
  std::mt19937 rng(42);
  for_each_kernel([&](auto kernel) {
    using K = decltype(kernel);
    if (!testing::runs_level(K::isa)) return;
    exercised.push_back(K::isa);
    for (auto k : family<K>::ks()) {
      for (auto m : family<K>::ms()) {
        for (auto n : family<K>::ns()) {
          const auto bias = random_values(static_cast<std::size_t>(n), 2.0f, rng);
          check_case(K::isa, m, k, n, 0, 0, pipeline(bias_add_float{bias.data()}, clamp_float{-1.5f, 2.0f}), rng);
          check_case(K::isa, m, k, n, 3, 5, pipeline(), rng);  // strided, raw sums
        }
      }
    }
  });
  REQUIRE(!exercised.empty());
}

TEST_CASE("gemm_f16 multiply-then-add: every kernel equals its reference on the edge shapes", "[gemm_f16][kernels]") {
  std::mt19937 rng(43);
  std::vector<std::string> ran;
  kernels::for_each_kernel(kernels::gemm_f16_kernels_for<f16_multiply_then_add>{}, [&](auto kernel) {
    using K = decltype(kernel);
    if (!testing::runs_level(K::isa)) return;
    ran.emplace_back(K::name());
    for (auto k : family<K>::ks()) {
      for (auto m : family<K>::ms()) {
        for (auto n : {std::ptrdiff_t{1}, std::ptrdiff_t{K::nr - 1}, std::ptrdiff_t{2 * K::nr + 7},
                       std::ptrdiff_t{5 * K::nr + 3}}) {
          const auto bias = random_values(static_cast<std::size_t>(n), 2.0f, rng);
          check_case(K::isa, m, k, n, 2, 3, pipeline(bias_add_float{bias.data()}), rng, f16_multiply_then_add{});
        }
      }
    }
  });
  REQUIRE(ran == testing::runnable_kernel_names(kernels::gemm_f16_kernels_for<f16_multiply_then_add>{}));
  // Infinities, NaN, subnormals and signed zeros go the same way as in the reference.
  std::vector<float> a = {inf, -inf, 0.0f, -0.0f, 1e-40f, -1e-40f, 3.0e38f, std::nanf(""), 1.0f, -2.0f};
  std::vector<float16> w(a.size() * 19);
  for (std::size_t i = 0; i < w.size(); ++i) {
    const float values[] = {0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 6.0e-8f, -3.5f, 0.5f};
    w[i] = float16(values[i % 8]);
  }
  for (isa_level isa : testing::supported_levels()) {
    check_values(isa, 1, static_cast<std::ptrdiff_t>(a.size()), 19, static_cast<std::ptrdiff_t>(a.size()), 19, a, w,
                 pipeline(), context{}, f16_multiply_then_add{});
  }
}

TEST_CASE("gemm_f16 multiply-then-add rounds each product: no FMA on any ISA level", "[gemm_f16][stages]") {
  // acc = -(1 + 2^-10 + 2^-23), then + (1 + 2^-23) * (1 + 2^-10) = 1 + 2^-10 + 2^-23 + 2^-33 exactly: the
  // fused step keeps 2^-33, the rounded product drops it (below half an ulp) and the sum is 0.
  const std::vector<float> a = {-(1.0f + std::ldexp(1.0f, -10) + std::ldexp(1.0f, -23)), 1.0f + std::ldexp(1.0f, -23)};
  const std::vector<float16> w = {float16(1.0f), float16(1.0f + std::ldexp(1.0f, -10))};
  REQUIRE(static_cast<float>(w[1]) == 1.0f + std::ldexp(1.0f, -10));
  for (isa_level isa : testing::supported_levels()) {
    const packed_weights_f16 packed = pack_weights_f16(make_view(w.data(), 2, 1), isa);
    float fused = 0.0f, separate = 1.0f;
    gemm_f16(context{}, make_view(a.data(), 1, 2), packed, make_view(&fused, 1, 1), pipeline());
    gemm_f16(context{}, make_view(a.data(), 1, 2), packed, make_view(&separate, 1, 1), pipeline(),
             f16_multiply_then_add{});
    INFO(to_string(isa));
    CHECK(fused == std::ldexp(1.0f, -33));
    CHECK(separate == 0.0f);
  }
}

TEST_CASE("gemm_f16: every float stage order on every ISA level", "[gemm_f16][stages]") {
  std::mt19937 rng(3);
  const std::ptrdiff_t shapes[][3] = {{1, 1, 1}, {5, 9, 33}, {9, 64, 17}, {17, 5, 70}, {2, 300, 100}, {1, 257, 129}};
  for (isa_level isa : testing::supported_levels()) {  // avx512_vnni packs run the avx512 kernel
    for (const auto& s : shapes) {
      const std::ptrdiff_t m = s[0], k = s[1], n = s[2];
      const auto bias = random_values(static_cast<std::size_t>(n), 3.0f, rng);
      check_case(isa, m, k, n, 1, 2, pipeline(bias_add_float{bias.data()}), rng);
      check_case(isa, m, k, n, 0, 0, pipeline(clamp_float{0.0f, 6.0f}), rng);
      check_case(isa, m, k, n, 0, 1, pipeline(clamp_float{-1.0f, 1.0f}, bias_add_float{bias.data()}), rng);
      check_case(isa, m, k, n, 2, 0,
                 pipeline(bias_add_float{bias.data()}, clamp_float{-inf, 0.5f}, bias_add_float{bias.data()},
                          clamp_float{-0.0f, 0.0f}),
                 rng);
    }
  }
}

TEST_CASE("gemm_f16: infinities, subnormals, signed zeros and NaN in activations and weights", "[gemm_f16][special]") {
  // Weights: every class of binary16 (subnormals 0x0001..0x03FF, the largest finite 65504, ±inf, NaNs,
  // ±0) mixed with ordinary values; activations: float subnormals, ±0, ±inf, NaN, huge values whose
  // products overflow, and values whose products underflow into float subnormals.
  const std::uint16_t half_bits[] = {0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x7C00,
                                     0xFC00, 0x7E00, 0x7C01, 0xFE00, 0x3C00, 0xBC00, 0x3555, 0x1234, 0x8ABC};
  const float activation_values[] = {0.0f,
                                     -0.0f,
                                     1.0f,
                                     -1.0f,
                                     std::numeric_limits<float>::denorm_min(),
                                     -std::numeric_limits<float>::denorm_min(),
                                     std::numeric_limits<float>::min(),
                                     1e-30f,
                                     -3e-39f,
                                     inf,
                                     -inf,
                                     std::numeric_limits<float>::quiet_NaN(),
                                     std::numeric_limits<float>::max(),
                                     -1e38f,
                                     3.0e-8f,
                                     0.333333343f};
  std::mt19937 rng(9);
  std::uniform_int_distribution<std::size_t> pick_h(0, std::size(half_bits) - 1);
  std::uniform_int_distribution<std::size_t> pick_a(0, std::size(activation_values) - 1);
  std::uniform_int_distribution<int> coin(0, 3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (isa_level isa : testing::supported_levels()) {
    for (int density : {0, 1, 3}) {  // share of special values, in quarters: none... most
      for (const auto& s : {std::array<std::ptrdiff_t, 3>{7, 23, 37}, std::array<std::ptrdiff_t, 3>{1, 64, 130},
                            std::array<std::ptrdiff_t, 3>{13, 5, 65}}) {
        const std::ptrdiff_t m = s[0], k = s[1], n = s[2];
        std::vector<float> a(static_cast<std::size_t>(m * k));
        for (float& x : a) x = coin(rng) < density ? activation_values[pick_a(rng)] : normal(rng);
        std::vector<float16> w(static_cast<std::size_t>(k * n));
        for (auto& h : w) h = coin(rng) < density ? float16::from_bits(half_bits[pick_h(rng)]) : float16(normal(rng));
        std::vector<float> bias(static_cast<std::size_t>(n));
        for (float& b : bias) b = coin(rng) < density ? activation_values[pick_a(rng)] : normal(rng);
        check_values(isa, m, k, n, k, n, a, w, pipeline());
        check_values(isa, m, k, n, k, n, a, w, pipeline(bias_add_float{bias.data()}, clamp_float{-2.0f, 1e30f}));
      }
    }
    // Subnormal weights times ordinary activations: every product is exact in float and small; the sum
    // must keep every bit (no flush to zero anywhere).
    {
      const std::ptrdiff_t m = 3, k = 40, n = 19;
      std::vector<float> a(static_cast<std::size_t>(m * k));
      for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(static_cast<int>(i % 7) - 3) * 0.375f;
      std::vector<float16> w(static_cast<std::size_t>(k * n));
      for (std::size_t i = 0; i < w.size(); ++i) w[i] = float16::from_bits(static_cast<std::uint16_t>(1 + i % 1023));
      check_values(isa, m, k, n, k, n, a, w, pipeline());
      std::vector<float> out(static_cast<std::size_t>(m * n));
      gemm_f16(context{}, make_view(a.data(), m, k), pack_weights_f16(make_view(w.data(), k, n), isa),
               make_view(out.data(), m, n), pipeline());
      CHECK(std::any_of(out.begin(), out.end(), [](float v) { return v != 0.0f && std::fabs(v) < 1e-4f; }));
    }
    // 1 * inf + (-1) * inf = NaN; 0 * inf = NaN; inf + finite stays inf; -0 * 1 alone gives +0 (acc starts +0).
    {
      const float a[1][4] = {{1.0f, -1.0f, 0.0f, -0.0f}};
      std::vector<float16> w(4 * 3);
      const std::uint16_t cols[4][3] = {
          {0x7C00, 0x7C00, 0x0000}, {0x7C00, 0x3C00, 0x0000}, {0x3C00, 0x3C00, 0x7C00}, {0x3C00, 0x3C00, 0x3C00}};
      for (int kk = 0; kk < 4; ++kk) {
        for (int nn = 0; nn < 3; ++nn) w[static_cast<std::size_t>(kk * 3 + nn)] = float16::from_bits(cols[kk][nn]);
      }
      float out[3];
      gemm_f16(context{}, make_view(&a[0][0], 1, 4), pack_weights_f16(make_view(w.data(), 4, 3), isa),
               make_view(out, 1, 3), pipeline());
      CHECK(std::isnan(out[0]));
      CHECK(out[1] == inf);
      CHECK(std::isnan(out[2]));
      const float neg_zero[1] = {-0.0f};
      const float16 one[1] = {float16(1.0f)};
      float z = 5.0f;
      gemm_f16(context{}, make_view(neg_zero, 1, 1), pack_weights_f16(make_view(one, 1, 1), isa), make_view(&z, 1, 1),
               pipeline());
      CHECK(testing::to_bits(z) == 0u);  // fma(-0, 1, +0) = +0
    }
  }
}

TEST_CASE("gemm_f16: one rounding per step (fused multiply-add), not two", "[gemm_f16][rounding]") {
  // a = 1 + 2^-14 and w = 1 + 2^-10 (exact in float16): a * w = 1 + 2^-10 + 2^-14 + 2^-24, whose last
  // bit (half an ulp of float at 1) a separate multiply would round away (ties to even). After a first step
  // acc = -1, so fma keeps 2^-10 + 2^-14 + 2^-24 exactly while mul-then-add would give 2^-10 + 2^-14.
  const float a[2] = {-1.0f, 1.0f + std::ldexp(1.0f, -14)};
  const float16 w[2] = {float16(1.0f), float16(1.0f + std::ldexp(1.0f, -10))};
  REQUIRE(static_cast<float>(w[1]) == 1.0f + std::ldexp(1.0f, -10));
  const float fused = std::ldexp(1.0f, -10) + std::ldexp(1.0f, -14) + std::ldexp(1.0f, -24);  // exact
  REQUIRE(std::fma(a[1], static_cast<float>(w[1]), std::fma(a[0], 1.0f, 0.0f)) == fused);
  // Rounded separately: the 2^-24 is lost. product_not_fused, because a compiler that contracts (GCC at -O2
  // on aarch64) would otherwise fuse this product with the subtraction below into one fmsub.
  const float product = detail::product_not_fused(a[1], static_cast<float>(w[1]));
  REQUIRE(product - 1.0f != fused);
  for (isa_level isa : testing::supported_levels()) {
    float out = 0.0f;
    gemm_f16(context{}, make_view(a, 1, 2), pack_weights_f16(make_view(w, 2, 1), isa), make_view(&out, 1, 1),
             pipeline());
    INFO(to_string(isa));
    CHECK(out == fused);
  }
  // Summation order is k ascending: 60000 + 2^-12 - 60000 = +0 (2^-12 is absorbed by 60000 first); summed
  // in another order it could be 2^-12.
  const float big[3] = {1.0f, 1.0f, -1.0f};
  const float16 wb[3] = {float16(60000.0f), float16(0.000244140625f), float16(60000.0f)};
  for (isa_level isa : testing::supported_levels()) {
    float out = 5.0f;
    gemm_f16(context{}, make_view(big, 1, 3), pack_weights_f16(make_view(wb, 3, 1), isa), make_view(&out, 1, 1),
             pipeline());
    CHECK(testing::to_bits(out) == 0u);
  }
}

TEST_CASE("gemm_f16: every thread count and a caller's parallel_for give identical results", "[gemm_f16][threads]") {
  std::mt19937 rng(11);
  const std::ptrdiff_t m = 37, k = 129, n = 300;
  const auto a = random_values(static_cast<std::size_t>(m * k), 1.0f, rng);
  const auto w = random_values(static_cast<std::size_t>(k * n), 1.0f, rng);
  const auto bias = random_values(static_cast<std::size_t>(n), 1.0f, rng);
  const auto p = pipeline(bias_add_float{bias.data()}, clamp_float{-3.0f, 3.0f});
  for (isa_level isa : testing::supported_levels()) {
    const auto packed = pack_weights_f16(make_view(w.data(), k, n), isa);
    std::vector<float> single(static_cast<std::size_t>(m * n));
    gemm_f16(context{}, make_view(a.data(), m, k), packed, make_view(single.data(), m, n), p);
    for (int t : {2, 3, 5}) {
      std::vector<float> out(single.size());
      gemm_f16(context(threads{t}), make_view(a.data(), m, k), packed, make_view(out.data(), m, n), p);
      CHECK(std::memcmp(out.data(), single.data(), out.size() * sizeof(float)) == 0);
    }
    std::atomic<int> calls{0};
    context custom(
        [&](std::ptrdiff_t tasks, const task_function& task) {
          ++calls;
          std::vector<std::thread> pool;
          for (std::ptrdiff_t t = tasks - 1; t >= 0; --t) pool.emplace_back([&task, t] { task(t); });
          for (auto& th : pool) th.join();
        },
        4);
    std::vector<float> out(single.size());
    gemm_f16(custom, make_view(a.data(), m, k), packed, make_view(out.data(), m, n), p);
    CHECK(std::memcmp(out.data(), single.data(), out.size() * sizeof(float)) == 0);
    CHECK(calls.load() == 1);
  }
}

TEST_CASE("gemm_f16: float weights are rounded to float16 exactly as to_float16 does", "[gemm_f16][packing]") {
  std::mt19937 rng(5);
  const std::ptrdiff_t m = 4, k = 33, n = 21;
  auto a = random_values(static_cast<std::size_t>(m * k), 1.0f, rng);
  auto wf = testing::adversarial_floats(1.0f / 1024.0f);  // ties of float16 rounding, specials
  wf.resize(static_cast<std::size_t>(k * n), 0.5f);
  std::vector<float16> w16(wf.size());
  to_float16(wf.data(), w16.data(), static_cast<std::ptrdiff_t>(wf.size()));
  for (isa_level isa : testing::supported_levels()) {
    const auto from_float = pack_weights_f16(make_view(wf.data(), k, n), isa);
    const auto from_half = pack_weights_f16(make_view(w16.data(), k, n), isa);
    REQUIRE(from_float.size_bytes() == from_half.size_bytes());
    CHECK(std::memcmp(from_float.view().bytes(), from_half.view().bytes(), from_float.size_bytes()) == 0);
  }
  // The one-off entry (float weights) equals the reference on float weights.
  std::vector<float> got(static_cast<std::size_t>(m * n)), want(got.size());
  gemm_f16(context{}, make_view(a.data(), m, k), make_view(wf.data(), k, n), make_view(got.data(), m, n), pipeline());
  reference_gemm_f16(make_view(a.data(), m, k), make_view(wf.data(), k, n), make_view(want.data(), m, n), pipeline());
  std::string where;
  CHECK(same_floats(got, want, where));
  // A TFLite [N][K] filter is the K x N column-major view.
  std::vector<float16> filter(static_cast<std::size_t>(n * k));
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    for (std::ptrdiff_t j = 0; j < k; ++j)
      filter[static_cast<std::size_t>(i * k + j)] = w16[static_cast<std::size_t>(j * n + i)];
  }
  std::vector<float> transposed(got.size());
  gemm_f16(context{}, make_view(a.data(), m, k), pack_weights_f16(make_strided_view(filter.data(), {k, n}, {1, k})),
           make_view(transposed.data(), m, n), pipeline());
  CHECK(same_floats(transposed, want, where));
  // M = 0 is a valid empty product.
  gemm_f16(context{}, make_view(a.data(), 0, k), pack_weights_f16(make_view(w16.data(), k, n)),
           make_view(got.data(), 0, n), pipeline());
}

TEST_CASE("gemm_f16: bad input is a qsparse::error naming the argument", "[gemm_f16][errors]") {
  std::vector<float> a(8 * 16, 1.0f), w(16 * 24, 1.0f), out(8 * 24);
  const auto packed = pack_weights_f16(make_view(w.data(), 16, 24));
  context ctx;
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(gemm_f16(ctx, make_view(a.data(), 8, 15), packed, make_view(out.data(), 8, 24), pipeline()),
                    Contains("K = 15") && Contains("K = 16"));
  CHECK_THROWS_WITH(gemm_f16(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 23), pipeline()),
                    Contains("destination is 8 x 23"));
  CHECK_THROWS_WITH(
      gemm_f16(ctx, make_strided_view(a.data(), {8, 16}, {1, 8}), packed, make_view(out.data(), 8, 24), pipeline()),
      Contains("contiguous along K") && Contains("stride(1) = 8"));
  CHECK_THROWS_WITH(
      gemm_f16(ctx, make_view(a.data(), 8, 16), packed, make_strided_view(out.data(), {8, 24}, {1, 8}), pipeline()),
      Contains("contiguous along N"));
  CHECK_THROWS_WITH(gemm_f16(ctx, make_view(static_cast<const float*>(nullptr), 8, 16), packed,
                             make_view(out.data(), 8, 24), pipeline()),
                    Contains("activations must not be null"));
  CHECK_THROWS_WITH(
      gemm_f16(ctx, make_view(a.data(), 8, 16), packed, make_view(static_cast<float*>(nullptr), 8, 24), pipeline()),
      Contains("destination must not be null"));
  CHECK_THROWS_WITH(
      gemm_f16(ctx, make_view(a.data(), 8, 16), packed_weights_f16_view{}, make_view(out.data(), 8, 24), pipeline()),
      Contains("packed weights are empty"));
  CHECK_THROWS_WITH(gemm_f16(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                             pipeline(bias_add_float{nullptr})),
                    Contains("bias_add_float.bias must not be null"));
  CHECK_THROWS_WITH(gemm_f16(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                             pipeline(clamp_float{1.0f, 0.0f})),
                    Contains("min = 1, max = 0"));
  if (cpu_supports(isa_level::avx2)) {
    const auto avx2_packed = pack_weights_f16(make_view(w.data(), 16, 24), isa_level::avx2);
    scoped_isa_ceiling ceiling(isa_level::scalar);
    CHECK_THROWS_WITH(gemm_f16(ctx, make_view(a.data(), 8, 16), avx2_packed, make_view(out.data(), 8, 24), pipeline()),
                      Contains("packed for avx2") && Contains("at most scalar"));
  }
  CHECK_THROWS_WITH(reference_gemm_f16(make_view(a.data(), 8, 15), make_view(w.data(), 16, 24),
                                       make_view(out.data(), 8, 24), pipeline()),
                    Contains("K = 15"));
  // Foreign buffers: a 16x8 buffer is not a float16 one.
  const auto f16 = pack_weights_f16(make_view(w.data(), 16, 24), isa_level::scalar);
  struct alignas(64) block {
    unsigned char b[64];
  };
  std::vector<block> copy((f16.size_bytes() + 63) / 64);
  auto* bytes = reinterpret_cast<unsigned char*>(copy.data());
  std::memcpy(bytes, f16.view().bytes(), f16.size_bytes());
  CHECK(packed_weights_f16_view::from_bytes(bytes, f16.size_bytes()).k() == 16);
  bytes[0] = 'X';
  CHECK_THROWS_WITH(packed_weights_f16_view::from_bytes(bytes, f16.size_bytes()),
                    Contains("not a packed_weights_f16 buffer"));
}

TEST_CASE("gemm_f16: packed layout and kernel names", "[gemm_f16][packing]") {
  std::vector<float> w(5 * 3);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i) * 0.5f - 3.0f;
  for (isa_level isa : {isa_level::scalar, isa_level::avx2, isa_level::avx512, isa_level::avx512_vnni}) {
    const auto packed = pack_weights_f16(make_view(w.data(), 5, 3), isa);
    const packed_weights_f16_view& v = packed.view();
    // Only the native architecture's ISAs have kernels here; another's packs the scalar kernel's panels.
    CHECK(v.geometry().nr == (QSPARSE_X86 && isa_runs(isa, isa_level::avx512) ? 32 : 16));
    CHECK(v.geometry().kr == 1);
    CHECK(v.k_padded() == 5);
    CHECK(v.size_bytes() == packed_weights_f16_size(5, 3, isa));
    const auto* e = static_cast<const std::uint16_t*>(v.panel(0));
    for (int k = 0; k < 5; ++k) {
      for (int n = 0; n < 3; ++n)
        CHECK(e[k * v.geometry().nr + n] == float16(w[static_cast<std::size_t>(k * 3 + n)]).bits);
      CHECK(e[k * v.geometry().nr + 3] == 0);  // padding column
    }
  }
  CHECK(std::string(gemm_f16_kernel_name(isa_level::scalar)) == "gemm_f32f16_f32_1x16c1__scalar");
#if QSPARSE_X86
  CHECK(std::string(gemm_f16_kernel_name(isa_level::avx2)) == "gemm_f32f16_f32_6x16c1__avx2");
  CHECK(std::string(gemm_f16_kernel_name(isa_level::avx512)) == "gemm_f32f16_f32_8x32c1__avx512");
  CHECK(std::string(gemm_f16_kernel_name(isa_level::avx512_vnni)) == "gemm_f32f16_f32_8x32c1__avx512");
#endif
  const auto packed = pack_weights_f16(make_view(w.data(), 5, 3), isa_level::scalar);
  CHECK(std::string(selected_kernel_name(packed.view())) == "gemm_f32f16_f32_1x16c1__scalar");
}

TEST_CASE("guard: every float16-weight GEMM kernel this CPU supports ran", "[gemm_f16][guard]") {
  for (isa_level level : testing::supported_levels_with_kernels(kernels::gemm_f16_kernels{})) {
    INFO("level " << to_string(level));
    CHECK(std::find(exercised.begin(), exercised.end(), level) != exercised.end());
  }
}

TEST_CASE("gemm_f16: a destination sharing memory with the activations is an error (issue 22)", "[gemm_f16][errors]") {
  std::vector<float> w(16 * 16, 1.0f);
  const auto packed = pack_weights_f16(make_view(static_cast<const float*>(w.data()), 16, 16), best_isa());
  std::vector<float> buffer(4 * 16);
  CHECK_THROWS_WITH(gemm_f16(context{}, make_view(static_cast<const float*>(buffer.data()), 4, 16), packed,
                             make_view(buffer.data(), 4, 16), pipeline()),
                    Catch::Contains("qsparse::gemm_f16: destination overlaps activations in memory"));
}
