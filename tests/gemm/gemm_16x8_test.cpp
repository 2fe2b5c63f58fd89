// tests/gemm/gemm_16x8_test.cpp — every 16x8 GEMM kernel against reference_gemm_16x8, bit for bit:
// XNNPACK-style edge shapes derived from each kernel's MR/NR/KR, strided operands, full-range inputs and
// a K deep enough (70000) that any int32 accumulation would wrap; every int64 stage; TFLite's 16x8
// fully-connected golden vectors; threads; bad input; the packed format.
#include "qsparse/gemm/gemm_16x8.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "qsparse/core/context.hpp"
#include "qsparse/gemm/reference_16x8.hpp"
#include "support/testing.hpp"

using namespace qsparse;

namespace {

enum class fill { random, low, high, alternating };

template <class T>
std::vector<T> make_values(std::size_t count, fill how, std::mt19937& rng) {
  std::vector<T> v(count);
  constexpr int lo = std::numeric_limits<T>::min();
  constexpr int hi = std::numeric_limits<T>::max();
  std::uniform_int_distribution<int> dist(lo, hi);
  for (std::size_t i = 0; i < count; ++i) {
    switch (how) {
      case fill::random:
        v[i] = static_cast<T>(dist(rng));
        break;
      case fill::low:
        v[i] = static_cast<T>(lo);
        break;
      case fill::high:
        v[i] = static_cast<T>(hi);
        break;
      case fill::alternating:
        v[i] = static_cast<T>((i % 3 == 0) ? lo : hi);
        break;
    }
  }
  return v;
}

// Per-column int64 biases and int64-requantization multipliers from 2^-24 to 2^-6 (outputs span and
// overflow the int16 range).
struct column_params {
  std::vector<std::int64_t> bias;
  std::vector<std::int32_t> multipliers;
  std::vector<int> shifts;
  explicit column_params(std::ptrdiff_t n, std::mt19937& rng) {
    std::uniform_int_distribution<std::int64_t> b(-(std::int64_t{1} << 40), std::int64_t{1} << 40);
    std::uniform_real_distribution<double> e(-24.0, -6.0);
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      bias.push_back(b(rng));
      const quantized_multiplier q = quantize_multiplier(std::exp2(e(rng)));
      multipliers.push_back(q.multiplier);
      shifts.push_back(q.shift);
    }
  }
};

// Runs gemm_16x8 on weights packed for `isa` and reference_gemm_16x8; requires identical outputs
// (including the untouched padding of strided rows).
template <class Pipeline>
void check_case(isa_level isa, std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t n, std::ptrdiff_t lda_extra,
                std::ptrdiff_t ldd_extra, fill how, const Pipeline& pipeline, std::mt19937& rng,
                const context& ctx = context{}) {
  using out_t = typename Pipeline::template output_type_from<std::int64_t>;
  const std::ptrdiff_t lda = k + lda_extra;
  const std::ptrdiff_t ldd = n + ldd_extra;
  auto a = make_values<std::int16_t>(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * lda, 1)), how, rng);
  auto w = make_values<std::int8_t>(static_cast<std::size_t>(k * n), how, rng);
  const auto a_view = make_strided_view(a.data(), {m, k}, {lda, 1});
  const auto w_view = make_view(w.data(), k, n);
  std::vector<out_t> got(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * ldd, 1)), out_t(77));
  std::vector<out_t> want = got;
  const packed_weights_16x8 packed = pack_weights_16x8(w_view, isa);
  gemm_16x8(ctx, a_view, packed, make_strided_view(got.data(), {m, n}, {ldd, 1}), pipeline);
  reference_gemm_16x8(a_view, w_view, make_strided_view(want.data(), {m, n}, {ldd, 1}), pipeline);
  INFO(selected_kernel_name(packed.view()) << " M=" << m << " K=" << k << " N=" << n << " lda=" << lda << " ldd=" << ldd
                                           << " fill=" << static_cast<int>(how));
  REQUIRE(std::memcmp(got.data(), want.data(), got.size() * sizeof(out_t)) == 0);
}

template <class Kernel>
struct family {
  static std::vector<std::ptrdiff_t> ks() {
    std::vector<std::ptrdiff_t> v{1, Kernel::kr, Kernel::kr + 1, 2 * Kernel::kr, 3 * Kernel::kr + 1, 17, 67};
    if (Kernel::kr > 1) v.push_back(Kernel::kr - 1);
    return v;
  }
  static std::vector<std::ptrdiff_t> ms() {
    std::vector<std::ptrdiff_t> v{1, Kernel::mr, Kernel::mr + 1, 2 * Kernel::mr + 3};
    if (Kernel::mr > 2) v.push_back(Kernel::mr - 1);
    return v;
  }
  static std::vector<std::ptrdiff_t> ns() {
    return {1, Kernel::nr / 2 + 1, Kernel::nr - 1, Kernel::nr, Kernel::nr + 1, 2 * Kernel::nr + 7};
  }
};

template <class F>
void for_each_kernel(F&& f) {
  kernels::for_each_kernel(gemm_16x8_kernels{}, f);
}

std::vector<isa_level> exercised;

}  // namespace

TEST_CASE("gemm_16x8: every kernel equals the reference on its edge shapes", "[gemm_16x8][kernels]") {
  std::mt19937 rng(42);
  for_each_kernel([&](auto kernel) {
    using K = decltype(kernel);
    if (!testing::runs_level(K::isa)) return;
    exercised.push_back(K::isa);
    for (auto k : family<K>::ks()) {
      for (auto m : family<K>::ms()) {
        for (auto n : family<K>::ns()) {
          column_params cp(n, rng);
          const auto p = pipeline(bias_add_int64{cp.bias.data()},
                                  requantize_fixed_point_int64_per_channel{cp.multipliers.data(), cp.shifts.data()},
                                  add_zero_point{0}, clamp{-32000, 32767}, saturating_cast<std::int16_t>{});
          check_case(K::isa, m, k, n, 0, 0, fill::random, p, rng);
          check_case(K::isa, m, k, n, 3, 5, fill::random, pipeline(), rng);  // strided, raw int64 sums
        }
      }
    }
  });
  REQUIRE(!exercised.empty());
}

TEST_CASE("gemm_16x8: full-range inputs across the int32 block boundaries, and K = 70000", "[gemm_16x8][range]") {
  std::mt19937 rng(7);
  for (isa_level isa : testing::supported_levels()) {
    column_params cp(33, rng);
    const auto q = pipeline(bias_add_int64{cp.bias.data()},
                            requantize_fixed_point_int64_per_channel{cp.multipliers.data(), cp.shifts.data()},
                            saturating_cast<std::int16_t>{});
    // 510 = 255 pairs is one full int32 block of the SIMD kernels, 511 k one of the scalar kernel.
    for (std::ptrdiff_t k : {509, 510, 511, 512, 1021, 1535}) {
      for (fill how : {fill::low, fill::high, fill::alternating, fill::random}) {
        check_case(isa, 9, k, 33, 1, 2, how, pipeline(), rng);
        check_case(isa, 9, k, 33, 0, 0, how, q, rng);
      }
    }
    // K = 70000 at the extremes: every product is (-32768) * (-128) = 2^22, the sum 70000 * 2^22 =
    // 293601280000, far past int32 (and past 255 pairs per block 137 times over).
    const std::ptrdiff_t m = 3, k = 70000, n = 17;
    std::vector<std::int16_t> a(static_cast<std::size_t>(m * k), std::int16_t{-32768});
    std::vector<std::int8_t> w(static_cast<std::size_t>(k * n), std::int8_t{-128});
    std::vector<std::int64_t> out(static_cast<std::size_t>(m * n));
    const auto packed = pack_weights_16x8(make_view(w.data(), k, n), isa);
    gemm_16x8(context{}, make_view(a.data(), m, k), packed, make_view(out.data(), m, n), pipeline());
    INFO(selected_kernel_name(packed.view()));
    CHECK(std::all_of(out.begin(), out.end(), [](std::int64_t v) { return v == 293601280000; }));
    // The most negative sum: a = -32768 against w = 127 → -70000 * 4161536.
    std::fill(w.begin(), w.end(), std::int8_t{127});
    const auto packed_high = pack_weights_16x8(make_view(w.data(), k, n), isa);
    gemm_16x8(context{}, make_view(a.data(), m, k), packed_high, make_view(out.data(), m, n), pipeline());
    CHECK(std::all_of(out.begin(), out.end(), [](std::int64_t v) { return v == -291307520000; }));
    // Random full-range values at the same depth, requantized, against the reference.
    check_case(isa, 2, 70000, 17, 0, 0, fill::random, q, rng);
  }
}

TEST_CASE("gemm_16x8: every int64 stage combination on every kernel", "[gemm_16x8][stages]") {
  std::mt19937 rng(3);
  const std::ptrdiff_t shapes[][3] = {{1, 1, 1}, {5, 9, 33}, {9, 64, 17}, {17, 5, 70}, {2, 300, 100}};
  for (isa_level isa : testing::supported_levels()) {
    for (const auto& s : shapes) {
      const std::ptrdiff_t m = s[0], k = s[1], n = s[2];
      column_params cp(n, rng);
      const quantized_multiplier one = quantize_multiplier(0.0123);
      check_case(isa, m, k, n, 2, 1, fill::random,
                 pipeline(requantize_fixed_point_int64{one}, add_zero_point{100}, saturating_cast<std::int8_t>{}), rng);
      check_case(isa, m, k, n, 0, 3, fill::random, pipeline(bias_add_int64{cp.bias.data()}), rng);  // int64 out
      check_case(isa, m, k, n, 0, 0, fill::random,
                 pipeline(bias_add_int64{cp.bias.data()},
                          requantize_fixed_point_int64_per_channel{cp.multipliers.data(), cp.shifts.data()}),
                 rng);  // int32 out
      // The largest multiplier the int64 form accepts (shift 7) saturates the int32 result.
      check_case(isa, m, k, n, 0, 0, fill::high,
                 pipeline(requantize_fixed_point_int64{{2147483647, 7}}, saturating_cast<std::int16_t>{}), rng);
      check_case(isa, m, k, n, 0, 0, fill::low,
                 pipeline(requantize_fixed_point_int64{{1 << 30, -31}}, clamp{-5, 5}, saturating_cast<std::int16_t>{}),
                 rng);
    }
  }
}

TEST_CASE("gemm_16x8: the full-multiplier requantization (single_rounding_away) on every kernel",
          "[gemm_16x8][stages]") {
  std::mt19937 rng(4);
  using away = basic_requantize_fixed_point_int64_per_channel<single_rounding_away>;
  const std::ptrdiff_t shapes[][3] = {{1, 1, 1}, {5, 9, 33}, {17, 5, 70}, {2, 300, 100}};
  for (isa_level isa : testing::supported_levels()) {
    for (const auto& s : shapes) {
      const std::ptrdiff_t m = s[0], k = s[1], n = s[2];
      column_params cp(n, rng);
      std::vector<std::int64_t> huge(static_cast<std::size_t>(n));  // sums far beyond 2^47: no bound here
      for (std::size_t i = 0; i < huge.size(); ++i) huge[i] = (std::int64_t{1} << 61) * (i % 2 == 0 ? 1 : -1) + 12345;
      std::vector<std::int32_t> m30(static_cast<std::size_t>(n), 1 << 30);
      std::vector<int> s30(static_cast<std::size_t>(n), -31), s_top(static_cast<std::size_t>(n), 30);
      check_case(isa, m, k, n, 0, 0, fill::random,
                 pipeline(bias_add_int64{cp.bias.data()}, away{cp.multipliers.data(), cp.shifts.data()},
                          saturating_cast<std::int16_t>{}),
                 rng);
      check_case(isa, m, k, n, 1, 2, fill::high,
                 pipeline(bias_add_int64{huge.data()}, away{m30.data(), s30.data()}, saturating_cast<std::int16_t>{}),
                 rng);
      check_case(isa, m, k, n, 0, 0, fill::low,
                 pipeline(bias_add_int64{huge.data()}, away{m30.data(), s_top.data()}, saturating_cast<std::int16_t>{}),
                 rng);  // saturates both ways
    }
  }
  // Validation: the shift range is single rounding's, [-31, 30]; no 2^47 bound on K.
  std::vector<std::int16_t> a(8 * 16);
  std::vector<std::int8_t> w(16 * 24);
  std::vector<std::int16_t> out(8 * 24);
  const auto packed = pack_weights_16x8(make_view(w.data(), 16, 24));
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(
      gemm_16x8(context{}, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                pipeline(basic_requantize_fixed_point_int64<single_rounding_away>{{1 << 30, 31}},
                         saturating_cast<std::int16_t>{})),
      Contains("single_rounding_away") && Contains("shift in [-31, 30]") && Contains("shift = 31"));
  CHECK_NOTHROW(detail::check_16x8_accumulator_bound(
      "f", pipeline(basic_requantize_fixed_point_int64<single_rounding_away>{{1 << 30, 0}}), std::int64_t{1} << 31, 1));
  CHECK_THROWS_WITH(detail::check_16x8_accumulator_bound("f", pipeline(requantize_fixed_point_int64{{1 << 30, 0}}),
                                                         std::int64_t{1} << 31, 1),
                    Contains("2^47"));
}

TEST_CASE("gemm_16x8: TFLite FullyConnected 16x8 golden vectors (from TFLite's kernel tests)", "[gemm_16x8][tflite]") {
  // Input and output scale 128/65536 = 2^-9, zero points 0; weights [N=3][K=10] = the K x N column-major
  // view; float golden [24, 25, 26, 58, 59, 60] → quantized x * 512 = [12288, 12800, 13312, 29696, 30208,
  // 30720].
  const float input_float[2][10] = {{1, 2, 3, 4, 5, 6, 7, 8, -9, -10}, {1, 2, 3, 4, 5, 6, 7, -8, 9, -10}};
  std::vector<std::int16_t> input;  // round(x / 2^-9) = 512 x
  for (const auto& row : input_float) {
    for (float x : row) input.push_back(static_cast<std::int16_t>(x * 512));
  }
  const std::vector<int> golden{12288, 12800, 13312, 29696, 30208, 30720};
  for (isa_level isa : testing::supported_levels()) {
    SECTION(std::string("per-tensor weight scale 1.0 on ") + to_string(isa)) {
      // Weights [1..10] per output; bias round(b / 2^-9) = [512, 1024, 1536]. The multiplier
      // 2^-9 * 1 / 2^-9 = 1.0 = (2^30, shift 1); the int64 form keeps (2^30 + 2^15) >> 16 = 2^14 and
      // computes (acc * 2^14 + 2^13) >> 14 = acc exactly. Row 0: Σ 512 x_i * i = 512 * 23, + 512 = 12288.
      std::vector<std::int8_t> filter;
      for (int o = 0; o < 3; ++o) {
        for (int i = 1; i <= 10; ++i) filter.push_back(static_cast<std::int8_t>(i));
      }
      const std::int64_t bias[3] = {512, 1024, 1536};
      std::int16_t out[6];
      const auto packed = pack_weights_16x8(make_strided_view(filter.data(), {10, 3}, {1, 10}), isa);
      const quantized_multiplier q = quantize_multiplier(1.0);
      REQUIRE(q == quantized_multiplier{1 << 30, 1});
      gemm_16x8(context{}, quantized(make_view(input.data(), 2, 10), 0), packed, make_view(out, 2, 3),
                pipeline(bias_add_int64{bias}, requantize_fixed_point_int64{q}, clamp{-32768, 32767},
                         saturating_cast<std::int16_t>{}));
      CHECK(std::vector<int>(out, out + 6) == golden);
    }
    SECTION(std::string("per-channel weight scales [0.2, 0.25, 0.5] on ") + to_string(isa)) {
      // Weights round(i / scale) = [5i], [4i], [2i]; bias round((o + 1) / (2^-9 * scale)) = [2560, 4096,
      // 3072]; multipliers 2^-9 * scale / 2^-9 = scale: 0.2 = (1717986918, -2), 0.25 = (2^30, -1),
      // 0.5 = (2^30, 0). Channel 0 keeps (1717986918 + 2^15) >> 16 = 26214 and rounds with >> 17:
      //   row 0: acc = 2560 * 23 + 2560 = 61440,  (61440 * 26214 + 2^16) >> 17 = 1610653696 >> 17 = 12288;
      //   row 1: acc = 2560 * 57 + 2560 = 148480, (148480 * 26214 + 2^16) >> 17 = 3892320256 >> 17 = 29696.
      // Channels 1 and 2 are exact: (2048 * 23 + 4096) / 4 = 12800, (1024 * 23 + 3072) / 2 = 13312, and
      // (2048 * 57 + 4096) / 4 = 30208, (1024 * 57 + 3072) / 2 = 30720. All equal the golden values.
      const int factor[3] = {5, 4, 2};
      std::vector<std::int8_t> filter;
      for (int o = 0; o < 3; ++o) {
        for (int i = 1; i <= 10; ++i) filter.push_back(static_cast<std::int8_t>(i * factor[o]));
      }
      const std::int64_t bias[3] = {2560, 4096, 3072};
      const double scales[3] = {0.2, 0.25, 0.5};
      std::int32_t multipliers[3];
      int shifts[3];
      for (int o = 0; o < 3; ++o) {
        const quantized_multiplier q = quantize_multiplier(128.0 / 65536.0 * scales[o] / (128.0 / 65536.0));
        multipliers[o] = q.multiplier;
        shifts[o] = q.shift;
      }
      CHECK(multipliers[0] == 1717986918);
      CHECK(shifts[0] == -2);
      std::int16_t out[6];
      const auto packed = pack_weights_16x8(make_strided_view(filter.data(), {10, 3}, {1, 10}), isa);
      gemm_16x8(context{}, make_view(input.data(), 2, 10), packed, make_view(out, 2, 3),
                pipeline(bias_add_int64{bias}, requantize_fixed_point_int64_per_channel{multipliers, shifts},
                         clamp{-32768, 32767}, saturating_cast<std::int16_t>{}));
      CHECK(std::vector<int>(out, out + 6) == golden);
    }
  }
}

TEST_CASE("gemm_16x8: every thread count and a caller's parallel_for give identical results", "[gemm_16x8][threads]") {
  std::mt19937 rng(11);
  const std::ptrdiff_t m = 37, k = 1029, n = 300;
  auto a = make_values<std::int16_t>(static_cast<std::size_t>(m * k), fill::random, rng);
  auto w = make_values<std::int8_t>(static_cast<std::size_t>(k * n), fill::random, rng);
  column_params cp(n, rng);
  const auto p = pipeline(bias_add_int64{cp.bias.data()},
                          requantize_fixed_point_int64_per_channel{cp.multipliers.data(), cp.shifts.data()},
                          saturating_cast<std::int16_t>{});
  for (isa_level isa : testing::supported_levels()) {
    const auto packed = pack_weights_16x8(make_view(w.data(), k, n), isa);
    std::vector<std::int16_t> single(static_cast<std::size_t>(m * n));
    gemm_16x8(context{}, make_view(a.data(), m, k), packed, make_view(single.data(), m, n), p);
    for (int t : {2, 3, 5}) {
      std::vector<std::int16_t> out(single.size());
      gemm_16x8(context(threads{t}), make_view(a.data(), m, k), packed, make_view(out.data(), m, n), p);
      CHECK(out == single);
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
    std::vector<std::int16_t> out(single.size());
    gemm_16x8(custom, make_view(a.data(), m, k), packed, make_view(out.data(), m, n), p);
    CHECK(out == single);
    CHECK(calls.load() == 1);
  }
}

TEST_CASE("gemm_16x8: the one-off unpacked entry", "[gemm_16x8]") {
  std::mt19937 rng(5);
  auto a = make_values<std::int16_t>(6 * 40, fill::random, rng);
  auto w = make_values<std::int8_t>(40 * 20, fill::random, rng);
  std::vector<std::int64_t> got(6 * 20), want(6 * 20);
  gemm_16x8(context{}, make_view(a.data(), 6, 40), make_view(w.data(), 40, 20), make_view(got.data(), 6, 20),
            pipeline());
  reference_gemm_16x8(make_view(a.data(), 6, 40), make_view(w.data(), 40, 20), make_view(want.data(), 6, 20),
                      pipeline());
  CHECK(got == want);
  // M = 0 is a valid empty product.
  const auto packed = pack_weights_16x8(make_view(w.data(), 40, 20));
  gemm_16x8(context{}, make_view(a.data(), 0, 40), packed, make_view(got.data(), 0, 20), pipeline());
}

TEST_CASE("gemm_16x8: bad input is a qsparse::error naming the argument", "[gemm_16x8][errors]") {
  std::vector<std::int16_t> a(8 * 16, 1);
  std::vector<std::int8_t> w(16 * 24, 1);
  std::vector<std::int16_t> out(8 * 24);
  const auto packed = pack_weights_16x8(make_view(w.data(), 16, 24));
  const auto p = pipeline(requantize_fixed_point_int64{quantize_multiplier(0.5)}, saturating_cast<std::int16_t>{});
  context ctx;
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(gemm_16x8(ctx, make_view(a.data(), 8, 15), packed, make_view(out.data(), 8, 24), p),
                    Contains("K = 15") && Contains("K = 16"));
  CHECK_THROWS_WITH(gemm_16x8(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 23), p),
                    Contains("destination is 8 x 23"));
  CHECK_THROWS_WITH(gemm_16x8(ctx, quantized(make_view(a.data(), 8, 16), 3), packed, make_view(out.data(), 8, 24), p),
                    Contains("zero point 0") && Contains("got 3"));
  CHECK_THROWS_WITH(
      gemm_16x8(ctx, make_strided_view(a.data(), {8, 16}, {1, 8}), packed, make_view(out.data(), 8, 24), p),
      Contains("contiguous along K") && Contains("stride(1) = 8"));
  CHECK_THROWS_WITH(
      gemm_16x8(ctx, make_view(a.data(), 8, 16), packed, make_strided_view(out.data(), {8, 24}, {1, 8}), p),
      Contains("contiguous along N"));
  CHECK_THROWS_WITH(
      gemm_16x8(ctx, make_view(static_cast<std::int16_t*>(nullptr), 8, 16), packed, make_view(out.data(), 8, 24), p),
      Contains("activations must not be null"));
  CHECK_THROWS_WITH(
      gemm_16x8(ctx, make_view(a.data(), 8, 16), packed_weights_16x8_view{}, make_view(out.data(), 8, 24), p),
      Contains("packed weights are empty"));
  CHECK_THROWS_WITH(gemm_16x8(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                              pipeline(requantize_fixed_point_int64{{1 << 30, 8}}, saturating_cast<std::int16_t>{})),
                    Contains("shift in [-31, 7]") && Contains("shift = 8"));
  const std::int32_t bad_m[24] = {1 << 30, -1};
  const int bad_s[24] = {};
  CHECK_THROWS_WITH(
      gemm_16x8(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                pipeline(requantize_fixed_point_int64_per_channel{bad_m, bad_s}, saturating_cast<std::int16_t>{})),
      Contains("multipliers[1] = -1"));
  CHECK_THROWS_WITH(gemm_16x8(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                              pipeline(bias_add_int64{nullptr}, requantize_fixed_point_int64{{1 << 30, 0}},
                                       saturating_cast<std::int16_t>{})),
                    Contains("bias_add_int64.bias must not be null"));
  // A bias that takes the worst-case accumulator past 2^47 before the int64 requantization...
  std::vector<std::int64_t> big_bias(24, 0);
  big_bias[5] = (std::int64_t{1} << 47) - 16 * (std::int64_t{1} << 22);  // exactly 2^47 with K = 16
  CHECK_THROWS_WITH(gemm_16x8(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                              pipeline(bias_add_int64{big_bias.data()}, requantize_fixed_point_int64{{1 << 30, 0}},
                                       saturating_cast<std::int16_t>{})),
                    Contains("K = 16") && Contains("2^47"));
  big_bias[5] -= 1;  // one less is accepted
  gemm_16x8(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
            pipeline(bias_add_int64{big_bias.data()}, requantize_fixed_point_int64{{1 << 30, 0}},
                     saturating_cast<std::int16_t>{}));
  // ... and one that could overflow int64 itself.
  big_bias[5] = std::numeric_limits<std::int64_t>::min();
  std::vector<std::int64_t> raw(8 * 24);
  CHECK_THROWS_WITH(gemm_16x8(ctx, make_view(a.data(), 8, 16), packed, make_view(raw.data(), 8, 24),
                              pipeline(bias_add_int64{big_bias.data()})),
                    Contains("could overflow the int64 accumulator"));
  // K = 2^25 is too deep for the int64 requantization (2^25 * 2^22 = 2^47): rejected before any element is
  // read (shown on the reference, which shares the check; packing 2^25 rows would take a gigabyte).
  {
    const std::int64_t deep_k = std::int64_t{1} << 25;
    std::int16_t one = 0;
    CHECK_THROWS_WITH(
        reference_gemm_16x8(make_view(a.data(), 1, deep_k), make_view(w.data(), deep_k, 1), make_view(&one, 1, 1), p),
        Contains("K = 33554432 is too deep for the int64 requantization"));
    // Raw int64 output has no such limit (only int64's range, which K <= 2^31 cannot leave).
    CHECK_NOTHROW(detail::check_16x8_accumulator_bound("f", pipeline(), std::int64_t{1} << 31, 1));
  }
  // Weights packed for an ISA above the ceiling.
  if (cpu_supports(isa_level::avx2)) {
    const auto avx2_packed = pack_weights_16x8(make_view(w.data(), 16, 24), isa_level::avx2);
    scoped_isa_ceiling ceiling(isa_level::scalar);
    CHECK_THROWS_WITH(gemm_16x8(ctx, make_view(a.data(), 8, 16), avx2_packed, make_view(out.data(), 8, 24), p),
                      Contains("packed for avx2") && Contains("at most scalar"));
  }
  // The reference validates the same way.
  CHECK_THROWS_WITH(
      reference_gemm_16x8(make_view(a.data(), 8, 15), make_view(w.data(), 16, 24), make_view(out.data(), 8, 24), p),
      Contains("K = 15"));
}

TEST_CASE("packed_weights_16x8: layout, sizes and validation of foreign buffers", "[gemm_16x8][packing]") {
  std::vector<std::int8_t> w(5 * 3);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<std::int8_t>(static_cast<int>(i) * 17 - 128);
  for (isa_level isa : {isa_level::scalar, isa_level::avx2, isa_level::avx512, isa_level::avx512_vnni}) {
    const auto packed = pack_weights_16x8(make_view(w.data(), 5, 3), isa);
    const packed_weights_16x8_view& v = packed.view();
    CHECK(v.isa() == isa);
    CHECK(v.k() == 5);
    CHECK(v.n() == 3);
    CHECK(v.size_bytes() == packed_weights_16x8_size(5, 3, isa));
    const layout_geometry g = v.geometry();
    // Only the native architecture's ISAs have kernels here; another's packs the scalar kernel's panels.
    const bool x86_kernel = QSPARSE_X86 && isa != isa_level::scalar;
    CHECK(g.nr == (x86_kernel && isa_runs(isa, isa_level::avx512) ? 32 : 16));
    CHECK(g.kr == (x86_kernel ? 2 : 1));
    CHECK(v.k_padded() == (5 + g.kr - 1) / g.kr * g.kr);
    CHECK(v.n_padded() == g.nr);
    const auto* e = static_cast<const std::int16_t*>(v.panel(0));
    for (int k = 0; k < 5; ++k) {
      for (int n = 0; n < 3; ++n) {
        CHECK(e[((k / g.kr) * g.nr + n) * g.kr + k % g.kr] == w[static_cast<std::size_t>(k * 3 + n)]);
      }
    }
  }
#if QSPARSE_X86  // the rest packs avx2's panels (NR = 16, KR = 2), which only x86-64 builds have kernels for
  // The worked example of packed_weights_16x8.hpp: K = 5, N = 3, avx2 → element (4, 2) at 68, 69 padding.
  const auto avx2 = pack_weights_16x8(make_view(w.data(), 5, 3), isa_level::avx2);
  const auto* e = static_cast<const std::int16_t*>(avx2.view().panel(0));
  CHECK(e[68] == w[4 * 3 + 2]);
  CHECK(e[69] == 0);

  const auto packed = pack_weights_16x8(make_view(w.data(), 5, 3), isa_level::avx2);
  struct alignas(64) block {
    unsigned char b[64];
  };
  std::vector<block> copy((packed.size_bytes() + 63) / 64);
  auto* bytes = reinterpret_cast<unsigned char*>(copy.data());
  std::memcpy(bytes, packed.view().bytes(), packed.size_bytes());
  CHECK(packed_weights_16x8_view::from_bytes(bytes, packed.size_bytes()).n() == 3);
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(packed_weights_16x8_view::from_bytes(bytes, packed.size_bytes() - 1), Contains("shorter than"));
  bytes[4] = 9;  // version
  CHECK_THROWS_WITH(packed_weights_16x8_view::from_bytes(bytes, packed.size_bytes()),
                    Contains("version 9 is not supported"));
  bytes[4] = 1;
  bytes[6] = 0;  // ISA scalar with avx2's NR = 16, KR = 2: a valid buffer that no scalar kernel reads
  {
    const auto foreign = packed_weights_16x8_view::from_bytes(bytes, packed.size_bytes());
    CHECK(std::string(selected_kernel_name(foreign)) == "none");
    std::vector<std::int16_t> a16(5);
    std::vector<std::int64_t> out(3);
    CHECK_THROWS_WITH(gemm_16x8(context{}, make_view(a16.data(), 1, 5), foreign, make_view(out.data(), 1, 3), pipeline()),
                      Contains("no kernel reads panels of NR = 16, KR = 2 for ISA scalar"));
  }
  bytes[6] = 1;
  bytes[12] = 3;  // KR = 3: not a panel geometry
  CHECK_THROWS_WITH(packed_weights_16x8_view::from_bytes(bytes, packed.size_bytes()), Contains("KR = 3"));
  bytes[12] = 2;
  bytes[0] = 0;
  CHECK_THROWS_WITH(packed_weights_16x8_view::from_bytes(bytes, packed.size_bytes()),
                    Contains("not a packed_weights_16x8 buffer"));
  CHECK_THROWS_WITH(pack_weights_16x8(make_view(w.data(), 5, 3), isa_level::scalar, bytes, 64), Contains("needs"));
#endif
  CHECK_THROWS_WITH(pack_weights_16x8(make_view(w.data(), 0, 3)), Catch::Matchers::Contains("K, N >= 1"));
}

TEST_CASE("gemm_16x8: selected_kernel_name names the kernel of each ISA", "[gemm_16x8]") {
  CHECK(std::string(gemm_16x8_kernel_name(isa_level::scalar)) == "gemm_s16s8_s64_1x16c1__scalar");
#if QSPARSE_X86
  CHECK(std::string(gemm_16x8_kernel_name(isa_level::avx2)) == "gemm_s16s8_s64_4x16c2__avx2");
  CHECK(std::string(gemm_16x8_kernel_name(isa_level::avx512)) == "gemm_s16s8_s64_8x32c2__avx512");
  CHECK(std::string(gemm_16x8_kernel_name(isa_level::avx512_vnni)) == "gemm_s16s8_s64_8x32c2__avx512vnni");
#endif
  std::vector<std::int8_t> w(4, 1);
  const auto packed = pack_weights_16x8(make_view(w.data(), 2, 2), isa_level::scalar);
  CHECK(std::string(selected_kernel_name(packed.view())) == "gemm_s16s8_s64_1x16c1__scalar");
}

TEST_CASE("guard: every 16x8 GEMM kernel this CPU supports ran", "[gemm_16x8][guard]") {
  for (isa_level level : testing::supported_levels_with_kernels(kernels::gemm_16x8_kernels{})) {
    INFO("level " << to_string(level));
    CHECK(std::find(exercised.begin(), exercised.end(), level) != exercised.end());
  }
}

TEST_CASE("gemm_16x8: a destination sharing memory with the activations is an error (issue 22)", "[gemm_16x8][errors]") {
  std::vector<std::int8_t> w(16 * 16, 1);
  const auto packed = pack_weights_16x8(make_view(static_cast<const std::int8_t*>(w.data()), 16, 16), best_isa());
  std::vector<std::int64_t> buffer(4 * 16);
  const auto a = make_view(reinterpret_cast<const std::int16_t*>(buffer.data()) + 8, 4, 16);
  CHECK_THROWS_WITH(gemm_16x8(context{}, a, packed, make_view(buffer.data(), 4, 16), pipeline()),
                    Catch::Contains("qsparse::gemm_16x8: destination overlaps activations in memory"));
}
