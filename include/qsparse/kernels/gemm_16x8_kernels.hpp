// qsparse/kernels/gemm_16x8_kernels.hpp — the registry of the 16x8 GEMM (int16 activations × int8 weights,
// int64 accumulators; qsparse/gemm/gemm_16x8.hpp), lowest ISA first (kernels/registry.hpp).
//
// A 16x8 kernel is a struct with
//   static constexpr isa_level isa;  static const char* name();  static constexpr int mr, nr, kr;
//   template <class Out, class Pipeline> static void run(const gemm_panel_args<std::int16_t,
//       packed_weights_16x8_view, Out>&, const Pipeline&, m_begin, m_end, panel_begin, panel_end);
// reading panels of its NR and KR (qsparse/spec/packed_weights_16x8.hpp), and computes
// dst[m][n] = evaluate(pipeline, Σ_k a[m][k] * w[k][n], m, n) exactly (qsparse/gemm/reference_16x8.hpp).
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/gemm_s16s8_s64_1x16c1.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/gemm_s16s8_s64_4x16c2.hpp"
#include "qsparse/kernels/avx512/gemm_s16s8_s64_8x32c2.hpp"
#include "qsparse/kernels/avx512vnni/gemm_s16s8_s64_8x32c2.hpp"
#endif
#if QSPARSE_AARCH64
#include "qsparse/kernels/neon/gemm_s16s8_s64_4x16c1.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using gemm_16x8_kernels_x86_64 = kernel_list<avx2::gemm_s16s8_s64_4x16c2, avx512::gemm_s16s8_s64_8x32c2,
                                             avx512_vnni::gemm_s16s8_s64_8x32c2>;
#else
using gemm_16x8_kernels_x86_64 = kernel_list<>;
#endif

/// The 16x8 GEMM's kernels.
#if QSPARSE_AARCH64
using gemm_16x8_kernels_aarch64 = kernel_list<neon::gemm_s16s8_s64_4x16c1>;
#else
using gemm_16x8_kernels_aarch64 = kernel_list<>;
#endif

using gemm_16x8_kernels = kernel_list_concat_t<kernel_list<scalar::gemm_s16s8_s64_1x16c1>, gemm_16x8_kernels_x86_64,
                                               gemm_16x8_kernels_aarch64>;

}  // namespace kernels
}  // namespace qsparse
