// qsparse/kernels/fake_quantize_kernels.hpp — the registry of fake quantization forward and straight-through backward (qsparse/qat/fake_quant.hpp), lowest ISA first (kernels/registry.hpp). Each entry
// is the `fake_quantize_kernel` struct of an ISA's kernels/<isa>/fake_quant.hpp, bit-exact with the scalar one.
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/fake_quant.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/fake_quant.hpp"
#include "qsparse/kernels/avx512/fake_quant.hpp"
#endif
#if QSPARSE_AARCH64
#include "qsparse/kernels/neon/fake_quant.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using fake_quantize_kernels_x86_64 = kernel_list<avx2::fake_quantize_kernel, avx512::fake_quantize_kernel>;
#else
using fake_quantize_kernels_x86_64 = kernel_list<>;
#endif

#if QSPARSE_AARCH64
using fake_quantize_kernels_aarch64 = kernel_list<neon::fake_quantize_kernel>;
#else
using fake_quantize_kernels_aarch64 = kernel_list<>;
#endif

using fake_quantize_kernels = kernel_list_concat_t<kernel_list<scalar::fake_quantize_kernel>, fake_quantize_kernels_x86_64,
                                                   fake_quantize_kernels_aarch64>;

}  // namespace kernels
}  // namespace qsparse
