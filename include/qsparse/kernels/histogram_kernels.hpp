// qsparse/kernels/histogram_kernels.hpp — the registry of histogram binning (qsparse/calibrate/histogram.hpp), lowest ISA first (kernels/registry.hpp). Each entry
// is the `histogram_kernel` struct of an ISA's kernels/<isa>/histogram.hpp, bit-exact with the scalar one.
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/histogram.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/histogram.hpp"
#include "qsparse/kernels/avx512/histogram.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using histogram_kernels_x86_64 = kernel_list<avx2::histogram_kernel, avx512::histogram_kernel>;
#else
using histogram_kernels_x86_64 = kernel_list<>;
#endif

using histogram_kernels = kernel_list_concat_t<kernel_list<scalar::histogram_kernel>, histogram_kernels_x86_64>;

}  // namespace kernels
}  // namespace qsparse
