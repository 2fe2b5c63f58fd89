// qsparse/kernels/gemm_q4_kernels.hpp — the registries of the 4-bit group-wise weight GEMMs
// (qsparse/gemm/gemm_q4.hpp), lowest ISA first (kernels/registry.hpp):
//
//   gemm_q4_kernels      int8 activations (quantized per row by the entry) × 4-bit weights → float;
//                        run(const gemm_q4_args&, pipeline, m_begin, m_end, panel_begin, panel_end)
//   gemm_q4_f32_kernels  float activations × 4-bit weights dequantized in registers → float;
//                        run(const gemm_panel_args<float, packed_weights_q4_view, float>&, ...)
//
// Every kernel reads the one layout of qsparse/spec/packed_weights_q4.hpp (NR = 16, 8 k per chunk) and
// exposes isa, name(), mr, nr (16); it computes qsparse/gemm/reference_q4.hpp exactly. Selection takes the
// last kernel the weights' ISA runs (avx512_vnni runs the avx512 float kernel).
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/gemm_f32x4_f32_1x16c8.hpp"
#include "qsparse/kernels/scalar/gemm_s8x4_f32_1x16c8.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/gemm_f32x4_f32_4x16c8.hpp"
#include "qsparse/kernels/avx2/gemm_s8x4_f32_4x16c8.hpp"
#include "qsparse/kernels/avx512/gemm_f32x4_f32_8x16c8.hpp"
#include "qsparse/kernels/avx512vnni/gemm_s8x4_f32_8x16c8.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using gemm_q4_kernels_x86_64 = kernel_list<avx2::gemm_s8x4_f32_4x16c8, avx512_vnni::gemm_s8x4_f32_8x16c8>;
using gemm_q4_f32_kernels_x86_64 = kernel_list<avx2::gemm_f32x4_f32_4x16c8, avx512::gemm_f32x4_f32_8x16c8>;
#else
using gemm_q4_kernels_x86_64 = kernel_list<>;
using gemm_q4_f32_kernels_x86_64 = kernel_list<>;
#endif

/// int8 activations × 4-bit weights (avx512 without VNNI runs the avx2 kernel).
using gemm_q4_kernels = kernel_list_concat_t<kernel_list<scalar::gemm_s8x4_f32_1x16c8>, gemm_q4_kernels_x86_64>;
/// float activations × 4-bit weights.
using gemm_q4_f32_kernels =
    kernel_list_concat_t<kernel_list<scalar::gemm_f32x4_f32_1x16c8>, gemm_q4_f32_kernels_x86_64>;

}  // namespace kernels
}  // namespace qsparse
