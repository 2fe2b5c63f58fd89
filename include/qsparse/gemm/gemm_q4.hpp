// qsparse/gemm/gemm_q4.hpp — GEMMs with 4-bit group-wise weights (int4 / uint4, a float scale and an
// optional zero point per group of G along K; qsparse/spec/packed_weights_q4.hpp), float in, float out.
//
//   auto packed = qsparse::pack_weights_q4(q_nxk, params);       // once (qsparse/gemm/packed_weights_q4.hpp)
//   qsparse::gemm_q4(ctx, a_mxk, packed, dst_mxn, qsparse::pipeline(qsparse::bias_add_float{bias}));
//   qsparse::gemm_q4_f32(ctx, a_mxk, packed, dst_mxn, qsparse::pipeline());
//
// gemm_q4 quantizes each activation row to int8 on the fly (TFLite's symmetric row quantization, as
// hybrid_gemm does: qsparse/gemm/hybrid.hpp), takes exact int32 dot products per group, and accumulates
// them in float with the group scales; gemm_q4_f32 keeps the activations in float and dequantizes the
// weights in registers. qsparse/gemm/reference_q4.hpp defines both results; every kernel of the
// registries (qsparse/kernels/gemm_q4_kernels.hpp) produces them bit for bit under the default
// floating-point environment, for every thread count (K is never split).
//   * activations: M×K view of float, contiguous along K (any row stride); gemm_q4 needs them finite;
//   * packed: packed for an ISA this CPU runs (under the ISA ceiling);
//   * dst: M×N view of float, contiguous along N (any row stride), sharing no memory with the inputs;
//   * pipeline: float stages (bias_add_float, clamp_float) or stages of your own from float to float.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm_f16.hpp"
#include "qsparse/gemm/hybrid.hpp"
#include "qsparse/gemm/packed_weights_q4.hpp"
#include "qsparse/gemm/panel_tasks.hpp"
#include "qsparse/gemm/scalar_epilogue.hpp"
#include "qsparse/kernels/gemm_q4_kernels.hpp"
#include "qsparse/kernels/range_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/row_quantize_kernels.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/gemm_q4_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_q4.hpp"

namespace qsparse {

using kernels::gemm_q4_f32_kernels;
using kernels::gemm_q4_kernels;

/// The kernel gemm_q4 runs for weights packed for `isa` ("none" when there is none).
inline const char* gemm_q4_kernel_name(isa_level isa) {
  const char* name = kernels::selected_kernel_name(gemm_q4_kernels{}, isa, [](auto) { return true; });
  return name != nullptr ? name : "none";
}
/// The kernel gemm_q4_f32 runs for weights packed for `isa` ("none" when there is none).
inline const char* gemm_q4_f32_kernel_name(isa_level isa) {
  const char* name = kernels::selected_kernel_name(gemm_q4_f32_kernels{}, isa, [](auto) { return true; });
  return name != nullptr ? name : "none";
}

namespace detail {

template <class AView, class DView>
void check_gemm_q4_operands(const char* fn, const AView& a, const packed_weights_q4_view& w, const DView& dst) {
  check_panel_gemm_operands(fn, a, w, dst);
}

/// gemm_q4's per-thread buffers: the int8 rows, their group sums and starts, the row scales.
struct q4_scratch {
  std::vector<std::int8_t> q;
  std::vector<std::int32_t> sums, starts;
  std::vector<float> scales;
};

/// The calling thread's q4_scratch, grown to the largest call it made (a vector per call cost a fresh
/// allocation, and its pages' first touch, each time: ~4 % of a 64 × 2048 × 2048 call).
inline q4_scratch& q4_thread_scratch() noexcept {
  thread_local q4_scratch scratch;
  return scratch;
}

template <class T>
T* q4_scratch_buffer(std::vector<T>& v, std::size_t count) {
  if (v.size() < count) v.resize(count);
  return v.data();
}

/// Row m of gemm_q4's activations (r, K values) quantized as quantize_row_dynamic's symmetric rows, with the
/// sum of each group of G int8 values; returns the row's scale. Two passes over the row: the finite range
/// with the finiteness check (one SIMD loop), then the rounding with the group sums (another).
inline float quantize_row_q4(const char* fn, isa_level isa, const float* r, index_t m, index_t k, index_t group_size,
                             std::int8_t* q, std::int32_t* sums) {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  if (!kernels::run_finite_range_checked(isa, r, k, lo, hi)) {
    for (index_t i = 0; i < k; ++i) {
      check(std::isfinite(r[i]), fn, ": activations must be finite, got a(", m, ", ", i, ") = ", r[i]);
    }
  }
  const float range = std::max(std::fabs(lo), std::fabs(hi));
  if (range == 0.0f) {  // as quantize_row_symmetric_in_range: all zero, scale 1
    std::memset(q, 0, static_cast<std::size_t>(k));
    std::fill(sums, sums + k / group_size, 0);
    return 1.0f;
  }
  kernels::run_quantize_row_group_sums(isa, r, k, 127.0f / range, q, group_size, sums);
  return range / 127.0f;
}

/// Runs the best kernel of List that the weights' ISA runs over the whole problem g on ctx's threads.
template <class List, class Args, class Pipeline>
void dispatch_q4_kernel(List list, const char* fn, const context& ctx, const Args& g, const Pipeline& pipeline) {
  const bool ran = kernels::with_best_kernel(
      list, g.weights.isa(), [&](auto kernel) { run_panel_kernel<decltype(kernel)>(ctx, g, pipeline); });
  check(ran, fn, ": no kernel reads 4-bit weights packed for ", to_string(g.weights.isa()));
}

}  // namespace detail

/// The bytes gemm_q4 keeps allocated on the calling thread between calls: its int8 copy of the activations
/// (M·K) with their group sums (8·M·K/G) and row scales (4·M), grown to the largest call this thread made.
inline std::size_t gemm_q4_scratch_bytes() noexcept {
  const detail::q4_scratch& s = detail::q4_thread_scratch();
  return s.q.capacity() + (s.sums.capacity() + s.starts.capacity()) * sizeof(std::int32_t) +
         s.scales.capacity() * sizeof(float);
}

/// Frees the buffers gemm_q4 keeps on the calling thread (gemm_q4_scratch_bytes() is 0 after); the next call
/// allocates what it needs again and gives the same results.
inline void release_gemm_q4_scratch() noexcept {
  detail::q4_scratch& s = detail::q4_thread_scratch();
  std::vector<std::int8_t>().swap(s.q);
  std::vector<std::int32_t>().swap(s.sums);
  std::vector<std::int32_t>().swap(s.starts);
  std::vector<float>().swap(s.scales);
}

/// dst = pipeline(per-row int8 activations × 4-bit group-wise weights, in float). See the top of this header.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void gemm_q4(const context& ctx, const tensor_view<A, 2, LA, AA>& activations, const packed_weights_q4_view& weights,
             const tensor_view<D, 2, LD, AD>& destination, const output_pipeline<S...>& pipeline) {
  static_assert(std::is_same_v<std::remove_const_t<A>, float>, "qsparse::gemm_q4: activations must be a 2-D view of float.");
  static_assert(std::is_same_v<D, float>, "qsparse::gemm_q4: the destination must be a 2-D view of (non-const) float.");
  static_assert(((detail::is_float_stage_v<S> || detail::is_custom_stage_v<S>) && ...),
                "qsparse::gemm_q4: the output pipeline may only hold float stages: bias_add_float, clamp_float and "
                "stages of your own from float to float.");
  const char* fn = "qsparse::gemm_q4";
  detail::check_gemm_q4_operands(fn, activations, weights, destination);
  validate(pipeline, weights.n(), fn);
  if constexpr (detail::pipeline_has_custom_stage_v<output_pipeline<S...>>) {
    detail::run_with_scalar_epilogue<float>(destination, pipeline, [&](const auto& raw) {
      gemm_q4(ctx, activations, weights, raw, output_pipeline<>{});
    });
  } else {
    const index_t m_count = activations.extent(0);
    const index_t k = activations.extent(1);
    if (m_count == 0) return;
    const index_t groups = weights.groups();
    const index_t gsz = weights.group_size();
    // The calling thread's buffers, reused from call to call (release_gemm_q4_scratch frees them).
    detail::q4_scratch& scratch = detail::q4_thread_scratch();
    std::int8_t* q = detail::q4_scratch_buffer(scratch.q, static_cast<std::size_t>(m_count * k));
    std::int32_t* sums = detail::q4_scratch_buffer(scratch.sums, static_cast<std::size_t>(m_count * groups));
    // -8 Σ a: |Σ a| <= 127 G <= 127 · 2^16, no overflow
    std::int32_t* starts = detail::q4_scratch_buffer(scratch.starts, static_cast<std::size_t>(m_count * groups));
    float* scales = detail::q4_scratch_buffer(scratch.scales, static_cast<std::size_t>(m_count));
    const isa_level isa = best_isa();
    for (index_t m = 0; m < m_count; ++m) {
      const float* r = &activations(m, 0);
      std::int32_t* row_sums = sums + m * groups;
      scales[m] = detail::quantize_row_q4(fn, isa, r, m, k, gsz, q + m * k, row_sums);
      for (index_t g = 0; g < groups; ++g) starts[m * groups + g] = -8 * row_sums[g];
    }
    const kernels::gemm_q4_args g{q,      k,       sums,        starts, groups,
                                  scales, m_count, k,           weights.n(),
                                  weights,       &destination(0, 0),
                                  destination.extent(0) > 1 ? destination.stride(0) : weights.n()};
    detail::dispatch_q4_kernel(gemm_q4_kernels{}, fn, ctx, g, pipeline);
  }
}

/// dst = pipeline(float activations × 4-bit weights dequantized in registers). See the top of this header.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void gemm_q4_f32(const context& ctx, const tensor_view<A, 2, LA, AA>& activations,
                 const packed_weights_q4_view& weights, const tensor_view<D, 2, LD, AD>& destination,
                 const output_pipeline<S...>& pipeline) {
  static_assert(std::is_same_v<std::remove_const_t<A>, float>,
                "qsparse::gemm_q4_f32: activations must be a 2-D view of float.");
  static_assert(std::is_same_v<D, float>,
                "qsparse::gemm_q4_f32: the destination must be a 2-D view of (non-const) float.");
  static_assert(((detail::is_float_stage_v<S> || detail::is_custom_stage_v<S>) && ...),
                "qsparse::gemm_q4_f32: the output pipeline may only hold float stages: bias_add_float, clamp_float "
                "and stages of your own from float to float.");
  const char* fn = "qsparse::gemm_q4_f32";
  detail::check_gemm_q4_operands(fn, activations, weights, destination);
  validate(pipeline, weights.n(), fn);
  if constexpr (detail::pipeline_has_custom_stage_v<output_pipeline<S...>>) {
    detail::run_with_scalar_epilogue<float>(destination, pipeline, [&](const auto& raw) {
      gemm_q4_f32(ctx, activations, weights, raw, output_pipeline<>{});
    });
  } else {
    if (activations.extent(0) == 0) return;
    const kernels::gemm_panel_args<float, packed_weights_q4_view, float> g{
        &activations(0, 0),    activations.extent(0) > 1 ? activations.stride(0) : weights.k(),
        activations.extent(0), activations.extent(1),
        weights.n(),           weights,
        &destination(0, 0),    destination.extent(0) > 1 ? destination.stride(0) : weights.n()};
    detail::dispatch_q4_kernel(gemm_q4_f32_kernels{}, fn, ctx, g, pipeline);
  }
}

}  // namespace qsparse
