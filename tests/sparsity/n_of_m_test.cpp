#include "qsparse/sparsity/n_of_m.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "qsparse/sparsity/pruner.hpp"
#include "sparsity/test_util.hpp"

using namespace qsparse;
using qsparse::sparsity_testing::error_of;

TEST_CASE("n_of_m: TF-MOT's m-by-n examples", "[sparsity][n_of_m]") {
  SECTION("2D 2:4 along C_in of [C_in, C_out]") {
    std::vector<float> w{0.74f, 0.68f, -0.89f, -0.45f, -1.68f, 1.24f, 0.31f, -0.6f};
    std::vector<float> mask(8);
    compute_mask<n_of_m<2, 4>>(make_view(w.data(), 4, 2), make_view(mask.data(), 4, 2), 0.0f);
    CHECK(mask == std::vector<float>{0, 1, 1, 0, 1, 1, 0, 0});
    CHECK(is_n_of_m(make_view(mask.data(), 4, 2), 2, 4, 0));
  }
  SECTION("2D 2:4 with padding (C_in = 3)") {
    std::vector<float> w{1.92f, -0.21f, -0.19f, 0.57f, 1.1f, -0.42f};
    std::vector<float> mask(6);
    compute_mask<n_of_m<2, 4>>(make_view(w.data(), 3, 2), make_view(mask.data(), 3, 2), 0.0f);
    CHECK(mask == std::vector<float>{1, 0, 0, 1, 1, 1});
  }
  SECTION("4D 1:2 along C_in of [H, W, C_in, C_out]") {
    std::vector<float> w{-0.36f, -0.77f, -0.43f, -0.18f, 0.12f, 1.36f, 0.77f, 0.96f};
    std::vector<float> mask(8);
    compute_mask<n_of_m<1, 2>>(make_view(w.data(), 1, 1, 4, 2), make_view(mask.data(), 1, 1, 4, 2), 0.0f);
    CHECK(mask == std::vector<float>{0, 1, 1, 0, 0, 1, 1, 0});
  }
}

TEST_CASE("n_of_m: ties go to the lower index, padding never wins over a weight", "[sparsity][n_of_m]") {
  std::vector<float> w{1, -1, 1, 1, 0, 0, 0, 0, 2, 0, 0};  // 11 along the last axis: groups of 4, 4, 3
  std::vector<std::uint8_t> mask(11);
  compute_mask<n_of_m<2, 4, -1>>(make_view(w.data(), 1, 11), make_view(mask.data(), 1, 11), 0.5f);
  CHECK(mask == std::vector<std::uint8_t>{1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0});
  // A last group of one element keeps it (min(N, r) with r = 1).
  std::vector<float> five{0, 0, 0, 0, 0};
  std::vector<std::uint8_t> m5(5);
  compute_mask<n_of_m<1, 4, -1>>(make_view(five.data(), 5), make_view(m5.data(), 5), 0.0f);
  CHECK(m5 == std::vector<std::uint8_t>{1, 0, 0, 0, 1});
  // NaN ranks below the padding zeros: a lone NaN in a partial group is pruned.
  std::vector<float> nan_tail{1, 2, 3, 4, std::numeric_limits<float>::quiet_NaN()};
  compute_mask<n_of_m<1, 4, -1>>(make_view(nan_tail.data(), 5), make_view(m5.data(), 5), 0.0f);
  CHECK(m5 == std::vector<std::uint8_t>{0, 0, 0, 1, 0});
}

TEST_CASE("n_of_m invariants on random tensors: 2:4, 1:4, 4:8 along any axis", "[sparsity][n_of_m]") {
  for (std::uint32_t seed = 1; seed <= 10; ++seed) {
    constexpr index_t O = 5, H = 3, W = 2, I = 13;  // I not a multiple of 4 or 8
    const auto w = qsparse::sparsity_testing::weights_with_ties(O * H * W * I, seed);
    const auto wv = make_view(w.data(), O, H, W, I);
    std::vector<float> m24(w.size()), m14(w.size()), m48(w.size());
    const auto v24 = make_view(m24.data(), O, H, W, I);
    const auto v14 = make_view(m14.data(), O, H, W, I);
    const auto v48 = make_view(m48.data(), O, H, W, I);
    compute_mask<n_of_m<2, 4, -1>>(wv, v24, 0.0f);
    compute_mask<n_of_m<1, 4, 3>>(wv, v14, 0.0f);
    compute_mask<n_of_m<4, 8, -1>>(wv, v48, 0.0f);
    CHECK(is_n_of_m(v24, 2, 4, -1));
    CHECK(is_n_of_m(v14, 1, 4, 3));
    CHECK(is_n_of_m(v48, 4, 8, -1));
    const auto check_groups = [&](const auto& mv, index_t n, index_t m) {
      for (index_t o = 0; o < O; ++o)
        for (index_t h = 0; h < H; ++h)
          for (index_t x = 0; x < W; ++x)
            for (index_t g = 0; g < I; g += m) {
              const index_t end = std::min(g + m, I);
              index_t kept = 0;
              for (index_t i = g; i < end; ++i) kept += mv(o, h, x, i) != 0;
              CHECK(kept == std::min(n, end - g));  // exactly min(N, r) kept per group
              // every kept |w| >= every pruned |w| in the group; an equal pruned one has a higher index
              for (index_t i = g; i < end; ++i)
                for (index_t j = g; j < end; ++j)
                  if (mv(o, h, x, i) != 0 && mv(o, h, x, j) == 0) {
                    const float a = std::fabs(wv(o, h, x, i)), b = std::fabs(wv(o, h, x, j));
                    CHECK(a >= b);
                    if (a == b) CHECK(i < j);
                  }
            }
    };
    check_groups(v24, 2, 4);
    check_groups(v14, 1, 4);
    check_groups(v48, 4, 8);
  }
}

TEST_CASE("n_of_m along axis 0 of a K x N matrix equals along -1 of its transpose", "[sparsity][n_of_m]") {
  constexpr index_t K = 10, N = 3;
  const auto w = qsparse::sparsity_testing::weights_with_ties(K * N, 5);
  std::vector<float> mk(w.size()), mt(w.size());
  compute_mask<n_of_m<2, 4, 0>>(make_view(w.data(), K, N), make_view(mk.data(), K, N), 0.0f);
  // the N x K view of the same memory, mask written through the transposed view too
  compute_mask<n_of_m<2, 4, -1>>(make_strided_view(w.data(), {N, K}, {1, N}),
                                 make_strided_view(mt.data(), {N, K}, {1, N}), 0.0f);
  CHECK(mk == mt);
  CHECK(n_of_m<2, 4>::target_sparsity(0.9f) == 0.5f);
  CHECK(n_of_m<1, 4>::target_sparsity(0.1f) == 0.75f);
}

TEST_CASE("is_n_of_m checks and rejects bad arguments", "[sparsity][n_of_m][errors]") {
  std::vector<float> v{1, 1, 1, 0, 0, 0, 0, 1};
  CHECK_FALSE(is_n_of_m(make_view(v.data(), 8), 2, 4, 0));
  CHECK(is_n_of_m(make_view(v.data(), 8), 3, 4, 0));
  CHECK(is_n_of_m(make_view(v.data(), 2, 4), 2, 2, 0));  // columns: [1,0] [1,0] [1,0] [0,1]
  CHECK(error_of([&] { is_n_of_m(make_view(v.data(), 8), 5, 4, 0); }) ==
        "qsparse::is_n_of_m: n must be in [0, m], got n = 5, m = 4");
  CHECK(error_of([&] { is_n_of_m(make_view(v.data(), 8), 0, 0, 0); }) == "qsparse::is_n_of_m: m must be >= 1, got m = 0");
  CHECK(error_of([&] { is_n_of_m(make_view(v.data(), 2, 4), 2, 4, 2); }) ==
        "qsparse::is_n_of_m: axis must be in [-2, 2), got axis = 2");
}
