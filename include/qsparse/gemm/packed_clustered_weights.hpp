// qsparse/gemm/packed_clustered_weights.hpp — packs clustered weights for the clustered GEMM
// (qsparse/gemm/gemm_clustered.hpp) in the format of qsparse/spec/packed_clustered_weights.hpp.
//
//   auto stored = qsparse::packed_clusters::pack(clusters, 4);           // storage (qsparse/cluster/)
//   auto packed = qsparse::pack_clustered_weights(stored);              // int8 codebook, kernel layout
//   float s = packed.view().scale(n);                                    // w_real[k][n] ≈ s * codebook
//
// From clustered storage (qsparse::packed_clusters, or any type with its observers: shape(), clusters(),
// channel_axis(), codebook(), index(f)): the weights are laid out output channel first — N × K (a dense
// layer's OI) or N × H × W × I (a convolution's OHWI, K = H·W·I) — with a codebook per output channel
// (channel axis 0) or one per tensor (axis -1), and at most 16 clusters. The float codebook is quantized to
// int8 per output channel, symmetric and narrow:
//   scale[n] = max_j |c[n][j]| / 127  (float32; 1 when every centroid is 0)
//   q[n][j]  = clamp(round_half_away_from_zero(c[n][j] / scale[n]), -127, 127)   (the division in float32)
// so the int8 dot products are exact and the real result is a_scale · scale[n] · acc: fold scale[n] into a
// per-channel requantization (requantize_float_per_channel, or TFLite's multipliers). A per-tensor codebook
// gives every column the same scale.
//
// From an int8 codebook directly: indices N × K (std::uint8_t, each below `clusters`), codebook N × C
// (std::int8_t, C = clusters <= 16, any value in [-128, 127]) and optional scales (N floats, stored in the
// buffer for the caller; null stores 1).
//
// Checked (qsparse::error naming the argument and value): ranks and extents, the channel axis, the cluster
// count, every index below it, scales positive and finite, the ISA known.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/quant/rounding.hpp"
#include "qsparse/spec/packed_clustered_weights.hpp"

namespace qsparse {

/// A float codebook quantized to int8 per channel (see the top of this header).
struct int8_codebook {
  index_t channels = 0;
  int clusters = 0;
  std::vector<std::int8_t> values;  // [channels][clusters]
  std::vector<float> scales;        // [channels]
};

/// Quantizes `channels` rows of `clusters` float centroids (row-major) to int8, symmetric per row.
inline int8_codebook quantize_codebook(const float* codebook, index_t channels, int clusters) {
  const char* fn = "qsparse::quantize_codebook";
  detail::check(channels >= 0 && clusters >= 1, fn, ": channels must be >= 0 and clusters >= 1, got channels = ",
                channels, ", clusters = ", clusters);
  detail::check(codebook != nullptr || channels == 0, fn, ": codebook must not be null");
  int8_codebook q;
  q.channels = channels;
  q.clusters = clusters;
  q.values.resize(static_cast<std::size_t>(channels * clusters));
  q.scales.resize(static_cast<std::size_t>(channels));
  for (index_t c = 0; c < channels; ++c) {
    const float* row = codebook + c * clusters;
    float most = 0.0f;
    for (int j = 0; j < clusters; ++j) {
      detail::check(std::isfinite(row[j]), fn, ": centroid ", j, " of channel ", c, " must be finite, got ", row[j]);
      most = std::max(most, std::fabs(row[j]));
    }
    const float scale = most > 0.0f ? most / 127.0f : 1.0f;
    detail::check(scale > 0.0f, fn, ": the centroids of channel ", c, " (largest |c| = ", most,
                  ") are too small for a float32 scale");
    q.scales[static_cast<std::size_t>(c)] = scale;
    for (int j = 0; j < clusters; ++j) {
      const float v = round_half_away_from_zero::round(row[j] / scale);
      q.values[static_cast<std::size_t>(c * clusters + j)] =
          static_cast<std::int8_t>(std::min(127.0f, std::max(-127.0f, v)));
    }
  }
  return q;
}

/// Packs N × K indices into an N × C int8 codebook (C = clusters <= 16) for the kernels of `isa`;
/// `scales` (N floats, or null for 1) are stored for the caller. See the top of this header.
template <class I, class LI, class AI, class C, class LC, class AC>
packed_clustered_weights pack_clustered_weights(const tensor_view<I, 2, LI, AI>& indices,
                                                const tensor_view<C, 2, LC, AC>& codebook, const float* scales = nullptr,
                                                isa_level isa = best_isa()) {
  static_assert(std::is_same_v<std::remove_const_t<I>, std::uint8_t>,
                "qsparse::pack_clustered_weights: indices must be a 2-D view (N x K) of std::uint8_t.");
  static_assert(std::is_same_v<std::remove_const_t<C>, std::int8_t>,
                "qsparse::pack_clustered_weights: the codebook must be a 2-D view (N x clusters) of std::int8_t.");
  const char* fn = "qsparse::pack_clustered_weights";
  const index_t n = indices.extent(0);
  const index_t k = indices.extent(1);
  const index_t clusters = codebook.extent(1);
  detail::check(codebook.extent(0) == n, fn, ": the codebook has ", codebook.extent(0),
                " rows, the indices have N = ", n, " rows (one codebook row per output channel)");
  (void)detail::clustered_sizes_for(fn, k, n, clusters);
  for (index_t c = 0; c < n && scales != nullptr; ++c) {
    detail::check(scales[c] > 0.0f && scales[c] <= 3.4028234663852886e38f, fn, ": scale of column ", c, " is ",
                  scales[c], "; scales must be positive and finite");
  }
  for (index_t c = 0; c < n; ++c) {
    for (index_t kk = 0; kk < k; ++kk) {
      detail::check(indices(c, kk) < clusters, fn, ": index (", c, ", ", kk, ") is ", int{indices(c, kk)},
                    ", outside the codebook's ", clusters, " clusters");
    }
  }
  const std::size_t bytes = packed_clustered_weights_size(k, n, clusters);
  return packed_clustered_weights(bytes, [&](void* buffer, std::size_t size) {
    return detail::pack_clustered(
        fn, k, n, static_cast<int>(clusters), isa, buffer, size,
        [&](index_t kk, index_t col) { return static_cast<int>(indices(col, kk)); },
        [&](index_t col, int j) { return static_cast<int>(codebook(col, j)); },
        [&](index_t col) { return scales != nullptr ? scales[col] : 1.0f; });
  });
}

/// Packs clustered storage (qsparse::packed_clusters: output channels first, at most 16 clusters, a
/// codebook per output channel or per tensor), its float codebook quantized to int8 per output channel.
template <class Clusters, class = decltype(std::declval<const Clusters&>().index(index_t{0}))>
packed_clustered_weights pack_clustered_weights(const Clusters& clusters, isa_level isa = best_isa()) {
  const char* fn = "qsparse::pack_clustered_weights";
  const std::vector<index_t> shape = clusters.shape();
  detail::check(shape.size() >= 2, fn, ": the clustered weights must have rank >= 2 (N x K, or N x H x W x I), got rank ",
                shape.size());
  detail::check(clusters.channel_axis() == 0 || clusters.channel_axis() == -1, fn,
                ": the codebook must be per output channel (axis 0) or per tensor (-1), got channel axis ",
                clusters.channel_axis());
  const index_t n = shape[0];
  index_t k = 1;
  for (std::size_t r = 1; r < shape.size(); ++r) k *= shape[r];
  const int count = clusters.clusters();
  (void)detail::clustered_sizes_for(fn, k, n, count);
  const index_t codebooks = clusters.channel_axis() == 0 ? n : 1;
  const int8_codebook q = quantize_codebook(clusters.codebook().data(), codebooks, count);
  const std::size_t bytes = packed_clustered_weights_size(k, n, count);
  return packed_clustered_weights(bytes, [&](void* buffer, std::size_t size) {
    return detail::pack_clustered(
        fn, k, n, count, isa, buffer, size,
        [&](index_t kk, index_t col) { return static_cast<int>(clusters.index(col * k + kk)); },
        [&](index_t col, int j) {
          return static_cast<int>(q.values[static_cast<std::size_t>((codebooks == 1 ? 0 : col) * count + j)]);
        },
        [&](index_t col) { return q.scales[static_cast<std::size_t>(codebooks == 1 ? 0 : col)]; });
  });
}

}  // namespace qsparse
