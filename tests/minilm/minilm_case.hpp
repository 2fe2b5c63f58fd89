// tests/minilm/minilm_case.hpp — the record of tests/data/minilm_*.inc and helpers shared by the MiniLM tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

struct minilm_case {
  std::string_view text;
  std::vector<std::int32_t> ids;
  std::vector<std::uint32_t> embedding;  // float32 bit patterns
};

inline std::vector<float> minilm_floats(const std::vector<std::uint32_t>& bits) {
  std::vector<float> out(bits.size());
  std::memcpy(out.data(), bits.data(), bits.size() * sizeof(float));
  return out;
}

inline double minilm_max_abs_diff(const float* a, const float* b, std::size_t n) {
  double m = 0.0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

inline double minilm_cosine(const float* a, const float* b, std::size_t n) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}
