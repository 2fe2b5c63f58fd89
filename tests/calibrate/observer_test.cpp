#include "qsparse/calibrate/observer.hpp"

#include <catch2/catch.hpp>
#include <cstdint>

using namespace qsparse;

namespace {
struct not_an_observer {
  void observe(int) {}
};
struct tiny_observer {
  template <class View>
  void observe(const View&) {}
  void merge(const tiny_observer&) {}
  void reset() {}
  bool empty() const { return true; }
};
}  // namespace

TEST_CASE("observer contract and the parameters of an empty observer", "[observer]") {
  STATIC_REQUIRE(is_observer_v<tiny_observer>);
  STATIC_REQUIRE_FALSE(is_observer_v<not_an_observer>);
  CHECK(detail::unobserved_params<tflite_int8_activation>().scale == 1.0f);
  CHECK(detail::unobserved_params<tflite_int8_activation>().zero_point == 0);
  CHECK(detail::unobserved_params<torch_quint8>().zero_point == 0);
  CHECK(detail::unobserved_params<scheme<std::uint8_t, per_tensor, symmetric, round_half_to_even>>().zero_point == 128);
  CHECK(detail::params_from_range<torch_quint8>(value_range{}).scale == 1.0f);
  const per_tensor_params p = detail::params_from_range<tflite_int8_activation>(value_range{-1.0f, 3.0f});
  CHECK(p.scale == choose_params<tflite_int8_activation>(-1.0f, 3.0f).scale);
  CHECK(p.zero_point == choose_params<tflite_int8_activation>(-1.0f, 3.0f).zero_point);
}

TEST_CASE("per_channel_qparams owns its arrays and hands out a view", "[observer]") {
  per_channel_qparams q;
  q.scale = {0.5f, 0.25f};
  q.zero_point = {1, -3};
  q.axis = 1;
  const per_channel_params v = q.view();
  CHECK(v.channels == 2);
  CHECK(v.axis == 1);
  CHECK(v[1].scale == 0.25f);
  CHECK(v[1].zero_point == -3);
  CHECK(q.channels() == 2);
}
