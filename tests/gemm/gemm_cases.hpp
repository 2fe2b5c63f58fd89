// tests/gemm/gemm_cases.hpp — what the int8 GEMM tests (gemm_test.cpp, gemm_fixed_point_test.cpp,
// gemm_stages_test.cpp) share: operand fills (random, all-low, all-high, alternating) and check_case, which
// runs one problem through gemm (or one kernel alone) and reference_gemm and requires the same bits.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/core/context.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/reference.hpp"
#include "support/testing.hpp"

namespace qsparse::gemm_test {

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

}  // namespace qsparse::gemm_test
