// qsparse/gemm/gemm_clustered.hpp — the GEMM that reads clustered weights directly: 4-bit cluster indices
// looked up in registers in a per-output-channel int8 codebook (qsparse/spec/packed_clustered_weights.hpp),
// multiplied by int8 activations, int32 sums through the output pipeline.
//
//   auto packed = qsparse::pack_clustered_weights(stored_clusters);     // once (gemm/packed_clustered_weights.hpp)
//   qsparse::gemm_clustered(ctx, qsparse::quantized(a_mxk, a_zp), packed, dst_mxn, pipeline);
//
// computes dst[m][n] = evaluate(pipeline, Σ_k (a[m][k] - a_zp) * codebook[n][idx[k][n]], m, n) exactly
// (qsparse/gemm/reference_clustered.hpp is the definition), for every output stage of the int8 GEMM
// (a stage of your own runs through its scalar definition), for every thread count:
//   * a: M×K view of std::int8_t (a_zp in [-128, 127]), contiguous along K (any row stride); a plain view
//     means a_zp = 0;
//   * packed: packed for an ISA this CPU runs (under the ISA ceiling); the kernel is the last one of the
//     registry (qsparse/kernels/gemm_clustered_kernels.hpp) that ISA runs (gemm_clustered_kernel_name);
//   * dst: M×N view of the pipeline's output type, contiguous along N, sharing no memory with the inputs;
//   * K * max|a - a_zp| * 128 must be < 2^31 (K <= 65793 for a_zp = 0), checked up front.
// The real result is a_scale · packed.view().scale(n) · acc: fold the codebook scales into a per-channel
// requantization.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/packed_clustered_weights.hpp"
#include "qsparse/gemm/panel_tasks.hpp"
#include "qsparse/gemm/scalar_epilogue.hpp"
#include "qsparse/kernels/gemm_clustered_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/spec/gemm_clustered_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_clustered_weights.hpp"

namespace qsparse {

using kernels::gemm_clustered_kernels;

/// The kernel gemm_clustered runs for weights packed for `isa` ("none" when there is none).
inline const char* gemm_clustered_kernel_name(isa_level isa) {
  const char* name = kernels::selected_kernel_name(gemm_clustered_kernels{}, isa, [](auto) { return true; });
  return name != nullptr ? name : "none";
}

namespace detail {

/// Validates the clustered GEMM's operands; throws qsparse::error naming the argument and value.
template <class AView, class DView>
void check_gemm_clustered_operands(const char* fn, const AView& a, std::int32_t a_zero_point,
                                   const packed_clustered_weights_view& w, const DView& dst) {
  check_int8_gemm_operands(fn, a, a_zero_point, w, "the packed clustered weights", 0, dst);
  const isa_level allowed = best_isa();
  check(isa_runs(allowed, w.isa()), fn, ": the weights were packed for ", to_string(w.isa()),
        " but this CPU (or the ISA ceiling) allows at most ", to_string(allowed), "; pack them with isa_level::",
        to_string(allowed));
}

}  // namespace detail

/// dst = pipeline(Σ_k (a - a_zp) * codebook[n][idx[k][n]]). See the top of this header.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void gemm_clustered(const context& ctx, const quantized_operand<tensor_view<A, 2, LA, AA>>& activations,
                    const packed_clustered_weights_view& weights, const tensor_view<D, 2, LD, AD>& destination,
                    const output_pipeline<S...>& pipeline) {
  static_assert(std::is_same_v<std::remove_const_t<A>, std::int8_t>,
                "qsparse::gemm_clustered: activations must be a 2-D view of std::int8_t.");
  static_assert(std::is_same_v<typename output_pipeline<S...>::accumulator_type, std::int32_t>,
                "qsparse::gemm_clustered: the clustered GEMM accumulates in int32, so its pipeline must start with an "
                "int32 stage.");
  using out_t = typename output_pipeline<S...>::output_type;
  static_assert(std::is_same_v<D, out_t>,
                "qsparse::gemm_clustered: the output pipeline does not produce the destination's element type: end "
                "the pipeline with saturating_cast<T> for an int8/uint8/int16 destination, dequantize_float for "
                "float, or use an int32 destination for the empty pipeline.");
  const char* fn = "qsparse::gemm_clustered";
  const auto& a = activations.view;
  detail::check_gemm_clustered_operands(fn, a, activations.zero_point, weights, destination);
  validate(pipeline, weights.n(), fn);
  if constexpr (detail::pipeline_has_custom_stage_v<output_pipeline<S...>>) {
    detail::run_with_scalar_epilogue<std::int32_t>(destination, pipeline, [&](const auto& raw) {
      gemm_clustered(ctx, activations, weights, raw, output_pipeline<>{});
    });
  } else {
    if (a.extent(0) == 0) return;
    const kernels::gemm_clustered_args<out_t> g{&a(0, 0),
                                                a.extent(0) > 1 ? a.stride(0) : weights.k(),
                                                activations.zero_point,
                                                a.extent(0),
                                                a.extent(1),
                                                weights.n(),
                                                weights,
                                                &destination(0, 0),
                                                destination.extent(0) > 1 ? destination.stride(0) : weights.n()};
    const bool ran = kernels::with_best_kernel(gemm_clustered_kernels{}, weights.isa(), [&](auto kernel) {
      detail::run_panel_kernel<decltype(kernel)>(ctx, g, pipeline);
    });
    detail::check(ran, fn, ": no kernel reads clustered weights packed for ", to_string(weights.isa()));
  }
}

/// The same with activations whose zero point is 0.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void gemm_clustered(const context& ctx, const tensor_view<A, 2, LA, AA>& activations,
                    const packed_clustered_weights_view& weights, const tensor_view<D, 2, LD, AD>& destination,
                    const output_pipeline<S...>& pipeline) {
  gemm_clustered(ctx, quantized(activations, 0), weights, destination, pipeline);
}

}  // namespace qsparse
