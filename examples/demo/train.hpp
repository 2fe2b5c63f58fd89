// examples/demo/train.hpp — the training loop (shuffled mini-batches, Adam) and float evaluation.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "data.hpp"
#include "nn.hpp"

namespace demo {

struct train_options {
  int epochs = 10;
  int batch = 128;
  float lr = 1e-3f;
  std::uint32_t shuffle_seed = 1;
  std::string label = "float";
  bool progress = true;  // one line per epoch on stderr (only when stderr is a terminal)
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
  const bool show = o.progress && isatty(STDERR_FILENO) != 0;
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
    long correct = 0, seen = 0;
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
      net.backward_and_step(dlogits, hooks, o.lr);
    }
    if (show) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double val = evaluate(net, d.validation, hooks);
      std::fprintf(stderr, "  [%s] epoch %d/%d: loss %.4f, accuracy %.2f%%, validation %.2f%%, %.1f s\n",
                   o.label.c_str(), epoch + 1, o.epochs, loss_sum / static_cast<double>(seen),
                   100.0 * static_cast<double>(correct) / static_cast<double>(seen), val, secs);
    }
  }
  return step;
}

}  // namespace demo
