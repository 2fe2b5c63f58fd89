// tests/cluster/centroids_test.cpp — qsparse/cluster/centroids.hpp and assign.hpp: TF-MOT's initial
// centroids and nearest-centroid rule, bit-exact against TF-MOT 0.8.1 (tests/data/gen_tfmot_cluster_oracle.py).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "qsparse/cluster/assign.hpp"
#include "qsparse/cluster/centroids.hpp"
#include "qsparse/cluster/weight_clusters.hpp"

#include "support/testing.hpp"

namespace tfmot_cluster {
#include "data/tfmot_cluster_vectors.inc"
}

namespace {

using qsparse::testing::error_of;
using qsparse::testing::floats_from_bits;
using qsparse::testing::from_bits;


}  // namespace

TEST_CASE("linear and density-based centroids and the assignment match TF-MOT bit for bit", "[cluster][tfmot_oracle]") {
  using namespace tfmot_cluster;
  int checked = 0;
  for (const auto& c : tfmot_cluster_cases) {
    const std::vector<float> w = floats_from_bits(tfmot_cluster_weights + c.weight_offset, c.weight_count);
    const std::vector<float> expected = floats_from_bits(tfmot_cluster_centroids + c.centroid_offset, c.centroid_count);
    const auto init = c.density ? qsparse::centroid_init::density_based : qsparse::centroid_init::linear;
    const std::vector<float> got = qsparse::initial_centroids(w.data(), w.size(), c.clusters, init, c.preserve_sparsity, 9);
    INFO(c.weights_name << (c.density ? " density" : " linear") << (c.preserve_sparsity ? " preserve" : "") << " k "
                        << c.clusters);
    REQUIRE(got.size() == static_cast<std::size_t>(c.clusters));
    // TF-MOT returns fewer centroids only for all-zero weights under preserve_sparsity (none here).
    REQUIRE(expected.size() == got.size());
    for (std::size_t j = 0; j < got.size(); ++j) {
      INFO("centroid " << j);
      CHECK(std::memcmp(&got[j], &expected[j], sizeof(float)) == 0);
      if (std::memcmp(&got[j], &expected[j], sizeof(float)) != 0) CHECK(got[j] == expected[j]);
    }
    for (std::size_t i = 0; i < w.size(); ++i) {
      INFO("weight " << i);
      CHECK(qsparse::nearest_centroid(w[i], expected.data(), expected.size()) ==
            tfmot_cluster_indices[c.index_offset + static_cast<int>(i)]);
    }
    ++checked;
  }
  CHECK(checked > 150);
}

TEST_CASE("upstream clustering_centroids_test expectations", "[cluster]") {
  using qsparse::centroid_init;
  auto init = [](std::vector<float> w, int k, centroid_init how, bool preserve) {
    return qsparse::initial_centroids(w.data(), w.size(), k, how, preserve, 9);
  };
  using V = std::vector<float>;
  // testLinearClusterCentroids
  CHECK(init(V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, centroid_init::linear, false) == V{0.f, 2.5f, 5.f, 7.5f, 10.f});
  CHECK(init(V{0, 1, 2, 3, 3.1f, 3.2f, 3.3f, 3.4f, 3.5f}, 3, centroid_init::linear, false) == V{0.f, 1.75f, 3.5f});
  // testLinearClusterCentroidsWithSparsityPreservation
  CHECK(init(V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, centroid_init::linear, true) == V{0.f, 1.f, 4.f, 7.f, 10.f});
  const V s = init(V{-3, -2, -1, 0, 1.1f, 2.2f, 3.3f, 4.4f, 5.5f, 6.6f, 7.7f, 8.8f, 9}, 6, centroid_init::linear, true);
  const V s_expected{-3.f, 0.f, 1.1f, 3.7333333f, 6.366666f, 9.f};
  for (std::size_t j = 0; j < s.size(); ++j) CHECK(s[j] == Approx(s_expected[j]).margin(1e-4));
  // testDensityBasedClusterCentroids (places=4)
  const V d = init(V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, centroid_init::density_based, false);
  const V d_expected{0.3010345f, 5.2775865f, 9.01f};
  for (std::size_t j = 0; j < d.size(); ++j) CHECK(d[j] == Approx(d_expected[j]).margin(1e-4));
  // testDensityBasedClusterCentroidsWithSparsityPreservation, the last case: all zeros -> the zero centroid
  CHECK(init(V{0, 0, 0, 0}, 2, centroid_init::density_based, true) == V{0.f, 0.f});
  const V dp = init(V{0, 1, 2, 3, -3.1f, -3.2f, -3.3f, -0.005f, 3.5f}, 3, centroid_init::density_based, true);
  const V dp_expected{-3.1887069f, 0.f, 1.0768965f};
  for (std::size_t j = 0; j < dp.size(); ++j) CHECK(dp[j] == Approx(dp_expected[j]).margin(1e-4));
}

TEST_CASE("edge cases: k = 1, k above the distinct values, all-equal weights", "[cluster]") {
  using qsparse::centroid_init;
  using V = std::vector<float>;
  const V equal(7, 0.5f);
  for (auto how : {centroid_init::linear, centroid_init::density_based, centroid_init::kmeans_plus_plus,
                   centroid_init::random}) {
    INFO(qsparse::to_string(how));
    const V one = qsparse::initial_centroids(equal.data(), equal.size(), 1, how, false, 9);
    REQUIRE(one.size() == 1);
    if (how == centroid_init::density_based) {
      // the first grid point past 0.5 (bit-exact values: the oracle's "equal" cases)
      CHECK(one[0] > 0.5f);
      CHECK(one[0] < 0.5f + 0.02f / 29);
    } else {
      CHECK(one[0] == 0.5f);
    }
    const V many = qsparse::initial_centroids(equal.data(), equal.size(), 4, how, false, 9);
    REQUIRE(many.size() == 4);
    // Every weight is nearest to one centroid, the first of equals.
    const std::int32_t j = qsparse::nearest_centroid(0.5f, many.data(), many.size());
    for (std::size_t i = 0; i < many.size(); ++i)
      if (std::fabs(many[i] - 0.5f) < std::fabs(many[static_cast<std::size_t>(j)] - 0.5f)) FAIL("not nearest");
  }
  // linear, k = 1: tf.linspace(min, max, 1) = [min]
  const V w{3.f, -1.f, 2.f};
  CHECK(qsparse::initial_centroids(w.data(), w.size(), 1, centroid_init::linear, false, 9) == V{-1.f});
  // k above the distinct values: linear spaces them anyway; k-means++ repeats its first pick once every
  // value sits on a centroid.
  const V two{1.f, 1.f, 2.f, 2.f};
  CHECK(qsparse::initial_centroids(two.data(), two.size(), 5, centroid_init::linear, false, 9) ==
        V{1.f, 1.25f, 1.5f, 1.75f, 2.f});
  const V pp = qsparse::initial_centroids(two.data(), two.size(), 5, centroid_init::kmeans_plus_plus, false, 9);
  REQUIRE(pp.size() == 5);
  CHECK(std::set<float>(pp.begin(), pp.begin() + 2) == std::set<float>{1.f, 2.f});
  CHECK(pp[2] == pp[0]);
  CHECK(pp[4] == pp[0]);
  // preserve_sparsity with k = 1: only the zero centroid
  CHECK(qsparse::initial_centroids(w.data(), w.size(), 1, centroid_init::linear, true, 9) == V{0.f});
  // The split: 2 negatives, 4 positives, k - 1 = 4 -> round(4 · 2/6) = 1 negative, 3 positive
  const V mixed{-1.f, -2.f, 0.f, 1.f, 2.f, 3.f, 4.f};
  CHECK(qsparse::initial_centroids(mixed.data(), mixed.size(), 5, centroid_init::linear, true, 9) ==
        V{-2.f, 0.f, 1.f, 2.5f, 4.f});
}

TEST_CASE("k-means++ and random are deterministic, inside the data and seed-dependent", "[cluster]") {
  std::vector<float> w;
  for (int i = 0; i < 50; ++i) w.push_back(static_cast<float>((i * 37) % 23) * 0.1f - 1.0f);
  using qsparse::centroid_init;
  const auto a = qsparse::initial_centroids(w.data(), w.size(), 8, centroid_init::kmeans_plus_plus, false, 9);
  const auto b = qsparse::initial_centroids(w.data(), w.size(), 8, centroid_init::kmeans_plus_plus, false, 9);
  const auto c = qsparse::initial_centroids(w.data(), w.size(), 8, centroid_init::kmeans_plus_plus, false, 10);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(std::set<float>(a.begin(), a.end()).size() == 8);  // distinct picks while distinct values remain
  for (float x : a) CHECK(std::find(w.begin(), w.end(), x) != w.end());
  const auto r = qsparse::initial_centroids(w.data(), w.size(), 8, centroid_init::random, false, 3);
  CHECK(r == qsparse::initial_centroids(w.data(), w.size(), 8, centroid_init::random, false, 3));
  for (float x : r) {
    CHECK(x >= -1.0f);
    CHECK(x <= 1.2f);
  }
}

TEST_CASE("nearest_centroid: ties go to the lowest index; Lloyd rounds converge", "[cluster]") {
  const float c[] = {0.f, 1.f, 2.f, 1.f};
  CHECK(qsparse::nearest_centroid(0.5f, c, 4) == 0);
  CHECK(qsparse::nearest_centroid(1.5f, c, 4) == 1);
  CHECK(qsparse::nearest_centroid(1.0f, c, 4) == 1);
  CHECK(qsparse::nearest_centroid(-7.f, c, 4) == 0);
  CHECK(qsparse::nearest_centroid(9.f, c, 4) == 2);

  const std::vector<float> v{0.f, 0.2f, 0.4f, 5.f, 5.5f, 6.f, 9.f};
  std::vector<float> cent{0.f, 1.f, 9.f};
  const int rounds = qsparse::refine_centroids(v.data(), v.size(), cent.data(), cent.size(), 20);
  CHECK(rounds >= 1);
  CHECK(cent == std::vector<float>{static_cast<float>((0.0 + 0.2f + 0.4f) / 3), static_cast<float>((5.0 + 5.5 + 6.0) / 3), 9.f});
  // Stable centroids: no round changes anything; a pinned centroid never moves.
  CHECK(qsparse::refine_centroids(v.data(), v.size(), cent.data(), cent.size(), 20) == 0);
  std::vector<float> pinned{0.f, 5.f, 9.f};
  qsparse::refine_centroids(v.data(), v.size(), pinned.data(), pinned.size(), 20, 0);
  CHECK(pinned[0] == 0.f);
}

TEST_CASE("invalid arguments are qsparse::error naming the value", "[cluster]") {
  const std::vector<float> w{1.f, 2.f};
  CHECK(error_of([&] { qsparse::initial_centroids(w.data(), w.size(), 0, qsparse::centroid_init::linear, false, 9); }) ==
        "qsparse::initial_centroids: clusters must be at least 1, got clusters = 0");
  CHECK(error_of([&] { qsparse::initial_centroids(w.data(), 0, 2, qsparse::centroid_init::linear, false, 9); }) ==
        "qsparse::initial_centroids: values must hold at least one element, got count = 0");
  std::vector<float> bad{1.f, std::numeric_limits<float>::quiet_NaN(), 3.f};
  qsparse::cluster_config config;
  config.clusters = 2;
  CHECK(error_of([&] { qsparse::cluster_weights(qsparse::make_view(bad.data(), 3), config); }) ==
        "qsparse::cluster_weights: weights must be finite, got nan at row-major position 1");
}
