// tests/conv/add_test.cpp — add() (TFLite's int8 ADD) against reference_add, bit for bit, on every ISA
// this CPU has: every pair of int8 inputs under several scale sets, tails, threads, a hand-computed
// value, parameter validation.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/conv/add.hpp"
#include "qsparse/conv/reference.hpp"
#include "qsparse/core/context.hpp"
#include "support/testing.hpp"

using namespace qsparse;

namespace {
std::vector<isa_level> exercised;
std::vector<std::string> exercised_kernels;
}

TEST_CASE("add: every int8 pair under several scales equals the reference on every ISA", "[conv][add]") {
  // All 65536 (a, b) pairs, laid out as two tensors.
  std::vector<std::int8_t> a, b;
  for (int x = -128; x <= 127; ++x)
    for (int y = -128; y <= 127; ++y) {
      a.push_back(static_cast<std::int8_t>(x));
      b.push_back(static_cast<std::int8_t>(y));
    }
  struct scales {
    float sa; int za; float sb; int zb; float so; int zo; int lo, hi;
  };
  const std::vector<scales> sets{{0.05f, -3, 0.05f, -3, 0.1f, 0, -128, 127},
                                 {0.02f, 127, 0.13f, -128, 0.07f, -128, -128, 127},
                                 {1.0f, 0, 0.0001f, 5, 0.5f, 10, -128, 127},
                                 {0.0123f, -20, 0.0456f, 33, 0.011f, -5, -5, 100},
                                 {0.3f, 0, 0.3f, 0, 0.0003f, 0, -128, 127}};
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    exercised.push_back(isa);
    exercised_kernels.emplace_back(add_kernel_name(isa));
    for (const scales& s : sets) {
      const add_params p = add_params::from_scales(s.sa, s.za, s.sb, s.zb, s.so, s.zo, s.lo, s.hi);
      for (std::ptrdiff_t count : {std::ptrdiff_t{65536}, std::ptrdiff_t{1}, std::ptrdiff_t{7}, std::ptrdiff_t{15},
                                   std::ptrdiff_t{17}, std::ptrdiff_t{33}}) {
        std::vector<std::int8_t> got(static_cast<std::size_t>(count), 77), want(static_cast<std::size_t>(count), 55);
        add(context{}, make_view(a.data(), count), make_view(b.data(), count), make_view(got.data(), count), p);
        reference_add(a.data(), b.data(), want.data(), count, p);
        INFO(add_kernel_name(isa) << " count=" << count << " scales " << s.sa << ", " << s.sb << ", " << s.so);
        REQUIRE(got == want);
      }
    }
  }
}

TEST_CASE("add: TFLite's arithmetic on a hand-computed value", "[conv][add][tflite]") {
  // Equal scales 0.5, zero points 0, output scale 1: twice_max = 1, input multipliers 0.5 = (2^30, 0),
  // output multiplier 1 / 2^20 = (2^30, -19). a = 3, b = 4: (3 * 2^20 * 0.5 + 4 * 2^20 * 0.5) / 2^20 = 3.5 -> 4.
  const add_params p = add_params::from_scales(0.5f, 0, 0.5f, 0, 1.0f, 0);
  CHECK(p.left_shift == 20);
  CHECK(p.input1_multiplier == (1 << 30));
  CHECK(p.input1_shift == 0);
  CHECK(p.output_multiplier == (1 << 30));
  CHECK(p.output_shift == -19);
  CHECK(reference_add_value(3, 4, p) == 4);
  CHECK(reference_add_value(-3, -4, p) == -4);
  CHECK(reference_add_value(127, 127, p) == 127);
  const std::vector<std::int8_t> a{3, -3, 100, -128}, b{4, -4, 100, -128};
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    std::vector<std::int8_t> out(4);
    add(context{}, make_view(a.data(), 2, 2), make_view(b.data(), 2, 2), make_view(out.data(), 2, 2), p);
    CHECK(out == std::vector<std::int8_t>{4, -4, 100, -128});
  }
}

TEST_CASE("add: every thread count gives identical results", "[conv][add][threads]") {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<std::int8_t> a(100003), b(100003);
  for (auto& x : a) x = static_cast<std::int8_t>(d(rng));
  for (auto& x : b) x = static_cast<std::int8_t>(d(rng));
  const add_params p = add_params::from_scales(0.03f, 4, 0.07f, -9, 0.08f, 1);
  std::vector<std::int8_t> want(a.size());
  reference_add(a.data(), b.data(), want.data(), static_cast<std::ptrdiff_t>(a.size()), p);
  for (int t : {1, 2, 3}) {
    std::vector<std::int8_t> got(a.size());
    const auto n = static_cast<index_t>(a.size());
    add(context(threads{t}), make_view(a.data(), n), make_view(b.data(), n), make_view(got.data(), n), p);
    REQUIRE(got == want);
  }
}

TEST_CASE("add: bad input is a qsparse::error naming the argument", "[conv][add][errors]") {
  CHECK_THROWS_WITH(add_params::from_scales(0.0f, 0, 1.0f, 0, 1.0f, 0), Catch::Contains("a_scale = 0"));
  CHECK_THROWS_WITH(add_params::from_scales(1.0f, 200, 1.0f, 0, 1.0f, 0), Catch::Contains("a_zero_point = 200"));
  CHECK_THROWS_WITH(add_params::from_scales(1.0f, 0, 1.0f, 0, 1e-9f, 0), Catch::Contains("too small"));
  CHECK_THROWS_WITH(add_params::from_scales(1.0f, 0, 1.0f, 0, 1.0f, 0, 10, 5), Catch::Contains("act_min = 10"));
  std::vector<std::int8_t> a(6), b(6), out(6);
  const add_params p = add_params::from_scales(1.0f, 0, 1.0f, 0, 1.0f, 0);
  CHECK_THROWS_WITH(add(context{}, make_view(a.data(), 2, 3), make_view(b.data(), 3, 2), make_view(out.data(), 2, 3), p),
                    Catch::Contains("same extents"));
  add_params broken = p;
  broken.output_shift = 3;
  CHECK_THROWS_WITH(add(context{}, make_view(a.data(), 6), make_view(b.data(), 6), make_view(out.data(), 6), broken),
                    Catch::Contains("output multiplier/shift"));
}

TEST_CASE("guard: add ran on every ISA this CPU supports", "[conv][guard]") {
  for (isa_level isa : testing::supported_levels())
    CHECK(std::find(exercised.begin(), exercised.end(), isa) != exercised.end());
  testing::require_every_kernel_ran(kernels::add_kernels{}, exercised_kernels);
}

TEST_CASE("add: out may be a or b itself (in place); a partial overlap is an error (issue 22)", "[conv][add][errors]") {
  std::mt19937 rng(22);
  std::uniform_int_distribution<int> d(-128, 127);
  const add_params p = add_params::from_scales(0.03f, 4, 0.07f, -9, 0.08f, 1);
  const index_t n = 1000;
  std::vector<std::int8_t> a(static_cast<std::size_t>(n)), b(a.size()), want(a.size());
  for (auto& v : a) v = static_cast<std::int8_t>(d(rng));
  for (auto& v : b) v = static_cast<std::int8_t>(d(rng));
  reference_add(a.data(), b.data(), want.data(), n, p);
  std::vector<std::int8_t> in_a = a;
  add(context{}, make_view(static_cast<const std::int8_t*>(in_a.data()), n), make_view(b.data(), n),
      make_view(in_a.data(), n), p);
  CHECK(in_a == want);
  std::vector<std::int8_t> in_b = b;
  add(context{}, make_view(a.data(), n), make_view(static_cast<const std::int8_t*>(in_b.data()), n),
      make_view(in_b.data(), n), p);
  CHECK(in_b == want);
  std::vector<std::int8_t> buffer(static_cast<std::size_t>(2 * n));
  CHECK_THROWS_WITH(add(context{}, make_view(static_cast<const std::int8_t*>(buffer.data()), n), make_view(b.data(), n),
                        make_view(buffer.data() + 1, n), p),
                    Catch::Contains("qsparse::add: out partially overlaps a in memory"));
  CHECK_THROWS_WITH(add(context{}, make_view(a.data(), n), make_view(static_cast<const std::int8_t*>(buffer.data() + 7), n),
                        make_view(buffer.data(), n), p),
                    Catch::Contains("out must be b itself (same data, element size, extents and strides), otherwise disjoint"));
}
