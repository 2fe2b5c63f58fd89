#include "qsparse/sparsity/statistics.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <vector>

#include "sparsity/test_util.hpp"

using namespace qsparse;
using qsparse::sparsity_testing::error_of;

TEST_CASE("count_nonzero, sparsity_of, per-slice and per-block counts", "[sparsity][statistics]") {
  //  1 0 0 2 0
  //  0 0 0 0 3
  //  4 5 0 0 0
  const std::vector<float> w{1, 0, 0, 2, 0, 0, 0, 0, 0, 3, 4, 5, 0, 0, 0};
  const auto v = make_view(w.data(), 3, 5);
  CHECK(count_nonzero(v) == 5);
  CHECK(sparsity_of(v) == 1.0 - 5.0 / 15.0);
  CHECK(nonzeros_per_slice(v, 0) == std::vector<index_t>{2, 1, 2});
  CHECK(nonzeros_per_slice(v, -1) == std::vector<index_t>{2, 1, 0, 1, 1});
  const auto b = nonzeros_per_block(v, 2, 2);  // grid 2 x 3, edges partial
  CHECK(b.extent(0) == 2);
  CHECK(b.extent(1) == 3);
  CHECK(b(0, 0) == 1);
  CHECK(b(0, 1) == 1);
  CHECK(b(0, 2) == 1);
  CHECK(b(1, 0) == 2);
  CHECK(b(1, 1) == 0);
  CHECK(b(1, 2) == 0);
  const auto b41 = nonzeros_per_block(make_view(w.data(), 1, 3, 5), 1, 4, 0, 2);  // axes (0, 2) of rank 3
  CHECK(b41.extent(2) == 2);
  CHECK(b41(0, 2, 0) == 2);
  CHECK(b41(0, 2, 1) == 0);
  // NaN counts as non-zero; an empty view has sparsity 0
  const std::vector<float> n{std::numeric_limits<float>::quiet_NaN(), 0.0f, -0.0f};
  CHECK(count_nonzero(make_view(n.data(), 3)) == 1);
  CHECK(sparsity_of(make_view(n.data(), 0)) == 0.0);
}

TEST_CASE("statistics reject bad axes and block sizes", "[sparsity][statistics][errors]") {
  std::vector<std::uint8_t> m(12);
  const auto v = make_view(m.data(), 3, 4);
  CHECK(error_of([&] { nonzeros_per_slice(v, 2); }) ==
        "qsparse::nonzeros_per_slice: axis must be in [-2, 2) for a rank-2 view, got axis = 2");
  CHECK(error_of([&] { nonzeros_per_block(v, 0, 4); }) ==
        "qsparse::nonzeros_per_block: block_rows must be >= 1, got block_rows = 0");
  CHECK(error_of([&] { nonzeros_per_block(v, 1, -4); }) ==
        "qsparse::nonzeros_per_block: block_cols must be >= 1, got block_cols = -4");
  CHECK(error_of([&] { nonzeros_per_block(v, 2, 2, 1, -1); }) ==
        "qsparse::nonzeros_per_block: row_axis and col_axis must differ, got row_axis = 1, col_axis = -1");
  CHECK(error_of([&] { nonzeros_per_block(v, 2, 2, -3, 1); }) ==
        "qsparse::nonzeros_per_block: row_axis must be in [-2, 2) for a rank-2 view, got row_axis = -3");
}
