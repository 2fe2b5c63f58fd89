// qsparse/gemm/gemm_16x8.hpp — the 16x8 GEMM: int16 activations × int8 weights, exact int64 sums
// (TFLite's 16x8 FullyConnected / Conv with int64 bias; docs/numerics.md).
//
//   auto packed = qsparse::pack_weights_16x8(w_kxn);     // once per layer (packed_weights_16x8.hpp)
//   qsparse::gemm_16x8(ctx, a_mxk, packed, dst_mxn,
//                      qsparse::pipeline(qsparse::bias_add_int64{bias},
//                                        qsparse::requantize_fixed_point_int64_per_channel{m, s},
//                                        qsparse::clamp{-32768, 32767},
//                                        qsparse::saturating_cast<std::int16_t>{}));
//
// computes dst[m][n] = evaluate(pipeline, Σ_k int64(a[m][k]) * w[k][n], m, n) exactly:
//   * a: M×K view of std::int16_t, contiguous along K (any row stride). Its zero point is 0, as TFLite
//     requires for int16 activations; gemm_16x8(ctx, quantized(a, zp), ...) checks that zp == 0.
//   * packed: symmetric int8 weights (zero point 0) packed by pack_weights_16x8 for an ISA this CPU runs
//     (under the ISA ceiling); the kernel is the one of that ISA (selected_kernel_name tells which).
//   * the pipeline starts from the int64 sum: bias_add_int64 and requantize_fixed_point_int64[_per_channel]
//     (TFLite's CONV_2D 16x8) or basic_requantize_fixed_point_int64[_per_channel]<single_rounding_away>
//     (its reference FULLY_CONNECTED 16x8; output_stages.hpp), then any int32 stage; the empty pipeline
//     writes the raw int64 sums.
//   * dst: M×N view of the pipeline's output type (output_type_from<std::int64_t>), contiguous along N.
// The sum is exact for every K (K <= 2^31, the packing limit: |sum| <= K * 2^22 <= 2^53): kernels sum
// vpmaddwd pairs in int32 over blocks of at most 255 pairs, which cannot overflow, and add the blocks in
// int64. The 15-bit int64 requantization (TFLite's MultiplyByQuantizedMultiplier(int64)) needs |acc| < 2^47, and
// bias_add_int64 must not overflow; both are checked up front from the worst case K * 2^22 + max|bias|
// (K < 2^25 without bias), so a too-deep K is a qsparse::error, never a silent wrap.
// The output stages run per element with the scalar definition `evaluate` in every kernel (M*N
// evaluations against M*N*K multiply-adds), so they are bit-exact by construction.
//
// Work is cut as in the int8 GEMM (qsparse/gemm/panel_tasks.hpp): the result is identical for every thread
// count. reference_gemm_16x8 (qsparse/gemm/reference_16x8.hpp) is the definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <tuple>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/packed_weights_16x8.hpp"
#include "qsparse/gemm/panel_tasks.hpp"
#include "qsparse/kernels/gemm_16x8_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

/// The 16x8 GEMM's kernels (the registry, qsparse/kernels/gemm_16x8_kernels.hpp).
using kernels::gemm_16x8_kernels;

/// The name of the kernel gemm_16x8 runs for weights packed for `isa` ("none" when there is none).
inline const char* gemm_16x8_kernel_name(isa_level isa) {
  return detail::panel_kernel_name(gemm_16x8_kernels{}, isa, weights_16x8_geometry(isa));
}

/// The name of the kernel gemm_16x8 runs for these packed weights ("none" when no kernel reads them here).
inline const char* selected_kernel_name(const packed_weights_16x8_view& weights) {
  if (weights.empty()) return "none";
  return detail::panel_kernel_name(gemm_16x8_kernels{}, weights.isa(), weights.geometry());
}

namespace detail {

/// |v| as an unsigned 64-bit value (exact for INT64_MIN).
constexpr std::uint64_t magnitude_u64(std::int64_t v) noexcept {
  return v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
}

/// The rounding policy R of an int64 requantization stage.
template <class Stage>
struct rounding_of;
template <class R>
struct rounding_of<basic_requantize_fixed_point_int64<R>> { using type = R; };
template <class R>
struct rounding_of<basic_requantize_fixed_point_int64_per_channel<R>> { using type = R; };
template <class Stage>
using rounding_of_t = typename rounding_of<Stage>::type;

/// Checks, from the worst case |Σ_k a*w| <= K * 2^22, that every int64 stage of the pipeline stays inside
/// its preconditions: bias_add_int64 cannot overflow int64, the int64 requantization sees |acc| < 2^47.
/// Stages after the requantization work on int32 and need nothing here. Call after validate().
template <class... S>
void check_16x8_accumulator_bound(const char* fn, const output_pipeline<S...>& pipeline, std::int64_t k,
                                  std::ptrdiff_t columns) {
  constexpr std::uint64_t int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  constexpr std::uint64_t requantize_limit = std::uint64_t{1} << 47;
  std::uint64_t bound = static_cast<std::uint64_t>(k) << 22;  // K <= 2^31: at most 2^53
  std::uint64_t bias_total = 0;
  bool int64_stages = true;
  auto step = [&](const auto& stage) {
    using stage_t = std::decay_t<decltype(stage)>;
    if (!int64_stages) return;
    if constexpr (std::is_same_v<stage_t, bias_add_int64>) {
      std::uint64_t largest = 0;
      for (std::ptrdiff_t n = 0; n < columns; ++n) {
        const std::uint64_t b = magnitude_u64(stage.bias[n]);
        largest = b > largest ? b : largest;
      }
      check(largest <= int64_max - bound, fn, ": bias_add_int64 could overflow the int64 accumulator: K = ", k,
            " gives |sum| <= K * 2^22 = ", static_cast<std::uint64_t>(k) << 22,
            ", and the earlier bias plus max |bias| = ", bias_total + largest, " take it past 2^63 - 1");
      bound += largest;
      bias_total += largest;
    } else if constexpr (is_int64_requantize_v<stage_t>) {
      // reduced_multiplier_rounding needs |acc| < 2^47; single_rounding_away is exact for every int64.
      if constexpr (rounding_of_t<stage_t>::accumulator_bits < 63) {
        check(bound < requantize_limit, fn, ": K = ", k,
              " is too deep for the int64 requantization: |sum| <= K * 2^22 = ", static_cast<std::uint64_t>(k) << 22,
              " plus max |bias| = ", bias_total, " can reach ", bound,
              " >= 2^47 (the limit of TFLite's MultiplyByQuantizedMultiplier(int64)); split K");
      }
      int64_stages = false;
    } else {
      int64_stages = false;
    }
  };
  std::apply([&](const auto&... stage) { (step(stage), ...); }, pipeline.stages);
}

template <class... S>
constexpr bool starts_from_int64_v =
    sizeof...(S) == 0 || std::is_same_v<typename pipeline_accumulator<S...>::type, std::int64_t>;

/// Validates the 16x8 GEMM's operands; throws qsparse::error naming the argument and its value.
template <class AView, class DView>
void check_gemm_16x8_operands(const char* fn, const AView& a, std::int32_t a_zero_point,
                              const packed_weights_16x8_view& w, const DView& dst) {
  check(w.empty() || a_zero_point == 0, fn, ": int16 activations must have zero point 0 (TFLite's 16x8 rule), got ",
        a_zero_point);
  check_panel_gemm_operands(fn, a, w, dst);
}


}  // namespace detail

/// dst = pipeline(Σ_k a * w) in int64 with pre-packed weights; a's zero point must be 0. See the top of
/// this header.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void gemm_16x8(const context& ctx, const quantized_operand<tensor_view<A, 2, LA, AA>>& activations,
               const packed_weights_16x8_view& weights, const tensor_view<D, 2, LD, AD>& destination,
               const output_pipeline<S...>& pipeline) {
  static_assert(std::is_same_v<std::remove_const_t<A>, std::int16_t>,
                "qsparse::gemm_16x8: activations must be a 2-D view of std::int16_t.");
  static_assert(detail::starts_from_int64_v<S...>,
                "qsparse::gemm_16x8: the pipeline must start from the int64 sums: begin it with bias_add_int64 or "
                "requantize_fixed_point_int64[_per_channel], or leave it empty for raw int64 output.");
  using out_t = typename output_pipeline<S...>::template output_type_from<std::int64_t>;
  static_assert(std::is_same_v<D, out_t>,
                "qsparse::gemm_16x8: the output pipeline does not produce the destination's element type: end it "
                "with saturating_cast<std::int16_t> for an int16 destination, use int32 after the requantization, "
                "or an int64 destination for the empty pipeline.");
  const char* fn = "qsparse::gemm_16x8";
  const auto& a = activations.view;
  detail::check_gemm_16x8_operands(fn, a, activations.zero_point, weights, destination);
  validate(pipeline, weights.n(), fn);
  detail::check_16x8_accumulator_bound(fn, pipeline, weights.k(), weights.n());
  if (a.extent(0) == 0) return;
  kernels::gemm_panel_args<std::int16_t, packed_weights_16x8_view, out_t> g{
      &a(0, 0),           a.extent(0) > 1 ? a.stride(0) : weights.k(),
      a.extent(0),        a.extent(1),
      weights.n(),        weights,
      &destination(0, 0), destination.extent(0) > 1 ? destination.stride(0) : weights.n()};
  detail::dispatch_panel_kernel(gemm_16x8_kernels{}, fn, ctx, g, pipeline);
}

/// The same with a plain view of int16 activations (zero point 0).
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void gemm_16x8(const context& ctx, const tensor_view<A, 2, LA, AA>& activations,
               const packed_weights_16x8_view& weights, const tensor_view<D, 2, LD, AD>& destination,
               const output_pipeline<S...>& pipeline) {
  gemm_16x8(ctx, quantized(activations, 0), weights, destination, pipeline);
}

/// One-off use: packs the K×N int8 weights for the best ISA, then runs gemm_16x8.
template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD, class... S>
void gemm_16x8(const context& ctx, const tensor_view<A, 2, LA, AA>& activations,
               const tensor_view<W, 2, LW, AW>& weights, const tensor_view<D, 2, LD, AD>& destination,
               const output_pipeline<S...>& pipeline) {
  const packed_weights_16x8 packed = pack_weights_16x8(weights, best_isa());
  gemm_16x8(ctx, quantized(activations, 0), packed.view(), destination, pipeline);
}

}  // namespace qsparse
