// tests/gemm/gemm_q4_test.cpp — every registered 4-bit group-wise weight kernel (both registries of
// kernels/gemm_q4_kernels.hpp) alone against reference_gemm_q4 / reference_gemm_q4_f32, bit for bit: edge
// shapes from each kernel's MR (one row, the multi-panel tiles, a short last tile), one group and several,
// N not a multiple of 16, signed and zero-point weights, the extreme values -8 / 7 / 0 / 15, extreme and
// tied activations; strides, threads, the two packers and their orientations, the packed format's
// validation and bad arguments. Kept small: CI runs it in four configurations on two cores.
#include "qsparse/gemm/gemm_q4.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "qsparse/core/context.hpp"
#include "qsparse/gemm/reference_q4.hpp"
#include "qsparse/kernels/range_kernels.hpp"
#include "qsparse/kernels/row_quantize_kernels.hpp"
#include "qsparse/quant/sub_byte.hpp"
#include "support/testing.hpp"

using namespace qsparse;

namespace {

// Quantized weights with their group parameters, K×N (axis 0).
struct q4_weights {
  std::ptrdiff_t k = 0, n = 0, group = 0;
  bool is_signed = true;
  std::vector<std::int8_t> s;   // int4 values (K×N) when signed
  std::vector<std::uint8_t> u;  // uint4 values when unsigned
  std::vector<float> scale;     // [N][K / G]
  std::vector<std::int32_t> zp;  // [N][K / G], or empty (symmetric)
  group_params<float> params() const {
    return {scale.data(), zp.empty() ? nullptr : zp.data(), group, 0, n * (k / group)};
  }
};

// kind 0: random; 1: extremes only (-8 / 7 or 0 / 15); 2: all -8 (or 0), the largest |u - z| for signed.
q4_weights make_weights(std::ptrdiff_t k, std::ptrdiff_t n, std::ptrdiff_t group, bool is_signed, bool zero_points,
                        int kind, std::mt19937& rng) {
  q4_weights w;
  w.k = k;
  w.n = n;
  w.group = group;
  w.is_signed = is_signed;
  std::uniform_int_distribution<int> value(0, 15), bit(0, 1);
  std::normal_distribution<float> log_scale(-4.0f, 1.5f);
  for (std::ptrdiff_t i = 0; i < k * n; ++i) {
    int v = kind == 0 ? value(rng) : (kind == 1 ? 15 * bit(rng) : 0);
    if (is_signed) {
      w.s.push_back(static_cast<std::int8_t>(v - 8));
    } else {
      w.u.push_back(static_cast<std::uint8_t>(v));
    }
  }
  const std::ptrdiff_t groups = n * (k / group);
  for (std::ptrdiff_t i = 0; i < groups; ++i) w.scale.push_back(std::exp(log_scale(rng)));
  if (zero_points) {
    for (std::ptrdiff_t i = 0; i < groups; ++i) w.zp.push_back(is_signed ? value(rng) - 8 : value(rng));
  }
  return w;
}

packed_weights_q4 pack(const q4_weights& w, isa_level isa) {
  if (w.is_signed) return pack_weights_q4(make_view(w.s.data(), w.k, w.n), w.params(), isa);
  return pack_weights_q4(make_view(w.u.data(), w.k, w.n), w.params(), isa);
}

bool same_floats(const std::vector<float>& got, const std::vector<float>& want, std::string& where) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) && std::isnan(want[i])) continue;
    if (testing::to_bits(got[i]) != testing::to_bits(want[i])) {
      where = "index " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", want " + std::to_string(want[i]);
      return false;
    }
  }
  return true;
}

// Runs the kernel selected for `isa` (gemm_q4 when Float is false, else gemm_q4_f32) and the reference.
template <bool Float, class Pipeline>
void check_values(isa_level isa, const q4_weights& w, std::ptrdiff_t m, std::ptrdiff_t lda, std::ptrdiff_t ldd,
                  const std::vector<float>& a, const Pipeline& pipeline, const context& ctx = context{}) {
  const auto a_view = make_strided_view(a.data(), {m, w.k}, {lda, 1});
  std::vector<float> got(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * ldd, 1)), 77.0f);
  std::vector<float> want = got;
  const packed_weights_q4 packed = pack(w, isa);
  const auto got_view = make_strided_view(got.data(), {m, w.n}, {ldd, 1});
  const auto want_view = make_strided_view(want.data(), {m, w.n}, {ldd, 1});
  if constexpr (Float) {
    gemm_q4_f32(ctx, a_view, packed.view(), got_view, pipeline);
  } else {
    gemm_q4(ctx, a_view, packed.view(), got_view, pipeline);
  }
  if (w.is_signed) {
    const auto wv = make_view(w.s.data(), w.k, w.n);
    if constexpr (Float) reference_gemm_q4_f32(a_view, wv, w.params(), want_view, pipeline);
    else reference_gemm_q4(a_view, wv, w.params(), want_view, pipeline);
  } else {
    const auto wv = make_view(w.u.data(), w.k, w.n);
    if constexpr (Float) reference_gemm_q4_f32(a_view, wv, w.params(), want_view, pipeline);
    else reference_gemm_q4(a_view, wv, w.params(), want_view, pipeline);
  }
  std::string where;
  INFO((Float ? gemm_q4_f32_kernel_name(isa) : gemm_q4_kernel_name(isa))
       << " M=" << m << " K=" << w.k << " N=" << w.n << " G=" << w.group << (w.is_signed ? " int4" : " uint4")
       << (w.zp.empty() ? "" : " with zero points") << " lda=" << lda << " ldd=" << ldd);
  const bool same = same_floats(got, want, where);
  INFO(where);
  REQUIRE(same);
}

// Activations: kind 0 normal; 1 one huge value per row (the rest quantize to 0 or +-1) and exact ties;
// 2 the row's extremes +-max only (quantize to +-127); 3 an all-zero row among others.
std::vector<float> make_activations(std::ptrdiff_t m, std::ptrdiff_t lda, int kind, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * lda, 1)));
  for (std::ptrdiff_t r = 0; r < m; ++r) {
    for (std::ptrdiff_t i = 0; i < lda; ++i) {
      float v = normal(rng);
      if (kind == 1) v = i == r % lda ? 1e30f : (static_cast<float>(i % 7) - 3.0f) * 0.5f * (1e30f / 127.0f);
      if (kind == 2) v = (i + r) % 3 == 0 ? -3.0e38f : 3.0e38f;
      if (kind == 3 && r == 0) v = 0.0f;
      a[static_cast<std::size_t>(r * lda + i)] = v;
    }
  }
  return a;
}

std::vector<std::string> ran;

template <bool Float, class K>
void sweep_kernel(std::mt19937& rng) {
  ran.emplace_back(K::name());
  REQUIRE(std::string(Float ? gemm_q4_f32_kernel_name(K::isa) : gemm_q4_kernel_name(K::isa)) == K::name());
  const std::ptrdiff_t ms[] = {1, 2, K::mr, K::mr + 3};
  const std::ptrdiff_t ns[] = {1, 16, 37, 80};  // 80: five panels, the 4-panel tile and one more
  struct kg {
    std::ptrdiff_t k, g;
  };
  const kg kgs[] = {{8, 8}, {64, 32}, {192, 64}};  // one group of the K step, two of 32 (unrolled), three of 64
  int variant = 0;
  for (const kg& shape : kgs) {
    for (std::ptrdiff_t m : ms) {
      for (std::ptrdiff_t n : ns) {
        ++variant;
        const bool is_signed = variant % 3 != 0;
        const bool zero_points = variant % 2 == 0;
        const auto w = make_weights(shape.k, n, shape.g, is_signed, zero_points, variant % 4 == 1 ? 1 : 0, rng);
        const std::vector<float> bias = testing::random_floats(static_cast<std::size_t>(n), 2.0f, 7);
        const auto a = make_activations(m, shape.k + 3, variant % 4, rng);
        check_values<Float>(K::isa, w, m, shape.k + 3, n + 5, a,
                            pipeline(bias_add_float{bias.data()}, clamp_float{-1e30f, 1e30f}));
        check_values<Float>(K::isa, w, m, shape.k, n, make_activations(m, shape.k, 0, rng), pipeline());
      }
    }
  }
  // The largest sums: every weight -8 (u - z = -8) and every activation at the extremes.
  const auto w = make_weights(256, 33, 128, true, false, 2, rng);
  check_values<Float>(K::isa, w, K::mr + 1, 256, 33, make_activations(K::mr + 1, 256, 2, rng), pipeline());
}

}  // namespace

TEST_CASE("gemm_q4: every int8-activation kernel equals the reference bit for bit", "[gemm_q4][kernels]") {
  std::mt19937 rng(27);
  kernels::for_each_kernel(gemm_q4_kernels{}, [&](auto kernel) {
    using K = decltype(kernel);
    if (testing::runs_level(K::isa)) sweep_kernel<false, K>(rng);
  });
}

TEST_CASE("gemm_q4_f32: every float-activation kernel equals the reference bit for bit", "[gemm_q4][kernels]") {
  std::mt19937 rng(28);
  kernels::for_each_kernel(gemm_q4_f32_kernels{}, [&](auto kernel) {
    using K = decltype(kernel);
    if (testing::runs_level(K::isa)) sweep_kernel<true, K>(rng);
  });
  // Infinities, subnormals and signed zeros in the float activations go through the FMA chain unchanged.
  const auto w = make_weights(64, 20, 32, true, true, 0, rng);
  std::vector<float> a = testing::random_floats(3 * 64, 1.0f, 3);
  a[5] = std::numeric_limits<float>::infinity();
  a[70] = std::numeric_limits<float>::denorm_min();
  a[71] = -0.0f;
  a[150] = -std::numeric_limits<float>::max();
  for (isa_level isa : testing::supported_levels()) check_values<true>(isa, w, 3, 64, 20, a, pipeline());
}

TEST_CASE("gemm_q4: many rows (the VNNI kernel's decoded blocks) equal the reference bit for bit",
          "[gemm_q4][kernels]") {
  // 16 rows and more take the decode-once path of the AVX-512 VNNI kernel: whole 8-row tiles over blocks of
  // 512 k (G = 32, K = 1056: blocks of 16, 16 and 1 groups; G = 176: blocks of 2 groups and a last one;
  // G = 1024: one group per block; G = 8 with K % 16 = 8: the repacking's tail), two panels and one left
  // over (N = 37, 33), the rows after the last whole tile by the other path (M = 21, 17); zero points,
  // uint4, extreme weights and activations.
  std::mt19937 rng(31);
  struct cfg {
    std::ptrdiff_t m, k, g, n;
    bool is_signed, zero_points;
    int kind;
  };
  const cfg cfgs[] = {{16, 1056, 32, 37, true, false, 0},  {21, 1056, 32, 48, false, true, 1},
                      {24, 880, 176, 33, false, false, 0}, {17, 2048, 1024, 16, true, true, 0},
                      {40, 264, 8, 20, true, false, 2}};
  for (const cfg& c : cfgs) {
    const auto w = make_weights(c.k, c.n, c.g, c.is_signed, c.zero_points, c.kind, rng);
    const auto a = make_activations(c.m, c.k + 5, c.kind == 2 ? 2 : static_cast<int>(c.m % 4), rng);
    const std::vector<float> bias = testing::random_floats(static_cast<std::size_t>(c.n), 2.0f, 9);
    for (isa_level isa : testing::supported_levels()) {
      check_values<false>(isa, w, c.m, c.k + 5, c.n + 3, a, pipeline(bias_add_float{bias.data()}));
    }
  }
}

TEST_CASE("release_gemm_q4_scratch frees the calling thread's buffers and the next call gives the same bits",
          "[gemm_q4][scratch]") {
  // gemm_q4 keeps its int8 rows, group sums and row scales per thread: a larger call, a smaller one on the
  // grown buffers (their stale tail unread), then again after the release.
  std::mt19937 rng(32);
  const auto w = make_weights(256, 33, 32, true, false, 0, rng);
  const isa_level isa = best_isa();
  check_values<false>(isa, w, 40, 256, 33, make_activations(40, 256, 0, rng), pipeline());
  const std::size_t least = 40 * 256 + 2 * 40 * 8 * sizeof(std::int32_t) + 40 * sizeof(float);
  CHECK(gemm_q4_scratch_bytes() >= least);
  const auto a = make_activations(17, 256, 1, rng);
  check_values<false>(isa, w, 17, 256, 33, a, pipeline());
  release_gemm_q4_scratch();
  REQUIRE(gemm_q4_scratch_bytes() == 0);
  check_values<false>(isa, w, 17, 256, 33, a, pipeline());
  CHECK(gemm_q4_scratch_bytes() >= std::size_t{17 * 256});
  release_gemm_q4_scratch();
}

TEST_CASE("gemm_q4: two threads give the same bits as one", "[gemm_q4][threads]") {
  std::mt19937 rng(29);
  const auto w = make_weights(128, 300, 32, true, false, 0, rng);
  const auto a = make_activations(5, 128, 0, rng);
  const context two(threads{2});
  for (isa_level isa : testing::supported_levels()) {
    check_values<false>(isa, w, 5, 128, 300, a, pipeline(), two);
    check_values<true>(isa, w, 5, 128, 300, a, pipeline(), two);
  }
}

TEST_CASE("gemm_q4's row pass: the checked range and the grouped rounding equal the scalar loops bit for bit",
          "[gemm_q4][kernels]") {
  // Ties at every .5 (and their neighbours) after scaling, extremes, normal values; groups of 8 (the AVX-512 half vector), 24 (one
  // vector and a half), 32 and 128; rows with a non-finite value at the start, in the unrolled body, in the
  // 16-step loop and in the masked or scalar tail.
  std::mt19937 rng(41);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> x;
  for (int j = -100; j <= 100; ++j) {  // ties, and the floats next to them (the SIMD rounding adds 0.49999997)
    const float tie = static_cast<float>(j) * 0.5f;
    x.insert(x.end(), {tie, std::nextafter(tie, -1000.0f), std::nextafter(tie, 1000.0f)});
  }
  for (int j = 0; j < 421; ++j) x.push_back(normal(rng));  // 1024 values in all
  std::vector<std::string> ran_rows, ran_ranges;
  for (const std::ptrdiff_t group : {8, 24, 32, 128}) {
    for (const std::ptrdiff_t k : {group, 3 * group, (1024 / group) * group}) {
      for (const float inverse : {1.0f, 0.73f, 127.0f / 150.0f}) {
        const std::size_t groups = static_cast<std::size_t>(k / group);
        std::vector<std::int8_t> want(static_cast<std::size_t>(k) + 1, 55);
        std::vector<std::int32_t> want_sums(groups + 1, -1);
        kernels::scalar::quantize_row_group_sums(x.data(), k, inverse, want.data(), group, want_sums.data());
        std::vector<std::int8_t> plain(want.size(), 55);
        kernels::scalar::quantize_row_round_away(x.data(), k, inverse, 0.0f, plain.data(), -127);
        REQUIRE(plain == want);
        for (std::size_t g = 0; g < groups; ++g) {
          std::int32_t s = 0;
          for (std::ptrdiff_t i = 0; i < group; ++i) s += want[g * static_cast<std::size_t>(group) + static_cast<std::size_t>(i)];
          REQUIRE(want_sums[g] == s);
        }
        kernels::for_each_kernel(kernels::row_quantize_kernels{}, [&](auto kernel) {
          using K = decltype(kernel);
          if (!testing::runs_level(K::isa) || !kernels::cpu_has_kernel_extensions<K>()) return;
          if (std::find(ran_rows.begin(), ran_rows.end(), K::name()) == ran_rows.end()) ran_rows.emplace_back(K::name());
          std::vector<std::int8_t> got(want.size(), 55);
          std::vector<std::int32_t> got_sums(want_sums.size(), -1);
          K::quantize_row_group_sums(x.data(), k, inverse, got.data(), group, got_sums.data());
          INFO(K::name() << " k = " << k << " group = " << group << " inverse = " << inverse);
          REQUIRE(got == want);  // the value after the row untouched too
          REQUIRE(got_sums == want_sums);
        });
      }
    }
  }
  testing::require_every_kernel_ran(kernels::row_quantize_kernels{}, ran_rows);

  const float inf = std::numeric_limits<float>::infinity();
  for (const std::ptrdiff_t n : {1, 7, 8, 15, 16, 17, 40, 64, 100, 1024}) {
    for (const std::ptrdiff_t bad_at : {-1, 0, 5, 9, 20, 63, 70, 99, 1000}) {
      for (const float bad : {inf, -inf, std::numeric_limits<float>::quiet_NaN()}) {
        const std::ptrdiff_t from = n <= 600 ? 300 - n / 2 : 0;  // around 0, or the whole row
        std::vector<float> y(x.begin() + from, x.begin() + from + n);
        if (bad_at >= n) continue;
        if (bad_at >= 0) y[static_cast<std::size_t>(bad_at)] = bad;
        float want_lo = 3.0f, want_hi = -inf;  // a bound held from before stays when it is the tighter
        const bool want = kernels::scalar::finite_range_checked(y.data(), n, want_lo, want_hi);
        REQUIRE(want == (bad_at < 0));
        kernels::for_each_kernel(kernels::range_kernels{}, [&](auto kernel) {
          using K = decltype(kernel);
          if (!testing::runs_level(K::isa) || !kernels::cpu_has_kernel_extensions<K>()) return;
          if (std::find(ran_ranges.begin(), ran_ranges.end(), K::name()) == ran_ranges.end()) ran_ranges.emplace_back(K::name());
          float lo = 3.0f, hi = -inf, plain_lo = 3.0f, plain_hi = -inf;
          const bool got = K::finite_range_checked(y.data(), n, lo, hi);
          K::finite_range(y.data(), n, plain_lo, plain_hi);
          INFO(K::name() << " n = " << n << " bad at " << bad_at << " = " << bad);
          REQUIRE(got == want);
          REQUIRE(std::memcmp(&lo, &want_lo, sizeof lo) == 0);
          REQUIRE(std::memcmp(&hi, &want_hi, sizeof hi) == 0);
          REQUIRE(std::memcmp(&lo, &plain_lo, sizeof lo) == 0);
          REQUIRE(std::memcmp(&hi, &plain_hi, sizeof hi) == 0);
        });
      }
    }
  }
  testing::require_every_kernel_ran(kernels::range_kernels{}, ran_ranges);

  // The entry names the first non-finite activation of the first row that has one, in the tail or the body.
  std::mt19937 wrng(42);
  const auto w = make_weights(136, 20, 8, true, false, 0, wrng);
  const packed_weights_q4 packed = pack_weights_q4(make_view(w.s.data(), 136, 20), w.params());
  for (const std::ptrdiff_t at : {0, 70, 130, 135}) {
    std::vector<float> a(3 * 136, 0.25f), dst(3 * 20);
    a[static_cast<std::size_t>(136 + at)] = -inf;
    a[static_cast<std::size_t>(2 * 136 + 1)] = inf;
    std::string message;
    try {
      gemm_q4(context{}, make_view(a.data(), 3, 136), packed.view(), make_view(dst.data(), 3, 20), pipeline());
    } catch (const qsparse::error& e) {
      message = e.what();
    }
    CHECK_THAT(message, Catch::Contains("activations must be finite, got a(1, " + std::to_string(at) + ") = -inf"));
  }
}

TEST_CASE("guard: every 4-bit weight kernel this CPU supports ran", "[gemm_q4][guard]") {
  testing::require_every_kernel_ran(gemm_q4_kernels{}, ran);
  testing::require_every_kernel_ran(gemm_q4_f32_kernels{}, ran);
}

TEST_CASE("pack_weights_q4: K x N, N x K and packed sub-byte inputs give the same bytes", "[gemm_q4][packing]") {
  std::mt19937 rng(30);
  const std::ptrdiff_t k = 64, n = 21, g = 32;
  for (bool is_signed : {true, false}) {
    const auto w = make_weights(k, n, g, is_signed, !is_signed, 0, rng);
    const packed_weights_q4 a = pack(w, isa_level::scalar);
    // N x K (PyTorch / TFLite order) with the same parameters on axis 1, one value per byte and packed.
    group_params<float> p1 = w.params();
    p1.axis = 1;
    std::vector<std::int8_t> s_nk(static_cast<std::size_t>(k * n));
    std::vector<std::uint8_t> u_nk(static_cast<std::size_t>(k * n));
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(n * packed_bytes<int4>(k)));
    for (std::ptrdiff_t kk = 0; kk < k; ++kk) {
      for (std::ptrdiff_t c = 0; c < n; ++c) {
        const auto i = static_cast<std::size_t>(kk * n + c), j = static_cast<std::size_t>(c * k + kk);
        if (is_signed) s_nk[j] = w.s[i]; else u_nk[j] = w.u[i];
      }
    }
    const packed_weights_q4 b = is_signed ? pack_weights_q4(make_view(s_nk.data(), n, k), p1, isa_level::scalar)
                                          : pack_weights_q4(make_view(u_nk.data(), n, k), p1, isa_level::scalar);
    REQUIRE(a.size_bytes() == b.size_bytes());
    CHECK(std::memcmp(a.view().bytes(), b.view().bytes(), a.size_bytes()) == 0);
    packed_weights_q4 c;
    if (is_signed) {
      sub_byte_view<int4, std::uint8_t> q(bytes.data(), n, k, 1);
      for (std::ptrdiff_t r = 0; r < n; ++r)
        for (std::ptrdiff_t kk = 0; kk < k; ++kk) q.set(r, kk, s_nk[static_cast<std::size_t>(r * k + kk)]);
      c = pack_weights_q4(sub_byte_view<int4, const std::uint8_t>(bytes.data(), n, k, 1), p1, isa_level::scalar);
    } else {
      sub_byte_view<uint4, std::uint8_t> q(bytes.data(), n, k, 1);
      for (std::ptrdiff_t r = 0; r < n; ++r)
        for (std::ptrdiff_t kk = 0; kk < k; ++kk) q.set(r, kk, u_nk[static_cast<std::size_t>(r * k + kk)]);
      c = pack_weights_q4(sub_byte_view<uint4, const std::uint8_t>(bytes.data(), n, k, 1), p1, isa_level::scalar);
    }
    CHECK(std::memcmp(a.view().bytes(), c.view().bytes(), a.size_bytes()) == 0);
    // The view reads back what was packed.
    for (std::ptrdiff_t kk = 0; kk < k; ++kk) {
      for (std::ptrdiff_t col = 0; col < n; ++col) {
        const int q = is_signed ? w.s[static_cast<std::size_t>(kk * n + col)] + 8 : w.u[static_cast<std::size_t>(kk * n + col)];
        REQUIRE(a.view().stored_value(kk, col) == q);
      }
    }
    CHECK(a.view().has_zero_points() == !is_signed);
  }
}

namespace {
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const qsparse::error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("gemm_q4: bad arguments and corrupt buffers are qsparse::error naming the value", "[gemm_q4][errors]") {
  std::mt19937 rng(31);
  auto w = make_weights(96, 20, 32, true, false, 0, rng);
  CHECK_THAT(error_of([&] {
               auto p = w.params();
               p.group_size = 12;
               p.groups = 20 * 8;
               pack_weights_q4(make_view(w.s.data(), 96, 20), p);
             }),
             Catch::Contains("group size 12"));
  CHECK_THAT(error_of([&] {
               auto p = w.params();
               p.group_size = 64;  // does not divide 96
               p.groups = 20;
               pack_weights_q4(make_view(w.s.data(), 96, 20), p);
             }),
             Catch::Contains("group size 64 does not divide K = 96"));
  w.s[7] = 8;
  CHECK_THAT(error_of([&] { pack_weights_q4(make_view(w.s.data(), 96, 20), w.params()); }),
             Catch::Contains("weight (0, 7) is 8"));
  w.s[7] = 0;
  w.scale[3] = std::numeric_limits<float>::infinity();
  CHECK_THAT(error_of([&] { pack_weights_q4(make_view(w.s.data(), 96, 20), w.params()); }),
             Catch::Contains("scale of group 0 of column 1"));
  w.scale[3] = 0.5f;

  const packed_weights_q4 packed = pack_weights_q4(make_view(w.s.data(), 96, 20), w.params());
  std::vector<float> a(2 * 96, 1.0f), dst(2 * 20);
  a[100] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THAT(error_of([&] { gemm_q4(context{}, make_view(a.data(), 2, 96), packed.view(), make_view(dst.data(), 2, 20), pipeline()); }),
             Catch::Contains("activations must be finite, got a(1, 4)"));
  CHECK_THAT(error_of([&] { gemm_q4(context{}, make_view(a.data(), 2, 95), packed.view(), make_view(dst.data(), 2, 20), pipeline()); }),
             Catch::Contains("K = 95"));
  CHECK_THAT(error_of([&] { gemm_q4_f32(context{}, make_view(a.data(), 2, 96), packed.view(), make_view(dst.data(), 2, 19), pipeline()); }),
             Catch::Contains("expected M x N = 2 x 20"));

  // from_bytes: every field and every byte that can be wrong.
  const std::size_t size = packed.size_bytes();
  auto corrupt = [&](std::size_t offset, unsigned char value, std::size_t bytes) {
    auto* copy = static_cast<unsigned char*>(::operator new(size, std::align_val_t{64}));
    std::memcpy(copy, packed.view().bytes(), size);
    copy[offset] = value;
    const std::string e = error_of([&] { packed_weights_q4_view::from_bytes(copy, bytes); });
    ::operator delete(copy, std::align_val_t{64});
    return e;
  };
  CHECK(corrupt(0, 0, size) == corrupt(0, 0, size));  // deterministic
  CHECK_THAT(corrupt(0, 0, size), Catch::Contains("not a packed_weights_q4 buffer"));
  CHECK_THAT(corrupt(4, 9, size), Catch::Contains("version 9 is not supported"));
  CHECK_THAT(corrupt(7, 2, size), Catch::Contains("unknown flags"));
  CHECK_THAT(corrupt(32, 40, size), Catch::Contains("group size 40 does not divide K = 96"));
  CHECK_THAT(corrupt(32, 12, size), Catch::Contains("group size 12 is not supported"));
  CHECK_THAT(corrupt(1, 1, size - 1) , Catch::Contains("not a packed_weights_q4"));
  CHECK_THAT(corrupt(8, 16, size - 1), Catch::Contains("shorter than the"));
  // Scale of column 0, group 0 of panel 0 (offset 64 + 8 G): a NaN is refused.
  CHECK_THAT(corrupt(64 + 8 * 32 + 3, 0x7F, size), Catch::Contains("scale of group 0 of column 0"));
  CHECK_THAT(corrupt(64 + 8 * 32 + 3, 0xFF, size), Catch::Contains("positive and finite"));
  // Second panel (columns 16..19): column 20's nibbles are padding.
  const std::size_t panel1 = 64 + static_cast<std::size_t>(packed.view().panel_bytes());
  CHECK_THAT(corrupt(panel1 + 4 * 4, 1, size), Catch::Contains("padding column nibbles of panel 1"));
  CHECK_THAT(corrupt(panel1 + 8 * 32 + 4 * 5, 1, size), Catch::Contains("scale of padding column 21"));
  CHECK(corrupt(panel1 + 5, 0x33, size) == "no error");  // a real column's nibbles may be anything
}
