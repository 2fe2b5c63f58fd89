#include "qsparse/calibrate/histogram_observers.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "qsparse/calibrate/minmax_observer.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using qsparse::testing::supported_levels;
using qsparse::testing::to_bits;

namespace {
constexpr float qnan = std::numeric_limits<float>::quiet_NaN();

std::vector<float> uniform_values(std::size_t n, float lo, float hi) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * (static_cast<float>(i) + 0.5f) / static_cast<float>(n);
  return v;
}

template <class Observer, class Scheme>
void check_merge_equals_sequential(const Observer& prototype, const std::vector<float>& x) {
  const auto half = static_cast<index_t>(x.size() / 2);
  for (isa_level level : supported_levels()) {
    Observer sequential = prototype, a = prototype, b = prototype;
    sequential.observe_isa(level, make_view(x.data(), half));
    sequential.observe_isa(level, make_view(x.data() + half, static_cast<index_t>(x.size()) - half));
    a.observe_isa(level, make_view(x.data(), half));
    b.observe_isa(level, make_view(x.data() + half, static_cast<index_t>(x.size()) - half));
    a.merge(b);
    INFO(to_string(level));
    CHECK(a.histogram().counts() == sequential.histogram().counts());
    const per_tensor_params pa = a.template params<Scheme>(), ps = sequential.template params<Scheme>();
    CHECK(to_bits(pa.scale) == to_bits(ps.scale));
    CHECK(pa.zero_point == ps.zero_point);
  }
}
}  // namespace

TEST_CASE("percentile_observer: uniform data, constant data, single value", "[observer][percentile]") {
  const auto u = uniform_values(100000, -1.0f, 3.0f);
  percentile_observer p(99.0);
  p.observe(make_view(u.data(), 100000));
  // 1 % of 100000 uniform values on [-1, 3]: the symmetric threshold sits 1000 values below |x| = 3,
  // i.e. at 2.96 to within a bin (width 2^-9).
  const value_range s = p.range<torch_qint8>();
  CHECK(std::fabs(s.max - 2.96f) <= 1.0f / 512.0f + 1e-6f);
  CHECK(s.min == -s.max);
  const value_range a = p.range<torch_quint8>();
  CHECK(std::fabs(a.min - (-0.96f)) <= 1.0f / 512.0f + 1e-6f);
  CHECK(std::fabs(a.max - 2.96f) <= 1.0f / 512.0f + 1e-6f);
  CHECK(p.params<torch_quint8>().scale == choose_params<torch_quint8>(a.min, a.max).scale);
  CHECK(p.params<torch_quint8>().zero_point == choose_params<torch_quint8>(a.min, a.max).zero_point);
  percentile_observer c;
  const std::vector<float> constant(64, 0.8f);
  c.observe(make_view(constant.data(), 64));
  CHECK(c.params<tflite_int8_activation>().scale == choose_params<tflite_int8_activation>(0.8f, 0.8f).scale);
  percentile_observer one;
  const float v = -2.0f;
  one.observe(make_view(&v, 1));
  CHECK(one.range<torch_qint8>().max == 2.0f);
  CHECK(one.params<torch_qint8>().scale == 2.0f / 127.5f);
  CHECK(one.percentile() == 99.99);
  CHECK_THROWS_WITH(percentile_observer(0.0),
                    "qsparse::percentile_observer: percentile must be in (0, 100], got percentile = 0");
  CHECK_THROWS_AS(percentile_observer(99.0, 1000), qsparse::error);
}

TEST_CASE("entropy_observer and mse_observer: known answers", "[observer][entropy][mse]") {
  auto g = qsparse::testing::random_floats(200000, 1.0f, 12);
  g[10] = 40.0f;
  g[20] = -25.0f;
  g[30] = 31.0f;
  entropy_observer e;
  e.observe(make_view(g.data(), static_cast<index_t>(g.size())));
  const value_range t = e.range<tflite_int8_weight_per_tensor>();
  CHECK(t.max > 3.0f);  // the outliers are clipped, the Gaussian body is kept
  CHECK(t.max < 6.0f);
  CHECK(e.params<tflite_int8_weight_per_tensor>().scale == t.max / 127.0f);
  CHECK(e.histogram().bins() == 8192);
  // Uniform data has no tail to clip: the MSE range keeps (almost) everything.
  const auto u = uniform_values(50000, -2.0f, 2.0f);
  mse_observer m;
  m.observe(make_view(u.data(), 50000));
  CHECK(m.range<torch_qint8>().max >= 1.9f);
  CHECK(m.range<torch_qint8>().max <= 2.0f);
  // Constant data: every observer gives the min/max parameters.
  const std::vector<float> constant(300, -1.5f);
  minmax_observer mm;
  mm.observe(make_view(constant.data(), 300));
  entropy_observer ec;
  mse_observer mc;
  ec.observe(make_view(constant.data(), 300));
  mc.observe(make_view(constant.data(), 300));
  for (const per_tensor_params& p : {ec.params<tflite_int8_activation>(), mc.params<tflite_int8_activation>()}) {
    CHECK(p.scale == mm.params<tflite_int8_activation>().scale);
    CHECK(p.zero_point == mm.params<tflite_int8_activation>().zero_point);
  }
  CHECK(ec.params<torch_qint8>().scale == mm.params<torch_qint8>().scale);
  // MSE scores bin centres: -1.5 sits in the bin [-1.5, -1.5 + w), whose centre a slightly narrower
  // range represents better (a documented approximation of the binned search): the next candidate below
  // 1.5, one step of stop / 128 = 6 bins down.
  const value_range r = mc.range<torch_qint8>();
  CHECK(r.max < 1.5f);
  CHECK(r.max >= 1.5f - 6.0f * static_cast<float>(mc.histogram().bin_width()));
}

TEST_CASE("histogram observers: merge(a, b) equals observing a then b", "[observer][merge]") {
  auto x = qsparse::testing::random_floats(30000, 1.0f, 77);
  for (std::size_t i = 15000; i < x.size(); i += 997) x[i] *= 12.0f;  // the second half widens the range
  check_merge_equals_sequential<percentile_observer, torch_quint8>(percentile_observer(99.9), x);
  check_merge_equals_sequential<entropy_observer, torch_qint8>(entropy_observer(2048), x);
  check_merge_equals_sequential<entropy_observer, tflite_int8_activation>(entropy_observer(1024), x);
  check_merge_equals_sequential<mse_observer, tflite_int8_activation>(mse_observer(512), x);
  check_merge_equals_sequential<mse_observer, torch_qint8>(mse_observer(), x);
}

TEST_CASE("histogram observers: empty, all NaN, reset, errors", "[observer][errors]") {
  entropy_observer e(256);
  mse_observer m(256);
  percentile_observer p;
  const std::vector<float> nans(10, qnan);
  e.observe(make_view(nans.data(), 10));
  m.observe(make_view(nans.data(), 10));
  p.observe(make_view(nans.data(), 0));
  CHECK(e.empty());
  CHECK(m.empty());
  CHECK(p.empty());
  CHECK(e.params<tflite_int8_activation>().scale == 1.0f);
  CHECK(m.params<torch_quint8>().zero_point == 0);
  CHECK(p.params<torch_qint8>().scale == 1.0f);
  const std::vector<float> data = {1.0f, -2.0f};
  e.observe(make_view(data.data(), 2));
  CHECK_FALSE(e.empty());
  e.reset();
  CHECK(e.empty());
  CHECK_THROWS_WITH(entropy_observer(2048, search_options{0, 0}),
                    "qsparse::entropy_observer: options.start must be at least 1, got start = 0");
  CHECK_THROWS_AS(mse_observer(100), qsparse::error);
  entropy_observer other(512);
  CHECK_THROWS_AS(e.merge(other), qsparse::error);
  STATIC_REQUIRE(is_observer_v<percentile_observer>);
  STATIC_REQUIRE(is_observer_v<entropy_observer>);
  STATIC_REQUIRE(is_observer_v<mse_observer>);
}
