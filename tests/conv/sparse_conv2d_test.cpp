// tests/conv/sparse_conv2d_test.cpp — the sparse conv2d (qsparse/conv/sparse_conv2d.hpp) against reference_conv2d
// on the masked filter, bit for bit, on every ISA this CPU has, in every sparse format: conv2d_test.cpp's random
// layer shapes plus the gathering path's edges, full-range inputs, extreme zero points, all-zero filters,
// threads, the kernel name, the stored bytes, bad input.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "conv/conv2d_layers.hpp"
#include "qsparse/conv/conv2d.hpp"
#include "qsparse/conv/conv_pool.hpp"
#include "qsparse/conv/reference.hpp"
#include "qsparse/conv/sparse_conv2d.hpp"
#include "qsparse/core/context.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using namespace qsparse::conv_test;

namespace {

constexpr std::array<sparse_format, 4> sparse_formats{sparse_format::block_4x16, sparse_format::block_4x32,
                                                       sparse_format::two_of_four, sparse_format::bitmask};

/// Prunes an OHWI filter in place on each group's K×N matrix (k = (ky*kw + kx)*Cg + c, n = o within the
/// group) in the pattern `format` keeps, about `density` of it kept: whole 4 × NB blocks, 2 of every 4
/// consecutive k (fewer in some groups), or single weights.
void prune_filter(std::vector<std::int8_t>& w, const layer& l, sparse_format format, double density, std::mt19937& rng) {
  const index_t cg = l.c_in / l.groups, k = l.k_h * l.k_w * cg, n = l.c_out / l.groups;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const auto at = [&](index_t grp, index_t kk, index_t nn) -> std::int8_t& {
    return w[static_cast<std::size_t>((grp * n + nn) * k + kk)];  // OHWI: o * K + k
  };
  for (index_t grp = 0; grp < l.groups; ++grp) {
    if (format == sparse_format::block_4x16 || format == sparse_format::block_4x32) {
      const index_t nb = format == sparse_format::block_4x16 ? 16 : 32;
      for (index_t k0 = 0; k0 < k; k0 += 4)
        for (index_t n0 = 0; n0 < n; n0 += nb) {
          if (u(rng) < density) continue;
          for (index_t kk = k0; kk < std::min(k, k0 + 4); ++kk)
            for (index_t nn = n0; nn < std::min(n, n0 + nb); ++nn) at(grp, kk, nn) = 0;
        }
    } else if (format == sparse_format::two_of_four) {
      for (index_t nn = 0; nn < n; ++nn)
        for (index_t k0 = 0; k0 < k; k0 += 4) {
          // Keep 2 (sometimes 1 or 0) of the group's slots at random.
          std::array<int, 4> slots{0, 1, 2, 3};
          std::shuffle(slots.begin(), slots.end(), rng);
          const int keep = u(rng) < 0.8 ? 2 : (u(rng) < 0.5 ? 1 : 0);
          for (int i = keep; i < 4; ++i)
            if (k0 + slots[static_cast<std::size_t>(i)] < k) at(grp, k0 + slots[static_cast<std::size_t>(i)], nn) = 0;
        }
    } else {
      for (index_t kk = 0; kk < k; ++kk)
        for (index_t nn = 0; nn < n; ++nn)
          if (u(rng) >= density) at(grp, kk, nn) = 0;
    }
  }
}

/// The sparse conv2d of a random pruned filter equals reference_conv2d on it, bit for bit.
template <class A, class Pipeline>
void check_sparse_layer(const layer& l, sparse_format format, double density, std::int32_t in_zp, const Pipeline& pl,
                        std::mt19937& rng, int mode = 0, const context& ctx = context{}) {
  using out_t = typename Pipeline::output_type;
  const index_t cg = l.c_in / l.groups;
  auto in = random_values<A>(static_cast<std::size_t>(l.batch * l.h * l.w * l.c_in), rng, mode);
  auto w = random_values<std::int8_t>(static_cast<std::size_t>(l.c_out * l.k_h * l.k_w * cg), rng, mode == 3 ? 0 : mode);
  prune_filter(w, l, format, density, rng);
  const auto in_view = make_view(static_cast<const A*>(in.data()), l.batch, l.h, l.w, l.c_in);
  const auto w_view = make_view(static_cast<const std::int8_t*>(w.data()), l.c_out, l.k_h, l.k_w, cg);
  const conv_geometry g = conv_output_geometry(l.p, l.h, l.w, l.k_h, l.k_w, "test");
  const std::size_t out_size = static_cast<std::size_t>(l.batch * g.out_h * g.out_w * l.c_out);
  std::vector<out_t> got(out_size, out_t(77)), want(out_size, out_t(55));
  const auto packed = pack_sparse_conv2d_weights(w_view, format, l.groups);
  conv2d(ctx, quantized(in_view, in_zp), packed, make_view(got.data(), l.batch, g.out_h, g.out_w, l.c_out), l.p, pl);
  reference_conv2d(quantized(in_view, in_zp), quantized(w_view, 0), l.groups,
                   make_view(want.data(), l.batch, g.out_h, g.out_w, l.c_out), l.p, pl);
  INFO(selected_kernel_name(packed) << " N=" << l.batch << " H=" << l.h << " W=" << l.w << " Cin=" << l.c_in
                                    << " Cout=" << l.c_out << " k=" << l.k_h << "x" << l.k_w << " groups=" << l.groups
                                    << " stride=" << l.p.stride_h << "," << l.p.stride_w << " dilation="
                                    << l.p.dilation_h << "," << l.p.dilation_w << " pad=" << int(l.p.pad.kind)
                                    << " in_zp=" << in_zp << " density=" << density << " mode=" << mode);
  REQUIRE(std::memcmp(got.data(), want.data(), out_size * sizeof(out_t)) == 0);
}

std::vector<isa_level> sparse_exercised;

/// conv2d_max_pool2d on sparse weights equals reference_conv2d then reference_max_pool2d, bit for bit.
void check_sparse_conv_pool(const layer& l, sparse_format format, const pool2d_params& pool, std::int32_t in_zp,
                            std::mt19937& rng, const context& ctx) {
  const index_t cg = l.c_in / l.groups;
  auto in = random_values<std::int8_t>(static_cast<std::size_t>(l.batch * l.h * l.w * l.c_in), rng);
  auto w = random_values<std::int8_t>(static_cast<std::size_t>(l.c_out * l.k_h * l.k_w * cg), rng);
  prune_filter(w, l, format, 0.3, rng);
  const auto in_view = make_view(static_cast<const std::int8_t*>(in.data()), l.batch, l.h, l.w, l.c_in);
  const auto w_view = make_view(static_cast<const std::int8_t*>(w.data()), l.c_out, l.k_h, l.k_w, cg);
  const auto pc = per_channel(l.c_out, rng);
  const auto pl = pc.int8_pipeline(-2);
  const conv_geometry g = conv_output_geometry(l.p, l.h, l.w, l.k_h, l.k_w, "test");
  const conv_geometry pg = pool_output_geometry(pool, g.out_h, g.out_w, "test");
  std::vector<std::int8_t> conv_out(static_cast<std::size_t>(l.batch * g.out_h * g.out_w * l.c_out));
  reference_conv2d(quantized(in_view, in_zp), quantized(w_view, 0), l.groups,
                   make_view(conv_out.data(), l.batch, g.out_h, g.out_w, l.c_out), l.p, pl);
  const std::size_t size = static_cast<std::size_t>(l.batch * pg.out_h * pg.out_w * l.c_out);
  std::vector<std::int8_t> want(size, 55), got(size, 77);
  reference_max_pool2d(make_view(static_cast<const std::int8_t*>(conv_out.data()), l.batch, g.out_h, g.out_w, l.c_out),
                       make_view(want.data(), l.batch, pg.out_h, pg.out_w, l.c_out), pool, -100, 127);
  conv2d_max_pool2d(ctx, quantized(in_view, in_zp), pack_sparse_conv2d_weights(w_view, format, l.groups),
                    make_view(got.data(), l.batch, pg.out_h, pg.out_w, l.c_out), l.p, pool, pl, -100, 127);
  INFO(to_string(format) << " N=" << l.batch << " H=" << l.h << " W=" << l.w << " Cin=" << l.c_in << " Cout=" << l.c_out
                         << " pool=" << pool.filter_h << "x" << pool.filter_w << " s" << pool.stride_h);
  REQUIRE(got == want);
}

}  // namespace

TEST_CASE("sparse conv2d: conv2d_max_pool2d on sparse weights equals the references", "[conv][conv2d][sparse][conv_pool]") {
  std::mt19937 rng(29);
  layer demo{2, 13, 13, 32, 64, 3, 3, 1, conv2d_params{}};  // the demo CNN's second conv and its 2×2 pool
  layer odd{1, 17, 21, 8, 40, 3, 3, 2, conv2d_params{}};
  odd.p.pad = padding::same();
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    for (sparse_format format : sparse_formats) {
      check_sparse_conv_pool(demo, format, pool2d_params{2, 2, 2, 2, padding::valid()}, -128, rng, context{});
      check_sparse_conv_pool(odd, format, pool2d_params{3, 3, 2, 2, padding::same()}, 9, rng, context(threads{3}));
    }
  }
}

TEST_CASE("sparse conv2d: every format, random layer shapes, equal to the reference on every ISA", "[conv][conv2d][sparse]") {
  std::mt19937 rng(23);
  auto layers = random_layers(rng, 24);
  auto make = [](index_t b, index_t h, index_t w, index_t ci, index_t co, index_t kh, index_t kw, index_t s,
                 padding pad, index_t groups = 1) {
    layer l{b, h, w, ci, co, kh, kw, groups, conv2d_params{}};
    l.p.stride_h = l.p.stride_w = s;
    l.p.pad = pad;
    return l;
  };
  layers.push_back(make(1, 7, 9, 17, 37, 1, 1, 1, padding::valid()));       // 1x1: the sparse GEMM on the input
  layers.push_back(make(2, 5, 6, 12, 18, 1, 1, 1, padding::same(), 3));     // 1x1, grouped
  layers.push_back(make(1, 13, 13, 32, 64, 3, 3, 1, padding::valid()));     // the demo CNN's second conv
  layers.push_back(make(1, 28, 28, 1, 32, 3, 3, 1, padding::valid()));      // its first (K = 9)
  layers.push_back(make(2, 30, 27, 8, 40, 3, 3, 1, padding::same()));       // several im2col chunks, N tail
  // The block formats' gathering path on VNNI (C_in/groups a multiple of 4): stride 2 and padding
  // borders, an output row of 13 (8 + 5 pixels), columns past the last 16 / 32, groups of 12 channels
  // (3 blocks of 4, no 16), dilation with asymmetric explicit pads, and a wide image in several bands.
  layers.push_back(make(2, 9, 26, 8, 40, 3, 3, 2, padding::same()));
  layers.push_back(make(1, 10, 12, 24, 24, 3, 3, 1, padding::same(), 2));
  layers.push_back(make(1, 11, 13, 4, 36, 3, 2, 1, padding::explicit_pads(2, 0, 1, 3)));
  layers.back().p.dilation_h = 2;
  layers.back().p.dilation_w = 3;
  layers.push_back(make(1, 30, 40, 64, 20, 3, 3, 1, padding::same()));
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    sparse_exercised.push_back(isa);
    for (sparse_format format : sparse_formats) {
      for (std::size_t i = 0; i < layers.size(); ++i) {
        const layer& l = layers[i];
        const double density = i % 4 == 0 ? 0.5 : (i % 4 == 1 ? 0.2 : (i % 4 == 2 ? 0.05 : 1.0));
        const auto pc = per_channel(l.c_out, rng);
        check_sparse_layer<std::int8_t>(l, format, density, -5, pc.int8_pipeline(3), rng);
        if (i % 3 == 0) check_sparse_layer<std::uint8_t>(l, format, density, 131, pc.int8_pipeline(-9), rng);
        if (i % 3 == 1) check_sparse_layer<std::int8_t>(l, format, density, 7, pc.float_int8_pipeline(-6), rng);
      }
    }
  }
}

TEST_CASE("sparse conv2d: full-range inputs, extreme zero points, all-zero filters, threads", "[conv][conv2d][sparse]") {
  std::mt19937 rng(29);
  layer l{1, 6, 7, 12, 21, 3, 3, 1, conv2d_params{}};
  l.p.pad = padding::same();
  l.p.stride_w = 2;
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    for (sparse_format format : sparse_formats) {
      for (int mode = 1; mode <= 3; ++mode) {
        for (std::int32_t zp : {-128, 127}) {
          const auto pc = per_channel(l.c_out, rng, -20.0, 2.0);  // multipliers up to 4: outputs saturate
          check_sparse_layer<std::int8_t>(l, format, 0.6, zp, pc.int8_pipeline(0), rng, mode);
        }
        const auto pc = per_channel(l.c_out, rng);
        check_sparse_layer<std::uint8_t>(l, format, 0.6, mode == 1 ? 0 : 255, pc.int8_pipeline(5), rng, mode);
      }
      const auto pc = per_channel(l.c_out, rng);
      check_sparse_layer<std::int8_t>(l, format, 0.0, 9, pc.int8_pipeline(5), rng);  // every weight pruned: the bias
    }
  }
  // Chunks and groups across threads (and a caller's parallel_for) give the same bits as one thread.
  layer big{2, 23, 19, 24, 40, 3, 3, 2, conv2d_params{}};
  big.p.pad = padding::same();
  layer one{1, 9, 9, 16, 48, 1, 1, 1, conv2d_params{}};
  const auto pb = per_channel(big.c_out, rng);
  const auto po = per_channel(one.c_out, rng);
  context caller([](std::ptrdiff_t n, const task_function& f) {
    for (std::ptrdiff_t i = n; i-- > 0;) f(i);  // reverse order
  }, 3);
  for (sparse_format format : sparse_formats) {
    for (int t : {1, 2, 3}) {
      check_sparse_layer<std::int8_t>(big, format, 0.3, -3, pb.int8_pipeline(1), rng, 0, context(threads{t}));
      check_sparse_layer<std::int8_t>(one, format, 0.3, 2, po.int8_pipeline(1), rng, 0, context(threads{t}));
    }
    check_sparse_layer<std::int8_t>(big, format, 0.3, -3, pb.int8_pipeline(1), rng, 0, caller);
  }
}

TEST_CASE("sparse conv2d: the kernel name, the stored bytes, bad input", "[conv][conv2d][sparse][errors]") {
  std::vector<std::int8_t> w(6 * 3 * 3 * 2, 0), in(1 * 5 * 5 * 4), out(1 * 5 * 5 * 6);
  w[0] = 3;  // one block / group of 4 stored in group 0, none in group 1
  const auto w_view = make_view(static_cast<const std::int8_t*>(w.data()), 6, 3, 3, 2);
  for (isa_level isa : testing::supported_levels()) {
    scoped_isa_ceiling ceiling(isa);
    for (sparse_format format : sparse_formats) {
      const auto packed = pack_sparse_conv2d_weights(w_view, format, 2);
      CHECK(packed.format() == format);
      CHECK(packed.groups() == 2);
      CHECK(packed.group(0).k() == 18);
      CHECK(packed.group(1).n() == 3);
      CHECK(std::string(selected_kernel_name(packed)) == selected_sparse_kernel_name(format, isa));
    }
  }
  CHECK(std::string(selected_kernel_name(packed_sparse_conv2d_weights{})) == "none");
  const auto block = pack_sparse_conv2d_weights(w_view, sparse_format::block_4x16, 2);
  // One stored 4 x 16 block (64 values and its k) in group 0, none in group 1, and each group's panel_start.
  CHECK(block.stored_weight_bytes() == (4 * 16 + 4) + 2 * (1 + 1) * 8);
  CHECK_THROWS_WITH(pack_sparse_conv2d_weights(w_view, sparse_format::block_4x16, 4),
                    "qsparse::pack_sparse_conv2d_weights: C_out = 6 is not divisible by groups = 4");
  CHECK_THROWS_WITH(pack_sparse_conv2d_weights(w_view, sparse_format::block_4x16, 0),
                    "qsparse::pack_sparse_conv2d_weights: groups must be >= 1, got groups = 0");
  std::vector<std::int8_t> dense_two_of_four(6 * 3 * 3 * 2, 1);
  CHECK_THROWS_AS(pack_sparse_conv2d_weights(make_view(static_cast<const std::int8_t*>(dense_two_of_four.data()), 6, 3, 3, 2),
                                             sparse_format::two_of_four),
                  qsparse::error);  // 4 of 4 nonzero: not 2:4
  const auto in_view = make_view(static_cast<const std::int8_t*>(in.data()), 1, 5, 5, 4);
  const auto out_view = make_view(out.data(), 1, 5, 5, 6);
  conv2d_params same{};
  same.pad = padding::same();
  const auto one_group = pack_sparse_conv2d_weights(w_view, sparse_format::block_4x16);
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), one_group, out_view, same,
                           pipeline(saturating_cast<std::int8_t>{})),
                    "qsparse::conv2d: input has C_in = 4 channels but the weights expect groups * C_in/groups = 1 * 2 = 2");
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed_sparse_conv2d_weights{}, out_view, same,
                           pipeline(saturating_cast<std::int8_t>{})),
                    "qsparse::conv2d: the packed weights are empty");
  const auto packed = pack_sparse_conv2d_weights(w_view, sparse_format::block_4x16, 2);
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 0), packed, make_view(out.data(), 1, 3, 3, 6), same,
                           pipeline(saturating_cast<std::int8_t>{})),
                    "qsparse::conv2d: output is 1 x 3 x 3 x 6, expected N x OH x OW x C_out = 1 x 5 x 5 x 6");
  CHECK_THROWS_WITH(conv2d(context{}, quantized(in_view, 200), packed, out_view, same, pipeline(saturating_cast<std::int8_t>{})),
                    "qsparse::conv2d: input zero point must be in [-128, 127], got 200");
}

TEST_CASE("guard: the sparse conv2d ran on every ISA this CPU supports", "[conv][sparse][guard]") {
  for (isa_level isa : testing::supported_levels())
    CHECK(std::find(sparse_exercised.begin(), sparse_exercised.end(), isa) != sparse_exercised.end());
}
