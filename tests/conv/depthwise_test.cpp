// tests/conv/depthwise_test.cpp — depthwise_conv2d against reference_depthwise_conv2d, bit for bit, with
// every depthwise kernel this CPU has: TFLite's golden vector (from TFLite's kernel tests), random shapes (channel tails,
// depth multipliers, every padding mode, stride 2, dilation 2), edge values, output types, threads,
// bad input.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/conv/depthwise.hpp"
#include "qsparse/conv/reference.hpp"
#include "qsparse/core/context.hpp"
#include "support/column_params.hpp"
#include "support/testing.hpp"

using namespace qsparse;

namespace {

std::vector<std::string> exercised_kernels;  // the kernel each depthwise_conv2d of a sweep ran

// Per-channel TFLite requantization parameters, multipliers from 2^lo to 2^hi.
testing::column_params per_channel(std::ptrdiff_t c, std::mt19937& rng, double lo = -12.0, double hi = -4.0) {
  return testing::column_params(c, rng, testing::column_ranges{5000, lo, hi, false});
}

struct dw_layer {
  index_t batch, h, w, c_in, multiplier, k_h, k_w;
  conv2d_params p;
};

std::vector<std::int8_t> values(std::size_t n, std::mt19937& rng, int mode) {
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<std::int8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (mode) {
      case 1: v[i] = -128; break;
      case 2: v[i] = 127; break;
      case 3: v[i] = (i % 3 == 0) ? -128 : 127; break;
      default: v[i] = static_cast<std::int8_t>(d(rng));
    }
  }
  return v;
}

template <class Pipeline>
void check_layer(const dw_layer& l, std::int32_t in_zp, std::int32_t w_zp, const Pipeline& pl, std::mt19937& rng,
                 int mode = 0, const context& ctx = context{}) {
  using out_t = typename Pipeline::output_type;
  const index_t c_out = l.c_in * l.multiplier;
  const auto in = values(static_cast<std::size_t>(l.batch * l.h * l.w * l.c_in), rng, mode);
  const auto w = values(static_cast<std::size_t>(l.k_h * l.k_w * c_out), rng, mode == 3 ? 0 : mode);
  const auto in_view = make_view(in.data(), l.batch, l.h, l.w, l.c_in);
  const auto w_view = make_view(w.data(), 1, l.k_h, l.k_w, c_out);
  const conv_geometry g = conv_output_geometry(l.p, l.h, l.w, l.k_h, l.k_w, "test");
  const auto size = static_cast<std::size_t>(l.batch * g.out_h * g.out_w * c_out);
  std::vector<out_t> got(size, out_t(77)), want(size, out_t(55));
  const auto packed = pack_depthwise_weights(w_view, w_zp);
  exercised_kernels.emplace_back(selected_kernel_name(packed));
  depthwise_conv2d(ctx, quantized(in_view, in_zp), packed, make_view(got.data(), l.batch, g.out_h, g.out_w, c_out), l.p, pl);
  reference_depthwise_conv2d(quantized(in_view, in_zp), quantized(w_view, w_zp),
                             make_view(want.data(), l.batch, g.out_h, g.out_w, c_out), l.p, pl);
  INFO(selected_kernel_name(packed) << " N=" << l.batch << " H=" << l.h << " W=" << l.w << " C=" << l.c_in
                                    << " dm=" << l.multiplier << " k=" << l.k_h << "x" << l.k_w << " stride="
                                    << l.p.stride_h << "," << l.p.stride_w << " dilation=" << l.p.dilation_h << ","
                                    << l.p.dilation_w << " pad=" << int(l.p.pad.kind) << " in_zp=" << in_zp
                                    << " w_zp=" << w_zp << " mode=" << mode);
  REQUIRE(std::memcmp(got.data(), want.data(), size * sizeof(out_t)) == 0);
}

std::vector<isa_level> exercised;

}  // namespace

TEST_CASE("depthwise: random shapes equal the reference on every ISA", "[conv][depthwise]") {
  std::mt19937 rng(21);
  std::uniform_int_distribution<int> chans(1, 40), kern(1, 5), s(1, 2), d(1, 2), pads(0, 2), dm(1, 3), extra(0, 6);
  std::vector<dw_layer> layers;
  for (int i = 0; i < 40; ++i) {
    dw_layer l{};
    l.batch = i % 6 == 0 ? 2 : 1;
    l.c_in = i % 5 == 0 ? 16 * (1 + i % 3) : chans(rng);
    l.multiplier = i % 4 == 0 ? dm(rng) : 1;
    l.k_h = kern(rng);
    l.k_w = i % 9 == 0 ? 1 : kern(rng);
    l.p.stride_h = s(rng);
    l.p.stride_w = s(rng);
    l.p.dilation_h = d(rng);
    l.p.dilation_w = d(rng);
    const index_t eh = (l.k_h - 1) * l.p.dilation_h + 1, ew = (l.k_w - 1) * l.p.dilation_w + 1;
    const int pk = pads(rng);
    l.p.pad = pk == 0 ? padding::valid() : pk == 1 ? padding::same() : padding::explicit_pads(eh / 2, eh / 2, ew - 1, 0);
    l.h = eh + extra(rng);
    l.w = ew + extra(rng);
    layers.push_back(l);
  }
  // 3x3 layers run the kernels' unrolled 9-tap path on full 16-channel blocks (and the runtime path on
  // the tail): stride 1 and 2, dilation 2, every padding mode.
  for (int i = 0; i < 6; ++i) {
    dw_layer l{1, 5 + i, 8 + i, 16 * (1 + i % 3) + (i % 2 == 0 ? 0 : 5), i == 5 ? 2 : 1, 3, 3, conv2d_params{}};
    l.p.stride_h = l.p.stride_w = 1 + i % 2;
    l.p.dilation_h = l.p.dilation_w = i == 4 ? 2 : 1;
    l.p.pad = i % 3 == 0 ? padding::same() : i % 3 == 1 ? padding::valid() : padding::explicit_pads(1, 0, 2, 1);
    layers.push_back(l);
  }
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    exercised.push_back(isa);
    for (const dw_layer& l : layers) {
      const auto pc = per_channel(l.c_in * l.multiplier, rng);
      check_layer(l, -7, 0, pc.int8_pipeline(2), rng);
    }
  }
}

TEST_CASE("depthwise: whole 64-channel blocks (the VNNI kernel's 4-taps-per-lane path) equal the reference",
          "[conv][depthwise]") {
  std::mt19937 rng(23);
  const auto make = [](index_t h, index_t w, index_t c, index_t dm, index_t k_h, index_t k_w, index_t stride,
                       index_t dilation, padding pad) {
    dw_layer l{1, h, w, c, dm, k_h, k_w, conv2d_params{}};
    l.p.stride_h = l.p.stride_w = stride;
    l.p.dilation_h = l.p.dilation_w = dilation;
    l.p.pad = pad;
    return l;
  };
  const std::vector<dw_layer> layers = {
      make(7, 9, 64, 1, 3, 3, 1, 1, padding::same()),                       // one block, 9 taps unrolled
      make(6, 11, 147, 1, 3, 3, 2, 1, padding::valid()),                    // two blocks and a 19-channel tail
      make(9, 8, 128, 1, 3, 3, 1, 2, padding::explicit_pads(2, 0, 1, 2)),  // dilation 2, padding everywhere
      make(8, 8, 64, 1, 5, 5, 1, 1, padding::same()),                       // 25 taps: a last group of one
      make(5, 6, 128, 1, 1, 1, 1, 1, padding::valid()),                     // one tap
      make(6, 7, 64, 1, 2, 2, 2, 1, padding::same()),                       // 4 taps: one whole group
      make(5, 5, 48, 2, 3, 3, 1, 1, padding::same()),                       // depth multiplier: 96 channels
  };
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    for (const dw_layer& l : layers) {
      const index_t c = l.c_in * l.multiplier;
      const auto pc = per_channel(c, rng);
      check_layer(l, -7, 0, pc.int8_pipeline(2), rng);
      check_layer(l, 5, 0, pc.float_int8_pipeline(-3), rng);  // the fast evaluator
      for (int mode = 1; mode <= 3; ++mode) check_layer(l, mode == 1 ? 127 : -128, 0, pc.float_int8_pipeline(0), rng, mode);
      check_layer(l, 3, 0, pipeline(bias_add{pc.bias.data()}, requantize_float_per_channel{pc.scales.data()},
                                    add_zero_point{100}, saturating_cast<std::uint8_t>{}),
                  rng);
      check_layer(l, 3, 0, pipeline(), rng);  // raw int32
      std::vector<float> fbias(static_cast<std::size_t>(c), 0.25f);
      check_layer(l, -1, 0, pipeline(dequantize_float_per_channel{pc.scales.data(), fbias.data()}), rng);
      check_layer(l, 9, -2, pc.int8_pipeline(2), rng);  // w - w_zp may leave int8: the 16-channel path
    }
  }
}

TEST_CASE("depthwise: the VNNI column kernel (kh <= 4, 64-channel multiples) on rows, pairs, strides and pads",
          "[conv][depthwise][columns]") {
  std::mt19937 rng(31);
  const auto make = [](index_t batch, index_t h, index_t w, index_t c, index_t dm, index_t k_h, index_t k_w,
                       index_t s_h, index_t s_w, index_t d_h, index_t d_w, padding pad) {
    dw_layer l{batch, h, w, c, dm, k_h, k_w, conv2d_params{}};
    l.p.stride_h = s_h;
    l.p.stride_w = s_w;
    l.p.dilation_h = d_h;
    l.p.dilation_w = d_w;
    l.p.pad = pad;
    return l;
  };
  const std::vector<dw_layer> layers = {
      make(1, 9, 10, 64, 1, 3, 3, 1, 1, 1, 1, padding::same()),                      // row pairs, an odd last row
      make(2, 8, 7, 128, 1, 3, 3, 1, 1, 1, 1, padding::same()),                      // pairs within each image
      make(1, 7, 12, 192, 1, 3, 3, 1, 2, 1, 1, padding::explicit_pads(1, 1, 0, 2)),  // stride_w 2, three blocks
      make(1, 9, 11, 64, 1, 3, 3, 2, 1, 1, 2, padding::same()),                      // stride_h 2: single rows
      make(1, 10, 9, 64, 1, 4, 4, 1, 1, 1, 1, padding::same()),                      // kh = 4: no pairs
      make(1, 8, 13, 64, 1, 2, 5, 1, 1, 1, 1, padding::explicit_pads(0, 1, 4, 0)),  // kw = 5: runtime width
      make(1, 6, 6, 64, 1, 1, 1, 1, 1, 1, 1, padding::valid()),                      // 1x1 pairs
      make(1, 5, 9, 32, 2, 3, 3, 1, 1, 1, 1, padding::valid()),                      // depth multiplier: 64 channels
      make(1, 3, 1, 64, 1, 3, 1, 1, 1, 1, 1, padding::same()),                       // one column
      make(1, 12, 8, 64, 1, 3, 2, 1, 1, 2, 1, padding::same()),                      // dilation_h 2: single rows
  };
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    for (const dw_layer& l : layers) {
      const index_t c = l.c_in * l.multiplier;
      const auto pc = per_channel(c, rng);
      check_layer(l, -7, 0, pc.int8_pipeline(2), rng);
      check_layer(l, 5, 0, pc.float_int8_pipeline(-3), rng);
      for (int mode = 1; mode <= 3; ++mode) {
        check_layer(l, mode == 1 ? 127 : -128, 0, pc.float_int8_pipeline(0), rng, mode);
        check_layer(l, mode == 1 ? -128 : 127, 0, pc.int8_pipeline(0), rng, mode);
      }
      check_layer(l, 3, 0, pipeline(bias_add{pc.bias.data()}, requantize_float_per_channel{pc.scales.data()},
                                    add_zero_point{100}, saturating_cast<std::uint8_t>{}),
                  rng);
      check_layer(l, 3, 0, pipeline(), rng);
      std::vector<float> fbias(static_cast<std::size_t>(c), 0.25f);
      check_layer(l, -1, 0, pipeline(dequantize_float_per_channel{pc.scales.data(), fbias.data()}), rng);
      if (isa == isa_level::avx512_vnni) {
        std::vector<std::int8_t> w(static_cast<std::size_t>(l.k_h * l.k_w * c));
        CHECK(std::string(selected_kernel_name(pack_depthwise_weights(make_view(w.data(), 1, l.k_h, l.k_w, c)))) ==
              "dwconv_columns_s8s8_s32_c64__avx512vnni");
      }
    }
    // Every thread count (pairs split across tasks) gives the same bits.
    const auto l = layers[1];
    const auto pc = per_channel(l.c_in, rng);
    for (int t : {1, 2, 3}) check_layer(l, 5, 0, pc.int8_pipeline(1), rng, 0, context(threads{t}));
  }
  // Not the column kernel: 5 kernel rows, a channel count off the 64 multiple, weights beyond int8.
  if (testing::runs_level(isa_level::avx512_vnni)) {
    std::vector<std::int8_t> w(5 * 3 * 128, 100);
    CHECK(std::string(selected_kernel_name(pack_depthwise_weights(make_view(w.data(), 1, 5, 3, 128)))) ==
          depthwise_kernel_name(best_isa()));
    CHECK(std::string(selected_kernel_name(pack_depthwise_weights(make_view(w.data(), 1, 3, 3, 96)))) ==
          depthwise_kernel_name(best_isa()));
    CHECK(std::string(selected_kernel_name(pack_depthwise_weights(make_view(w.data(), 1, 3, 3, 64), -100))) ==
          depthwise_kernel_name(best_isa()));
  }
}

TEST_CASE("depthwise: the column kernel clamps in its packs only where that gives the same bits",
          "[conv][depthwise][columns]") {
  // Outputs that use all of int8 / uint8 are clamped by the saturating packs when bound * scale <= 2^30
  // and |zero point| <= 32767 - 256; anything else takes the float clamps. Each case below saturates
  // both ways, and the last two would go wrong in the packs: an accumulator times 16384 passes 2^31
  // (the conversion gives INT32_MIN), and 32767 - 32700 is inside uint8 where 40000 - 32700 is not.
  std::mt19937 rng(37);
  dw_layer pairs{1, 9, 10, 64, 1, 3, 3, conv2d_params{}};
  pairs.p.pad = padding::same();
  dw_layer wide{1, 7, 12, 192, 1, 3, 3, conv2d_params{}};
  wide.p.stride_h = 2;
  wide.p.pad = padding::explicit_pads(1, 1, 0, 2);
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    for (const dw_layer& l : {pairs, wide}) {
      const auto pc = per_channel(l.c_in, rng, -10.0, 2.0);
      for (int mode = 0; mode <= 3; ++mode) {
        for (std::int32_t zp : {-128, 0, 127}) {
          check_layer(l, mode == 1 ? 127 : -128, 0,
                      pipeline(bias_add{pc.bias.data()}, requantize_float_per_channel{pc.scales.data()},
                               add_zero_point{zp}, saturating_cast<std::int8_t>{}),
                      rng, mode);
        }
        check_layer(l, 5, 0,
                    pipeline(requantize_float_per_channel{pc.scales.data()}, add_zero_point{200},
                             saturating_cast<std::uint8_t>{}),
                    rng, mode);
        check_layer(l, mode == 1 ? 127 : -128, 0,
                    pipeline(requantize_float{16384.0f}, add_zero_point{0}, saturating_cast<std::int8_t>{}), rng, mode);
        check_layer(l, mode == 1 ? 127 : -128, 0,
                    pipeline(requantize_float{1.0f}, add_zero_point{-32700}, saturating_cast<std::uint8_t>{}), rng,
                    mode);
      }
    }
  }
}

// TFLite's fixed point with per-channel edges: the VNNI column kernel's 64-bit form in V order and the
// AVX2 kernel's 8-lane form where they accept the parameters, the 32-bit stages where they refuse them.
// Variant 0: random multipliers; 1: edge multipliers (2^30 + 1, exact ties at 3 2^29, INT32_MAX) and right
// shifts 1..20, all accepted; 2: multipliers at and below 2^30 (2^30, 2^30 - 1, 2, 1, 0) in every 16
// channels, which the corrections refuse; 3: shifts at and beyond the limits (-31, -30, 0, 1); 4: biases
// near 2^30, accepted or refused by the accumulators' bound. (Negative multipliers, INT32_MIN among them,
// are a qsparse::error of the stage.)
template <class R>
void check_fixed_point_edges(const dw_layer& l, std::mt19937& rng) {
  const index_t c = l.c_in * l.multiplier;
  for (int variant = 0; variant < 5; ++variant) {
    const auto pc = per_channel(c, rng, -24.0, -0.5);
    std::vector<std::int32_t> bias = pc.bias, mult = pc.multipliers;
    std::vector<int> shift = pc.shifts;
    const std::int32_t common[] = {(1 << 30) + 1, 3 << 29, INT32_MAX - (1 << 29), INT32_MAX, 1717986918, (1 << 30) + 3};
    const std::int32_t extra[] = {1 << 30, 1, 0, (1 << 30) - 1, 2};
    const int accepted[] = {-1, -2, -3, -7, -12, -20, -1, -2, -3, -2, -1};
    const int limits[] = {-31, -30, 0, 1, -1, -2, -30};
    for (std::size_t i = 0; variant != 0 && i < static_cast<std::size_t>(c); ++i) {
      mult[i] = variant == 2 && i % 4 == 3 ? extra[i / 4 % 5] : common[i % 6];
      shift[i] = variant == 3 ? limits[i % 7] : accepted[i % 11];
      bias[i] = variant == 4 ? (i % 2 ? 1 : -1) * ((1 << 30) - (i % 3 == 0 ? 2000000 : 1000)) : bias[i] % 50;
    }
    for (int mode = 0; mode <= 3; ++mode) {
      // All of int8 (the packs clamp) and a clamp inside it (vpmaxsd / vpminsd).
      check_layer(l, mode == 1 ? 127 : -128, 0,
                  pipeline(bias_add{bias.data()}, requantize_fixed_point_per_channel<R>{mult.data(), shift.data()},
                           add_zero_point{variant == 4 ? 0 : -3}, clamp{-128, 127}, saturating_cast<std::int8_t>{}),
                  rng, mode);
      check_layer(l, mode == 1 ? -128 : 5, 0,
                  pipeline(bias_add{bias.data()}, requantize_fixed_point_per_channel<R>{mult.data(), shift.data()},
                           add_zero_point{mode == 2 ? 127 : -5}, clamp{-20, 90}, saturating_cast<std::int8_t>{}),
                  rng, mode);
    }
  }
}

TEST_CASE("depthwise: TFLite's roundings in the kernels' 64-bit forms at their edges", "[conv][depthwise][tflite]") {
  std::mt19937 rng(53);
  dw_layer pairs{1, 5, 9, 128, 1, 3, 3, conv2d_params{}};  // two column-kernel blocks, row pairs
  pairs.p.pad = padding::same();
  dw_layer single{1, 7, 6, 64, 1, 3, 2, conv2d_params{}};  // stride_h 2: single rows, kw 2
  single.p.stride_h = 2;
  single.p.pad = padding::same();
  dw_layer tail{1, 4, 5, 21, 1, 3, 3, conv2d_params{}};  // channel tails (AVX2: 8 + 8 + 5)
  tail.p.pad = padding::same();
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    for (const dw_layer& l : {pairs, single, tail}) {
      // The kernels' wiring of the form (constants in V order, the folded bias, packs or clamps) is the
      // same for every rounding: one with the correction, one without (tests/gemm/gemm_test.cpp covers
      // the form of all four; each rounding here is a whole depthwise registry to compile).
      check_fixed_point_edges<double_rounding>(l, rng);
      check_fixed_point_edges<double_rounding_up>(l, rng);
    }
    // uint8 output (packus), full range and inside it.
    const auto pc = per_channel(pairs.c_in, rng, -24.0, -0.5);
    for (int mode = 0; mode <= 3; ++mode) {
      for (std::int32_t zp : {0, 128, 255}) {
        check_layer(pairs, 3, 0,
                    pipeline(bias_add{pc.bias.data()},
                             requantize_fixed_point_per_channel<double_rounding>{pc.multipliers.data(), pc.shifts.data()},
                             add_zero_point{zp}, clamp{zp == 128 ? 100 : 0, 255}, saturating_cast<std::uint8_t>{}),
                    rng, mode);
      }
    }
  }
}

TEST_CASE("depthwise: full-range inputs, extreme zero points, every output type", "[conv][depthwise]") {
  std::mt19937 rng(4);
  dw_layer l{1, 7, 9, 37, 1, 3, 3, conv2d_params{}};
  l.p.pad = padding::same();
  dw_layer l2{1, 6, 5, 5, 3, 3, 3, conv2d_params{}};
  l2.p.stride_h = 2;
  l2.p.pad = padding::same();
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    for (const dw_layer& layer : {l, l2}) {
      const index_t c = layer.c_in * layer.multiplier;
      for (int mode = 1; mode <= 3; ++mode) {
        for (std::int32_t zp : {-128, 127}) {
          const auto pc = per_channel(c, rng, -16.0, 1.0);
          check_layer(layer, zp, 0, pc.int8_pipeline(0), rng, mode);
          check_layer(layer, zp, zp == 127 ? -128 : 127, pc.int8_pipeline(-128), rng, mode);
        }
      }
      const auto pc = per_channel(c, rng);
      check_layer(layer, 3, 0, pipeline(), rng);
      check_layer(layer, 3, 0, pipeline(bias_add{pc.bias.data()}, requantize_float_per_channel{pc.scales.data()},
                                        add_zero_point{100}, saturating_cast<std::uint8_t>{}),
                  rng);
      check_layer(layer, 3, 0, pipeline(requantize_fixed_point<single_rounding>{quantize_multiplier_single_rounding(0.01)},
                                        saturating_cast<std::int16_t>{}),
                  rng);
      std::vector<float> fbias(static_cast<std::size_t>(c), -0.5f);
      check_layer(layer, 3, 0, pipeline(dequantize_float_per_channel{pc.scales.data(), fbias.data()}, clamp_float{-2.0f, 2.0f}),
                  rng);
    }
  }
}

TEST_CASE("depthwise: TFLite golden vector SimpleTestQuantizedPerChannel (from TFLite's kernel tests)", "[conv][depthwise][tflite]") {
  const std::vector<float> in_f{1, 2, 7, 8, 3, 4, 9, 10, 5, 6, 11, 12};
  const std::vector<float> w_f{1, 2, 3, 4, -9, 10, -11, 12, 5, 6, 7, 8, 13, -14, 15, -16};
  const std::vector<float> b_f{1, 2, 3, 4};
  const float in_scale = 0.5f, out_scale = 1.0f;
  std::vector<std::int8_t> in;
  for (float x : in_f) in.push_back(static_cast<std::int8_t>(std::round(x / in_scale)));
  std::vector<float> scales(4, 0.0f);
  for (std::size_t i = 0; i < w_f.size(); ++i) scales[i % 4] = std::max(scales[i % 4], std::abs(w_f[i]));
  for (float& s : scales) s /= 127.0f;
  std::vector<std::int8_t> w;
  for (std::size_t i = 0; i < w_f.size(); ++i)
    w.push_back(static_cast<std::int8_t>(std::max(-127.0f, std::min(127.0f, std::round(w_f[i] / scales[i % 4])))));
  std::vector<std::int32_t> bias, mult;
  std::vector<int> shift;
  for (std::size_t c = 0; c < 4; ++c) {
    bias.push_back(static_cast<std::int32_t>(std::round(b_f[c] / (in_scale * scales[c]))));
    const quantized_multiplier q = quantize_multiplier(double(in_scale) * double(scales[c]) / double(out_scale));
    mult.push_back(q.multiplier);
    shift.push_back(q.shift);
  }
  const auto pl = pipeline(bias_add{bias.data()}, requantize_fixed_point_per_channel<double_rounding>{mult.data(), shift.data()},
                           add_zero_point{0}, clamp{-128, 127}, saturating_cast<std::int8_t>{});
  const auto packed = pack_depthwise_weights(make_view(w.data(), 1, 2, 2, 4));
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    std::vector<std::int8_t> out(8);
    depthwise_conv2d(context{}, quantized(make_view(in.data(), 1, 3, 2, 2), 0), packed, make_view(out.data(), 1, 2, 1, 4),
                     conv2d_params{}, pl);
    CHECK(out == std::vector<std::int8_t>{71, -34, 99, -20, 91, -26, 127, -4});
  }
}

TEST_CASE("depthwise: every thread count gives identical results", "[conv][depthwise][threads]") {
  std::mt19937 rng(8);
  dw_layer l{2, 17, 15, 40, 1, 3, 3, conv2d_params{}};
  l.p.pad = padding::same();
  const auto pc = per_channel(l.c_in, rng);
  for (int t : {1, 2, 3}) check_layer(l, 5, 0, pc.int8_pipeline(1), rng, 0, context(threads{t}));
}

TEST_CASE("depthwise: bad input is a qsparse::error naming the argument", "[conv][depthwise][errors]") {
  std::vector<std::int8_t> in(1 * 5 * 5 * 4), w(3 * 3 * 8);
  std::vector<std::int32_t> out(1 * 5 * 5 * 8);
  const auto in_view = make_view(in.data(), 1, 5, 5, 4);
  const auto packed = pack_depthwise_weights(make_view(w.data(), 1, 3, 3, 8));
  conv2d_params same{};
  same.pad = padding::same();
  CHECK_NOTHROW(depthwise_conv2d(context{}, quantized(in_view, 0), packed, make_view(out.data(), 1, 5, 5, 8), same, pipeline()));
  CHECK_THROWS_WITH(pack_depthwise_weights(make_view(w.data(), 2, 3, 3, 4)), Catch::Contains("got extent(0) = 2"));
  const auto in3 = make_view(in.data(), 1, 5, 5, 3);
  CHECK_THROWS_WITH(depthwise_conv2d(context{}, quantized(in3, 0), packed, make_view(out.data(), 1, 5, 5, 8), same, pipeline()),
                    Catch::Contains("must be a multiple of the input's C_in = 3"));
  conv2d_params bad = same;
  bad.stride_w = -2;
  CHECK_THROWS_WITH(depthwise_conv2d(context{}, quantized(in_view, 0), packed, make_view(out.data(), 1, 5, 5, 8), bad, pipeline()),
                    Catch::Contains("stride_w must be >= 1, got stride_w = -2"));
  bad = conv2d_params{};
  bad.dilation_w = 3;
  CHECK_THROWS_WITH(depthwise_conv2d(context{}, quantized(in_view, 0), packed, make_view(out.data(), 1, 5, 5, 8), bad, pipeline()),
                    Catch::Contains("leaves no output along the width"));
  CHECK_THROWS_WITH(depthwise_conv2d(context{}, quantized(in_view, -129), packed, make_view(out.data(), 1, 5, 5, 8), same, pipeline()),
                    Catch::Contains("got -129"));
  CHECK_THROWS_WITH(depthwise_conv2d(context{}, quantized(in_view, 0), packed, make_view(out.data(), 1, 4, 5, 8), same, pipeline()),
                    Catch::Contains("expected N x OH x OW x C_out = 1 x 5 x 5 x 8"));
  CHECK_THROWS_WITH(pack_depthwise_weights(make_view(w.data(), 1, 3, 3, 8), 200), Catch::Contains("got weight_zero_point = 200"));
}

TEST_CASE("depthwise: kernel names follow the ISA", "[conv][depthwise]") {
  std::vector<std::int8_t> w(9);
  const auto packed = pack_depthwise_weights(make_view(w.data(), 1, 3, 3, 1));
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    CHECK(std::string(selected_kernel_name(packed)) == depthwise_kernel_name(isa));
  }
  CHECK(std::string(depthwise_kernel_name(isa_level::scalar)) == "dwconv_s8s8_s32_c1__scalar");
}

TEST_CASE("guard: depthwise ran on every ISA this CPU supports", "[conv][guard]") {
  for (isa_level isa : testing::supported_levels())
    CHECK(std::find(exercised.begin(), exercised.end(), isa) != exercised.end());
  testing::require_every_kernel_ran(kernels::depthwise_kernels{}, exercised_kernels);
}

TEST_CASE("depthwise: overflowing geometry and aliasing are a qsparse::error (issue 22)", "[conv][depthwise][errors]") {
  std::vector<std::int8_t> in(1 * 8 * 8 * 4, 1), w(3 * 3 * 4, 1);
  const auto in_view = make_view(static_cast<const std::int8_t*>(in.data()), 1, 8, 8, 4);
  const auto packed = pack_depthwise_weights(make_view(static_cast<const std::int8_t*>(w.data()), 1, 3, 3, 4));
  std::vector<std::int32_t> out(1 * 8 * 8 * 4);
  conv2d_params p{};
  p.pad = padding::same();
  p.dilation_w = (index_t{1} << 62) + 1;
  CHECK_THROWS_WITH(
      depthwise_conv2d(context{}, quantized(in_view, 0), packed, make_view(out.data(), 1, 8, 8, 4), p, pipeline()),
      "qsparse::depthwise_conv2d: dilations must be at most 2^31 - 1, got dilation_h = 1, dilation_w = "
      "4611686018427387905");
  // The output written over the input it still reads gave 1488 of 2048 values wrong.
  std::vector<std::int8_t> buffer(1 * 8 * 8 * 4 * 2);
  const auto shared_in = make_view(static_cast<const std::int8_t*>(buffer.data()), 1, 8, 8, 4);
  conv2d_params same{};
  same.pad = padding::same();
  CHECK_THROWS_WITH(depthwise_conv2d(context{}, quantized(shared_in, 0), packed, make_view(buffer.data(), 1, 8, 8, 4), same,
                                     pipeline(saturating_cast<std::int8_t>{})),
                    Catch::Contains("qsparse::depthwise_conv2d: output overlaps input in memory"));
}
