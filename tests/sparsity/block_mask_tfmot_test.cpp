// tests/sparsity/block_mask_tfmot_test.cpp — tfmot_block_grid (qsparse/sparsity/block_mask.hpp) against the
// committed TF-MOT 0.8.1 vectors (tests/data/gen_tfmot_oracle.py): pooled grid, threshold and mask.
#include "qsparse/sparsity/block_mask.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "qsparse/sparsity/pruner.hpp"
#include "support/testing.hpp"

namespace tfmot_oracle {
#include "data/tfmot_oracle_vectors.inc"
}  // namespace tfmot_oracle

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::to_bits;

namespace {

struct tally {
  int pooled = 0, pooled_equal = 0, masks = 0, masks_equal = 0, thresholds = 0, thresholds_equal = 0;
};

template <index_t BR, index_t BC, class Pooling>
void run_case(const tfmot_oracle::tfmot_block_case& c, tally& t) {
  using pattern = tfmot_block_mask<BR, BC, Pooling>;
  const index_t rows = c.rows, cols = c.cols;
  std::vector<float> w(static_cast<std::size_t>(rows * cols));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = from_bits(tfmot_oracle::tfmot_block_weights[c.weight_offset + static_cast<int>(i)]);
  const auto view = make_view(static_cast<const float*>(w.data()), rows, cols);
  const std::vector<float> pooled = pattern::tfmot_pooled(view);
  const auto g = pattern::grid_extents(view.extents());
  REQUIRE(static_cast<index_t>(pooled.size()) == g.extent(0) * g.extent(1));
  for (std::size_t i = 0; i < pooled.size(); ++i) {
    INFO("pooled cell " << i);
    CHECK(to_bits(pooled[i]) == tfmot_oracle::tfmot_block_pooled[c.pooled_offset + static_cast<int>(i)]);
    t.pooled_equal += to_bits(pooled[i]) == tfmot_oracle::tfmot_block_pooled[c.pooled_offset + static_cast<int>(i)];
    ++t.pooled;
  }
  std::vector<std::uint8_t> mask(w.size(), 7);
  const float threshold = compute_mask<pattern>(view, make_view(mask.data(), rows, cols), from_bits(c.sparsity_bits));
  CHECK(to_bits(threshold) == c.threshold_bits);
  t.thresholds_equal += to_bits(threshold) == c.threshold_bits;
  ++t.thresholds;
  for (std::size_t i = 0; i < mask.size(); ++i) {
    INFO("element " << i / static_cast<std::size_t>(cols) << ", " << i % static_cast<std::size_t>(cols));
    CHECK(mask[i] == tfmot_oracle::tfmot_block_masks[c.weight_offset + static_cast<int>(i)]);
    t.masks_equal += mask[i] == tfmot_oracle::tfmot_block_masks[c.weight_offset + static_cast<int>(i)];
    ++t.masks;
  }
}

template <index_t BR, index_t BC>
void run_pooling(const tfmot_oracle::tfmot_block_case& c, tally& t) {
  if (c.max_pooling) {
    run_case<BR, BC, max_pooling>(c, t);
  } else {
    run_case<BR, BC, avg_pooling>(c, t);
  }
}

}  // namespace

TEST_CASE("tfmot_block_mask equals TF-MOT 0.8.1 on divisible and undivisible shapes", "[sparsity][block][tfmot_oracle]") {
  tally t;
  int cases = 0, undivisible = 0;
  for (const auto& c : tfmot_oracle::tfmot_block_cases) {
    INFO(c.rows << "x" << c.cols << " block " << c.block_rows << "x" << c.block_cols << (c.max_pooling ? " MAX" : " AVG"));
    undivisible += c.rows % c.block_rows != 0 || c.cols % c.block_cols != 0;
    const int key = c.block_rows * 10 + c.block_cols;
    switch (key) {
      case 41: run_pooling<4, 1>(c, t); break;
      case 23: run_pooling<2, 3>(c, t); break;
      case 32: run_pooling<3, 2>(c, t); break;
      case 44: run_pooling<4, 4>(c, t); break;
      case 43: run_pooling<4, 3>(c, t); break;
      case 52: run_pooling<5, 2>(c, t); break;
      case 14: run_pooling<1, 4>(c, t); break;
      case 22: run_pooling<2, 2>(c, t); break;
      default: FAIL("no instantiation for this block shape");
    }
    ++cases;
  }
  CHECK(cases == 12);
  CHECK(undivisible == 11);
  // 100 %: every pooled score, threshold and mask element.
  CHECK(t.pooled_equal == t.pooled);
  CHECK(t.pooled == 655);
  CHECK(t.thresholds_equal == 12);
  CHECK(t.masks_equal == t.masks);
  CHECK(t.masks == 3513);
}

TEST_CASE("tfmot_block_grid: the shifted grid by hand, and the default grid unchanged", "[sparsity][block]") {
  // 5x1 with 4x1 blocks: ceil(5/4) = 2 cells, pad 3, floor(3/2) = 1 before index 0.
  // Cell 0 pools rows {0, 1, 2}, cell 1 rows {3, 4}; element i takes cell i / 4: rows 0-3 cell 0, row 4 cell 1.
  const float w[5] = {0.1f, 0.2f, 0.3f, 5.0f, 5.0f};
  const auto v = make_view(w, 5, 1);
  const std::vector<float> pooled = tfmot_block_mask<4, 1>::tfmot_pooled(v);
  REQUIRE(pooled.size() == 2);
  CHECK(pooled[0] == ((0.1f + 0.2f) + 0.3f) / 3.0f);
  CHECK(pooled[1] == 5.0f);
  std::uint8_t mask[5];
  const float thr = compute_mask<tfmot_block_mask<4, 1>>(v, make_view(mask, 5, 1), 0.5f);
  CHECK(thr == 5.0f);
  // Row 3 (value 5) is pruned with cell 0's decision, row 4 kept with cell 1's — TF-MOT's own result.
  const std::uint8_t tfmot_mask[5] = {0, 0, 0, 0, 1};
  CHECK(std::memcmp(mask, tfmot_mask, 5) == 0);
  // The default grid starts at 0: cells {0..3} (mean 1.4) and {4} (5): the same decision here, kept cell 1.
  std::uint8_t zero_mask[5];
  compute_mask<block_mask<4, 1>>(v, make_view(zero_mask, 5, 1), 0.5f);
  const std::uint8_t at_zero[5] = {0, 0, 0, 0, 1};
  CHECK(std::memcmp(zero_mask, at_zero, 5) == 0);
  // 7x1 with 4x1 blocks, pad 1, floor(1/2) = 0: the grid starts at 0 as in the default.
  const float w7[7] = {1, 1, 1, 1, 9, 9, 9};
  std::uint8_t m7[7], d7[7];
  compute_mask<tfmot_block_mask<4, 1>>(make_view(w7, 7, 1), make_view(m7, 7, 1), 0.5f);
  compute_mask<block_mask<4, 1>>(make_view(w7, 7, 1), make_view(d7, 7, 1), 0.5f);
  CHECK(std::memcmp(m7, d7, 7) == 0);
}

TEST_CASE("tfmot_block_grid: NaN, a one-cell axis and rank 3", "[sparsity][block]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // 2x6, 2x2 blocks (no padding): a NaN makes its block's average NaN, which ranks below every number:
  // scores 1, 5, NaN; k = round_half_even(3 * 0.5) = 2 keeps 1 and 5.
  const float w[12] = {1, 1, 5, 5, nan, 9, 1, 1, 5, 5, 9, 9};
  std::uint8_t mask[12];
  compute_mask<tfmot_block_mask<2, 2>>(make_view(w, 2, 6), make_view(mask, 2, 6), 0.5f);
  const std::uint8_t want[12] = {1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0};
  CHECK(std::memcmp(mask, want, 12) == 0);
  // MAX skips the NaN: scores 1, 5, 9; the top two kept.
  compute_mask<tfmot_block_mask<2, 2, max_pooling>>(make_view(w, 2, 6), make_view(mask, 2, 6), 0.5f);
  const std::uint8_t want_max[12] = {0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1};
  CHECK(std::memcmp(mask, want_max, 12) == 0);
  // 3x2 with 4x1 blocks: one cell along the rows (TF-MOT's own squeeze fails there; qsparse pools all 3 rows).
  const float w3[6] = {1, 2, 3, 4, 5, 6};
  const auto pooled = tfmot_block_mask<4, 1>::tfmot_pooled(make_view(w3, 3, 2));
  REQUIRE(pooled.size() == 2);
  CHECK(pooled[0] == ((1.0f + 3.0f) + 5.0f) / 3.0f);
  CHECK(pooled[1] == ((2.0f + 4.0f) + 6.0f) / 3.0f);
  // Rank 3 on axes (0, 2): each index of axis 1 has its own blocks, each one TF-MOT's rank-2 rule.
  using rank3 = block_mask<3, 2, avg_pooling, 0, 2, tfmot_block_grid>;
  std::vector<float> w4(5 * 2 * 3);
  for (std::size_t i = 0; i < w4.size(); ++i) w4[i] = static_cast<float>((i * 7) % 11) - 5.0f;
  std::vector<std::uint8_t> m4(w4.size());
  compute_mask<rank3>(make_view(static_cast<const float*>(w4.data()), 5, 2, 3), make_view(m4.data(), 5, 2, 3), 0.5f);
  for (index_t j = 0; j < 2; ++j) {
    std::vector<float> slice(15);
    for (index_t r = 0; r < 5; ++r) {
      for (index_t c = 0; c < 3; ++c) slice[static_cast<std::size_t>(r * 3 + c)] = w4[static_cast<std::size_t>((r * 2 + j) * 3 + c)];
    }
    const auto p2 = tfmot_block_mask<3, 2>::tfmot_pooled(make_view(static_cast<const float*>(slice.data()), 5, 3));
    const auto p3 = rank3::tfmot_pooled(make_view(static_cast<const float*>(w4.data()), 5, 2, 3));
    for (index_t g = 0; g < 4; ++g) {
      const index_t gr = g / 2, gc = g % 2;
      CHECK(to_bits(p3[static_cast<std::size_t>((gr * 2 + j) * 2 + gc)]) == to_bits(p2[static_cast<std::size_t>(g)]));
    }
  }
}

TEST_CASE("tfmot_block_grid: divisible shapes with MAX equal the default grid; the pruner takes it", "[sparsity][block]") {
  static_assert(is_pattern_v<tfmot_block_mask<4, 1>> && is_pattern_v<tfmot_block_mask<2, 2, max_pooling>>);
  std::vector<float> w(12 * 8);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.37f * static_cast<float>(i)) * static_cast<float>(i % 5);
  const auto v = make_view(static_cast<const float*>(w.data()), 12, 8);
  for (float s : {0.0f, 0.3f, 0.5f, 0.9f, 0.99f}) {
    std::vector<std::uint8_t> a(w.size()), b(w.size());
    const float ta = compute_mask<tfmot_block_mask<4, 2, max_pooling>>(v, make_view(a.data(), 12, 8), s);
    const float tb = compute_mask<block_mask<4, 2, max_pooling>>(v, make_view(b.data(), 12, 8), s);
    INFO("sparsity " << s);
    CHECK(a == b);
    CHECK(ta == tb);
  }
  using prune = pruner<constant_sparsity, tfmot_block_mask<4, 1>>;
  std::vector<float> weights(w);
  std::vector<float> mask(w.size(), 1.0f);
  prune p{constant_sparsity(0.5f, 0, -1, 1)};
  p.step(0, make_view(weights.data(), 12, 8), make_view(mask.data(), 12, 8));
  std::vector<std::uint8_t> direct(w.size());
  compute_mask<tfmot_block_mask<4, 1>>(v, make_view(direct.data(), 12, 8), 0.5f);
  for (std::size_t i = 0; i < w.size(); ++i) CHECK(mask[i] == static_cast<float>(direct[i]));
}
