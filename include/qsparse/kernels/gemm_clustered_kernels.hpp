// qsparse/kernels/gemm_clustered_kernels.hpp — the registry of the clustered GEMM (qsparse/gemm/gemm_clustered.hpp):
// int8 activations × 4-bit cluster indices looked up in a per-column int8 codebook, int32 sums through the
// output pipeline, lowest ISA first (kernels/registry.hpp).
//
// Every kernel reads the one layout of qsparse/spec/packed_clustered_weights.hpp (NR = 16, 32 k per step)
// and exposes isa, name(), mr, nr (16); it computes qsparse/gemm/reference_clustered.hpp exactly. Selection
// takes the last kernel the weights' ISA runs.
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/gemm_s8l4_s32_1x16c16.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/gemm_s8l4_s32_2x16c16.hpp"
#include "qsparse/kernels/avx512/gemm_s8l4_s32_2x16c16.hpp"
#include "qsparse/kernels/avx512vnni/gemm_s8l4_s32_8x16c16.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using gemm_clustered_kernels_x86_64 = kernel_list<avx2::gemm_s8l4_s32_2x16c16, avx512::gemm_s8l4_s32_2x16c16,
                                                  avx512_vnni::gemm_s8l4_s32_8x16c16>;
#else
using gemm_clustered_kernels_x86_64 = kernel_list<>;
#endif

/// int8 activations × clustered 4-bit weights.
using gemm_clustered_kernels =
    kernel_list_concat_t<kernel_list<scalar::gemm_s8l4_s32_1x16c16>, gemm_clustered_kernels_x86_64>;

}  // namespace kernels
}  // namespace qsparse
