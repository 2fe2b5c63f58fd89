// qsparse/sparsity/block_mask.hpp — block pruning: TF-MOT's block_size / block_pooling_type, on any pair of axes.
//
//   qsparse::block_mask<4, 1>                                           4×1 blocks of a rank-2 tensor
//   qsparse::block_mask<1, 4, qsparse::max_pooling>                     max |w| per block
//   qsparse::block_mask<4, 4, qsparse::avg_pooling, 0, -1>              OHWI conv weights: 4 output × 4
//                                                                      input channels, per (h, w)
//
// The tensor is cut into blocks of BlockRows × BlockCols over the axes (RowAxis, ColAxis) — Python-style,
// -1 is the last; the default is the last two, which for rank 2 is TF-MOT's (rows, columns). Every other
// axis is kept as is: each index along it has its own blocks. A block's score is the mean (avg_pooling)
// or the maximum (max_pooling) of |w| over the elements that exist — an edge block cut off by the
// tensor's end is pooled over its own elements (TF-MOT's padding='SAME'), so every shape has a block
// grid and no divisibility is required. The magnitude rule (keep_rule.hpp) is applied to the block
// scores (k counts blocks, ties kept) and each block's decision is written to all its elements.
// Averages are taken in double and rounded to float32 (TF pools in float32 in an order it does not
// specify; the two agree on the tested values). A NaN in a block makes its average NaN (the block is
// pruned first); max pooling skips NaN elements unless the whole block is NaN.
// TF-MOT accepts blocks only on rank-2 weights; qsparse takes any rank (a rank-2 call is TF-MOT's).
//
// Grid (the last template parameter) says where the blocks start:
//   block_grid_at_zero (the default, unchanged): block b along an axis holds indices [b * B, b * B + B);
//     on shapes divisible by the blocks this is TF-MOT's grid, and so are the masks.
//   tfmot_block_grid: TF-MOT 0.8.1's Pruning._maybe_update_block_mask exactly, on every shape. TF-MOT pools
//     |w| with padding='SAME', which puts floor(pad / 2) of the pad = ceil(n / B) * B - n missing indices
//     before index 0: pooled cell p covers [p * B - floor(pad / 2), (p + 1) * B - floor(pad / 2)) ∩ [0, n).
//     Then it lays the expanded mask back from index 0 and crops it: element i takes the decision of cell
//     i / B, which on an undivisible shape is not the cell its own value was pooled into. Averages are
//     TF's two float32 stages: along the row axis, the sum of the cell's elements in index order (float32
//     additions) divided by their count; then along the column axis the same over those row averages.
//     Max pooling is the plain maximum of the cell. `tfmot_block_mask<R, C, Pooling>` names it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/keep_rule.hpp"
#include "qsparse/sparsity/traversal.hpp"

namespace qsparse {

/// Block score = mean of |w| over the block's elements (TF-MOT 'AVG', the default).
struct avg_pooling {
  static constexpr const char* name = "avg";
};
/// Block score = max of |w| over the block's elements (TF-MOT 'MAX').
struct max_pooling {
  static constexpr const char* name = "max";
};

/// Blocks start at index 0 along both axes (the default).
struct block_grid_at_zero {
  static constexpr const char* name = "at_zero";
};
/// TF-MOT's grid: pooled with SAME padding (shifted by floor(pad / 2)), the mask laid back from index 0.
struct tfmot_block_grid {
  static constexpr const char* name = "tfmot";
};

template <index_t BlockRows, index_t BlockCols, class Pooling = avg_pooling, int RowAxis = -2, int ColAxis = -1,
          class Grid = block_grid_at_zero>
struct block_mask {
  static_assert(BlockRows >= 1 && BlockCols >= 1,
                "qsparse::block_mask: BlockRows and BlockCols must be at least 1.");
  static_assert(std::is_same_v<Pooling, avg_pooling> || std::is_same_v<Pooling, max_pooling>,
                "qsparse::block_mask: Pooling must be qsparse::avg_pooling or qsparse::max_pooling.");
  static_assert(std::is_same_v<Grid, block_grid_at_zero> || std::is_same_v<Grid, tfmot_block_grid>,
                "qsparse::block_mask: Grid must be qsparse::block_grid_at_zero or qsparse::tfmot_block_grid.");

  static constexpr const char* name = "block";
  using grid_policy = Grid;
  static constexpr index_t block_rows = BlockRows;
  static constexpr index_t block_cols = BlockCols;
  using pooling = Pooling;

  static constexpr float target_sparsity(float scheduled) noexcept { return scheduled; }

  /// The extents of the grid of block scores: ceil(extent / block) along the two axes, the rest unchanged.
  template <std::size_t R>
  static extents<R> grid_extents(const extents<R>& e) {
    constexpr std::size_t a = row_axis<R>(), b = col_axis<R>();
    auto g = e.as_array();
    g[a] = (g[a] + BlockRows - 1) / BlockRows;
    g[b] = (g[b] + BlockCols - 1) / BlockCols;
    return extents<R>(g);
  }

  template <std::size_t R>
  static constexpr std::size_t row_axis() {
    static_assert(R >= 2, "qsparse::block_mask: blocks need weights of rank 2 or more.");
    constexpr std::size_t a = detail::resolve_axis<RowAxis, R>(), b = detail::resolve_axis<ColAxis, R>();
    static_assert(a != b, "qsparse::block_mask: RowAxis and ColAxis must be two different axes.");
    return a;
  }
  template <std::size_t R>
  static constexpr std::size_t col_axis() {
    (void)row_axis<R>();
    return detail::resolve_axis<ColAxis, R>();
  }

  template <class W, class M>
  static float compute_mask(const W& weights, const M& mask, float sparsity) {
    static_assert(detail::is_float_view_v<W> && detail::is_mask_view_v<M>,
                  "qsparse::block_mask::compute_mask: weights must be a float tensor_view and mask a tensor_view "
                  "of a writable arithmetic type.");
    constexpr std::size_t R = W::rank();
    constexpr std::size_t a = row_axis<R>(), b = col_axis<R>();
    if (weights.empty()) return std::numeric_limits<float>::quiet_NaN();

    if constexpr (std::is_same_v<Grid, tfmot_block_grid>) {
      return compute_mask_tfmot(weights, mask, sparsity);
    }
    const extents<R> grid = grid_extents(weights.extents());
    const auto cells = static_cast<std::size_t>(grid.size());
    const auto cell_of = [&](const std::array<index_t, R>& i) {
      index_t flat = 0;
      for (std::size_t r = 0; r < R; ++r) {
        index_t c = i[r];
        if (r == a) c /= BlockRows;
        if (r == b) c /= BlockCols;
        flat = flat * grid.extent(r) + c;
      }
      return static_cast<std::size_t>(flat);
    };

    std::vector<float> keys(cells);
    if constexpr (std::is_same_v<Pooling, avg_pooling>) {
      std::vector<double> sum(cells, 0.0);
      std::vector<std::int32_t> count(cells, 0);
      detail::for_each_index(weights.extents(), [&](const auto& i) {
        const std::size_t c = cell_of(i);
        sum[c] += std::fabs(static_cast<double>(weights[i]));
        ++count[c];
      });
      for (std::size_t c = 0; c < cells; ++c) {
        keys[c] = detail::rank_key(static_cast<float>(sum[c] / count[c]));
      }
    } else {
      std::vector<float> best(cells, -1.0f);  // -1 = only NaN so far (rank_key of NaN)
      detail::for_each_index(weights.extents(), [&](const auto& i) {
        const std::size_t c = cell_of(i);
        const float key = detail::rank_key(std::fabs(weights[i]));
        if (key > best[c]) best[c] = key;
      });
      keys = best;
    }
    std::vector<float> order = keys;
    const float threshold = detail::keep_threshold(order, sparsity);
    using mask_type = typename M::value_type;
    detail::for_each_index(weights.extents(), [&](const auto& i) {
      mask[i] = keys[cell_of(i)] >= threshold ? mask_type(1) : mask_type(0);
    });
    return threshold;
  }

  /// The block scores TF-MOT computes (factorized_pool of |w|, SAME padding) on the grid_extents grid,
  /// row-major; a NaN score stands for a block with a NaN (average) or only NaN (max). Any Grid.
  template <class W>
  static std::vector<float> tfmot_pooled(const W& weights) {
    constexpr std::size_t R = W::rank();
    constexpr std::size_t a = row_axis<R>(), b = col_axis<R>();
    const extents<R> e = weights.extents();
    const extents<R> grid = grid_extents(e);
    const index_t pad_a = shift(e.extent(a), BlockRows), pad_b = shift(e.extent(b), BlockCols);
    // Stage 1 cells: the row axis pooled, the column axis kept.
    auto half = e.as_array();
    half[a] = grid.extent(a);
    const extents<R> stage1(half);
    const auto flat = [](const extents<R>& x, const std::array<index_t, R>& i) {
      index_t f = 0;
      for (std::size_t r = 0; r < R; ++r) f = f * x.extent(r) + i[r];
      return static_cast<std::size_t>(f);
    };
    std::vector<float> first(static_cast<std::size_t>(stage1.size()), 0.0f);
    std::vector<float> out(static_cast<std::size_t>(grid.size()), 0.0f);
    if constexpr (std::is_same_v<Pooling, avg_pooling>) {
      detail::for_each_index(e, [&](const auto& i) {
        auto c = i;
        c[a] = (i[a] + pad_a) / BlockRows;
        first[flat(stage1, c)] += std::fabs(weights[i]);  // in index order along the row axis
      });
      detail::for_each_index(stage1, [&](const auto& c) {
        float& v = first[flat(stage1, c)];
        v = v / static_cast<float>(valid(c[a], e.extent(a), BlockRows, pad_a));
      });
      detail::for_each_index(stage1, [&](const auto& c) {
        auto g = c;
        g[b] = (c[b] + pad_b) / BlockCols;
        out[flat(grid, g)] += first[flat(stage1, c)];  // in index order along the column axis
      });
      detail::for_each_index(grid, [&](const auto& g) {
        float& v = out[flat(grid, g)];
        v = v / static_cast<float>(valid(g[b], e.extent(b), BlockCols, pad_b));
      });
    } else {
      std::fill(out.begin(), out.end(), -1.0f);  // -1 = only NaN so far
      detail::for_each_index(e, [&](const auto& i) {
        auto g = i;
        g[a] = (i[a] + pad_a) / BlockRows;
        g[b] = (i[b] + pad_b) / BlockCols;
        const float key = detail::rank_key(std::fabs(weights[i]));
        float& v = out[flat(grid, g)];
        if (key > v) v = key;
      });
      for (float& v : out) v = v < 0.0f ? std::numeric_limits<float>::quiet_NaN() : v;
    }
    return out;
  }

 private:
  // floor(pad / 2): the missing indices SAME padding puts before index 0 (pad = ceil(n / B) * B - n).
  static index_t shift(index_t n, index_t block) { return ((n + block - 1) / block * block - n) / 2; }
  // The number of indices of [0, n) in cell p of a grid shifted by `before`.
  static index_t valid(index_t p, index_t n, index_t block, index_t before) {
    const index_t lo = std::max<index_t>(0, p * block - before);
    const index_t hi = std::min<index_t>(n, (p + 1) * block - before);
    return hi - lo;
  }

  template <class W, class M>
  static float compute_mask_tfmot(const W& weights, const M& mask, float sparsity) {
    constexpr std::size_t R = W::rank();
    constexpr std::size_t a = row_axis<R>(), b = col_axis<R>();
    const extents<R> grid = grid_extents(weights.extents());
    std::vector<float> keys = tfmot_pooled(weights);
    for (float& k : keys) k = detail::rank_key(k);
    std::vector<float> order = keys;
    const float threshold = detail::keep_threshold(order, sparsity);
    using mask_type = typename M::value_type;
    detail::for_each_index(weights.extents(), [&](const auto& i) {
      index_t flat = 0;
      for (std::size_t r = 0; r < R; ++r) {
        index_t c = i[r];
        if (r == a) c /= BlockRows;  // the expanded mask starts at index 0
        if (r == b) c /= BlockCols;
        flat = flat * grid.extent(r) + c;
      }
      mask[i] = keys[static_cast<std::size_t>(flat)] >= threshold ? mask_type(1) : mask_type(0);
    });
    return threshold;
  }
};

/// TF-MOT's block mask on any shape (its SAME-padded grid and two-stage float32 averages).
template <index_t BlockRows, index_t BlockCols, class Pooling = avg_pooling>
using tfmot_block_mask = block_mask<BlockRows, BlockCols, Pooling, -2, -1, tfmot_block_grid>;

}  // namespace qsparse
