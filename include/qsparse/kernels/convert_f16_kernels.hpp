// qsparse/kernels/convert_f16_kernels.hpp — the registry of float32 <-> float16 conversion (qsparse/quant/float16.hpp), lowest ISA first (kernels/registry.hpp). Each entry
// is the `convert_f16_kernel` struct of an ISA's kernels/<isa>/convert_f16.hpp, bit-exact with the scalar one.
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/drivers/streaming.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/convert_f16.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/convert_f16.hpp"
#include "qsparse/kernels/avx512/convert_f16.hpp"
#endif
#if QSPARSE_AARCH64
#include "qsparse/kernels/neon/convert_f16.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using convert_f16_kernels_x86_64 = kernel_list<avx2::convert_f16_kernel, avx512::convert_f16_kernel>;
#else
using convert_f16_kernels_x86_64 = kernel_list<>;
#endif

#if QSPARSE_AARCH64
using convert_f16_kernels_aarch64 = kernel_list<neon::convert_f16_kernel>;
#else
using convert_f16_kernels_aarch64 = kernel_list<>;
#endif

using convert_f16_kernels = kernel_list_concat_t<kernel_list<scalar::convert_f16_kernel>, convert_f16_kernels_x86_64,
                                                 convert_f16_kernels_aarch64>;

}  // namespace kernels
}  // namespace qsparse
