// qsparse/gemm/panel_tasks.hpp — how every packed-panel GEMM (the int8 GEMM, 16x8, float16 weights) cuts
// its work into tasks for a context.
//
//   detail::run_panel_tasks(ctx, m, mr, panels, panel_bytes,
//                           [&](std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
//                               std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) { ... });
//   detail::run_panel_kernel<Kernel>(ctx, args, pipeline);   // the same, calling Kernel::run per task
//
// The int8 GEMM's run_gemm_tasks (qsparse/gemm/gemm.hpp) is this cut too: a task is a range of rows
// (whole MR tiles) × a block of weight panels; on one thread a block holds as many panels as fit in
// ~256 KiB (so consecutive row tiles reuse it from L2); with more threads blocks are cut finer, then rows,
// to get about 4 tasks per thread. Tasks write disjoint outputs and never combine partial sums, so the
// result does not depend on the thread count or on the order the tasks run in.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/spec/packed_weights.hpp"

namespace qsparse {
namespace detail {

/// Runs run(m_begin, m_end, panel_begin, panel_end) over rows [0, m) and panels [0, panels) on ctx.
template <class Run>
void run_panel_tasks(const context& ctx, std::ptrdiff_t m, int mr, std::ptrdiff_t panels, std::ptrdiff_t panel_bytes,
                     const Run& run) {
  if (m <= 0 || panels <= 0) return;
  std::ptrdiff_t per_block = std::max<std::ptrdiff_t>(1, (256 * 1024) / std::max<std::ptrdiff_t>(panel_bytes, 1));
  const std::ptrdiff_t row_tiles = (m + mr - 1) / mr;
  const int threads = ctx.concurrency();
  std::ptrdiff_t blocks = (panels + per_block - 1) / per_block;
  std::ptrdiff_t row_chunks = 1;
  if (threads > 1) {
    const std::ptrdiff_t wanted = 4 * threads;  // a few tasks per thread balance uneven tiles
    if (blocks < wanted) {
      per_block = std::max<std::ptrdiff_t>(1, panels / wanted);
      blocks = (panels + per_block - 1) / per_block;
    }
    if (blocks < wanted) row_chunks = std::min<std::ptrdiff_t>(row_tiles, (wanted + blocks - 1) / blocks);
  }
  const std::ptrdiff_t tiles_per_chunk = (row_tiles + row_chunks - 1) / row_chunks;
  row_chunks = (row_tiles + tiles_per_chunk - 1) / tiles_per_chunk;
  const std::ptrdiff_t tasks = blocks * row_chunks;
  auto task = [&](std::ptrdiff_t t) {
    const std::ptrdiff_t block = t / row_chunks;
    const std::ptrdiff_t chunk = t % row_chunks;
    const std::ptrdiff_t m_begin = chunk * tiles_per_chunk * mr;
    const std::ptrdiff_t m_end = std::min<std::ptrdiff_t>(m, m_begin + tiles_per_chunk * mr);
    const std::ptrdiff_t p_begin = block * per_block;
    const std::ptrdiff_t p_end = std::min<std::ptrdiff_t>(panels, p_begin + per_block);
    if (m_begin < m_end) run(m_begin, m_end, p_begin, p_end);
  };
  ctx.run_tasks(tasks, task);
}

/// Whether Kernel sizes its tasks' panel blocks itself: `static std::ptrdiff_t task_panel_bytes(const Args&)`
/// returns the bytes per panel that run_panel_tasks divides its ~256 KiB by (a kernel that decodes each
/// panel once per task, instead of reading it again from L2 for every row tile, wants fewer, larger tasks).
template <class Kernel, class Args, class = void>
struct sizes_panel_tasks : std::false_type {};
template <class Kernel, class Args>
struct sizes_panel_tasks<Kernel, Args, std::void_t<decltype(Kernel::task_panel_bytes(std::declval<const Args&>()))>>
    : std::true_type {};

/// Runs Kernel over the whole problem described by g (kernels/gemm_panel_args.hpp) on ctx's threads.
template <class Kernel, class Args, class Pipeline>
void run_panel_kernel(const context& ctx, const Args& g, const Pipeline& pipeline) {
  std::ptrdiff_t panel_bytes = g.weights.panel_bytes();
  if constexpr (sizes_panel_tasks<Kernel, Args>::value) panel_bytes = Kernel::task_panel_bytes(g);
  run_panel_tasks(ctx, g.m, Kernel::mr, g.weights.panels(), panel_bytes,
                  [&](std::ptrdiff_t m_begin, std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                      std::ptrdiff_t panel_end) { Kernel::run(g, pipeline, m_begin, m_end, panel_begin, panel_end); });
}

/// Runs the kernel of List (a panel family: 16x8, float16 weights) for g.weights — the last one their ISA
/// runs that reads their panel geometry — over the whole problem; `fn` names the entry point in the error
/// raised when no registered kernel reads them.
template <class List, class Args, class Pipeline>
void dispatch_panel_kernel(List list, const char* fn, const context& ctx, const Args& g, const Pipeline& pipeline) {
  const bool ran = kernels::with_selected_kernel(
      list, g.weights.isa(),
      [&](auto kernel) { return kernels::reads_panel_geometry<decltype(kernel)>(g.weights.geometry()); },
      [&](auto kernel) { run_panel_kernel<decltype(kernel)>(ctx, g, pipeline); });
  if (!ran) {
    raise(concat(fn, ": no kernel reads panels of NR = ", g.weights.geometry().nr, ", KR = ", g.weights.geometry().kr,
                 " for ISA ", to_string(g.weights.isa())));
  }
}

/// Validates the operands of a GEMM on pre-packed panels (16x8, float16 weights, 4-bit): shapes, strides,
/// null data, aliasing and the ISA the weights were packed for; throws qsparse::error naming the argument and
/// its value. `w` has empty(), k(), n(), isa(), bytes(), size_bytes().
template <class AView, class Weights, class DView>
void check_panel_gemm_operands(const char* fn, const AView& a, const Weights& w, const DView& dst) {
  check(!w.empty(), fn, ": the packed weights are empty");
  const index_t m = a.extent(0);
  const index_t k = a.extent(1);
  check(k == w.k(), fn, ": activations have K = ", k, " columns but the weights were packed with K = ", w.k());
  check(dst.extent(0) == m && dst.extent(1) == w.n(), fn, ": destination is ", dst.extent(0), " x ", dst.extent(1),
        ", expected M x N = ", m, " x ", w.n());
  check(a.stride(1) == 1 || k == 1, fn,
        ": activations must be contiguous along K (stride(1) == 1), got stride(1) = ", a.stride(1));
  check(dst.stride(1) == 1 || w.n() == 1, fn,
        ": destination must be contiguous along N (stride(1) == 1), got stride(1) = ", dst.stride(1));
  check(m == 0 || a.data_handle() != nullptr, fn, ": activations must not be null (M = ", m, ", K = ", k, ")");
  check(m == 0 || dst.data_handle() != nullptr, fn, ": destination must not be null (M = ", m, ", N = ", w.n(), ")");
  check_distinct_elements(fn, "destination", dst);
  check_no_overlap(fn, "destination", dst, "activations", a);
  check_no_overlap(fn, "destination", dst, "the packed weights", w.bytes(), w.size_bytes());
  const isa_level allowed = best_isa();
  check(isa_runs(allowed, w.isa()), fn, ": the weights were packed for ",
        to_string(w.isa()), " but this CPU (or the ISA ceiling) allows at most ", to_string(allowed),
        "; pack them with isa_level::", to_string(allowed));
}

/// The name of the kernel of List that runs panels of geometry g packed for `isa` ("none" when none does).
template <class List>
const char* panel_kernel_name(List list, isa_level isa, const layout_geometry& g) {
  const char* name = kernels::selected_kernel_name(
      list, isa, [&](auto kernel) { return kernels::reads_panel_geometry<decltype(kernel)>(g); });
  return name != nullptr ? name : "none";
}

}  // namespace detail
}  // namespace qsparse
