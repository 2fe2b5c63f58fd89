// qsparse/conv/add.hpp — TFLite's requantizing int8 ADD, for residual connections.
//
//   auto p = qsparse::add_params::from_scales(a_scale, a_zp, b_scale, b_zp, out_scale, out_zp);
//   qsparse::add(ctx, a, b, out, p);          // views of std::int8_t with the same extents, any rank
//
// Bit for bit as reference_add (qsparse/conv/reference.hpp; TFLite's integer_ops/add.h, left shift 20,
// per-input multipliers, docs/numerics.md double rounding). Same shapes only (no broadcasting); the
// three views must be contiguous (a residual connection adds two dense NHWC tensors). The kernels
// (kernels/<isa>/add_s8.hpp) run on best_isa(); tasks are contiguous ranges of elements.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/add_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/spec/add_params.hpp"

namespace qsparse {

/// The ADD kernel add() runs at ISA level `isa` (the last of kernels::add_kernels that `isa` runs).
inline const char* add_kernel_name(isa_level isa) {
  const char* name = kernels::selected_kernel_name(kernels::add_kernels{}, isa, [](auto) { return true; });
  return name != nullptr ? name : "none";
}

namespace detail {

template <class V>
bool is_contiguous_view(const V& v) {
  index_t expected = 1;
  for (std::size_t r = V::rank(); r-- > 0;) {
    if (v.extent(r) != 1 && v.stride(r) != expected) return false;
    expected *= v.extent(r);
  }
  return true;
}

}  // namespace detail

/// out = TFLite int8 ADD(a, b) element by element (see the top of this header).
template <class A, class B, class O, std::size_t Rank, class LA, class AA, class LB, class AB, class LO, class AO>
void add(const context& ctx, const tensor_view<A, Rank, LA, AA>& a, const tensor_view<B, Rank, LB, AB>& b,
         const tensor_view<O, Rank, LO, AO>& out, const add_params& params) {
  static_assert(std::is_same_v<std::remove_const_t<A>, std::int8_t> && std::is_same_v<std::remove_const_t<B>, std::int8_t> &&
                    std::is_same_v<O, std::int8_t>,
                "qsparse::add: a, b and out must be views of std::int8_t (out not const).");
  const char* fn = "qsparse::add";
  for (std::size_t r = 0; r < Rank; ++r) {
    detail::check(a.extent(r) == b.extent(r) && a.extent(r) == out.extent(r), fn,
                  ": a, b and out must have the same extents, got extent(", r, ") = ", a.extent(r), ", ", b.extent(r),
                  ", ", out.extent(r));
  }
  detail::check(detail::is_contiguous_view(a) && detail::is_contiguous_view(b) && detail::is_contiguous_view(out), fn,
                ": a, b and out must be contiguous");
  // In place: out may be a or b itself (each element is read before it is written); no partial overlap.
  detail::check_in_place_or_disjoint(fn, "out", out, "a", a);
  detail::check_in_place_or_disjoint(fn, "out", out, "b", b);
  detail::check_add_params(params, fn);
  const index_t count = a.size();
  if (count == 0) return;
  const std::int8_t* pa = a.data_handle();
  const std::int8_t* pb = b.data_handle();
  std::int8_t* po = out.data_handle();
  const int threads = ctx.concurrency();
  const index_t per_task = threads > 1 ? std::max<index_t>(4096, (count / (4 * threads) + 63) / 64 * 64) : count;
  const index_t tasks = (count + per_task - 1) / per_task;
  const isa_level isa = best_isa();
  auto task = [&](std::ptrdiff_t t) {
    const index_t begin = t * per_task;
    const index_t n = std::min(count, begin + per_task) - begin;
    kernels::with_best_kernel(kernels::add_kernels{}, isa, [&](auto kernel) {
      decltype(kernel)::run(pa + begin, pb + begin, po + begin, n, params);
    });
  };
  ctx.run_tasks(tasks, task);
}

}  // namespace qsparse
