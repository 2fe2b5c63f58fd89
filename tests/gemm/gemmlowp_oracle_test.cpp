// tests/gemm/gemmlowp_oracle_test.cpp — the int8 GEMM with a TFLite-style output pipeline against
// gemmlowp's own GemmWithOutputPipeline (Debian libgemmlowp-dev) on the same data, every ISA.
//
// gemmlowp multiplies uint8 by uint8 with *added* offsets: Σ (lhs + lhs_offset)(rhs + rhs_offset). The
// same product in qsparse: activations a = lhs (uint8, a_zp = -lhs_offset) and weights w = rhs - 128
// (int8, w_zp = -rhs_offset - 128), so (w - w_zp) = rhs + rhs_offset.
#include <cstdint>
#include <random>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>
#include <gemmlowp/public/gemmlowp.h>

#include "qsparse/gemm/gemm.hpp"
#include "support/testing.hpp"

using namespace qsparse;

TEST_CASE("gemm matches gemmlowp's output pipeline bit for bit", "[gemm][gemmlowp]") {
  std::mt19937 rng(2024);
  std::uniform_int_distribution<int> byte(0, 255);
  gemmlowp::GemmContext gemmlowp_context;
  gemmlowp_context.set_max_num_threads(1);
  const int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {16, 64, 33}, {33, 100, 70}, {3, 300, 9}};
  for (isa_level isa : testing::supported_levels()) {
    for (const auto& s : shapes) {
      const int m = s[0], k = s[1], n = s[2];
      for (int trial = 0; trial < 4; ++trial) {
        std::vector<std::uint8_t> lhs(static_cast<std::size_t>(m * k)), rhs(static_cast<std::size_t>(k * n));
        for (auto& v : lhs) v = static_cast<std::uint8_t>(byte(rng));
        for (auto& v : rhs) v = static_cast<std::uint8_t>(byte(rng));
        const int lhs_offset = -byte(rng);
        const int rhs_offset = -byte(rng);
        const int out_offset = byte(rng) - 64;
        std::vector<std::int32_t> bias(static_cast<std::size_t>(n)), multipliers(static_cast<std::size_t>(n)),
            exponents(static_cast<std::size_t>(n));
        std::uniform_real_distribution<double> e(-18.0, -4.0);
        for (int i = 0; i < n; ++i) {
          bias[static_cast<std::size_t>(i)] = byte(rng) * 97 - 12000;
          const quantized_multiplier q = quantize_multiplier(std::exp2(e(rng)));
          multipliers[static_cast<std::size_t>(i)] = q.multiplier;
          exponents[static_cast<std::size_t>(i)] = q.shift;
        }
        const int lo = byte(rng) / 4, hi = 255 - byte(rng) / 4;

        // gemmlowp: lhs row-major M x K, rhs column-major K x N (its natural layout), result row-major.
        std::vector<std::uint8_t> rhs_col(static_cast<std::size_t>(k * n));
        for (int kk = 0; kk < k; ++kk) {
          for (int nn = 0; nn < n; ++nn) rhs_col[static_cast<std::size_t>(nn * k + kk)] = rhs[static_cast<std::size_t>(kk * n + nn)];
        }
        std::vector<std::uint8_t> want(static_cast<std::size_t>(m * n));
        gemmlowp::MatrixMap<const std::uint8_t, gemmlowp::MapOrder::RowMajor> lhs_map(lhs.data(), m, k);
        gemmlowp::MatrixMap<const std::uint8_t, gemmlowp::MapOrder::ColMajor> rhs_map(rhs_col.data(), k, n);
        gemmlowp::MatrixMap<std::uint8_t, gemmlowp::MapOrder::RowMajor> result_map(want.data(), m, n);
        using row_vector = gemmlowp::VectorMap<const std::int32_t, gemmlowp::VectorShape::Row>;
        gemmlowp::OutputStageBiasAddition<row_vector> bias_stage{row_vector(bias.data(), n)};
        gemmlowp::OutputStageScaleInt32ByFixedPointAndExponentPC<gemmlowp::VectorShape::Row> scale_stage{
            row_vector(multipliers.data(), n), row_vector(exponents.data(), n), out_offset};
        gemmlowp::OutputStageClamp clamp_stage{lo, hi};
        gemmlowp::OutputStageSaturatingCastToUint8 cast_stage;
        gemmlowp::GemmWithOutputPipeline<std::uint8_t, std::uint8_t, gemmlowp::DefaultL8R8BitDepthParams>(
            &gemmlowp_context, lhs_map, rhs_map, &result_map, lhs_offset, rhs_offset,
            std::make_tuple(bias_stage, scale_stage, clamp_stage, cast_stage));

        std::vector<std::int8_t> w(rhs.size());
        for (std::size_t i = 0; i < rhs.size(); ++i) w[i] = static_cast<std::int8_t>(rhs[i] - 128);
        std::vector<int> shifts(exponents.begin(), exponents.end());
        const auto packed = pack_weights(make_view(w.data(), k, n), -rhs_offset - 128, isa);
        std::vector<std::uint8_t> got(want.size());
        gemm(context{}, quantized(make_view(lhs.data(), m, k), -lhs_offset), packed, make_view(got.data(), m, n),
             pipeline(bias_add{bias.data()},
                      requantize_fixed_point_per_channel<double_rounding>{multipliers.data(), shifts.data()},
                      add_zero_point{out_offset}, clamp{lo, hi}, saturating_cast<std::uint8_t>{}));
        INFO(to_string(isa) << " M=" << m << " K=" << k << " N=" << n << " offsets " << lhs_offset << ", " << rhs_offset);
        REQUIRE(got == want);
      }
    }
  }
}
