// qsparse/kernels/scalar/gemm_x8s8_s32_1x16c1.hpp — the portable int8 GEMM: one row × 16 columns per
// tile, weights layout s16_c1_nr16 (int16 w - w_zp, 16 columns per k). Plain C++ that any compiler
// vectorises for the host's own flags; the output stages are the scalar definition `evaluate`.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/isa.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

namespace qsparse {
namespace kernels {
namespace scalar {

struct gemm_x8s8_s32_1x16c1 {
  static constexpr int mr = 1;
  static constexpr int nr = 16;
  static constexpr int kr = 1;
  static constexpr isa_level isa = isa_level::scalar;
  static constexpr packed_layout layout = packed_layout::s16_c1_nr16;
  /// Its epilogue evaluates dequantize_rows_float (qsparse/spec/hybrid_output_stage.hpp) on the tile's rows.
  static constexpr bool row_output_stage = true;
  static const char* name() { return "gemm_x8s8_s32_1x16c1__scalar"; }

  template <class A, class... S>
  static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                  const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
                  std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    for (std::ptrdiff_t m = m_begin; m < m_end; ++m) {
      const A* a = g.a + m * g.lda;
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto* w = static_cast<const std::int16_t*>(g.weights.panel(p));
        std::int32_t acc[nr] = {};
        for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) {
          const std::int32_t av = static_cast<std::int32_t>(a[kk]) - g.a_zero_point;
          const std::int16_t* wk = w + kk * nr;
          for (int j = 0; j < nr; ++j) acc[j] += av * wk[j];
        }
        const std::ptrdiff_t n0 = p * nr;
        const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
        auto* dst = g.dst + m * g.ldd + n0;
        for (std::ptrdiff_t j = 0; j < columns; ++j) dst[j] = evaluate(pipeline, acc[j], m, n0 + j);
      }
    }
  }
};

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
