// tests/cluster/packed_clusters_test.cpp — qsparse/cluster/packed_clusters.hpp: b-bit indices + codebook,
// the exact bit layout, the round trip for every width, and from_arrays' validation.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "qsparse/cluster/packed_clusters.hpp"

#include "support/testing.hpp"

namespace {

using qsparse::testing::error_of;


std::vector<float> ramp(std::size_t n) {
  std::vector<float> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = static_cast<float>((i * 7919) % 251) / 251.0f - 0.5f;
  return w;
}

}  // namespace

TEST_CASE("4-bit and 3-bit indices: the exact bytes", "[cluster][packed]") {
  // Six weights, linear centroids 0, 1, 2, 3 per tensor: indices are the values.
  std::vector<float> w{3.f, 0.f, 1.f, 2.f, 3.f, 1.f};
  qsparse::cluster_config config;
  config.clusters = 4;
  config.init = qsparse::centroid_init::linear;
  const auto clusters = qsparse::cluster_weights(qsparse::make_view(static_cast<const float*>(w.data()), 2, 3), config);
  const auto p4 = qsparse::packed_clusters::pack(clusters, 4);
  CHECK(p4.index_bytes_data() == std::vector<std::uint8_t>{0x03, 0x21, 0x13});  // low nibble first
  CHECK(p4.codebook() == std::vector<float>{0.f, 1.f, 2.f, 3.f});
  CHECK(p4.size_bytes() == 16 + 3);
  const auto p3 = qsparse::packed_clusters::pack(clusters, 3);
  // stream: 011 000 001 010 011 001 (index 0 lowest) -> bits 0..17
  // byte 0 = bits 0..7: 1,1,0, 0,0,0, 1,0 -> 0x43; byte 1 = bits 8..15: 0,0,1,0, 1,1,0,1 -> 0xB4
  // byte 2: bits 16..17 = 0,0 -> 0x00
  CHECK(p3.index_bytes_data() == std::vector<std::uint8_t>{0x43, 0xB4, 0x00});
  for (qsparse::index_t f = 0; f < 6; ++f) CHECK(p3.value(f) == w[static_cast<std::size_t>(f)]);
  const auto a = p3.arrays();
  CHECK(std::string(a[0].name) == "layout");
  CHECK(a[0].count == 6);  // bits, clusters, axis, rank, 2, 3
  const auto* layout = static_cast<const std::int32_t*>(a[0].data);
  CHECK(std::vector<std::int32_t>(layout, layout + 6) == std::vector<std::int32_t>{3, 4, -1, 2, 2, 3});
}

TEST_CASE("pack then from_arrays then unpack gives the clustered weights for 2..8 bits", "[cluster][packed]") {
  const std::vector<float> w = ramp(3 * 5 * 7);
  for (int bits = 2; bits <= 8; ++bits) {
    for (bool per_channel : {false, true}) {
      INFO("bits " << bits << (per_channel ? " per channel" : ""));
      qsparse::cluster_config config;
      config.clusters = (1 << bits) - (bits % 2);  // full and not-full codebooks
      config.init = qsparse::centroid_init::density_based;
      config.per_channel = per_channel;
      config.channel_axis = 1;
      const auto view = qsparse::make_view(w.data(), 3, 5, 7);
      auto clusters = qsparse::cluster_weights(view, config);
      const auto expected = clusters.strip(view);
      const auto packed = qsparse::packed_clusters::pack(clusters, bits);
      const auto a = packed.arrays();
      const auto back = qsparse::packed_clusters::from_arrays(
          static_cast<const std::int32_t*>(a[0].data), a[0].count, static_cast<const float*>(a[1].data), a[1].count,
          static_cast<const std::uint8_t*>(a[2].data), a[2].count);
      CHECK(back.index_bytes_data().size() == (w.size() * static_cast<std::size_t>(bits) + 7) / 8);
      qsparse::tensor<float, 3> out(3, 5, 7);
      back.unpack(out.view());
      bool same = true;
      for (qsparse::index_t i = 0; i < out.size(); ++i) same = same && out.data()[i] == expected.data()[i];
      CHECK(same);
      CHECK(back.channels() == (per_channel ? 5 : 1));
    }
  }
}

TEST_CASE("from_arrays refuses every malformed array with a message naming it", "[cluster][packed]") {
  std::vector<std::int32_t> layout{4, 3, -1, 1, 5};
  std::vector<float> codebook{-1.f, 0.f, 1.f};
  std::vector<std::uint8_t> indices{0x10, 0x02, 0x01};  // 0 1 2 0 1 (5 × 4 bits = 20 bits = 3 bytes)
  auto load = [&] {
    return qsparse::packed_clusters::from_arrays(layout.data(), layout.size(), codebook.data(), codebook.size(),
                                                 indices.data(), indices.size());
  };
  REQUIRE(error_of(load) == "no error");
  CHECK(load().value(2) == 1.f);
  auto expect = [&](const std::string& message) { CHECK(error_of(load) == "qsparse::packed_clusters::from_arrays: " + message); };

  layout[0] = 9;
  expect("bits must be in [2, 8], got bits = 9");
  layout[0] = 1;
  expect("bits must be in [2, 8], got bits = 1");
  layout[0] = 2;
  layout[1] = 5;
  expect("clusters must be in [1, 4] for bits = 2, got clusters = 5");
  layout[0] = 4;
  layout[1] = 3;
  layout[2] = 1;
  expect("axis must be -1 (per tensor) or in [0, 1), got axis = 1");
  layout[2] = -1;
  layout[3] = 9;
  expect("rank must be in [1, 8], got rank = 9");
  layout[3] = 2;
  expect("layout must hold 4 + rank = 6 int32, got 5");
  layout[3] = 1;
  layout[4] = -5;
  expect("extent 0 must be >= 0, got -5");
  layout[4] = 5;
  codebook.push_back(2.f);
  expect("codebook must hold 3 elements, got 4");
  codebook.pop_back();
  codebook[1] = std::numeric_limits<float>::quiet_NaN();
  expect("codebook entry 1 (channel 0, cluster 1) must be finite, got nan");
  codebook[1] = 0.f;
  indices.pop_back();  // truncated
  expect("indices must hold 3 elements, got 2");
  indices.push_back(0x01);
  indices[1] = 0x03;  // weight 2 -> 3, outside 3 clusters
  expect("index of weight 2 is 3, outside the codebook's 3 clusters");
  indices[1] = 0x02;
  indices[2] = 0x11;  // non-zero padding bits
  expect("the 4 padding bits of the last index byte must be 0, got 1");
  indices[2] = 0x01;
  CHECK(error_of([&] { qsparse::packed_clusters::from_arrays(layout.data(), 2, codebook.data(), 3, indices.data(), 3); }) ==
        "qsparse::packed_clusters::from_arrays: layout must hold at least 4 int32 (bits, clusters, axis, rank), got 2");
  // pack: a width too small for the clusters
  std::vector<float> w{1.f, 2.f, 3.f, 4.f, 5.f};
  qsparse::cluster_config config;
  config.clusters = 5;
  config.init = qsparse::centroid_init::linear;
  const auto clusters = qsparse::cluster_weights(qsparse::make_view(w.data(), 5), config);
  CHECK(error_of([&] { qsparse::packed_clusters::pack(clusters, 2); }) ==
        "qsparse::packed_clusters::pack: bits = 2 indexes at most 4 clusters, got clusters = 5");
  CHECK(error_of([&] { qsparse::packed_clusters::pack(clusters, 9); }) ==
        "qsparse::packed_clusters::pack: bits must be in [2, 8], got bits = 9");
}
