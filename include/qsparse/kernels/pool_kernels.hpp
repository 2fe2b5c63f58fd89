// qsparse/kernels/pool_kernels.hpp — the registry of int8 max and average pooling (qsparse/conv/pooling.hpp): each kernel has `isa`,
// `name()` and the entry points of qsparse/spec/pool_args.hpp, bit-exact with the scalar one, lowest ISA first (kernels/registry.hpp).
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/pool_s8.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/pool_s8.hpp"
#include "qsparse/kernels/avx512/pool_s8.hpp"
#endif
#if QSPARSE_AARCH64
#include "qsparse/kernels/neon/pool_s8.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using pool_kernels_x86_64 = kernel_list<avx2::pool_s8, avx512::pool_s8>;
#else
using pool_kernels_x86_64 = kernel_list<>;
#endif

#if QSPARSE_AARCH64
using pool_kernels_aarch64 = kernel_list<neon::pool_s8>;
#else
using pool_kernels_aarch64 = kernel_list<>;
#endif

using pool_kernels = kernel_list_concat_t<kernel_list<scalar::pool_s8>, pool_kernels_x86_64, pool_kernels_aarch64>;

}  // namespace kernels
}  // namespace qsparse
