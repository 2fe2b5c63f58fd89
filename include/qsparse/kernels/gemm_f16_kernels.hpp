// qsparse/kernels/gemm_f16_kernels.hpp — the registry of the float16-weight GEMM (float activations ×
// float16 weights, float accumulators; qsparse/gemm/gemm_f16.hpp), lowest ISA first (kernels/registry.hpp).
//
// A float16-weight kernel is a struct with
//   static constexpr isa_level isa;  static const char* name();  static constexpr int mr, nr, kr;
//   template <class Pipeline> static void run(const gemm_panel_args<float, packed_weights_f16_view, float>&,
//       const Pipeline&, m_begin, m_end, panel_begin, panel_end);
// reading panels of its NR (KR = 1; qsparse/spec/packed_weights_f16.hpp), and computes the fused
// multiply-add chain of qsparse/gemm/reference_f16.hpp exactly; each is a template on the summation
// (f16_fma_chain, or f16_multiply_then_add: vmulps then vaddps, never fused), both registries below.
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/gemm_f32f16_f32_1x16c1.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/gemm_f32f16_f32_6x16c1.hpp"
#include "qsparse/kernels/avx512/gemm_f32f16_f32_8x32c1.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
template <class Sum>
using gemm_f16_kernels_x86_64 =
    kernel_list<avx2::gemm_f32f16_f32_6x16c1_sum<Sum>, avx512::gemm_f32f16_f32_8x32c1_sum<Sum>>;
#else
template <class Sum>
using gemm_f16_kernels_x86_64 = kernel_list<>;
#endif

/// The float16-weight GEMM's kernels for the summation Sum (f16_fma_chain or f16_multiply_then_add,
/// qsparse/spec/f16_accumulation.hpp); avx512_vnni runs the avx512 one.
template <class Sum>
using gemm_f16_kernels_for =
    kernel_list_concat_t<kernel_list<scalar::gemm_f32f16_f32_1x16c1_sum<Sum>>, gemm_f16_kernels_x86_64<Sum>>;

/// The float16-weight GEMM's kernels of the default summation (the fused multiply-add chain).
using gemm_f16_kernels = gemm_f16_kernels_for<f16_fma_chain>;

}  // namespace kernels
}  // namespace qsparse
