#include "qsparse/quant/float_qparams.hpp"

#include <catch2/catch.hpp>
#include <algorithm>

#include "support/testing.hpp"

namespace {
#include "data/torch_compat_vectors.inc"
}

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::to_bits;

TEST_CASE("per_channel_affine_float_qparams equals PyTorch: parameters, quantize and dequantize", "[float_qparams]") {
  int n = 0;
  for (const auto& c : torch_float_qparams) {
    for (int ch = 0; ch < c.channels; ++ch) {
      float lo = from_bits(c.w_bits[ch * c.size]), hi = lo;
      for (int i = 0; i < c.size; ++i) {
        lo = std::min(lo, from_bits(c.w_bits[ch * c.size + i]));
        hi = std::max(hi, from_bits(c.w_bits[ch * c.size + i]));
      }
      const float_qparams p = choose_float_qparams(lo, hi, 0, 255);
      INFO("channel " << ch << " [" << lo << ", " << hi << "]");
      CHECK(to_bits(p.scale) == c.scale_bits[ch]);
      CHECK(to_bits(p.zero_point) == c.zero_point_bits[ch]);
      for (int i = 0; i < c.size; ++i) {
        const int k = ch * c.size + i;
        const std::int32_t q = quantize_value_float_qparams(from_bits(c.w_bits[k]), p.scale, p.zero_point, 0, 255);
        CHECK(q == c.q[k]);
        CHECK(to_bits(dequantize_value_float_qparams(c.q[k], p.scale, p.zero_point)) == c.dequant_bits[k]);
        ++n;
      }
    }
  }
  CHECK(n == 4 * 144);
}

TEST_CASE("choose_float_qparams: a constant channel gets scale 1", "[float_qparams]") {
  const float_qparams p = choose_float_qparams(0.7f, 0.7f, 0, 255);
  CHECK(p.scale == 1.0f);
  CHECK(p.zero_point == -0.7f);
  CHECK_THROWS_AS(choose_float_qparams(1.0f, 0.0f, 0, 255), qsparse::error);
}
