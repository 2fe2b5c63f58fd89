// 02_quantization_aware_training — train a small MLP with fake quantization in a plain C++ loop, then run
// it as a real int8 network.
//
// Fashion-MNIST (Debian package dataset-fashion-mnist), 20,000 training images, the full 10,000 test
// images; an MLP 784 → 128 (ReLU) → 10 with Eigen for the float matrix products. Every tensor the integer
// network will quantize passes through a qsparse::fake_quantize_module during training: the input and
// the hidden activation (int8 affine, TFLite's rules, moving-average observers) and both weight matrices
// (int8 symmetric per output channel, re-observed every step). The backward pass uses the modules'
// straight-through gradients. Two float epochs calibrate the observers, two QAT epochs train with fake
// quantization, and the activation ranges are frozen for the last one.
//
// The int8 network is then built with the library's converter helpers (quantize, quantize_bias,
// requantize_multipliers) and run with integer loops: int8 x int8 → int32 accumulators, TFLite's
// fixed-point requantization with the ReLU folded into the clamp, int8 hidden activations, int32 logits.
// It prints the float, fake-quantized and int8 accuracies; it fails (exit 1) if int8 falls more than two
// points below the float network.
//
//   02_quantization_aware_training [--data DIR]     DIR holds {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
#include <zlib.h>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "qsparse/calibrate/per_channel_minmax_observer.hpp"
#include "qsparse/qat/fake_quantize_module.hpp"
#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/quant/layer_params.hpp"
#include "qsparse/quant/quantize.hpp"

namespace {

using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using vector = Eigen::VectorXf;

constexpr int inputs = 784, hidden = 128, classes = 10;
constexpr int train_count = 20000, batch = 64;

// ---- data ------------------------------------------------------------------------------------------

std::uint32_t big_endian(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::vector<unsigned char> read_gz(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error("cannot open " + path + " (install dataset-fashion-mnist or pass --data DIR)");
  std::vector<unsigned char> bytes;
  unsigned char buffer[1 << 16];
  int got = 0;
  while ((got = gzread(file, buffer, sizeof buffer)) > 0) bytes.insert(bytes.end(), buffer, buffer + got);
  const bool failed = got < 0;
  gzclose(file);
  if (failed) throw std::runtime_error(path + ": corrupt gzip stream");
  return bytes;
}

/// Images as rows of 784 floats p / 255 in [0, 1], and their labels.
struct dataset {
  matrix x;
  std::vector<int> y;
};

dataset read_set(const std::string& dir, const std::string& prefix, int limit) {
  const auto images = read_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  const auto labels = read_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
  if (images.size() < 16 || big_endian(images.data()) != 0x00000803u || labels.size() < 8 ||
      big_endian(labels.data()) != 0x00000801u)
    throw std::runtime_error(prefix + ": not IDX image / label files");
  const auto count = static_cast<int>(std::min<std::uint32_t>(big_endian(images.data() + 4), big_endian(labels.data() + 4)));
  if (big_endian(images.data() + 8) * big_endian(images.data() + 12) != static_cast<std::uint32_t>(inputs) ||
      images.size() != 16 + static_cast<std::size_t>(big_endian(images.data() + 4)) * inputs ||
      labels.size() != 8 + static_cast<std::size_t>(big_endian(labels.data() + 4)))
    throw std::runtime_error(prefix + ": truncated or not 28x28 images");
  const int n = std::min(count, limit);
  dataset d{matrix(n, inputs), std::vector<int>(static_cast<std::size_t>(n))};
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < inputs; ++k) d.x(i, k) = static_cast<float>(images[16 + static_cast<std::size_t>(i * inputs + k)]) / 255.0f;
    d.y[static_cast<std::size_t>(i)] = labels[8 + static_cast<std::size_t>(i)];
  }
  return d;
}

// ---- views over Eigen's row-major storage ------------------------------------------------------------

qsparse::tensor_view<float, 2> view(matrix& m) { return qsparse::make_view(m.data(), m.rows(), m.cols()); }
qsparse::tensor_view<const float, 2> view(const matrix& m) { return qsparse::make_view(m.data(), m.rows(), m.cols()); }

// ---- the model ---------------------------------------------------------------------------------------

using activation = qsparse::tflite_int8_activation;  // int8 affine, TFLite's rules
using weight = qsparse::tflite_int8_weight;          // int8 [-127, 127] symmetric, per output channel

struct model {
  matrix w1, w2;  // [hidden, inputs], [classes, hidden]: output channels along axis 0
  vector b1, b2;
  qsparse::fake_quantize_module<activation> input_fq, hidden_fq;
  qsparse::fake_quantize_module<weight, qsparse::per_channel_minmax_observer> w1_fq{qsparse::per_channel_minmax_observer(0)},
      w2_fq{qsparse::per_channel_minmax_observer(0)};

  explicit model(std::uint32_t seed) : w1(hidden, inputs), w2(classes, hidden), b1(vector::Zero(hidden)), b2(vector::Zero(classes)) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u1(-std::sqrt(6.0f / inputs), std::sqrt(6.0f / inputs));
    std::uniform_real_distribution<float> u2(-std::sqrt(6.0f / hidden), std::sqrt(6.0f / hidden));
    for (int i = 0; i < w1.size(); ++i) w1.data()[i] = u1(rng);
    for (int i = 0; i < w2.size(); ++i) w2.data()[i] = u2(rng);
  }

  void set_fake_quant(bool on) {
    for (auto* m : {&input_fq, &hidden_fq}) m->enable_fake_quant(on);
    for (auto* m : {&w1_fq, &w2_fq}) m->enable_fake_quant(on);
  }
  void set_activation_observers(bool on) {
    input_fq.enable_observer(on);
    hidden_fq.enable_observer(on);
  }
};

/// Everything the backward pass needs from one forward pass.
struct trace {
  matrix xq, w1q, w2q, h_pre, h, hq, logits;
};

void forward(model& m, const matrix& x, trace& t) {
  t.xq.resize(x.rows(), x.cols());
  m.input_fq.forward(view(x), view(t.xq));
  // The weights' ranges are their current ranges: re-observe every step.
  t.w1q.resize(m.w1.rows(), m.w1.cols());
  t.w2q.resize(m.w2.rows(), m.w2.cols());
  m.w1_fq.observer().reset();
  m.w2_fq.observer().reset();
  m.w1_fq.forward(view(m.w1), view(t.w1q));
  m.w2_fq.forward(view(m.w2), view(t.w2q));
  t.h_pre = (t.xq * t.w1q.transpose()).rowwise() + m.b1.transpose();
  t.h = t.h_pre.cwiseMax(0.0f);
  t.hq.resize(t.h.rows(), t.h.cols());
  m.hidden_fq.forward(view(t.h), view(t.hq));
  t.logits = (t.hq * t.w2q.transpose()).rowwise() + m.b2.transpose();
}

/// Softmax cross-entropy, backward through both layers and the fake quantizers, SGD with momentum.
struct optimizer {
  matrix v1, v2;
  vector vb1, vb2;
  float lr = 0.05f, momentum = 0.9f;
  optimizer() : v1(matrix::Zero(hidden, inputs)), v2(matrix::Zero(classes, hidden)), vb1(vector::Zero(hidden)), vb2(vector::Zero(classes)) {}

  void step(model& m, const trace& t, const int* labels) {
    const auto n = static_cast<float>(t.logits.rows());
    matrix dlogits(t.logits.rows(), classes);
    for (int i = 0; i < t.logits.rows(); ++i) {
      const float top = t.logits.row(i).maxCoeff();
      float sum = 0.0f;
      for (int c = 0; c < classes; ++c) sum += std::exp(t.logits(i, c) - top);
      for (int c = 0; c < classes; ++c) dlogits(i, c) = (std::exp(t.logits(i, c) - top) / sum - (labels[i] == c ? 1.0f : 0.0f)) / n;
    }
    matrix dw2q = dlogits.transpose() * t.hq;
    const vector db2 = dlogits.colwise().sum().transpose();
    matrix dhq = dlogits * t.w2q;
    matrix dh(dhq.rows(), dhq.cols());
    m.hidden_fq.backward(view(t.h), view(dhq), view(dh));                  // straight-through estimator
    dh = dh.cwiseProduct((t.h_pre.array() > 0.0f).cast<float>().matrix());  // ReLU
    matrix dw1q = dh.transpose() * t.xq;
    const vector db1 = dh.colwise().sum().transpose();
    matrix dw1(hidden, inputs), dw2(classes, hidden);
    m.w1_fq.backward(view(m.w1), view(dw1q), view(dw1));
    m.w2_fq.backward(view(m.w2), view(dw2q), view(dw2));
    v1 = momentum * v1 - lr * dw1;
    v2 = momentum * v2 - lr * dw2;
    vb1 = momentum * vb1 - lr * db1;
    vb2 = momentum * vb2 - lr * db2;
    m.w1 += v1;
    m.w2 += v2;
    m.b1 += vb1;
    m.b2 += vb2;
  }
};

int argmax(const float* v, int n) { return static_cast<int>(std::max_element(v, v + n) - v); }

/// Accuracy of the float (or fake-quantized) network; observers are left as they are (disable them first).
double accuracy(model& m, const dataset& d, std::vector<int>* predictions = nullptr) {
  int correct = 0;
  trace t;
  for (int start = 0; start < d.x.rows(); start += 1000) {
    const int rows = std::min<int>(1000, static_cast<int>(d.x.rows()) - start);
    forward(m, d.x.middleRows(start, rows), t);
    for (int i = 0; i < rows; ++i) {
      const int p = argmax(t.logits.row(i).data(), classes);
      if (predictions != nullptr) predictions->push_back(p);
      correct += p == d.y[static_cast<std::size_t>(start + i)];
    }
  }
  return 100.0 * correct / static_cast<double>(d.x.rows());
}

// ---- the int8 network --------------------------------------------------------------------------------

struct int8_layer {
  std::vector<std::int8_t> w;                       // [out, in]
  std::vector<std::int32_t> bias;                   // [out], scale input_scale * w_scale[c]
  std::vector<qsparse::quantized_multiplier> mult;  // [out]: input_scale * w_scale[c] / output_scale
  qsparse::per_channel_qparams w_params;
  int out = 0, in = 0;
};

int8_layer convert(const matrix& w, const vector& b, float input_scale, float output_scale) {
  int8_layer l;
  l.out = static_cast<int>(w.rows());
  l.in = static_cast<int>(w.cols());
  qsparse::per_channel_minmax_observer observer(0);
  observer.observe(view(w));
  l.w_params = observer.params<weight>();
  l.w.resize(static_cast<std::size_t>(w.size()));
  qsparse::quantize<weight>(view(w), qsparse::make_view(l.w.data(), w.rows(), w.cols()), l.w_params.view());
  l.bias = qsparse::quantize_bias<weight>(b.data(), l.out, input_scale, l.w_params.view());
  l.mult = qsparse::requantize_multipliers(input_scale, l.w_params.view(), output_scale);
  return l;
}

/// acc[o] = bias[o] + Σ_k (x[k] - x_zp) * w[o][k], in int32.
void integer_matmul(const int8_layer& l, const std::int8_t* x, std::int32_t x_zp, std::int32_t* acc) {
  for (int o = 0; o < l.out; ++o) {
    std::int32_t a = l.bias[static_cast<std::size_t>(o)];
    const std::int8_t* w = l.w.data() + static_cast<std::size_t>(o) * static_cast<std::size_t>(l.in);
    for (int k = 0; k < l.in; ++k) a += (static_cast<std::int32_t>(x[k]) - x_zp) * w[k];
    acc[o] = a;
  }
}

double int8_accuracy(const model& m, const dataset& d, std::vector<int>& predictions) {
  const qsparse::per_tensor_params in_p = m.input_fq.params(), h_p = m.hidden_fq.params();
  const int8_layer l1 = convert(m.w1, m.b1, in_p.scale, h_p.scale);
  const int8_layer l2 = convert(m.w2, m.b2, h_p.scale, 1.0f);  // logits stay int32: multipliers unused
  // ReLU folded into the clamp (TFLite's CalculateActivationRangeQuantized): max(qmin, Q(0)) = max(-128, zp).
  const std::int32_t act_min = std::max<std::int32_t>(-128, h_p.zero_point), act_max = 127;
  std::vector<std::int8_t> xq(static_cast<std::size_t>(d.x.size()));
  qsparse::quantize<activation>(view(d.x), qsparse::make_view(xq.data(), d.x.rows(), d.x.cols()), in_p);
  std::vector<std::int32_t> acc1(hidden), acc2(classes);
  std::vector<std::int8_t> hq(hidden);
  std::vector<float> logits(classes);
  int correct = 0;
  for (int i = 0; i < d.x.rows(); ++i) {
    integer_matmul(l1, xq.data() + static_cast<std::size_t>(i) * inputs, in_p.zero_point, acc1.data());
    for (int o = 0; o < hidden; ++o) {
      const qsparse::quantized_multiplier q = l1.mult[static_cast<std::size_t>(o)];
      const std::int32_t v = qsparse::multiply_by_quantized_multiplier(acc1[static_cast<std::size_t>(o)], q.multiplier, q.shift) + h_p.zero_point;
      hq[static_cast<std::size_t>(o)] = static_cast<std::int8_t>(std::min(std::max(v, act_min), act_max));
    }
    integer_matmul(l2, hq.data(), h_p.zero_point, acc2.data());
    for (int c = 0; c < classes; ++c)  // per-channel scales differ: compare logits, not raw accumulators
      logits[static_cast<std::size_t>(c)] = static_cast<float>(acc2[static_cast<std::size_t>(c)]) * (h_p.scale * l2.w_params.scale[static_cast<std::size_t>(c)]);
    const int p = argmax(logits.data(), classes);
    predictions.push_back(p);
    correct += p == d.y[static_cast<std::size_t>(i)];
  }
  return 100.0 * correct / static_cast<double>(d.x.rows());
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/usr/share/datasets/fashion-mnist";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--data" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--data DIR]\n", argv[0]);
      return 2;
    }
  }
  try {
    const auto start = std::chrono::steady_clock::now();
    const dataset train = read_set(dir, "train", train_count);
    const dataset test = read_set(dir, "t10k", 10000);
    model m(42);
    optimizer opt;
    std::vector<int> order(static_cast<std::size_t>(train.x.rows()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::mt19937 rng(7);
    trace t;
    matrix xb(batch, inputs);
    std::vector<int> yb(batch);
    const int epochs = 5;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      const bool qat = epoch >= 2;
      m.set_fake_quant(qat);                  // epochs 0-1: float training, observers calibrate
      m.set_activation_observers(epoch < 4);  // last epoch: activation ranges frozen
      if (epoch == 3) opt.lr = 0.02f;
      std::shuffle(order.begin(), order.end(), rng);
      for (std::size_t s = 0; s + batch <= order.size(); s += batch) {
        for (int i = 0; i < batch; ++i) {
          xb.row(i) = train.x.row(order[s + static_cast<std::size_t>(i)]);
          yb[static_cast<std::size_t>(i)] = train.y[static_cast<std::size_t>(order[s + static_cast<std::size_t>(i)])];
        }
        forward(m, xb, t);
        opt.step(m, t, yb.data());
      }
      std::printf("epoch %d (%s): train accuracy %.2f%%\n", epoch + 1, qat ? "QAT" : "float",
                  [&] {
                    const bool q = m.input_fq.fake_quant_enabled();
                    m.set_activation_observers(false);
                    const double a = accuracy(m, train);
                    m.set_activation_observers(epoch < 4);
                    m.set_fake_quant(q);
                    return a;
                  }());
    }
    m.set_activation_observers(false);
    m.set_fake_quant(false);
    const double float_acc = accuracy(m, test);
    m.set_fake_quant(true);
    std::vector<int> fake_pred, int8_pred;
    const double fake_acc = accuracy(m, test, &fake_pred);
    const double int8_acc = int8_accuracy(m, test, int8_pred);
    int agree = 0;
    for (std::size_t i = 0; i < fake_pred.size(); ++i) agree += fake_pred[i] == int8_pred[i];
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto in_p = m.input_fq.params(), h_p = m.hidden_fq.params();
    std::printf("input  params: scale %.6g zero point %d; hidden params: scale %.6g zero point %d\n", in_p.scale,
                in_p.zero_point, h_p.scale, h_p.zero_point);
    std::printf("test accuracy (10000 images): float %.2f%%, fake-quantized %.2f%%, int8 (integer pipeline) %.2f%%\n",
                float_acc, fake_acc, int8_acc);
    std::printf("int8 and fake-quantized predictions agree on %.2f%% of the images; %.1f s\n",
                100.0 * agree / static_cast<double>(fake_pred.size()), seconds);
    if (int8_acc < float_acc - 2.0) {
      std::fprintf(stderr, "error: int8 accuracy %.2f%% is more than 2 points below float %.2f%%\n", int8_acc, float_acc);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
