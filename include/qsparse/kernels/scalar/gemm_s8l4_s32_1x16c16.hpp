// qsparse/kernels/scalar/gemm_s8l4_s32_1x16c16.hpp — the portable clustered GEMM: one row × one panel of 16
// columns, reading the packed layout of qsparse/spec/packed_clustered_weights.hpp (4-bit indices looked up
// in each column's int8 codebook). Computes the definition directly (qsparse/gemm/reference_clustered.hpp):
// Σ_{k<K} (a[m][k] - a_zp) * codebook[n][idx[k][n]] in int32 (modulo 2^32, exact where the entry accepts K),
// then evaluate(pipeline, ., m, n).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/isa.hpp"
#include "qsparse/spec/gemm_clustered_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_clustered_weights.hpp"

namespace qsparse {
namespace kernels {
namespace scalar {

struct gemm_s8l4_s32_1x16c16 {
  static constexpr int mr = 1;
  static constexpr int nr = 16;
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "gemm_s8l4_s32_1x16c16__scalar"; }

  template <class Out, class... S>
  static void run(const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                  std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
      const unsigned char* panel = g.weights.panel(p);
      const std::ptrdiff_t n0 = p * nr;
      const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
      for (std::ptrdiff_t m = m_begin; m < m_end; ++m) {
        const std::int8_t* a = g.a + m * g.lda;
        std::uint32_t acc[nr] = {};
        for (std::ptrdiff_t j = 0; j < columns; ++j) {
          const unsigned char* table = panel + 64 * (j % 4) + 16 * (j / 4);
          for (std::ptrdiff_t k = 0; k < g.k; ++k) {
            const unsigned char byte = panel[256 + 256 * (k / 32) + 64 * (j % 4) + 16 * (j / 4) + k % 16];
            const unsigned index = k % 32 < 16 ? byte & 15u : byte >> 4;
            const std::int32_t w = static_cast<std::int32_t>(table[index]) - 128;
            acc[j] += static_cast<std::uint32_t>((std::int32_t{a[k]} - g.a_zero_point) * w);
          }
        }
        Out* dst = g.dst + m * g.ldd + n0;
        for (std::ptrdiff_t j = 0; j < columns; ++j) {
          dst[j] = evaluate(pipeline, static_cast<std::int32_t>(acc[j]), m, n0 + j);
        }
      }
    }
  }
};

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
