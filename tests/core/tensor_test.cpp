// Tests for qsparse/core/tensor.hpp: shape, alignment, zero-initialisation, deep copies, moves, views
// and the errors of the constructors.
#include "qsparse/core/tensor.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

using qsparse::index_t;

namespace {

template <class T>
bool aligned_to(const T* p, std::size_t alignment) {
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

struct alignas(128) wide {
  float lanes[32];
};

}  // namespace

TEST_CASE("tensor: shape and element access", "[tensor]") {
  qsparse::tensor<float, 3> t(2, 3, 4);
  STATIC_REQUIRE(decltype(t)::rank() == 3);
  CHECK(t.size() == 24);
  CHECK_FALSE(t.empty());
  CHECK(t.extents() == qsparse::extents<3>{2, 3, 4});
  CHECK(t.extent(0) == 2);
  CHECK(t.extent(2) == 4);
  t(1, 2, 3) = 5.f;
  CHECK(t.data()[23] == 5.f);
  t(0, 1, 2) = 7.f;
  CHECK(t.data()[6] == 7.f);
  CHECK(t.at(0, 1, 2) == 7.f);
  CHECK(std::as_const(t)(1, 2, 3) == 5.f);

  const qsparse::tensor<int, 2> from_extents(qsparse::extents<2>{3, 5});
  CHECK(from_extents.size() == 15);
  const qsparse::tensor<int, 2> braced({3, 5});
  CHECK(braced.extents() == qsparse::extents<2>{3, 5});
  const qsparse::tensor<int, 2> double_braced{{2, 7}};
  CHECK(double_braced.extents() == qsparse::extents<2>{2, 7});
  const qsparse::tensor<int, 1> one({5});
  CHECK(one.size() == 5);
  REQUIRE_THROWS_WITH((qsparse::tensor<int, 2>({3, -5})), Catch::Contains("extent(1) = -5"));
}

TEST_CASE("tensor: storage is 64-byte aligned", "[tensor]") {
  STATIC_REQUIRE(qsparse::tensor<float, 1>::alignment == 64);
  STATIC_REQUIRE(qsparse::tensor<wide, 1>::alignment == 128);
  std::vector<qsparse::tensor<std::int8_t, 1>> keep;  // several live allocations of awkward sizes
  for (index_t n = 1; n < 200; n += 7) {
    keep.emplace_back(n);
    CHECK(aligned_to(keep.back().data(), 64));
  }
  const qsparse::tensor<double, 2> d(3, 3);
  CHECK(aligned_to(d.data(), 64));
  const qsparse::tensor<wide, 1> w(3);
  CHECK(aligned_to(w.data(), 128));
  const qsparse::tensor<float, 2> copy = qsparse::tensor<float, 2>(5, 7);
  CHECK(aligned_to(copy.data(), 64));
}

TEST_CASE("tensor: elements are value-initialised (zeros)", "[tensor]") {
  for (int round = 0; round < 4; ++round) {
    {
      // Dirty a block of the size we ask for next, so reused memory would show up.
      qsparse::tensor<std::int32_t, 2> dirty(64, 33);
      std::fill(dirty.begin(), dirty.end(), -1);
    }
    const qsparse::tensor<std::int32_t, 2> t(64, 33);
    CHECK(std::all_of(t.begin(), t.end(), [](std::int32_t x) { return x == 0; }));
  }
  const qsparse::tensor<float, 0> scalar;
  CHECK(scalar.size() == 1);
  CHECK(scalar() == 0.f);
  const qsparse::tensor<std::string, 1> strings(3);
  CHECK(strings(2).empty());
}

TEST_CASE("tensor: empty tensors hold no allocation", "[tensor]") {
  const qsparse::tensor<float, 2> a;
  CHECK(a.size() == 0);
  CHECK(a.empty());
  CHECK(a.data() == nullptr);
  CHECK(a.begin() == a.end());
  const qsparse::tensor<float, 3> b(4, 0, 5);
  CHECK(b.empty());
  CHECK(b.data() == nullptr);
  CHECK(b.extents() == qsparse::extents<3>{4, 0, 5});
  CHECK(b.view().extent(2) == 5);
  const qsparse::tensor<float, 3> c = b;
  CHECK(c.extents() == b.extents());
}

TEST_CASE("tensor: copies are deep", "[tensor]") {
  qsparse::tensor<int, 2> a(2, 3);
  for (index_t i = 0; i < a.size(); ++i) a.data()[i] = static_cast<int>(i + 1);

  qsparse::tensor<int, 2> b(a);
  CHECK(b.data() != a.data());
  CHECK(b.extents() == a.extents());
  CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  b(0, 0) = 100;
  CHECK(a(0, 0) == 1);

  qsparse::tensor<int, 2> c(7, 7);
  c = a;
  CHECK(c.extents() == qsparse::extents<2>{2, 3});
  CHECK(c.data() != a.data());
  CHECK(c(1, 2) == 6);
  CHECK(aligned_to(c.data(), 64));

  const int* before = c.data();
  c = std::as_const(c);  // self-assignment keeps everything
  CHECK(c.data() == before);
  CHECK(c(1, 2) == 6);

  qsparse::tensor<std::string, 1> s(2);
  s(0) = "a fairly long string that does not fit the small buffer";
  const qsparse::tensor<std::string, 1> s2 = s;
  s(0) = "changed";
  CHECK(s2(0) == "a fairly long string that does not fit the small buffer");
}

TEST_CASE("tensor: moves steal the allocation and leave the source empty", "[tensor]") {
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<qsparse::tensor<float, 2>>);
  STATIC_REQUIRE(std::is_nothrow_move_assignable_v<qsparse::tensor<float, 2>>);

  qsparse::tensor<float, 2> a(3, 4);
  a(2, 3) = 9.f;
  const float* storage = a.data();

  qsparse::tensor<float, 2> b(std::move(a));
  CHECK(b.data() == storage);
  CHECK(b.extents() == qsparse::extents<2>{3, 4});
  CHECK(b(2, 3) == 9.f);
  CHECK(a.data() == nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  CHECK(a.size() == 0);
  CHECK(a.extents() == qsparse::extents<2>{});

  qsparse::tensor<float, 2> c(1, 1);
  c = std::move(b);
  CHECK(c.data() == storage);
  CHECK(c(2, 3) == 9.f);
  CHECK(b.empty());

  a = c;  // a moved-from tensor can be assigned to
  CHECK(a(2, 3) == 9.f);

  qsparse::tensor<float, 0> s0;
  s0() = 4.f;
  qsparse::tensor<float, 0> s1 = std::move(s0);
  CHECK(s1() == 4.f);
  CHECK(s0.size() == 0);
  CHECK(s0.data() == nullptr);

  using std::swap;
  qsparse::tensor<float, 2> d(2, 2);
  swap(c, d);
  CHECK(d.data() == storage);
  CHECK(c.extents() == qsparse::extents<2>{2, 2});
}

TEST_CASE("tensor: views", "[tensor]") {
  qsparse::tensor<float, 2> t(3, 4);
  auto v = t.view();
  STATIC_REQUIRE(std::is_same_v<decltype(v), qsparse::tensor_view<float, 2>>);
  STATIC_REQUIRE(std::is_same_v<decltype(std::as_const(t).view()), qsparse::tensor_view<const float, 2>>);
  CHECK(v.data_handle() == t.data());
  CHECK(v.extents() == t.extents());
  CHECK(v.is_row_major_contiguous());
  v(1, 2) = 3.f;
  CHECK(t(1, 2) == 3.f);
  t(2, 3) = 4.f;
  CHECK(std::as_const(t).view()(2, 3) == 4.f);
  auto row = qsparse::slice(t.view(), 0, 1);
  CHECK(row(2) == 3.f);
}

TEST_CASE("tensor: constructor errors", "[tensor][errors]") {
  REQUIRE_THROWS_AS((qsparse::tensor<float, 2>(3, -4)), qsparse::error);
  REQUIRE_THROWS_WITH((qsparse::tensor<float, 2>(3, -4)), "qsparse::tensor: extent(1) = -4 must be non-negative");
  const index_t big = index_t{1} << 32;
  REQUIRE_THROWS_WITH((qsparse::tensor<float, 3>(big, big, 2)),
                      "qsparse::tensor: extents [4294967296, 4294967296, 2] hold more elements than "
                      "index_t can count");
  // Countable, but too many bytes.
  REQUIRE_THROWS_WITH((qsparse::tensor<double, 2>(big, big / 4)),
                      Catch::Contains("qsparse::tensor: extents [4294967296, 1073741824] need "
                                      "4611686018427387904 elements of 8 bytes"));
  REQUIRE_THROWS_WITH((qsparse::tensor<float, 1>(qsparse::extents<1>{index_t{1} << 62})),
                      Catch::Contains("elements of 4 bytes, more than can be allocated"));

  const qsparse::tensor<int, 2> t(2, 3);
  REQUIRE_THROWS_WITH(t.at(2, 0), "qsparse::tensor_view::at: index[0] = 2 is out of range [0, 2)");
}
