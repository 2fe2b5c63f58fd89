// qsparse/qat/fake_quantize_module.hpp — observer + fake quantization + switches for one tensor.
//
//   qsparse::fake_quantize_module<qsparse::torch_quint8> act;                     // moving-average observer
//   qsparse::fake_quantize_module<qsparse::tflite_int8_weight,
//                                 qsparse::per_channel_moving_average_minmax_observer> w{
//       qsparse::per_channel_moving_average_minmax_observer(0)};                 // per channel, axis 0
//   act.forward(x, y);            // observe x (if enabled), refresh params, y = fake_quantize(x) (if enabled)
//   act.backward(x, dy, dx);      // the straight-through gradient for the params forward used
//   act.disable_observer();       // freeze the range (PyTorch's disable_observer); act.params() stays
//
// PyTorch's FakeQuantize module: forward observes x when the observer is enabled and then takes the
// observer's parameters, fake-quantizes when fake quantization is enabled and copies x to y otherwise.
// backward applies fake_quantize_backward with the current parameters (dx = dy when fake quantization is
// disabled). The default observer is the moving-average min/max one, as in PyTorch; any observer of
// qsparse/calibrate works (its params<Scheme>() must match the scheme's granularity). Before the first
// observation the parameters are those of an empty observer (scale 1, the zero point of 0.0), or what
// set_params() loaded.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "qsparse/calibrate/minmax_observer.hpp"
#include "qsparse/calibrate/observer.hpp"
#include "qsparse/calibrate/per_channel_minmax_observer.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/qat/fake_quant.hpp"
#include "qsparse/quant/elementwise_n.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

/// The observer a fake_quantize_module uses unless told: moving-average min/max, per tensor or per channel.
template <class Scheme>
using default_fake_quantize_observer =
    std::conditional_t<Scheme::is_per_channel, per_channel_moving_average_minmax_observer, moving_average_minmax_observer>;

template <class Scheme, class Observer = default_fake_quantize_observer<Scheme>>
class fake_quantize_module {
  static_assert(is_scheme_v<Scheme>, "qsparse::fake_quantize_module: Scheme must be a qsparse::scheme<...>.");
  static_assert(is_observer_v<Observer>,
                "qsparse::fake_quantize_module: Observer must meet the observer contract (observe, merge, reset, empty).");

 public:
  explicit fake_quantize_module(Observer observer = Observer{}) : observer_(std::move(observer)) {
    refresh_params();
  }

  /// Observes x (observer enabled), then y = fake_quantize(x) (fake quantization enabled) or y = x.
  template <class InView, class OutView>
  void forward(const InView& x, const OutView& y) {
    if (observer_enabled_) {
      observer_.observe(x);
      refresh_params();
    }
    if (fake_quant_enabled_) {
      fake_quantize<Scheme>(x, y, params());
    } else {
      copy(x, y);
    }
  }

  /// dx = fake_quantize_backward(x, dy) with the current parameters, or dx = dy when disabled.
  template <class XView, class DyView, class DxView>
  void backward(const XView& x, const DyView& dy, const DxView& dx) const {
    if (fake_quant_enabled_) {
      fake_quantize_backward<Scheme>(x, dy, dx, params());
    } else {
      detail::check_all_same_extents("qsparse::fake_quantize_module::backward", x, dy, dx);
      copy(dy, dx);
    }
  }

  void enable_observer(bool enabled = true) { observer_enabled_ = enabled; }
  void disable_observer() { observer_enabled_ = false; }
  void enable_fake_quant(bool enabled = true) { fake_quant_enabled_ = enabled; }
  void disable_fake_quant() { fake_quant_enabled_ = false; }
  bool observer_enabled() const { return observer_enabled_; }
  bool fake_quant_enabled() const { return fake_quant_enabled_; }

  /// The parameters forward uses (per-channel: a view of storage this module owns).
  params_for<Scheme> params() const {
    if constexpr (Scheme::is_per_channel) {
      return channel_params_.view();
    } else {
      return params_;
    }
  }

  /// Loads parameters (validated for Scheme), e.g. from a checkpoint; the observer is left alone.
  void set_params(const per_tensor_params& p) {
    static_assert(!Scheme::is_per_channel, "qsparse::fake_quantize_module::set_params: this scheme is per channel.");
    validate<Scheme>(p, "qsparse::fake_quantize_module::set_params");
    params_ = p;
  }
  void set_params(per_channel_qparams p) {
    static_assert(Scheme::is_per_channel, "qsparse::fake_quantize_module::set_params: this scheme is per tensor.");
    detail::check(p.scale.size() == p.zero_point.size(), "qsparse::fake_quantize_module::set_params: ",
                  p.scale.size(), " scales but ", p.zero_point.size(), " zero points");
    for (std::size_t c = 0; c < p.scale.size(); ++c) {
      validate<with_granularity<Scheme, per_tensor>>(per_tensor_params{p.scale[c], p.zero_point[c]},
                                                     "qsparse::fake_quantize_module::set_params");
    }
    channel_params_ = std::move(p);
  }

  Observer& observer() { return observer_; }
  const Observer& observer() const { return observer_; }

 private:
  void refresh_params() {
    if constexpr (Scheme::is_per_channel) {
      channel_params_ = observer_.template params<Scheme>();
    } else {
      params_ = observer_.template params<Scheme>();
    }
  }

  template <class InView, class OutView>
  static void copy(const InView& in, const OutView& out) {
    detail::check_all_same_extents("qsparse::fake_quantize_module", in, out);
    const float* ip = in.data_handle();
    float* op = out.data_handle();
    detail::for_each_run_n(
        -1, [&](const auto& o, index_t n, index_t) { std::copy(ip + o[0], ip + o[0] + n, op + o[1]); },
        [&](const auto&, index_t) {},
        [&](const auto& o, index_t n, const auto& s, index_t) {
          for (index_t j = 0; j < n; ++j) op[o[1] + j * s[1]] = ip[o[0] + j * s[0]];
        },
        in, out);
  }

  Observer observer_;
  bool observer_enabled_ = true;
  bool fake_quant_enabled_ = true;
  per_tensor_params params_{};
  per_channel_qparams channel_params_{};
};

}  // namespace qsparse
