// qsparse/kernels/scalar/spgemm_block4_x8s8_s32_1xNc4.hpp — the portable block-sparse int8 GEMM: one row
// × one panel of NB (16 or 32) columns per tile, visiting only the stored 4 × NB blocks (formats
// block_4x16 and block_4x32 of qsparse/spec/packed_sparse_weights.hpp). Plain C++; the output stages
// are the scalar definition `evaluate`.
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

template <int NB>
struct spgemm_block4_x8s8_s32_1xNc4 {
  static_assert(NB == 16 || NB == 32, "spgemm_block4_x8s8_s32_1xNc4: NB must be 16 or 32");
  static constexpr int mr = 1;
  static constexpr int nb = NB;
  static constexpr isa_level isa = isa_level::scalar;
  static constexpr sparse_format format = NB == 16 ? sparse_format::block_4x16 : sparse_format::block_4x32;
  static const char* name() {
    return NB == 16 ? "spgemm_block4x16_x8s8_s32_1x16c4__scalar" : "spgemm_block4x32_x8s8_s32_1x32c4__scalar";
  }

  template <class A, class... S>
  static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                  const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
                  std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    // The row as int32 (a - a_zp), zero padded to whole groups: the inner loop needs no tail.
    std::int32_t* row = thread_scratch<std::int32_t>(static_cast<std::size_t>(kp));
    const std::int64_t* start = g.weights.panel_start();
    const std::uint32_t* block_k = g.weights.block_k();
    for (std::ptrdiff_t m = m_begin; m < m_end; ++m) {
      const A* a = g.a + m * g.lda;
      for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) row[kk] = static_cast<std::int32_t>(a[kk]) - g.a_zero_point;
      for (std::ptrdiff_t kk = g.k; kk < kp; ++kk) row[kk] = 0;
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        std::int32_t acc[std::size_t{NB}] = {};
        for (std::int64_t b = start[p]; b < start[p + 1]; ++b) {
          const std::int32_t* x = row + block_k[b];
          const std::int8_t* w = g.weights.values(b);
          for (int c = 0; c < NB; ++c) {
            acc[c] += x[0] * w[4 * c] + x[1] * w[4 * c + 1] + x[2] * w[4 * c + 2] + x[3] * w[4 * c + 3];
          }
        }
        const std::ptrdiff_t n0 = p * NB;
        const std::ptrdiff_t columns = g.n - n0 < NB ? g.n - n0 : NB;
        auto* dst = g.dst + m * g.ldd + n0;
        for (std::ptrdiff_t j = 0; j < columns; ++j) dst[j] = evaluate(pipeline, acc[j], m, n0 + j);
      }
    }
  }
};

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
