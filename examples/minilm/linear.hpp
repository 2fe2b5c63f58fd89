// examples/minilm/linear.hpp — the linear layers of the transformer runner, one class per variant.
//
// A linear layer computes y = x W^T + b for M rows at once (x: M × in, y: M × out, both row-major), from
// torch's weight (out × in) and bias. The variants:
//   f32           float32 weights, Eigen's float GEMM (the float baseline);
//   f16           IEEE binary16 weights, qsparse::gemm_f16 (float activations, float32 accumulation);
//   dynamic_int8  int8 weights, symmetric per output channel (scale = max|w| / 127, round half away from
//                 zero), qsparse::hybrid_gemm: each activation row quantized to int8 on the fly
//                 (asymmetric, TFLite's dynamic-range FullyConnected), int32 products, float output.
//   static_int8   int8 weights as above; activations int8 per tensor (TFLite's int8 activation scheme) with a
//                 range calibrated on real sentences (min/max or the 99.99th percentile observer);
//                 qsparse::gemm (int8 x int8, int32 sums), dequantize_float_per_channel output;
//   smooth_int8   int8 dynamic after SmoothQuant's per-channel smoothing (Xiao et al. 2022): from each input
//                 channel's calibrated max |x| and the weights' max |w|, s = max|x|^a / max|w|^(1-a); the
//                 weights become W diag(s) (then int8 per output channel as dynamic_int8) and each input
//                 row x diag(1/s) before hybrid_gemm's per-row quantization (the same product in exact
//                 arithmetic, the outlier channels shrunk before the int8 step);
//   w16a8         "16x8": int8 weights as above, int16 activations per tensor (symmetric, calibrated min/max),
//                 qsparse::gemm_16x8 (exact int64 sums), float output;
//   q4            4-bit weights, symmetric int4 with one float scale per group of 32 or 128 along K, the
//                 scales by round to nearest or by the MSE clipping search; qsparse::gemm_q4 (each activation
//                 row quantized to int8 on the fly, int32 group sums accumulated in float);
//   pruned_int8   one-shot magnitude pruning of the float weights (unstructured 50 %, 2:4 along K, or 4 x 16
//                 blocks at 50 %), then dynamic-range int8 as dynamic_int8 on the sparse int8 GEMM
//                 (qsparse::sparse_gemm: bitmask, two_of_four or block_4x16 format) with hybrid_gemm's per-row
//                 asymmetric quantization and float output, bit for bit.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "qsparse/calibrate/group_clip_search.hpp"
#include "qsparse/calibrate/histogram_observers.hpp"
#include "qsparse/calibrate/minmax_observer.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/gemm_16x8.hpp"
#include "qsparse/gemm/gemm_f16.hpp"
#include "qsparse/gemm/gemm_q4.hpp"
#include "qsparse/gemm/hybrid.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "qsparse/gemm/packed_weights_16x8.hpp"
#include "qsparse/gemm/packed_weights_f16.hpp"
#include "qsparse/gemm/packed_weights_q4.hpp"
#include "qsparse/gemm/sparse_gemm.hpp"
#include "qsparse/quant/group_quantize.hpp"
#include "qsparse/quant/quantize.hpp"
#include "qsparse/quant/system_schemes.hpp"
#include "qsparse/sparsity/block_mask.hpp"
#include "qsparse/sparsity/magnitude.hpp"
#include "qsparse/sparsity/n_of_m.hpp"
#include "qsparse/spec/packed_sparse_weights.hpp"

namespace minilm {

enum class variant {
  f32,
  f16,
  dynamic_int8,
  static_int8_minmax,
  static_int8_percentile,
  w16a8,
  q4_g32,
  q4_g32_clip,
  q4_g128_clip,
  pruned50_int8,
  pruned24_int8,
  pruned_block_int8,
  mixed_int8,
  mixed_q4,
  smooth_int8,
};

/// Every variant, in the report's order.
inline const std::vector<variant>& all_variants() {
  static const std::vector<variant> v = {
      variant::f32,           variant::f16,         variant::dynamic_int8,  variant::smooth_int8,
      variant::static_int8_minmax, variant::static_int8_percentile, variant::w16a8, variant::q4_g32,
      variant::q4_g32_clip,   variant::q4_g128_clip, variant::pruned50_int8, variant::pruned24_int8,
      variant::pruned_block_int8, variant::mixed_int8, variant::mixed_q4};
  return v;
}

inline const char* to_string(variant v) {
  switch (v) {
    case variant::f32: return "float32";
    case variant::f16: return "float16 weights";
    case variant::dynamic_int8: return "int8 dynamic (hybrid)";
    case variant::static_int8_minmax: return "int8 static, min/max";
    case variant::static_int8_percentile: return "int8 static, 99.99th pct";
    case variant::w16a8: return "16x8 (int16 act.)";
    case variant::q4_g32: return "4-bit g32, RTN";
    case variant::q4_g32_clip: return "4-bit g32, clip search";
    case variant::q4_g128_clip: return "4-bit g128, clip search";
    case variant::pruned50_int8: return "pruned 50% + int8";
    case variant::pruned24_int8: return "pruned 2:4 + int8";
    case variant::pruned_block_int8: return "pruned 4x16 50% + int8";
    case variant::mixed_int8: return "int8 mixed (f16 sensitive)";
    case variant::mixed_q4: return "4-bit mixed (int8 sensitive)";
    case variant::smooth_int8: return "int8 dynamic, SmoothQuant";
  }
  return "?";
}

/// The name --variant takes.
inline const char* option_name(variant v) {
  switch (v) {
    case variant::f32: return "f32";
    case variant::f16: return "f16";
    case variant::dynamic_int8: return "int8-dynamic";
    case variant::static_int8_minmax: return "int8-static-minmax";
    case variant::static_int8_percentile: return "int8-static-pct";
    case variant::w16a8: return "16x8";
    case variant::q4_g32: return "q4-g32";
    case variant::q4_g32_clip: return "q4-g32-clip";
    case variant::q4_g128_clip: return "q4-g128-clip";
    case variant::pruned50_int8: return "prune50-int8";
    case variant::pruned24_int8: return "prune24-int8";
    case variant::pruned_block_int8: return "prune4x16-int8";
    case variant::mixed_int8: return "int8-mixed";
    case variant::mixed_q4: return "q4-mixed";
    case variant::smooth_int8: return "int8-smooth";
  }
  return "?";
}

/// Whether v is a mixed-precision variant: most linear layers in a low-precision variant (mixed_low), the
/// ones bert_model::calibrate measures as the most sensitive in a higher one (mixed_high).
inline bool is_mixed(variant v) { return v == variant::mixed_int8 || v == variant::mixed_q4; }

/// The variant of a mixed variant's ordinary layers (v itself for the others).
inline variant mixed_low(variant v) {
  return v == variant::mixed_int8 ? variant::dynamic_int8 : v == variant::mixed_q4 ? variant::q4_g32_clip : v;
}

/// The variant of a mixed variant's sensitive layers (v itself for the others).
inline variant mixed_high(variant v) {
  return v == variant::mixed_int8 ? variant::f16 : v == variant::mixed_q4 ? variant::dynamic_int8 : v;
}

/// How many of a model's `slots` linear slots (q | k | v, attention output, intermediate, output per
/// encoder layer) a mixed variant keeps in its higher precision unless told otherwise
/// (bert_model::set_mixed_keep): a sixth for int8 (4 of MiniLM's 24), half for 4-bit (12 of 24).
inline std::size_t default_mixed_keep(variant v, std::size_t slots) { return v == variant::mixed_q4 ? slots / 2 : slots / 6; }

/// Whether the variant needs calibration (bert_model::calibrate) before it runs: the static variants
/// calibrate their activation ranges, the mixed ones select their sensitive layers.
inline bool needs_calibration(variant v) {
  return v == variant::static_int8_minmax || v == variant::static_int8_percentile || v == variant::w16a8 ||
         v == variant::smooth_int8 || is_mixed(v);
}

/// Whether the attention products run on qsparse's int8 GEMM (every variant with int8 activations).
inline bool quantized_attention(variant v) { return v != variant::f32 && v != variant::f16; }

/// Parses a variant name as the runner's --variant takes it (option_name).
inline variant parse_variant(const std::string& s) {
  std::string names;
  for (const variant v : all_variants()) {
    if (s == option_name(v)) return v;
    names += std::string(names.empty() ? "" : ", ") + option_name(v);
  }
  throw std::runtime_error("minilm: unknown variant \"" + s + "\" (" + names + ")");
}

class linear {
 public:
  linear(int in, int out) : in_(in), out_(out) {}
  virtual ~linear() = default;
  linear(const linear&) = delete;
  linear& operator=(const linear&) = delete;

  /// y (rows × out) = x (rows × in) W^T + b.
  virtual void forward(const qsparse::context& ctx, const float* x, int rows, float* y) const = 0;
  /// The bytes its weights and bias occupy as stored for inference (packing padding not counted).
  virtual std::size_t bytes() const = 0;
  /// Calibration (static variants): between begin and end, forward computes in float32 and observes its
  /// input; end freezes the activation range. Others ignore both.
  virtual void begin_calibration() {}
  virtual void end_calibration() {}

  int in() const noexcept { return in_; }
  int out() const noexcept { return out_; }

 private:
  int in_, out_;
};

using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace detail {

/// y = x W + b with Eigen, rows cut into ctx.concurrency() chunks run on ctx's threads (Eigen alone runs
/// one thread without OpenMP). Each row's result does not depend on the cut.
inline void eigen_linear(const qsparse::context& ctx, const row_matrix& w_in_out, const Eigen::RowVectorXf& b,
                         const float* x, int rows, float* y) {
  if (rows == 0) return;
  const auto in = static_cast<Eigen::Index>(w_in_out.rows()), out = static_cast<Eigen::Index>(w_in_out.cols());
  const std::ptrdiff_t chunks = std::min<std::ptrdiff_t>(ctx.concurrency(), rows);
  ctx.run_tasks(chunks, [&](std::ptrdiff_t t) {
    const std::ptrdiff_t r0 = rows * t / chunks, r1 = rows * (t + 1) / chunks;
    if (r1 == r0) return;
    Eigen::Map<const row_matrix> xm(x + r0 * in, r1 - r0, in);
    Eigen::Map<row_matrix> ym(y + r0 * out, r1 - r0, out);
    ym.noalias() = xm * w_in_out;
    ym.rowwise() += b;
  });
}

/// Symmetric per-output-channel int8 weights (scale = max|w| / 127, round half away from zero), K × N
/// (transposed from torch's out × in); scale[n] written.
inline std::vector<std::int8_t> quantize_weights_int8(const float* w_out_in, int in, int out, std::vector<float>& scale) {
  const auto n = static_cast<std::size_t>(out), k = static_cast<std::size_t>(in);
  std::vector<std::int8_t> q(k * n);
  scale.assign(n, 1.0f);
  for (std::size_t o = 0; o < n; ++o) {
    float mx = 0.0f;
    for (std::size_t i = 0; i < k; ++i) mx = std::max(mx, std::fabs(w_out_in[o * k + i]));
    const float s = mx > 0.0f ? mx / 127.0f : 1.0f;
    scale[o] = s;
    for (std::size_t i = 0; i < k; ++i) {
      const float r = std::round(w_out_in[o * k + i] / s);
      q[i * n + o] = static_cast<std::int8_t>(std::min(127.0f, std::max(-127.0f, r)));
    }
  }
  return q;
}

/// torch's out × in weights transposed to K × N float.
inline std::vector<float> transpose_weights(const float* w_out_in, int in, int out) {
  const auto n = static_cast<std::size_t>(out), k = static_cast<std::size_t>(in);
  std::vector<float> t(k * n);
  for (std::size_t o = 0; o < n; ++o)
    for (std::size_t i = 0; i < k; ++i) t[i * n + o] = w_out_in[o * k + i];
  return t;
}

}  // namespace detail

class f32_linear final : public linear {
 public:
  f32_linear(const float* w_out_in, const float* bias, int in, int out)
      : linear(in, out), w_(Eigen::Map<const row_matrix>(w_out_in, out, in).transpose()),
        b_(Eigen::Map<const Eigen::RowVectorXf>(bias, out)) {}

  void forward(const qsparse::context& ctx, const float* x, int rows, float* y) const override {
    detail::eigen_linear(ctx, w_, b_, x, rows, y);
  }
  std::size_t bytes() const override {
    return (static_cast<std::size_t>(in()) + 1) * static_cast<std::size_t>(out()) * sizeof(float);
  }

 private:
  row_matrix w_;  // in × out
  Eigen::RowVectorXf b_;
};

class f16_linear final : public linear {
 public:
  f16_linear(const float* w_out_in, const float* bias, int in, int out)
      : linear(in, out), b_(bias, bias + out) {
    const auto n = static_cast<std::size_t>(out), k = static_cast<std::size_t>(in);
    std::vector<qsparse::float16> w16(k * n);
    for (std::size_t o = 0; o < n; ++o)
      for (std::size_t i = 0; i < k; ++i) w16[i * n + o] = qsparse::float16(w_out_in[o * k + i]);
    packed_ = qsparse::pack_weights_f16(qsparse::make_view(w16.data(), in, out));
  }

  void forward(const qsparse::context& ctx, const float* x, int rows, float* y) const override {
    if (rows == 0) return;
    qsparse::gemm_f16(ctx, qsparse::make_view(x, rows, in()), packed_.view(), qsparse::make_view(y, rows, out()),
                      qsparse::pipeline(qsparse::bias_add_float{b_.data()}));
  }
  std::size_t bytes() const override {
    return static_cast<std::size_t>(in()) * static_cast<std::size_t>(out()) * 2 + b_.size() * sizeof(float);
  }

 private:
  std::vector<float> b_;
  qsparse::packed_weights_f16 packed_;
};

class hybrid_int8_linear final : public linear {
 public:
  hybrid_int8_linear(const float* w_out_in, const float* bias, int in, int out)
      : linear(in, out), b_(bias, bias + out) {
    const std::vector<std::int8_t> q = detail::quantize_weights_int8(w_out_in, in, out, scale_);
    packed_ = qsparse::pack_weights(qsparse::make_view(q.data(), in, out), 0);
  }

  void forward(const qsparse::context& ctx, const float* x, int rows, float* y) const override {
    if (rows == 0) return;
    qsparse::hybrid_params p;
    p.weight_scales = scale_.data();
    p.per_channel = true;
    p.bias = b_.data();
    p.input_quantization = qsparse::hybrid_quantization::asymmetric;
    qsparse::hybrid_gemm(ctx, qsparse::make_view(x, rows, in()), packed_.view(), qsparse::make_view(y, rows, out()), p);
  }
  std::size_t bytes() const override {
    return static_cast<std::size_t>(in()) * static_cast<std::size_t>(out()) + (b_.size() + scale_.size()) * sizeof(float);
  }

 private:
  std::vector<float> b_, scale_;
  qsparse::packed_weights packed_;
};

/// How a static variant turns what it observed into an activation range.
enum class calibration_method { minmax, percentile };

/// The float32 layer a static variant runs while it calibrates, and its observers.
class calibrating_linear : public linear {
 public:
  calibrating_linear(const float* w_out_in, const float* bias, int in, int out, calibration_method m)
      : linear(in, out), method_(m), b_(bias, bias + out),
        w_(Eigen::Map<const row_matrix>(w_out_in, out, in).transpose()) {}

  void begin_calibration() override {
    if (calibrated_) throw std::runtime_error("minilm: a static layer is calibrated once");
    calibrating_ = true;
  }
  void end_calibration() override {
    if (!calibrating_) return;
    calibrating_ = false;
    calibrated_ = true;
    freeze();
    w_ = row_matrix();  // the float weights served calibration only
  }
  bool calibrated() const noexcept { return calibrated_; }
  calibration_method method() const noexcept { return method_; }

 protected:
  /// Called by forward: false when the layer calibrates (then y is float32 and x observed).
  bool calibrating_forward(const qsparse::context& ctx, const float* x, int rows, float* y) const {
    if (calibrated_) return false;
    if (!calibrating_) throw std::runtime_error("minilm: a static int8 / 16x8 layer ran before calibration (bert_model::calibrate)");
    if (rows == 0) return true;
    const auto v = qsparse::make_view(x, rows, in());
    minmax_.observe(v);
    if (method_ == calibration_method::percentile) percentile_.observe(v);
    observe_channels(x, rows);
    detail::eigen_linear(ctx, w_, Eigen::Map<const Eigen::RowVectorXf>(b_.data(), out()), x, rows, y);
    return true;
  }
  virtual void freeze() = 0;
  /// Called with every calibration input (after the observers): for a layer that needs more than the range.
  virtual void observe_channels(const float* /*x*/, int /*rows*/) const {}
  /// The float32 weights (in × out) until end_calibration.
  const row_matrix& float_weights() const noexcept { return w_; }

  calibration_method method_;
  std::vector<float> b_;
  mutable qsparse::minmax_observer minmax_;
  mutable qsparse::percentile_observer percentile_{99.99};

 private:
  row_matrix w_;
  bool calibrating_ = false, calibrated_ = false;
};

/// Static int8: activations int8 per tensor with a calibrated range, int8 weights per channel.
class static_int8_linear final : public calibrating_linear {
 public:
  using act_scheme = qsparse::tflite_int8_activation;

  static_int8_linear(const float* w_out_in, const float* bias, int in, int out, calibration_method m)
      : calibrating_linear(w_out_in, bias, in, out, m) {
    q_ = detail::quantize_weights_int8(w_out_in, in, out, w_scale_);
    packed_ = qsparse::pack_weights(qsparse::make_view(q_.data(), in, out), 0);
  }

  void forward(const qsparse::context& ctx, const float* x, int rows, float* y) const override {
    if (calibrating_forward(ctx, x, rows, y) || rows == 0) return;
    std::vector<std::int8_t> qa(static_cast<std::size_t>(rows) * static_cast<std::size_t>(in()));
    qsparse::quantize<act_scheme>(qsparse::make_view(x, rows, in()), qsparse::make_view(qa.data(), rows, in()), act_);
    qsparse::gemm(ctx, qsparse::quantized(qsparse::make_view(static_cast<const std::int8_t*>(qa.data()), rows, in()), act_.zero_point),
                  packed_.view(), qsparse::make_view(y, rows, out()),
                  qsparse::pipeline(qsparse::dequantize_float_per_channel{out_scale_.data(), b_.data()}));
  }
  std::size_t bytes() const override {
    return static_cast<std::size_t>(in()) * static_cast<std::size_t>(out()) + (b_.size() + w_scale_.size()) * sizeof(float);
  }

  /// The frozen activation parameters, weight scales and K × N int8 weights (for tests).
  const qsparse::per_tensor_params& activation_params() const noexcept { return act_; }
  const std::vector<float>& weight_scales() const noexcept { return w_scale_; }
  const std::vector<float>& output_scales() const noexcept { return out_scale_; }
  const std::vector<std::int8_t>& weights() const noexcept { return q_; }
  const std::vector<float>& bias() const noexcept { return b_; }

 private:
  void freeze() override {
    act_ = method_ == calibration_method::minmax ? minmax_.params<act_scheme>() : percentile_.params<act_scheme>();
    out_scale_.resize(w_scale_.size());
    for (std::size_t n = 0; n < w_scale_.size(); ++n) out_scale_[n] = act_.scale * w_scale_[n];
  }

  std::vector<std::int8_t> q_;
  std::vector<float> w_scale_, out_scale_;
  qsparse::packed_weights packed_;
  qsparse::per_tensor_params act_;
};

/// SmoothQuant's smoothing factors (Xiao et al. 2022, "SmoothQuant: Accurate and Efficient Post-Training
/// Quantization for Large Language Models", eq. 4) for one linear layer: s[j] = x_max[j]^alpha /
/// w_max[j]^(1 - alpha), computed in double and rounded to float, for x_max[j] the largest |x| input channel
/// j took during calibration and w_max[j] the largest |w| of the weights it multiplies; s[j] = 1 when either
/// is 0 (a channel never seen, or unused). alpha in [0, 1]: 0 leaves the activations alone (s = 1 / w_max),
/// 1 moves all of their range into the weights.
inline std::vector<float> smoothing_factors(const std::vector<float>& x_max, const std::vector<float>& w_max, double alpha) {
  if (x_max.size() != w_max.size()) {
    throw std::runtime_error("minilm: smoothing_factors: " + std::to_string(x_max.size()) + " activation maxima for " +
                             std::to_string(w_max.size()) + " weight maxima");
  }
  if (!(alpha >= 0.0 && alpha <= 1.0)) throw std::runtime_error("minilm: smoothing alpha = " + std::to_string(alpha) + " is not in [0, 1]");
  std::vector<float> s(x_max.size(), 1.0f);
  for (std::size_t j = 0; j < s.size(); ++j) {
    const double a = x_max[j], w = w_max[j];
    if (!(a >= 0.0) || !(w >= 0.0) || !std::isfinite(a) || !std::isfinite(w)) {
      throw std::runtime_error("minilm: smoothing_factors: channel " + std::to_string(j) + " has max |x| = " + std::to_string(a) +
                               ", max |w| = " + std::to_string(w) + " (finite values >= 0 needed)");
    }
    if (a > 0.0 && w > 0.0) {
      const auto f = static_cast<float>(std::pow(a, alpha) / std::pow(w, 1.0 - alpha));
      if (f > 0.0f && std::isfinite(f) && std::isfinite(1.0f / f)) s[j] = f;
    }
  }
  return s;
}

/// The default migration strength of int8-smooth (bert_model::set_smooth_alpha changes it).
inline constexpr double default_smooth_alpha = 0.5;

/// int8 dynamic after SmoothQuant's smoothing: calibration records each input channel's max |x|; end
/// freezes s = smoothing_factors(x_max, w_max, alpha), the weights W diag(s) as int8 per output channel
/// (quantize_weights_int8) and inv_s[j] = 1 / s[j] (float). forward: x'[m][j] = x[m][j] * inv_s[j] (float),
/// then hybrid_gemm exactly as hybrid_int8_linear (per-row asymmetric int8 input, int32 sums, float
/// output with the bias).
class smooth_int8_linear final : public calibrating_linear {
 public:
  smooth_int8_linear(const float* w_out_in, const float* bias, int in, int out, double alpha)
      : calibrating_linear(w_out_in, bias, in, out, calibration_method::minmax), alpha_(alpha),
        x_max_(static_cast<std::size_t>(in), 0.0f) {
    if (!(alpha >= 0.0 && alpha <= 1.0)) throw std::runtime_error("minilm: smoothing alpha = " + std::to_string(alpha) + " is not in [0, 1]");
  }

  void forward(const qsparse::context& ctx, const float* x, int rows, float* y) const override {
    if (calibrating_forward(ctx, x, rows, y) || rows == 0) return;
    const auto k = static_cast<std::size_t>(in());
    thread_local std::vector<float> xs;
    xs.resize(static_cast<std::size_t>(rows) * k);
    float* const scaled = xs.data();  // this thread's buffer, filled by ctx's threads
    const float* inv = inv_s_.data();
    const std::ptrdiff_t chunks = std::min<std::ptrdiff_t>(ctx.concurrency(), rows);
    ctx.run_tasks(chunks, [&](std::ptrdiff_t t) {
      const auto r0 = static_cast<std::size_t>(rows * t / chunks), r1 = static_cast<std::size_t>(rows * (t + 1) / chunks);
      for (std::size_t m = r0; m < r1; ++m) {
        const float* src = x + m * k;
        float* dst = scaled + m * k;
        for (std::size_t j = 0; j < k; ++j) dst[j] = src[j] * inv[j];
      }
    });
    qsparse::hybrid_params p;
    p.weight_scales = scale_.data();
    p.per_channel = true;
    p.bias = b_.data();
    p.input_quantization = qsparse::hybrid_quantization::asymmetric;
    qsparse::hybrid_gemm(ctx, qsparse::make_view(static_cast<const float*>(xs.data()), rows, in()), packed_.view(),
                         qsparse::make_view(y, rows, out()), p);
  }
  std::size_t bytes() const override {
    // int8 weights, bias, weight scales and the input's 1 / s.
    return static_cast<std::size_t>(in()) * static_cast<std::size_t>(out()) +
           (b_.size() + scale_.size() + static_cast<std::size_t>(in())) * sizeof(float);
  }

  double alpha() const noexcept { return alpha_; }
  /// Sets alpha (in [0, 1]) before calibration.
  void set_alpha(double alpha) {
    if (!(alpha >= 0.0 && alpha <= 1.0)) throw std::runtime_error("minilm: smoothing alpha = " + std::to_string(alpha) + " is not in [0, 1]");
    if (calibrated()) throw std::runtime_error("minilm: the smoothing alpha is set before calibration");
    alpha_ = alpha;
  }
  /// After calibration: the factors s, their inverses, the max |x| per channel seen, and the K × N int8
  /// weights of W diag(s) with their per-channel scales (for tests).
  const std::vector<float>& factors() const noexcept { return s_; }
  const std::vector<float>& inverse_factors() const noexcept { return inv_s_; }
  const std::vector<float>& channel_max() const noexcept { return x_max_; }
  const std::vector<std::int8_t>& weights() const noexcept { return q_; }
  const std::vector<float>& weight_scales() const noexcept { return scale_; }

 private:
  void observe_channels(const float* x, int rows) const override {
    const auto k = static_cast<std::size_t>(in());
    for (std::size_t m = 0; m < static_cast<std::size_t>(rows); ++m) {
      for (std::size_t j = 0; j < k; ++j) x_max_[j] = std::max(x_max_[j], std::fabs(x[m * k + j]));
    }
  }
  void freeze() override {
    const row_matrix& w = float_weights();  // in × out
    const auto k = static_cast<std::size_t>(in()), n = static_cast<std::size_t>(out());
    std::vector<float> w_max(k, 0.0f);
    for (std::size_t j = 0; j < k; ++j) {
      for (std::size_t o = 0; o < n; ++o) {
        w_max[j] = std::max(w_max[j], std::fabs(w(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(o))));
      }
    }
    s_ = smoothing_factors(x_max_, w_max, alpha_);
    inv_s_.resize(k);
    for (std::size_t j = 0; j < k; ++j) inv_s_[j] = 1.0f / s_[j];
    std::vector<float> scaled(n * k);  // out × in, for the shared weight quantizer
    for (std::size_t o = 0; o < n; ++o) {
      for (std::size_t j = 0; j < k; ++j) scaled[o * k + j] = w(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(o)) * s_[j];
    }
    q_ = detail::quantize_weights_int8(scaled.data(), in(), out(), scale_);
    packed_ = qsparse::pack_weights(qsparse::make_view(q_.data(), in(), out()), 0);
  }

  double alpha_;
  mutable std::vector<float> x_max_;
  std::vector<float> s_, inv_s_, scale_;
  std::vector<std::int8_t> q_;
  qsparse::packed_weights packed_;
};

/// 16x8: activations int16 per tensor (symmetric, calibrated min/max), int8 weights per channel, int64 sums.
class w16a8_linear final : public calibrating_linear {
 public:
  using act_scheme = qsparse::tflite_reference_int16_activation;

  w16a8_linear(const float* w_out_in, const float* bias, int in, int out)
      : calibrating_linear(w_out_in, bias, in, out, calibration_method::minmax) {
    q_ = detail::quantize_weights_int8(w_out_in, in, out, w_scale_);
    packed_ = qsparse::pack_weights_16x8(qsparse::make_view(q_.data(), in, out));
  }

  void forward(const qsparse::context& ctx, const float* x, int rows, float* y) const override {
    if (calibrating_forward(ctx, x, rows, y) || rows == 0) return;
    const auto r = static_cast<std::size_t>(rows), k = static_cast<std::size_t>(in()), n = static_cast<std::size_t>(out());
    std::vector<std::int16_t> qa(r * k);
    qsparse::quantize<act_scheme>(qsparse::make_view(x, rows, in()), qsparse::make_view(qa.data(), rows, in()), act_);
    std::vector<std::int64_t> acc(r * n);
    qsparse::gemm_16x8(ctx, qsparse::make_view(static_cast<const std::int16_t*>(qa.data()), rows, in()), packed_.view(),
                       qsparse::make_view(acc.data(), rows, out()), qsparse::pipeline());
    for (std::size_t m = 0; m < r; ++m) {
      // The product rounded before the bias is added (no FMA contraction, whatever the compiler's flags).
      for (std::size_t c = 0; c < n; ++c) {
        y[m * n + c] = qsparse::detail::product_not_fused(static_cast<float>(acc[m * n + c]), out_scale_[c]) + b_[c];
      }
    }
  }
  std::size_t bytes() const override {
    return static_cast<std::size_t>(in()) * static_cast<std::size_t>(out()) + (b_.size() + w_scale_.size()) * sizeof(float);
  }
  const qsparse::per_tensor_params& activation_params() const noexcept { return act_; }

 private:
  void freeze() override {
    act_ = minmax_.params<act_scheme>();
    out_scale_.resize(w_scale_.size());
    for (std::size_t n = 0; n < w_scale_.size(); ++n) out_scale_[n] = act_.scale * w_scale_[n];
  }

  std::vector<std::int8_t> q_;
  std::vector<float> w_scale_, out_scale_;
  qsparse::packed_weights_16x8 packed_;
  qsparse::per_tensor_params act_;
};

/// 4-bit group-wise weights: int4 [-8, 7], symmetric, one float scale per group along K.
class q4_linear final : public linear {
 public:
  using weight_scheme = qsparse::scheme<qsparse::int4, qsparse::per_group<float>, qsparse::symmetric,
                                        qsparse::round_half_to_even>;

  /// `group` along K (a K below the group makes one group of K); clip: the MSE clipping search, else
  /// round to nearest from each group's max |w|.
  q4_linear(const float* w_out_in, const float* bias, int in, int out, int group, bool clip)
      : linear(in, out), b_(bias, bias + out), group_(std::min(group, in)) {
    if (in % group_ != 0) {
      throw std::runtime_error("minilm: 4-bit groups of " + std::to_string(group_) + " do not divide K = " + std::to_string(in));
    }
    const std::vector<float> w = detail::transpose_weights(w_out_in, in, out);
    const auto wv = qsparse::make_view(w.data(), in, out);
    scale_.assign(static_cast<std::size_t>(out) * static_cast<std::size_t>(in / group_), 0.0f);
    const auto params = clip ? qsparse::search_group_clipping<weight_scheme>(wv, 0, group_, qsparse::clip_search_options{},
                                                                             scale_.data(), nullptr)
                             : qsparse::choose_group_params<weight_scheme>(wv, 0, group_, scale_.data(), nullptr);
    q_.assign(w.size(), 0);
    qsparse::quantize<weight_scheme>(wv, qsparse::make_view(q_.data(), in, out), params);
    const qsparse::group_params<float> p{scale_.data(), nullptr, group_, 0, static_cast<qsparse::index_t>(scale_.size())};
    packed_ = qsparse::pack_weights_q4(qsparse::make_view(static_cast<const std::int8_t*>(q_.data()), in, out), p);
  }

  void forward(const qsparse::context& ctx, const float* x, int rows, float* y) const override {
    if (rows == 0) return;
    qsparse::gemm_q4(ctx, qsparse::make_view(x, rows, in()), packed_.view(), qsparse::make_view(y, rows, out()),
                     qsparse::pipeline(qsparse::bias_add_float{b_.data()}));
  }
  std::size_t bytes() const override {
    return static_cast<std::size_t>(in()) * static_cast<std::size_t>(out()) / 2 + (b_.size() + scale_.size()) * sizeof(float);
  }
  int group() const noexcept { return group_; }
  const std::vector<std::int8_t>& weights() const noexcept { return q_; }  // K × N int4 values
  const std::vector<float>& scales() const noexcept { return scale_; }

 private:
  std::vector<float> b_, scale_;
  int group_;
  std::vector<std::int8_t> q_;
  qsparse::packed_weights_q4 packed_;
};

enum class prune_pattern { unstructured50, two_of_four, block_4x16 };

/// One-shot magnitude pruning of the float weights, then dynamic-range int8 (per-row asymmetric
/// activations, symmetric per-channel weights over the kept values).
class pruned_int8_linear final : public linear {
 public:
  pruned_int8_linear(const float* w_out_in, const float* bias, int in, int out, prune_pattern p)
      : linear(in, out), pattern_(p), b_(bias, bias + out) {
    std::vector<float> w = detail::transpose_weights(w_out_in, in, out);  // K × N
    std::vector<std::uint8_t> mask(w.size());
    const auto wv = qsparse::make_view(static_cast<const float*>(w.data()), in, out);
    const auto mv = qsparse::make_view(mask.data(), in, out);
    switch (p) {
      case prune_pattern::unstructured50: qsparse::magnitude::compute_mask(wv, mv, 0.5f); break;
      case prune_pattern::two_of_four: qsparse::n_of_m<2, 4>::compute_mask(wv, mv, 0.5f); break;
      case prune_pattern::block_4x16: qsparse::block_mask<4, 16>::compute_mask(wv, mv, 0.5f); break;
    }
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = mask[i] != 0 ? w[i] : 0.0f;
    // Back to out × in for the shared weight quantizer.
    std::vector<float> masked_out_in(w.size());
    const auto n = static_cast<std::size_t>(out), k = static_cast<std::size_t>(in);
    for (std::size_t i = 0; i < k; ++i)
      for (std::size_t o = 0; o < n; ++o) masked_out_in[o * k + i] = w[i * n + o];
    q_ = detail::quantize_weights_int8(masked_out_in.data(), in, out, scale_);
    const auto qv = qsparse::make_view(static_cast<const std::int8_t*>(q_.data()), in, out);
    sparse_ = qsparse::pack_sparse_weights(qv, p == prune_pattern::two_of_four   ? qsparse::sparse_format::two_of_four
                                               : p == prune_pattern::block_4x16 ? qsparse::sparse_format::block_4x16
                                                                                : qsparse::sparse_format::bitmask);
    column_sums_.assign(n, 0);
    for (std::size_t i = 0; i < k; ++i)
      for (std::size_t o = 0; o < n; ++o) column_sums_[o] += q_[i * n + o];
  }

  void forward(const qsparse::context& ctx, const float* x, int rows, float* y) const override {
    if (rows == 0) return;
    const auto r = static_cast<std::size_t>(rows), k = static_cast<std::size_t>(in()), n = static_cast<std::size_t>(out());
    std::vector<std::int8_t> qa(r * k);
    std::vector<qsparse::hybrid_row_quantization> rq(r);
    bool all_zero = true;
    for (std::size_t m = 0; m < r && all_zero; ++m)
      for (std::size_t i = 0; i < k; ++i) all_zero = all_zero && x[m * k + i] == 0.0f;
    if (all_zero) {  // hybrid_gemm's rule: an all-zero input gives the bias
      for (std::size_t m = 0; m < r; ++m) std::copy(b_.begin(), b_.end(), y + m * n);
      return;
    }
    for (std::size_t m = 0; m < r; ++m) {
      rq[m] = qsparse::quantize_row_asymmetric(x + m * k, static_cast<std::ptrdiff_t>(k), qa.data() + m * k);
    }
    std::vector<std::int32_t> acc(r * n);
    constexpr float inf = std::numeric_limits<float>::infinity();
    qsparse::sparse_gemm(ctx, qsparse::make_view(static_cast<const std::int8_t*>(qa.data()), rows, in()), sparse_.view(),
                         qsparse::make_view(acc.data(), rows, out()), qsparse::pipeline());
    for (std::size_t m = 0; m < r; ++m) {
      for (std::size_t c = 0; c < n; ++c) {
        const auto corrected = static_cast<std::int32_t>(static_cast<std::uint32_t>(acc[m * n + c]) -
                                                         static_cast<std::uint32_t>(rq[m].zero_point) *
                                                             static_cast<std::uint32_t>(column_sums_[c]));
        y[m * n + c] = qsparse::detail::hybrid_output(corrected, rq[m].scale, scale_[c], b_.data(),
                                                      static_cast<std::ptrdiff_t>(c), -inf, inf);
      }
    }
  }
  std::size_t bytes() const override {
    return sparse_.view().size_bytes() + (b_.size() + scale_.size()) * sizeof(float);
  }
  prune_pattern pattern() const noexcept { return pattern_; }
  const std::vector<std::int8_t>& weights() const noexcept { return q_; }  // K × N, pruned weights are 0
  const std::vector<float>& scales() const noexcept { return scale_; }

 private:
  prune_pattern pattern_;
  std::vector<float> b_, scale_;
  std::vector<std::int8_t> q_;
  std::vector<std::int32_t> column_sums_;
  qsparse::packed_sparse_weights sparse_;
};

/// The linear layer of variant `v` from torch's weight (out × in, row-major) and bias (out).
inline std::unique_ptr<linear> make_linear(variant v, const float* w_out_in, const float* bias, int in, int out) {
  switch (v) {
    case variant::f32: return std::make_unique<f32_linear>(w_out_in, bias, in, out);
    case variant::f16: return std::make_unique<f16_linear>(w_out_in, bias, in, out);
    case variant::dynamic_int8: return std::make_unique<hybrid_int8_linear>(w_out_in, bias, in, out);
    case variant::static_int8_minmax:
      return std::make_unique<static_int8_linear>(w_out_in, bias, in, out, calibration_method::minmax);
    case variant::static_int8_percentile:
      return std::make_unique<static_int8_linear>(w_out_in, bias, in, out, calibration_method::percentile);
    case variant::w16a8: return std::make_unique<w16a8_linear>(w_out_in, bias, in, out);
    case variant::q4_g32: return std::make_unique<q4_linear>(w_out_in, bias, in, out, 32, false);
    case variant::q4_g32_clip: return std::make_unique<q4_linear>(w_out_in, bias, in, out, 32, true);
    case variant::q4_g128_clip: return std::make_unique<q4_linear>(w_out_in, bias, in, out, 128, true);
    case variant::pruned50_int8: return std::make_unique<pruned_int8_linear>(w_out_in, bias, in, out, prune_pattern::unstructured50);
    case variant::pruned24_int8: return std::make_unique<pruned_int8_linear>(w_out_in, bias, in, out, prune_pattern::two_of_four);
    case variant::pruned_block_int8: return std::make_unique<pruned_int8_linear>(w_out_in, bias, in, out, prune_pattern::block_4x16);
    case variant::smooth_int8: return std::make_unique<smooth_int8_linear>(w_out_in, bias, in, out, default_smooth_alpha);
    case variant::mixed_int8:
    case variant::mixed_q4: break;  // a mixed variant is a choice per layer (bert_model), not a linear layer
  }
  throw std::runtime_error(std::string("minilm: make_linear: no single linear layer for variant ") + option_name(v));
}

}  // namespace minilm
