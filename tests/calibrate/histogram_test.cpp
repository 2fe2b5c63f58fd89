#include "qsparse/calibrate/histogram.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "qsparse/core/tensor.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using qsparse::testing::supported_levels;

namespace {
constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float qnan = std::numeric_limits<float>::quiet_NaN();

std::vector<float> bin_test_inputs() {
  std::vector<float> v = qsparse::testing::adversarial_floats(0.125f);
  const auto r = qsparse::testing::random_floats(3000, 20.0f, 5);
  v.insert(v.end(), r.begin(), r.end());
  for (int k = -40; k <= 40; ++k) {  // exact edges and their neighbours at several widths
    const float e = std::ldexp(static_cast<float>(k), -3);
    v.push_back(e);
    v.push_back(std::nextafter(e, inf));
    v.push_back(std::nextafter(e, -inf));
  }
  v.push_back(-std::numeric_limits<float>::denorm_min());
  v.push_back(-1e-40f);
  return v;
}
}  // namespace

TEST_CASE("histogram_bin: the scalar rule", "[histogram]") {
  using kernels::scalar::histogram_bin;
  // 16 bins of width 0.5: [-4, 4).
  CHECK(histogram_bin(0.0f, 2.0f, 8) == 8);
  CHECK(histogram_bin(-0.0f, 2.0f, 8) == 8);
  CHECK(histogram_bin(0.49f, 2.0f, 8) == 8);
  CHECK(histogram_bin(0.5f, 2.0f, 8) == 9);
  CHECK(histogram_bin(-0.25f, 2.0f, 8) == 7);
  CHECK(histogram_bin(-0.5f, 2.0f, 8) == 7);
  CHECK(histogram_bin(-0.51f, 2.0f, 8) == 6);
  CHECK(histogram_bin(-4.0f, 2.0f, 8) == 0);
  CHECK(histogram_bin(3.99f, 2.0f, 8) == 15);
  CHECK(histogram_bin(100.0f, 2.0f, 8) == 15);  // clamped (never happens inside qsparse::histogram)
  CHECK(histogram_bin(-100.0f, 2.0f, 8) == 0);
  CHECK(histogram_bin(qnan, 2.0f, 8) == 16);
  CHECK(histogram_bin(inf, 2.0f, 8) == 16);
  CHECK(histogram_bin(-inf, 2.0f, 8) == 16);
  // A negative value whose product underflows to -0.0 still lands below zero.
  CHECK(histogram_bin(-std::numeric_limits<float>::denorm_min(), std::ldexp(1.0f, -100), 8) == 7);
  CHECK(histogram_bin(std::numeric_limits<float>::denorm_min(), std::ldexp(1.0f, -100), 8) == 8);
}

TEST_CASE("histogram bins on every ISA equal the scalar rule", "[histogram][isa]") {
  const std::vector<float> x = bin_test_inputs();
  for (isa_level level : supported_levels()) {
    for (float inv : {8.0f, 1.0f, 0.0625f, std::ldexp(1.0f, 126), std::ldexp(1.0f, -100)}) {
      for (std::int32_t half : {8, 1024, 1 << 19}) {
        for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{15}, std::size_t{16},
                              std::size_t{17}, std::size_t{33}, x.size()}) {
          std::vector<std::int32_t> got(n, -7);
          const float* p = x.data() + (x.size() - n);
#if QSPARSE_X86
          if (isa_runs(level, isa_level::avx512)) {
            kernels::avx512::histogram_bins(p, static_cast<std::ptrdiff_t>(n), inv, half, got.data());
          } else if (isa_runs(level, isa_level::avx2)) {
            kernels::avx2::histogram_bins(p, static_cast<std::ptrdiff_t>(n), inv, half, got.data());
          } else
#endif
          {
            kernels::scalar::histogram_bins(p, static_cast<std::ptrdiff_t>(n), inv, half, got.data());
          }
          bool same = true;
          for (std::size_t i = 0; i < n; ++i) same = same && got[i] == kernels::scalar::histogram_bin(p[i], inv, half);
          INFO(to_string(level) << " inv " << inv << " half " << half << " n " << n);
          CHECK(same);
        }
      }
    }
  }
}

TEST_CASE("histogram: known answers, growth by exact coarsening", "[histogram]") {
  histogram h(16);
  CHECK(h.empty());
  CHECK(h.exponent() == histogram::min_exponent);
  const std::vector<float> a = {0.5f, 1.5f, -0.25f, 3.0f, qnan, -inf};
  h.add(make_view(a.data(), 6));
  // max |x| = 3 < 8 * 2^-1: width 0.5 over [-4, 4).
  CHECK(h.exponent() == -1);
  CHECK(h.bin_width() == 0.5);
  CHECK(h.total() == 4);
  CHECK(h.count(9) == 1);
  CHECK(h.count(11) == 1);
  CHECK(h.count(7) == 1);
  CHECK(h.count(14) == 1);
  CHECK(h.edge(0) == -4.0);
  CHECK(h.edge(16) == 4.0);
  CHECK(h.range().min == -0.25f);
  CHECK(h.range().max == 3.0f);
  const float seven = 7.0f;
  h.add(make_view(&seven, 1));  // needs [-8, 8): width 1, every old bin pair merged
  CHECK(h.exponent() == 0);
  CHECK(h.count(8) == 1);   // 0.5
  CHECK(h.count(9) == 1);   // 1.5
  CHECK(h.count(7) == 1);   // -0.25
  CHECK(h.count(11) == 1);  // 3.0
  CHECK(h.count(15) == 1);  // 7.0
  CHECK(h.total() == 5);
  // A value exactly at the top edge needs the next exponent (|x| < (bins/2) * 2^e is strict).
  const float eight = 8.0f;
  h.add(make_view(&eight, 1));
  CHECK(h.exponent() == 1);
  CHECK(h.count(12) == 1);
  h.reset();
  CHECK(h.empty());
  CHECK(h.counts() == std::vector<std::uint64_t>(16, 0));
  // All zeros: the smallest exponent; all NaN: nothing.
  const std::vector<float> zeros(10, 0.0f), nans(3, qnan);
  h.add(make_view(nans.data(), 3));
  CHECK(h.empty());
  h.add(make_view(zeros.data(), 10));
  CHECK(h.exponent() == histogram::min_exponent);
  CHECK(h.count(8) == 10);
  h.add(make_view(zeros.data(), 0));
  CHECK(h.total() == 10);
  // The largest float fits.
  const float big = std::numeric_limits<float>::max();
  h.add(make_view(&big, 1));
  CHECK(h.count(15) == 1);
  CHECK(h.count(8) == 10);
}

TEST_CASE("histogram: merge(a, b) equals adding a then b, exactly, on every ISA", "[histogram][merge][isa]") {
  auto x = qsparse::testing::random_floats(20000, 1.0f, 31);
  for (std::size_t i = 12000; i < x.size(); ++i) x[i] *= 300.0f;  // the second part needs a coarser grid
  x[500] = qnan;
  x[12500] = -inf;
  for (isa_level level : supported_levels()) {
    for (index_t bins : {16, 256, 2048}) {
      histogram sequential(bins), a(bins), b(bins), reference(bins);
      sequential.add_isa(level, make_view(x.data(), 12000));
      sequential.add_isa(level, make_view(x.data() + 12000, 8000));
      a.add_isa(level, make_view(x.data(), 12000));
      b.add_isa(level, make_view(x.data() + 12000, 8000));
      histogram ab = a, ba = b;
      ab.merge(b);
      ba.merge(a);
      reference.add_isa(isa_level::scalar, make_view(x.data(), 20000));
      INFO(to_string(level) << " bins " << bins);
      CHECK(ab.counts() == sequential.counts());
      CHECK(ba.counts() == sequential.counts());
      CHECK(reference.counts() == sequential.counts());
      CHECK(ab.exponent() == sequential.exponent());
      CHECK(ab.total() == 19998);
      CHECK(ab.range().min == sequential.range().min);
      CHECK(ab.range().max == sequential.range().max);
      histogram empty(bins);
      ab.merge(empty);
      CHECK(ab.counts() == sequential.counts());
      empty.merge(a);
      CHECK(empty.counts() == a.counts());
    }
  }
  histogram small(16), other(32);
  CHECK_THROWS_WITH(small.merge(other),
                    "qsparse::histogram::merge: the histograms have different bin counts: 16 vs 32");
}

TEST_CASE("histogram: strided views and bad sizes", "[histogram][errors]") {
  tensor<float, 2> x(40, 30);
  const auto v = qsparse::testing::random_floats(1200, 2.0f, 6);
  for (index_t i = 0; i < 1200; ++i) x.data()[i] = v[static_cast<std::size_t>(i)];
  histogram whole(64), by_columns(64);
  whole.add(x.view());
  for (index_t c = 0; c < 30; ++c) by_columns.add(slice(x.view(), 1, c));  // stride 30
  CHECK(whole.counts() == by_columns.counts());
  histogram sub(64);
  sub.add(subview(x.view(), 1, 0, 30));
  CHECK(sub.counts() == whole.counts());
  CHECK_THROWS_WITH(histogram(100), "qsparse::histogram: bins must be a power of two in [16, 1048576], got bins = 100");
  CHECK_THROWS_AS(histogram(8), qsparse::error);
  CHECK_THROWS_AS(histogram(index_t{1} << 21), qsparse::error);
}
