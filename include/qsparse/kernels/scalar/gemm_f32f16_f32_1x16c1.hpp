// qsparse/kernels/scalar/gemm_f32f16_f32_1x16c1.hpp — the portable float16-weight GEMM: one row × 16
// columns per tile (weights packed as float16, NR = 16, KR = 1; qsparse/spec/packed_weights_f16.hpp).
// Computes the definition directly: per (m, n), acc = +0.0f, then acc = std::fma(a[m][k], float(w[k][n]),
// acc) for k in order (f16_multiply_then_add: acc + product_not_fused(a, w)), then `evaluate`
// (bias_add_float, clamp_float).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/float16.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/spec/f16_accumulation.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_f16.hpp"

namespace qsparse {
namespace kernels {
namespace scalar {

/// Sum: f16_fma_chain or f16_multiply_then_add (qsparse/spec/f16_accumulation.hpp).
template <class Sum>
struct gemm_f32f16_f32_1x16c1_sum {
  static constexpr int mr = 1;
  static constexpr int nr = 16;
  static constexpr int kr = 1;
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() {
    return std::is_same_v<Sum, f16_fma_chain> ? "gemm_f32f16_f32_1x16c1__scalar"
                                              : "gemm_f32f16_f32_1x16c1__scalar_muladd";
  }

  template <class... S>
  static void run(const gemm_panel_args<float, packed_weights_f16_view, float>& g,
                  const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
                  std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    for (std::ptrdiff_t m = m_begin; m < m_end; ++m) {
      const float* a = g.a + m * g.lda;
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto* w = static_cast<const std::uint16_t*>(g.weights.panel(p));
        const std::ptrdiff_t n0 = p * nr;
        const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
        float acc[nr] = {};
        for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) {
          const float av = a[kk];
          const std::uint16_t* wk = w + kk * nr;
          if constexpr (std::is_same_v<Sum, f16_fma_chain>) {
            for (std::ptrdiff_t j = 0; j < columns; ++j) acc[j] = std::fma(av, float_from_float16_bits(wk[j]), acc[j]);
          } else {
            for (std::ptrdiff_t j = 0; j < columns; ++j) {
              acc[j] += qsparse::detail::product_not_fused(av, float_from_float16_bits(wk[j]));
            }
          }
        }
        float* dst = g.dst + m * g.ldd + n0;
        for (std::ptrdiff_t j = 0; j < columns; ++j) dst[j] = evaluate(pipeline, acc[j], m, n0 + j);
      }
    }
  }
};

using gemm_f32f16_f32_1x16c1 = gemm_f32f16_f32_1x16c1_sum<f16_fma_chain>;

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
