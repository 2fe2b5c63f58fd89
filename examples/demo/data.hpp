// examples/demo/data.hpp — Fashion-MNIST (or any IDX data set of 28×28 images and 10 classes).
//
// DIR holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
// t10k-labels-idx1-ubyte.gz (or the same names without .gz). Pixels become p / 255 in [0, 1]; the last
// 10 % of the training file is the validation split (Keras' validation_split takes the tail).
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/io/idx.hpp"

namespace demo {

struct dataset {
  matrix x;            // N × 784, in [0, 1]
  std::vector<int> y;  // N labels in [0, 10)
  std::vector<std::uint8_t> pixels;  // N × 784, the raw bytes (for the int8 input quantizer's range)
};

struct data_splits {
  dataset train, validation, test;
};

namespace detail {

inline dataset to_dataset(const qsparse::io::idx_dataset& src, std::ptrdiff_t begin, std::ptrdiff_t end) {
  dataset d;
  const std::ptrdiff_t n = end - begin;
  d.x.resize(n, 784);
  d.y.resize(static_cast<std::size_t>(n));
  d.pixels.resize(static_cast<std::size_t>(n) * 784);
  const std::uint8_t* img = src.images.data();
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    for (int k = 0; k < 784; ++k) {
      const std::uint8_t p = img[(begin + i) * 784 + k];
      d.pixels[static_cast<std::size_t>(i * 784 + k)] = p;
      d.x(i, k) = static_cast<float>(p) / 255.0f;
    }
    d.y[static_cast<std::size_t>(i)] = src.labels(begin + i);
  }
  return d;
}

}  // namespace detail

/// Loads the four files; `train_limit` / `test_limit` cut the sets (smoke runs), validation is 10 % of
/// the (cut) training set.
inline data_splits load_data(const std::string& dir, std::ptrdiff_t train_limit, std::ptrdiff_t test_limit) {
  // read_mnist_split checks that both files exist, are intact IDX, 28×28 uint8 images, matching counts and
  // labels < 10; any violation is a qsparse::error naming the file.
  const qsparse::io::idx_dataset train = qsparse::io::read_mnist_split(dir, "train");
  const qsparse::io::idx_dataset test = qsparse::io::read_mnist_split(dir, "t10k");
  const std::ptrdiff_t n_train = std::min<std::ptrdiff_t>(train.images.extent(0), train_limit);
  const std::ptrdiff_t n_test = std::min<std::ptrdiff_t>(test.images.extent(0), test_limit);
  const std::ptrdiff_t n_val = n_train / 10;
  if (n_train - n_val < 1 || n_test < 1) throw std::runtime_error(dir + ": the data set has no images");
  data_splits s;
  s.train = detail::to_dataset(train, 0, n_train - n_val);
  s.validation = detail::to_dataset(train, n_train - n_val, n_train);
  s.test = detail::to_dataset(test, 0, n_test);
  return s;
}

}  // namespace demo
