// examples/demo/train.hpp — the training loop (shuffled mini-batches, Adam) and float evaluation.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "data.hpp"
#include "nn.hpp"

namespace demo {

/// Where a training run is, for progress lines: at the end of each epoch, and within an epoch at most
/// every train_options::report_every seconds.
struct train_progress {
  int epoch = 0;             // 1-based
  int epochs = 0;
  bool epoch_done = false;   // false: a report from within the epoch
  long batches = 0;          // batches finished since the last report (the progress meters' unit)
  double epoch_fraction = 0; // of the current epoch
  double loss = 0;           // mean training loss of the epoch so far
  double accuracy = 0;       // training accuracy (percent) of the epoch so far
  double validation = std::numeric_limits<double>::quiet_NaN();  // epoch end of a run without hooks
  double seconds = 0;        // of the epoch so far
};

struct train_options {
  int epochs = 10;
  int batch = 128;
  float lr = 1e-3f;
  std::uint32_t shuffle_seed = 1;
  std::string label = "float";
  /// Called with progress (may be empty). Validation accuracy is measured only for runs without hooks:
  /// evaluating through QAT hooks would feed the validation set to their range observers, so the model
  /// would depend on whether progress was shown.
  std::function<void(const train_progress&)> on_progress;
  double report_every = 30;  // seconds between reports within an epoch
  /// Learning-rate multiplier per weighted layer (empty: 1 for all; 0 freezes a layer, see
  /// network::backward_and_step).
  std::vector<float> layer_lr;
};

/// Accuracy (percent) of the float network on d, with the hooks' forward transforms (fake quantization).
inline double evaluate(network& net, const dataset& d, const training_hooks* hooks = nullptr) {
  int correct = 0;
  const Eigen::Index n = d.x.rows();
  matrix xb;
  for (Eigen::Index s = 0; s < n; s += 1000) {
    const Eigen::Index rows = std::min<Eigen::Index>(1000, n - s);
    xb = d.x.middleRows(s, rows);
    const matrix& logits = net.forward(xb, hooks, false);
    for (Eigen::Index i = 0; i < rows; ++i)
      correct += argmax_row(logits.row(i).data(), static_cast<int>(logits.cols())) == d.y[static_cast<std::size_t>(s + i)];
  }
  return n == 0 ? 0.0 : 100.0 * correct / static_cast<double>(n);
}

/// Trains `net` on d.train; returns the global step count reached (start + steps taken).
inline long train(network& net, const data_splits& d, const train_options& o, const training_hooks* hooks,
                  long start_step = 0) {
  net.check_layer_lr(o.layer_lr);
  std::vector<int> order(static_cast<std::size_t>(d.train.x.rows()));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(o.shuffle_seed);
  matrix xb, dlogits;
  std::vector<int> yb;
  long step = start_step;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0.0;
    long correct = 0, seen = 0, unreported = 0;
    auto last_report = t0;
    const auto report = [&](bool done) {
      train_progress p;
      p.epoch = epoch + 1;
      p.epochs = o.epochs;
      p.epoch_done = done;
      p.batches = unreported;
      p.epoch_fraction = static_cast<double>(seen) / static_cast<double>(std::max<std::size_t>(1, order.size()));
      p.loss = seen == 0 ? 0.0 : loss_sum / static_cast<double>(seen);
      p.accuracy = seen == 0 ? 0.0 : 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
      p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (done && hooks == nullptr) p.validation = evaluate(net, d.validation);
      unreported = 0;
      o.on_progress(p);
    };
    for (std::size_t s = 0; s < order.size(); s += static_cast<std::size_t>(o.batch)) {
      const int rows = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(o.batch), order.size() - s));
      xb.resize(rows, d.train.x.cols());
      yb.resize(static_cast<std::size_t>(rows));
      for (int i = 0; i < rows; ++i) {
        xb.row(i) = d.train.x.row(order[s + static_cast<std::size_t>(i)]);
        yb[static_cast<std::size_t>(i)] = d.train.y[static_cast<std::size_t>(order[s + static_cast<std::size_t>(i)])];
      }
      ++step;
      if (hooks != nullptr && hooks->before_step) hooks->before_step(step);
      const matrix& logits = net.forward(xb, hooks, true);
      for (int i = 0; i < rows; ++i)
        correct += argmax_row(logits.row(i).data(), static_cast<int>(logits.cols())) == yb[static_cast<std::size_t>(i)];
      seen += rows;
      loss_sum += static_cast<double>(network::softmax_cross_entropy(logits, yb.data(), dlogits)) * rows;
      net.backward_and_step(dlogits, hooks, o.lr, o.layer_lr);
      ++unreported;
      if (o.on_progress && s + static_cast<std::size_t>(o.batch) < order.size()) {
        const auto now = std::chrono::steady_clock::now();
        if (std::chrono::duration<double>(now - last_report).count() >= o.report_every) {
          last_report = now;
          report(false);
        }
      }
    }
    if (o.on_progress) report(true);
  }
  return step;
}

}  // namespace demo
