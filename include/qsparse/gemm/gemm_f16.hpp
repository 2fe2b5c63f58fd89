// qsparse/gemm/gemm_f16.hpp — the float16-weight GEMM: float activations × weights stored as IEEE
// binary16, computed in float32 (TFLite's float16 weights are dequantized by an exact cast, docs/numerics.md;
// here the cast happens inside the kernel, so the weights stay half the size in memory).
//
//   auto packed = qsparse::pack_weights_f16(w_kxn);    // once per layer (packed_weights_f16.hpp)
//   qsparse::gemm_f16(ctx, a_mxk, packed, dst_mxn,
//                     qsparse::pipeline(qsparse::bias_add_float{bias}, qsparse::clamp_float{0.0f, 6.0f}));
//
// computes, for every (m, n) (reference_gemm_f16 in qsparse/gemm/reference_f16.hpp is the definition):
//   acc = +0.0f;  for k = 0 .. K-1 in order: acc = fma(a[m][k], float(w16[k][n]), acc)   (one rounding)
//   dst[m][n] = evaluate(pipeline, acc, m, n)
// (gemm_f16(..., pipeline, qsparse::f16_multiply_then_add{}) instead: acc = acc + (a[m][k] * float(w16[k][n]))
// with the product rounded first, never fused: TFLite's reference float16-weight FC; the fast paths run
// vmulps then vaddps; qsparse/spec/f16_accumulation.hpp)
// where float(w16) is exact and the pipeline holds only float stages: bias_add_float (acc + bias[n], one
// IEEE addition) and clamp_float, in any order, or nothing. Every kernel produces these bits exactly for
// every input, including infinities and subnormals, under the default floating-point environment (round to
// nearest, no flush-to-zero / denormals-are-zero in MXCSR); a NaN result is a NaN whose sign and payload
// are unspecified (IEEE leaves NaN propagation open, and std::fma and vfmadd231ps pick different operands).
//   * a: M×K view of float, contiguous along K (any row stride);
//   * packed: weights packed by pack_weights_f16 for an ISA this CPU runs (under the ISA ceiling);
//   * dst: M×N view of float, contiguous along N (any row stride).
// Work is cut as in the int8 GEMM (qsparse/gemm/panel_tasks.hpp); K is never split, so the result is
// identical for every thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/packed_weights_f16.hpp"
#include "qsparse/gemm/panel_tasks.hpp"
#include "qsparse/gemm/scalar_epilogue.hpp"
#include "qsparse/kernels/gemm_f16_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/spec/f16_accumulation.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

/// The float16-weight GEMM's kernels (the registry, qsparse/kernels/gemm_f16_kernels.hpp).
using kernels::gemm_f16_kernels;

/// The name of the kernel gemm_f16 runs for weights packed for `isa` ("none" when there is none).
inline const char* gemm_f16_kernel_name(isa_level isa) {
  return detail::panel_kernel_name(gemm_f16_kernels{}, isa, weights_f16_geometry(isa));
}

/// The name of the kernel gemm_f16 runs for these packed weights ("none" when no kernel reads them here).
inline const char* selected_kernel_name(const packed_weights_f16_view& weights) {
  if (weights.empty()) return "none";
  return detail::panel_kernel_name(gemm_f16_kernels{}, weights.isa(), weights.geometry());
}

namespace detail {

template <class Stage>
inline constexpr bool is_float_stage_v = std::is_same_v<Stage, bias_add_float> || std::is_same_v<Stage, clamp_float>;

/// Validates the float16-weight GEMM's operands; throws qsparse::error naming the argument and its value.
template <class AView, class DView>
void check_gemm_f16_operands(const char* fn, const AView& a, const packed_weights_f16_view& w, const DView& dst) {
  check_panel_gemm_operands(fn, a, w, dst);
}


}  // namespace detail

/// dst = pipeline(Σ_k a * float(w16)) with pre-packed float16 weights, summed as Sum says (f16_fma_chain or
/// f16_multiply_then_add). See the top of this header.
template <class A, class LA, class AA, class D, class LD, class AD, class... S, class Sum>
void gemm_f16(const context& ctx, const tensor_view<A, 2, LA, AA>& activations, const packed_weights_f16_view& weights,
              const tensor_view<D, 2, LD, AD>& destination, const output_pipeline<S...>& pipeline, Sum) {
  static_assert(detail::is_f16_accumulation_v<Sum>,
                "qsparse::gemm_f16: the summation must be qsparse::f16_fma_chain or qsparse::f16_multiply_then_add.");
  static_assert(std::is_same_v<std::remove_const_t<A>, float>,
                "qsparse::gemm_f16: activations must be a 2-D view of float.");
  static_assert(std::is_same_v<D, float>,
                "qsparse::gemm_f16: the destination must be a 2-D view of (non-const) float.");
  static_assert(((detail::is_float_stage_v<S> || detail::is_custom_stage_v<S>) && ...),
                "qsparse::gemm_f16: the output pipeline may only hold float stages: bias_add_float, clamp_float and "
                "stages of your own from float to float.");
  const char* fn = "qsparse::gemm_f16";
  detail::check_gemm_f16_operands(fn, activations, weights, destination);
  validate(pipeline, weights.n(), fn);
  if constexpr (detail::pipeline_has_custom_stage_v<output_pipeline<S...>>) {
    // A stage of the caller's own: the kernels write raw accumulators, its scalar definition the output.
    detail::run_with_scalar_epilogue<float>(destination, pipeline, [&](const auto& raw) {
      gemm_f16(ctx, activations, weights, raw, output_pipeline<>{}, Sum{});
    });
  } else {
    if (activations.extent(0) == 0) return;
    kernels::gemm_panel_args<float, packed_weights_f16_view, float> g{
        &activations(0, 0),    activations.extent(0) > 1 ? activations.stride(0) : weights.k(),
        activations.extent(0), activations.extent(1),
        weights.n(),           weights,
        &destination(0, 0),    destination.extent(0) > 1 ? destination.stride(0) : weights.n()};
    detail::dispatch_panel_kernel(kernels::gemm_f16_kernels_for<Sum>{}, fn, ctx, g, pipeline);
  }
}

/// dst = pipeline(Σ_k fma-chained a * float(w16)) with pre-packed float16 weights (the default summation).
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void gemm_f16(const context& ctx, const tensor_view<A, 2, LA, AA>& activations, const packed_weights_f16_view& weights,
              const tensor_view<D, 2, LD, AD>& destination, const output_pipeline<S...>& pipeline) {
  gemm_f16(ctx, activations, weights, destination, pipeline, f16_fma_chain{});
}

/// One-off use: packs the K×N weights (float, rounded to float16, or float16) for the best ISA, then runs
/// gemm_f16.
template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD, class... S>
void gemm_f16(const context& ctx, const tensor_view<A, 2, LA, AA>& activations,
              const tensor_view<W, 2, LW, AW>& weights, const tensor_view<D, 2, LD, AD>& destination,
              const output_pipeline<S...>& pipeline) {
  const packed_weights_f16 packed = pack_weights_f16(weights, best_isa());
  gemm_f16(ctx, activations, packed.view(), destination, pipeline);
}

}  // namespace qsparse
