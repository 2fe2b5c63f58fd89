// tests/gemm/gemm_amx_test.cpp — the AMX-INT8 GEMM kernel (kernels/amx/gemm_x8s8_s32_32x32c4.hpp)
// against reference_gemm, bit for bit: M odd from 1 to 69 and 128, 129 (row tiles of 16 and 32, short
// tiles, the VNNI fallback for one row, and the tiles for it), K across the 64-byte k blocks and the groups of 4,
// partial panels, int8 and uint8 activations, zero points on both sides, every output form, 1 to 3
// threads; and which kernel dispatch selects at each ceiling. Skipped where the CPU lacks AMX.
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/core/context.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/reference.hpp"
#include "support/column_params.hpp"
#include "support/testing.hpp"

using namespace qsparse;

#if QSPARSE_X86
namespace {

using amx_kernel = kernels::amx_int8::gemm_x8s8_s32_32x32c4;

template <class T>
std::vector<T> random_values(std::size_t count, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  std::vector<T> v(count);
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

// The AMX kernel alone on the whole problem (ctx's threads cut it as gemm does) against reference_gemm.
// extreme: every activation and weight at the end of its range farthest from its zero point.
template <class A, class Pipeline>
void check_amx(const context& ctx, std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t n, std::int32_t a_zp,
               std::int32_t w_zp, bool extreme, const Pipeline& pipeline, std::mt19937& rng) {
  using out_t = typename Pipeline::output_type;
  const std::ptrdiff_t lda = k + 5, ldd = n + 3;
  auto a = random_values<A>(static_cast<std::size_t>(m * lda), rng);
  auto w = random_values<std::int8_t>(static_cast<std::size_t>(k * n), rng);
  if (extreme) {
    const A a_far = a_zp - std::numeric_limits<A>::min() > std::numeric_limits<A>::max() - a_zp
                        ? std::numeric_limits<A>::min()
                        : std::numeric_limits<A>::max();
    for (auto& x : a) x = a_far;
    for (auto& x : w) x = w_zp >= 0 ? std::int8_t{-128} : std::int8_t{127};
  }
  const auto a_view = make_strided_view(a.data(), {m, k}, {lda, 1});
  const auto w_view = make_view(w.data(), k, n);
  std::vector<out_t> got(static_cast<std::size_t>(m * ldd), out_t(77)), want = got;
  const packed_weights packed = pack_weights(w_view, w_zp, amx_kernel::isa, amx_kernel::layout);
  INFO("M=" << m << " K=" << k << " N=" << n << " a_zp=" << a_zp << " w_zp=" << w_zp << " extreme=" << extreme
            << " threads=" << ctx.concurrency());
  const kernels::gemm_args<A, out_t> g{a.data(), lda, a_zp, m, k, n, packed.view(), got.data(), ldd};
  qsparse::detail::run_gemm_tasks<amx_kernel>(ctx, g, pipeline);
  if (m < amx_kernel::min_rows) {  // the rows the VNNI fallback took, on the tiles
    std::vector<out_t> tiles(got.size(), out_t(77));
    const kernels::gemm_args<A, out_t> gt{a.data(), lda, a_zp, m, k, n, packed.view(), tiles.data(), ldd};
    amx_kernel::run_tiles(gt, pipeline, 0, m, 0, packed.view().n_padded() / amx_kernel::nr);
    REQUIRE(std::memcmp(tiles.data(), got.data(), got.size() * sizeof(out_t)) == 0);
  }
  reference_gemm(quantized(a_view, a_zp), quantized(w_view, w_zp), make_strided_view(want.data(), {m, n}, {ldd, 1}),
                 pipeline);
  REQUIRE(std::memcmp(got.data(), want.data(), got.size() * sizeof(out_t)) == 0);
}

}  // namespace

TEST_CASE("gemm amx: equals the reference bit for bit across M, K, N, zero points and outputs", "[gemm][amx]") {
  if (!testing::runs_level(isa_level::amx_int8)) {
    WARN("skipped: this CPU (or QSPARSE_ISA_CEILING) does not run amx_int8");
    return;
  }
  std::mt19937 rng(7);
  context one;
  std::vector<std::ptrdiff_t> ms;
  for (std::ptrdiff_t m = 1; m < 70; m += 2) ms.push_back(m);
  ms.push_back(128);
  ms.push_back(129);
  const std::ptrdiff_t ks[] = {1, 3, 4, 63, 64, 65, 127, 384, 1536};
  const std::ptrdiff_t ns[] = {1, 17, 32, 45, 70};
  for (std::ptrdiff_t k : ks) {
    for (std::ptrdiff_t m : ms) {
      if (k >= 384 && m % 8 != 1 && m < 128) continue;  // deep K: fewer M
      for (std::ptrdiff_t n : ns) {
        if (k >= 384 && n != 45) continue;
        testing::column_params cp(n, rng);
        const auto requantized_int8 =
            pipeline(bias_add{cp.bias.data()},
                     requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(), cp.shifts.data()},
                     add_zero_point{-7}, clamp{-120, 127}, saturating_cast<std::int8_t>{});
        check_amx<std::int8_t>(one, m, k, n, -3, 0, false, requantized_int8, rng);
        check_amx<std::uint8_t>(one, m, k, n, 131, 4, false, requantized_int8, rng);
        check_amx<std::int8_t>(one, m, k, n, 5, -2, false, pipeline(), rng);  // int32 out, both zero points
        check_amx<std::uint8_t>(one, m, k, n, 0, 0, false, pipeline(), rng);
      }
    }
  }
}

TEST_CASE("gemm amx: every output form, extreme values and threads", "[gemm][amx]") {
  if (!testing::runs_level(isa_level::amx_int8)) {
    WARN("skipped: this CPU (or QSPARSE_ISA_CEILING) does not run amx_int8");
    return;
  }
  std::mt19937 rng(11);
  const std::ptrdiff_t n = 77;
  testing::column_params cp(n, rng);
  std::vector<float> scales(static_cast<std::size_t>(n)), fbias(static_cast<std::size_t>(n));
  for (std::ptrdiff_t j = 0; j < n; ++j) {
    scales[static_cast<std::size_t>(j)] = 1e-4f * static_cast<float>(j + 1);
    fbias[static_cast<std::size_t>(j)] = 0.25f * static_cast<float>(j) - 3.0f;
  }
  const auto fixed_single = pipeline(bias_add{cp.bias.data()},
                                     requantize_fixed_point<double_rounding>{quantized_multiplier{1518500250, -9}},
                                     add_zero_point{3}, saturating_cast<std::uint8_t>{});
  const auto fixed_away = pipeline(requantize_fixed_point_per_channel<single_rounding>{cp.multipliers.data(),
                                                                                                 cp.shifts.data()},
                                   saturating_cast<std::int8_t>{});
  const auto float_requant = pipeline(bias_add{cp.bias.data()}, requantize_float_per_channel{scales.data()},
                                      add_zero_point{-5}, saturating_cast<std::int8_t>{});
  const auto float_out = pipeline(dequantize_float_per_channel{scales.data(), fbias.data()}, clamp_float{-2.0f, 6.0f});
  const auto float_single = pipeline(bias_add{cp.bias.data()}, dequantize_float{0.003f, nullptr});
  for (int threads = 1; threads <= 3; ++threads) {
    const context ctx = threads == 1 ? context{} : context{qsparse::threads{threads}};
    for (std::ptrdiff_t m : {std::ptrdiff_t{16}, std::ptrdiff_t{45}, std::ptrdiff_t{128}, std::ptrdiff_t{129}}) {
      for (std::ptrdiff_t k : {std::ptrdiff_t{65}, std::ptrdiff_t{384}}) {
        for (bool extreme : {false, true}) {
          check_amx<std::int8_t>(ctx, m, k, n, 9, 0, extreme, fixed_single, rng);
          check_amx<std::uint8_t>(ctx, m, k, n, 200, -3, extreme, fixed_away, rng);
          check_amx<std::int8_t>(ctx, m, k, n, -128, 127, extreme, float_requant, rng);
          check_amx<std::uint8_t>(ctx, m, k, n, 17, 0, extreme, float_out, rng);
          check_amx<std::int8_t>(ctx, m, k, n, 0, -128, extreme, float_single, rng);
          check_amx<std::uint8_t>(ctx, m, k, n, 255, 0, extreme, pipeline(), rng);
        }
      }
    }
  }
  // As deep as an exact int32 accumulator allows with these zero points (the tile sums wrap on the way).
  check_amx<std::int8_t>(context{}, 33, 65535, 40, 0, 0, true, pipeline(), rng);
}

TEST_CASE("gemm amx: dispatch selects it at amx_int8 and the VNNI kernel below", "[gemm][amx]") {
  CHECK(std::string(selected_kernel_name(isa_level::amx_int8)) == "gemm_x8s8_s32_32x32c4__amxint8");
  CHECK(std::string(selected_kernel_name(isa_level::avx512_vnni)) == "gemm_u8s8_s32_8x32c4__avx512vnni");
  CHECK(kernels::gemm_layout_for(isa_level::amx_int8) == kernels::gemm_layout_for(isa_level::avx512_vnni));
  std::vector<std::int8_t> w(384 * 40, 3);
  // Shallow symmetric weights stay on the VNNI shallow kernel; deeper ones, or a zero point, go to AMX.
  const auto name = [&](std::ptrdiff_t k, std::int32_t w_zp, isa_level isa) {
    return std::string(selected_kernel_name(pack_weights(make_view(w.data(), k, 40), w_zp, isa).view()));
  };
  CHECK(name(32, 0, isa_level::amx_int8) == "gemm_u8s8_s32_4x32c4__avx512vnni");
  CHECK(name(33, 0, isa_level::amx_int8) == "gemm_x8s8_s32_32x32c4__amxint8");
  CHECK(name(27, 1, isa_level::amx_int8) == "gemm_x8s8_s32_32x32c4__amxint8");
  CHECK(name(384, 0, isa_level::avx512_vnni) == "gemm_u8s8_s32_8x32c4__avx512vnni");
  if (!testing::runs_level(isa_level::amx_int8)) {
    WARN("skipped the dispatched runs: this CPU (or QSPARSE_ISA_CEILING) does not run amx_int8");
    return;
  }
  // Dispatch at each ceiling: weights packed at best_isa() run AMX at the top, VNNI under avx512_vnni; the
  // two pack the same bytes but for the ISA byte of the header, and give the same outputs.
  std::mt19937 rng(3);
  auto a = random_values<std::int8_t>(128 * 384, rng);
  w = random_values<std::int8_t>(384 * 40, rng);
  std::vector<std::int32_t> out[2];
  const char* expected[2] = {"gemm_u8s8_s32_8x32c4__avx512vnni", "gemm_x8s8_s32_32x32c4__amxint8"};
  const isa_level ceilings[2] = {isa_level::avx512_vnni, isa_level::amx_int8};
  for (int i = 0; i < 2; ++i) {
    scoped_isa_ceiling ceiling(ceilings[i]);
    CHECK(best_isa() == ceilings[i]);
    const packed_weights packed = pack_weights(make_view(w.data(), 384, 40), 0, best_isa());
    CHECK(std::string(selected_kernel_name(packed.view())) == expected[i]);
    out[i].assign(128 * 40, 0);
    gemm(context{}, quantized(make_view(a.data(), 128, 384), 3), packed, make_view(out[i].data(), 128, 40), pipeline());
  }
  CHECK(out[0] == out[1]);
}
#endif
