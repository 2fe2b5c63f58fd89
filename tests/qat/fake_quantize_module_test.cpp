#include "qsparse/qat/fake_quantize_module.hpp"

#include <catch2/catch.hpp>
#include <vector>

#include "qsparse/calibrate/histogram_observers.hpp"
#include "qsparse/core/tensor.hpp"
#include "support/testing.hpp"

namespace {
#include "data/torch_qat_vectors.inc"
}

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::to_bits;

TEST_CASE("fake_quantize_module equals PyTorch's FakeQuantize step by step", "[fake_quantize_module][torch]") {
  fake_quantize_module<torch_quint8> fq;  // MovingAverageMinMaxObserver(0.01), quint8, affine
  for (const auto& step : torch_module_steps) {
    std::vector<float> x(50), y(50);
    for (std::size_t i = 0; i < 50; ++i) x[i] = from_bits(step.x[i]);
    if (!step.observer_enabled) fq.disable_observer();
    fq.forward(make_view(x.data(), 50), make_view(y.data(), 50));
    CHECK(to_bits(fq.params().scale) == step.scale);
    CHECK(fq.params().zero_point == step.zero_point);
    for (std::size_t i = 0; i < 50; ++i) CHECK(to_bits(y[i]) == step.y[i]);
  }
  CHECK_FALSE(fq.observer_enabled());
}

TEST_CASE("fake_quantize_module: switches, backward, per channel, set_params", "[fake_quantize_module]") {
  fake_quantize_module<tflite_int8_activation, minmax_observer> m;
  CHECK(m.params().scale == 1.0f);  // nothing observed yet
  std::vector<float> x = {-1.0f, 0.3f, 2.0f, 5.0f}, y(4), dy = {1.0f, 1.0f, 1.0f, 1.0f}, dx(4);
  m.disable_fake_quant();
  m.forward(make_view(x.data(), 4), make_view(y.data(), 4));
  CHECK(y == x);  // observed, but passed through
  CHECK(m.observer().max() == 5.0f);
  m.backward(make_view(x.data(), 4), make_view(dy.data(), 4), make_view(dx.data(), 4));
  CHECK(dx == dy);
  m.enable_fake_quant();
  m.disable_observer();
  std::vector<float> wide = {-1.0f, 0.3f, 2.0f, 9.0f};
  m.forward(make_view(wide.data(), 4), make_view(y.data(), 4));
  const per_tensor_params p = choose_params<tflite_int8_activation>(-1.0f, 5.0f);  // frozen range
  CHECK(m.params().scale == p.scale);
  CHECK(y[3] == dequantize_value<round_half_away_from_zero>(127, p.scale, p.zero_point));
  m.backward(make_view(wide.data(), 4), make_view(dy.data(), 4), make_view(dx.data(), 4));
  // 9.0 is past the frozen range; so is -1.0: the nudged zero point -86 puts -1.0 at -42.5 → -43 → -129.
  CHECK(p.zero_point == -86);
  CHECK(dx == std::vector<float>{0.0f, 1.0f, 1.0f, 0.0f});
  m.set_params(per_tensor_params{0.5f, 3});
  CHECK(m.params().zero_point == 3);
  CHECK_THROWS_WITH(m.set_params(per_tensor_params{0.5f, 300}),
                    "qsparse::fake_quantize_module::set_params: zero_point = 300 is outside the storage range [-128, 127]");

  // Per channel, weights [3, 4] along axis 0.
  fake_quantize_module<tflite_int8_weight> w{per_channel_moving_average_minmax_observer(0)};
  tensor<float, 2> weights(3, 4), out(3, 4);
  for (index_t i = 0; i < 12; ++i) weights.data()[i] = static_cast<float>(i) - 5.5f;
  w.forward(std::as_const(weights).view(), out.view());
  CHECK(w.params().channels == 3);
  CHECK(w.params().scale[0] == 5.5f / 127.0f);
  tensor<std::int8_t, 2> q(3, 4);
  tensor<float, 2> back(3, 4);
  quantize<tflite_int8_weight>(std::as_const(weights).view(), q.view(), w.params());
  dequantize<tflite_int8_weight>(std::as_const(q).view(), back.view(), w.params());
  CHECK(std::equal(out.begin(), out.end(), back.begin()));
  per_channel_qparams loaded{{0.1f, 0.2f, 0.3f}, {0, 0, 0}, 0};
  w.set_params(loaded);
  CHECK(w.params().scale[2] == 0.3f);
  CHECK_THROWS_AS(w.set_params(per_channel_qparams{{0.1f}, {4}, 0}), qsparse::error);

  // Any observer: a histogram observer drives the module too.
  fake_quantize_module<torch_qint8, percentile_observer> h{percentile_observer(99.0)};
  h.forward(make_view(x.data(), 4), make_view(y.data(), 4));
  CHECK(h.params().zero_point == 0);
  CHECK_THROWS_AS(h.forward(make_view(x.data(), 4), make_view(y.data(), 3)), qsparse::error);
}
