// tests/sparsity/test_util.hpp — helpers shared by the sparsity tests.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "qsparse/core/error.hpp"
#include "support/testing.hpp"

namespace qsparse::sparsity_testing {

/// The message of the qsparse::error f() throws, or "no error".
using qsparse::testing::error_of;

/// n floats from a normal distribution, with a share of exact zeros and of repeated values (ties).
inline std::vector<float> weights_with_ties(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> kind(0, 9);
  std::vector<float> v(n);
  for (auto& x : v) {
    const int k = kind(rng);
    if (k == 0) {
      x = 0.0f;
    } else if (k == 1) {
      x = (rng() & 1) ? 0.5f : -0.5f;  // ties across signs
    } else {
      x = normal(rng);
    }
  }
  return v;
}

}  // namespace qsparse::sparsity_testing
