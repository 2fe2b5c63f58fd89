// Tests for qsparse/core/{extents,layout,accessor,tensor_view}.hpp: shapes, the three layouts, element
// addressing in ranks 0..4, slices and subviews along every axis, conversions, the contiguity queries,
// a custom accessor, and the error messages.
#include "qsparse/core/tensor_view.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

using qsparse::index_t;

namespace {

std::vector<int> iota_buffer(index_t n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

// ---- extents -------------------------------------------------------------------------------------

TEST_CASE("extents: rank, extent, size and equality", "[extents]") {
  const qsparse::extents<2> e{3, 4};
  STATIC_REQUIRE(qsparse::extents<2>::rank() == 2);
  CHECK(e.extent(0) == 3);
  CHECK(e.extent(1) == 4);
  CHECK(e.size() == 12);
  CHECK(e == qsparse::extents<2>{3, 4});
  CHECK(e != qsparse::extents<2>{4, 3});
  CHECK(e != qsparse::extents<3>{3, 4, 1});

  const qsparse::extents<0> scalar;
  CHECK(scalar.size() == 1);
  CHECK(qsparse::extents<2>{}.size() == 0);
  CHECK(qsparse::extents<3>{2, 0, 5}.size() == 0);
  CHECK(qsparse::extents<1>{7}.size() == 7);
  CHECK(qsparse::extents<4>{std::array<index_t, 4>{2, 3, 4, 5}}.size() == 120);
  CHECK(qsparse::to_string(qsparse::extents<3>{2, 3, 4}) == "[2, 3, 4]");
  CHECK(qsparse::to_string(qsparse::extents<0>{}) == "[]");
}

TEST_CASE("extents: negative extents and overflowing products are rejected", "[extents][errors]") {
  REQUIRE_THROWS_AS((qsparse::extents<2>{3, -1}), qsparse::error);
  REQUIRE_THROWS_WITH((qsparse::extents<2>{3, -1}), "qsparse::extents: extent(1) = -1 must be non-negative");
  const index_t big = index_t{1} << 40;
  REQUIRE_THROWS_WITH((qsparse::extents<2>{big, big}),
                      Catch::Contains("qsparse::extents: the product of the extents [1099511627776, "
                                      "1099511627776] overflows index_t"));
  // A zero extent makes the product 0, but the other extents alone must still be countable.
  REQUIRE_THROWS_AS((qsparse::extents<3>{big, big, 0}), qsparse::error);
  CHECK(qsparse::extents<3>{big, 0, 1 << 20}.size() == 0);
}

// ---- layouts ---------------------------------------------------------------------------------------

TEST_CASE("layout_right: strides, offsets, span and contiguity", "[layout]") {
  const qsparse::layout_right::mapping<3> m(qsparse::extents<3>{2, 3, 4});
  CHECK(m.stride(0) == 12);
  CHECK(m.stride(1) == 4);
  CHECK(m.stride(2) == 1);
  CHECK(m.strides() == std::array<index_t, 3>{12, 4, 1});
  CHECK(m(0, 0, 0) == 0);
  CHECK(m(1, 2, 3) == 23);
  CHECK(m(1, 0, 2) == 14);
  CHECK(m.required_span_size() == 24);
  STATIC_REQUIRE(qsparse::layout_right::mapping<3>::is_always_contiguous());
  CHECK(m.is_contiguous());
  CHECK(m.is_row_major_contiguous());
  CHECK(qsparse::layout_right::mapping<0>{}() == 0);
  CHECK(qsparse::layout_right::mapping<0>{}.required_span_size() == 1);
}

TEST_CASE("layout_left: strides, offsets, span and contiguity", "[layout]") {
  const qsparse::layout_left::mapping<3> m(qsparse::extents<3>{2, 3, 4});
  CHECK(m.strides() == std::array<index_t, 3>{1, 2, 6});
  CHECK(m(1, 2, 3) == 1 + 2 * 2 + 3 * 6);
  CHECK(m(1, 0, 0) == 1);
  CHECK(m(0, 0, 1) == 6);
  CHECK(m.required_span_size() == 24);
  STATIC_REQUIRE(qsparse::layout_left::mapping<3>::is_always_contiguous());
  CHECK(m.is_contiguous());
  CHECK_FALSE(m.is_row_major_contiguous());
  // With at most one extent above 1, column-major and row-major orders coincide.
  CHECK(qsparse::layout_left::mapping<2>(qsparse::extents<2>{1, 5}).is_row_major_contiguous());
  CHECK(qsparse::layout_left::mapping<2>(qsparse::extents<2>{5, 1}).is_row_major_contiguous());
  CHECK(qsparse::layout_left::mapping<3>(qsparse::extents<3>{1, 7, 1}).is_row_major_contiguous());
  CHECK(qsparse::layout_left::mapping<2>(qsparse::extents<2>{0, 3}).is_row_major_contiguous());
}

TEST_CASE("layout_stride: conversions, offsets, span and contiguity", "[layout]") {
  using qsparse::layout_stride;
  const qsparse::extents<3> e{2, 3, 4};

  const layout_stride::mapping<3> from_right = qsparse::layout_right::mapping<3>(e);
  CHECK(from_right.strides() == std::array<index_t, 3>{12, 4, 1});
  CHECK(from_right.is_contiguous());
  CHECK(from_right.is_row_major_contiguous());

  const layout_stride::mapping<3> from_left = qsparse::layout_left::mapping<3>(e);
  CHECK(from_left.strides() == std::array<index_t, 3>{1, 2, 6});
  CHECK(from_left.is_contiguous());
  CHECK_FALSE(from_left.is_row_major_contiguous());
  STATIC_REQUIRE_FALSE(layout_stride::mapping<3>::is_always_contiguous());

  // Rows padded to 8 elements: neither contiguous nor row-major contiguous.
  const layout_stride::mapping<2> padded(qsparse::extents<2>{3, 5}, {8, 1});
  CHECK(padded(2, 4) == 20);
  CHECK(padded.required_span_size() == 21);
  CHECK_FALSE(padded.is_contiguous());
  CHECK_FALSE(padded.is_row_major_contiguous());

  // A permutation of packed strides is contiguous in some order (e.g. a transpose).
  const layout_stride::mapping<3> permuted(e, {1, 8, 2});
  CHECK(permuted.is_contiguous());
  CHECK_FALSE(permuted.is_row_major_contiguous());
  CHECK(permuted.required_span_size() == 24);

  // Broadcasting (stride 0) aliases; span == size by accident must not fool the check.
  const layout_stride::mapping<2> broadcast(qsparse::extents<2>{2, 2}, {0, 3});
  CHECK(broadcast.required_span_size() == 4);
  CHECK_FALSE(broadcast.is_contiguous());
  CHECK_FALSE(broadcast.is_row_major_contiguous());

  // Strides of extent-1 dimensions are irrelevant.
  const layout_stride::mapping<3> unit(qsparse::extents<3>{1, 4, 1}, {100, 1, 7});
  CHECK(unit.is_contiguous());
  CHECK(unit.is_row_major_contiguous());

  // Empty shapes are trivially contiguous and span nothing.
  const layout_stride::mapping<2> empty(qsparse::extents<2>{0, 4}, {9, 9});
  CHECK(empty.required_span_size() == 0);
  CHECK(empty.is_contiguous());
  CHECK(empty.is_row_major_contiguous());

  CHECK(layout_stride::mapping<2>(qsparse::extents<2>{2, 3}, {3, 1}) ==
        layout_stride::mapping<2>(qsparse::layout_right::mapping<2>(qsparse::extents<2>{2, 3})));
  CHECK(layout_stride::mapping<2>(qsparse::extents<2>{2, 3}, {4, 1}) !=
        layout_stride::mapping<2>(qsparse::extents<2>{2, 3}, {3, 1}));
}

TEST_CASE("layout_stride: negative strides and unaddressable spans are rejected", "[layout][errors]") {
  using qsparse::layout_stride;
  REQUIRE_THROWS_WITH((layout_stride::mapping<2>(qsparse::extents<2>{2, 3}, {3, -1})),
                      "qsparse::layout_stride::mapping: stride(1) = -1 must be non-negative");
  const index_t big = index_t{1} << 62;
  REQUIRE_THROWS_WITH((layout_stride::mapping<2>(qsparse::extents<2>{3, 3}, {big, 1})),
                      Catch::Contains("extents [3, 3] with strides [4611686018427387904, 1] address "
                                      "offsets beyond index_t"));
  // A huge stride over an extent of 1 (or 0) addresses nothing beyond the first element.
  CHECK(layout_stride::mapping<2>(qsparse::extents<2>{1, 3}, {big, 1}).required_span_size() == 3);
}

// ---- element addressing, ranks 0..4 ----------------------------------------------------------------

TEST_CASE("tensor_view: element addressing in ranks 0 to 4", "[tensor_view]") {
  auto buf = iota_buffer(120);
  int* p = buf.data();

  SECTION("rank 0") {
    qsparse::tensor_view<int, 0> v(p + 7, qsparse::extents<0>{});
    CHECK(v.size() == 1);
    CHECK(v() == 7);
    CHECK(&v() == p + 7);
    CHECK(v[{}] == 7);
    CHECK(v.at() == 7);
  }
  SECTION("rank 1") {
    auto v = qsparse::make_view(p, 10);
    for (index_t i = 0; i < 10; ++i) CHECK(&v(i) == p + i);
  }
  SECTION("rank 2, row- and column-major") {
    auto r = qsparse::make_view(p, 3, 4);
    qsparse::tensor_view<int, 2, qsparse::layout_left> c(p, 3, 4);
    for (index_t i = 0; i < 3; ++i) {
      for (index_t j = 0; j < 4; ++j) {
        CHECK(&r(i, j) == p + i * 4 + j);
        CHECK(&c(i, j) == p + i + j * 3);
        CHECK(&r[{i, j}] == p + i * 4 + j);
      }
    }
  }
  SECTION("rank 3") {
    auto v = qsparse::make_view(p, 2, 3, 4);
    for (index_t i = 0; i < 2; ++i)
      for (index_t j = 0; j < 3; ++j)
        for (index_t k = 0; k < 4; ++k) CHECK(&v(i, j, k) == p + (i * 3 + j) * 4 + k);
  }
  SECTION("rank 4, all three layouts") {
    auto r = qsparse::make_view(p, 2, 3, 4, 5);
    qsparse::tensor_view<int, 4, qsparse::layout_left> l(p, qsparse::extents<4>{2, 3, 4, 5});
    // Strides of a (2, 3, 4, 5) block inside a (2, 3, 4, 5) buffer seen in (k, l, i, j) order.
    auto s = qsparse::make_strided_view(p, {4, 5, 2, 3}, {5, 1, 60, 20});
    for (index_t i = 0; i < 2; ++i)
      for (index_t j = 0; j < 3; ++j)
        for (index_t k = 0; k < 4; ++k)
          for (index_t m = 0; m < 5; ++m) {
            CHECK(&r(i, j, k, m) == p + ((i * 3 + j) * 4 + k) * 5 + m);
            CHECK(&l(i, j, k, m) == p + i + 2 * (j + 3 * (k + 4 * m)));
            CHECK(&s(k, m, i, j) == &r(i, j, k, m));
          }
    CHECK(s.is_contiguous());
    CHECK_FALSE(s.is_row_major_contiguous());
  }
}

TEST_CASE("tensor_view: observers", "[tensor_view]") {
  auto buf = iota_buffer(24);
  const auto v = qsparse::make_view(buf.data(), 2, 3, 4);
  STATIC_REQUIRE(decltype(v)::rank() == 3);
  CHECK(v.data_handle() == buf.data());
  CHECK(v.extents() == qsparse::extents<3>{2, 3, 4});
  CHECK(v.extent(2) == 4);
  CHECK(v.stride(0) == 12);
  CHECK(v.size() == 24);
  CHECK_FALSE(v.empty());
  CHECK(v.required_span_size() == 24);
  CHECK(v.mapping() == qsparse::layout_right::mapping<3>(qsparse::extents<3>{2, 3, 4}));
  CHECK(v.is_contiguous());
  CHECK(v.is_row_major_contiguous());

  const qsparse::tensor_view<float, 2> empty;
  CHECK(empty.data_handle() == nullptr);
  CHECK(empty.size() == 0);
  CHECK(empty.empty());
  CHECK(empty.required_span_size() == 0);
}

TEST_CASE("tensor_view: deduction guides", "[tensor_view]") {
  float buf[12] = {};
  qsparse::tensor_view a(buf, qsparse::extents<2>{3, 4});
  qsparse::tensor_view b(buf, 3, 4);
  qsparse::tensor_view c(buf, qsparse::layout_left::mapping<2>(qsparse::extents<2>{3, 4}));
  qsparse::tensor_view d(buf, qsparse::layout_stride::mapping<2>(qsparse::extents<2>{3, 2}, {4, 2}));
  STATIC_REQUIRE(std::is_same_v<decltype(a), qsparse::tensor_view<float, 2>>);
  STATIC_REQUIRE(std::is_same_v<decltype(b), qsparse::tensor_view<float, 2>>);
  STATIC_REQUIRE(std::is_same_v<decltype(c), qsparse::tensor_view<float, 2, qsparse::layout_left>>);
  STATIC_REQUIRE(std::is_same_v<decltype(d), qsparse::tensor_view<float, 2, qsparse::layout_stride>>);
  CHECK(&d(2, 1) == buf + 10);
}

// ---- slices and subviews ---------------------------------------------------------------------------

TEST_CASE("slice: every axis of a rank-3 view, row- and column-major", "[slice]") {
  auto buf = iota_buffer(24);
  int* p = buf.data();
  const auto r = qsparse::make_view(p, 2, 3, 4);
  const qsparse::tensor_view<int, 3, qsparse::layout_left> l(p, 2, 3, 4);
  const auto right = [p](index_t i, index_t j, index_t k) { return p + (i * 3 + j) * 4 + k; };
  const auto left = [p](index_t i, index_t j, index_t k) { return p + i + 2 * (j + 3 * k); };

  for (index_t i = 0; i < 2; ++i) {
    auto sr = qsparse::slice(r, 0, i);
    auto sl = qsparse::slice(l, 0, i);
    STATIC_REQUIRE(std::is_same_v<decltype(sr), qsparse::tensor_view<int, 2, qsparse::layout_stride>>);
    REQUIRE(sr.extents() == qsparse::extents<2>{3, 4});
    REQUIRE(sl.extents() == qsparse::extents<2>{3, 4});
    CHECK(sr.is_row_major_contiguous());
    CHECK_FALSE(sl.is_contiguous());
    for (index_t j = 0; j < 3; ++j)
      for (index_t k = 0; k < 4; ++k) {
        CHECK(&sr(j, k) == right(i, j, k));
        CHECK(&sl(j, k) == left(i, j, k));
      }
  }
  for (index_t j = 0; j < 3; ++j) {
    auto sr = qsparse::slice(r, 1, j);
    auto sl = qsparse::slice(l, 1, j);
    REQUIRE(sr.extents() == qsparse::extents<2>{2, 4});
    CHECK(sr.stride(0) == 12);
    CHECK(sr.stride(1) == 1);
    CHECK_FALSE(sr.is_row_major_contiguous());
    for (index_t i = 0; i < 2; ++i)
      for (index_t k = 0; k < 4; ++k) {
        CHECK(&sr(i, k) == right(i, j, k));
        CHECK(&sl(i, k) == left(i, j, k));
      }
  }
  for (index_t k = 0; k < 4; ++k) {
    auto sr = qsparse::slice(r, 2, k);
    auto sl = qsparse::slice(l, 2, k);
    REQUIRE(sr.extents() == qsparse::extents<2>{2, 3});
    CHECK_FALSE(sr.is_contiguous());
    CHECK(sl.is_contiguous());  // a column-major plane: contiguous, but not row-major
    CHECK_FALSE(sl.is_row_major_contiguous());
    for (index_t i = 0; i < 2; ++i)
      for (index_t j = 0; j < 3; ++j) {
        CHECK(&sr(i, j) == right(i, j, k));
        CHECK(&sl(i, j) == left(i, j, k));
      }
  }
}

TEST_CASE("slice: down to rank 0, and of strided views", "[slice]") {
  auto buf = iota_buffer(24);
  const auto v = qsparse::make_view(buf.data(), 4, 6);
  auto row = qsparse::slice(v, 0, 2);
  auto element = qsparse::slice(row, 0, 5);
  STATIC_REQUIRE(decltype(element)::rank() == 0);
  CHECK(&element() == buf.data() + 17);

  // Slicing a slice: the column 3 of the rows [1, 4).
  auto col = qsparse::slice(qsparse::subview(v, 0, 1, 4), 1, 3);
  REQUIRE(col.extent(0) == 3);
  CHECK(col.stride(0) == 6);
  CHECK(col(0) == 9);
  CHECK(col(1) == 15);
  CHECK(col(2) == 21);
}

TEST_CASE("subview: every axis of a rank-3 view", "[subview]") {
  auto buf = iota_buffer(60);
  int* p = buf.data();
  const auto v = qsparse::make_view(p, 3, 4, 5);
  const auto at = [p](index_t i, index_t j, index_t k) { return p + (i * 4 + j) * 5 + k; };

  for (std::size_t axis = 0; axis < 3; ++axis) {
    const index_t n = v.extent(axis);
    for (index_t begin = 0; begin <= n; ++begin) {
      for (index_t end = begin; end <= n; ++end) {
        auto s = qsparse::subview(v, axis, begin, end);
        STATIC_REQUIRE(std::is_same_v<decltype(s), qsparse::tensor_view<int, 3, qsparse::layout_stride>>);
        REQUIRE(s.extent(axis) == end - begin);
        for (std::size_t r = 0; r < 3; ++r) {
          if (r != axis) REQUIRE(s.extent(r) == v.extent(r));
          CHECK(s.stride(r) == v.stride(r));
        }
        for (index_t i = 0; i < s.extent(0); ++i)
          for (index_t j = 0; j < s.extent(1); ++j)
            for (index_t k = 0; k < s.extent(2); ++k) {
              const index_t shift = begin;
              CHECK(&s(i, j, k) == at(i + (axis == 0 ? shift : 0), j + (axis == 1 ? shift : 0),
                                       k + (axis == 2 ? shift : 0)));
            }
      }
    }
  }
}

TEST_CASE("is_row_major_contiguous through subviews and slices", "[subview][contiguity]") {
  auto buf = iota_buffer(12);
  const auto v = qsparse::make_view(buf.data(), 3, 4);
  CHECK(qsparse::subview(v, 0, 1, 3).is_row_major_contiguous());   // rows [1, 3): still dense
  CHECK(qsparse::subview(v, 0, 0, 3).is_row_major_contiguous());
  CHECK_FALSE(qsparse::subview(v, 1, 1, 3).is_row_major_contiguous());  // columns [1, 3): gaps
  CHECK_FALSE(qsparse::subview(v, 1, 1, 3).is_contiguous());
  CHECK(qsparse::subview(v, 1, 0, 4).is_row_major_contiguous());   // the full range
  CHECK_FALSE(qsparse::subview(v, 1, 2, 3).is_row_major_contiguous());  // one column of 3 rows
  CHECK(qsparse::subview(qsparse::subview(v, 0, 2, 3), 1, 1, 3).is_row_major_contiguous());  // one row
  CHECK(qsparse::subview(v, 1, 2, 2).is_row_major_contiguous());   // empty
  CHECK(qsparse::slice(v, 0, 2).is_row_major_contiguous());
  CHECK_FALSE(qsparse::slice(v, 1, 2).is_row_major_contiguous());

  // The fast path: a flat loop over a row-major contiguous view.
  auto rows = qsparse::subview(v, 0, 1, 3);
  REQUIRE(rows.is_row_major_contiguous());
  const int* flat = rows.data_handle();
  for (index_t i = 0; i < rows.extent(0); ++i)
    for (index_t j = 0; j < rows.extent(1); ++j) CHECK(rows(i, j) == flat[i * rows.extent(1) + j]);
}

TEST_CASE("slice and subview of empty views never offset a null handle", "[slice][subview]") {
  const qsparse::tensor_view<float, 2, qsparse::layout_left> v(nullptr, 3, 0);
  auto s = qsparse::slice(v, 0, 2);
  CHECK(s.data_handle() == nullptr);
  CHECK(s.empty());
  auto sub = qsparse::subview(v, 0, 1, 3);
  CHECK(sub.data_handle() == nullptr);
  CHECK(sub.extents() == qsparse::extents<2>{2, 0});
  auto none = qsparse::subview(qsparse::make_view(static_cast<float*>(nullptr), 0), 0, 0, 0);
  CHECK(none.data_handle() == nullptr);
}

// ---- conversions -----------------------------------------------------------------------------------

namespace {
float sum_const(qsparse::tensor_view<const float, 2, qsparse::layout_stride> v) {
  float s = 0;
  for (index_t i = 0; i < v.extent(0); ++i)
    for (index_t j = 0; j < v.extent(1); ++j) s += v(i, j);
  return s;
}
}  // namespace

TEST_CASE("tensor_view: const and layout conversions", "[tensor_view][conversion]") {
  float buf[6] = {1, 2, 3, 4, 5, 6};
  const auto v = qsparse::make_view(buf, 2, 3);

  const qsparse::tensor_view<const float, 2> c = v;
  CHECK(c.data_handle() == buf);
  CHECK(c.extents() == v.extents());
  CHECK(c(1, 2) == 6.f);

  const qsparse::tensor_view<float, 2, qsparse::layout_stride> s = v;
  CHECK(s.data_handle() == buf);
  CHECK(s.stride(0) == 3);
  CHECK(s.stride(1) == 1);
  s(0, 1) = 20.f;
  CHECK(v(0, 1) == 20.f);

  // Both at once, through a function parameter.
  CHECK(sum_const(v) == 1 + 20 + 3 + 4 + 5 + 6);
  const qsparse::tensor_view<float, 2, qsparse::layout_left> l(buf, 3, 2);
  CHECK(sum_const(l) == 1 + 20 + 3 + 4 + 5 + 6);
  CHECK(sum_const(qsparse::subview(v, 1, 1, 3)) == 20 + 3 + 5 + 6);

  STATIC_REQUIRE(std::is_convertible_v<qsparse::tensor_view<float, 2>, qsparse::tensor_view<const float, 2>>);
  STATIC_REQUIRE_FALSE(
      std::is_convertible_v<qsparse::tensor_view<const float, 2>, qsparse::tensor_view<float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<qsparse::tensor_view<float, 2, qsparse::layout_left>,
                                               qsparse::tensor_view<float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<qsparse::tensor_view<float, 2>,
                                               qsparse::tensor_view<float, 2, qsparse::layout_stride>>);
}

// ---- errors --------------------------------------------------------------------------------------

TEST_CASE("errors name the function, the argument and the value", "[errors]") {
  auto buf = iota_buffer(12);
  const auto v = qsparse::make_view(buf.data(), 3, 4);

  REQUIRE_THROWS_AS(qsparse::slice(v, 3, 0), qsparse::error);
  REQUIRE_THROWS_WITH(qsparse::slice(v, 3, 0), "qsparse::slice: axis = 3 is out of range for a rank-2 view");
  REQUIRE_THROWS_WITH(qsparse::slice(v, 1, 4), "qsparse::slice: i = 4 is out of range [0, 4) of axis 1");
  REQUIRE_THROWS_WITH(qsparse::slice(v, 0, -1), Catch::Contains("i = -1 is out of range [0, 3)"));
  REQUIRE_THROWS_WITH(qsparse::subview(v, 2, 0, 1),
                      "qsparse::subview: axis = 2 is out of range for a rank-2 view");
  REQUIRE_THROWS_WITH(qsparse::subview(v, 0, 1, 4),
                      "qsparse::subview: begin = 1, end = 4 must satisfy 0 <= begin <= end <= extent(0) = 3");
  REQUIRE_THROWS_WITH(qsparse::subview(v, 1, 3, 2), Catch::Contains("begin = 3, end = 2"));
  REQUIRE_THROWS_WITH(qsparse::subview(v, 1, -1, 2), Catch::Contains("begin = -1, end = 2"));
  REQUIRE_THROWS_WITH(v.at(3, 0), "qsparse::tensor_view::at: index[0] = 3 is out of range [0, 3)");
  REQUIRE_THROWS_WITH(v.at(0, -1), "qsparse::tensor_view::at: index[1] = -1 is out of range [0, 4)");
  REQUIRE_THROWS_WITH((v.at({2, 4})), Catch::Contains("index[1] = 4"));
  CHECK(v.at(2, 3) == 11);
  CHECK(&v.at(1, 2) == &v(1, 2));

  REQUIRE_THROWS_WITH(qsparse::make_view(buf.data(), 3, -4),
                      "qsparse::extents: extent(1) = -4 must be non-negative");
  REQUIRE_THROWS_WITH(qsparse::make_strided_view(buf.data(), {3, 4}, {-4, 1}),
                      "qsparse::layout_stride::mapping: stride(0) = -4 must be non-negative");
  REQUIRE_THROWS_WITH((qsparse::tensor_view<int, 2>(buf.data(), -3, 4)), Catch::Contains("extent(0) = -3"));
}

// ---- a custom accessor ---------------------------------------------------------------------------

namespace {

// Dequantizes int8 storage on access: reference is a float value, not a float&. Its offset_policy is
// itself, so slices keep the scale.
struct dequantize_accessor {
  using element_type = const float;
  using reference = float;
  using data_handle_type = const std::int8_t*;
  using offset_policy = dequantize_accessor;

  float scale = 1.f;
  std::int32_t zero_point = 0;

  reference access(data_handle_type p, index_t i) const {
    return scale * static_cast<float>(static_cast<std::int32_t>(p[i]) - zero_point);
  }
  data_handle_type offset(data_handle_type p, index_t i) const { return p + i; }
};

// Counts the accesses through a shared counter, and offsets through a plain default_accessor.
struct counting_accessor {
  using element_type = int;
  using reference = int&;
  using data_handle_type = int*;
  using offset_policy = qsparse::default_accessor<int>;

  int* counter = nullptr;

  reference access(data_handle_type p, index_t i) const {
    ++*counter;
    return p[i];
  }
  data_handle_type offset(data_handle_type p, index_t i) const { return p + i; }
  operator qsparse::default_accessor<int>() const { return {}; }
};

}  // namespace

TEST_CASE("a custom accessor: reference by value, kept by slices", "[accessor]") {
  STATIC_REQUIRE(qsparse::is_accessor_v<dequantize_accessor>);
  STATIC_REQUIRE(qsparse::is_accessor_v<qsparse::default_accessor<const double>>);
  STATIC_REQUIRE_FALSE(qsparse::is_accessor_v<int>);

  const std::int8_t q[6] = {-128, -1, 0, 1, 10, 127};
  using view = qsparse::tensor_view<const float, 2, qsparse::layout_right, dequantize_accessor>;
  const view v(q, qsparse::extents<2>{2, 3}, dequantize_accessor{0.5f, -2});
  STATIC_REQUIRE(std::is_same_v<decltype(v(0, 0)), float>);
  STATIC_REQUIRE(std::is_same_v<view::value_type, float>);
  CHECK(v(0, 0) == -63.f);
  CHECK(v(0, 1) == 0.5f);
  CHECK(v(0, 2) == 1.f);
  CHECK(v(1, 0) == 1.5f);
  CHECK(v(1, 1) == 6.f);
  CHECK(v(1, 2) == 64.5f);
  CHECK(v.at(1, 2) == 64.5f);

  auto column = qsparse::slice(v, 1, 2);
  STATIC_REQUIRE(std::is_same_v<decltype(column)::accessor_type, dequantize_accessor>);
  CHECK(column.accessor().scale == 0.5f);
  CHECK(column(0) == 1.f);
  CHECK(column(1) == 64.5f);
  auto right = qsparse::subview(v, 1, 1, 3);
  CHECK(right.data_handle() == q + 1);
  CHECK(right(1, 0) == 6.f);
}

TEST_CASE("a custom accessor: every element access goes through access()", "[accessor]") {
  int counter = 0;
  int buf[6] = {1, 2, 3, 4, 5, 6};
  const qsparse::tensor_view<int, 2, qsparse::layout_right, counting_accessor> v(
      buf, qsparse::extents<2>{2, 3}, counting_accessor{&counter});
  CHECK(v(1, 1) == 5);
  v(0, 0) = 10;
  CHECK(v[{0, 0}] == 10);
  CHECK(v.at(1, 2) == 6);
  CHECK(counter == 4);
  CHECK(buf[0] == 10);

  // Its offset_policy is default_accessor<int>: a slice is a plain view.
  auto row = qsparse::slice(v, 0, 1);
  STATIC_REQUIRE(std::is_same_v<decltype(row), qsparse::tensor_view<int, 1, qsparse::layout_stride>>);
  CHECK(row(2) == 6);
  CHECK(counter == 4);
}

// ---- trait and factories -------------------------------------------------------------------------

TEST_CASE("is_tensor_view_v and make_strided_view", "[tensor_view]") {
  STATIC_REQUIRE(qsparse::is_tensor_view_v<qsparse::tensor_view<float, 2>>);
  STATIC_REQUIRE(qsparse::is_tensor_view_v<const qsparse::tensor_view<float, 2, qsparse::layout_stride>&>);
  STATIC_REQUIRE_FALSE(qsparse::is_tensor_view_v<float*>);
  STATIC_REQUIRE_FALSE(qsparse::is_tensor_view_v<qsparse::extents<2>>);

  auto buf = iota_buffer(32);
  // A 3 x 5 window of an 4 x 8 row-major buffer, starting at (1, 2).
  const std::array<index_t, 2> e{3, 5};
  const std::array<index_t, 2> s{8, 1};
  auto w = qsparse::make_strided_view(buf.data() + 10, e, s);
  STATIC_REQUIRE(std::is_same_v<decltype(w), qsparse::tensor_view<int, 2, qsparse::layout_stride>>);
  CHECK(w(0, 0) == 10);
  CHECK(w(2, 4) == 30);
  CHECK(w.required_span_size() == 21);

  // Broadcast a row: stride 0 along axis 0.
  auto b = qsparse::make_strided_view(buf.data(), {3, 4}, {0, 1});
  CHECK(b(2, 3) == 3);
  CHECK_FALSE(b.is_contiguous());
}
