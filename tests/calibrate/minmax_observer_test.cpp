#include "qsparse/calibrate/minmax_observer.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "qsparse/core/tensor.hpp"
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

std::vector<float> batch_of(const torch_observer_case& c, int b) {
  std::vector<float> x;
  for (int i = 0; i < c.batch_size; ++i) x.push_back(from_bits(c.x[b * c.batch_size + i]));
  return x;
}
}  // namespace

TEST_CASE("minmax_observer and moving_average_minmax_observer equal PyTorch's observers", "[observer][torch]") {
  for (isa_level level : supported_levels()) {
    for (const auto& c : torch_observer_cases) {
      INFO(to_string(level) << " " << c.kind << " c = " << c.averaging_constant);
      minmax_observer mm;
      moving_average_minmax_observer ma(c.averaging_constant);
      for (int b = 0; b < 3; ++b) {
        const auto x = batch_of(c, b);
        const auto v = make_view(x.data(), static_cast<index_t>(x.size()));
        mm.observe_isa(level, v);
        ma.observe_isa(level, v);
        CHECK(to_bits(mm.min()) == c.minmax[2 * b]);
        CHECK(to_bits(mm.max()) == c.minmax[2 * b + 1]);
        CHECK(to_bits(ma.min()) == c.moving[2 * b]);
        CHECK(to_bits(ma.max()) == c.moving[2 * b + 1]);
      }
      CHECK(ma.batches() == 3);
      const per_tensor_params p = mm.params<torch_quint8>();
      CHECK(to_bits(p.scale) == c.affine_scale);
      CHECK(p.zero_point == c.affine_zero_point);
      const per_tensor_params s = mm.params<torch_qint8>();
      CHECK(to_bits(s.scale) == c.symmetric_scale);
      CHECK(s.zero_point == 0);
      const per_tensor_params m = ma.params<torch_quint8>();
      CHECK(to_bits(m.scale) == c.moving_affine_scale);
      CHECK(m.zero_point == c.moving_affine_zero_point);
    }
  }
}

TEST_CASE("minmax_observer: known answers, NaN, infinities, empty views", "[observer]") {
  minmax_observer o;
  CHECK(o.empty());
  CHECK(o.min() == inf);
  CHECK(o.max() == -inf);
  // Before any finite value: scale 1 and the zero point of 0.0, valid for every scheme.
  CHECK(o.params<tflite_int8_activation>().scale == 1.0f);
  CHECK(o.params<tflite_int8_activation>().zero_point == 0);
  CHECK(o.params<torch_quint8>().zero_point == 0);
  CHECK(o.params<scheme<std::uint8_t, per_tensor, symmetric, round_half_to_even>>().zero_point == 128);
  const std::vector<float> nans = {qnan, qnan, inf, -inf};
  o.observe(make_view(nans.data(), 4));
  o.observe(make_view(nans.data(), 0));
  CHECK(o.empty());
  const std::vector<float> a = {0.5f, -1.25f, qnan, 3.0f};
  o.observe(make_view(a.data(), 4));
  CHECK(o.min() == -1.25f);
  CHECK(o.max() == 3.0f);
  const std::vector<float> b = {10.0f, 2.0f};
  o.observe(make_view(b.data(), 2));
  CHECK(o.max() == 10.0f);
  CHECK(o.min() == -1.25f);
  // TFLite params of [-1.25, 10]: the scheme's own rules (nudged zero point).
  CHECK(o.params<tflite_int8_activation>().scale == choose_params<tflite_int8_activation>(-1.25f, 10.0f).scale);
  CHECK(o.params<tflite_int8_activation>().zero_point == -100);
  o.reset();
  CHECK(o.empty());
}

TEST_CASE("minmax_observer: constant data, a single value, ranges that exclude zero", "[observer]") {
  const std::vector<float> constant(100, 1.75f);
  minmax_observer o;
  o.observe(make_view(constant.data(), 100));
  CHECK(o.min() == 1.75f);
  CHECK(o.max() == 1.75f);
  // The range [1.75, 1.75] is widened to [0, 1.75]: uint8 scale 1.75/255, zero point 0.
  const per_tensor_params p = o.params<torch_quint8>();
  CHECK(p.scale == 1.75f / 255.0f);
  CHECK(p.zero_point == 0);
  const per_tensor_params t = o.params<tflite_int8_activation>();
  CHECK(t.zero_point == -128);
  CHECK(t.scale == static_cast<float>(1.75 / 255.0));
  minmax_observer n;
  const float single = -3.0f;
  n.observe(make_view(&single, 1));
  CHECK(n.params<tflite_int8_activation>().zero_point == 127);
  CHECK(n.params<tflite_int8_weight_per_tensor>().scale == 3.0f / 127.0f);
  // All zeros: TFLite rule gives scale 1 (a valid, documented result), PyTorch's the eps floor.
  minmax_observer z;
  const std::vector<float> zeros(5, 0.0f);
  z.observe(make_view(zeros.data(), 5));
  CHECK(z.params<tflite_int8_activation>().scale == 1.0f);
  CHECK(z.params<torch_quint8>().scale == std::numeric_limits<float>::epsilon());
}

TEST_CASE("minmax_observer: merge(a, b) equals observing a then b", "[observer][merge]") {
  const auto x = qsparse::testing::random_floats(300, 2.0f, 21);
  minmax_observer sequential, a, b;
  sequential.observe(make_view(x.data(), 120));
  sequential.observe(make_view(x.data() + 120, 180));
  a.observe(make_view(x.data(), 120));
  b.observe(make_view(x.data() + 120, 180));
  minmax_observer merged = a;
  merged.merge(b);
  CHECK(to_bits(merged.min()) == to_bits(sequential.min()));
  CHECK(to_bits(merged.max()) == to_bits(sequential.max()));
  minmax_observer empty;
  merged.merge(empty);
  CHECK(merged.max() == sequential.max());
  empty.merge(a);
  CHECK(empty.min() == a.min());
}

TEST_CASE("moving_average_minmax_observer: the float32 update, merge and errors", "[observer]") {
  moving_average_minmax_observer o(0.5f);
  const std::vector<float> b1 = {-2.0f, 4.0f}, b2 = {-1.0f, 8.0f}, nan_batch = {qnan};
  o.observe(make_view(b1.data(), 2));
  CHECK(o.min() == -2.0f);
  CHECK(o.max() == 4.0f);
  o.observe(make_view(nan_batch.data(), 1));  // no finite value: nothing changes, no batch counted
  CHECK(o.batches() == 1);
  o.observe(make_view(b2.data(), 2));
  CHECK(o.min() == -1.5f);
  CHECK(o.max() == 6.0f);
  CHECK(o.batches() == 2);
  // 0.01 as PyTorch applies it: float32 constant, three rounded operations.
  moving_average_minmax_observer p;
  const std::vector<float> c1 = {0.0f, 1.0f}, c2 = {0.0f, 2.0f};
  p.observe(make_view(c1.data(), 2));
  p.observe(make_view(c2.data(), 2));
  CHECK(p.max() == 1.0f + 0.01f * (2.0f - 1.0f));
  // merge: the batch-weighted mean of the two running ranges.
  moving_average_minmax_observer q(0.5f);
  const std::vector<float> d = {-4.0f, 10.0f};
  q.observe(make_view(d.data(), 2));
  moving_average_minmax_observer merged = o;  // 2 batches: [-1.5, 6]
  merged.merge(q);                            // 1 batch:  [-4, 10]
  CHECK(merged.min() == static_cast<float>((-1.5 * 2 - 4.0) / 3.0));
  CHECK(merged.max() == static_cast<float>((6.0 * 2 + 10.0) / 3.0));
  CHECK(merged.batches() == 3);
  moving_average_minmax_observer fresh(0.5f);
  fresh.merge(q);
  CHECK(fresh.min() == -4.0f);
  CHECK(fresh.batches() == 1);
  fresh.reset();
  CHECK(fresh.empty());
  CHECK_THROWS_WITH(moving_average_minmax_observer(0.0f),
                    "qsparse::moving_average_minmax_observer: averaging_constant must be in (0, 1], got "
                    "averaging_constant = 0");
  CHECK_THROWS_AS(moving_average_minmax_observer(1.5f), qsparse::error);
  CHECK_THROWS_AS(moving_average_minmax_observer(qnan), qsparse::error);
  STATIC_REQUIRE(is_observer_v<minmax_observer>);
  STATIC_REQUIRE(is_observer_v<moving_average_minmax_observer>);
  STATIC_REQUIRE_FALSE(is_observer_v<int>);
}

TEST_CASE("moving_average_minmax_observer: bounds of opposite signs near FLT_MAX stay finite (issue 22)",
          "[observer][errors]") {
  moving_average_minmax_observer o(0.01f);
  const float big[1] = {std::numeric_limits<float>::max()};
  const float small[1] = {-std::numeric_limits<float>::max()};
  o.observe(make_view(big, 1));
  o.observe(make_view(small, 1));
  CHECK(std::isfinite(o.min()));
  CHECK(std::isfinite(o.max()));
  CHECK(o.min() <= o.max());
  // The step taken in double: FLT_MAX + c * (-FLT_MAX - FLT_MAX), about 0.98 FLT_MAX.
  const double m = std::numeric_limits<float>::max();
  const auto expected = static_cast<float>(m + static_cast<double>(0.01f) * (-m - m));
  CHECK(o.min() == expected);
  CHECK(o.max() == expected);
}
