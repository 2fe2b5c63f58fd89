// examples/demo/nn.hpp — the float networks of the demo and their training, in plain C++ with Eigen.
//
// A network is a list of layers over NHWC activations stored as row-major Eigen matrices with one row
// per image (rows = batch, columns = H·W·C, channels innermost):
//   conv     3×3 (any kh×kw), stride 1, no padding ("valid", as Keras' default), bias, optional ReLU;
//            computed as im2col (one row per output pixel, columns (kh, kw, cin)) times W (K×N)
//   maxpool  2×2, stride 2, floor (Keras MaxPooling2D)
//   dense    x·W + b (W is K×N: Keras' kernel layout and the qsparse GEMM's), optional ReLU
// Flatten is implicit: an NHWC image is already its row. Keras-default initialisation (Glorot uniform
// weights, zero biases), softmax cross-entropy, Adam (lr 1e-3, β 0.9 / 0.999, ε 1e-7, Keras' defaults),
// with an optional learning-rate multiplier per weighted layer (0 freezes the layer: issue 26's QAT that
// leaves the sensitive first and last layers as they are).
//
// Training hooks (for quantization-aware training and pruning; compress.hpp fills them):
//   weight_hook   replaces each weight matrix on the forward pass (fake quantization) and maps the
//                 gradient back (straight-through); masks its gradient (pruning);
//   act_hook      fake-quantizes the network input and each weighted layer's output.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace demo {

using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using vector = Eigen::VectorXf;
using row_vector = Eigen::RowVectorXf;

enum class layer_kind { conv, maxpool, dense };

inline const char* to_string(layer_kind k) {
  switch (k) {
    case layer_kind::conv: return "conv2d";
    case layer_kind::maxpool: return "maxpool2d";
    case layer_kind::dense: return "dense";
  }
  return "?";
}

/// Shape of one layer; for dense layers h = w = 1 and c = features.
struct layer_spec {
  layer_kind kind = layer_kind::dense;
  int in_h = 1, in_w = 1, in_c = 0;     // input
  int out_h = 1, out_w = 1, out_c = 0;  // output
  int kh = 1, kw = 1;                   // conv kernel / pool window
  bool relu = false;

  int in_size() const { return in_h * in_w * in_c; }
  int out_size() const { return out_h * out_w * out_c; }
  bool has_weights() const { return kind != layer_kind::maxpool; }
  int k() const { return kh * kw * in_c; }  // reduction depth of a weighted layer
};

/// The architectures of issue 7.
inline std::vector<layer_spec> mlp_architecture() {
  std::vector<layer_spec> l(3);
  l[0] = {layer_kind::dense, 1, 1, 784, 1, 1, 256, 1, 1, true};
  l[1] = {layer_kind::dense, 1, 1, 256, 1, 1, 128, 1, 1, true};
  l[2] = {layer_kind::dense, 1, 1, 128, 1, 1, 10, 1, 1, false};
  return l;
}

inline std::vector<layer_spec> cnn_architecture() {
  std::vector<layer_spec> l;
  l.push_back({layer_kind::conv, 28, 28, 1, 26, 26, 32, 3, 3, true});
  l.push_back({layer_kind::maxpool, 26, 26, 32, 13, 13, 32, 2, 2, false});
  l.push_back({layer_kind::conv, 13, 13, 32, 11, 11, 64, 3, 3, true});
  l.push_back({layer_kind::maxpool, 11, 11, 64, 5, 5, 64, 2, 2, false});
  l.push_back({layer_kind::conv, 5, 5, 64, 3, 3, 64, 3, 3, true});
  l.push_back({layer_kind::dense, 1, 1, 576, 1, 1, 64, 1, 1, true});
  l.push_back({layer_kind::dense, 1, 1, 64, 1, 1, 10, 1, 1, false});
  return l;
}

/// One weighted layer's float parameters and Adam state.
struct parameters {
  matrix w;  // K×N
  row_vector b;
  matrix mw, vw;
  row_vector mb, vb;
};

/// im2col of a valid, stride-1 convolution: rows (image, oh, ow), columns (kh, kw, cin).
inline void im2col(const float* x, int batch, const layer_spec& l, float* cols) {
  const int k = l.k();
  for (int b = 0; b < batch; ++b) {
    const float* img = x + static_cast<std::ptrdiff_t>(b) * l.in_size();
    for (int oh = 0; oh < l.out_h; ++oh) {
      for (int ow = 0; ow < l.out_w; ++ow) {
        float* row = cols + (static_cast<std::ptrdiff_t>(b) * l.out_h * l.out_w + oh * l.out_w + ow) * k;
        for (int i = 0; i < l.kh; ++i) {
          const float* src = img + (static_cast<std::ptrdiff_t>(oh + i) * l.in_w + ow) * l.in_c;
          std::copy(src, src + l.kw * l.in_c, row + i * l.kw * l.in_c);
        }
      }
    }
  }
}

/// The adjoint of im2col: adds each column row back onto the input pixels it came from.
inline void col2im(const float* cols, int batch, const layer_spec& l, float* dx) {
  const int k = l.k();
  std::fill(dx, dx + static_cast<std::ptrdiff_t>(batch) * l.in_size(), 0.0f);
  for (int b = 0; b < batch; ++b) {
    float* img = dx + static_cast<std::ptrdiff_t>(b) * l.in_size();
    for (int oh = 0; oh < l.out_h; ++oh) {
      for (int ow = 0; ow < l.out_w; ++ow) {
        const float* row = cols + (static_cast<std::ptrdiff_t>(b) * l.out_h * l.out_w + oh * l.out_w + ow) * k;
        for (int i = 0; i < l.kh; ++i) {
          float* dst = img + (static_cast<std::ptrdiff_t>(oh + i) * l.in_w + ow) * l.in_c;
          const float* src = row + i * l.kw * l.in_c;
          for (int j = 0; j < l.kw * l.in_c; ++j) dst[j] += src[j];
        }
      }
    }
  }
}

/// 2×2 (kh×kw) max pooling, stride = window, floor; records the argmax for the backward pass.
template <class T>
void maxpool_forward(const T* x, int batch, const layer_spec& l, T* y, int* argmax) {
  for (int b = 0; b < batch; ++b) {
    const T* img = x + static_cast<std::ptrdiff_t>(b) * l.in_size();
    T* out = y + static_cast<std::ptrdiff_t>(b) * l.out_size();
    for (int oh = 0; oh < l.out_h; ++oh) {
      for (int ow = 0; ow < l.out_w; ++ow) {
        for (int c = 0; c < l.out_c; ++c) {
          int best = ((oh * l.kh) * l.in_w + ow * l.kw) * l.in_c + c;
          for (int i = 0; i < l.kh; ++i) {
            for (int j = 0; j < l.kw; ++j) {
              const int at = ((oh * l.kh + i) * l.in_w + ow * l.kw + j) * l.in_c + c;
              if (img[at] > img[best]) best = at;
            }
          }
          const int o = (oh * l.out_w + ow) * l.out_c + c;
          out[o] = img[best];
          if (argmax != nullptr) argmax[static_cast<std::ptrdiff_t>(b) * l.out_size() + o] = best;
        }
      }
    }
  }
}

/// maxpool_forward for inference (no argmax), channels innermost in blocks of 16 between local arrays so
/// that GCC vectorizes it at -O2 and -O3: the same values, each output the first of equal maxima in the window's
/// (i, j) order (a NaN stays where maxpool_forward keeps it: `>` is false both ways).
template <class T>
void maxpool_inference(const T* x, int batch, const layer_spec& l, T* y) {
  constexpr std::ptrdiff_t block = 16;
  const std::ptrdiff_t c_count = l.in_c;
  const auto tap = [&](const T* img, int oh, int ow, int i, int j) {
    return img + (static_cast<std::ptrdiff_t>(oh * l.kh + i) * l.in_w + ow * l.kw + j) * c_count;
  };
  for (int b = 0; b < batch; ++b) {
    const T* img = x + static_cast<std::ptrdiff_t>(b) * l.in_size();
    T* out = y + static_cast<std::ptrdiff_t>(b) * l.out_size();
    for (int oh = 0; oh < l.out_h; ++oh) {
      for (int ow = 0; ow < l.out_w; ++ow) {
        T* o = out + (static_cast<std::ptrdiff_t>(oh) * l.out_w + ow) * c_count;
        std::ptrdiff_t c = 0;
        for (; c + block <= c_count; c += block) {
          T best[block], v[block];
          std::copy_n(tap(img, oh, ow, 0, 0) + c, block, best);
          for (int i = 0; i < l.kh; ++i) {
            for (int j = i == 0 ? 1 : 0; j < l.kw; ++j) {
              std::copy_n(tap(img, oh, ow, i, j) + c, block, v);
              // Not unrolled: unrolled first (GCC 12 at -O3), the 16 float selects stayed scalar `vmaxss` and
              // the pool of the dynamic-range CNN's 26x26x32 floats took 6 µs instead of 1.5.
#pragma GCC unroll 1
              for (std::ptrdiff_t e = 0; e < block; ++e) best[e] = v[e] > best[e] ? v[e] : best[e];
            }
          }
          std::copy_n(best, block, o + c);
        }
        for (; c < c_count; ++c) {
          T best = tap(img, oh, ow, 0, 0)[c];
          for (int i = 0; i < l.kh; ++i)
            for (int j = i == 0 ? 1 : 0; j < l.kw; ++j) best = tap(img, oh, ow, i, j)[c] > best ? tap(img, oh, ow, i, j)[c] : best;
          o[c] = best;
        }
      }
    }
  }
}

/// What training may do to the weights and activations (all optional).
struct training_hooks {
  /// Fills `wq` with the weight the forward pass uses for weighted layer `index` (identity if unset).
  std::function<void(int index, const matrix& w, matrix& wq)> weight_forward;
  /// Maps the gradient w.r.t. the used weight to the gradient w.r.t. the stored weight, in place.
  std::function<void(int index, const matrix& w, matrix& grad)> weight_backward;
  /// Fake-quantizes activation `point` in place (0: network input, i+1: output of layer i); keeps `x`
  /// (pre-quantization) for the backward pass in `saved` when training.
  std::function<void(int point, matrix& x, matrix* saved)> activation_forward;
  std::function<void(int point, const matrix& saved, matrix& grad)> activation_backward;
  /// Called before every training step with the 1-based global step count (pruning's mask update).
  std::function<void(long step)> before_step;
};

class network {
 public:
  network(std::vector<layer_spec> layers, std::uint32_t seed) : layers_(std::move(layers)) {
    std::mt19937 rng(seed);
    for (const layer_spec& l : layers_) {
      if (!l.has_weights()) continue;
      parameters p;
      const int fan_in = l.kh * l.kw * l.in_c, fan_out = l.kh * l.kw * l.out_c;
      const float limit = std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
      std::uniform_real_distribution<float> u(-limit, limit);
      p.w.resize(l.k(), l.out_c);
      for (Eigen::Index i = 0; i < p.w.size(); ++i) p.w.data()[i] = u(rng);
      p.b = row_vector::Zero(l.out_c);
      p.mw = matrix::Zero(p.w.rows(), p.w.cols());
      p.vw = p.mw;
      p.mb = row_vector::Zero(l.out_c);
      p.vb = p.mb;
      params_.push_back(std::move(p));
    }
  }

  const std::vector<layer_spec>& layers() const { return layers_; }
  std::vector<parameters>& params() { return params_; }
  const std::vector<parameters>& params() const { return params_; }
  int input_size() const { return layers_.front().in_size(); }
  int classes() const { return layers_.back().out_size(); }

  void reset_optimizer() {
    for (parameters& p : params_) {
      p.mw.setZero();
      p.vw.setZero();
      p.mb.setZero();
      p.vb.setZero();
    }
    adam_t_ = 0;
  }

  /// Forward pass; activations_[i] is the input of layer i, activations_.back() the logits.
  const matrix& forward(const matrix& x, const training_hooks* hooks, bool training) {
    const int batch = static_cast<int>(x.rows());
    const std::size_t n = layers_.size();
    acts_.resize(n + 1);
    saved_.resize(n + 1);
    pre_.resize(n);
    cols_.resize(n);
    used_w_.resize(params_.size());
    argmax_.resize(n);
    acts_[0] = x;
    if (hooks != nullptr && hooks->activation_forward) hooks->activation_forward(0, acts_[0], training ? &saved_[0] : nullptr);
    int wi = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const layer_spec& l = layers_[i];
      matrix& out = acts_[i + 1];
      if (l.kind == layer_kind::maxpool) {
        out.resize(batch, l.out_size());
        argmax_[i].resize(static_cast<std::size_t>(batch) * static_cast<std::size_t>(l.out_size()));
        maxpool_forward(acts_[i].data(), batch, l, out.data(), training ? argmax_[i].data() : nullptr);
        continue;
      }
      const parameters& p = params_[static_cast<std::size_t>(wi)];
      const matrix* w = &p.w;
      if (hooks != nullptr && hooks->weight_forward) {
        hooks->weight_forward(wi, p.w, used_w_[static_cast<std::size_t>(wi)]);
        w = &used_w_[static_cast<std::size_t>(wi)];
      }
      if (l.kind == layer_kind::dense) {
        pre_[i].noalias() = acts_[i] * *w;
      } else {
        const int pixels = l.out_h * l.out_w;
        cols_[i].resize(static_cast<Eigen::Index>(batch) * pixels, l.k());
        im2col(acts_[i].data(), batch, l, cols_[i].data());
        pre_[i].resize(static_cast<Eigen::Index>(batch) * pixels, l.out_c);
        pre_[i].noalias() = cols_[i] * *w;
      }
      pre_[i].rowwise() += p.b;
      out.resize(batch, l.out_size());  // one row per image; the same memory as (batch·pixels)×out_c
      Eigen::Map<matrix> out_pixels(out.data(), pre_[i].rows(), pre_[i].cols());
      if (l.relu) {
        out_pixels = pre_[i].cwiseMax(0.0f);
      } else {
        out_pixels = pre_[i];
      }
      if (hooks != nullptr && hooks->activation_forward && i + 1 < n)
        hooks->activation_forward(static_cast<int>(i + 1), out, training ? &saved_[i + 1] : nullptr);
      ++wi;
    }
    return acts_[n];
  }

  /// Softmax cross-entropy of the last forward pass; returns the mean loss, fills d(logits).
  static float softmax_cross_entropy(const matrix& logits, const int* labels, matrix& dlogits) {
    const auto rows = logits.rows();
    dlogits.resize(rows, logits.cols());
    double loss = 0.0;
    for (Eigen::Index i = 0; i < rows; ++i) {
      const float top = logits.row(i).maxCoeff();
      double sum = 0.0;
      for (Eigen::Index c = 0; c < logits.cols(); ++c) sum += std::exp(static_cast<double>(logits(i, c) - top));
      for (Eigen::Index c = 0; c < logits.cols(); ++c) {
        const double p = std::exp(static_cast<double>(logits(i, c) - top)) / sum;
        dlogits(i, c) = static_cast<float>((p - (labels[i] == c ? 1.0 : 0.0)) / static_cast<double>(rows));
      }
      loss -= static_cast<double>(logits(i, labels[i]) - top) - std::log(sum);
    }
    return static_cast<float>(loss / static_cast<double>(rows));
  }

  /// Throws std::invalid_argument unless `layer_lr` is empty or has one finite multiplier >= 0 per
  /// weighted layer.
  void check_layer_lr(const std::vector<float>& layer_lr) const {
    if (layer_lr.empty()) return;
    if (layer_lr.size() != params_.size())
      throw std::invalid_argument("layer_lr: one multiplier per weighted layer (" + std::to_string(params_.size()) + "), got " +
                                  std::to_string(layer_lr.size()));
    for (std::size_t i = 0; i < layer_lr.size(); ++i)
      if (!(std::isfinite(layer_lr[i]) && layer_lr[i] >= 0.0f))
        throw std::invalid_argument("layer_lr[" + std::to_string(i) + "] must be finite and >= 0, got " + std::to_string(layer_lr[i]));
  }

  /// Backward pass from d(logits) and one Adam step. `layer_lr` (empty: all 1) multiplies the learning
  /// rate of each weighted layer; a layer with multiplier 0 is frozen: its weights, bias and Adam moments
  /// are not touched at all (bit-identical after any number of steps), while the gradient still flows
  /// through it to the layers before it.
  void backward_and_step(const matrix& dlogits, const training_hooks* hooks, float lr, const std::vector<float>& layer_lr = {}) {
    check_layer_lr(layer_lr);
    const std::size_t n = layers_.size();
    const int batch = static_cast<int>(dlogits.rows());
    matrix grad = dlogits;
    int wi = static_cast<int>(params_.size());
    grads_w_.resize(params_.size());
    grads_b_.resize(params_.size());
    for (std::size_t ii = n; ii-- > 0;) {
      const layer_spec& l = layers_[ii];
      if (l.kind == layer_kind::maxpool) {
        matrix dx = matrix::Zero(batch, l.in_size());
        const int* am = argmax_[ii].data();
        for (int b = 0; b < batch; ++b)
          for (int o = 0; o < l.out_size(); ++o)
            dx(b, am[static_cast<std::ptrdiff_t>(b) * l.out_size() + o]) += grad(b, o);
        grad.swap(dx);  // the pool's input is the previous layer's output: its quantizer is applied there
        continue;
      }
      --wi;
      if (hooks != nullptr && hooks->activation_backward && ii + 1 < n) {
        // The fake quantizer sits on this layer's output (point ii + 1).
        hooks->activation_backward(static_cast<int>(ii + 1), saved_[ii + 1], grad);
      }
      const parameters& p = params_[static_cast<std::size_t>(wi)];
      const matrix& w = (hooks != nullptr && hooks->weight_forward) ? used_w_[static_cast<std::size_t>(wi)] : p.w;
      const int pixels = l.out_h * l.out_w;
      matrix dpre = Eigen::Map<const matrix>(grad.data(), static_cast<Eigen::Index>(batch) * pixels, l.out_c);
      if (l.relu) dpre = dpre.cwiseProduct((pre_[ii].array() > 0.0f).cast<float>().matrix());
      const matrix& input = l.kind == layer_kind::dense ? acts_[ii] : cols_[ii];
      grads_w_[static_cast<std::size_t>(wi)].noalias() = input.transpose() * dpre;
      grads_b_[static_cast<std::size_t>(wi)] = dpre.colwise().sum();
      if (ii > 0) {
        matrix dinput;
        dinput.noalias() = dpre * w.transpose();
        if (l.kind == layer_kind::conv) {
          matrix dx(batch, l.in_size());
          col2im(dinput.data(), batch, l, dx.data());
          grad.swap(dx);
        } else {
          grad.swap(dinput);
        }
      }
      if (hooks != nullptr && hooks->weight_backward) hooks->weight_backward(wi, p.w, grads_w_[static_cast<std::size_t>(wi)]);
    }
    // Adam (Keras: lr_t = lr * sqrt(1 - β2^t) / (1 - β1^t), ε added to sqrt(v)).
    ++adam_t_;
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-7f;
    const float lr_t = lr * std::sqrt(1.0f - std::pow(b2, static_cast<float>(adam_t_))) /
                       (1.0f - std::pow(b1, static_cast<float>(adam_t_)));
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const float scale = layer_lr.empty() ? 1.0f : layer_lr[i];
      if (scale == 0.0f) continue;  // frozen
      const float lr_l = lr_t * scale;
      parameters& p = params_[i];
      p.mw = b1 * p.mw + (1.0f - b1) * grads_w_[i];
      p.vw = b2 * p.vw + (1.0f - b2) * grads_w_[i].cwiseAbs2();
      p.w.array() -= lr_l * p.mw.array() / (p.vw.array().sqrt() + eps);
      p.mb = b1 * p.mb + (1.0f - b1) * grads_b_[i];
      p.vb = b2 * p.vb + (1.0f - b2) * grads_b_[i].cwiseAbs2();
      p.b.array() -= lr_l * p.mb.array() / (p.vb.array().sqrt() + eps);
    }
  }

  /// The activation entering layer i during the last forward pass (i = layers().size(): the logits).
  const matrix& activation(std::size_t i) const { return acts_[i]; }

 private:
  std::vector<layer_spec> layers_;
  std::vector<parameters> params_;
  std::vector<matrix> acts_, saved_, pre_, cols_, used_w_, grads_w_;
  std::vector<row_vector> grads_b_;
  std::vector<std::vector<int>> argmax_;
  long adam_t_ = 0;
};

inline int argmax_row(const float* v, int n) { return static_cast<int>(std::max_element(v, v + n) - v); }

}  // namespace demo
