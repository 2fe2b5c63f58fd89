// qsparse/kernels/add_kernels.hpp — the registry of TFLite's int8 ADD (qsparse/conv/add.hpp): each kernel has `isa`, `name()` and
// `run(a, b, out, n, params)`, bit-exact with the scalar one, lowest ISA first (kernels/registry.hpp).
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/add_s8.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/add_s8.hpp"
#include "qsparse/kernels/avx512/add_s8.hpp"
#endif
#if QSPARSE_AARCH64
#include "qsparse/kernels/neon/add_s8.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using add_kernels_x86_64 = kernel_list<avx2::add_s8, avx512::add_s8>;
#else
using add_kernels_x86_64 = kernel_list<>;
#endif

#if QSPARSE_AARCH64
using add_kernels_aarch64 = kernel_list<neon::add_s8>;
#else
using add_kernels_aarch64 = kernel_list<>;
#endif

using add_kernels = kernel_list_concat_t<kernel_list<scalar::add_s8>, add_kernels_x86_64, add_kernels_aarch64>;

}  // namespace kernels
}  // namespace qsparse
