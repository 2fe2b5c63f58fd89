// tests/gemm/gemm_test.cpp — every int8 GEMM kernel against reference_gemm, bit for bit: XNNPACK-style
// edge shapes derived from each kernel's MR/NR/KR, strided operands, full-range and extreme zero
// points, every output stage; TFLite's golden fully-connected vectors; threads; bad input.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/core/context.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/reference.hpp"
#include "support/column_params.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using qsparse::testing::column_params;

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
      case fill::random: v[i] = static_cast<T>(dist(rng)); break;
      case fill::low: v[i] = static_cast<T>(lo); break;
      case fill::high: v[i] = static_cast<T>(hi); break;
      case fill::alternating: v[i] = static_cast<T>((i % 3 == 0) ? lo : hi); break;
    }
  }
  return v;
}


// Runs gemm on packed weights for `isa` and reference_gemm; requires equal outputs (padding untouched).
// With a Kernel (a gemm_kernels entry), packs its layout and runs that kernel alone on the whole problem,
// or does nothing when the kernel does not take these weights (kernels::gemm_kernel_accepts).
template <class A, class Kernel = void, class Pipeline>
void check_case(isa_level isa, std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t n, std::ptrdiff_t lda_extra,
                std::ptrdiff_t ldd_extra, std::int32_t a_zp, std::int32_t w_zp, fill how, const Pipeline& pipeline,
                std::mt19937& rng) {
  using out_t = typename Pipeline::output_type;
  const std::ptrdiff_t lda = k + lda_extra;
  const std::ptrdiff_t ldd = n + ldd_extra;
  auto a = make_values<A>(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * lda, 1)), how, rng);
  auto w = make_values<std::int8_t>(static_cast<std::size_t>(k * n), how == fill::alternating ? fill::random : how, rng);
  const auto a_view = make_strided_view(a.data(), {m, k}, {lda, 1});
  const auto w_view = make_view(w.data(), k, n);
  std::vector<out_t> got(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * ldd, 1)), out_t(77));
  std::vector<out_t> want = got;
  context ctx;
  const char* kernel_name = nullptr;
  if constexpr (std::is_void_v<Kernel>) {
    const packed_weights packed = pack_weights(w_view, w_zp, isa);
    gemm(ctx, quantized(a_view, a_zp), packed, make_strided_view(got.data(), {m, n}, {ldd, 1}), pipeline);
    kernel_name = selected_kernel_name(packed.view());
  } else {
    const packed_weights packed = pack_weights(w_view, w_zp, Kernel::isa, Kernel::layout);
    if (!kernels::gemm_kernel_accepts<Kernel>(packed.view())) return;
    if (m > 0) {
      const kernels::gemm_args<A, out_t> g{a.data(), lda, a_zp, m, k, n, packed.view(), got.data(), ldd};
      qsparse::detail::run_gemm_tasks<Kernel>(ctx, g, pipeline);
    }
    kernel_name = Kernel::name();
  }
  reference_gemm(quantized(a_view, a_zp), quantized(w_view, w_zp), make_strided_view(want.data(), {m, n}, {ldd, 1}),
                 pipeline);
  INFO(kernel_name << " M=" << m << " K=" << k << " N=" << n << " lda=" << lda << " ldd=" << ldd
                                 << " a_zp=" << a_zp << " w_zp=" << w_zp << " fill=" << static_cast<int>(how));
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
    // 8 * mr + 5 crosses the VNNI family's block of 8 tiles.
    std::vector<std::ptrdiff_t> v{1, Kernel::mr, Kernel::mr + 1, 2 * Kernel::mr + 3, 8 * Kernel::mr + 5};
    if (Kernel::mr > 2) v.push_back(Kernel::mr - 1);
    return v;
  }
  static std::vector<std::ptrdiff_t> ns() {
    return {1, Kernel::nr / 2 + 1, Kernel::nr - 1, Kernel::nr, Kernel::nr + 1, 2 * Kernel::nr + 7};
  }
};

template <class F>
void for_each_kernel(F&& f) {
  kernels::for_each_kernel(gemm_kernels{}, f);
}

std::vector<isa_level> exercised;
std::vector<std::string> exercised_kernels;

}  // namespace

TEST_CASE("gemm: every kernel equals the reference on its edge shapes (requantized int8 output)", "[gemm][kernels]") {
  std::mt19937 rng(42);
  for_each_kernel([&](auto kernel) {
    using K = decltype(kernel);
    if (!testing::runs_level(K::isa) || !kernels::cpu_has_kernel_extensions<K>()) return;
    exercised.push_back(K::isa);
    exercised_kernels.push_back(K::name());
    for (auto k : family<K>::ks()) {
      for (auto m : family<K>::ms()) {
        for (auto n : family<K>::ns()) {
          column_params cp(n, rng);
          const auto p = pipeline(bias_add{cp.bias.data()},
                                  requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(), cp.shifts.data()},
                                  add_zero_point{-7}, clamp{-120, 127}, saturating_cast<std::int8_t>{});
          check_case<std::int8_t, K>(K::isa, m, k, n, 0, 0, -3, 0, fill::random, p, rng);
          check_case<std::uint8_t, K>(K::isa, m, k, n, 3, 5, 131, 4, fill::random, p, rng);
          // Symmetric weights: uint8 rows (and shallow int8 rows) are read in place, up to whole k groups.
          check_case<std::uint8_t, K>(K::isa, m, k, n, 1, 0, 255, 0, fill::random, p, rng);
        }
      }
    }
  });
  REQUIRE(!exercised.empty());
}

#if QSPARSE_X86
TEST_CASE("gemm: deep int8 rows read in place and copied give the reference's bits (VNNI)", "[gemm][kernels]") {
  if (!testing::runs_level(isa_level::avx512_vnni)) {
    WARN("AVX-512 VNNI not available on this CPU or above QSPARSE_ISA_CEILING: its int8 row paths are not exercised");
    return;
  }
  using kernels::avx512_vnni::int8_rows;
  std::mt19937 rng(11);
  for (int8_rows rows : {int8_rows::in_place, int8_rows::copy, int8_rows::automatic}) {
    kernels::avx512_vnni::scoped_int8_rows path(rows);
    for (std::ptrdiff_t k : {65, 67, 68, 131, 579}) {
      for (std::ptrdiff_t m : {1, 3, 8, 9, 69}) {
        for (std::ptrdiff_t n : {1, 33, 64}) {
          column_params cp(n, rng);
          const auto fixed = cp.int8_pipeline(-7);
          const auto scaled = cp.float_int8_pipeline(-7);
          check_case<std::int8_t>(isa_level::avx512_vnni, m, k, n, 0, 0, -3, 0, fill::random, fixed, rng);
          check_case<std::int8_t>(isa_level::avx512_vnni, m, k, n, 5, 3, 127, 0, fill::random, scaled, rng);
          check_case<std::int8_t>(isa_level::avx512_vnni, m, k, n, 0, 0, -128, 0, fill::high, scaled, rng);
          check_case<std::int8_t>(isa_level::avx512_vnni, m, k, n, 1, 0, 127, 0, fill::low, pipeline(), rng);
        }
      }
    }
  }
}
#endif

#if QSPARSE_X86
TEST_CASE("gemm: the shallow kernel clamps in its packs only where that gives the same bits (VNNI)",
          "[gemm][kernels]") {
  // K <= 32 with symmetric weights runs the shallow kernel. On 32 whole columns of a pipeline that ends
  // in all of int8 / uint8, it lets the saturating packs clamp when bound * scale <= 2^30 and
  // |zero point| <= 32767 - 256; anything else takes the float clamps. The full-range fills saturate
  // both ways. The last two pipelines would go wrong in the packs: an accumulator times 16384 passes
  // 2^31, and 32767 - 32700 is inside uint8 where a larger value minus 32700 is not. N = 45 ends in a
  // partial panel (the fast path) and ldd = N + 3 strides the output.
  if (!testing::runs_level(isa_level::avx512_vnni)) {
    WARN("AVX-512 VNNI not available on this CPU or above QSPARSE_ISA_CEILING: its shallow kernel is not exercised");
    return;
  }
  const isa_level isa = isa_level::avx512_vnni;
  std::mt19937 rng(43);
  for (std::ptrdiff_t k : {5, 27, 32}) {
    for (std::ptrdiff_t m : {1, 4, 7, 37}) {
      for (std::ptrdiff_t n : {32, 45, 64}) {
        column_params cp(n, rng);
        for (fill how : {fill::random, fill::low, fill::high, fill::alternating}) {
          for (std::int32_t zp : {-128, 0, 127}) {
            const auto p = pipeline(bias_add{cp.bias.data()}, requantize_float_per_channel{cp.scales.data()},
                                    add_zero_point{zp}, saturating_cast<std::int8_t>{});
            check_case<std::int8_t>(isa, m, k, n, 0, 0, -3, 0, how, p, rng);
            check_case<std::uint8_t>(isa, m, k, n, 1, 3, 128, 0, how, p, rng);
          }
          check_case<std::int8_t>(isa, m, k, n, 0, 0, 5, 0, how, cp.float_int8_pipeline(-9), rng);
          check_case<std::int8_t>(isa, m, k, n, 2, 0, 5, 0, how,
                                  pipeline(requantize_float_per_channel{cp.scales.data()}, add_zero_point{200},
                                           saturating_cast<std::uint8_t>{}),
                                  rng);
          check_case<std::int8_t>(isa, m, k, n, 0, 0, -128, 0, how,
                                  pipeline(requantize_float{16384.0f}, add_zero_point{0}, saturating_cast<std::int8_t>{}),
                                  rng);
          check_case<std::uint8_t>(isa, m, k, n, 0, 0, 0, 0, how,
                                   pipeline(requantize_float{1.0f}, add_zero_point{-32700}, saturating_cast<std::uint8_t>{}),
                                   rng);
        }
      }
    }
  }
}
TEST_CASE("gemm: the shallow kernel's 64-bit fixed point with packs that clamp gives TFLite's bits (VNNI)",
          "[gemm][kernels]") {
  // TFLite's pipeline (bias, double-rounding per-channel requantization, zero point, all of int8 or
  // uint8) on 32 whole columns with every right shift r in [0, 31] and no left shift runs in 64-bit lanes
  // with the zero point folded in when |zp| 2^(31+r) <= 2^61 (avx512::prepare_fixed_point_packs). The
  // multipliers 2^-22 .. 2^-0.01 take that form with any 8-bit zero point; 2^-31 .. 2^-20 take it only
  // for small zero points (the rest of those panels run the 32-bit form); 2^-6 .. 2^3 have left shifts,
  // and the ReLU clamp is not the full range (both the 32-bit form). K = 5 keeps many outputs unclamped
  // (ties of both roundings); N = 45 ends in a partial panel, ldd = N + 3 strides the output.
  if (!testing::runs_level(isa_level::avx512_vnni)) {
    WARN("AVX-512 VNNI not available on this CPU or above QSPARSE_ISA_CEILING: its shallow kernel is not exercised");
    return;
  }
  const isa_level isa = isa_level::avx512_vnni;
  std::mt19937 rng(44);
  const testing::column_ranges ranges[] = {{100000, -22.0, -0.01, false}, {1000, -31.0, -20.0, false},
                                           {1000, -6.0, 3.0, false}};
  for (std::ptrdiff_t k : {5, 27, 32}) {
    for (std::ptrdiff_t m : {1, 4, 7, 37}) {
      for (std::ptrdiff_t n : {32, 45, 64}) {
        for (const testing::column_ranges& range : ranges) {
          column_params cp(n, rng, range);
          const requantize_fixed_point_per_channel<double_rounding> rq{cp.multipliers.data(), cp.shifts.data()};
          for (fill how : {fill::random, fill::low, fill::high, fill::alternating}) {
            for (std::int32_t zp : {-128, -1, 0, 3, 127}) {
              const auto p = pipeline(bias_add{cp.bias.data()}, rq, add_zero_point{zp}, saturating_cast<std::int8_t>{});
              check_case<std::int8_t>(isa, m, k, n, 0, 0, -3, 0, how, p, rng);
              check_case<std::uint8_t>(isa, m, k, n, 1, 3, 128, 0, how, p, rng);
            }
            check_case<std::int8_t>(isa, m, k, n, 0, 0, 5, 0, how, cp.int8_pipeline(-128), rng);
            check_case<std::int8_t>(isa, m, k, n, 2, 0, 5, 0, how,
                                    pipeline(rq, add_zero_point{200}, saturating_cast<std::uint8_t>{}), rng);
            check_case<std::int8_t>(isa, m, k, n, 0, 0, 5, 0, how,
                                    pipeline(bias_add{cp.bias.data()}, rq, add_zero_point{-9}, clamp{-9, 127},
                                             saturating_cast<std::int8_t>{}),
                                    rng);
          }
        }
      }
    }
  }
}
#endif

namespace {

/// Per-column multipliers and shifts at the edges of the 64-bit fixed-point form (avx512::
/// prepare_fixed_point_packs, avx2::prepare_fixed_point_form), which a whole panel takes or refuses:
///  variant 1, taken by every rounding: multipliers just above 2^30, 3 * 2^29 and 2^31 - 2^29 (many exact
///    ties for small accumulators), INT32_MAX; right shifts 1, 2, 3, 7, 12, 20;
///  variant 2, taken by double_rounding_up and single_rounding only: also 2^30, 1 and 0 (double_rounding's
///    correction needs M > 2^30, single_rounding_away's M > 0);
///  variant 3, refused by every rounding (the 32-bit form): right shifts 30 and 31 with the zero points
///    below, none, and a left shift.
struct edge_columns {
  std::vector<std::int32_t> bias, multipliers;
  std::vector<int> shifts;
  edge_columns(std::ptrdiff_t n, std::mt19937& rng, int bias_bound, int variant) {
    const std::int32_t common[] = {(1 << 30) + 1, 3 << 29, INT32_MAX - (1 << 29), INT32_MAX, 1717986918, (1 << 30) + 3};
    const std::int32_t extra[] = {1 << 30, 1, 0};
    const int accepted[] = {-1, -2, -3, -7, -12, -20, -1, -2, -3, -2, -1};
    const int refused[] = {-30, -31, 0, 1, -1, -2, -30};
    std::uniform_int_distribution<int> b(-bias_bound, bias_bound);
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      const auto u = static_cast<std::size_t>(i);
      multipliers.push_back(variant == 2 && u % 4 == 3 ? extra[u / 4 % 3] : common[u % 6]);
      shifts.push_back(variant == 3 ? refused[u % 7] : accepted[u % 11]);
      bias.push_back(b(rng));
    }
  }
};

// One rounding R with int8 activations and, when WithUint8, uint8 ones too: the activation type changes
// the kernels' input handling only, not the epilogue, so one rounding covers it (and keeps this test's
// instantiations, each a whole kernel registry, to five).
template <class R, bool WithUint8>
void check_fixed_point_forms(isa_level isa, std::mt19937& rng) {
  // K <= 32 with symmetric weights runs the VNNI shallow kernel, deeper K and weight zero points the 8x32
  // tile; N = 32 and 64 are whole panels (packs clamp), 45 ends in a partial one (clamp, masked stores).
  for (std::ptrdiff_t k : {5, 27, 100}) {
    for (std::ptrdiff_t n : {32, 45, 64}) {
      for (int edges = 0; edges < 4; ++edges) {
        column_params cp(n, rng, testing::column_ranges{100000, -24.0, -0.5, false});
        edge_columns ec(n, rng, 50, edges);
        const std::int32_t* bias = edges ? ec.bias.data() : cp.bias.data();
        const requantize_fixed_point_per_channel<R> rq{edges ? ec.multipliers.data() : cp.multipliers.data(),
                                                       edges ? ec.shifts.data() : cp.shifts.data()};
        for (fill how : {fill::random, fill::low, fill::high, fill::alternating}) {
          // All of int8 (the packs clamp) and a ReLU6-style clamp inside it (vpmaxsd / vpminsd): one type.
          for (std::int32_t zp : {-128, -5, 127}) {
            const std::int32_t lo = zp == -5 ? -20 : -128, hi = zp == -5 ? 90 : 127;
            const auto p = pipeline(bias_add{bias}, rq, add_zero_point{zp}, clamp{lo, hi}, saturating_cast<std::int8_t>{});
            check_case<std::int8_t>(isa, 9, k, n, 0, 3, -3, 0, how, p, rng);
            if constexpr (WithUint8) check_case<std::uint8_t>(isa, 5, k, n, 1, 0, 128, 0, how, p, rng);
            check_case<std::int8_t>(isa, 9, k, n, 0, 0, 7, -2, how, p, rng);
          }
        }
      }
    }
  }
  // Accumulators near and beyond 2^30 (the 64-bit form is refused there; the 32-bit form runs).
  column_params big(32, rng, testing::column_ranges{1000, -31.0, -20.0, false});
  const requantize_fixed_point_per_channel<R> rq{big.multipliers.data(), big.shifts.data()};
  // With a_zp = -128, all-high rows give 255 * 127 * K: just below 2^30 at K = 32000, above at 40000.
  const auto p = pipeline(bias_add{big.bias.data()}, rq, add_zero_point{3}, clamp{-128, 127}, saturating_cast<std::int8_t>{});
  check_case<std::int8_t>(isa, 2, 32000, 32, 0, 0, -128, 0, fill::high, p, rng);
  check_case<std::int8_t>(isa, 2, 40000, 32, 0, 0, -128, 0, fill::high, p, rng);
  check_case<std::int8_t>(isa, 2, 40000, 32, 0, 0, -128, 0, fill::alternating, p, rng);
}

}  // namespace

TEST_CASE("gemm: TFLite's four roundings in 64-bit lanes give the scalar stages' bits at their edges", "[gemm][kernels]") {
  // The VNNI kernels' 64-bit fixed point with the zero point folded in (avx512::fixed_point_offset): every
  // rounding, edge multipliers and shifts, exact ties, accumulators at the 2^30 limit, every ISA.
  std::mt19937 rng(45);
  for (isa_level isa : testing::supported_levels()) {
    check_fixed_point_forms<double_rounding, true>(isa, rng);
    check_fixed_point_forms<double_rounding_up, false>(isa, rng);
    check_fixed_point_forms<single_rounding, false>(isa, rng);
    check_fixed_point_forms<single_rounding_away, false>(isa, rng);
  }
}

TEST_CASE("gemm: TFLite's fixed point prepared once per call or panel gives the reference's bits", "[gemm][tflite]") {
  // The AVX2 tile prepares its forms once per call for the call's panels, the VNNI 8x32 tile builds each
  // panel's form straight from the arrays with a per-lane bias limit (|bias| <= 2^30 - bound): several panel
  // ranges (thread counts), a partial last panel, biases exactly at the limit (taken: |acc + bias| reaches
  // 2^30 with all-low inputs) and one beyond it (its panel refused), per channel and per tensor.
  std::mt19937 rng(29);
  const std::ptrdiff_t m = 37, n = 300;
  for (isa_level isa : testing::supported_levels()) {
    for (std::ptrdiff_t k : {27, 129}) {
      column_params cp(n, rng, testing::column_ranges{100000, -24.0, -0.5, false});
      const auto limit = static_cast<std::int32_t>((std::int64_t{1} << 30) - k * 129 * 128);  // a_zp = 1
      cp.bias[5] = limit;
      cp.bias[6] = -limit;
      cp.bias[40] = limit + 1;
      cp.bias[299] = -limit;
      const auto per_channel =
          pipeline(bias_add{cp.bias.data()},
                   requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(), cp.shifts.data()},
                   add_zero_point{3}, saturating_cast<std::int8_t>{});
      const auto per_tensor = pipeline(bias_add{cp.bias.data()}, requantize_fixed_point<double_rounding_up>{{1518500250, -9}},
                                       add_zero_point{-7}, clamp{-100, 127}, saturating_cast<std::int8_t>{});
      for (fill how : {fill::low, fill::alternating, fill::random}) {
        auto a = make_values<std::int8_t>(static_cast<std::size_t>(m * k), how, rng);
        auto w = make_values<std::int8_t>(static_cast<std::size_t>(k * n), how == fill::alternating ? fill::random : how, rng);
        const auto a_view = quantized(make_view(a.data(), m, k), 1);
        const auto w_view = make_view(w.data(), k, n);
        const packed_weights packed = pack_weights(w_view, 0, isa);
        const auto run = [&](const auto& p) {
          std::vector<std::int8_t> want(static_cast<std::size_t>(m * n));
          reference_gemm(a_view, quantized(w_view, 0), make_view(want.data(), m, n), p);
          for (int t : {1, 2, 3}) {
            std::vector<std::int8_t> got(want.size(), 77);
            gemm(t == 1 ? context{} : context(threads{t}), a_view, packed, make_view(got.data(), m, n), p);
            INFO(selected_kernel_name(packed.view()) << " K=" << k << " threads=" << t << " fill=" << static_cast<int>(how));
            REQUIRE(got == want);
          }
        };
        run(per_channel);
        run(per_tensor);
      }
    }
  }
}

TEST_CASE("gemm: full-range inputs and extreme zero points", "[gemm][kernels]") {
  std::mt19937 rng(7);
  for (isa_level isa : testing::supported_levels()) {
    for (fill how : {fill::low, fill::high, fill::alternating, fill::random}) {
      for (std::int32_t w_zp : {-128, 0, 127}) {
        column_params cp(45, rng);
        const auto raw = pipeline();
        const auto q = pipeline(bias_add{cp.bias.data()},
                                requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(), cp.shifts.data()},
                                add_zero_point{-128}, saturating_cast<std::int8_t>{});
        for (std::int32_t a_zp : {-128, 127}) {
          check_case<std::int8_t>(isa, 19, 131, 45, 1, 2, a_zp, w_zp, how, raw, rng);
          check_case<std::int8_t>(isa, 19, 131, 45, 0, 0, a_zp, w_zp, how, q, rng);
        }
        for (std::int32_t a_zp : {0, 255}) {
          check_case<std::uint8_t>(isa, 19, 131, 45, 1, 2, a_zp, w_zp, how, raw, rng);
          check_case<std::uint8_t>(isa, 19, 131, 45, 0, 0, a_zp, w_zp, how, q, rng);
        }
      }
    }
    // The deepest K the bound allows for int8 x symmetric int8 at the extremes: every product is
    // (-128 - 127)... here (a - a_zp) = 255 and (w - 0) = -128 → K * 32640 must stay below 2^31.
    column_params cp(33, rng);
    check_case<std::int8_t>(isa, 3, 65793, 33, 0, 0, 127, 0, fill::low, pipeline(), rng);
  }
}

TEST_CASE("gemm: every output stage on every kernel", "[gemm][stages]") {
  std::mt19937 rng(3);
  const std::ptrdiff_t shapes[][3] = {{1, 1, 1}, {5, 9, 33}, {9, 64, 17}, {17, 5, 70}, {2, 300, 100}, {150, 21, 40}};
  for (isa_level isa : testing::supported_levels()) {
    for (const auto& s : shapes) {
      const std::ptrdiff_t m = s[0], k = s[1], n = s[2];
      column_params cp(n, rng);
      const quantized_multiplier one = quantize_multiplier(0.0123);
      check_case<std::int8_t>(isa, m, k, n, 2, 1, 5, 0, fill::random,
                              pipeline(requantize_fixed_point<single_rounding>{one}, add_zero_point{100},
                                       saturating_cast<std::uint8_t>{}),
                              rng);
      check_case<std::uint8_t>(isa, m, k, n, 0, 3, 128, -2, fill::random,
                               pipeline(bias_add{cp.bias.data()},
                                        requantize_fixed_point_per_channel<single_rounding>{cp.multipliers.data(),
                                                                                           cp.shifts.data()},
                                        saturating_cast<std::int16_t>{}),
                               rng);
      check_case<std::int8_t>(isa, m, k, n, 0, 0, -1, 0, fill::random,
                              pipeline(bias_add{cp.bias.data()}, requantize_float_per_channel{cp.scales.data()},
                                       add_zero_point{-1}, clamp{-128, 100}, saturating_cast<std::int8_t>{}),
                              rng);
      check_case<std::int8_t>(isa, m, k, n, 0, 0, 0, 0, fill::random,
                              pipeline(requantize_float{3.5e3f}, add_zero_point{2147483000}), rng);  // saturates
      check_case<std::uint8_t>(isa, m, k, n, 1, 1, 7, 0, fill::random,
                               pipeline(dequantize_float_per_channel{cp.scales.data(), cp.float_bias.data()},
                                        clamp_float{-1000.0f, 5000.0f}),
                               rng);
      check_case<std::int8_t>(isa, m, k, n, 0, 0, 3, 1, fill::random,
                              pipeline(dequantize_float{0.25f, nullptr}), rng);
      check_case<std::int8_t>(isa, m, k, n, 0, 0, 3, 1, fill::high,
                              pipeline(bias_add{cp.bias.data()}, requantize_fixed_point<double_rounding>{{2147483647, 30}}),
                              rng);  // the left shift saturates
      // Biases at the int32 limits: the sum saturates on both sides.
      std::vector<std::int32_t> extreme(static_cast<std::size_t>(n));
      for (std::ptrdiff_t i = 0; i < n; ++i) {
        extreme[static_cast<std::size_t>(i)] = i % 3 == 0 ? INT32_MAX - static_cast<std::int32_t>(i) : (i % 3 == 1 ? INT32_MIN + static_cast<std::int32_t>(i) : static_cast<std::int32_t>(i));
      }
      for (fill how : {fill::high, fill::low, fill::alternating}) {
        check_case<std::int8_t>(isa, m, k, n, 0, 0, 127, 0, how, pipeline(bias_add{extreme.data()}), rng);
        check_case<std::uint8_t>(isa, m, k, n, 0, 0, 0, -128, how, pipeline(bias_add{extreme.data()}), rng);
        // Before a float requantization: the fast epilogue (which folds the bias into the accumulators)
        // must be refused for these panels and taken for the random biases.
        check_case<std::int8_t>(isa, m, k, n, 0, 0, -128, 0, how,
                                pipeline(bias_add{extreme.data()}, requantize_float_per_channel{cp.scales.data()},
                                         add_zero_point{3}, saturating_cast<std::int8_t>{}),
                                rng);
        check_case<std::int8_t>(isa, m, k, n, 0, 0, -128, 0, how,
                                pipeline(bias_add{cp.bias.data()}, requantize_float_per_channel{cp.scales.data()},
                                         add_zero_point{3}, saturating_cast<std::int8_t>{}),
                                rng);
      }
    }
  }
}

TEST_CASE("gemm: TFLite FullyConnected golden vectors (from TFLite's kernel tests)", "[gemm][tflite]") {
  // Weights [N=3][K=10] row-major = the K x N layout_left view.
  std::vector<std::int8_t> filter;
  for (int o = 0; o < 3; ++o) {
    for (int i = 1; i <= 10; ++i) filter.push_back(static_cast<std::int8_t>(i));
  }
  const float input_float[2][10] = {{1, 2, 3, 4, 5, 6, 7, 8, -9, -10}, {1, 2, 3, 4, 5, 6, 7, -8, 9, -10}};
  for (isa_level isa : testing::supported_levels()) {
    SECTION(std::string("SimpleTestQuantizedInt8 on ") + to_string(isa)) {
      std::vector<std::int8_t> input;  // scale 1, zero point -1
      for (const auto& row : input_float) {
        for (float x : row) input.push_back(static_cast<std::int8_t>(x - 1));
      }
      const std::int32_t bias[3] = {1, 2, 3};
      std::int8_t out[6];
      const auto packed = pack_weights(make_strided_view(filter.data(), {10, 3}, {1, 10}), 0, isa);
      gemm(context{}, quantized(make_view(input.data(), 2, 10), -1), packed, make_view(out, 2, 3),
           pipeline(bias_add{bias}, requantize_fixed_point<double_rounding>{quantize_multiplier(2.0)},
                    add_zero_point{-1}, saturating_cast<std::int8_t>{}));
      CHECK(std::vector<int>(out, out + 6) == std::vector<int>{47, 49, 51, 115, 117, 119});
    }
    SECTION(std::string("SimpleTestQuantizedInt8Relu on ") + to_string(isa)) {
      std::vector<std::int8_t> negated = filter;
      for (int i = 10; i < 20; ++i) negated[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(-negated[static_cast<std::size_t>(i)]);
      std::vector<std::int8_t> input;
      for (const auto& row : input_float) {
        for (float x : row) input.push_back(static_cast<std::int8_t>(x - 1));
      }
      const std::int32_t bias[3] = {1, -2, 3};
      std::int8_t out[6];
      const auto packed = pack_weights(make_strided_view(negated.data(), {10, 3}, {1, 10}), 0, isa);
      gemm(context{}, quantized(make_view(input.data(), 2, 10), -1), packed, make_view(out, 2, 3),
           pipeline(bias_add{bias}, requantize_fixed_point<double_rounding>{quantize_multiplier(2.0)},
                    add_zero_point{-128}, clamp{-128, 127}, saturating_cast<std::int8_t>{}));
      CHECK(std::vector<int>(out, out + 6) == std::vector<int>{-80, -128, -76, -12, -128, -8});
    }
    SECTION(std::string("SimpleTestQuantizedPerChannelInt8 on ") + to_string(isa)) {
      const double scales[3] = {0.2, 0.25, 0.5};
      std::vector<std::int8_t> wq;  // round(w / scale[o]), [N][K]
      for (int o = 0; o < 3; ++o) {
        for (int i = 1; i <= 10; ++i) wq.push_back(static_cast<std::int8_t>(std::round(i / scales[o])));
      }
      std::vector<std::int8_t> input;  // scale 0.5, zero point -1
      for (const auto& row : input_float) {
        for (float x : row) input.push_back(static_cast<std::int8_t>(std::round(x / 0.5f) - 1));
      }
      std::int32_t bias[3];
      std::int32_t multipliers[3];
      int shifts[3];
      for (int o = 0; o < 3; ++o) {
        bias[o] = static_cast<std::int32_t>(std::round((o + 1) / (0.5 * scales[o])));
        const quantized_multiplier q = quantize_multiplier(0.5 * scales[o] / 1.0);
        multipliers[o] = q.multiplier;
        shifts[o] = q.shift;
      }
      std::int8_t out[6];
      const auto packed = pack_weights(make_strided_view(wq.data(), {10, 3}, {1, 10}), 0, isa);
      gemm(context{}, quantized(make_view(input.data(), 2, 10), -1), packed, make_view(out, 2, 3),
           pipeline(bias_add{bias}, requantize_fixed_point_per_channel<double_rounding>{multipliers, shifts},
                    add_zero_point{-1}, saturating_cast<std::int8_t>{}));
      // TFLite's test allows 1 off; the exact fixed-point result is the golden value minus one, as in TFLite.
      CHECK(std::vector<int>(out, out + 6) == std::vector<int>{23, 24, 25, 57, 58, 59});
    }
  }
}

TEST_CASE("gemm: every thread count and a caller's parallel_for give identical results", "[gemm][threads]") {
  std::mt19937 rng(11);
  const std::ptrdiff_t m = 37, k = 129, n = 300;
  auto a = make_values<std::int8_t>(static_cast<std::size_t>(m * k), fill::random, rng);
  auto w = make_values<std::int8_t>(static_cast<std::size_t>(k * n), fill::random, rng);
  column_params cp(n, rng);
  const auto p = pipeline(bias_add{cp.bias.data()},
                          requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(), cp.shifts.data()},
                          add_zero_point{3}, saturating_cast<std::int8_t>{});
  const auto packed = pack_weights(make_view(w.data(), k, n));
  std::vector<std::int8_t> single(static_cast<std::size_t>(m * n));
  gemm(context{}, quantized(make_view(a.data(), m, k), 1), packed, make_view(single.data(), m, n), p);
  for (int t : {2, 3, 5}) {
    std::vector<std::int8_t> out(single.size());
    gemm(context(threads{t}), quantized(make_view(a.data(), m, k), 1), packed, make_view(out.data(), m, n), p);
    CHECK(out == single);
  }
  // A caller's scheduler that runs the tasks backwards on fresh threads.
  std::atomic<int> calls{0};
  context custom(
      [&](std::ptrdiff_t tasks, const task_function& task) {
        ++calls;
        std::vector<std::thread> pool;
        for (std::ptrdiff_t t = tasks - 1; t >= 0; --t) pool.emplace_back([&task, t] { task(t); });
        for (auto& th : pool) th.join();
      },
      4);
  std::vector<std::int8_t> out(single.size());
  gemm(custom, quantized(make_view(a.data(), m, k), 1), packed, make_view(out.data(), m, n), p);
  CHECK(out == single);
  CHECK(calls.load() == 1);
  // Concurrent calls sharing one pooled context, on distinct outputs.
  const context shared(threads{2});
  std::vector<std::vector<std::int8_t>> outs(3, std::vector<std::int8_t>(single.size()));
  std::vector<std::thread> callers;
  for (auto& o : outs) {
    callers.emplace_back([&, ptr = o.data()] {
      for (int rep = 0; rep < 20; ++rep) {
        gemm(shared, quantized(make_view(a.data(), m, k), 1), packed, make_view(ptr, m, n), p);
      }
    });
  }
  for (auto& th : callers) th.join();
  for (const auto& o : outs) CHECK(o == single);
}

TEST_CASE("gemm: the unpacked entry and the zero-point-free overload", "[gemm]") {
  std::mt19937 rng(5);
  auto a = make_values<std::uint8_t>(6 * 40, fill::random, rng);
  auto w = make_values<std::int8_t>(40 * 20, fill::random, rng);
  std::vector<std::int32_t> got(6 * 20), want(6 * 20);
  gemm(context{}, quantized(make_view(a.data(), 6, 40), 0), quantized(make_view(w.data(), 40, 20), -5),
       make_view(got.data(), 6, 20), pipeline());
  reference_gemm(quantized(make_view(a.data(), 6, 40), 0), quantized(make_view(w.data(), 40, 20), -5),
                 make_view(want.data(), 6, 20), pipeline());
  CHECK(got == want);
  const auto packed = pack_weights(make_view(w.data(), 40, 20), -5);
  std::vector<std::int32_t> plain(6 * 20);
  gemm(context{}, make_view(a.data(), 6, 40), packed, make_view(plain.data(), 6, 20), pipeline());
  CHECK(plain == want);
  // M = 0 is a valid empty product.
  gemm(context{}, make_view(a.data(), 0, 40), packed, make_view(plain.data(), 0, 20), pipeline());
}

TEST_CASE("gemm: bad input is a qsparse::error naming the argument", "[gemm][errors]") {
  std::vector<std::int8_t> a(8 * 16, 1), w(16 * 24, 1), out(8 * 24);
  const auto packed = pack_weights(make_view(w.data(), 16, 24));
  const auto raw = pipeline(requantize_fixed_point<double_rounding>{quantize_multiplier(0.5)},
                            saturating_cast<std::int8_t>{});
  context ctx;
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 15), packed, make_view(out.data(), 8, 24), raw),
                    Contains("K = 15") && Contains("K = 16"));
  CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 23), raw),
                    Contains("destination is 8 x 23"));
  CHECK_THROWS_WITH(gemm(ctx, quantized(make_view(a.data(), 8, 16), 128), packed, make_view(out.data(), 8, 24), raw),
                    Contains("zero point must be in [-128, 127], got 128"));
  CHECK_THROWS_WITH(gemm(ctx, make_strided_view(a.data(), {8, 16}, {1, 8}), packed, make_view(out.data(), 8, 24), raw),
                    Contains("contiguous along K"));
  const float bad_scales[24] = {1.0f, 0.0f};
  CHECK_THROWS_WITH(
      gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
           pipeline(requantize_float_per_channel{bad_scales}, saturating_cast<std::int8_t>{})),
      Contains("scales[1] = 0"));
  // Every kind of bad scale, anywhere in the row: the first one is named (the check is one branch-free pass).
  for (const float bad : {-1.0f, -0.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                          -std::numeric_limits<float>::denorm_min()}) {
    for (const int at : {0, 13, 23}) {
      float scales[24];
      std::fill(scales, scales + 24, 0.5f);
      scales[at] = bad;
      scales[23] = at == 23 ? bad : std::numeric_limits<float>::denorm_min();  // tiny but valid
      INFO("bad = " << bad << " at " << at);
      CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                             pipeline(requantize_float_per_channel{scales}, saturating_cast<std::int8_t>{})),
                        Contains("requantize_float_per_channel.scales must be positive and finite, got "
                                 "requantize_float_per_channel.scales[" +
                                 std::to_string(at) + "] = "));
      float fout[8 * 24];
      CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(fout, 8, 24),
                             pipeline(dequantize_float_per_channel{scales, nullptr})),
                        Contains("dequantize_float_per_channel.scales[" + std::to_string(at) + "]"));
    }
  }
  CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                         pipeline(requantize_float{std::numeric_limits<float>::quiet_NaN()}, saturating_cast<std::int8_t>{})),
                    Contains("requantize_float.scale must be positive and finite"));
  CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                         pipeline(clamp{5, 4}, saturating_cast<std::int8_t>{})),
                    Contains("min = 5, max = 4"));
  CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                         pipeline(requantize_fixed_point<double_rounding>{{1 << 30, -32}}, saturating_cast<std::int8_t>{})),
                    Contains("shift = -32"));
  // A K so deep the int32 sum could overflow.
  std::vector<std::int8_t> deep_w(70000, 1);
  std::vector<std::uint8_t> deep_a(70000, 1);  // 70000 * 255 * 128 > 2^31
  const auto deep = pack_weights(make_view(deep_w.data(), 70000, 1), 0, isa_level::scalar);
  std::int32_t one_out = 0;
  CHECK_THROWS_WITH(gemm(ctx, make_view(deep_a.data(), 1, 70000), deep, make_view(&one_out, 1, 1), pipeline()),
                    Contains("too deep"));
  // Weights packed for an ISA above the ceiling.
  if (cpu_supports(isa_level::avx2)) {
    const auto avx2_packed = pack_weights(make_view(w.data(), 16, 24), 0, isa_level::avx2);
    scoped_isa_ceiling ceiling(isa_level::scalar);
    CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), avx2_packed, make_view(out.data(), 8, 24), raw),
                      Contains("packed for avx2") && Contains("at most scalar"));
  }
}

TEST_CASE("packed weights: header, sizes and validation of foreign buffers", "[gemm][packing]") {
  std::vector<std::int8_t> w(5 * 3);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<std::int8_t>(i * 7 - 40);
  for (isa_level isa : {isa_level::scalar, isa_level::avx2, isa_level::avx_vnni, isa_level::avx512,
                        isa_level::avx512_vnni, isa_level::amx_int8}) {
    const auto packed = pack_weights(make_view(w.data(), 5, 3), 2, isa);
    const packed_weights_view& v = packed.view();
    CHECK(v.isa() == isa);
    CHECK(v.k() == 5);
    CHECK(v.n() == 3);
    CHECK(v.weight_zero_point() == 2);
    CHECK(v.size_bytes() == packed_weights_size(5, 3, isa));
    const layout_geometry g = v.geometry();
    CHECK(v.k_padded() == (5 + g.kr - 1) / g.kr * g.kr);
    CHECK(v.n_padded() == g.nr);
    // Column sums of the raw weights, zero for padding columns.
    for (int n = 0; n < 3; ++n) {
      int sum = 0;
      for (int k = 0; k < 5; ++k) sum += w[static_cast<std::size_t>(k * 3 + n)];
      CHECK(v.column_sums()[n] == sum);
    }
    CHECK(v.column_sums()[3] == 0);
  }
  // The worked example of packed_weights.hpp: K = 5, N = 3, s16_c2_nr16 → element (k=4, n=2) at [0][2][2][0].
  // The layout is named: which one an ISA gets depends on the kernels compiled for this architecture.
  const auto avx2 = pack_weights(make_view(w.data(), 5, 3), 2, isa_level::avx2, packed_layout::s16_c2_nr16);
  const auto* e = static_cast<const std::int16_t*>(avx2.view().panel(0));
  CHECK(e[(2 * 16 + 2) * 2 + 0] == w[4 * 3 + 2] - 2);
  CHECK(e[(2 * 16 + 2) * 2 + 1] == 0);  // k = 5 is padding

  // A foreign copy is accepted when intact and rejected with a reason when not.
  const auto packed = pack_weights(make_view(w.data(), 5, 3), 0, isa_level::scalar);
  struct alignas(64) block { unsigned char b[64]; };
  std::vector<block> copy((packed.size_bytes() + 63) / 64);
  auto* bytes = reinterpret_cast<unsigned char*>(copy.data());
  std::memcpy(bytes, packed.view().bytes(), packed.size_bytes());
  CHECK(packed_weights_view::from_bytes(bytes, packed.size_bytes()).n() == 3);
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(bytes, packed.size_bytes() - 1), Contains("shorter than"));
  bytes[4] = 9;  // version
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(bytes, packed.size_bytes()), Contains("version 9 is not supported"));
  bytes[4] = 1;
  bytes[6] = 1;  // layout s8_c4_nr32 with K = 5: the sizes no longer match the header's
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(bytes, packed.size_bytes()), Contains("header sizes are inconsistent"));
  bytes[6] = 9;  // no such layout
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(bytes, packed.size_bytes()), Contains("unknown packed layout 9"));
  bytes[6] = 4;
  // An ISA of another architecture with the scalar layout: valid, but this CPU cannot run it.
  const isa_level foreign_isa = native_architecture == architecture::x86_64 ? isa_level::neon : isa_level::avx2;
  bytes[7] = static_cast<unsigned char>(foreign_isa);
  {
    const auto foreign = packed_weights_view::from_bytes(bytes, packed.size_bytes());
    std::vector<std::int8_t> a(5);
    std::vector<std::int32_t> out(3);
    CHECK_THROWS_WITH(gemm(context{}, make_view(a.data(), 1, 5), foreign, make_view(out.data(), 1, 3), pipeline()),
                      Contains(std::string("the weights were packed for ") + to_string(foreign_isa)));
  }
  bytes[7] = 0;
  bytes[0] = 0;
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(bytes, packed.size_bytes()), Contains("not a packed weight buffer"));
  std::vector<std::int8_t> small(16);
  CHECK_THROWS_WITH(pack_weights(make_view(w.data(), 5, 3), 0, isa_level::scalar, bytes, 64), Contains("needs"));
  CHECK_THROWS_WITH(pack_weights(make_view(w.data(), 5, 3), 200), Contains("weight_zero_point must be in [-128, 127]"));
}

TEST_CASE("selected_kernel_name names the kernel of each ISA", "[gemm]") {
  CHECK(std::string(selected_kernel_name(isa_level::scalar)) == "gemm_x8s8_s32_1x16c1__scalar");
#if QSPARSE_X86
  CHECK(std::string(selected_kernel_name(isa_level::avx2)) == "gemm_x8s8_s32_4x16c2__avx2");
  CHECK(std::string(selected_kernel_name(isa_level::avx512)) == "gemm_x8s8_s32_8x32c2__avx512");
  CHECK(std::string(selected_kernel_name(isa_level::avx512_vnni)) == "gemm_u8s8_s32_8x32c4__avx512vnni");
  CHECK(std::string(selected_kernel_name(isa_level::amx_int8)) == "gemm_x8s8_s32_32x32c4__amxint8");
  // The side rung: the VEX kernel where the CPU has AVX-VNNI, else the AVX2 one (and its layout).
  CHECK(std::string(selected_kernel_name(isa_level::avx_vnni)) ==
        (cpu().avx_vnni ? "gemm_u8s8_s32_6x32c4__avxvnni" : "gemm_x8s8_s32_4x16c2__avx2"));
  {
    std::vector<std::int8_t> w(9 * 5);
    CHECK(pack_weights(make_view(w.data(), 9, 5), 0, isa_level::avx_vnni).view().layout() ==
          (cpu().avx_vnni ? packed_layout::s8_c4_nr32 : packed_layout::s16_c2_nr16));
  }
  if (testing::runs_level(isa_level::avx512_vnni)) {
    // Symmetric weights with K <= 32 run the shallow kernel; a zero point or a deeper K the GEMM's.
    std::vector<std::int8_t> w(33 * 5);
    const auto name = [&](std::ptrdiff_t k, std::int32_t w_zp) {
      return std::string(selected_kernel_name(pack_weights(make_view(w.data(), k, 5), w_zp, isa_level::avx512_vnni).view()));
    };
    CHECK(name(27, 0) == "gemm_u8s8_s32_4x32c4__avx512vnni");
    CHECK(name(32, 0) == "gemm_u8s8_s32_4x32c4__avx512vnni");
    CHECK(name(33, 0) == "gemm_u8s8_s32_8x32c4__avx512vnni");
    CHECK(name(27, 1) == "gemm_u8s8_s32_8x32c4__avx512vnni");
    CHECK(std::string(selected_kernel_name(pack_weights(make_view(w.data(), 27, 5), 0, isa_level::avx512).view())) ==
          "gemm_x8s8_s32_8x32c2__avx512");
  }
#endif
#if QSPARSE_AARCH64
  CHECK(std::string(selected_kernel_name(isa_level::neon)) == "gemm_x8s8_s32_1x16c1__scalar");
  CHECK(std::string(selected_kernel_name(isa_level::neon_dotprod)) == "gemm_x8s8_s32_4x16c4__neondotprod");
  CHECK(std::string(selected_kernel_name(isa_level::neon_i8mm)) == "gemm_x8s8_s32_4x16c8__neoni8mm");
  std::vector<std::int8_t> w(9 * 5);
  CHECK(pack_weights(make_view(w.data(), 9, 5), 0, isa_level::neon_i8mm).view().layout() == packed_layout::s8_c8_nr16);
  CHECK(pack_weights(make_view(w.data(), 9, 5), 0, isa_level::neon_dotprod).view().layout() == packed_layout::s8_c4_nr16);
  if (testing::runs_level(isa_level::neon_dotprod)) {
    // Symmetric sdot weights with K <= 32 run the shallow tile; a zero point, a deeper K or i8mm weights not.
    std::vector<std::int8_t> w33(33 * 5);
    const auto name = [&](std::ptrdiff_t k, std::int32_t w_zp, isa_level isa) {
      return std::string(selected_kernel_name(pack_weights(make_view(w33.data(), k, 5), w_zp, isa).view()));
    };
    CHECK(name(27, 0, isa_level::neon_dotprod) == "gemm_x8s8_s32_4x8c4__neondotprod");
    CHECK(name(32, 0, isa_level::neon_dotprod) == "gemm_x8s8_s32_4x8c4__neondotprod");
    CHECK(name(33, 0, isa_level::neon_dotprod) == "gemm_x8s8_s32_4x16c4__neondotprod");
    CHECK(name(27, 1, isa_level::neon_dotprod) == "gemm_x8s8_s32_4x16c4__neondotprod");
    if (testing::runs_level(isa_level::neon_i8mm)) {
      CHECK(name(27, 0, isa_level::neon_i8mm) == "gemm_x8s8_s32_4x16c8__neoni8mm");
    }
  }
#endif
}

TEST_CASE("guard: every GEMM kernel this CPU supports ran", "[gemm][guard]") {
  // Runs after the kernel sweep in declaration order; fails if a level the CPU has was skipped.
  for (isa_level level : testing::supported_levels_with_kernels(gemm_kernels{})) {
    INFO("level " << to_string(level));
    CHECK(std::find(exercised.begin(), exercised.end(), level) != exercised.end());
  }
  // And every registered kernel this CPU runs, by name.
  CHECK(exercised_kernels == testing::runnable_kernel_names(gemm_kernels{}));
}

TEST_CASE("gemm: a destination sharing memory with an input, or with rows that overlap, is an error (issue 22)",
          "[gemm][errors]") {
  const index_t m = 16, k = 64, n = 64;
  std::vector<std::int8_t> w(static_cast<std::size_t>(k * n), 1);
  const auto packed = pack_weights(make_view(static_cast<const std::int8_t*>(w.data()), k, n));
  std::vector<std::int32_t> buffer(static_cast<std::size_t>(m * n));
  const auto a = make_view(reinterpret_cast<const std::int8_t*>(buffer.data()), m, k);
  CHECK_THROWS_WITH(gemm(context{}, a, packed, make_view(buffer.data(), m, n), pipeline()),
                    Catch::Contains("qsparse::gemm: destination overlaps activations in memory") &&
                        Catch::Contains("an output must not share memory with an input"));
  std::vector<std::int8_t> a_own(static_cast<std::size_t>(m * k), 1);
  const auto a2 = make_view(static_cast<const std::int8_t*>(a_own.data()), m, k);
  // Row stride 0: every row written to one place.
  CHECK_THROWS_WITH(gemm(context{}, a2, packed, make_strided_view(buffer.data(), {m, n}, {0, 1}), pipeline()),
                    "qsparse::gemm: destination's elements overlap (extents [16, 64], strides [0, 1]): every element of "
                    "an output must have memory of its own (e.g. a row stride of at least the row length)");
  // Rows that overlap (stride 32 < N = 64).
  const auto a_half = make_view(static_cast<const std::int8_t*>(a_own.data()), m / 2, k);
  CHECK_THROWS_WITH(gemm(context{}, a_half, packed, make_strided_view(buffer.data(), {m / 2, n}, {32, 1}), pipeline()),
                    Catch::Contains("destination's elements overlap (extents [8, 64], strides [32, 1])"));
  // The destination inside the packed weights' own buffer.
  auto* packed_bytes = const_cast<std::int32_t*>(reinterpret_cast<const std::int32_t*>(packed.view().bytes()));
  const auto a_row = make_view(static_cast<const std::int8_t*>(a_own.data()), 1, k);
  CHECK_THROWS_WITH(gemm(context{}, a_row, packed, make_view(packed_bytes + 16, 1, n), pipeline()),
                    Catch::Contains("destination overlaps the packed weights in memory"));
  // Disjoint views of one buffer are fine.
  std::vector<std::int32_t> out(static_cast<std::size_t>(2 * m * n));
  CHECK_NOTHROW(gemm(context{}, a2, packed, make_strided_view(out.data(), {m, n}, {2 * n, 1}), pipeline()));
}
