#include "qsparse/quant/elementwise_n.hpp"

#include <catch2/catch.hpp>
#include <array>
#include <vector>

#include "qsparse/core/tensor.hpp"

using namespace qsparse;

namespace {
struct visit {
  std::vector<std::array<index_t, 3>> runs;  // kind (0 uniform, 1 channelwise, 2 strided), length, channel
};
}  // namespace

TEST_CASE("for_each_run_n: row-major views make one run, or one per channel", "[elementwise_n]") {
  std::vector<float> a(24), b(24), c(24);
  visit v;
  auto uniform = [&](const std::array<index_t, 3>& o, index_t n, index_t ch) {
    CHECK(o[0] == o[1]);
    CHECK(o[1] == o[2]);
    v.runs.push_back({0, n, ch});
  };
  auto channelwise = [&](const std::array<index_t, 3>&, index_t n) { v.runs.push_back({1, n, -1}); };
  auto strided = [&](const std::array<index_t, 3>&, index_t n, const std::array<index_t, 3>&, index_t ch) {
    v.runs.push_back({2, n, ch});
  };
  const auto va = make_view(a.data(), 2, 3, 4), vb = make_view(b.data(), 2, 3, 4), vc = make_view(c.data(), 2, 3, 4);
  detail::for_each_run_n(-1, uniform, channelwise, strided, va, vb, vc);
  REQUIRE(v.runs.size() == 1);
  CHECK(v.runs[0] == std::array<index_t, 3>{0, 24, -1});
  v.runs.clear();
  detail::for_each_run_n(1, uniform, channelwise, strided, va, vb, vc);
  REQUIRE(v.runs.size() == 6);  // outer 2 x channels 3, inner 4
  CHECK(v.runs[4] == std::array<index_t, 3>{0, 4, 1});
  v.runs.clear();
  detail::for_each_run_n(2, uniform, channelwise, strided, va, vb, vc);
  REQUIRE(v.runs.size() == 6);  // innermost channels: channelwise runs of 4
  CHECK(v.runs[0] == std::array<index_t, 3>{1, 4, -1});
  v.runs.clear();
  detail::for_each_run_n(0, uniform, channelwise, strided, va, vb, make_view(c.data(), 2, 3, 0));
  REQUIRE(v.runs.size() == 2);  // channels along the outer axis: runs of 12 (the first view's extents)
  CHECK(v.runs[1] == std::array<index_t, 3>{0, 12, 1});
}

TEST_CASE("for_each_run_n: strided views walk lines with each view's own offsets", "[elementwise_n]") {
  tensor<float, 2> a(3, 5);
  std::vector<float> wide(30);
  auto b = make_strided_view(wide.data(), std::array<index_t, 2>{3, 5}, std::array<index_t, 2>{10, 2});
  auto c = make_strided_view(wide.data(), std::array<index_t, 2>{3, 5}, std::array<index_t, 2>{1, 3});
  std::vector<std::array<index_t, 2>> offsets;
  std::vector<index_t> channels;
  detail::for_each_run_n(
      0, [&](const auto&, index_t, index_t) { FAIL("no uniform run expected"); },
      [&](const auto&, index_t) { FAIL("no channelwise run expected"); },
      [&](const std::array<index_t, 2>& o, index_t n, const std::array<index_t, 2>& s, index_t ch) {
        CHECK(n == 5);
        CHECK(s[0] == 1);
        CHECK(s[1] == 2);
        offsets.push_back(o);
        channels.push_back(ch);
      },
      a.view(), b);
  REQUIRE(offsets.size() == 3);
  CHECK(offsets[2] == std::array<index_t, 2>{10, 20});
  CHECK(channels == std::vector<index_t>{0, 1, 2});
  int strided_lines = 0;
  detail::for_each_run_n(
      1, [&](const auto&, index_t, index_t) {}, [&](const auto&, index_t) {},
      [&](const auto&, index_t, const auto&, index_t ch) {
        CHECK(ch == -2);  // channels along the line
        ++strided_lines;
      },
      a.view(), c);
  CHECK(strided_lines == 3);
  // Contiguous lines in non-row-major views: uniform (or channelwise) runs per line.
  auto sub = subview(a.view(), 1, 1, 4);
  int uniform_lines = 0;
  detail::for_each_run_n(
      -1, [&](const auto& o, index_t n, index_t ch) {
        CHECK(n == 3);
        CHECK(ch == -1);
        CHECK(o[0] == 5 * uniform_lines);  // offsets from the view's own handle
        ++uniform_lines;
      },
      [&](const auto&, index_t) {}, [&](const auto&, index_t, const auto&, index_t) {}, sub);
  CHECK(uniform_lines == 3);
}

TEST_CASE("check_all_same_extents names the axis that differs", "[elementwise_n][errors]") {
  std::vector<float> a(12);
  CHECK_NOTHROW(detail::check_all_same_extents("f", make_view(a.data(), 3, 4), make_view(a.data(), 3, 4)));
  CHECK_THROWS_WITH(detail::check_all_same_extents("qsparse::f", make_view(a.data(), 3, 4), make_view(a.data(), 3, 4),
                                                   make_view(a.data(), 4, 3)),
                    "qsparse::f: the views' shapes differ: extent(0) is 3 vs 4");
  const float s = 1.0f;
  int calls = 0;
  detail::for_each_run_n(
      -1, [&](const auto&, index_t n, index_t) { calls += static_cast<int>(n); }, [&](const auto&, index_t) {},
      [&](const auto&, index_t, const auto&, index_t) {}, tensor_view<const float, 0>(&s, extents<0>{}));
  CHECK(calls == 1);
}
