// qsparse/kernels/quantize_kernels.hpp — the registry of quantize and dequantize (qsparse/quant/quantize.hpp): float to 8/16-bit storage and back, per tensor and channel-wise, lowest ISA first (kernels/registry.hpp). Each entry
// is the `quantize_kernel` struct of an ISA's kernels/<isa>/quantize.hpp, bit-exact with the scalar one.
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/quantize.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/quantize.hpp"
#include "qsparse/kernels/avx512/quantize.hpp"
#endif
#if QSPARSE_AARCH64
#include "qsparse/kernels/neon/quantize.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using quantize_kernels_x86_64 = kernel_list<avx2::quantize_kernel, avx512::quantize_kernel>;
#else
using quantize_kernels_x86_64 = kernel_list<>;
#endif

#if QSPARSE_AARCH64
using quantize_kernels_aarch64 = kernel_list<neon::quantize_kernel>;
#else
using quantize_kernels_aarch64 = kernel_list<>;
#endif

using quantize_kernels =
    kernel_list_concat_t<kernel_list<scalar::quantize_kernel>, quantize_kernels_x86_64, quantize_kernels_aarch64>;

}  // namespace kernels
}  // namespace qsparse
