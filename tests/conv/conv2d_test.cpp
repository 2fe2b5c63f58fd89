// tests/conv/conv2d_test.cpp — conv2d against reference_conv2d, bit for bit, on every ISA this CPU has:
// TFLite's golden conv vectors (from TFLite's kernel tests), random layer shapes (odd sizes, every padding mode,
// stride 2, dilation 2, groups, 1x1 direct and strided, 1xN, batch > 1), edge values, every output
// type, threads, bad input. The sparse conv2d is in sparse_conv2d_test.cpp (the two compiled as one file took
// 9 GB and four minutes under the sanitizers).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/conv/conv2d.hpp"
#include "qsparse/conv/reference.hpp"
#include "qsparse/core/context.hpp"
#include "conv/conv2d_layers.hpp"
#include "support/column_params.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using namespace qsparse::conv_test;

namespace {

std::vector<isa_level> exercised;

/// The ISAs a check runs on: every one this CPU has (one reference result compared with each), or one.
struct isas {
  std::vector<isa_level> levels;
  isas() : levels(testing::supported_levels()) {}
  isas(isa_level one) : levels{one} {}  // NOLINT: a single level converts
};

/// Runs conv2d on random (or `mode`'s edge) values for each ISA of `on`, under that ISA's ceiling, and
/// reference_conv2d once; requires every output equal to the reference's, bit for bit.
template <class A, class Pipeline>
void check_layer(const isas& on, const layer& l, std::int32_t in_zp, std::int32_t w_zp, const Pipeline& pl,
                 std::mt19937& rng, int mode = 0, const context& ctx = context{}) {
  using out_t = typename Pipeline::output_type;
  const index_t cg = l.c_in / l.groups;
  auto in = random_values<A>(static_cast<std::size_t>(l.batch * l.h * l.w * l.c_in), rng, mode);
  auto w = random_values<std::int8_t>(static_cast<std::size_t>(l.c_out * l.k_h * l.k_w * cg), rng, mode == 3 ? 0 : mode);
  const auto in_view = make_view(static_cast<const A*>(in.data()), l.batch, l.h, l.w, l.c_in);
  const auto w_view = make_view(static_cast<const std::int8_t*>(w.data()), l.c_out, l.k_h, l.k_w, cg);
  const conv_geometry g = conv_output_geometry(l.p, l.h, l.w, l.k_h, l.k_w, "test");
  const std::size_t out_size = static_cast<std::size_t>(l.batch * g.out_h * g.out_w * l.c_out);
  std::vector<out_t> want(out_size, out_t(55));
  reference_conv2d(quantized(in_view, in_zp), quantized(w_view, w_zp), l.groups,
                   make_view(want.data(), l.batch, g.out_h, g.out_w, l.c_out), l.p, pl);
  for (isa_level isa : on.levels) {
    scoped_isa_ceiling ceiling(isa);
    if (std::find(exercised.begin(), exercised.end(), isa) == exercised.end()) exercised.push_back(isa);
    std::vector<out_t> got(out_size, out_t(77));
    const auto packed = pack_conv2d_weights(w_view, w_zp, l.groups, isa);
    conv2d(ctx, quantized(in_view, in_zp), packed, make_view(got.data(), l.batch, g.out_h, g.out_w, l.c_out), l.p, pl);
    INFO(selected_kernel_name(packed, l.p) << " N=" << l.batch << " H=" << l.h << " W=" << l.w << " Cin=" << l.c_in
                                      << " Cout=" << l.c_out << " k=" << l.k_h << "x" << l.k_w << " groups=" << l.groups
                                      << " stride=" << l.p.stride_h << "," << l.p.stride_w << " dilation="
                                      << l.p.dilation_h << "," << l.p.dilation_w << " pad=" << int(l.p.pad.kind)
                                      << " in_zp=" << in_zp << " w_zp=" << w_zp << " mode=" << mode);
    REQUIRE(std::memcmp(got.data(), want.data(), out_size * sizeof(out_t)) == 0);
  }
}

/// TFLite's optimized rounding (double, last shift ties up) and its reference FULLY_CONNECTED's (one
/// rounding, ties away), beside the reference CONV_2D's double rounding of int8_pipeline: each has its
/// own 64-bit form in the VNNI epilogues (avx512::fixed_point_offset).
void check_fixed_point_roundings(const isas& on, const layer& l, const testing::column_params& pc, std::mt19937& rng) {
  check_layer<std::int8_t>(on, l, -7, 0,
                           pipeline(bias_add{pc.bias.data()},
                                    requantize_fixed_point_per_channel<double_rounding_up>{pc.multipliers.data(),
                                                                                           pc.shifts.data()},
                                    add_zero_point{-7}, clamp{-128, 127}, saturating_cast<std::int8_t>{}),
                           rng);
  check_layer<std::uint8_t>(on, l, 131, 0,
                            pipeline(bias_add{pc.bias.data()},
                                     requantize_fixed_point_per_channel<single_rounding_away>{pc.multipliers.data(),
                                                                                              pc.shifts.data()},
                                     add_zero_point{5}, clamp{-128, 100}, saturating_cast<std::int8_t>{}),
                            rng);
}

/// Every output type of int8 activations (input zero point 4), weights and per-channel parameters pc: the
/// raw int32 sums, uint8 through per-channel float requantization (when `uint8_output`), int16 through one
/// float scale (input zero point `int16_zp`), and float dequantized per channel and clamped.
void check_output_types(const layer& l, const testing::column_params& pc, std::mt19937& rng, bool uint8_output,
                        std::int32_t int16_zp) {
  check_layer<std::int8_t>(isas{}, l, 4, 0, pipeline(), rng);  // raw int32
  if (uint8_output) {
    check_layer<std::int8_t>(isas{}, l, 4, 0, pipeline(bias_add{pc.bias.data()}, requantize_float_per_channel{pc.scales.data()},
                                                     add_zero_point{100}, saturating_cast<std::uint8_t>{}),
                             rng);
  }
  check_layer<std::int8_t>(isas{}, l, int16_zp, 0, pipeline(bias_add{pc.bias.data()}, requantize_float{0.001f},
                                                          saturating_cast<std::int16_t>{}),
                           rng);
  std::vector<float> fbias(static_cast<std::size_t>(l.c_out), 0.25f);
  check_layer<std::int8_t>(isas{}, l, 4, 0,
                           pipeline(dequantize_float_per_channel{pc.scales.data(), fbias.data()}, clamp_float{-1.0f, 6.0f}),
                           rng);
}

/// Full-range values (modes 1 to 3) at extreme zero points, every output type, and a bias too large for
/// the fast epilogue (which would otherwise fold it into the accumulators; bias[3] and bias[33] saturate,
/// so l.c_out > 33). `all` adds the int8 output of int8_pipeline at the int8 zero points, the uint8
/// output and the large bias in modes 0 and 2 and without requantization (the stem's cases; the deep
/// layer of the gathering kernel runs the others).
void check_full_range(const layer& l, std::mt19937& rng, bool all) {
  for (int mode = 1; mode <= 3; ++mode) {
    const auto pc = per_channel(l.c_out, rng, -20.0, 2.0);
    for (std::int32_t zp : {-128, 127}) {
      if (all) check_layer<std::int8_t>(isas{}, l, zp, 0, pc.int8_pipeline(0), rng, mode);
      check_layer<std::int8_t>(isas{}, l, zp, 0, pc.float_int8_pipeline(-128), rng, mode);
    }
    for (std::int32_t zp : {0, 255}) check_layer<std::uint8_t>(isas{}, l, zp, 0, pc.int8_pipeline(5), rng, mode);
  }
  const auto pc = per_channel(l.c_out, rng);
  check_output_types(l, pc, rng, all, 7);
  std::vector<std::int32_t> huge(static_cast<std::size_t>(l.c_out), 5);
  huge[3] = std::numeric_limits<std::int32_t>::max() - 1000;  // saturates: the fast path must be refused
  huge[33] = std::numeric_limits<std::int32_t>::min() + 7;
  for (int mode : {0, 1, 2}) {
    if (!all && mode != 1) continue;
    check_layer<std::int8_t>(isas{}, l, -128, 0,
                             pipeline(bias_add{huge.data()}, requantize_float_per_channel{pc.scales.data()},
                                      add_zero_point{-3}, saturating_cast<std::int8_t>{}),
                             rng, mode);
    if (all) check_layer<std::int8_t>(isas{}, l, -128, 0, pipeline(bias_add{huge.data()}), rng, mode);
  }
}

}  // namespace

TEST_CASE("conv2d: random layer shapes equal the reference on every ISA", "[conv][conv2d]") {
  std::mt19937 rng(11);
  const auto layers = random_layers(rng, 60);
  for (const layer& l : layers) {
    const auto pc = per_channel(l.c_out, rng);
    check_layer<std::int8_t>(isas{}, l, -5, 0, pc.int8_pipeline(3), rng);
  }
  // uint8 activations and a weight zero point.
  for (std::size_t i = 0; i < layers.size(); i += 6) {
    const auto pc = per_channel(layers[i].c_out, rng);
    check_layer<std::uint8_t>(isas{}, layers[i], 131, 3, pc.int8_pipeline(-9), rng);
  }
}

TEST_CASE("conv2d: 1x1 (direct and strided), 1xN, Nx1 and deep layers", "[conv][conv2d]") {
  std::mt19937 rng(5);
  std::vector<layer> layers;
  auto make = [](index_t b, index_t h, index_t w, index_t ci, index_t co, index_t kh, index_t kw, index_t s,
                 padding pad, index_t groups = 1) {
    layer l{b, h, w, ci, co, kh, kw, groups, conv2d_params{}};
    l.p.stride_h = l.p.stride_w = s;
    l.p.pad = pad;
    return l;
  };
  layers.push_back(make(1, 7, 9, 17, 37, 1, 1, 1, padding::valid()));      // direct GEMM
  layers.push_back(make(2, 5, 6, 12, 9, 1, 1, 1, padding::same(), 3));     // direct, grouped
  layers.push_back(make(1, 9, 11, 16, 40, 1, 1, 2, padding::valid()));     // strided 1x1
  layers.push_back(make(1, 6, 13, 5, 33, 1, 7, 1, padding::same()));       // 1xN
  layers.push_back(make(1, 13, 4, 5, 20, 7, 1, 2, padding::same()));       // Nx1
  layers.push_back(make(1, 11, 10, 70, 65, 3, 3, 1, padding::same()));     // deep K, N > 64
  layers.push_back(make(1, 23, 21, 3, 32, 3, 3, 2, padding::same()));      // the stem's shape
  layers.push_back(make(1, 45, 40, 8, 16, 3, 3, 1, padding::same()));      // several im2col chunks
  layers.push_back(make(1, 8, 8, 64, 64, 3, 3, 1, padding::same(), 64));   // groups = channels
  for (const layer& l : layers) {
    const auto pc = per_channel(l.c_out, rng);
    check_layer<std::int8_t>(isas{}, l, 17, 0, pc.int8_pipeline(-1), rng);
    check_layer<std::int8_t>(isas{}, l, -3, 0, pc.float_int8_pipeline(-6), rng);
  }
}

TEST_CASE("conv2d: full-range inputs, extreme zero points, every output type", "[conv][conv2d]") {
  std::mt19937 rng(9);
  layer l{1, 6, 7, 12, 21, 3, 3, 1, conv2d_params{}};
  l.p.pad = padding::same();
  l.p.stride_w = 2;
  for (int mode = 1; mode <= 3; ++mode) {
    for (std::int32_t zp : {-128, 127}) {
      const auto pc = per_channel(l.c_out, rng, -20.0, 2.0);  // multipliers up to 4: outputs saturate
      check_layer<std::int8_t>(isas{}, l, zp, 0, pc.int8_pipeline(0), rng, mode);
      check_layer<std::int8_t>(isas{}, l, zp, zp == 127 ? -128 : 127, pc.int8_pipeline(-128), rng, mode);
    }
    const auto pc = per_channel(l.c_out, rng);
    check_layer<std::uint8_t>(isas{}, l, 0, 0, pc.int8_pipeline(5), rng, mode);
    check_layer<std::uint8_t>(isas{}, l, 255, -128, pc.int8_pipeline(5), rng, mode);
  }
  const auto pc = per_channel(l.c_out, rng);
  check_output_types(l, pc, rng, true, 4);
  layer grouped = l;
  grouped.c_in = 12;
  grouped.c_out = 24;
  grouped.groups = 4;
  std::vector<float> grouped_bias(static_cast<std::size_t>(grouped.c_out), -0.75f);
  check_layer<std::int8_t>(isas{}, grouped, 4, 0, pipeline(dequantize_float{0.5f, grouped_bias.data()}), rng);
}

namespace {

// TFLM test data helpers: SymmetricPerChannelQuantize with scale max|w_c| / 127, biases round(b / (in * w_c)).
struct golden_conv {
  std::vector<std::int8_t> filter;
  std::vector<float> filter_scales;
};

golden_conv quantize_per_channel(const std::vector<float>& w, index_t channels) {
  golden_conv g;
  const auto per = static_cast<index_t>(w.size()) / channels;
  for (index_t c = 0; c < channels; ++c) {
    float m = 0;
    for (index_t i = 0; i < per; ++i) m = std::max(m, std::abs(w[static_cast<std::size_t>(c * per + i)]));
    g.filter_scales.push_back(m / 127.0f);
  }
  return g;
}

}  // namespace

TEST_CASE("conv2d: TFLite golden vectors (from TFLite's kernel tests)", "[conv][conv2d][tflite]") {
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    SECTION("Int8Filter1x3x3x1, SAME, stride 2") {
      const std::vector<std::int8_t> filter{22, -98, 78, -127, 101, 47, 87, 12, -15};
      const double real = double(0.00392120517f) * double(0.00448552053f) / double(0.00627814838f);
      const quantized_multiplier q = quantize_multiplier(real);
      const std::int32_t bias = 0;
      const auto pl = pipeline(bias_add{&bias}, requantize_fixed_point_per_channel<double_rounding>{&q.multiplier, &q.shift},
                               add_zero_point{-7}, clamp{-128, 127}, saturating_cast<std::int8_t>{});
      const auto packed = pack_conv2d_weights(make_view(filter.data(), 1, 3, 3, 1), 0, 1, isa);
      conv2d_params p{};
      p.stride_h = p.stride_w = 2;
      p.pad = padding::same();
      const std::vector<std::int8_t> in4{-127, -111, -95, -79, -63, -47, -31, -15, 1, 17, 33, 49, 65, 81, 97, 113};
      std::vector<std::int8_t> out4(4);
      conv2d(context{}, quantized(make_view(in4.data(), 1, 4, 4, 1), -128), packed, make_view(out4.data(), 1, 2, 2, 1), p, pl);
      CHECK(out4 == std::vector<std::int8_t>{38, 24, 16, -58});
      const std::vector<std::int8_t> in5{-128, -111, -95, -79, -63, -47, -31, -15, 1,   17,  33, 49, 65,
                                         81,   97,   113, 127, 100, 80,  60,  40,  20, 0,  -20, -40};
      std::vector<std::int8_t> out5(9);
      conv2d(context{}, quantized(make_view(in5.data(), 1, 5, 5, 1), -128), packed, make_view(out5.data(), 1, 3, 3, 1), p, pl);
      CHECK(out5 == std::vector<std::int8_t>{-6, 25, 30, 58, 76, 7, 50, -11, -59});
    }
    SECTION("SimpleTestQuantizedPerChannel, VALID, stride 2") {
      const std::vector<float> in_f{1, 1, 1, 1, 2, 2, 2, 2, 1, 2, 3, 4, 1, 2, 3, 4};
      const std::vector<float> w_f{1, 2, 3, 4, -1, 1, -1, 1, -1, -1, 1, 1};
      const std::vector<float> b_f{1, 2, 3};
      const float in_scale = 0.5f, out_scale = 1.0f;
      std::vector<std::int8_t> in;
      for (float x : in_f) in.push_back(static_cast<std::int8_t>(std::round(x / in_scale)));
      golden_conv g = quantize_per_channel(w_f, 3);
      for (std::size_t i = 0; i < w_f.size(); ++i)
        g.filter.push_back(static_cast<std::int8_t>(std::max(-127.0f, std::min(127.0f, std::round(w_f[i] / g.filter_scales[i / 4])))));
      std::vector<std::int32_t> bias, mult;
      std::vector<int> shift;
      for (int c = 0; c < 3; ++c) {
        bias.push_back(static_cast<std::int32_t>(std::round(b_f[static_cast<std::size_t>(c)] / (in_scale * g.filter_scales[static_cast<std::size_t>(c)]))));
        const quantized_multiplier q =
            quantize_multiplier(double(in_scale) * double(g.filter_scales[static_cast<std::size_t>(c)]) / double(out_scale));
        mult.push_back(q.multiplier);
        shift.push_back(q.shift);
      }
      const auto pl = pipeline(bias_add{bias.data()}, requantize_fixed_point_per_channel<double_rounding>{mult.data(), shift.data()},
                               add_zero_point{0}, clamp{-128, 127}, saturating_cast<std::int8_t>{});
      const auto packed = pack_conv2d_weights(make_view(g.filter.data(), 3, 2, 2, 1), 0, 1, isa);
      conv2d_params p{};
      p.stride_h = p.stride_w = 2;
      std::vector<std::int8_t> out(12);
      conv2d(context{}, quantized(make_view(in.data(), 2, 2, 4, 1), 0), packed, make_view(out.data(), 2, 1, 2, 3), p, pl);
      CHECK(out == std::vector<std::int8_t>{18, 2, 5, 18, 2, 5, 17, 4, 3, 37, 4, 3});
    }
  }
}

TEST_CASE("conv2d: every thread count and a caller's parallel_for give identical results", "[conv][conv2d][threads]") {
  std::mt19937 rng(3);
  layer l{2, 19, 17, 24, 40, 3, 3, 2, conv2d_params{}};
  l.p.pad = padding::same();
  const auto pc = per_channel(l.c_out, rng);
  for (int t : {1, 2, 3}) {
    context ctx(threads{t});
    check_layer<std::int8_t>(best_isa(), l, -3, 0, pc.int8_pipeline(1), rng, 0, ctx);
  }
  context caller([](std::ptrdiff_t n, const task_function& f) {
    for (std::ptrdiff_t i = n; i-- > 0;) f(i);  // reverse order
  }, 3);
  check_layer<std::int8_t>(best_isa(), l, -3, 0, pc.int8_pipeline(1), rng, 0, caller);
  layer direct{1, 9, 9, 16, 48, 1, 1, 1, conv2d_params{}};
  const auto pd = per_channel(direct.c_out, rng);
  check_layer<std::int8_t>(best_isa(), direct, 2, 0, pd.int8_pipeline(1), rng, 0, context(threads{2}));
}

TEST_CASE("conv2d: bad input is a qsparse::error naming the argument", "[conv][conv2d][errors]") {
  std::vector<std::int8_t> in(1 * 5 * 5 * 4), w(6 * 3 * 3 * 2), out(1 * 5 * 5 * 6);
  const auto in_view = make_view(static_cast<const std::int8_t*>(in.data()), 1, 5, 5, 4);
  const auto pl = pipeline();
  std::vector<std::int32_t> out32(out.size());
  const auto packed = pack_conv2d_weights(make_view(w.data(), 6, 3, 3, 2), 0, 2);
  conv2d_params same{};
  same.pad = padding::same();
  CHECK_NOTHROW(conv2d(context{}, quantized(in_view, 0), packed, make_view(out32.data(), 1, 5, 5, 6), same, pl));
  // Channels not divisible by groups.
  CHECK_THROWS_WITH(pack_conv2d_weights(make_view(w.data(), 6, 3, 3, 2), 0, 4),
                    Catch::Contains("C_out = 6 is not divisible by groups = 4"));
  CHECK_THROWS_WITH(pack_conv2d_weights(make_view(w.data(), 6, 3, 3, 2), 0, 0), Catch::Contains("groups must be >= 1"));
  const auto packed3 = pack_conv2d_weights(make_view(w.data(), 6, 3, 3, 2), 0, 3);
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed3, make_view(out32.data(), 1, 5, 5, 6), same, pl),
                    Catch::Contains("C_in = 4"));
  // Strides and dilations <= 0.
  conv2d_params bad = same;
  bad.stride_h = 0;
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed, make_view(out32.data(), 1, 5, 5, 6), bad, pl),
                    Catch::Contains("stride_h must be >= 1, got stride_h = 0"));
  bad = same;
  bad.dilation_w = -1;
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed, make_view(out32.data(), 1, 5, 5, 6), bad, pl),
                    Catch::Contains("dilation_w must be >= 1, got dilation_w = -1"));
  // Padding that leaves no output.
  bad = conv2d_params{};
  bad.dilation_h = 3;  // effective kernel 7 > 5
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed, make_view(out32.data(), 1, 5, 5, 6), bad, pl),
                    Catch::Contains("leaves no output along the height"));
  bad = conv2d_params{};
  bad.pad = padding::explicit_pads(-1, 0, 0, 0);
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed, make_view(out32.data(), 1, 5, 5, 6), bad, pl),
                    Catch::Contains("explicit padding must be >= 0"));
  // Inconsistent output shape.
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed, make_view(out32.data(), 1, 3, 3, 6), same, pl),
                    Catch::Contains("expected N x OH x OW x C_out = 1 x 5 x 5 x 6"));
  // Zero points out of range.
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 128), packed, make_view(out32.data(), 1, 5, 5, 6), same, pl),
                    Catch::Contains("input zero point must be in [-128, 127], got 128"));
  CHECK_THROWS_WITH(pack_conv2d_weights(make_view(w.data(), 6, 3, 3, 2), -129, 2),
                    Catch::Contains("weight_zero_point must be in [-128, 127], got weight_zero_point = -129"));
  // A non-dense input.
  const auto strided = make_strided_view(static_cast<const std::int8_t*>(in.data()), {1, 2, 5, 4}, {100, 40, 4, 1});
  std::vector<std::int32_t> small(1 * 2 * 5 * 6);
  CHECK_THROWS_WITH(conv2d(context{}, quantized(strided, 0), packed, make_view(small.data(), 1, 2, 5, 6), same, pl),
                    Catch::Contains("input must be dense NHWC"));
  // Empty weights, and weights for an ISA above the ceiling.
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed_conv2d_weights{}, make_view(out32.data(), 1, 5, 5, 6), same, pl),
                    Catch::Contains("empty"));
  if (best_isa() != isa_level::scalar) {
    const auto high = pack_conv2d_weights(make_view(w.data(), 6, 3, 3, 2), 0, 2, best_isa());
    scoped_isa_ceiling ceiling(isa_level::scalar);
    CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), high, make_view(out32.data(), 1, 5, 5, 6), same, pl),
                      Catch::Contains("allows at most scalar"));
  }
}

TEST_CASE("conv2d: selected_kernel_name names the kernel for the packed ISA and the params", "[conv][conv2d]") {
  std::vector<std::int8_t> w(4 * 5 * 5 * 4);
  conv2d_params dilated{};
  dilated.dilation_w = 2;
  for (isa_level isa : testing::supported_levels()) {
    const bool vnni = isa_runs(isa, isa_level::avx512_vnni);  // amx_int8 too: its convolutions' own kernels are VNNI's
    // On neon_dotprod, avx2 and avx_vnni a shallow filter's im2col rows reach the GEMM's shallow tile (no
    // direct kernel); the AVX2 one takes weights with a zero point too.
    const bool avx_vnni = isa == isa_level::avx_vnni && cpu().avx_vnni;
    const std::string shallow = vnni ? "gemm_u8s8_s32_4x32c4__avx512vnni"
                                : isa == isa_level::neon_dotprod ? "gemm_x8s8_s32_4x8c4__neondotprod"
                                : avx_vnni                       ? "gemm_u8s8_s32_6x16c4__avxvnni"
                                : isa == isa_level::avx2 || isa == isa_level::avx_vnni ? "gemm_x8s8_s32_6x16c2__avx2"
                                                                                       : selected_kernel_name(isa);
    const std::string direct = vnni ? "conv_direct_u8s8_s32_4x32c4__avx512vnni" : selected_kernel_name(isa);
    const auto packed = pack_conv2d_weights(make_view(w.data(), 4, 3, 3, 2), 0, 1, isa);  // K = 18, 6 bytes a row
    CHECK(packed.has_direct() == vnni);
    CHECK(std::string(selected_kernel_name(packed)) == (vnni ? direct : shallow));  // K = 18: ARM's shallow tile
    CHECK(std::string(selected_kernel_name(packed, dilated)) == shallow);  // im2col rows
    const auto wide = pack_conv2d_weights(make_view(w.data(), 2, 3, 3, 4), 0, 1, isa);  // K = 36, 12 bytes a row
    CHECK(std::string(selected_kernel_name(wide)) == direct);
    CHECK(std::string(selected_kernel_name(wide, dilated)) == selected_kernel_name(isa));  // K > 32: the GEMM
    const auto tall = pack_conv2d_weights(make_view(w.data(), 2, 5, 1, 5), 0, 1, isa);  // 5 kernel rows, K = 25
    CHECK_FALSE(tall.has_direct());
    CHECK(std::string(selected_kernel_name(tall)) == shallow);
    const auto row13 = pack_conv2d_weights(make_view(w.data(), 2, 1, 1, 13), 0, 1, isa);  // 13 bytes a row
    CHECK_FALSE(row13.has_direct());
    const auto asymmetric = pack_conv2d_weights(make_view(w.data(), 4, 3, 3, 2), 1, 1, isa);
    CHECK_FALSE(asymmetric.has_direct());
    CHECK(std::string(selected_kernel_name(asymmetric)) ==
          (shallow == "gemm_x8s8_s32_6x16c2__avx2" ? shallow : std::string(selected_kernel_name(isa))));
    const auto grouped = pack_conv2d_weights(make_view(w.data(), 4, 3, 3, 2), 0, 2, isa);
    CHECK_FALSE(grouped.has_direct());
    CHECK(std::string(selected_kernel_name(grouped)) == shallow);  // each group's GEMM, K = 18
    CHECK(packed.isa() == isa);
    // Deep filters whose kernel rows are whole 4-byte groups gather their rows on VNNI.
    const std::string gather = vnni ? "conv_gather_u8s8_s32_8x32c4__avx512vnni" : selected_kernel_name(isa);
    std::vector<std::int8_t> big(8 * 3 * 3 * 16);
    const auto deep = pack_conv2d_weights(make_view(big.data(), 8, 3, 3, 16), 0, 1, isa);  // K = 144
    CHECK(std::string(selected_kernel_name(deep)) == gather);
    CHECK(std::string(selected_kernel_name(deep, dilated)) == selected_kernel_name(isa));
    conv2d_params dilated_h{};
    dilated_h.dilation_h = 2;
    CHECK(std::string(selected_kernel_name(deep, dilated_h)) == gather);
    CHECK(std::string(selected_kernel_name(pack_conv2d_weights(make_view(big.data(), 8, 3, 3, 16), 3, 1, isa))) ==
          selected_kernel_name(isa));  // w_zp != 0
    CHECK(std::string(selected_kernel_name(pack_conv2d_weights(make_view(big.data(), 8, 3, 3, 8), 0, 2, isa))) ==
          selected_kernel_name(isa));  // groups
    const auto odd_row = pack_conv2d_weights(make_view(big.data(), 8, 3, 3, 15), 0, 1, isa);  // 45 bytes a row
    CHECK(std::string(selected_kernel_name(odd_row)) == selected_kernel_name(isa));
    const auto pointwise = pack_conv2d_weights(make_view(big.data(), 8, 1, 1, 64), 0, 1, isa);
    CHECK(std::string(selected_kernel_name(pointwise)) == selected_kernel_name(isa));  // the input is the matrix
    conv2d_params strided{};
    strided.stride_h = strided.stride_w = 2;
    CHECK(std::string(selected_kernel_name(pointwise, strided)) == gather);
    conv2d_params padded{};
    padded.pad = padding::explicit_pads(0, 0, 0, 1);
    CHECK(std::string(selected_kernel_name(pointwise, padded)) == gather);
    padded.pad = padding::explicit_pads(0, 0, 0, 0);
    CHECK(std::string(selected_kernel_name(pointwise, padded)) == selected_kernel_name(isa));
    padded.pad = padding::same();
    CHECK(std::string(selected_kernel_name(pointwise, padded)) == selected_kernel_name(isa));
  }
}

TEST_CASE("conv2d: the direct shallow kernel on every kernel-row shape, stride, padding and remainder",
          "[conv][conv2d][direct]") {
  std::mt19937 rng(23);
  // (kh, kw, C_in): 1 to 3 kernel rows of 1 to 3 four-byte groups (1, 3, 4, 6, 8, 9 and 12 bytes).
  const std::vector<std::array<index_t, 3>> kernels{{1, 1, 1}, {1, 3, 1}, {2, 2, 3}, {3, 3, 3}, {3, 3, 4},
                                                    {3, 1, 4}, {2, 2, 4}, {1, 3, 3}, {3, 2, 1}};
  std::vector<layer> layers;
  int i = 0;
  for (const auto& kn : kernels) {
    for (index_t s : {1, 2, 3}) {
      layer l{i % 4 == 0 ? 2 : 1, 5 + i % 7, 7 + (i * 5) % 11, kn[2], std::array<index_t, 5>{5, 32, 33, 48, 64}[i % 5],
              kn[0], kn[1], 1, conv2d_params{}};
      l.p.stride_h = i % 3 == 0 ? 1 : s;
      l.p.stride_w = s;
      l.p.dilation_h = i % 5 == 2 ? 2 : 1;
      switch (i % 3) {
        case 0: l.p.pad = padding::same(); break;
        case 1: l.p.pad = padding::valid(); break;
        default: l.p.pad = padding::explicit_pads(l.k_h > 1 ? 1 : 0, 0, 0, l.k_w > 1 ? 1 : 0);
      }
      layers.push_back(l);
      ++i;
    }
  }
  // Many bands of one image, and bands across a batch.
  layers.push_back(layer{1, 300, 9, 3, 16, 3, 3, 1, conv2d_params{}});
  layers.push_back(layer{3, 70, 31, 3, 32, 3, 3, 1, conv2d_params{}});
  layers.back().p.stride_h = layers.back().p.stride_w = 2;
  layers.back().p.pad = padding::same();
  for (const layer& l : layers) {
    const auto pc = per_channel(l.c_out, rng);
    check_layer<std::int8_t>(isas{}, l, -5, 0, pc.int8_pipeline(3), rng);
    check_layer<std::int8_t>(isas{}, l, 9, 0, pc.float_int8_pipeline(-2), rng);
    check_layer<std::uint8_t>(isas{}, l, 140, 0, pc.int8_pipeline(4), rng);
    check_fixed_point_roundings(isas{}, l, pc, rng);
    if (testing::runs_level(isa_level::avx512_vnni)) {  // the layers above do run the direct kernel
      const std::vector<std::int8_t> w(static_cast<std::size_t>(l.c_out * l.k_h * l.k_w * l.c_in));
      const auto packed =
          pack_conv2d_weights(make_view(w.data(), l.c_out, l.k_h, l.k_w, l.c_in), 0, 1, isa_level::avx512_vnni);
      CHECK(std::string(selected_kernel_name(packed, l.p)) == "conv_direct_u8s8_s32_4x32c4__avx512vnni");
    }
#if QSPARSE_AARCH64
    if (testing::runs_level(isa_level::neon_dotprod) && l.k_h * l.k_w * l.c_in <= 32) {  // and the shallow sdot tile
      const std::vector<std::int8_t> w(static_cast<std::size_t>(l.c_out * l.k_h * l.k_w * l.c_in));
      const auto packed =
          pack_conv2d_weights(make_view(w.data(), l.c_out, l.k_h, l.k_w, l.c_in), 0, 1, isa_level::neon_dotprod);
      CHECK(std::string(selected_kernel_name(packed, l.p)) == "gemm_x8s8_s32_4x8c4__neondotprod");
    }
#endif
  }
  // The stem: full-range values, extreme zero points, every output type, and a bias too large for the
  // fast epilogue (which would otherwise fold it into the accumulators).
  layer stem{1, 13, 17, 3, 36, 3, 3, 1, conv2d_params{}};
  stem.p.stride_h = stem.p.stride_w = 2;
  stem.p.pad = padding::same();
  check_full_range(stem, rng, true);
}

TEST_CASE("conv2d: the gathering GEMM on kernel shapes, strides, padding, bands, tiles and threads",
          "[conv][conv2d][gather]") {
  std::mt19937 rng(29);
  // (kh, kw, C_in) with kw*C_in a multiple of 4 and K > 32.
  const std::vector<std::array<index_t, 3>> kernels{{3, 4, 4},  {3, 3, 16}, {1, 3, 12}, {3, 1, 16}, {5, 5, 4},
                                                    {1, 1, 36}, {2, 4, 5},  {3, 3, 64}, {1, 4, 9}};
  std::vector<layer> layers;
  int i = 0;
  for (const auto& kn : kernels) {
    for (index_t s : {1, 2}) {
      layer l{i % 4 == 0 ? 2 : 1, 4 + i % 9, 5 + (i * 7) % 13, kn[2],
              std::array<index_t, 6>{5, 32, 33, 64, 70, 96}[i % 6], kn[0], kn[1], 1, conv2d_params{}};
      l.p.stride_h = i % 3 == 0 ? 1 : s;
      l.p.stride_w = s;
      l.p.dilation_h = i % 5 == 2 ? 2 : 1;
      switch (i % 3) {
        case 0: l.p.pad = padding::same(); break;
        case 1: l.p.pad = padding::valid(); break;
        default: l.p.pad = padding::explicit_pads(l.k_h > 1 ? 1 : 0, l.k_h > 1 ? 1 : 0, 0, l.k_w > 2 ? 2 : l.k_w - 1);
      }
      if (l.h < (l.k_h - 1) * l.p.dilation_h + 1) l.h = (l.k_h - 1) * l.p.dilation_h + 1;
      if (l.w < l.k_w) l.w = l.k_w;
      layers.push_back(l);
      ++i;
    }
  }
  // Many bands of one image (rows of 64 * 40 bytes), bands across a batch, a 1-pixel-wide output.
  layers.push_back(layer{1, 90, 38, 64, 40, 3, 3, 1, conv2d_params{}});
  layers.back().p.pad = padding::same();
  layers.push_back(layer{3, 33, 21, 32, 48, 3, 3, 1, conv2d_params{}});
  layers.back().p.stride_h = layers.back().p.stride_w = 2;
  layers.back().p.pad = padding::same();
  layers.push_back(layer{2, 11, 3, 16, 17, 3, 3, 1, conv2d_params{}});
  for (const layer& l : layers) {
    const auto pc = per_channel(l.c_out, rng);
    check_layer<std::int8_t>(isas{}, l, -5, 0, pc.int8_pipeline(3), rng);
    check_layer<std::int8_t>(isas{}, l, 9, 0, pc.float_int8_pipeline(-2), rng);
    check_layer<std::uint8_t>(isas{}, l, 140, 0, pc.int8_pipeline(4), rng);
    check_fixed_point_roundings(isas{}, l, pc, rng);
    if (testing::runs_level(isa_level::avx512_vnni)) {  // the layers above do run the gathering kernel
      const std::vector<std::int8_t> w(static_cast<std::size_t>(l.c_out * l.k_h * l.k_w * l.c_in));
      const auto packed =
          pack_conv2d_weights(make_view(w.data(), l.c_out, l.k_h, l.k_w, l.c_in), 0, 1, isa_level::avx512_vnni);
      const bool in_place = l.k_h == 1 && l.k_w == 1 && l.p.stride_h == 1 && l.p.stride_w == 1 &&
                            l.p.pad.kind != padding_kind::explicit_pads;  // the 1x1 GEMM on the input
      CHECK(std::string(selected_kernel_name(packed, l.p)) ==
            (in_place ? "gemm_u8s8_s32_8x32c4__avx512vnni" : "conv_gather_u8s8_s32_8x32c4__avx512vnni"));
    }
  }
  // Full-range values, extreme zero points, every output type, a bias too large for the fast epilogue.
  layer deep{1, 7, 11, 64, 40, 3, 3, 1, conv2d_params{}};
  deep.p.pad = padding::same();
  check_full_range(deep, rng, false);
  // Bands split across threads give the same bits as one thread.
  layer banded{2, 23, 19, 32, 40, 3, 3, 1, conv2d_params{}};
  banded.p.pad = padding::same();
  const auto pb = per_channel(banded.c_out, rng);
  for (int t : {1, 2, 3}) check_layer<std::int8_t>(best_isa(), banded, -3, 0, pb.int8_pipeline(1), rng, 0, context(threads{t}));
}

TEST_CASE("guard: conv2d ran on every ISA this CPU supports", "[conv][guard]") {
  for (isa_level isa : testing::supported_levels())
    CHECK(std::find(exercised.begin(), exercised.end(), isa) != exercised.end());
}

TEST_CASE("conv2d: overflowing geometry and aliasing are a qsparse::error (issue 22)", "[conv][conv2d][errors]") {
  std::vector<std::int8_t> in(1 * 5 * 5 * 2, 1), w(3 * 3 * 3 * 2, 1);
  const auto in_view = make_view(static_cast<const std::int8_t*>(in.data()), 1, 5, 5, 2);
  const auto packed = pack_conv2d_weights(make_view(static_cast<const std::int8_t*>(w.data()), 3, 3, 3, 2));
  std::vector<std::int32_t> out(1 * 5 * 5 * 3);
  conv2d_params p{};
  p.pad = padding::same();
  p.dilation_h = (index_t{1} << 62) + 1;  // (3 - 1) * dilation wrapped around to a small kernel
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed, make_view(out.data(), 1, 5, 5, 3), p, pipeline()),
                    "qsparse::conv2d: dilations must be at most 2^31 - 1, got dilation_h = 4611686018427387905, "
                    "dilation_w = 1");
  conv2d_params q{};
  q.pad = padding::same();
  q.dilation_w = index_t{1} << 30;  // within int32, but the effective kernel 2^31 + 1 is not
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed, make_view(out.data(), 1, 5, 5, 3), q, pipeline()),
                    "qsparse::conv2d: the effective kernel width (kernel - 1) * dilation + 1 = (3 - 1) * 1073741824 + 1 "
                    "= 2147483649 exceeds 2^31 - 1");
  conv2d_params r{};
  r.stride_w = std::numeric_limits<index_t>::max();
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed, make_view(out.data(), 1, 5, 5, 3), r, pipeline()),
                    Catch::Contains("strides must be at most 2^31 - 1, got stride_h = 1, stride_w = 9223372036854775807"));
  // A valid but hostile dilation: the paths that copy the rows an output row reads would need a scratch
  // of 2^29 rows (found by fuzz/conv_geometry_fuzz.cpp); im2col runs it, equal to the reference.
  conv2d_params tall{};
  tall.pad = padding::same();
  tall.dilation_h = index_t{1} << 29;
  CHECK(std::string(selected_kernel_name(packed, tall)).find("conv_direct") == std::string::npos);
  std::vector<std::int32_t> want(out.size());
  conv2d(context{}, quantized(in_view, 3), packed, make_view(out.data(), 1, 5, 5, 3), tall, pipeline());
  reference_conv2d(quantized(in_view, 3), quantized(make_view(static_cast<const std::int8_t*>(w.data()), 3, 3, 3, 2), 0), 1,
                   make_view(want.data(), 1, 5, 5, 3), tall, pipeline());
  CHECK(out == want);
  // The output in the input's memory.
  std::vector<std::int32_t> buffer(1 * 5 * 5 * 3);
  const auto shared_in = make_view(reinterpret_cast<const std::int8_t*>(buffer.data()), 1, 5, 5, 2);
  conv2d_params same{};
  same.pad = padding::same();
  CHECK_THROWS_WITH(conv2d(context{}, quantized(shared_in, 0), packed, make_view(buffer.data(), 1, 5, 5, 3), same, pipeline()),
                    Catch::Contains("qsparse::conv2d: output overlaps input in memory"));
}

// ---- the sparse conv2d (qsparse/conv/sparse_conv2d.hpp) ----------------------------------------------------
