// qsparse/kernels/scalar/gemm_s16s8_s64_1x16c1.hpp — the portable 16x8 GEMM (int16 activations × int8
// weights, exact int64 sums): one row × 16 columns per tile, weights packed as int16 with KR = 1
// (qsparse/spec/packed_weights_16x8.hpp). Plain C++ that a compiler vectorises for the host's own flags.
//
// Each product is at most 32768 * 128 = 2^22 in magnitude, so int32 partial sums over blocks of
// block_k = 511 k are exact (511 * 2^22 < 2^31); each block is then added into int64 accumulators, which
// are exact for any K the packing accepts (K <= 2^31: |sum| <= 2^53). The output stages are the scalar
// definition `evaluate` on the int64 sums.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/isa.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_16x8.hpp"

namespace qsparse {
namespace kernels {
namespace scalar {

struct gemm_s16s8_s64_1x16c1 {
  static constexpr int mr = 1;
  static constexpr int nr = 16;
  static constexpr int kr = 1;
  static constexpr isa_level isa = isa_level::scalar;
  /// k per exact int32 block: 511 * 2^22 < 2^31.
  static constexpr std::ptrdiff_t block_k = 511;
  static const char* name() { return "gemm_s16s8_s64_1x16c1__scalar"; }

  template <class Out, class... S>
  static void run(const gemm_panel_args<std::int16_t, packed_weights_16x8_view, Out>& g,
                  const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
                  std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    for (std::ptrdiff_t m = m_begin; m < m_end; ++m) {
      const std::int16_t* a = g.a + m * g.lda;
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto* w = static_cast<const std::int16_t*>(g.weights.panel(p));
        std::int64_t acc[nr] = {};
        for (std::ptrdiff_t k0 = 0; k0 < g.k; k0 += block_k) {
          const std::ptrdiff_t k1 = g.k - k0 < block_k ? g.k : k0 + block_k;
          std::int32_t part[nr] = {};
          for (std::ptrdiff_t kk = k0; kk < k1; ++kk) {
            const std::int32_t av = a[kk];
            const std::int16_t* wk = w + kk * nr;
            for (int j = 0; j < nr; ++j) part[j] += av * wk[j];
          }
          for (int j = 0; j < nr; ++j) acc[j] += part[j];
        }
        const std::ptrdiff_t n0 = p * nr;
        const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
        Out* dst = g.dst + m * g.ldd + n0;
        for (std::ptrdiff_t j = 0; j < columns; ++j) dst[j] = evaluate(pipeline, acc[j], m, n0 + j);
      }
    }
  }
};

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
