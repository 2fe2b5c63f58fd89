// qsparse/kernels/sparse_gemm_kernels.hpp — the registry of the sparse int8 GEMM (qsparse/gemm/sparse_gemm.hpp),
// lowest ISA first (kernels/registry.hpp).
//
// A sparse kernel is a struct with
//   static constexpr isa_level isa;  static constexpr sparse_format format;  static const char* name();
//   static constexpr int mr;         rows per tile (the task cut)
//   optionally static bool cpu_has_extensions(); (features beyond the ISA rung, kernels/registry.hpp)
//   template <class A, class Pipeline> static void run(const sparse_gemm_args<A, Out>&, const Pipeline&,
//       m_begin, m_end, panel_begin, panel_end);
// reading weights packed in its format (qsparse/spec/packed_sparse_weights.hpp, one layout for every ISA),
// and computes dst[m][n] = evaluate(pipeline, Σ_k (a[m][k] - a_zp) * w[k][n], m, n) exactly.
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/spgemm_2of4_x8s8_s32_1x16c4.hpp"
#include "qsparse/kernels/scalar/spgemm_bitmask_x8s8_s32_1x16c4.hpp"
#include "qsparse/kernels/scalar/spgemm_block4_x8s8_s32_1xNc4.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/spgemm_2of4_x8s8_s32_2x16c4.hpp"
#include "qsparse/kernels/avx2/spgemm_bitmask_x8s8_s32_2x16c4.hpp"
#include "qsparse/kernels/avx2/spgemm_block4_x8s8_s32_2x16c4.hpp"
#include "qsparse/kernels/avx512vnni/spgemm_2of4_u8s8_s32_8x16c4.hpp"
#include "qsparse/kernels/avx512vnni/spgemm_bitmask_u8s8_s32_8x16c4.hpp"
#include "qsparse/kernels/avx512vnni/spgemm_block4_u8s8_s32_8xNc4.hpp"
#endif
#if QSPARSE_AARCH64
#include "qsparse/kernels/neondotprod/spgemm_2of4_x8s8_s32_4x16c4.hpp"
#include "qsparse/kernels/neondotprod/spgemm_block4_x8s8_s32_4x16c4.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using sparse_gemm_kernels_x86_64 =
    kernel_list<avx2::spgemm_block4_x8s8_s32_2x16c4<16>, avx2::spgemm_block4_x8s8_s32_2x16c4<32>,
                avx2::spgemm_2of4_x8s8_s32_2x16c4, avx2::spgemm_bitmask_x8s8_s32_2x16c4,
                avx512_vnni::spgemm_block4_u8s8_s32_8xNc4<16>, avx512_vnni::spgemm_block4_u8s8_s32_8xNc4<32>,
                avx512_vnni::spgemm_2of4_u8s8_s32_8x16c4, avx512_vnni::spgemm_bitmask_u8s8_s32_8x16c4>;
#else
using sparse_gemm_kernels_x86_64 = kernel_list<>;
#endif

#if QSPARSE_AARCH64
using sparse_gemm_kernels_aarch64 =
    kernel_list<neon_dotprod::spgemm_block4_x8s8_s32_4x16c4<16>, neon_dotprod::spgemm_block4_x8s8_s32_4x16c4<32>,
                neon_dotprod::spgemm_2of4_x8s8_s32_4x16c4>;
#else
using sparse_gemm_kernels_aarch64 = kernel_list<>;
#endif

/// The sparse int8 GEMM's kernels (avx512 runs the avx2 ones; on aarch64 the bitmask format runs the scalar one).
using sparse_gemm_kernels =
    kernel_list_concat_t<kernel_list<scalar::spgemm_block4_x8s8_s32_1xNc4<16>, scalar::spgemm_block4_x8s8_s32_1xNc4<32>,
                                     scalar::spgemm_2of4_x8s8_s32_1x16c4, scalar::spgemm_bitmask_x8s8_s32_1x16c4>,
                         sparse_gemm_kernels_x86_64, sparse_gemm_kernels_aarch64>;

}  // namespace kernels
}  // namespace qsparse
