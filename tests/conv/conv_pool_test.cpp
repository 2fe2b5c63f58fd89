// tests/conv/conv_pool_test.cpp — conv2d_max_pool2d against reference_conv2d followed by
// reference_max_pool2d, bit for bit, on every ISA this CPU has: random conv shapes (odd sizes, every padding
// mode, strides, dilations, groups) under several pools (2×2 stride 2, overlapping 3×3 SAME windows,
// explicit pads, 1×1), the CNN demo's stem, images split into several bands, int8 and uint8 input with
// extreme zero points, per-channel float scales, TFLite's fixed point, the pool's clamp, 1-3 threads, bad
// input (a negative scale among them: the pipelines reject it).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/conv/conv_pool.hpp"
#include "qsparse/conv/reference.hpp"
#include "qsparse/core/context.hpp"
#include "conv/conv2d_layers.hpp"
#include "support/column_params.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using namespace qsparse::conv_test;

namespace {

std::vector<isa_level> exercised;

/// Runs conv2d_max_pool2d on each ISA the CPU has (weights packed for it, under its ceiling) and the two
/// references once; requires the same bytes. Returns false (and checks nothing) when the pool leaves no
/// output of this conv.
template <class A, class Pipeline>
bool check_fused(const layer& l, const pool2d_params& pool, std::int32_t in_zp, const Pipeline& pl, std::mt19937& rng,
                 std::int32_t act_min = -128, std::int32_t act_max = 127, int mode = 0,
                 const context& ctx = context{}) {
  const index_t cg = l.c_in / l.groups;
  const conv_geometry g = conv_output_geometry(l.p, l.h, l.w, l.k_h, l.k_w, "test");
  if (pool.pad.kind == padding_kind::valid && (g.out_h < pool.filter_h || g.out_w < pool.filter_w)) return false;
  const conv_geometry pg = pool_output_geometry(pool, g.out_h, g.out_w, "test");
  auto in = random_values<A>(static_cast<std::size_t>(l.batch * l.h * l.w * l.c_in), rng, mode);
  auto w = random_values<std::int8_t>(static_cast<std::size_t>(l.c_out * l.k_h * l.k_w * cg), rng);
  const auto in_view = make_view(static_cast<const A*>(in.data()), l.batch, l.h, l.w, l.c_in);
  const auto w_view = make_view(static_cast<const std::int8_t*>(w.data()), l.c_out, l.k_h, l.k_w, cg);
  std::vector<std::int8_t> conv_out(static_cast<std::size_t>(l.batch * g.out_h * g.out_w * l.c_out));
  reference_conv2d(quantized(in_view, in_zp), quantized(w_view, 0), l.groups,
                   make_view(conv_out.data(), l.batch, g.out_h, g.out_w, l.c_out), l.p, pl);
  const std::size_t size = static_cast<std::size_t>(l.batch * pg.out_h * pg.out_w * l.c_out);
  std::vector<std::int8_t> want(size, 55);
  reference_max_pool2d(make_view(static_cast<const std::int8_t*>(conv_out.data()), l.batch, g.out_h, g.out_w, l.c_out),
                       make_view(want.data(), l.batch, pg.out_h, pg.out_w, l.c_out), pool, act_min, act_max);
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    if (std::find(exercised.begin(), exercised.end(), isa) == exercised.end()) exercised.push_back(isa);
    const auto packed = pack_conv2d_weights(w_view, 0, l.groups, isa);
    std::vector<std::int8_t> got(size, 77);
    conv2d_max_pool2d(ctx, quantized(in_view, in_zp), packed, make_view(got.data(), l.batch, pg.out_h, pg.out_w, l.c_out),
                      l.p, pool, pl, act_min, act_max);
    INFO(selected_kernel_name(packed, l.p)
         << " N=" << l.batch << " H=" << l.h << " W=" << l.w << " Cin=" << l.c_in << " Cout=" << l.c_out << " k="
         << l.k_h << "x" << l.k_w << " groups=" << l.groups << " stride=" << l.p.stride_h << "," << l.p.stride_w
         << " dilation=" << l.p.dilation_h << "," << l.p.dilation_w << " pad=" << int(l.p.pad.kind) << " pool="
         << pool.filter_h << "x" << pool.filter_w << " s" << pool.stride_h << "," << pool.stride_w
         << " pad=" << int(pool.pad.kind) << " in_zp=" << in_zp << " act=" << act_min << "," << act_max);
    REQUIRE(got == want);
  }
  return true;
}

std::vector<pool2d_params> pools() {
  return {pool2d_params{2, 2, 2, 2, padding::valid()}, pool2d_params{3, 3, 2, 2, padding::same()},
          pool2d_params{3, 2, 1, 2, padding::explicit_pads(1, 1, 1, 0)}, pool2d_params{1, 1, 1, 1, padding::valid()},
          pool2d_params{2, 3, 3, 1, padding::same()}};
}


}  // namespace

TEST_CASE("conv2d_max_pool2d: random shapes and pools equal conv2d then max_pool2d", "[conv][conv_pool]") {
  std::mt19937 rng(28);
  const auto layers = random_layers(rng, 24);
  const auto ps = pools();
  int checked = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const layer& l = layers[i];
    const pool2d_params& pool = ps[i % ps.size()];
    const auto pc = per_channel(l.c_out, rng);
    const std::int32_t zp = i % 3 == 0 ? -128 : (i % 3 == 1 ? 127 : 5);
    checked += check_fused<std::int8_t>(l, pool, zp, pc.int8_pipeline(-3), rng) ? 1 : 0;
    checked += check_fused<std::int8_t>(
                   l, pool, zp,
                   pipeline(bias_add{pc.bias.data()}, requantize_float_per_channel{pc.scales.data()},
                            add_zero_point{2}, saturating_cast<std::int8_t>{}),
                   rng, -20, 90)
                   ? 1
                   : 0;
    if (i % 4 == 0) checked += check_fused<std::uint8_t>(l, pool, i % 8 == 0 ? 0 : 255, pc.int8_pipeline(1), rng) ? 1 : 0;
  }
  CHECK(checked > 40);
  CHECK(exercised.size() == testing::supported_levels().size());
}

TEST_CASE("conv2d_max_pool2d: the CNN demo's stem, images in several bands, full-range values",
          "[conv][conv_pool]") {
  std::mt19937 rng(5);
  // 28×28×1 → 3×3×32 → 2×2 pool: the direct stem kernel on VNNI.
  const layer stem{3, 28, 28, 1, 32, 3, 3, 1, conv2d_params{}};
  const auto pc = per_channel(32, rng);
  const pool2d_params two{2, 2, 2, 2, padding::valid()};
  REQUIRE(check_fused<std::int8_t>(stem, two, -128, pc.int8_pipeline(-128), rng));
  REQUIRE(check_fused<std::int8_t>(stem, two, 3, pc.float_int8_pipeline(-5), rng, -100, 100));
  for (int mode = 1; mode <= 3; ++mode) REQUIRE(check_fused<std::int8_t>(stem, two, 127, pc.int8_pipeline(0), rng, -128, 127, mode));
  // Shallow filters the direct kernel takes, pooled inside it on VNNI (unpadded pools): a 3-channel stride-2
  // SAME stem under overlapping 3×3 stride-2 windows, a dilated 1-channel one under 3×2 windows with zero
  // explicit pads, uint8 input, 2×2 kernels, the pool's clamp, and a 1×3 pool of stride (1, 2).
  layer rgb{2, 23, 19, 3, 33, 3, 3, 1, conv2d_params{}};
  rgb.p.stride_h = rgb.p.stride_w = 2;
  rgb.p.pad = padding::same();
  const auto p33 = per_channel(33, rng);
  REQUIRE(check_fused<std::int8_t>(rgb, pool2d_params{3, 3, 2, 2, padding::valid()}, -128, p33.int8_pipeline(3), rng));
  REQUIRE(check_fused<std::uint8_t>(rgb, pool2d_params{2, 2, 2, 2, padding::valid()}, 255, p33.float_int8_pipeline(0), rng,
                                    -128, 60));
  layer dilated{1, 17, 15, 1, 32, 3, 3, 1, conv2d_params{}};
  dilated.p.dilation_h = 2;
  REQUIRE(check_fused<std::int8_t>(dilated, pool2d_params{3, 2, 3, 2, padding::explicit_pads(0, 0, 0, 0)}, 11,
                                   pc.int8_pipeline(-1), rng, -128, 127, 3));
  layer small{1, 9, 11, 4, 32, 2, 2, 1, conv2d_params{}};
  REQUIRE(check_fused<std::int8_t>(small, pool2d_params{1, 3, 1, 2, padding::valid()}, 0, pc.int8_pipeline(0), rng, -5, 5));
  // 61 × 73 × 32 outputs are 2.3 KiB a row: bands of a few pooled rows, overlapping 3×3 stride-2 windows.
  layer wide{2, 63, 75, 3, 32, 3, 3, 1, conv2d_params{}};
  REQUIRE(check_fused<std::int8_t>(wide, pool2d_params{3, 3, 2, 2, padding::same()}, -1, pc.int8_pipeline(4), rng));
  wide.p.pad = padding::same();
  wide.p.stride_h = 2;
  wide.c_out = 20;
  const auto p20 = per_channel(20, rng);
  REQUIRE(check_fused<std::int8_t>(wide, two, 9, p20.float_int8_pipeline(-9), rng));
  // Threads: a single image split into bands per thread, and a batch.
  for (int t : {1, 2, 3}) {
    const context ctx(threads{t});
    layer one = stem;
    one.batch = 1;
    REQUIRE(check_fused<std::int8_t>(one, two, 7, pc.int8_pipeline(1), rng, -128, 127, 0, ctx));
    REQUIRE(check_fused<std::int8_t>(wide, pool2d_params{3, 3, 2, 2, padding::same()}, -7, p20.int8_pipeline(1), rng,
                                     -128, 127, 0, ctx));
  }
}

TEST_CASE("conv2d_max_pool2d: bad input is a qsparse::error naming the argument", "[conv][conv_pool][errors]") {
  std::vector<std::int8_t> in(2 * 8 * 8 * 3), w(4 * 3 * 3 * 3), out(2 * 3 * 3 * 4);
  std::mt19937 rng(1);
  const auto pc = per_channel(4, rng);
  const auto in_view = make_view(static_cast<const std::int8_t*>(in.data()), 2, 8, 8, 3);
  const auto packed = pack_conv2d_weights(make_view(static_cast<const std::int8_t*>(w.data()), 4, 3, 3, 3));
  const pool2d_params pool{2, 2, 2, 2, padding::valid()};
  const context ctx;
  const auto pl = pc.int8_pipeline(0);
  // Good: 8×8 → 6×6 → 3×3.
  CHECK_NOTHROW(conv2d_max_pool2d(ctx, in_view, packed, make_view(out.data(), 2, 3, 3, 4), conv2d_params{}, pool, pl));
  CHECK_THROWS_WITH(conv2d_max_pool2d(ctx, in_view, packed, make_view(out.data(), 2, 6, 6, 4), conv2d_params{}, pool, pl),
                    Catch::Contains("conv2d_max_pool2d: output is 2 x 6 x 6 x 4, expected N x POH x POW x C_out = 2 x 3 x 3 x 4"));
  CHECK_THROWS_WITH(conv2d_max_pool2d(ctx, make_view(static_cast<const std::int8_t*>(in.data()), 2, 8, 8, 2), packed,
                                      make_view(out.data(), 2, 3, 3, 4), conv2d_params{}, pool, pl),
                    Catch::Contains("input has C_in = 2"));
  CHECK_THROWS_WITH(conv2d_max_pool2d(ctx, in_view, packed, make_view(out.data(), 2, 3, 3, 4), conv2d_params{},
                                      pool2d_params{7, 7, 1, 1, padding::valid()}, pl),
                    Catch::Contains("no output"));
  CHECK_THROWS_WITH(conv2d_max_pool2d(ctx, in_view, packed, make_view(out.data(), 2, 3, 3, 4), conv2d_params{},
                                      pool2d_params{2, 2, 0, 2, padding::valid()}, pl),
                    Catch::Contains("stride_h must be >= 1, got stride_h = 0"));
  CHECK_THROWS_WITH(conv2d_max_pool2d(ctx, in_view, packed, make_view(out.data(), 2, 3, 3, 4), conv2d_params{},
                                      pool2d_params{2, 2, 2, 2, padding::explicit_pads(2, 0, 0, 0)}, pl),
                    Catch::Contains("pads must be smaller than the effective kernel (2), got 2, 0"));
  CHECK_THROWS_WITH(conv2d_max_pool2d(ctx, in_view, packed, make_view(out.data(), 2, 3, 3, 4), conv2d_params{}, pool, pl,
                                      10, 5),
                    Catch::Contains("act_min = 10, act_max = 5"));
  CHECK_THROWS_WITH(conv2d_max_pool2d(ctx, quantized(in_view, 128), packed, make_view(out.data(), 2, 3, 3, 4),
                                      conv2d_params{}, pool, pl),
                    Catch::Contains("input zero point must be in [-128, 127], got 128"));
  CHECK_THROWS_WITH(conv2d_max_pool2d(ctx, in_view, packed_conv2d_weights{}, make_view(out.data(), 2, 3, 3, 4),
                                      conv2d_params{}, pool, pl),
                    Catch::Contains("the packed weights are empty"));
  CHECK_THROWS_WITH(conv2d_max_pool2d(ctx, make_view(reinterpret_cast<const std::int8_t*>(out.data()), 2, 3, 3, 4),
                                      pack_conv2d_weights(make_view(static_cast<const std::int8_t*>(w.data()), 3, 1, 1, 4)),
                                      make_view(out.data(), 2, 3, 3, 3), conv2d_params{},
                                      pool2d_params{1, 1, 1, 1, padding::valid()},
                                      pipeline(bias_add{pc.bias.data()},
                                               requantize_fixed_point_per_channel<double_rounding>{pc.multipliers.data(),
                                                                                                   pc.shifts.data()},
                                               saturating_cast<std::int8_t>{})),
                    Catch::Contains("overlap"));
  // A negative scale (max pooling after a decreasing requantization) is no pipeline the library takes.
  std::vector<float> scales(4, 0.01f);
  scales[1] = -0.25f;
  CHECK_THROWS_WITH(conv2d_max_pool2d(ctx, in_view, packed, make_view(out.data(), 2, 3, 3, 4), conv2d_params{}, pool,
                                      pipeline(requantize_float_per_channel{scales.data()}, saturating_cast<std::int8_t>{})),
                    Catch::Contains("conv2d_max_pool2d: requantize_float_per_channel.scales must be positive and finite, "
                                    "got requantize_float_per_channel.scales[1] = -0.25"));
}

namespace {

/// Float output (a dynamic-range convolution): conv2d_max_pool2d on every ISA against reference_conv2d with
/// the float pipeline, then a float max pool that keeps the first of a window's largest values (v > best),
/// compared bit for bit (memcmp: -0 and +0 differ). `wmode` 1 makes every weight 0 (all sums tie).
bool check_fused_float(const layer& l, const pool2d_params& pool, std::int32_t in_zp, const std::vector<float>& scales,
                       const std::vector<float>& bias, float lo, float hi, std::mt19937& rng, int mode = 0,
                       int wmode = 0, const context& ctx = context{}) {
  const index_t cg = l.c_in / l.groups;
  const conv_geometry g = conv_output_geometry(l.p, l.h, l.w, l.k_h, l.k_w, "test");
  if (pool.pad.kind == padding_kind::valid && (g.out_h < pool.filter_h || g.out_w < pool.filter_w)) return false;
  const conv_geometry pg = pool_output_geometry(pool, g.out_h, g.out_w, "test");
  auto in = random_values<std::int8_t>(static_cast<std::size_t>(l.batch * l.h * l.w * l.c_in), rng, mode);
  auto w = random_values<std::int8_t>(static_cast<std::size_t>(l.c_out * l.k_h * l.k_w * cg), rng);
  if (wmode == 1) std::fill(w.begin(), w.end(), std::int8_t{0});
  const auto in_view = make_view(static_cast<const std::int8_t*>(in.data()), l.batch, l.h, l.w, l.c_in);
  const auto w_view = make_view(static_cast<const std::int8_t*>(w.data()), l.c_out, l.k_h, l.k_w, cg);
  const auto pl = pipeline(dequantize_float_per_channel{scales.data(), bias.data()}, clamp_float{lo, hi});
  std::vector<float> conv_out(static_cast<std::size_t>(l.batch * g.out_h * g.out_w * l.c_out));
  reference_conv2d(quantized(in_view, in_zp), quantized(w_view, 0), l.groups,
                   make_view(conv_out.data(), l.batch, g.out_h, g.out_w, l.c_out), l.p, pl);
  const std::size_t size = static_cast<std::size_t>(l.batch * pg.out_h * pg.out_w * l.c_out);
  std::vector<float> want(size);
  for (index_t b = 0; b < l.batch; ++b)
    for (index_t y = 0; y < pg.out_h; ++y)
      for (index_t x = 0; x < pg.out_w; ++x)
        for (index_t c = 0; c < l.c_out; ++c) {
          bool first = true;
          float best = 0.0f;
          for (index_t fy = 0; fy < pool.filter_h; ++fy)
            for (index_t fx = 0; fx < pool.filter_w; ++fx) {
              const index_t iy = y * pool.stride_h - pg.pad_top + fy, ix = x * pool.stride_w - pg.pad_left + fx;
              if (iy < 0 || iy >= g.out_h || ix < 0 || ix >= g.out_w) continue;
              const float v = conv_out[static_cast<std::size_t>(((b * g.out_h + iy) * g.out_w + ix) * l.c_out + c)];
              if (first || v > best) best = v;
              first = false;
            }
          want[static_cast<std::size_t>(((b * pg.out_h + y) * pg.out_w + x) * l.c_out + c)] = best;
        }
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    const auto packed = pack_conv2d_weights(w_view, 0, l.groups, isa);
    std::vector<float> got(size, 77.0f);
    conv2d_max_pool2d(ctx, quantized(in_view, in_zp), packed, make_view(got.data(), l.batch, pg.out_h, pg.out_w, l.c_out),
                      l.p, pool, pl);
    INFO(selected_kernel_name(packed, l.p) << " N=" << l.batch << " H=" << l.h << " W=" << l.w << " Cin=" << l.c_in
                                           << " Cout=" << l.c_out << " pool=" << pool.filter_h << "x" << pool.filter_w
                                           << " in_zp=" << in_zp << " lo=" << lo << " wmode=" << wmode);
    REQUIRE(std::memcmp(got.data(), want.data(), size * sizeof(float)) == 0);
  }
  return true;
}

}  // namespace

TEST_CASE("conv2d_max_pool2d: float output (dynamic range) equals conv2d then the float pool, bit for bit",
          "[conv][conv_pool][float]") {
  std::mt19937 rng(19);
  const layer stem{3, 28, 28, 1, 32, 3, 3, 1, conv2d_params{}};
  const pool2d_params two{2, 2, 2, 2, padding::valid()};
  std::vector<float> scales(32), bias(32);
  for (std::size_t c = 0; c < 32; ++c) {
    scales[c] = 0.0007f * static_cast<float>(c + 1);
    bias[c] = c % 5 == 0 ? -0.0f : 0.01f * static_cast<float>(static_cast<int>(c) - 16);
  }
  const float inf = std::numeric_limits<float>::infinity();
  // The stem: pooled inside the direct kernel on VNNI; relu, no clamp, a tight clamp, ties (zero weights,
  // a constant image), full-range input.
  REQUIRE(check_fused_float(stem, two, -3, scales, bias, 0.0f, inf, rng));
  REQUIRE(check_fused_float(stem, two, 127, scales, bias, -inf, inf, rng, 1));
  REQUIRE(check_fused_float(stem, two, 0, scales, bias, -0.05f, 0.05f, rng, 2));
  REQUIRE(check_fused_float(stem, two, 5, scales, bias, 0.0f, inf, rng, 0, 1));
  REQUIRE(check_fused_float(stem, two, -128, scales, bias, -inf, inf, rng, 3));
  // A zero or negative scale is refused (validate: the pipeline's own rule); a -0 clamp bound (sums below
  // the bias clamp to -0, a zero one to +0), where pooling first is not exact, runs the definition.
  auto odd = scales;
  odd[3] = 0.0f;
  CHECK_THROWS_WITH(check_fused_float(stem, two, 1, odd, bias, -inf, inf, rng), Catch::Contains("scales[3] = 0"));
  std::vector<float> zero_bias(32, 0.0f);
  REQUIRE(check_fused_float(stem, two, 0, scales, zero_bias, -0.0f, inf, rng, 0, 1));
  REQUIRE(check_fused_float(stem, two, 0, scales, zero_bias, -0.0f, inf, rng));
  // Odd shapes and padded / overlapping pools (the definition), a second conv layer's shape, 1-3 threads.
  std::mt19937 shapes(3);
  const auto layers = random_layers(shapes, 8);
  const auto ps = pools();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    std::vector<float> s(static_cast<std::size_t>(layers[i].c_out)), b(s.size());
    for (std::size_t c = 0; c < s.size(); ++c) {
      s[c] = 0.001f + 0.0001f * static_cast<float>(c);
      b[c] = 0.002f * static_cast<float>(c % 7) - 0.006f;
    }
    check_fused_float(layers[i], ps[i % ps.size()], static_cast<std::int32_t>(i) - 4, s, b, 0.0f, inf, rng);
  }
  layer rgb{2, 23, 19, 3, 33, 3, 3, 1, conv2d_params{}};
  std::vector<float> s33(33, 0.003f), b33(33, -0.1f);
  REQUIRE(check_fused_float(rgb, pool2d_params{3, 3, 2, 2, padding::valid()}, -128, s33, b33, 0.0f, inf, rng));
  for (int t : {1, 2, 3}) {
    const context ctx(threads{t});
    layer one = stem;
    one.batch = 1;
    REQUIRE(check_fused_float(one, two, 7, scales, bias, 0.0f, inf, rng, 0, 0, ctx));
    layer many = stem;
    many.batch = 5;
    REQUIRE(check_fused_float(many, two, -7, scales, bias, 0.0f, inf, rng, 0, 0, ctx));
  }
}

TEST_CASE("conv2d_max_pool2d: float output refuses a pool clamp", "[conv][conv_pool][float][errors]") {
  std::vector<std::int8_t> in(1 * 6 * 6 * 1, 1), w(32 * 9, 1);
  std::vector<float> out(32 * 2 * 2), scales(32, 1.0f), bias(32, 0.0f);
  const auto packed = pack_conv2d_weights(make_view(static_cast<const std::int8_t*>(w.data()), 32, 3, 3, 1), 0);
  const auto pl = pipeline(dequantize_float_per_channel{scales.data(), bias.data()});
  CHECK_THROWS_WITH(conv2d_max_pool2d(context{}, make_view(static_cast<const std::int8_t*>(in.data()), 1, 6, 6, 1), packed,
                                      make_view(out.data(), 1, 2, 2, 32), conv2d_params{},
                                      pool2d_params{2, 2, 2, 2, padding::valid()}, pl, 0, 127),
                    Catch::Contains("act_min = 0"));
}
