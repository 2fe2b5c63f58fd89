// tests/cluster/weight_clusters_test.cpp — qsparse/cluster/weight_clusters.hpp: per-channel clustering and
// the straight-through training step against TF-MOT 0.8.1, sparsity preservation, strip, errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "qsparse/cluster/weight_clusters.hpp"

#include "support/testing.hpp"

namespace tfmot_cluster {
#include "data/tfmot_cluster_vectors.inc"
}

namespace {

using qsparse::testing::error_of;
using qsparse::testing::floats_from_bits;
using qsparse::testing::from_bits;

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("per-channel clustering of an HWIO kernel matches TF-MOT's cluster_per_channel", "[cluster][tfmot_oracle]") {
  using namespace tfmot_cluster;
  for (const auto& c : tfmot_cluster_channel_cases) {
    const int count = c.h * c.w * c.c_in * c.c_out;
    std::vector<float> w = floats_from_bits(tfmot_cluster_channel_weights + c.weight_offset, count);
    qsparse::cluster_config config;
    config.clusters = c.clusters;
    config.init = c.density ? qsparse::centroid_init::density_based : qsparse::centroid_init::linear;
    config.preserve_sparsity = c.preserve_sparsity;
    config.per_channel = true;
    config.channel_axis = -1;  // Keras channels_last: the output channel is the last axis
    const auto view = qsparse::make_view(static_cast<const float*>(w.data()), c.h, c.w, c.c_in, c.c_out);
    const auto clusters = qsparse::cluster_weights(view, config);
    INFO((c.density ? "density" : "linear") << (c.preserve_sparsity ? " preserve" : "") << " k " << c.clusters);
    REQUIRE(clusters.channels() == c.c_out);
    REQUIRE(clusters.channel_axis() == 3);
    const auto centroids = clusters.centroids();
    for (int o = 0; o < c.c_out; ++o)
      for (int j = 0; j < c.clusters; ++j) {
        INFO("channel " << o << " centroid " << j);
        CHECK(same_bits(centroids(o, j), from_bits(tfmot_cluster_channel_centroids[c.centroid_offset + o * c.clusters + j])));
      }
    for (int f = 0; f < count; ++f) {
      INFO("weight " << f);
      CHECK(clusters.indices()[static_cast<std::size_t>(f)] == tfmot_cluster_channel_indices[c.index_offset + f]);
    }
  }
}

TEST_CASE("one training step: straight-through gradients as TF-MOT's ClusteringAlgorithm", "[cluster][tfmot_oracle]") {
  using namespace tfmot_cluster;
  for (const auto& c : tfmot_cluster_grad_cases) {
    INFO((c.average ? "AVG" : "SUM") << " n " << c.count << " k " << c.clusters);
    std::vector<float> w = floats_from_bits(tfmot_cluster_grad_weights + c.offset, c.count);
    const std::vector<float> g = floats_from_bits(tfmot_cluster_grad_upstream + c.offset, c.count);
    const std::vector<float> cent = floats_from_bits(tfmot_cluster_grad_centroids + c.centroid_offset, c.clusters);
    qsparse::cluster_config config;
    config.clusters = c.clusters;
    config.init = qsparse::centroid_init::linear;
    auto clusters = qsparse::cluster_weights(qsparse::make_view(w.data(), c.count), config);
    for (int j = 0; j < c.clusters; ++j) clusters.centroids()(0, j) = cent[static_cast<std::size_t>(j)];
    std::vector<float> clustered(w.size()), grad_w(w.size());
    clusters.forward(qsparse::make_view(w.data(), c.count), qsparse::make_view(clustered.data(), c.count));
    for (int i = 0; i < c.count; ++i) {
      const auto j = qsparse::nearest_centroid(w[static_cast<std::size_t>(i)], cent.data(), cent.size());
      CHECK(clustered[static_cast<std::size_t>(i)] == cent[static_cast<std::size_t>(j)]);
    }
    clusters.backward(qsparse::make_view(g.data(), c.count), qsparse::make_view(grad_w.data(), c.count),
                      c.average ? qsparse::gradient_aggregation::average : qsparse::gradient_aggregation::sum);
    for (int i = 0; i < c.count; ++i)
      CHECK(same_bits(grad_w[static_cast<std::size_t>(i)], from_bits(tfmot_cluster_grad_grad_weights[c.offset + i])));
    for (int j = 0; j < c.clusters; ++j) {
      INFO("centroid " << j);
      const float expected = from_bits(tfmot_cluster_grad_grad_centroids[c.centroid_offset + j]);
      CHECK(same_bits(clusters.centroid_gradient()(0, j), expected));
    }
  }
}

TEST_CASE("preserve_sparsity: zeros stay zeros through training, the zero centroid is reset", "[cluster]") {
  std::vector<float> w{0.f, -0.9f, 0.f, 0.3f, 0.8f, 0.f, -0.2f, 0.5f};
  qsparse::cluster_config config;
  config.clusters = 4;
  config.init = qsparse::centroid_init::linear;
  config.preserve_sparsity = true;
  const auto wv = qsparse::make_view(w.data(), 2, 4);
  auto clusters = qsparse::cluster_weights(wv, config);
  // 2 negatives, 3 positives: round(3 · 2/5) = 1 negative centroid, 2 positive
  CHECK(std::vector<float>(clusters.centroids().data_handle(), clusters.centroids().data_handle() + 4) ==
        std::vector<float>{-0.9f, 0.f, 0.3f, 0.8f});
  REQUIRE(clusters.zero_index() == std::vector<std::int32_t>{1});
  // -0.2 is nearest to the zero centroid, so it joins the zeros for good (TF-MOT's mask from the build).
  CHECK(clusters.sparsity_mask() == std::vector<std::uint8_t>{0, 1, 0, 1, 1, 0, 0, 1});
  // Training moves the weights (the zeros too) and the centroids, the zero centroid included.
  for (auto& x : w) x += 0.04f;
  clusters.centroids()(0, 1) = 0.125f;
  std::vector<float> out(8), grad(8, 1.0f), grad_w(8);
  clusters.forward(qsparse::make_view(static_cast<const float*>(w.data()), 2, 4), qsparse::make_view(out.data(), 2, 4));
  CHECK(clusters.centroids()(0, 1) == 0.0f);
  CHECK(out == std::vector<float>{0.f, -0.9f, 0.f, 0.3f, 0.8f, 0.f, 0.f, 0.3f});
  clusters.backward(qsparse::make_view(grad.data(), 2, 4), qsparse::make_view(grad_w.data(), 2, 4));
  CHECK(grad_w == std::vector<float>{0.f, 1.f, 0.f, 1.f, 1.f, 0.f, 0.f, 1.f});
  // The centroid gradient sums the upstream gradient of every weight in the cluster (masked ones too).
  CHECK(clusters.centroid_gradient()(0, 0) == 1.f);
  CHECK(clusters.centroid_gradient()(0, 1) == 4.f);
  CHECK(clusters.centroid_gradient()(0, 2) == 2.f);
  CHECK(clusters.centroid_gradient()(0, 3) == 1.f);
  const auto stripped = clusters.strip(qsparse::make_view(static_cast<const float*>(w.data()), 2, 4));
  CHECK(std::vector<float>(stripped.data(), stripped.data() + 8) == out);
}

TEST_CASE("per channel along the OHWI output axis, Lloyd rounds, strip of a strided view", "[cluster]") {
  // O = 2 channels of 6 values each, very different scales: per-channel centroids follow each.
  std::vector<float> w{0.1f, 0.2f, 0.3f, 0.1f, 0.2f, 0.3f, 10.f, 20.f, 30.f, 10.f, 20.f, 31.f};
  qsparse::cluster_config config;
  config.clusters = 3;
  config.init = qsparse::centroid_init::linear;
  config.per_channel = true;
  config.channel_axis = 0;
  config.kmeans_iterations = 5;
  const auto view = qsparse::make_view(static_cast<const float*>(w.data()), 2, 1, 2, 3);
  auto clusters = qsparse::cluster_weights(view, config);
  REQUIRE(clusters.channels() == 2);
  CHECK(clusters.centroids()(0, 0) == 0.1f);
  CHECK(clusters.centroids()(0, 2) == 0.3f);
  CHECK(clusters.centroids()(1, 1) == 20.f);
  CHECK(clusters.centroids()(1, 2) == 30.5f);  // Lloyd: the mean of 30 and 31
  const auto out = clusters.strip(view);
  CHECK(out(1, 0, 1, 2) == 30.5f);
  CHECK(out(0, 0, 0, 1) == 0.2f);
  // A transposed (strided) view of the same memory clusters the same logical tensor.
  auto per_tensor = config;
  per_tensor.per_channel = false;
  per_tensor.kmeans_iterations = 0;
  per_tensor.clusters = 2;
  const auto t = qsparse::make_strided_view(static_cast<const float*>(w.data()), {6, 2}, {1, 6});
  auto c2 = qsparse::cluster_weights(t, per_tensor);
  CHECK(c2.indices() == std::vector<std::int32_t>{0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1});
}

TEST_CASE("weight_clusters refuses bad arguments with a message naming them", "[cluster]") {
  std::vector<float> w{1.f, 2.f, 3.f, 4.f};
  const auto v = qsparse::make_view(static_cast<const float*>(w.data()), 2, 2);
  qsparse::cluster_config config;
  config.clusters = 0;
  CHECK(error_of([&] { qsparse::cluster_weights(v, config); }) ==
        "qsparse::cluster_weights: clusters must be at least 1, got clusters = 0");
  config.clusters = 2;
  config.per_channel = true;
  config.channel_axis = 2;
  CHECK(error_of([&] { qsparse::cluster_weights(v, config); }) ==
        "qsparse::cluster_weights: channel_axis must be in [-rank, rank) for weights of rank 2, got channel_axis = 2");
  config.channel_axis = 0;
  auto clusters = qsparse::cluster_weights(v, config);
  std::vector<float> out(6);
  CHECK(error_of([&] { clusters.forward(v, qsparse::make_view(out.data(), 3, 2)); }) ==
        "qsparse::weight_clusters::forward: clustered has extents [3, 2], the clustered weights have [2, 2]");
  clusters.centroids()(1, 0) = std::numeric_limits<float>::infinity();
  CHECK(error_of([&] { clusters.forward(v, qsparse::make_view(out.data(), 2, 2)); }) ==
        "qsparse::weight_clusters::forward: centroid 0 of channel 1 must be finite, got inf");
  w[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK(error_of([&] { clusters.forward(v, qsparse::make_view(out.data(), 2, 2)); }) ==
        "qsparse::weight_clusters::forward: weights must be finite, got nan at row-major position 3");
}
