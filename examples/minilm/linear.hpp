// examples/minilm/linear.hpp — the linear layers of the transformer runner, one class per variant.
//
// A linear layer computes y = x W^T + b for M rows at once (x: M × in, y: M × out, both row-major), from
// torch's weight (out × in) and bias. The variants:
//   f32           float32 weights, Eigen's float GEMM (the float baseline);
//   f16           IEEE binary16 weights, qsparse::gemm_f16 (float activations, float32 accumulation);
//   dynamic_int8  int8 weights, symmetric per output channel (scale = max|w| / 127, round half away from
//                 zero), qsparse::hybrid_gemm: each activation row quantized to int8 on the fly
//                 (asymmetric, TFLite's dynamic-range FullyConnected), int32 products, float output.
// Later variants (static int8, 16x8, 4-bit, pruned) are further implementations of `linear`.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "qsparse/core/context.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/gemm/gemm_f16.hpp"
#include "qsparse/gemm/hybrid.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "qsparse/gemm/packed_weights_f16.hpp"

namespace minilm {

enum class variant { f32, f16, dynamic_int8 };

inline const char* to_string(variant v) {
  switch (v) {
    case variant::f32: return "float32";
    case variant::f16: return "float16 weights";
    case variant::dynamic_int8: return "int8 dynamic (hybrid)";
  }
  return "?";
}

/// Parses a variant name as the runner's --variant takes it: f32, f16, int8-dynamic.
inline variant parse_variant(const std::string& s) {
  if (s == "f32") return variant::f32;
  if (s == "f16") return variant::f16;
  if (s == "int8-dynamic") return variant::dynamic_int8;
  throw std::runtime_error("minilm: unknown variant \"" + s + "\" (f32, f16, int8-dynamic)");
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

  int in() const noexcept { return in_; }
  int out() const noexcept { return out_; }

 private:
  int in_, out_;
};

using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

class f32_linear final : public linear {
 public:
  f32_linear(const float* w_out_in, const float* bias, int in, int out)
      : linear(in, out), w_(Eigen::Map<const row_matrix>(w_out_in, out, in).transpose()),
        b_(Eigen::Map<const Eigen::RowVectorXf>(bias, out)) {}

  void forward(const qsparse::context&, const float* x, int rows, float* y) const override {
    if (rows == 0) return;
    Eigen::Map<const row_matrix> xm(x, rows, in());
    Eigen::Map<row_matrix> ym(y, rows, out());
    ym.noalias() = xm * w_;
    ym.rowwise() += b_;
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
      : linear(in, out), b_(bias, bias + out), scale_(static_cast<std::size_t>(out)) {
    const auto n = static_cast<std::size_t>(out), k = static_cast<std::size_t>(in);
    std::vector<std::int8_t> q(k * n);
    for (std::size_t o = 0; o < n; ++o) {
      float mx = 0.0f;
      for (std::size_t i = 0; i < k; ++i) mx = std::max(mx, std::fabs(w_out_in[o * k + i]));
      const float s = mx > 0.0f ? mx / 127.0f : 1.0f;
      scale_[o] = s;
      for (std::size_t i = 0; i < k; ++i) {
        const float r = std::round(w_out_in[o * k + i] / s);
        q[i * n + o] = static_cast<std::int8_t>(std::min(127.0f, std::max(-127.0f, r)));
      }
    }
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

/// The linear layer of variant `v` from torch's weight (out × in, row-major) and bias (out).
inline std::unique_ptr<linear> make_linear(variant v, const float* w_out_in, const float* bias, int in, int out) {
  switch (v) {
    case variant::f32: return std::make_unique<f32_linear>(w_out_in, bias, in, out);
    case variant::f16: return std::make_unique<f16_linear>(w_out_in, bias, in, out);
    case variant::dynamic_int8: return std::make_unique<hybrid_int8_linear>(w_out_in, bias, in, out);
  }
  throw std::runtime_error("minilm: unknown variant");
}

}  // namespace minilm
