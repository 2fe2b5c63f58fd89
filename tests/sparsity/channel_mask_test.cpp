#include "qsparse/sparsity/channel_mask.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "qsparse/sparsity/pruner.hpp"
#include "sparsity/test_util.hpp"

using namespace qsparse;

TEST_CASE("channel mask: filters of an OI matrix by L1 and L2 norm", "[sparsity][channel]") {
  // 4 filters of 3 inputs. L1: 6, 3, 5, 4.5; L2: sqrt(14)=3.74, sqrt(9)=3, sqrt(9)=3 (5: 3,4,0 -> 5), ...
  std::vector<float> w{1, 2, 3,    // L1 6    L2^2 14
                       3, 0, 0,    // L1 3    L2^2 9
                       0, -5, 0,   // L1 5    L2^2 25
                       1.5f, 1.5f, 1.5f};  // L1 4.5  L2^2 6.75
  std::vector<float> mask(12);
  const float t1 = compute_mask<channel_mask<0, l1_norm>>(make_view(w.data(), 4, 3), make_view(mask.data(), 4, 3), 0.5f);
  CHECK(t1 == 5.0f);
  CHECK(mask == std::vector<float>{1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0});
  const float t2 = compute_mask<channel_mask<0, l2_norm>>(make_view(w.data(), 4, 3), make_view(mask.data(), 4, 3), 0.5f);
  CHECK(t2 == static_cast<float>(std::sqrt(14.0)));
  CHECK(mask == std::vector<float>{1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0});
  // 0.75 keeps round(4 * 0.25) = 1 channel: L1 keeps filter 0 (6), L2 keeps filter 2 (5).
  compute_mask<channel_mask<0, l1_norm>>(make_view(w.data(), 4, 3), make_view(mask.data(), 4, 3), 0.75f);
  CHECK(mask == std::vector<float>{1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  compute_mask<channel_mask<0, l2_norm>>(make_view(w.data(), 4, 3), make_view(mask.data(), 4, 3), 0.75f);
  CHECK(mask == std::vector<float>{0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0});
  // Input channels (axis -1): L1 of columns 5.5, 8.5, 4.5 -> at 0.5 keep round(1.5) = 2.
  compute_mask<channel_mask<-1, l1_norm>>(make_view(w.data(), 4, 3), make_view(mask.data(), 4, 3), 0.5f);
  CHECK(mask == std::vector<float>{1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0});
}

TEST_CASE("channel mask on OHWI weights: whole filters, ties kept", "[sparsity][channel]") {
  constexpr index_t O = 6, H = 2, W = 2, I = 3;
  auto w = qsparse::sparsity_testing::weights_with_ties(O * H * W * I, 9);
  // make filters 1 and 4 identical: they tie and share a fate
  for (index_t j = 0; j < H * W * I; ++j) w[static_cast<std::size_t>(4 * H * W * I + j)] = w[static_cast<std::size_t>(H * W * I + j)];
  const auto wv = make_view(w.data(), O, H, W, I);
  for (float s : {0.0f, 0.3f, 0.5f, 0.9f}) {
    std::vector<std::uint8_t> mask(w.size());
    const auto mv = make_view(mask.data(), O, H, W, I);
    compute_mask<channel_mask<0>>(wv, mv, s);
    int kept = 0;
    for (index_t o = 0; o < O; ++o) {
      const auto first = mv(o, 0, 0, 0);
      for (index_t h = 0; h < H; ++h)
        for (index_t x = 0; x < W; ++x)
          for (index_t i = 0; i < I; ++i) CHECK(mv(o, h, x, i) == first);
      kept += first;
    }
    CHECK(mv(1, 0, 0, 0) == mv(4, 0, 0, 0));
    CHECK(kept >= kept_count(O, s));
    CHECK(kept <= kept_count(O, s) + 1);  // only the tied pair can add one
  }
}
