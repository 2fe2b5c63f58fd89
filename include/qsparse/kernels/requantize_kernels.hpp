// qsparse/kernels/requantize_kernels.hpp — the registry of requantize (qsparse/quant/requantize.hpp): TFLite fixed-point rescaling of 8/16-bit values, lowest ISA first (kernels/registry.hpp). Each entry
// is the `requantize_kernel` struct of an ISA's kernels/<isa>/requantize.hpp, bit-exact with the scalar one.
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/requantize.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/requantize.hpp"
#include "qsparse/kernels/avx512/requantize.hpp"
#endif
#if QSPARSE_AARCH64
#include "qsparse/kernels/neon/requantize.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using requantize_kernels_x86_64 = kernel_list<avx2::requantize_kernel, avx512::requantize_kernel>;
#else
using requantize_kernels_x86_64 = kernel_list<>;
#endif

#if QSPARSE_AARCH64
using requantize_kernels_aarch64 = kernel_list<neon::requantize_kernel>;
#else
using requantize_kernels_aarch64 = kernel_list<>;
#endif

using requantize_kernels =
    kernel_list_concat_t<kernel_list<scalar::requantize_kernel>, requantize_kernels_x86_64, requantize_kernels_aarch64>;

}  // namespace kernels
}  // namespace qsparse
