// qsparse/kernels/activation_kernels.hpp — the registry of the float activations of a transformer (GELU in
// its erf form, a softmax row; qsparse/conv/activation.hpp), lowest ISA first (kernels/registry.hpp). Each
// entry is the `activation_kernel` struct of an ISA's kernels/<isa>/activation.hpp, bit-exact with the
// scalar one.
#pragma once

#include <cstddef>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/activation.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/activation.hpp"
#include "qsparse/kernels/avx512/activation.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using activation_kernels_x86_64 = kernel_list<avx2::activation_kernel, avx512::activation_kernel>;
#else
using activation_kernels_x86_64 = kernel_list<>;
#endif

using activation_kernels = kernel_list_concat_t<kernel_list<scalar::activation_kernel>, activation_kernels_x86_64>;

/// y[i] = gelu(x[i]) on the best kernel `level` runs (x == y allowed).
inline void run_gelu_erf(isa_level level, const float* x, float* y, std::ptrdiff_t n) {
  with_best_kernel(activation_kernels{}, level, [&](auto kernel) { decltype(kernel)::gelu_erf(x, y, n); });
}

/// softmax of x[0..n) * scale in place on the best kernel `level` runs (n >= 1).
inline void run_softmax_row(isa_level level, float* x, std::ptrdiff_t n, float scale) {
  with_best_kernel(activation_kernels{}, level, [&](auto kernel) { decltype(kernel)::softmax_row(x, n, scale); });
}

}  // namespace kernels
}  // namespace qsparse
