// qsparse/kernels/scalar/spgemm_2of4_x8s8_s32_1x16c4.hpp — the portable 2:4-sparse int8 GEMM: one row ×
// one panel of 16 columns per tile, four multiply-adds per column and pair of groups (8 k), each with the
// activation its stored slot position selects (format two_of_four of qsparse/spec/packed_sparse_weights.hpp). Plain C++; the output stages are the scalar `evaluate`.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/sparse_gemm_args.hpp"

namespace qsparse {
namespace kernels {
namespace scalar {

struct spgemm_2of4_x8s8_s32_1x16c4 {
  static constexpr int mr = 1;
  static constexpr int nb = 16;
  static constexpr isa_level isa = isa_level::scalar;
  static constexpr sparse_format format = sparse_format::two_of_four;
  static const char* name() { return "spgemm_2of4_x8s8_s32_1x16c4__scalar"; }

  template <class A, class... S>
  static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                  const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
                  std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t pairs = g.weights.pairs();
    std::int32_t* row = thread_scratch<std::int32_t>(static_cast<std::size_t>(kp));
    for (std::ptrdiff_t m = m_begin; m < m_end; ++m) {
      const A* a = g.a + m * g.lda;
      for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) row[kk] = static_cast<std::int32_t>(a[kk]) - g.a_zero_point;
      for (std::ptrdiff_t kk = g.k; kk < kp; ++kk) row[kk] = 0;
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        std::int32_t acc[16] = {};
        const std::uint8_t* positions = g.weights.positions(p);
        for (std::ptrdiff_t j = 0; j < pairs; ++j) {
          const std::int8_t* w = g.weights.values(p * pairs + j);
          const std::uint8_t* pos = positions + (j / 4) * 64;
          const int shift = static_cast<int>(2 * (j % 4));
          const std::int32_t* x = row + 8 * j;
          for (int c = 0; c < 16; ++c) {
            for (int s = 0; s < 4; ++s) {
              // Kept value s selects activation 4 (s / 2) + slot of the pair's 8.
              const int slot = (pos[4 * c + s] >> shift) & 3;
              acc[c] += x[4 * (s / 2) + slot] * w[4 * c + s];
            }
          }
        }
        const std::ptrdiff_t n0 = p * 16;
        const std::ptrdiff_t columns = g.n - n0 < 16 ? g.n - n0 : 16;
        auto* dst = g.dst + m * g.ldd + n0;
        for (std::ptrdiff_t j = 0; j < columns; ++j) dst[j] = evaluate(pipeline, acc[j], m, n0 + j);
      }
    }
  }
};

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
