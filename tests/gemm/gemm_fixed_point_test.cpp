// tests/gemm/gemm_fixed_point_test.cpp — the int8 GEMM's TFLite fixed point against reference_gemm, bit for
// bit: the VNNI shallow kernel's packs that clamp and its 64-bit form, TFLite's four roundings at the edges
// of the 64-bit lanes on every ISA, the forms prepared once per call or panel (threads, bias limits).
// Shared helpers: gemm_cases.hpp; the kernel sweep and the rest of the GEMM's tests: gemm_test.cpp.
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "gemm/gemm_cases.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/reference.hpp"
#include "support/column_params.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using namespace qsparse::gemm_test;
using qsparse::testing::column_params;

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
