#include "qsparse/sparsity/block_mask.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "qsparse/sparsity/pruner.hpp"
#include "sparsity/test_util.hpp"

using namespace qsparse;

TEST_CASE("block mask: TF-MOT's 2x2 AVG and MAX examples", "[sparsity][block]") {
  const std::vector<float> expected{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  SECTION("AVG") {
    std::vector<float> w{.1f, .1f, .2f, .2f, .1f, .1f, .2f, .2f, .3f, .3f, .4f, .4f, .3f, .3f, .4f, .4f};
    std::vector<float> mask(16);
    const float threshold =
        compute_mask<block_mask<2, 2>>(make_view(w.data(), 4, 4), make_view(mask.data(), 4, 4), 0.5f);
    CHECK(mask == expected);
    CHECK(threshold == .3f);
  }
  SECTION("MAX") {
    std::vector<float> w{.1f, 0, .2f, 0, 0, -.1f, 0, -.2f, .3f, 0, .4f, 0, 0, -.3f, 0, -.4f};
    std::vector<float> mask(16);
    compute_mask<block_mask<2, 2, max_pooling>>(make_view(w.data(), 4, 4), make_view(mask.data(), 4, 4), 0.5f);
    CHECK(mask == expected);
    // AVG sees these blocks as .05 .1 .15 .2: the same ranking, the same mask.
    std::vector<float> avg_mask(16);
    compute_mask<block_mask<2, 2>>(make_view(w.data(), 4, 4), make_view(avg_mask.data(), 4, 4), 0.5f);
    CHECK(avg_mask == expected);
  }
}

TEST_CASE("block mask: partial edge blocks are pooled over the elements that exist", "[sparsity][block]") {
  // 3x3 with 2x2 blocks: grid 2x2; the corner block holds one element.
  //  1 1 | 9
  //  1 1 | 0      blocks (AVG): [1, 4.5; 2, 8]; at s = 0.5 keep 2: 4.5 and 8.
  //  ----+--
  //  2 2 | 8
  std::vector<float> w{1, 1, 9, 1, 1, 0, 2, 2, 8};
  std::vector<std::uint8_t> mask(9);
  const float threshold = compute_mask<block_mask<2, 2>>(make_view(w.data(), 3, 3), make_view(mask.data(), 3, 3), 0.5f);
  CHECK(threshold == 4.5f);
  CHECK(mask == std::vector<std::uint8_t>{0, 0, 1, 0, 0, 1, 0, 0, 1});
  // MAX: blocks [1, 9; 2, 8] -> keep 9 and 8, the same cells.
  compute_mask<block_mask<2, 2, max_pooling>>(make_view(w.data(), 3, 3), make_view(mask.data(), 3, 3), 0.5f);
  CHECK(mask == std::vector<std::uint8_t>{0, 0, 1, 0, 0, 1, 0, 0, 1});
}

TEST_CASE("block mask over axes (0, 3) of OHWI conv weights", "[sparsity][block]") {
  // O = 4, H = 2, W = 1, I = 4 with 2x2 blocks over (O, I): per (h, w), a 2x2 grid of blocks.
  constexpr index_t O = 4, H = 2, W = 1, I = 4;
  const auto w = qsparse::sparsity_testing::weights_with_ties(O * H * W * I, 3);
  std::vector<float> mask(w.size());
  const auto wv = make_view(w.data(), O, H, W, I);
  const auto mv = make_view(mask.data(), O, H, W, I);
  using pattern = block_mask<2, 2, avg_pooling, 0, -1>;
  const float threshold = compute_mask<pattern>(wv, mv, 0.5f);
  // Each block is all-kept or all-pruned, and kept blocks are exactly those whose mean |w| >= threshold.
  int kept_blocks = 0;
  for (index_t h = 0; h < H; ++h)
    for (index_t ob = 0; ob < O; ob += 2)
      for (index_t ib = 0; ib < I; ib += 2) {
        double sum = 0;
        for (index_t o = ob; o < ob + 2; ++o)
          for (index_t i = ib; i < ib + 2; ++i) sum += std::fabs(wv(o, h, 0, i));
        const bool keep = static_cast<float>(sum / 4) >= threshold;
        kept_blocks += keep;
        for (index_t o = ob; o < ob + 2; ++o)
          for (index_t i = ib; i < ib + 2; ++i) CHECK(mv(o, h, 0, i) == (keep ? 1.0f : 0.0f));
      }
  CHECK(kept_blocks >= 4);  // k = round(8 * 0.5)
}

TEST_CASE("block mask invariants on random matrices, 4x1 and 1x4 blocks", "[sparsity][block]") {
  for (std::uint32_t seed = 1; seed <= 10; ++seed) {
    const index_t rows = 13, cols = 10;
    const auto w = qsparse::sparsity_testing::weights_with_ties(static_cast<std::size_t>(rows * cols), seed);
    for (float s : {0.3f, 0.8f, 0.95f}) {
      std::vector<float> m41(w.size()), m14(w.size());
      compute_mask<block_mask<4, 1>>(make_view(w.data(), rows, cols), make_view(m41.data(), rows, cols), s);
      compute_mask<block_mask<1, 4, max_pooling>>(make_view(w.data(), rows, cols), make_view(m14.data(), rows, cols), s);
      const auto mv41 = make_view(m41.data(), rows, cols);
      const auto mv14 = make_view(m14.data(), rows, cols);
      int blocks41 = 0, blocks14 = 0;
      for (index_t r = 0; r < rows; ++r)
        for (index_t c = 0; c < cols; ++c) {
          CHECK(mv41(r, c) == mv41(r - r % 4, c));  // constant over each 4x1 block
          CHECK(mv14(r, c) == mv14(r, c - c % 4));  // constant over each 1x4 block
          if (r % 4 == 0) blocks41 += mv41(r, c) != 0;
          if (c % 4 == 0) blocks14 += mv14(r, c) != 0;
        }
      CHECK(blocks41 >= kept_count(4 * cols, s));   // grid 4 x 10 (13 rows: 3 full + 1 partial)
      CHECK(blocks14 >= kept_count(rows * 3, s));   // grid 13 x 3
    }
  }
}

TEST_CASE("block_mask<1, 1> is the magnitude mask", "[sparsity][block]") {
  const auto w = qsparse::sparsity_testing::weights_with_ties(60, 11);
  std::vector<float> a(60), b(60);
  compute_mask<block_mask<1, 1>>(make_view(w.data(), 6, 10), make_view(a.data(), 6, 10), 0.7f);
  compute_mask<magnitude>(make_view(w.data(), 6, 10), make_view(b.data(), 6, 10), 0.7f);
  CHECK(a == b);
}
