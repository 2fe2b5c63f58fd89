// examples/demo/compress.hpp — from a trained float network to compressed models, through qsparse's
// public API: float16 rounding, per-channel weight quantization, activation calibration (min/max or
// entropy observers), quantization-aware training (fake_quantize_module) and conversion.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "model.hpp"
#include "nn.hpp"
#include "qsparse/calibrate/group_clip_search.hpp"
#include "qsparse/calibrate/histogram_observers.hpp"
#include "qsparse/calibrate/minmax_observer.hpp"
#include "qsparse/calibrate/per_channel_minmax_observer.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/qat/fake_quantize_module.hpp"
#include "qsparse/quant/group_quantize.hpp"
#include "qsparse/quant/layer_params.hpp"
#include "qsparse/quant/quantize.hpp"

namespace demo {

inline qsparse::tensor_view<float, 2> view(matrix& m) { return qsparse::make_view(m.data(), m.rows(), m.cols()); }
inline qsparse::tensor_view<const float, 2> view(const matrix& m) {
  return qsparse::make_view(m.data(), m.rows(), m.cols());
}

/// The layer list of a model, without weights.
inline qmodel model_skeleton(const network& net, std::string name, std::string architecture, weight_format f) {
  qmodel m;
  m.name = std::move(name);
  m.architecture = std::move(architecture);
  m.format = f;
  for (const layer_spec& s : net.layers()) {
    qlayer l;
    l.spec = s;
    m.layers.push_back(std::move(l));
  }
  return m;
}

/// Per-channel (along N) symmetric int8 weights of a K×N float matrix: TFLite's converter.
inline void quantize_weights(const matrix& w, std::vector<std::int8_t>& q, std::vector<float>& scales) {
  qsparse::per_channel_minmax_observer observer(1);
  observer.observe(view(w));
  const qsparse::per_channel_qparams p = observer.params<weight_scheme>();
  q.resize(static_cast<std::size_t>(w.size()));
  qsparse::quantize<weight_scheme>(view(w), qsparse::make_view(q.data(), w.rows(), w.cols()), p.view());
  scales = p.scale;
}

/// One layer's float32, float16 or dynamic-range int8 weights and its float bias.
inline void fill_weight_only(qlayer& l, const parameters& p, weight_format f) {
  l.bias_f.assign(p.b.data(), p.b.data() + p.b.size());
  switch (f) {
    case weight_format::f32: l.w = p.w; break;
    case weight_format::f16:
      l.w16.resize(static_cast<std::size_t>(p.w.size()));
      for (Eigen::Index i = 0; i < p.w.size(); ++i) l.w16[static_cast<std::size_t>(i)] = qsparse::float16(p.w.data()[i]);
      break;
    case weight_format::dynamic_int8: quantize_weights(p.w, l.wq, l.w_scale); break;
    case weight_format::int8:
    case weight_format::int4_group:
    case weight_format::int16x8:
    case weight_format::mixed: throw std::logic_error("fill_weight_only: int8, int4, 16x8 and mixed have their own builders");
  }
}

/// float32, float16 or dynamic-range int8 (weights only; activations stay float).
inline qmodel make_weight_only(const network& net, const std::string& name, const std::string& arch, weight_format f) {
  qmodel m = model_skeleton(net, name, arch, f);
  std::size_t wi = 0;
  for (qlayer& l : m.layers) {
    if (!l.spec.has_weights()) continue;
    fill_weight_only(l, net.params()[wi++], f);
  }
  return m;
}

/// How the 4-bit group scales are chosen: from each group's max |w| (round to nearest), or by the clipping
/// search that minimises each group's weight MSE (qsparse::search_group_clipping, AWQ's grid).
enum class int4_scales { round_to_nearest, clip_search };

inline const char* to_string(int4_scales c) { return c == int4_scales::clip_search ? "MSE clip search" : "round to nearest"; }

/// 4-bit group-wise weights (int4_weight_scheme, groups of `group` along K); activations stay float and are
/// quantized per row by the kernel at run time. K is padded with zero weights to a multiple of the group; a
/// layer with K below the group size (the CNN's first conv, K = 9) gets one group per output channel instead.
inline void fill_int4(qlayer& l, const parameters& p, int group, int4_scales how) {
  {
    l.bias_f.assign(p.b.data(), p.b.data() + p.b.size());
    // A layer shallower than one group is one group per output channel (K rounded up to the kernel's 8).
    const int k = l.spec.k(), n = l.spec.out_c, g = std::min(group, padded_depth(k, 8)), kp = padded_depth(k, g);
    matrix padded = matrix::Zero(kp, n);
    padded.topRows(k) = p.w;
    l.group = g;
    l.w4.assign(static_cast<std::size_t>(kp) * static_cast<std::size_t>(n), 0);
    l.w4_scale.assign(static_cast<std::size_t>(n) * static_cast<std::size_t>(kp / g), 0.0f);
    const auto params =
        how == int4_scales::clip_search
            ? qsparse::search_group_clipping<int4_weight_scheme>(view(padded), 0, g, qsparse::clip_search_options{},
                                                                 l.w4_scale.data(), nullptr)
            : qsparse::choose_group_params<int4_weight_scheme>(view(padded), 0, g, l.w4_scale.data(), nullptr);
    qsparse::quantize<int4_weight_scheme>(view(padded), qsparse::make_view(l.w4.data(), kp, n), params);
  }
}

inline qmodel make_int4(const network& net, const std::string& name, const std::string& arch, int group, int4_scales how) {
  qmodel m = model_skeleton(net, name, arch, weight_format::int4_group);
  std::size_t wi = 0;
  for (qlayer& l : m.layers) {
    if (!l.spec.has_weights()) continue;
    fill_int4(l, net.params()[wi++], group, how);
  }
  return m;
}

/// The activation ranges of a full-integer model: one per activation point (0: the network input; i + 1:
/// the output of layer i). A pooling layer's output shares its input's parameters (int8 max pooling
/// keeps the scale).
using activation_params = std::vector<qsparse::per_tensor_params>;

enum class calibration_method { minmax, entropy };

inline const char* to_string(calibration_method c) { return c == calibration_method::minmax ? "minmax" : "entropy"; }

/// Entropy calibration of a hidden activation as TensorRT does it: the KL search on |x| with the zero
/// bin replaced by its neighbour (qsparse::entropy_range, symmetric). The hidden activations are ReLU
/// outputs, half or more of them exactly 0: left in, that spike dominates the divergence and the affine
/// window search clips most of the tail (-5 points on the MLP with 100 samples). The clipping point T then
/// bounds the observed range: [min, min(max, T)] feeds the scheme's choose_params.
inline qsparse::per_tensor_params entropy_params(const qsparse::entropy_observer& e) {
  const qsparse::value_range seen = e.histogram().range();
  if (seen.empty()) return e.params<activation_scheme>();
  const std::int64_t levels = activation_scheme::qmax - activation_scheme::qmin + 1;
  const qsparse::value_range t = qsparse::entropy_range(e.histogram(), levels, /*symmetric=*/true, e.options());
  return qsparse::choose_params<activation_scheme>(std::max(seen.min, t.min), std::min(seen.max, t.max));
}

/// Runs `samples` training images through the float network and observes every activation point.
inline activation_params calibrate(network& net, const matrix& x, int samples, calibration_method method) {
  const std::size_t n = net.layers().size();
  std::vector<qsparse::minmax_observer> mm(n + 1);
  std::vector<std::unique_ptr<qsparse::entropy_observer>> ent(n + 1);
  for (auto& e : ent) e = std::make_unique<qsparse::entropy_observer>();
  samples = std::min<int>(samples, static_cast<int>(x.rows()));
  matrix xb;
  for (int s = 0; s < samples; s += 250) {
    const int rows = std::min(250, samples - s);
    xb = x.middleRows(s, rows);
    net.forward(xb, nullptr, false);
    for (std::size_t p = 0; p <= n; ++p) {
      if (p > 0 && !net.layers()[p - 1].has_weights()) continue;
      const matrix& a = net.activation(p);
      if (method == calibration_method::minmax || p == 0 || p == n) {  // input and logits: min/max
        mm[p].observe(view(a));
      } else {
        ent[p]->observe(view(a));
      }
    }
  }
  activation_params out(n + 1);
  for (std::size_t p = 0; p <= n; ++p) {
    if (p > 0 && !net.layers()[p - 1].has_weights()) {
      out[p] = out[p - 1];
    } else {
      out[p] = method == calibration_method::minmax || p == 0 || p == n ? mm[p].params<activation_scheme>()
                                                                        : entropy_params(*ent[p]);
    }
  }
  return out;
}

/// A layer's int32 bias at the scale of its int8 products: input.scale · w_scale[n] (both set before).
inline void quantize_int8_bias(qlayer& l, const parameters& p) {
  const qsparse::per_channel_params wp{l.w_scale.data(), nullptr, static_cast<std::ptrdiff_t>(l.w_scale.size()), 1};
  l.bias_q = qsparse::quantize_bias<weight_scheme>(p.b.data(), p.b.size(), l.input.scale, wp);
}

/// A full-integer int8 model: every layer's input and output parameters from `act`; each weighted layer
/// j's int8 weights and per-channel scales set by set_weights(l, net.params()[j], j), then its int32
/// bias quantized at their scale. make_int8 quantizes the float weights, make_clustered (cluster.hpp)
/// decodes the clusters.
template <class SetWeights>
qmodel make_int8_model(const network& net, const std::string& name, const std::string& arch,
                       const activation_params& act, SetWeights set_weights) {
  qmodel m = model_skeleton(net, name, arch, weight_format::int8);
  m.input = act[0];
  std::size_t wi = 0;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    qlayer& l = m.layers[i];
    l.input = act[i];
    l.output = act[i + 1];
    if (!l.spec.has_weights()) continue;
    const parameters& p = net.params()[wi];
    set_weights(l, p, wi++);
    quantize_int8_bias(l, p);
  }
  return m;
}

/// Full-integer int8: per-channel weights, int32 biases, the given activation parameters. `storage[i]`
/// (one per weighted layer, dense when empty) picks how each layer's weights are stored and run.
inline qmodel make_int8(const network& net, const std::string& name, const std::string& arch,
                        const activation_params& act, const std::vector<storage_kind>& storage = {}) {
  return make_int8_model(net, name, arch, act, [&](qlayer& l, const parameters& p, std::size_t j) {
    if (j < storage.size()) l.storage = storage[j];
    quantize_weights(p.w, l.wq, l.w_scale);
  });
}

/// The int16 input scale of a 16x8 layer whose input the int8 parameters `p` describe: the largest
/// magnitude of p's int8 range, [(-128 - zp) · s, (127 - zp) · s], over 32767 (symmetric, zero point 0).
inline float int16_scale_from(const qsparse::per_tensor_params& p) {
  const float lo = static_cast<float>(-128 - p.zero_point) * p.scale, hi = static_cast<float>(127 - p.zero_point) * p.scale;
  return std::max(std::abs(lo), std::abs(hi)) / 32767.0f;
}

/// One layer of a mixed-precision model in format f. int8 and int16x8 layers take their input (and int8 its
/// output) quantization from `act` at points i and i + 1, as make_int8 does; int4 layers use `group`
/// along K with the MSE clipping search.
inline void fill_layer(qlayer& l, const parameters& p, weight_format f, const qsparse::per_tensor_params& in,
                       const qsparse::per_tensor_params& out, int group) {
  l.format = f;
  switch (f) {
    case weight_format::int4_group: fill_int4(l, p, group, int4_scales::clip_search); break;
    case weight_format::int8: {
      l.input = in;
      l.output = out;
      quantize_weights(p.w, l.wq, l.w_scale);
      quantize_int8_bias(l, p);
      break;
    }
    case weight_format::int16x8: {
      quantize_weights(p.w, l.wq, l.w_scale);
      l.in16_scale = int16_scale_from(in);
      // int64 bias at scale in16 · w_scale[n], rounded half away from zero (TFLite's 16x8 bias).
      l.bias_q64.resize(l.w_scale.size());
      for (std::size_t c = 0; c < l.w_scale.size(); ++c)
        l.bias_q64[c] = static_cast<std::int64_t>(std::round(static_cast<double>(p.b(static_cast<Eigen::Index>(c))) /
                                                             (static_cast<double>(l.in16_scale) * static_cast<double>(l.w_scale[c]))));
      break;
    }
    case weight_format::f32:
    case weight_format::f16:
    case weight_format::dynamic_int8: fill_weight_only(l, p, f); break;
    case weight_format::mixed: throw std::invalid_argument("fill_layer: a layer cannot be \"mixed\"");
  }
}

/// A mixed-precision model: weighted layer j in formats[j] (f32, f16, dynamic_int8, int8, int4_group or
/// int16x8), activation parameters from `act` (calibrate's layout).
inline qmodel make_mixed(const network& net, const std::string& name, const std::string& arch, const activation_params& act,
                         const std::vector<weight_format>& formats, int group = 32) {
  if (formats.size() != net.params().size()) throw std::invalid_argument("make_mixed: one format per weighted layer");
  qmodel m = model_skeleton(net, name, arch, weight_format::mixed);
  std::size_t wi = 0;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    qlayer& l = m.layers[i];
    if (!l.spec.has_weights()) continue;
    fill_layer(l, net.params()[wi], formats[wi], act[i], act[i + 1], group);
    ++wi;
  }
  return m;
}

/// Fake quantization of every tensor the int8 model quantizes, as training hooks: the network input and
/// each weighted layer's output (int8 affine, moving-average min/max as PyTorch's FakeQuantize), and
/// every weight matrix (int8 symmetric per output channel, re-observed each step) — except the weighted
/// layers j with float_weights[j] true (empty: none), whose weights stay float on the forward pass (they
/// are stored in float32 / float16, e.g. the sensitive first and last layers of a mixed model).
class qat_hooks {
 public:
  explicit qat_hooks(const network& net, std::vector<bool> float_weights = {})
      : layers_(net.layers()), float_weights_(std::move(float_weights)) {
    if (!float_weights_.empty() && float_weights_.size() != net.params().size())
      throw std::invalid_argument("qat_hooks: float_weights needs one entry per weighted layer (" + std::to_string(net.params().size()) +
                                  "), got " + std::to_string(float_weights_.size()));
    float_weights_.resize(net.params().size(), false);
    const std::size_t n = layers_.size();
    act_.resize(n + 1);
    for (auto& a : act_) a = std::make_unique<qsparse::fake_quantize_module<activation_scheme>>();
    for (std::size_t i = 0; i < net.params().size(); ++i)
      w_.push_back(std::make_unique<weight_fq>(qsparse::per_channel_minmax_observer(1)));
    hooks_.weight_forward = [this](int i, const matrix& w, matrix& wq) {
      if (float_weights_[static_cast<std::size_t>(i)]) {
        wq = w;
        return;
      }
      weight_fq& f = *w_[static_cast<std::size_t>(i)];
      f.observer().reset();
      wq.resize(w.rows(), w.cols());
      f.forward(view(w), view(wq));
    };
    hooks_.weight_backward = [this](int i, const matrix& w, matrix& grad) {
      if (float_weights_[static_cast<std::size_t>(i)]) return;  // identity
      tmp_ = grad;
      w_[static_cast<std::size_t>(i)]->backward(view(w), view(tmp_), view(grad));
    };
    hooks_.activation_forward = [this](int p, matrix& x, matrix* saved) {
      if (p > 0 && !layers_[static_cast<std::size_t>(p - 1)].has_weights()) return;
      matrix& keep = saved != nullptr ? *saved : tmp_;
      keep = x;
      act_[static_cast<std::size_t>(p)]->forward(view(keep), view(x));
    };
    hooks_.activation_backward = [this](int p, const matrix& saved, matrix& grad) {
      tmp_ = grad;
      act_[static_cast<std::size_t>(p)]->backward(view(saved), view(tmp_), view(grad));
    };
  }

  const training_hooks& hooks() const { return hooks_; }
  training_hooks& hooks() { return hooks_; }

  /// Observers on (calibrating and adapting) or frozen.
  void observe_activations(bool on) {
    for (auto& a : act_) a->enable_observer(on);
  }

  /// The learned activation parameters, in the layout make_int8 takes.
  activation_params params() const {
    activation_params out(act_.size());
    for (std::size_t p = 0; p < act_.size(); ++p) {
      out[p] = (p > 0 && !layers_[p - 1].has_weights()) ? out[p - 1] : act_[p]->params();
    }
    return out;
  }

 private:
  using weight_fq = qsparse::fake_quantize_module<weight_scheme, qsparse::per_channel_minmax_observer>;
  std::vector<layer_spec> layers_;
  std::vector<bool> float_weights_;
  std::vector<std::unique_ptr<qsparse::fake_quantize_module<activation_scheme>>> act_;
  std::vector<std::unique_ptr<weight_fq>> w_;
  training_hooks hooks_;
  matrix tmp_;
};

}  // namespace demo
