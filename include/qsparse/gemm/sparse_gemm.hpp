// qsparse/gemm/sparse_gemm.hpp — the sparse int8 GEMM: pruned weights, the dense GEMM's output pipelines.
//
//   auto packed = qsparse::pack_sparse_weights(w_kxn, qsparse::sparse_format::block_4x32);   // once per layer
//   qsparse::sparse_gemm(ctx, qsparse::quantized(a_mxk, a_zero_point), packed, dst_mxn, pipeline);
//
// computes dst[m][n] = evaluate(pipeline, Σ_k (a[m][k] - a_zp) * w[k][n], m, n) exactly — the same bits
// as reference_gemm (qsparse/gemm/reference.hpp) and gemm() on the same masked weights with w_zp = 0:
//   * a: M×K view of std::int8_t (a_zp in [-128, 127]) or std::uint8_t (a_zp in [0, 255]), contiguous
//     along K (any row stride); a plain view means a_zp = 0;
//   * packed: weights packed by pack_sparse_weights (qsparse/spec/packed_sparse_weights.hpp) in one of
//     the formats block_4x16, block_4x32 (all-zero 4 × NB blocks skipped), two_of_four (2:4 along K) or
//     bitmask (unstructured: a bit per weight, the nonzeros packed);
//     the buffer is ISA-independent and the kernel is picked at run time (selected_sparse_kernel_name);
//   * dst: M×N view of the pipeline's output type, contiguous along N (any row stride);
//   * the int32 accumulator never overflows: K * max|a - a_zp| * 128 must be < 2^31, checked up front.
// The unpacked overload sparse_gemm(ctx, quantized(a, a_zp), quantized(w, 0), format, dst, pipeline)
// packs into a temporary buffer first (one-off use).
//
// Kernels (best ISA under the ceiling; AVX-512 without VNNI runs the AVX2 kernels):
//   format        avx512_vnni                                    avx2                                      scalar
//   block_4x16    spgemm_block4x16_u8s8_s32_8x16c4__avx512vnni   spgemm_block4x16_x8s8_s32_2x16c4__avx2   ..._1x16c4__scalar
//   block_4x32    spgemm_block4x32_u8s8_s32_8x32c4__avx512vnni   spgemm_block4x32_x8s8_s32_2x16c4__avx2   ..._1x32c4__scalar
//   two_of_four   spgemm_2of4_u8s8_s32_8x16c4__avx512vnni        spgemm_2of4_x8s8_s32_2x16c4__avx2        ..._1x16c4__scalar
//   bitmask       spgemm_bitmask_u8s8_s32_8x16c4__avx512vnni_vbmi2 spgemm_bitmask_x8s8_s32_2x16c4__avx2   ..._1x16c4__scalar
//                 (the VNNI one needs VBMI2 too — Ice Lake, Zen 4 and later; without it the AVX2 one runs)
//
// Work is cut into tasks of (row range × range of panels with about equal stored bytes). Tasks write
// disjoint outputs and never combine partial sums, so every thread count gives the same bits.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/scalar_epilogue.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/sparse_gemm_kernels.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_sparse_weights.hpp"
#include "qsparse/spec/sparse_gemm_args.hpp"

namespace qsparse {

namespace detail {

/// Calls f(kernel) with the registry's kernel for `format` on `isa` (the last one `isa` runs).
template <class F>
void with_sparse_kernel(sparse_format format, isa_level isa, F&& f) {
  const bool found = kernels::with_selected_kernel(
      kernels::sparse_gemm_kernels{}, isa, [&](auto kernel) { return decltype(kernel)::format == format; }, f);
  if (!found) raise(concat("qsparse::sparse_gemm: no kernel for format ", to_string(format), " on ", to_string(isa)));
}

/// Panel ranges of about equal stored bytes: boundaries[i] .. boundaries[i + 1].
inline std::vector<std::ptrdiff_t> sparse_panel_chunks(const packed_sparse_weights_view& w, std::ptrdiff_t chunks) {
  const auto panels = static_cast<std::ptrdiff_t>(w.panels());  // validated on packing: panels * NB columns exist
  chunks = std::max<std::ptrdiff_t>(1, std::min(chunks, panels));
  // Cost of a panel: its stored blocks plus one (the per-panel epilogue).
  const auto cost = [&](std::ptrdiff_t p) -> std::int64_t {
    if (w.format() == sparse_format::bitmask) return w.groups() + (w.value_start()[p + 1] - w.value_start()[p]) / 16 + 1;
    return w.format() == sparse_format::two_of_four ? w.groups() + 1 : w.panel_start()[p + 1] - w.panel_start()[p] + 1;
  };
  std::int64_t total = 0;
  for (std::ptrdiff_t p = 0; p < panels; ++p) total += cost(p);
  std::vector<std::ptrdiff_t> bounds{0};
  std::int64_t running = 0;
  for (std::ptrdiff_t p = 0; p < panels; ++p) {
    running += cost(p);
    const auto next = static_cast<std::ptrdiff_t>(bounds.size());
    if (p + 1 < panels && running * chunks >= total * next) bounds.push_back(p + 1);
  }
  bounds.push_back(panels);
  return bounds;
}

template <class Kernel, class A, class Out, class Pipeline>
void run_sparse_gemm_tasks(const context& ctx, const kernels::sparse_gemm_args<A, Out>& g, const Pipeline& pipeline) {
  const int threads = ctx.concurrency();
  // Panel chunks of ~256 KiB of stored weights stay in L2 while every row block meets them.
  std::ptrdiff_t chunks = static_cast<std::ptrdiff_t>(g.weights.stored_weight_bytes() / (256 * 1024)) + 1;
  const std::ptrdiff_t wanted = threads > 1 ? 4 * threads : 1;
  chunks = std::max(chunks, wanted);
  if (chunks == 1) {  // one task, and no allocation: small layers are dominated by fixed costs
    Kernel::run(g, pipeline, 0, g.m, 0, g.weights.panels());
    return;
  }
  const std::vector<std::ptrdiff_t> bounds = sparse_panel_chunks(g.weights, chunks);
  const auto blocks = static_cast<std::ptrdiff_t>(bounds.size()) - 1;
  const std::ptrdiff_t row_tiles = (g.m + Kernel::mr - 1) / Kernel::mr;
  std::ptrdiff_t row_chunks = 1;
  if (threads > 1 && blocks < wanted) row_chunks = std::min<std::ptrdiff_t>(row_tiles, (wanted + blocks - 1) / blocks);
  const std::ptrdiff_t tiles_per_chunk = (row_tiles + row_chunks - 1) / row_chunks;
  row_chunks = (row_tiles + tiles_per_chunk - 1) / tiles_per_chunk;
  const std::ptrdiff_t tasks = blocks * row_chunks;
  auto task = [&](std::ptrdiff_t t) {
    const std::ptrdiff_t block = t / row_chunks;
    const std::ptrdiff_t chunk = t % row_chunks;
    const std::ptrdiff_t m_begin = chunk * tiles_per_chunk * Kernel::mr;
    const std::ptrdiff_t m_end = std::min<std::ptrdiff_t>(g.m, m_begin + tiles_per_chunk * Kernel::mr);
    if (m_begin < m_end) Kernel::run(g, pipeline, m_begin, m_end, bounds[static_cast<std::size_t>(block)],
                                     bounds[static_cast<std::size_t>(block) + 1]);
  };
  ctx.run_tasks(tasks, task);
}

}  // namespace detail

/// The name of the kernel sparse_gemm runs for `format` on `isa`.
inline const char* selected_sparse_kernel_name(sparse_format format, isa_level isa) {
  const char* name = kernels::selected_kernel_name(kernels::sparse_gemm_kernels{}, isa,
                                                   [&](auto kernel) { return decltype(kernel)::format == format; });
  return name != nullptr ? name : "none";
}

/// The name of the kernel sparse_gemm runs for these weights now (best ISA under the ceiling).
inline const char* selected_kernel_name(const packed_sparse_weights_view& weights) {
  return selected_sparse_kernel_name(weights.format(), best_isa());
}

/// dst = pipeline(Σ_k (a - a_zp) w) with pre-packed sparse weights. See the top of this header.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void sparse_gemm(const context& ctx, const quantized_operand<tensor_view<A, 2, LA, AA>>& activations,
                 const packed_sparse_weights_view& weights, const tensor_view<D, 2, LD, AD>& destination,
                 const output_pipeline<S...>& pipeline) {
  static_assert(detail::is_gemm_activation_v<A>,
                "qsparse::sparse_gemm: activations must be a 2-D view of std::int8_t or std::uint8_t.");
  static_assert(std::is_same_v<typename output_pipeline<S...>::accumulator_type, std::int32_t>,
                "qsparse::sparse_gemm: the sparse int8 GEMM accumulates in int32, so its pipeline must start with an "
                "int32 stage (no int64 or float-accumulator stages).");
  using out_t = typename output_pipeline<S...>::output_type;
  static_assert(std::is_same_v<D, out_t>,
                "qsparse::sparse_gemm: the output pipeline does not produce the destination's element type: end the "
                "pipeline with saturating_cast<T> for an int8/uint8/int16 destination, dequantize_float for float, "
                "or use an int32 destination for the empty pipeline.");
  using a_t = std::remove_const_t<A>;
  const char* fn = "qsparse::sparse_gemm";
  const auto& a = activations.view;
  const std::int32_t a_zp = activations.zero_point;
  detail::check_int8_gemm_operands(fn, a, a_zp, weights, "the packed sparse weights", 0, destination);
  const index_t m = a.extent(0);
  const index_t k = a.extent(1);
  validate(pipeline, weights.n(), fn);
  if constexpr (detail::pipeline_has_custom_stage_v<output_pipeline<S...>>) {
    // A stage of the caller's own: the kernels write raw accumulators, its scalar definition the output.
    detail::run_with_scalar_epilogue<std::int32_t>(destination, pipeline, [&](const auto& raw) {
      sparse_gemm(ctx, activations, weights, raw, output_pipeline<>{});
    });
  } else {
    if (m == 0) return;
    kernels::sparse_gemm_args<a_t, out_t> g{&a(0, 0), m > 1 ? a.stride(0) : weights.k(), a_zp, m, k, weights.n(),
                                            weights, &destination(0, 0),
                                            m > 1 ? destination.stride(0) : weights.n(), false};
    detail::with_sparse_kernel(weights.format(), best_isa(), [&](auto kernel) {
      detail::run_sparse_gemm_tasks<decltype(kernel)>(ctx, g, pipeline);
    });
  }
}

/// The same with activations whose zero point is 0.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void sparse_gemm(const context& ctx, const tensor_view<A, 2, LA, AA>& activations,
                 const packed_sparse_weights_view& weights, const tensor_view<D, 2, LD, AD>& destination,
                 const output_pipeline<S...>& pipeline) {
  sparse_gemm(ctx, quantized(activations, 0), weights, destination, pipeline);
}

/// One-off use: packs the masked K×N int8 weights (zero point must be 0) in `format`, then runs sparse_gemm.
template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD, class... S>
void sparse_gemm(const context& ctx, const quantized_operand<tensor_view<A, 2, LA, AA>>& activations,
                 const quantized_operand<tensor_view<W, 2, LW, AW>>& weights, sparse_format format,
                 const tensor_view<D, 2, LD, AD>& destination, const output_pipeline<S...>& pipeline) {
  const packed_sparse_weights packed(weights.view, weights.zero_point, format);
  sparse_gemm(ctx, activations, packed.view(), destination, pipeline);
}

// A view of another rank: these take views of any rank, so a call with a 1-D or 3-D view meets one
// sentence instead of the list of candidates. For 2-D views the overloads above are more specialised and
// always win; these are never chosen for a call that compiles.

/// Rank check of sparse_gemm(ctx, quantized(a, a_zp), packed, dst, pipeline).
template <class A, std::size_t RA, class LA, class AA, class D, std::size_t RD, class LD, class AD, class... S>
void sparse_gemm(const context&, const quantized_operand<tensor_view<A, RA, LA, AA>>&,
                 const packed_sparse_weights_view&, const tensor_view<D, RD, LD, AD>&, const output_pipeline<S...>&) {
  static_assert(RA == 2 && RD == 2,
                "qsparse::sparse_gemm: the activations must be a 2-D view (M x K) and the destination a 2-D view "
                "(M x N).");
}

/// Rank check of sparse_gemm(ctx, a, packed, dst, pipeline).
template <class A, std::size_t RA, class LA, class AA, class D, std::size_t RD, class LD, class AD, class... S>
void sparse_gemm(const context&, const tensor_view<A, RA, LA, AA>&, const packed_sparse_weights_view&,
                 const tensor_view<D, RD, LD, AD>&, const output_pipeline<S...>&) {
  static_assert(RA == 2 && RD == 2,
                "qsparse::sparse_gemm: the activations must be a 2-D view (M x K) and the destination a 2-D view "
                "(M x N).");
}

/// Rank check of sparse_gemm(ctx, quantized(a, a_zp), quantized(w, 0), format, dst, pipeline).
template <class A, std::size_t RA, class LA, class AA, class W, std::size_t RW, class LW, class AW, class D,
          std::size_t RD, class LD, class AD, class... S>
void sparse_gemm(const context&, const quantized_operand<tensor_view<A, RA, LA, AA>>&,
                 const quantized_operand<tensor_view<W, RW, LW, AW>>&, sparse_format, const tensor_view<D, RD, LD, AD>&,
                 const output_pipeline<S...>&) {
  static_assert(RA == 2 && RW == 2 && RD == 2,
                "qsparse::sparse_gemm: the activations (M x K), the weights (K x N) and the destination (M x N) must "
                "be 2-D views.");
}

}  // namespace qsparse
