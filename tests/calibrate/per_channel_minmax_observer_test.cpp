#include "qsparse/calibrate/per_channel_minmax_observer.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "qsparse/core/tensor.hpp"
#include "qsparse/quant/quantize.hpp"
#include "support/testing.hpp"

namespace {
#include "data/torch_qat_vectors.inc"
}

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::supported_levels;
using qsparse::testing::to_bits;

namespace {
constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float qnan = std::numeric_limits<float>::quiet_NaN();
using torch_quint8_per_channel = scheme<std::uint8_t, per_channel, affine, round_half_to_even>;
}  // namespace

TEST_CASE("per-channel observers equal PyTorch's along every axis", "[observer][per_channel][torch]") {
  for (isa_level level : supported_levels()) {
    for (const auto& c : torch_channel_cases) {
      INFO(to_string(level) << " axis " << c.axis);
      const auto axis = static_cast<std::size_t>(c.axis);
      per_channel_minmax_observer mm(axis);
      per_channel_moving_average_minmax_observer ma(axis, c.averaging_constant);
      for (int b = 0; b < 2; ++b) {
        std::vector<float> x(60);
        for (int i = 0; i < 60; ++i) x[static_cast<std::size_t>(i)] = from_bits(c.x[b * 60 + i]);
        mm.observe_isa(level, make_view(x.data(), 3, 4, 5));
        ma.observe_isa(level, make_view(x.data(), 3, 4, 5));
      }
      const std::ptrdiff_t channels = c.axis == 0 ? 3 : c.axis == 1 ? 4 : 5;
      REQUIRE(mm.channels() == channels);
      const per_channel_qparams sym = mm.params<torch_qint8_per_channel>();
      const per_channel_qparams aff = mm.params<torch_quint8_per_channel>();
      CHECK(sym.axis == axis);
      for (std::ptrdiff_t k = 0; k < channels; ++k) {
        const auto u = static_cast<std::size_t>(k);
        CHECK(to_bits(mm.min()[u]) == c.min[k]);
        CHECK(to_bits(mm.max()[u]) == c.max[k]);
        CHECK(to_bits(ma.min()[u]) == c.moving_min[k]);
        CHECK(to_bits(ma.max()[u]) == c.moving_max[k]);
        CHECK(to_bits(sym.scale[u]) == c.symmetric_scale[k]);
        CHECK(sym.zero_point[u] == 0);
        CHECK(to_bits(aff.scale[u]) == c.affine_scale[k]);
        CHECK(aff.zero_point[u] == c.affine_zero_point[k]);
      }
    }
  }
}

TEST_CASE("per_channel_minmax_observer: params feed quantize, caller memory, strided views", "[observer][per_channel]") {
  tensor<float, 2> w(4, 6);
  for (index_t i = 0; i < 4; ++i)
    for (index_t j = 0; j < 6; ++j) w(i, j) = static_cast<float>((i + 1) * (j - 2));
  per_channel_minmax_observer o(0);
  o.observe(w.view());
  CHECK(o.min()[3] == -8.0f);
  CHECK(o.max()[3] == 12.0f);
  const per_channel_qparams p = o.params<tflite_int8_weight>();
  CHECK(p.scale[0] == 3.0f / 127.0f);  // max |w| of row 0 is 3
  CHECK(p.zero_point[0] == 0);
  tensor<std::int8_t, 2> q(4, 6);
  quantize<tflite_int8_weight>(std::as_const(w).view(), q.view(), p.view());
  CHECK(q(0, 5) == 127);
  CHECK(q(3, 0) == -85);  // -8 / (12/127) = -84.67
  std::vector<float> scale(4);
  std::vector<std::int32_t> zp(4);
  const per_channel_params view = o.params<tflite_int8_weight>(scale.data(), zp.data());
  CHECK(view.channels == 4);
  CHECK(view.scale == scale.data());
  CHECK(scale[2] == p.scale[2]);
  // The transposed view of the same memory, observed along axis 1, gives the same ranges.
  auto t = make_strided_view(w.data(), std::array<index_t, 2>{6, 4}, std::array<index_t, 2>{1, 6});
  per_channel_minmax_observer ot(1);
  ot.observe(t);
  CHECK(ot.min() == o.min());
  CHECK(ot.max() == o.max());
}

TEST_CASE("per-channel observers: empty channels, NaN, merge and errors", "[observer][per_channel][errors]") {
  std::vector<float> x = {1.0f, qnan, -2.0f, inf, 5.0f, qnan};  // [3, 2]: channel 1 (axis 1) sees only NaN/inf
  per_channel_minmax_observer o(1);
  CHECK(o.channels() == 0);
  CHECK(o.empty());
  o.observe(make_view(x.data(), 3, 2));
  CHECK(o.channels() == 2);
  CHECK(o.min()[0] == -2.0f);
  CHECK(o.max()[0] == 5.0f);
  CHECK(o.min()[1] == inf);
  CHECK_FALSE(o.empty());
  const per_channel_qparams p = o.params<torch_quint8_per_channel>();
  CHECK(p.scale[1] == 1.0f);
  CHECK(p.zero_point[1] == 0);
  CHECK_THROWS_WITH(o.observe(make_view(x.data(), 2, 3)),
                    "qsparse::per_channel_minmax_observer::observe: the tensor has 3 channels along axis 1 but the "
                    "observer holds 2");
  CHECK_THROWS_WITH(o.observe(make_view(x.data(), 6)),
                    "qsparse::per_channel_minmax_observer::observe: axis = 1 is out of range for a rank-1 tensor");
  per_channel_minmax_observer other_axis(0);
  CHECK_THROWS_WITH(o.merge(other_axis),
                    "qsparse::per_channel_minmax_observer::merge: the observers watch different axes: 1 vs 0");
  // merge(a, b) equals observing a then b.
  tensor<float, 3> big(5, 3, 7);
  const auto v = qsparse::testing::random_floats(105, 3.0f, 17);
  for (index_t i = 0; i < 105; ++i) big.data()[i] = v[static_cast<std::size_t>(i)];
  per_channel_minmax_observer seq(2), a(2), b(2);
  seq.observe(subview(big.view(), 0, 0, 2));
  seq.observe(subview(big.view(), 0, 2, 5));
  a.observe(subview(big.view(), 0, 0, 2));
  b.observe(subview(big.view(), 0, 2, 5));
  a.merge(b);
  CHECK(a.min() == seq.min());
  CHECK(a.max() == seq.max());
  per_channel_minmax_observer fresh(2);
  fresh.merge(seq);
  CHECK(fresh.max() == seq.max());
  fresh.reset();
  CHECK(fresh.channels() == 0);
  fresh.observe(make_view(x.data(), 1, 1, 6));  // a new count after reset is fine
  CHECK(fresh.channels() == 6);
}

TEST_CASE("per_channel_moving_average_minmax_observer: per-channel update and merge", "[observer][per_channel]") {
  per_channel_moving_average_minmax_observer o(0, 0.5f);
  std::vector<float> b1 = {-2.0f, 4.0f, qnan, qnan};  // [2, 2]: channel 1 has nothing in the first batch
  std::vector<float> b2 = {-1.0f, 8.0f, 3.0f, 5.0f};
  o.observe(make_view(b1.data(), 2, 2));
  CHECK(o.min()[0] == -2.0f);
  CHECK(o.min()[1] == inf);
  o.observe(make_view(b2.data(), 2, 2));
  CHECK(o.min()[0] == -1.5f);
  CHECK(o.max()[0] == 6.0f);
  CHECK(o.min()[1] == 3.0f);  // first finite batch of channel 1 sets it
  CHECK(o.max()[1] == 5.0f);
  per_channel_moving_average_minmax_observer q(0, 0.5f);
  std::vector<float> b3 = {-4.0f, 10.0f, 1.0f, 1.0f};
  q.observe(make_view(b3.data(), 2, 2));
  o.merge(q);  // channel 0: 2 batches vs 1; channel 1: 1 vs 1
  CHECK(o.min()[0] == static_cast<float>((-1.5 * 2 - 4.0) / 3.0));
  CHECK(o.min()[1] == 2.0f);
  CHECK(o.max()[1] == 3.0f);
  CHECK_THROWS_AS(per_channel_moving_average_minmax_observer(0, -0.1f), qsparse::error);
  STATIC_REQUIRE(is_observer_v<per_channel_minmax_observer>);
  STATIC_REQUIRE(is_observer_v<per_channel_moving_average_minmax_observer>);
}
