// qsparse/gemm/gemm.hpp — the int8 GEMM entry points.
//
//   auto packed = qsparse::pack_weights(w_kxn, w_zero_point);         // once per layer
//   qsparse::gemm(ctx, qsparse::quantized(a_mxk, a_zero_point), packed, dst_mxn, pipeline);
//
// computes dst[m][n] = evaluate(pipeline, Σ_k (a[m][k] - a_zp) * (w[k][n] - w_zp), m, n) exactly:
//   * a: M×K view of std::int8_t (a_zp in [-128, 127]) or std::uint8_t (a_zp in [0, 255]), contiguous
//     along K (any row stride); a plain view means a_zp = 0;
//   * packed: weights packed by pack_weights (qsparse/gemm/packed_weights.hpp) for an ISA this CPU runs
//     (under the ISA ceiling); the kernel is the one of that ISA (selected_kernel_name tells which);
//   * dst: M×N view of the pipeline's output type, contiguous along N (any row stride that keeps its rows
//     apart: a row stride of 0 or below N is an error); it must not share memory with a or the packed
//     weights (qsparse/core/overlap.hpp: an error, not garbage);
//   * the int32 accumulator never overflows: K * max|a - a_zp| * max|w - w_zp| must be < 2^31
//     (K <= 65793 for int8 activations and symmetric weights), checked up front.
// The unpacked overload gemm(ctx, quantized(a, a_zp), quantized(w, w_zp), dst, pipeline) packs into a
// temporary buffer first (one-off use). reference_gemm (qsparse/gemm/reference.hpp) is the definition.
//
// Work is cut into tasks of (row range × block of weight panels); a block's panels fit in L2 and
// consecutive tasks share it. Tasks write disjoint outputs and never combine partial sums, so the
// result is the same for every thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <type_traits>

#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "qsparse/gemm/panel_tasks.hpp"
#include "qsparse/gemm/scalar_epilogue.hpp"
#include "qsparse/kernels/gemm_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/hybrid_output_stage.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

/// A quantized operand: a view and its (per-tensor) zero point.
template <class View>
struct quantized_operand {
  View view;
  std::int32_t zero_point;
};

/// Pairs a view with its zero point for gemm().
template <class T, std::size_t Rank, class Layout, class Accessor>
quantized_operand<tensor_view<T, Rank, Layout, Accessor>> quantized(const tensor_view<T, Rank, Layout, Accessor>& view,
                                                                    std::int32_t zero_point) {
  return {view, zero_point};
}

/// The int8 GEMM's kernels (the registry, qsparse/kernels/gemm_kernels.hpp).
using kernels::gemm_kernels;

/// The name of the kernel gemm() runs for weights packed for `isa` (weights whose K no specialised kernel
/// takes; selected_kernel_name(weights) tells for given weights).
inline const char* selected_kernel_name(isa_level isa) {
  const packed_layout layout = layout_for(isa);
  const char* name = kernels::selected_kernel_name(gemm_kernels{}, isa, [&](auto kernel) {
    using K = decltype(kernel);
    return K::layout == layout && !kernels::has_accepts_v<K, packed_weights_view>;
  });
  return name != nullptr ? name : "none";
}

/// The name of the kernel gemm() runs for these packed weights ("none" when no kernel reads them here).
inline const char* selected_kernel_name(const packed_weights_view& weights) {
  if (weights.empty()) return "none";
  const char* name = kernels::selected_kernel_name(gemm_kernels{}, weights.isa(), [&](auto kernel) {
    return kernels::gemm_kernel_accepts<decltype(kernel)>(weights);
  });
  return name != nullptr ? name : "none";
}

/// Whether gemm() on these weights evaluates dequantize_rows_float (qsparse/spec/hybrid_output_stage.hpp)
/// in its kernel's epilogue; where not, it writes raw sums and applies the stage's definition over them.
inline bool gemm_evaluates_row_output(const packed_weights_view& weights) {
  bool evaluates = false;
  if (weights.empty()) return false;
  kernels::with_selected_kernel(
      gemm_kernels{}, weights.isa(), [&](auto kernel) { return kernels::gemm_kernel_accepts<decltype(kernel)>(weights); },
      [&](auto kernel) { evaluates = kernels::has_row_output_stage_v<decltype(kernel)>; });
  return evaluates;
}

namespace detail {

template <class T>
inline constexpr bool is_gemm_activation_v =
    std::is_same_v<std::remove_const_t<T>, std::int8_t> || std::is_same_v<std::remove_const_t<T>, std::uint8_t>;

/// Largest |v - zero_point| over the values of T.
template <class T>
constexpr std::int64_t max_distance(std::int32_t zero_point) noexcept {
  const std::int64_t lo = std::numeric_limits<T>::min();
  const std::int64_t hi = std::numeric_limits<T>::max();
  return std::max<std::int64_t>(zero_point - lo, hi - zero_point);
}

/// Validates the operands of an int8 GEMM on packed weights (dense or sparse: `w` has empty(), k(), n(),
/// bytes(), size_bytes(); `weights_name` names it in messages, w_zero_point is its zero point); returns
/// nothing, throws qsparse::error. One list of checks for gemm and sparse_gemm.
template <class AView, class Weights, class DView>
void check_int8_gemm_operands(const char* fn, const AView& a, std::int32_t a_zero_point, const Weights& w,
                              const char* weights_name, std::int32_t w_zero_point, const DView& dst) {
  using a_t = std::remove_const_t<typename AView::element_type>;
  check(!w.empty(), fn, ": ", weights_name, " are empty");
  const index_t m = a.extent(0);
  const index_t k = a.extent(1);
  check(k == w.k(), fn, ": activations have K = ", k, " columns but the weights were packed with K = ", w.k());
  check(dst.extent(0) == m && dst.extent(1) == w.n(), fn, ": destination is ", dst.extent(0), " x ", dst.extent(1),
        ", expected M x N = ", m, " x ", w.n());
  check(a.stride(1) == 1 || k == 1, fn, ": activations must be contiguous along K (stride(1) == 1), got stride(1) = ",
        a.stride(1));
  check(dst.stride(1) == 1 || w.n() == 1, fn,
        ": destination must be contiguous along N (stride(1) == 1), got stride(1) = ", dst.stride(1));
  check_distinct_elements(fn, "destination", dst);
  check_no_overlap(fn, "destination", dst, "activations", a);
  check_no_overlap(fn, "destination", dst, weights_name, w.bytes(), w.size_bytes());
  constexpr std::int32_t lo = std::numeric_limits<a_t>::min();
  constexpr std::int32_t hi = std::numeric_limits<a_t>::max();
  check(a_zero_point >= lo && a_zero_point <= hi, fn, ": activation zero point must be in [", lo, ", ", hi,
        "], got ", a_zero_point);
  const std::int64_t bound =
      static_cast<std::int64_t>(k) * max_distance<a_t>(a_zero_point) * max_distance<std::int8_t>(w_zero_point);
  check(bound <= std::numeric_limits<std::int32_t>::max(), fn,
        ": K = ", k, " is too deep for an exact int32 accumulator with these zero points (K * max|a - a_zp| * "
        "max|w - w_zp| = ", bound, " >= 2^31); split K");
}

/// Validates the int8 GEMM's operands; returns nothing, throws qsparse::error.
template <class AView, class DView>
void check_gemm_operands(const char* fn, const AView& a, std::int32_t a_zero_point, const packed_weights_view& w,
                         const DView& dst) {
  check_int8_gemm_operands(fn, a, a_zero_point, w, "the packed weights", w.empty() ? 0 : w.weight_zero_point(), dst);
  const isa_level allowed = best_isa();
  check(isa_runs(allowed, w.isa()), fn, ": the weights were packed for ",
        to_string(w.isa()), " but this CPU (or the ISA ceiling) allows at most ", to_string(allowed),
        "; pack them with isa_level::", to_string(allowed));
}

/// Runs `Kernel` over the whole problem on ctx's threads (the task cut of run_panel_tasks).
template <class Kernel, class A, class Out, class Pipeline>
void run_gemm_tasks(const context& ctx, const kernels::gemm_args<A, Out>& g, const Pipeline& pipeline) {
  run_panel_tasks(ctx, g.m, Kernel::mr, g.weights.n_padded() / Kernel::nr, g.weights.panel_bytes(),
                  [&](std::ptrdiff_t m_begin, std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                      std::ptrdiff_t panel_end) { Kernel::run(g, pipeline, m_begin, m_end, panel_begin, panel_end); });
}

/// Runs the registry's kernel for g.weights on a pipeline with dequantize_rows_float where that kernel
/// evaluates the stage (kernels::has_row_output_stage_v); false, with nothing written, where it does not.
/// Instantiates no fallback: the callers that know the kernel evaluates the stage (hybrid_gemm) pay for no
/// scalar epilogue.
template <class A, class Out, class Pipeline>
bool run_row_output_gemm(const context& ctx, const kernels::gemm_args<A, Out>& g, const Pipeline& pipeline) {
  bool ran = false;
  kernels::with_selected_kernel(
      gemm_kernels{}, g.weights.isa(), [&](auto kernel) { return kernels::gemm_kernel_accepts<decltype(kernel)>(g.weights); },
      [&](auto kernel) {
        if constexpr (kernels::has_row_output_stage_v<decltype(kernel)>) {
          run_gemm_tasks<decltype(kernel)>(ctx, g, pipeline);
          ran = true;
        }
      });
  return ran;
}

/// Runs the registry's kernel for g.weights (the last one their ISA runs that reads their layout).
template <class A, class Out, class Pipeline>
void dispatch_gemm(const context& ctx, const kernels::gemm_args<A, Out>& g, const Pipeline& pipeline) {
  const bool ran = kernels::with_selected_kernel(
      gemm_kernels{}, g.weights.isa(),
      [&](auto kernel) { return kernels::gemm_kernel_accepts<decltype(kernel)>(g.weights); },
      [&](auto kernel) { run_gemm_tasks<decltype(kernel)>(ctx, g, pipeline); });
  if (!ran) {
    raise(concat("qsparse::gemm: no kernel reads packed layout ", to_string(g.weights.layout()), " for ISA ",
                 to_string(g.weights.isa())));
  }
}

}  // namespace detail

/// dst = pipeline(Σ_k (a - a_zp)(w - w_zp)) with pre-packed weights. See the top of this header.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void gemm(const context& ctx, const quantized_operand<tensor_view<A, 2, LA, AA>>& activations,
          const packed_weights_view& weights, const tensor_view<D, 2, LD, AD>& destination,
          const output_pipeline<S...>& pipeline) {
  static_assert(detail::is_gemm_activation_v<A>,
                "qsparse::gemm: activations must be a 2-D view of std::int8_t or std::uint8_t.");
  static_assert(std::is_same_v<typename output_pipeline<S...>::accumulator_type, std::int32_t>,
                "qsparse::gemm: the int8 GEMM accumulates in int32, so its pipeline must start with an int32 stage "
                "(int64 stages belong to gemm_16x8, float stages after the accumulator to gemm_f16).");
  using out_t = typename output_pipeline<S...>::output_type;
  static_assert(std::is_same_v<D, out_t>,
                "qsparse::gemm: the output pipeline does not produce the destination's element type: end the "
                "pipeline with saturating_cast<T> for an int8/uint8/int16 destination, dequantize_float for float, "
                "or use an int32 destination for the empty pipeline.");
  const char* fn = "qsparse::gemm";
  const auto& a = activations.view;
  detail::check_gemm_operands(fn, a, activations.zero_point, weights, destination);
  validate(pipeline, weights.n(), fn);
  if constexpr (is_row_output_pipeline_v<output_pipeline<S...>>) {
    // dequantize_rows_float: in the epilogue of the kernels that evaluate it, else through the scalar one.
    if (a.extent(0) == 0) return;
    using a_t = std::remove_const_t<A>;
    kernels::gemm_args<a_t, out_t> g{&a(0, 0), a.extent(0) > 1 ? a.stride(0) : weights.k(), activations.zero_point,
                                     a.extent(0), a.extent(1), weights.n(), weights, &destination(0, 0),
                                     destination.extent(0) > 1 ? destination.stride(0) : weights.n()};
    if (!detail::run_row_output_gemm(ctx, g, pipeline)) {
      detail::run_with_scalar_epilogue<std::int32_t>(destination, pipeline, [&](const auto& raw) {
        gemm(ctx, activations, weights, raw, output_pipeline<>{});  // raises when no kernel reads the weights
      });
    }
  } else if constexpr (detail::pipeline_has_custom_stage_v<output_pipeline<S...>>) {
    // A stage of the caller's own: the kernels write raw accumulators, its scalar definition the output.
    detail::run_with_scalar_epilogue<std::int32_t>(destination, pipeline, [&](const auto& raw) {
      gemm(ctx, activations, weights, raw, output_pipeline<>{});
    });
  } else {
    if (a.extent(0) == 0) return;
    using a_t = std::remove_const_t<A>;
    kernels::gemm_args<a_t, out_t> g{&a(0, 0), a.extent(0) > 1 ? a.stride(0) : weights.k(), activations.zero_point,
                                     a.extent(0), a.extent(1), weights.n(), weights, &destination(0, 0),
                                     destination.extent(0) > 1 ? destination.stride(0) : weights.n()};
    detail::dispatch_gemm(ctx, g, pipeline);
  }
}

/// The same with activations whose zero point is 0.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void gemm(const context& ctx, const tensor_view<A, 2, LA, AA>& activations, const packed_weights_view& weights,
          const tensor_view<D, 2, LD, AD>& destination, const output_pipeline<S...>& pipeline) {
  gemm(ctx, quantized(activations, 0), weights, destination, pipeline);
}

/// One-off use: packs the K×N int8 weights (with their zero point) for the best ISA, then runs gemm.
template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD, class... S>
void gemm(const context& ctx, const quantized_operand<tensor_view<A, 2, LA, AA>>& activations,
          const quantized_operand<tensor_view<W, 2, LW, AW>>& weights, const tensor_view<D, 2, LD, AD>& destination,
          const output_pipeline<S...>& pipeline) {
  const packed_weights packed = pack_weights(weights.view, weights.zero_point, best_isa());
  gemm(ctx, activations, packed.view(), destination, pipeline);
}

// A view of another rank: these take views of any rank, so a call with a 1-D or 3-D view meets one
// sentence instead of the list of candidates. For 2-D views the overloads above are more specialised and
// always win; these are never chosen for a call that compiles.

/// Rank check of gemm(ctx, quantized(a, a_zp), packed, dst, pipeline).
template <class A, std::size_t RA, class LA, class AA, class D, std::size_t RD, class LD, class AD, class... S>
void gemm(const context&, const quantized_operand<tensor_view<A, RA, LA, AA>>&, const packed_weights_view&,
          const tensor_view<D, RD, LD, AD>&, const output_pipeline<S...>&) {
  static_assert(RA == 2 && RD == 2,
                "qsparse::gemm: the activations must be a 2-D view (M x K) and the destination a 2-D view (M x N).");
}

/// Rank check of gemm(ctx, a, packed, dst, pipeline).
template <class A, std::size_t RA, class LA, class AA, class D, std::size_t RD, class LD, class AD, class... S>
void gemm(const context&, const tensor_view<A, RA, LA, AA>&, const packed_weights_view&,
          const tensor_view<D, RD, LD, AD>&, const output_pipeline<S...>&) {
  static_assert(RA == 2 && RD == 2,
                "qsparse::gemm: the activations must be a 2-D view (M x K) and the destination a 2-D view (M x N).");
}

/// Rank check of gemm(ctx, quantized(a, a_zp), quantized(w, w_zp), dst, pipeline).
template <class A, std::size_t RA, class LA, class AA, class W, std::size_t RW, class LW, class AW, class D,
          std::size_t RD, class LD, class AD, class... S>
void gemm(const context&, const quantized_operand<tensor_view<A, RA, LA, AA>>&,
          const quantized_operand<tensor_view<W, RW, LW, AW>>&, const tensor_view<D, RD, LD, AD>&,
          const output_pipeline<S...>&) {
  static_assert(RA == 2 && RW == 2 && RD == 2,
                "qsparse::gemm: the activations (M x K), the weights (K x N) and the destination (M x N) must be "
                "2-D views.");
}

}  // namespace qsparse
