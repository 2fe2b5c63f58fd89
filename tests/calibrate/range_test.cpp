#include "qsparse/calibrate/range.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "qsparse/core/tensor.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using qsparse::testing::supported_levels;
using qsparse::testing::to_bits;

namespace {
constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float qnan = std::numeric_limits<float>::quiet_NaN();

/// The plain definition: min/max of the finite values, zeros as +0.0.
value_range reference_range(const std::vector<float>& x) {
  value_range r;
  for (float v : x) {
    if (!std::isfinite(v)) continue;
    r.min = std::min(r.min, v);
    r.max = std::max(r.max, v);
  }
  if (r.min == 0.0f) r.min = 0.0f;
  if (r.max == 0.0f) r.max = 0.0f;
  return r;
}
}  // namespace

TEST_CASE("find_range: known answers", "[range]") {
  const std::vector<float> x = {3.0f, -2.5f, qnan, inf, -inf, 7.25f, 0.0f};
  const value_range r = find_range(make_view(x.data(), 7));
  CHECK(r.min == -2.5f);
  CHECK(r.max == 7.25f);
  CHECK_FALSE(r.empty());
  const std::vector<float> bad = {qnan, inf, -inf, qnan};
  const value_range e = find_range(make_view(bad.data(), 4));
  CHECK(e.empty());
  CHECK(e.min == inf);
  CHECK(e.max == -inf);
  const value_range none = find_range(make_view(x.data(), 0));
  CHECK(none.empty());
  // A lone -0.0 is reported as +0.0, on every level.
  const float negative_zero = -0.0f;
  for (isa_level level : supported_levels()) {
    const value_range z = find_range_isa(level, make_view(&negative_zero, 1));
    CHECK(to_bits(z.min) == 0u);
    CHECK(to_bits(z.max) == 0u);
  }
  CHECK(value_range{}.merged(value_range{1.0f, 2.0f}).min == 1.0f);
  CHECK(value_range{-1.0f, 0.5f}.merged(value_range{}).max == 0.5f);
}

TEST_CASE("find_range on every ISA equals the definition, bit for bit", "[range][isa]") {
  auto base = qsparse::testing::random_floats(5000, 3.0f, 3);
  base[17] = qnan;
  base[1000] = inf;
  base[2001] = -inf;
  base[4000] = -0.0f;
  base[4001] = 0.0f;
  for (isa_level level : supported_levels()) {
    for (std::size_t n : {0, 1, 2, 7, 8, 15, 16, 17, 31, 63, 64, 65, 129, 4999, 5000}) {
      std::vector<float> x(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(n));
      const value_range got = find_range_isa(level, make_view(x.data(), static_cast<index_t>(n)));
      const value_range want = reference_range(x);
      INFO(to_string(level) << " n " << n);
      CHECK(to_bits(got.min) == to_bits(want.min));
      CHECK(to_bits(got.max) == to_bits(want.max));
    }
    // All zeros of mixed signs; all non-finite; the extremes at the very end (tail lanes).
    std::vector<float> zeros = {-0.0f, 0.0f, -0.0f, -0.0f, 0.0f, -0.0f, 0.0f, -0.0f, -0.0f, 0.0f,
                                -0.0f, 0.0f, -0.0f, -0.0f, 0.0f, -0.0f, 0.0f, -0.0f, -0.0f};
    const value_range z = find_range_isa(level, make_view(zeros.data(), static_cast<index_t>(zeros.size())));
    CHECK(to_bits(z.min) == 0u);
    CHECK(to_bits(z.max) == 0u);
    std::vector<float> tail(37, 1.0f);
    tail[36] = -9.0f;
    tail[35] = 11.0f;
    const value_range t = find_range_isa(level, make_view(tail.data(), 37));
    CHECK(t.min == -9.0f);
    CHECK(t.max == 11.0f);
    // A large run takes the prefetching path.
    std::vector<float> big = qsparse::testing::random_floats(70000, 1.0f, 8);
    big[69999] = 100.0f;
    const value_range b = find_range_isa(level, make_view(big.data(), 70000));
    CHECK(b.max == 100.0f);
    CHECK(to_bits(b.min) == to_bits(reference_range(big).min));
  }
}

TEST_CASE("find_range through strided and sliced views", "[range]") {
  tensor<float, 2> x(6, 9);
  const auto v = qsparse::testing::random_floats(54, 2.0f, 9);
  for (index_t i = 0; i < 54; ++i) x.data()[i] = v[static_cast<std::size_t>(i)];
  x(4, 7) = 50.0f;
  x(1, 1) = -60.0f;
  for (isa_level level : supported_levels()) {
    const value_range all = find_range_isa(level, x.view());
    CHECK(all.min == -60.0f);
    CHECK(all.max == 50.0f);
    const auto column = slice(x.view(), 1, 7);  // stride 9
    const value_range c = find_range_isa(level, column);
    float lo = inf, hi = -inf;
    for (index_t i = 0; i < 6; ++i) {
      lo = std::min(lo, x(i, 7));
      hi = std::max(hi, x(i, 7));
    }
    CHECK(c.min == lo);
    CHECK(c.max == 50.0f);
    const auto sub = subview(x.view(), 1, 2, 9);  // rows of 7, not contiguous
    const value_range s = find_range_isa(level, sub);
    CHECK(s.max == 50.0f);
    CHECK(s.min > -60.0f);
  }
  const float scalar_value = 4.5f;
  const value_range r0 = find_range(tensor_view<const float, 0>(&scalar_value, extents<0>{}));
  CHECK(r0.min == 4.5f);
  CHECK(r0.max == 4.5f);
}

TEST_CASE("find_channel_ranges along every axis on every ISA", "[range][per_channel][isa]") {
  tensor<float, 3> x(3, 4, 21);
  const auto v = qsparse::testing::random_floats(static_cast<std::size_t>(x.size()), 2.0f, 4);
  for (index_t i = 0; i < x.size(); ++i) x.data()[i] = v[static_cast<std::size_t>(i)];
  x(0, 1, 2) = qnan;
  x(2, 3, 20) = inf;
  x(1, 0, 0) = -0.0f;
  for (isa_level level : supported_levels()) {
    for (std::size_t axis = 0; axis < 3; ++axis) {
      const auto c = static_cast<std::size_t>(x.extent(axis));
      std::vector<float> lo(c, inf), hi(c, -inf), want_lo(c, inf), want_hi(c, -inf);
      find_channel_ranges_isa(level, x.view(), axis, lo.data(), hi.data());
      // A transposed (strided) copy of the same tensor gives the same answer.
      auto t = make_strided_view(x.data(), std::array<index_t, 3>{3, 4, 21}, std::array<index_t, 3>{84, 21, 1});
      std::vector<float> lo2(c, inf), hi2(c, -inf);
      find_channel_ranges_isa(level, subview(t, 2, 0, 21), axis, lo2.data(), hi2.data());
      for (index_t i = 0; i < 3; ++i)
        for (index_t j = 0; j < 4; ++j)
          for (index_t k = 0; k < 21; ++k) {
            const float e = x(i, j, k);
            if (!std::isfinite(e)) continue;
            const auto ch = static_cast<std::size_t>(axis == 0 ? i : axis == 1 ? j : k);
            want_lo[ch] = std::min(want_lo[ch], e) + 0.0f;
            want_hi[ch] = std::max(want_hi[ch], e) + 0.0f;
          }
      INFO(to_string(level) << " axis " << axis);
      for (std::size_t k = 0; k < c; ++k) {
        CHECK(to_bits(lo[k]) == to_bits(want_lo[k]));
        CHECK(to_bits(hi[k]) == to_bits(want_hi[k]));
        CHECK(to_bits(lo2[k]) == to_bits(want_lo[k]));
        CHECK(to_bits(hi2[k]) == to_bits(want_hi[k]));
      }
    }
  }
  // Column view: the channel axis is strided (stride 21 between channels).
  const auto col = slice(x.view(), 2, 5);  // [3, 4], strides {84, 21}
  std::vector<float> lo(4, inf), hi(4, -inf);
  find_channel_ranges(col, 1, lo.data(), hi.data());
  for (index_t j = 0; j < 4; ++j) {
    float l = inf, h = -inf;
    for (index_t i = 0; i < 3; ++i) {
      l = std::min(l, x(i, j, 5));
      h = std::max(h, x(i, j, 5));
    }
    CHECK(lo[static_cast<std::size_t>(j)] == l);
    CHECK(hi[static_cast<std::size_t>(j)] == h);
  }
}

TEST_CASE("find_channel_ranges rejects a bad axis and null outputs", "[range][errors]") {
  std::vector<float> x(12, 1.0f);
  std::vector<float> lo(4), hi(4);
  CHECK_THROWS_WITH(find_channel_ranges(make_view(x.data(), 3, 4), 2, lo.data(), hi.data()),
                    "qsparse::find_channel_ranges: axis = 2 is out of range for a rank-2 tensor");
  CHECK_THROWS_WITH(find_channel_ranges(make_view(x.data(), 3, 4), 1, nullptr, hi.data()),
                    "qsparse::find_channel_ranges: lo and hi must point at 4 values, got a null pointer");
  if (!cpu_supports(isa_level::avx512_vnni)) {
    CHECK_THROWS_AS(find_range_isa(isa_level::avx512_vnni, make_view(x.data(), 12)), qsparse::error);
  }
}
