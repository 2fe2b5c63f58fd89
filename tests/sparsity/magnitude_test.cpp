#include "qsparse/sparsity/magnitude.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "qsparse/sparsity/pruner.hpp"
#include "sparsity/test_util.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using qsparse::sparsity_testing::error_of;

namespace {
std::vector<float> linspace_1_to(int n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i + 1);
  return v;
}
}  // namespace

TEST_CASE("kept_count is TF-MOT's k: max(round_half_even(float32(n) * (1 - s)), 1)", "[sparsity][keep_rule]") {
  CHECK(kept_count(10, 0x1.99999cp-3f) == 8);  // s = 0.200000018: 10 * 0.79999998 = 7.9999998 -> 8
  CHECK(kept_count(100, 0.5f) == 50);
  CHECK(kept_count(100, 0.9999f) == 1);        // testExtremelySparseMask: at least one is kept
  CHECK(kept_count(100, 0.0f) == 100);
  CHECK(kept_count(100, 1.0f) == 1);
  CHECK(kept_count(0, 0.5f) == 0);
  // Ties round to even: 5 * 0.5 = 2.5 -> 2, 7 * 0.5 = 3.5 -> 4, 1 * 0.5 = 0.5 -> 0 -> 1.
  CHECK(kept_count(5, 0.5f) == 2);
  CHECK(kept_count(7, 0.5f) == 4);
  CHECK(kept_count(1, 0.5f) == 1);
  CHECK(kept_count(3, 0.5f) == 2);  // 1.5 -> 2
  // float32(n) rounds above n past 2^24: clamped to n.
  CHECK(kept_count(16777219, 0.0f) == 16777219);
  CHECK(kept_count(16777217, 0.0f) == 16777216);  // float32(16777217) = 16777216, as TF computes
  CHECK(error_of([] { kept_count(10, 1.5f); }) == "qsparse::kept_count: sparsity must be in [0, 1], got sparsity = 1.5");
  CHECK(error_of([] { kept_count(10, -0.25f); }) == "qsparse::kept_count: sparsity must be in [0, 1], got sparsity = -0.25");
}

TEST_CASE("magnitude mask: TF-MOT's expected values", "[sparsity][magnitude]") {
  SECTION("weights 1..10 at s = 0.200000018 keep 8, threshold 3") {
    auto w = linspace_1_to(10);
    std::vector<float> mask(10, 1.0f);
    const float threshold = compute_mask<magnitude>(make_view(w.data(), 10), make_view(mask.data(), 10), 0x1.99999cp-3f);
    CHECK(threshold == 3.0f);
    CHECK(mask == std::vector<float>{0, 0, 1, 1, 1, 1, 1, 1, 1, 1});
  }
  SECTION("linspace(1, 100, 100) at 0.5 keeps 50; at 0.9999 keeps 1") {
    auto w = linspace_1_to(100);
    std::vector<std::uint8_t> mask(100, 1);
    compute_mask<magnitude>(make_view(w.data(), 10, 10), make_view(mask.data(), 10, 10), 0.5f);
    CHECK(std::count(mask.begin(), mask.end(), 1) == 50);
    CHECK(std::all_of(mask.begin(), mask.begin() + 50, [](std::uint8_t m) { return m == 0; }));
    compute_mask<magnitude>(make_view(w.data(), 100), make_view(mask.data(), 100), 0.9999f);
    CHECK(std::count(mask.begin(), mask.end(), 1) == 1);
    CHECK(mask[99] == 1);
  }
  SECTION("ties at the threshold are all kept, signs ignored") {
    std::vector<float> w{-2, 1, 2, -1, 2, 0.5f, 3, -2};
    std::vector<float> mask(w.size());
    // k = round(8 * 0.5) = 4: sorted |w| 3,2,2,2,2,1,1,.5 -> threshold 2, five kept.
    CHECK(compute_mask<magnitude>(make_view(w.data(), 8), make_view(mask.data(), 8), 0.5f) == 2.0f);
    CHECK(mask == std::vector<float>{1, 0, 1, 0, 1, 0, 1, 1});
  }
  SECTION("zeros take part; all-zero weights are all kept (ties)") {
    std::vector<float> w(6, 0.0f);
    std::vector<float> mask(6, 0.0f);
    CHECK(compute_mask<magnitude>(make_view(w.data(), 6), make_view(mask.data(), 6), 0.5f) == 0.0f);
    CHECK(mask == std::vector<float>(6, 1.0f));
  }
  SECTION("NaN ranks lowest, infinities highest") {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    std::vector<float> w{nan, 1, -inf, 0, 2, nan};
    std::vector<float> mask(6);
    compute_mask<magnitude>(make_view(w.data(), 6), make_view(mask.data(), 6), 0.5f);  // k = 3
    CHECK(mask == std::vector<float>{0, 1, 1, 0, 1, 0});
    std::vector<float> all_nan(4, nan);
    std::vector<float> m4(4);
    compute_mask<magnitude>(make_view(all_nan.data(), 4), make_view(m4.data(), 4), 0.5f);  // threshold NaN-key: all kept
    CHECK(m4 == std::vector<float>(4, 1.0f));
  }
}

TEST_CASE("magnitude mask reads any layout in row-major logical order", "[sparsity][magnitude]") {
  // A 3x4 matrix stored column-major: the mask (row-major) must match the one of the row-major copy.
  const auto values = qsparse::sparsity_testing::weights_with_ties(12, 7);
  std::vector<float> column_major(12);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) column_major[static_cast<std::size_t>(c * 3 + r)] = values[static_cast<std::size_t>(r * 4 + c)];
  std::vector<float> m1(12), m2(12);
  compute_mask<magnitude>(make_view(values.data(), 3, 4), make_view(m1.data(), 3, 4), 0.6f);
  compute_mask<magnitude>(make_strided_view(column_major.data(), {3, 4}, {1, 3}), make_view(m2.data(), 3, 4), 0.6f);
  CHECK(m1 == m2);
}

TEST_CASE("magnitude mask invariants on random tensors", "[sparsity][magnitude]") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    const auto w = qsparse::sparsity_testing::weights_with_ties(257, seed);
    for (float s : {0.0f, 0.1f, 0.5f, 0.77f, 0.95f, 0.999f}) {
      std::vector<std::uint8_t> mask(w.size());
      const float threshold =
          compute_mask<magnitude>(make_view(w.data(), 257), make_view(mask.data(), 257), s);
      const index_t k = kept_count(257, s);
      index_t kept = 0;
      for (std::size_t i = 0; i < w.size(); ++i) {
        CHECK((mask[i] == 1) == (std::fabs(w[i]) >= threshold));
        kept += mask[i];
      }
      CHECK(kept >= k);
      // Exactly k would survive without ties: the elements strictly above the threshold are fewer than k.
      CHECK(std::count_if(w.begin(), w.end(), [&](float x) { return std::fabs(x) > threshold; }) < k);
    }
  }
}

TEST_CASE("compute_mask rejects a bad sparsity or shape", "[sparsity][magnitude][errors]") {
  std::vector<float> w(6), m(6);
  CHECK(error_of([&] { compute_mask<magnitude>(make_view(w.data(), 6), make_view(m.data(), 6), 1.0f); }) ==
        "qsparse::compute_mask: sparsity must be in [0, 1), got sparsity = 1");
  CHECK(error_of([&] { compute_mask<magnitude>(make_view(w.data(), 2, 3), make_view(m.data(), 3, 2), 0.5f); }) ==
        "qsparse::compute_mask: mask must have the shape of weights, got weights extents = [2, 3], mask extents = [3, 2]");
  CHECK(error_of([&] { compute_mask<magnitude>(make_view(w.data(), 0), make_view(m.data(), 0), 0.5f); }) == "no error");
}
