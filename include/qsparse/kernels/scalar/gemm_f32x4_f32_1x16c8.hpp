// qsparse/kernels/scalar/gemm_f32x4_f32_1x16c8.hpp — the portable float-activation × 4-bit-weight GEMM:
// one row × one panel of 16 columns, reading the packed layout of qsparse/spec/packed_weights_q4.hpp.
// Computes the definition directly (qsparse/gemm/reference_q4.hpp): per (m, n), acc = +0.0f, then for k
// in order acc = std::fma(a[m][k], float(u[k][n] - z[g][n]) * scale[g][n], acc) (the product rounded
// once, then one fused step), then evaluate(pipeline, acc).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/isa.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_q4.hpp"

namespace qsparse {
namespace kernels {
namespace scalar {

struct gemm_f32x4_f32_1x16c8 {
  static constexpr int mr = 1;
  static constexpr int nr = 16;
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "gemm_f32x4_f32_1x16c8__scalar"; }

  template <class... S>
  static void run(const gemm_panel_args<float, packed_weights_q4_view, float>& g,
                  const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
                  std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    const std::ptrdiff_t gsz = g.weights.group_size();
    const std::ptrdiff_t groups = g.weights.groups();
    const bool zp = g.weights.has_zero_points();
    for (std::ptrdiff_t m = m_begin; m < m_end; ++m) {
      const float* a = g.a + m * g.lda;
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const std::ptrdiff_t n0 = p * nr;
        const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
        float acc[nr] = {};
        for (std::ptrdiff_t gi = 0; gi < groups; ++gi) {
          const unsigned char* b = g.weights.group(p, gi);
          float s[nr];
          std::int32_t z[nr];
          for (std::ptrdiff_t j = 0; j < columns; ++j) {
            std::memcpy(&s[j], b + gsz * 8 + 4 * j, sizeof(float));
            z[j] = zp ? b[gsz * 8 + 64 + j] : 8;
          }
          for (std::ptrdiff_t r = 0; r < gsz; ++r) {
            const float av = a[gi * gsz + r];
            const unsigned char* chunk = b + (r / 8) * 64 + r % 4;
            const unsigned shift = (r % 8) < 4 ? 0u : 4u;
            for (std::ptrdiff_t j = 0; j < columns; ++j) {
              const auto u = static_cast<std::int32_t>((chunk[4 * j] >> shift) & 15u);
              acc[j] = std::fma(av, qsparse::detail::product_not_fused(static_cast<float>(u - z[j]), s[j]), acc[j]);
            }
          }
        }
        float* dst = g.dst + m * g.ldd + n0;
        for (std::ptrdiff_t j = 0; j < columns; ++j) dst[j] = evaluate(pipeline, acc[j], m, n0 + j);
      }
    }
  }
};

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
