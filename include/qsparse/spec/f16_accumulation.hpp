// qsparse/spec/f16_accumulation.hpp — how the float16-weight GEMM (qsparse/gemm/gemm_f16.hpp) sums one
// output: the accumulation tags its entry points, reference and kernels take (docs/numerics.md).
//
//   f16_fma_chain         (the default) acc = fma(a[m][k], float(w16[k][n]), acc) for k in order: one
//                         rounding per step (vfmadd231ps, std::fma).
//   f16_multiply_then_add acc = acc + (a[m][k] * float(w16[k][n])) for k in order: the product rounded to
//                         float, then the sum rounded, never fused into one FMA (vmulps then vaddps).
//                         TFLite's reference FULLY_CONNECTED on float16 weights (the converter's float16
//                         mode: the weights are dequantized, then a float FC adds one product at a time),
//                         measured on LiteRT 2.3.
// Both start from acc = +0.0f and run k in order, so every kernel and thread count gives the same bits.
#pragma once

#include <type_traits>

namespace qsparse {

/// The float16-weight GEMM's default summation: a fused multiply-add chain.
struct f16_fma_chain {
  static constexpr const char* name = "f16_fma_chain";
};

/// Each product rounded to float, then added (rounded again): TFLite's reference float FC.
struct f16_multiply_then_add {
  static constexpr const char* name = "f16_multiply_then_add";
};

namespace detail {
template <class Sum>
inline constexpr bool is_f16_accumulation_v =
    std::is_same_v<Sum, f16_fma_chain> || std::is_same_v<Sum, f16_multiply_then_add>;
}  // namespace detail

}  // namespace qsparse
