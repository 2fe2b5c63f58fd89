// qsparse/kernels/row_quantize_kernels.hpp — the registry of the dynamic-range row quantizers' rounding loop
// (qsparse/gemm/hybrid.hpp), lowest ISA first (kernels/registry.hpp). Each entry is the
// `row_quantize_kernel` struct of an ISA's kernels/<isa>/row_quantize.hpp, bit-exact with the scalar one.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/row_quantize.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/row_quantize.hpp"
#include "qsparse/kernels/avx512/row_quantize.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using row_quantize_kernels_x86_64 = kernel_list<avx2::row_quantize_kernel, avx512::row_quantize_kernel>;
#else
using row_quantize_kernels_x86_64 = kernel_list<>;
#endif

using row_quantize_kernels = kernel_list_concat_t<kernel_list<scalar::row_quantize_kernel>, row_quantize_kernels_x86_64>;

/// kernels/scalar/row_quantize.hpp's loop on the best kernel `level` runs.
inline void run_quantize_row_round_away(isa_level level, const float* x, std::ptrdiff_t k, float inverse, float offset,
                                        std::int8_t* q, std::int32_t qmin) {
  with_best_kernel(row_quantize_kernels{}, level,
                   [&](auto kernel) { decltype(kernel)::quantize_row_round_away(x, k, inverse, offset, q, qmin); });
}

/// kernels/scalar/row_quantize.hpp's grouped loop (symmetric rows, each group's sum) on the best kernel
/// `level` runs.
inline void run_quantize_row_group_sums(isa_level level, const float* x, std::ptrdiff_t k, float inverse, std::int8_t* q,
                                        std::ptrdiff_t group_size, std::int32_t* sums) {
  with_best_kernel(row_quantize_kernels{}, level, [&](auto kernel) {
    decltype(kernel)::quantize_row_group_sums(x, k, inverse, q, group_size, sums);
  });
}

}  // namespace kernels
}  // namespace qsparse
