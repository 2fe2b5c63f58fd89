// qsparse/kernels/scalar/gemm_s8x4_f32_1x16c8.hpp — the portable int8-activation × 4-bit-weight GEMM:
// one row × one panel of 16 columns, reading the packed layout of qsparse/spec/packed_weights_q4.hpp.
// Computes the definition directly (qsparse/gemm/reference_q4.hpp): per (m, n) and group g in order,
// isum = Σ_k a[m][k] (u[k][n] - z[g][n]) in int32 (exact), acc = fma(float(isum), scale[g][n], acc); then
// evaluate(pipeline, acc * row_scale[m]).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/isa.hpp"
#include "qsparse/spec/gemm_q4_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_q4.hpp"

namespace qsparse {
namespace kernels {
namespace scalar {

struct gemm_s8x4_f32_1x16c8 {
  static constexpr int mr = 1;
  static constexpr int nr = 16;
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "gemm_s8x4_f32_1x16c8__scalar"; }

  template <class... S>
  static void run(const gemm_q4_args& g, const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                  std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    const std::ptrdiff_t gsz = g.weights.group_size();
    const std::ptrdiff_t groups = g.weights.groups();
    const bool zp = g.weights.has_zero_points();
    for (std::ptrdiff_t m = m_begin; m < m_end; ++m) {
      const std::int8_t* a = g.a + m * g.lda;
      const std::int32_t* sums = g.group_sums + m * g.lds;
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const std::ptrdiff_t n0 = p * nr;
        const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
        float acc[nr] = {};
        for (std::ptrdiff_t gi = 0; gi < groups; ++gi) {
          const unsigned char* b = g.weights.group(p, gi);
          std::int32_t isum[nr] = {};
          for (std::ptrdiff_t c = 0; c < gsz / 8; ++c) {
            const std::int8_t* ak = a + gi * gsz + 8 * c;
            for (std::ptrdiff_t j = 0; j < columns; ++j) {
              for (int t = 0; t < 4; ++t) {
                const unsigned byte = b[c * 64 + 4 * j + t];
                isum[j] += std::int32_t{ak[t]} * static_cast<std::int32_t>(byte & 15u) +
                           std::int32_t{ak[t + 4]} * static_cast<std::int32_t>(byte >> 4);
              }
            }
          }
          for (std::ptrdiff_t j = 0; j < columns; ++j) {
            const std::int32_t z = zp ? b[gsz * 8 + 64 + j] : 8;
            float s;
            std::memcpy(&s, b + gsz * 8 + 4 * j, sizeof s);
            acc[j] = std::fma(static_cast<float>(isum[j] - z * sums[gi]), s, acc[j]);
          }
        }
        float* dst = g.dst + m * g.ldd + n0;
        for (std::ptrdiff_t j = 0; j < columns; ++j) {
          dst[j] = evaluate(pipeline, qsparse::detail::product_not_fused(acc[j], g.row_scales[m]), m, n0 + j);
        }
      }
    }
  }
};

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
