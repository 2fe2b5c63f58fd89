// tests/gemm/gemm_shallow_256_test.cpp — the 256-bit shallow-K GEMM tiles (AVX2 gemm_x8s8_s32_6x16c2, AVX-VNNI
// gemm_u8s8_s32_6x16c4) against reference_gemm, bit for bit: every K from 1 to 33 around the tiles' limit,
// rows across the 240-row blocks and the padded copy of the last rows, partial panels, zero points, each of
// their epilogues (float scale with the packs as the clamp, with MXCSR rounding to nearest and not; TFLite's
// fixed point in both roundings with and without a narrower clamp; uint8 and int32 outputs), threads 1-3.
// A small TU of its own: tests/gemm/gemm_test.cpp sweeps every registered kernel too, but is the heaviest.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/core/context.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/reference.hpp"
#include "qsparse/spec/system_pipelines.hpp"
#include "support/column_params.hpp"
#include "support/testing.hpp"

#if QSPARSE_X86
#include <immintrin.h>

using namespace qsparse;
using qsparse::testing::column_params;

namespace {

template <class T>
std::vector<T> random_values(std::size_t count, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  std::vector<T> v(count);
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

/// Kernel alone (as the registry would run it, tasks over `threads`) against the reference.
template <class Kernel, class A, class Pipeline>
void check(std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t n, std::ptrdiff_t lda, std::int32_t a_zp, std::int32_t w_zp,
           const Pipeline& pipeline, int threads, std::mt19937& rng) {
  using out_t = typename Pipeline::output_type;
  const auto a = random_values<A>(static_cast<std::size_t>((m - 1) * lda + k), rng);  // the last row ends the buffer
  const auto w = random_values<std::int8_t>(static_cast<std::size_t>(k * n), rng);
  const packed_weights packed = pack_weights(make_view(w.data(), k, n), w_zp, Kernel::isa, Kernel::layout);
  REQUIRE(kernels::gemm_kernel_accepts<Kernel>(packed.view()));
  std::vector<out_t> got(static_cast<std::size_t>(m * n), out_t(77)), want = got;
  const context ctx = threads > 1 ? context(qsparse::threads{threads}) : context();
  const kernels::gemm_args<A, out_t> g{a.data(), lda, a_zp, m, k, n, packed.view(), got.data(), n};
  qsparse::detail::run_gemm_tasks<Kernel>(ctx, g, pipeline);
  reference_gemm(quantized(make_strided_view(a.data(), {m, k}, {lda, 1}), a_zp), quantized(make_view(w.data(), k, n), w_zp),
                 make_view(want.data(), m, n), pipeline);
  INFO(Kernel::name() << " M=" << m << " K=" << k << " N=" << n << " lda=" << lda << " a_zp=" << a_zp
                      << " w_zp=" << w_zp << " threads=" << threads);
  REQUIRE(std::memcmp(got.data(), want.data(), got.size() * sizeof(out_t)) == 0);
}

template <class Kernel, class A>
void sweep(std::int32_t a_zp, std::int32_t w_zp, std::mt19937& rng) {
  const std::vector<std::ptrdiff_t> ms{1, 5, 6, 7, 241, 487};
  const std::vector<std::ptrdiff_t> ns{1, 15, 16, 17, 32, 33, 50};
  for (std::ptrdiff_t k = 1; k <= 33; ++k) {
    const std::ptrdiff_t m = ms[static_cast<std::size_t>(k) % ms.size()];
    const std::ptrdiff_t n = ns[static_cast<std::size_t>(k) % ns.size()];
    const std::ptrdiff_t lda = k + (k % 3 == 0 ? 5 : 0);
    const int threads = 1 + static_cast<int>(k % 3);
    column_params cp(n, rng);
    // Scales small enough that the packs form holds (bound * scale <= 2^30), outputs still saturate.
    std::vector<float> scales(static_cast<std::size_t>(n));
    for (std::size_t j = 0; j < scales.size(); ++j) scales[j] = static_cast<float>(std::ldexp(1.0 + 0.37 * static_cast<double>(j), -12));
    const std::int32_t out_zp = static_cast<std::int32_t>(k * 7 % 61) - 30;
    const auto floats = pipeline(bias_add{cp.bias.data()}, requantize_float_per_channel{scales.data()},
                                 add_zero_point{out_zp}, saturating_cast<std::int8_t>{});
    const auto away = tflite_reference_fc_int8_pipeline(cp.bias.data(), cp.multipliers.data(), cp.shifts.data(), out_zp);
    const auto up = tflite_optimized_int8_pipeline(cp.bias.data(), cp.multipliers.data(), cp.shifts.data(), out_zp,
                                                   k % 2 == 0 ? -128 : -100, 127);
    if (k > 32) {
      CHECK_FALSE(kernels::gemm_kernel_accepts<Kernel>(
          pack_weights(make_view(std::vector<std::int8_t>(static_cast<std::size_t>(k * n)).data(), k, n), w_zp, Kernel::isa,
                       Kernel::layout)
              .view()));
      continue;
    }
    if (Kernel::layout == packed_layout::s8_c4_nr32 && w_zp != 0) continue;  // the VNNI tile takes symmetric weights
    check<Kernel, A>(m, k, n, lda, a_zp, w_zp, floats, threads, rng);
    check<Kernel, A>(m, k, n, lda, a_zp, w_zp, away, threads, rng);
    check<Kernel, A>(m, k, n, lda, a_zp, w_zp, up, threads, rng);
    // A narrower clamp (ReLU-like): the generic epilogue.
    check<Kernel, A>(m, k, n, lda, a_zp, w_zp, cp.float_int8_pipeline(out_zp), threads, rng);
    // uint8 output through vpackuswb, and int32 output.
    check<Kernel, A>(m, k, n, lda, a_zp, w_zp,
                     pipeline(bias_add{cp.bias.data()}, requantize_float_per_channel{scales.data()},
                              add_zero_point{out_zp + 100}, saturating_cast<std::uint8_t>{}),
                     threads, rng);
    check<Kernel, A>(m, k, n, lda, a_zp, w_zp, pipeline(bias_add{cp.bias.data()}), threads, rng);
  }
}

template <class Kernel>
void sweep_kernel() {
  if (!testing::runs_level(Kernel::isa) || !kernels::cpu_has_kernel_extensions<Kernel>()) {
    WARN(Kernel::name() << " does not run on this CPU or under QSPARSE_ISA_CEILING: not exercised");
    return;
  }
  std::mt19937 rng(27);
  sweep<Kernel, std::int8_t>(-3, 0, rng);
  sweep<Kernel, std::int8_t>(127, 5, rng);
  sweep<Kernel, std::uint8_t>(131, 0, rng);
  sweep<Kernel, std::uint8_t>(0, -128, rng);
  // MXCSR rounding upwards: the packs form rounds with vroundps instead of vcvtps2dq, still half to even.
  const unsigned csr = _mm_getcsr();
  _mm_setcsr((csr & ~0x6000u) | 0x4000u);
  sweep<Kernel, std::int8_t>(-128, 0, rng);
  _mm_setcsr(csr);
}

}  // namespace

TEST_CASE("gemm: the AVX2 shallow-K tile equals the reference for K = 1..33", "[gemm][kernels][shallow]") {
  sweep_kernel<kernels::avx2::gemm_x8s8_s32_6x16c2>();
}

TEST_CASE("gemm: the AVX-VNNI shallow-K tile equals the reference for K = 1..33", "[gemm][kernels][shallow]") {
  sweep_kernel<kernels::avx_vnni::gemm_u8s8_s32_6x16c4>();
}

TEST_CASE("gemm: the 256-bit ISAs select their shallow tile for K <= 32", "[gemm][shallow]") {
  std::vector<std::int8_t> w(33 * 5);
  const auto name = [&](std::ptrdiff_t k, std::int32_t w_zp, isa_level isa) {
    return std::string(selected_kernel_name(pack_weights(make_view(w.data(), k, 5), w_zp, isa).view()));
  };
  CHECK(name(27, 3, isa_level::avx2) == "gemm_x8s8_s32_6x16c2__avx2");
  CHECK(name(32, 0, isa_level::avx2) == "gemm_x8s8_s32_6x16c2__avx2");
  CHECK(name(33, 0, isa_level::avx2) == "gemm_x8s8_s32_4x16c2__avx2");
  if (testing::runs_level(isa_level::avx_vnni)) {
    CHECK(name(27, 0, isa_level::avx_vnni) == "gemm_u8s8_s32_6x16c4__avxvnni");
    CHECK(name(32, 0, isa_level::avx_vnni) == "gemm_u8s8_s32_6x16c4__avxvnni");
    CHECK(name(33, 0, isa_level::avx_vnni) == "gemm_u8s8_s32_6x32c4__avxvnni");
    CHECK(name(27, 1, isa_level::avx_vnni) == "gemm_u8s8_s32_6x32c4__avxvnni");
  }
}

#endif  // QSPARSE_X86
