// qsparse/kernels/hybrid_output_kernels.hpp — the registry of the dynamic-range GEMM's float output
// (qsparse/gemm/hybrid.hpp, step 4), lowest ISA first (kernels/registry.hpp). Each entry is the
// `hybrid_output_kernel` struct of an ISA's kernels/<isa>/hybrid_output.hpp, bit-exact with the scalar one.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/hybrid_output.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/hybrid_output.hpp"
#include "qsparse/kernels/avx512/hybrid_output.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using hybrid_output_kernels_x86_64 = kernel_list<avx2::hybrid_output_kernel, avx512::hybrid_output_kernel>;
#else
using hybrid_output_kernels_x86_64 = kernel_list<>;
#endif

using hybrid_output_kernels =
    kernel_list_concat_t<kernel_list<scalar::hybrid_output_kernel>, hybrid_output_kernels_x86_64>;

/// One output row of the dynamic-range GEMM (kernels/scalar/hybrid_output.hpp) on the best kernel `level` runs.
inline void run_hybrid_output_row(isa_level level, const std::int32_t* acc, std::ptrdiff_t n, std::int32_t zero_point,
                                  const std::int32_t* column_sums, float row_scale, const float* weight_scales,
                                  bool per_channel, const float* bias, float lo, float hi, float* dst) {
  with_best_kernel(hybrid_output_kernels{}, level, [&](auto kernel) {
    decltype(kernel)::hybrid_output_row(acc, n, zero_point, column_sums, row_scale, weight_scales, per_channel, bias, lo,
                                        hi, dst);
  });
}

}  // namespace kernels
}  // namespace qsparse
