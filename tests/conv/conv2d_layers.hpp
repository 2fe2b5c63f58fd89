// tests/conv/conv2d_layers.hpp — what conv2d_test.cpp and sparse_conv2d_test.cpp share: a layer's shape and
// parameters, random layer shapes (odd sizes, every padding mode, strides, dilation, groups, batch > 1),
// random and edge values, per-channel TFLite requantization parameters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "qsparse/conv/conv2d.hpp"
#include "support/column_params.hpp"

namespace qsparse::conv_test {

// Per-channel TFLite requantization parameters, multipliers from 2^lo to 2^hi.
inline testing::column_params per_channel(std::ptrdiff_t c, std::mt19937& rng, double lo = -14.0, double hi = -6.0) {
  return testing::column_params(c, rng, testing::column_ranges{20000, lo, hi, false});
}

struct layer {
  index_t batch, h, w, c_in, c_out, k_h, k_w, groups;
  conv2d_params p;
};

template <class A>
std::vector<A> random_values(std::size_t n, std::mt19937& rng, int mode = 0) {
  std::uniform_int_distribution<int> d(std::numeric_limits<A>::min(), std::numeric_limits<A>::max());
  std::vector<A> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (mode) {
      case 1: v[i] = std::numeric_limits<A>::min(); break;
      case 2: v[i] = std::numeric_limits<A>::max(); break;
      case 3: v[i] = (i % 3 == 0) ? std::numeric_limits<A>::min() : std::numeric_limits<A>::max(); break;
      default: v[i] = static_cast<A>(d(rng));
    }
  }
  return v;
}

inline std::vector<layer> random_layers(std::mt19937& rng, int count) {
  std::vector<layer> layers;
  std::uniform_int_distribution<int> small(1, 9), kern(1, 5), strides(1, 2), dil(1, 2), grp(1, 3), pads(0, 3);
  for (int i = 0; i < count; ++i) {
    layer l{};
    l.batch = i % 5 == 0 ? 2 : 1;
    l.groups = i % 4 == 0 ? grp(rng) : 1;
    l.c_in = l.groups * small(rng);
    l.c_out = l.groups * small(rng) * (i % 3 == 0 ? 5 : 1);
    l.k_h = kern(rng);
    l.k_w = i % 7 == 0 ? 1 : kern(rng);
    l.p.stride_h = strides(rng);
    l.p.stride_w = strides(rng);
    l.p.dilation_h = dil(rng);
    l.p.dilation_w = dil(rng);
    const int pk = pads(rng);
    if (pk == 0) {
      l.p.pad = padding::valid();
    } else if (pk == 1 || pk == 2) {
      l.p.pad = padding::same();
    } else {
      const index_t eh = (l.k_h - 1) * l.p.dilation_h + 1, ew = (l.k_w - 1) * l.p.dilation_w + 1;
      l.p.pad = padding::explicit_pads(eh / 2, (eh - 1) / 2, ew / 2, ew / 2 > 0 ? ew / 2 - 1 + (i % 2) : 0);
    }
    const index_t eh = (l.k_h - 1) * l.p.dilation_h + 1, ew = (l.k_w - 1) * l.p.dilation_w + 1;
    l.h = eh + small(rng) - 1;
    l.w = ew + small(rng) + 3;
    layers.push_back(l);
  }
  return layers;
}

}  // namespace qsparse::conv_test
