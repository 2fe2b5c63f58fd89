// tests/conv/pooling_test.cpp — max_pool2d and average_pool2d against the TFLite-style references, bit for
// bit, on every ISA this CPU has: random shapes and paddings, rounding ties of the average, full-range
// values, activation clamps, threads, bad input.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/conv/pooling.hpp"
#include "qsparse/conv/reference.hpp"
#include "qsparse/core/context.hpp"
#include "support/testing.hpp"

using namespace qsparse;

namespace {

struct pool_case {
  index_t batch, h, w, c;
  pool2d_params pool;
};

void check_case(const pool_case& pc, std::mt19937& rng, int mode, std::int32_t lo, std::int32_t hi,
                const context& ctx = context{}) {
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<std::int8_t> in(static_cast<std::size_t>(pc.batch * pc.h * pc.w * pc.c));
  for (std::size_t i = 0; i < in.size(); ++i) {
    switch (mode) {
      case 1: in[i] = -128; break;
      case 2: in[i] = 127; break;
      case 3: in[i] = static_cast<std::int8_t>(i % 2 == 0 ? -128 : 127); break;
      case 4: in[i] = static_cast<std::int8_t>(i % 2 == 0 ? -3 : 4); break;  // averages at exact halves
      default: in[i] = static_cast<std::int8_t>(d(rng));
    }
  }
  const conv_geometry g = pool_output_geometry(pc.pool, pc.h, pc.w, "test");
  const auto size = static_cast<std::size_t>(pc.batch * g.out_h * g.out_w * pc.c);
  const auto in_view = make_view(static_cast<const std::int8_t*>(in.data()), pc.batch, pc.h, pc.w, pc.c);
  for (bool average : {false, true}) {
    std::vector<std::int8_t> got(size, 77), want(size, 55);
    const auto got_view = make_view(got.data(), pc.batch, g.out_h, g.out_w, pc.c);
    const auto want_view = make_view(want.data(), pc.batch, g.out_h, g.out_w, pc.c);
    if (average) {
      average_pool2d(ctx, in_view, got_view, pc.pool, lo, hi);
      reference_average_pool2d(in_view, want_view, pc.pool, lo, hi);
    } else {
      max_pool2d(ctx, in_view, got_view, pc.pool, lo, hi);
      reference_max_pool2d(in_view, want_view, pc.pool, lo, hi);
    }
    INFO(pooling_kernel_name(best_isa()) << (average ? " average" : " max") << " N=" << pc.batch << " H=" << pc.h
                                         << " W=" << pc.w << " C=" << pc.c << " filter=" << pc.pool.filter_h << "x"
                                         << pc.pool.filter_w << " stride=" << pc.pool.stride_h << ","
                                         << pc.pool.stride_w << " pad=" << int(pc.pool.pad.kind) << " mode=" << mode);
    REQUIRE(got == want);
  }
}

std::vector<isa_level> exercised;
std::vector<std::string> exercised_kernels;

}  // namespace

TEST_CASE("pooling: random shapes, paddings and values equal the reference on every ISA", "[conv][pooling]") {
  std::mt19937 rng(31);
  std::uniform_int_distribution<int> chans(1, 100), f(1, 4), s(1, 3), pads(0, 2), extra(0, 7);
  std::vector<pool_case> cases;
  for (int i = 0; i < 40; ++i) {
    pool_case pc{};
    pc.batch = i % 7 == 0 ? 2 : 1;
    pc.c = i % 4 == 0 ? 64 : chans(rng);
    pc.pool.filter_h = f(rng);
    pc.pool.filter_w = f(rng);
    pc.pool.stride_h = s(rng);
    pc.pool.stride_w = s(rng);
    const int pk = pads(rng);
    pc.pool.pad = pk == 0 ? padding::valid()
                          : pk == 1 ? padding::same()
                                    : padding::explicit_pads(pc.pool.filter_h - 1, 0, pc.pool.filter_w / 2, pc.pool.filter_w / 2);
    pc.h = pc.pool.filter_h + extra(rng);
    pc.w = pc.pool.filter_w + extra(rng);
    cases.push_back(pc);
  }
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    exercised.push_back(isa);
    exercised_kernels.emplace_back(pooling_kernel_name(isa));
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const int mode = static_cast<int>(i % 5);
      check_case(cases[i], rng, mode, -128, 127);
      if (i % 3 == 0) check_case(cases[i], rng, mode, -100, 6);  // a fused clamp
    }
  }
}

TEST_CASE("pooling: runs of whole windows (max_run) and the pixels around them", "[conv][pooling]") {
  // The demo CNN's pools (26x26x32 and 11x11x64, 2x2 stride 2: an odd width drops its last column), and
  // padded pools whose rows mix edge windows with a run of whole ones, across channel counts around the
  // 64-byte vector.
  std::mt19937 rng(7);
  std::vector<pool_case> cases;
  for (index_t c : {1, 31, 32, 63, 64, 65, 130}) {
    pool2d_params two{};
    two.filter_h = two.filter_w = two.stride_h = two.stride_w = 2;
    cases.push_back({1, 26, 26, c, two});
    cases.push_back({2, 11, 11, c, two});
    pool2d_params same = two;
    same.filter_h = same.filter_w = 3;
    same.stride_w = 1;
    same.pad = padding::same();
    cases.push_back({1, 7, 9, c, same});
    pool2d_params wide = two;
    wide.filter_w = 3;
    wide.stride_w = 3;
    wide.pad = padding::explicit_pads(1, 0, 1, 1);
    cases.push_back({1, 6, 10, c, wide});
    pool2d_params narrow = two;  // a window as wide as the input: one whole window per row
    narrow.filter_w = 5;
    cases.push_back({1, 4, 5, c, narrow});
  }
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    for (std::size_t i = 0; i < cases.size(); ++i) {
      check_case(cases[i], rng, static_cast<int>(i % 5), -128, 127);
      check_case(cases[i], rng, 0, -100, 6);
    }
  }
}

TEST_CASE("pooling: a global average pool and a big window", "[conv][pooling]") {
  std::mt19937 rng(2);
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    pool_case global{1, 7, 7, 130, pool2d_params{7, 7, 1, 1, padding::valid()}};
    for (int mode = 0; mode < 5; ++mode) check_case(global, rng, mode, -128, 127);
    pool_case wide{1, 40, 50, 3, pool2d_params{40, 50, 1, 1, padding::valid()}};
    for (int mode = 0; mode < 5; ++mode) check_case(wide, rng, mode, -128, 127);
  }
}

TEST_CASE("pooling: TFLite's average rounds half away from zero", "[conv][pooling][tflite]") {
  // 2 taps: (1 + 2) / 2 = 1.5 -> 2; (-1 + -2) / 2 = -1.5 -> -2; (-1 + 2) / 2 = 0.5 -> 1; (1 + -2) / 2 = -0.5 -> -1.
  const std::vector<std::int8_t> in{1, -1, -1, 1, 2, -2, 2, -2};
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    std::vector<std::int8_t> out(4);
    average_pool2d(context{}, make_view(in.data(), 1, 1, 2, 4), make_view(out.data(), 1, 1, 1, 4),
                   pool2d_params{1, 2, 1, 2, padding::valid()});
    CHECK(out == std::vector<std::int8_t>{2, -2, 1, -1});
    max_pool2d(context{}, make_view(in.data(), 1, 1, 2, 4), make_view(out.data(), 1, 1, 1, 4),
               pool2d_params{1, 2, 1, 2, padding::valid()}, -1, 1);
    CHECK(out == std::vector<std::int8_t>{1, -1, 1, 1});
  }
}

TEST_CASE("pooling: every thread count gives identical results", "[conv][pooling][threads]") {
  std::mt19937 rng(6);
  pool_case pc{2, 21, 19, 70, pool2d_params{3, 3, 2, 2, padding::same()}};
  for (int t : {1, 2, 3}) check_case(pc, rng, 0, -128, 127, context(threads{t}));
}

TEST_CASE("pooling: bad input is a qsparse::error naming the argument", "[conv][pooling][errors]") {
  std::vector<std::int8_t> in(1 * 4 * 4 * 3), out(1 * 2 * 2 * 3);
  const auto in_view = make_view(in.data(), 1, 4, 4, 3);
  const auto out_view = make_view(out.data(), 1, 2, 2, 3);
  CHECK_NOTHROW(max_pool2d(context{}, in_view, out_view, pool2d_params{2, 2, 2, 2, padding::valid()}));
  CHECK_THROWS_WITH(max_pool2d(context{}, in_view, out_view, pool2d_params{2, 2, 0, 2, padding::valid()}),
                    Catch::Contains("stride_h must be >= 1, got stride_h = 0"));
  CHECK_THROWS_WITH(max_pool2d(context{}, in_view, out_view, pool2d_params{0, 2, 2, 2, padding::valid()}),
                    Catch::Contains("filter must be at least 1 x 1"));
  CHECK_THROWS_WITH(average_pool2d(context{}, in_view, out_view, pool2d_params{5, 2, 2, 2, padding::valid()}),
                    Catch::Contains("leaves no output along the height"));
  CHECK_THROWS_WITH(average_pool2d(context{}, in_view, out_view, pool2d_params{2, 2, 2, 2, padding::same()}, 5, 4),
                    Catch::Contains("act_min = 5, act_max = 4"));
  CHECK_THROWS_WITH(average_pool2d(context{}, in_view, make_view(out.data(), 1, 2, 1, 3), pool2d_params{2, 2, 2, 2, padding::valid()}),
                    Catch::Contains("expected N x OH x OW x C = 1 x 2 x 2 x 3"));
}

TEST_CASE("guard: pooling ran on every ISA this CPU supports", "[conv][guard]") {
  for (isa_level isa : testing::supported_levels())
    CHECK(std::find(exercised.begin(), exercised.end(), isa) != exercised.end());
  testing::require_every_kernel_ran(kernels::pool_kernels{}, exercised_kernels);
}

TEST_CASE("pooling: hostile filters and aliasing are a qsparse::error (issue 22)", "[conv][pooling][errors]") {
  std::vector<std::int8_t> in(1 * 4 * 4 * 3), out(1 * 4 * 4 * 3);
  const auto in_view = make_view(static_cast<const std::int8_t*>(in.data()), 1, 4, 4, 3);
  // (2^60 + 1) * 16 wraps to 16 in int64: the tap array was sized from it and written past its end.
  const pool2d_params huge{(index_t{1} << 60) + 1, 16, 1, 1, padding::same()};
  CHECK_THROWS_WITH(max_pool2d(context{}, in_view, make_view(out.data(), 1, 4, 4, 3), huge),
                    "qsparse::max_pool2d: filter_h * filter_w overflows int64: 1152921504606846977 * 16");
  const pool2d_params wide{index_t{1} << 32, index_t{1} << 32, 1, 1, padding::same()};
  CHECK_THROWS_WITH(average_pool2d(context{}, in_view, make_view(out.data(), 1, 4, 4, 3), wide),
                    Catch::Contains("filter_h * filter_w overflows int64: 4294967296 * 4294967296"));
  // The output sharing the input's memory: an error, for the whole view and for a shifted one.
  std::vector<std::int8_t> buffer(2 * 4 * 4 * 3);
  const auto shared_in = make_view(static_cast<const std::int8_t*>(buffer.data()), 1, 4, 4, 3);
  const pool2d_params p3{3, 3, 1, 1, padding::same()};
  CHECK_THROWS_WITH(average_pool2d(context{}, shared_in, make_view(buffer.data(), 1, 4, 4, 3), p3),
                    Catch::Contains("qsparse::average_pool2d: output overlaps input in memory"));
  CHECK_THROWS_WITH(max_pool2d(context{}, shared_in, make_view(buffer.data() + 20, 1, 4, 4, 3), p3),
                    Catch::Contains("an output must not share memory with an input"));
  CHECK_NOTHROW(max_pool2d(context{}, shared_in, make_view(buffer.data() + 48, 1, 4, 4, 3), p3));
}
