// qsparse/kernels/gemm_kernels.hpp — the registry of the int8 GEMM (qsparse/gemm/gemm.hpp): every kernel,
// lowest ISA first, the later one preferred where it runs and accepts the weights (kernels/registry.hpp).
//
// A GEMM kernel is a struct with
//   static constexpr isa_level isa;  static constexpr packed_layout layout;  static const char* name();
//   static constexpr int mr, nr, kr;             rows and columns of a tile, k per weight group
//   static bool accepts(const packed_weights_view&)   (optional) the weights it takes; all when absent
//   static constexpr bool row_output_stage = true;    (optional) its epilogue evaluates dequantize_rows_float
//                                                     (qsparse/spec/hybrid_output_stage.hpp); without it
//                                                     gemm() runs that stage through the scalar epilogue
//   template <class A, class Pipeline> static void run(const gemm_args<A, Out>&, const Pipeline&,
//       std::ptrdiff_t m_begin, std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end);
// and computes dst[m][n] = evaluate(pipeline, Σ_k (a[m][k] - a_zp) * (w[k][n] - w_zp), m, n) on its block,
// exactly (qsparse/gemm/reference.hpp is the definition). pack_weights(w, w_zp, isa) packs the layout of
// the last kernel of the list that `isa` runs.
#pragma once

#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/gemm_x8s8_s32_1x16c1.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/gemm_x8s8_s32_4x16c2.hpp"
#include "qsparse/kernels/avx2/gemm_x8s8_s32_6x16c2.hpp"
#include "qsparse/kernels/avx512/gemm_x8s8_s32_8x32c2.hpp"
#include "qsparse/kernels/amx/gemm_x8s8_s32_32x32c4.hpp"
#include "qsparse/kernels/avx512vnni/gemm_u8s8_s32_4x32c4.hpp"
#include "qsparse/kernels/avx512vnni/gemm_u8s8_s32_8x32c4.hpp"
#include "qsparse/kernels/avxvnni/gemm_u8s8_s32_6x16c4.hpp"
#include "qsparse/kernels/avxvnni/gemm_u8s8_s32_6x32c4.hpp"
#endif
#if QSPARSE_AARCH64
#include "qsparse/kernels/neondotprod/gemm_x8s8_s32_4x16c4.hpp"
#include "qsparse/kernels/neondotprod/gemm_x8s8_s32_4x8c4.hpp"
#include "qsparse/kernels/neoni8mm/gemm_x8s8_s32_4x16c8.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
// The AVX-VNNI kernel (the side rung avx_vnni, core/isa.hpp) reads the AVX-512 VNNI layout s8_c4_nr32 and
// comes before the AVX-512 kernels: where both run (avx512_vnni), theirs win. Each shallow-K tile (K <= 32)
// follows the deep kernel of its ISA and layout, which it specialises (accepts). The AMX kernel reads the
// same layout and sits between the VNNI deep kernel and the VNNI shallow one: on amx_int8 it takes every
// K but the shallow kernel's (K <= 32, symmetric weights), which stays on VNNI.
using gemm_kernels_x86_64 =
    kernel_list<avx2::gemm_x8s8_s32_4x16c2, avx2::gemm_x8s8_s32_6x16c2, avx_vnni::gemm_u8s8_s32_6x32c4,
                avx_vnni::gemm_u8s8_s32_6x16c4, avx512::gemm_x8s8_s32_8x32c2, avx512_vnni::gemm_u8s8_s32_8x32c4,
                amx_int8::gemm_x8s8_s32_32x32c4, avx512_vnni::gemm_u8s8_s32_4x32c4>;
#else
using gemm_kernels_x86_64 = kernel_list<>;
#endif

#if QSPARSE_AARCH64
// The shallow sdot tile (K <= 32, symmetric weights) after the deep one it specialises; the i8mm tile
// last, so weights packed for neon_i8mm keep its layout (gemm_layout_for).
using gemm_kernels_aarch64 = kernel_list<neon_dotprod::gemm_x8s8_s32_4x16c4, neon_dotprod::gemm_x8s8_s32_4x8c4,
                                         neon_i8mm::gemm_x8s8_s32_4x16c8>;
#else
using gemm_kernels_aarch64 = kernel_list<>;
#endif

/// The int8 GEMM's kernels.
using gemm_kernels =
    kernel_list_concat_t<kernel_list<scalar::gemm_x8s8_s32_1x16c1>, gemm_kernels_x86_64, gemm_kernels_aarch64>;

/// True when the GEMM kernel K reads these weights: their layout, and whatever K::accepts asks.
template <class K>
bool gemm_kernel_accepts(const packed_weights_view& weights) noexcept {
  if (K::layout != weights.layout()) return false;
  if constexpr (has_accepts_v<K, packed_weights_view>) {
    return K::accepts(weights);
  } else {
    return true;
  }
}

namespace detail {
template <class K, class = void>
struct has_row_output_stage : std::false_type {};
template <class K>
struct has_row_output_stage<K, std::void_t<decltype(K::row_output_stage)>> : std::bool_constant<K::row_output_stage> {};
}  // namespace detail

/// True when the GEMM kernel K evaluates dequantize_rows_float in its epilogue.
template <class K>
inline constexpr bool has_row_output_stage_v = detail::has_row_output_stage<K>::value;

/// The layout pack_weights packs for `isa`: that of the last GEMM kernel `isa` runs.
inline packed_layout gemm_layout_for(isa_level isa) {
  packed_layout layout = scalar::gemm_x8s8_s32_1x16c1::layout;
  with_best_kernel(gemm_kernels{}, isa, [&](auto kernel) { layout = decltype(kernel)::layout; });
  return layout;
}

}  // namespace kernels
}  // namespace qsparse
