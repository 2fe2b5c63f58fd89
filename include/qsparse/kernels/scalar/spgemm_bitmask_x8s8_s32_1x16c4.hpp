// qsparse/kernels/scalar/spgemm_bitmask_x8s8_s32_1x16c4.hpp — the portable unstructured sparse int8 GEMM:
// one row × one panel of 16 columns per tile, reading the bitmask format of
// qsparse/spec/packed_sparse_weights.hpp (a 64-bit mask per 16 columns × 4 k, the nonzero values in mask-bit
// order). Plain C++, one multiply-add per stored weight; the output stages are the scalar definition
// `evaluate`. This is the definition the SIMD bitmask kernels are tested against (beside reference_gemm).
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

struct spgemm_bitmask_x8s8_s32_1x16c4 {
  static constexpr int mr = 1;
  static constexpr int nb = 16;
  static constexpr isa_level isa = isa_level::scalar;
  static constexpr sparse_format format = sparse_format::bitmask;
  static const char* name() { return "spgemm_bitmask_x8s8_s32_1x16c4__scalar"; }

  template <class A, class... S>
  static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                  const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
                  std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::int64_t groups = g.weights.groups();
    std::int32_t* row = thread_scratch<std::int32_t>(static_cast<std::size_t>(kp));
    const std::int64_t* start = g.weights.value_start();
    const std::int8_t* values = g.weights.bitmask_values();
    for (std::ptrdiff_t m = m_begin; m < m_end; ++m) {
      const A* a = g.a + m * g.lda;
      for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) row[kk] = static_cast<std::int32_t>(a[kk]) - g.a_zero_point;
      for (std::ptrdiff_t kk = g.k; kk < kp; ++kk) row[kk] = 0;
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        // Sums modulo 2^32 (unsigned): the entry's bound makes the final sum exact; partial sums of
        // terms of both signs may pass it on the way, which int32 arithmetic would not allow.
        std::uint32_t acc[16] = {};
        const std::uint64_t* masks = g.weights.masks(p);
        const std::int8_t* v = values + start[p];
        for (std::int64_t grp = 0; grp < groups; ++grp) {
          const std::int32_t* x = row + 4 * grp;
          for (std::uint64_t bits = masks[grp]; bits != 0; bits &= bits - 1u) {
            const int bit = qsparse::detail::lowest_bit64(bits);
            acc[bit / 4] += static_cast<std::uint32_t>(x[bit % 4] * *v++);
          }
        }
        const std::ptrdiff_t n0 = p * 16;
        const std::ptrdiff_t columns = g.n - n0 < 16 ? g.n - n0 : 16;
        auto* dst = g.dst + m * g.ldd + n0;
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
