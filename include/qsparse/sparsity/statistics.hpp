// qsparse/sparsity/statistics.hpp — counting what pruning left: per tensor, per row (slice), per block.
//
//   qsparse::count_nonzero(w)                          elements != 0 (NaN counts as non-zero)
//   qsparse::sparsity_of(w)                            1 - count_nonzero / size (0 for an empty view)
//   qsparse::nonzeros_per_slice(w, 0)                  one count per index along axis 0 (per row of a
//                                                      matrix, per filter of OHWI weights)
//   qsparse::nonzeros_per_block(w, 4, 1, 0, 1)         counts per 4×1 block over axes (0, 1), edge blocks
//                                                      partial (the grid of qsparse::block_mask)
// They work on weights and on masks alike (any arithmetic element type, any layout). With the pruner's
// pruning_summary (target vs actual sparsity, threshold) they give what TF-MOT's summaries log and the
// distributions a kernel engineer needs (how full are the blocks a block-sparse kernel would skip).
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/traversal.hpp"

namespace qsparse {

/// The number of elements that are not zero.
template <class V>
index_t count_nonzero(const V& view) {
  static_assert(is_tensor_view_v<V>, "qsparse::count_nonzero: the argument must be a qsparse::tensor_view.");
  index_t n = 0;
  detail::for_each_element(view, [&](const auto& x) {
    if (!(x == 0)) ++n;
  });
  return n;
}

/// The fraction of zeros, 1 - count_nonzero / size (0 for an empty view).
template <class V>
double sparsity_of(const V& view) {
  const index_t size = view.size();
  return size == 0 ? 0.0 : 1.0 - static_cast<double>(count_nonzero(view)) / static_cast<double>(size);
}

namespace detail {
template <std::size_t R>
std::size_t checked_axis(const char* function, const char* name, int axis) {
  constexpr int rank = static_cast<int>(R);
  check(axis >= -rank && axis < rank, "qsparse::", function, ": ", name, " must be in [", -rank, ", ", rank,
        ") for a rank-", rank, " view, got ", name, " = ", axis);
  return static_cast<std::size_t>(axis < 0 ? axis + rank : axis);
}
}  // namespace detail

/// counts[c] = the non-zeros of the slice with index c along `axis` (Python-style: -1 is the last).
template <class V>
std::vector<index_t> nonzeros_per_slice(const V& view, int axis) {
  static_assert(is_tensor_view_v<V> && V::rank() >= 1,
                "qsparse::nonzeros_per_slice: the argument must be a qsparse::tensor_view of rank >= 1.");
  const std::size_t a = detail::checked_axis<V::rank()>("nonzeros_per_slice", "axis", axis);
  std::vector<index_t> counts(static_cast<std::size_t>(view.extent(a)), 0);
  detail::for_each_index(view.extents(), [&](const auto& i) {
    if (!(view[i] == 0)) ++counts[static_cast<std::size_t>(i[a])];
  });
  return counts;
}

/// The non-zeros of every block_rows × block_cols block over (row_axis, col_axis), as a tensor of the
/// block grid (ceil(extent / block) along the two axes, the other extents unchanged). Throws
/// qsparse::error for block sizes < 1, axes out of range or equal.
template <class V>
tensor<index_t, V::rank()> nonzeros_per_block(const V& view, index_t block_rows, index_t block_cols, int row_axis = -2,
                                              int col_axis = -1) {
  constexpr std::size_t R = V::rank();
  static_assert(is_tensor_view_v<V> && R >= 2,
                "qsparse::nonzeros_per_block: the argument must be a qsparse::tensor_view of rank >= 2.");
  detail::check(block_rows >= 1, "qsparse::nonzeros_per_block: block_rows must be >= 1, got block_rows = ", block_rows);
  detail::check(block_cols >= 1, "qsparse::nonzeros_per_block: block_cols must be >= 1, got block_cols = ", block_cols);
  const std::size_t a = detail::checked_axis<R>("nonzeros_per_block", "row_axis", row_axis);
  const std::size_t b = detail::checked_axis<R>("nonzeros_per_block", "col_axis", col_axis);
  detail::check(a != b, "qsparse::nonzeros_per_block: row_axis and col_axis must differ, got row_axis = ", row_axis,
                ", col_axis = ", col_axis);
  auto grid = view.extents().as_array();
  grid[a] = (grid[a] + block_rows - 1) / block_rows;
  grid[b] = (grid[b] + block_cols - 1) / block_cols;
  tensor<index_t, R> counts{extents<R>(grid)};
  detail::for_each_index(view.extents(), [&](const auto& i) {
    if (view[i] == 0) return;
    std::array<index_t, R> c = i;
    c[a] /= block_rows;
    c[b] /= block_cols;
    ++counts.view()[c];
  });
  return counts;
}

}  // namespace qsparse
