// tests/core/overlap_test.cpp — the aliasing checks every entry point that writes makes (issue 22); the
// entry points' own tests check that they call them.
#include "qsparse/core/overlap.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "qsparse/core/tensor_view.hpp"

using namespace qsparse;

TEST_CASE("overlap: byte ranges of views, disjoint and overlapping", "[overlap]") {
  std::vector<std::int32_t> buffer(64);
  const auto a = make_view(buffer.data(), 4, 8);        // bytes [0, 128)
  const auto b = make_view(buffer.data() + 32, 4, 8);   // bytes [128, 256)
  const auto c = make_view(buffer.data() + 31, 2, 1);   // bytes [124, 132)
  CHECK_NOTHROW(detail::check_no_overlap("f", "out", a, "in", b));
  CHECK_THROWS_WITH(detail::check_no_overlap("qsparse::f", "out", a, "in", c),
                    Catch::Contains("qsparse::f: out overlaps in in memory (bytes [0x") &&
                        Catch::Contains("an output must not share memory with an input"));
  // A strided view spans from its first to its last element: column 0 of a 4 x 8 matrix spans 3 rows + 1.
  const auto column = make_strided_view(buffer.data(), {4}, {8});
  CHECK(detail::bytes_of(column).end - detail::bytes_of(column).begin == (3 * 8 + 1) * 4);
  // Empty views never overlap anything.
  CHECK_NOTHROW(detail::check_no_overlap("f", "out", make_view(buffer.data(), 0, 8), "in", a));
  // A raw range.
  CHECK_THROWS_WITH(detail::check_no_overlap("f", "out", a, "the weights", buffer.data() + 10, 4),
                    Catch::Contains("f: out overlaps the weights in memory"));
}

TEST_CASE("overlap: the in-place rule of element-wise operations", "[overlap]") {
  std::vector<std::int8_t> buffer(64);
  const auto v = make_view(buffer.data(), 8, 8);
  CHECK_NOTHROW(detail::check_in_place_or_disjoint("f", "out", v, "in", make_view(static_cast<const std::int8_t*>(buffer.data()), 8, 8)));
  CHECK_THROWS_WITH(detail::check_in_place_or_disjoint("f", "out", make_view(buffer.data() + 1, 8, 7), "in", v),
                    Catch::Contains("f: out partially overlaps in in memory"));
  // Same first byte, other strides: not the same view.
  CHECK_THROWS_AS(detail::check_in_place_or_disjoint("f", "out", make_strided_view(buffer.data(), {8, 8}, {1, 8}), "in", v),
                  qsparse::error);
}

TEST_CASE("overlap: distinct elements of an output", "[overlap]") {
  std::vector<float> buffer(256);
  CHECK(detail::has_distinct_elements(make_view(buffer.data(), 4, 8).mapping()));
  CHECK(detail::has_distinct_elements(make_strided_view(buffer.data(), {4, 8}, {1, 4}).mapping()));
  CHECK(detail::has_distinct_elements(make_strided_view(buffer.data(), {4, 8}, {16, 1}).mapping()));
  CHECK(detail::has_distinct_elements(make_strided_view(buffer.data(), {1, 8}, {0, 1}).mapping()));  // one row
  CHECK(detail::has_distinct_elements(make_strided_view(buffer.data(), {2, 3, 4}, {1, 2, 6}).mapping()));
  CHECK_FALSE(detail::has_distinct_elements(make_strided_view(buffer.data(), {4, 8}, {0, 1}).mapping()));
  CHECK_FALSE(detail::has_distinct_elements(make_strided_view(buffer.data(), {4, 8}, {4, 1}).mapping()));
  CHECK_FALSE(detail::has_distinct_elements(make_strided_view(buffer.data(), {2, 3, 4}, {1, 1, 6}).mapping()));
  CHECK_THROWS_WITH(detail::check_distinct_elements("qsparse::g", "destination", make_strided_view(buffer.data(), {4, 8}, {0, 1})),
                    "qsparse::g: destination's elements overlap (extents [4, 8], strides [0, 1]): every element of an "
                    "output must have memory of its own (e.g. a row stride of at least the row length)");
}
