// tests/io/cluster_safetensors_test.cpp — clustered weights (qsparse/cluster/packed_clusters.hpp) through a
// safetensors file and back: the three arrays as tensors, from_arrays validating what the file holds.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "qsparse/cluster/packed_clusters.hpp"
#include "qsparse/io/safetensors.hpp"

#include "support/testing.hpp"

namespace {

using qsparse::testing::error_of;

std::vector<unsigned char> save(const qsparse::packed_clusters& p, const std::string& prefix) {
  qsparse::io::safetensors_writer out;
  for (const qsparse::array_ref& a : p.arrays()) {
    const auto dtype = a.type == qsparse::array_type::i32   ? qsparse::io::dtype::i32
                       : a.type == qsparse::array_type::f32 ? qsparse::io::dtype::f32
                                                            : qsparse::io::dtype::u8;
    out.add_bytes(prefix + "." + a.name, dtype, {static_cast<qsparse::index_t>(a.count)}, a.data, a.bytes());
  }
  return out.serialize();
}

qsparse::packed_clusters load(const qsparse::io::safetensors_file& f, const std::string& prefix) {
  const auto layout = f.get<std::int32_t, 1>(prefix + ".layout");
  const auto codebook = f.get<float, 1>(prefix + ".codebook");
  const auto indices = f.get<std::uint8_t, 1>(prefix + ".indices");
  return qsparse::packed_clusters::from_arrays(
      layout.data_handle(), static_cast<std::size_t>(layout.size()), codebook.data_handle(),
      static_cast<std::size_t>(codebook.size()), indices.data_handle(), static_cast<std::size_t>(indices.size()));
}


}  // namespace

TEST_CASE("clustered weights survive a safetensors round trip; a corrupt file is an error", "[io][cluster]") {
  std::vector<float> w(4 * 3 * 3 * 5);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>((i * 37) % 19) * 0.05f - 0.4f;
  qsparse::cluster_config config;
  config.clusters = 16;
  config.init = qsparse::centroid_init::linear;
  config.per_channel = true;  // OHWI, per output channel
  const auto view = qsparse::make_view(static_cast<const float*>(w.data()), 4, 3, 3, 5);
  auto clusters = qsparse::cluster_weights(view, config);
  const auto expected = clusters.strip(view);
  const auto packed = qsparse::packed_clusters::pack(clusters, 4);

  const std::vector<unsigned char> bytes = save(packed, "conv1.weight");
  const auto file = qsparse::io::safetensors_file::parse(bytes.data(), bytes.size(), "clustered");
  const auto back = load(file, "conv1.weight");
  CHECK(back.bits() == 4);
  CHECK(back.channels() == 4);
  CHECK(back.index_bytes_data() == packed.index_bytes_data());
  qsparse::tensor<float, 4> out(4, 3, 3, 5);
  back.unpack(out.view());
  bool same = true;
  for (qsparse::index_t i = 0; i < out.size(); ++i) same = same && out.data()[i] == expected.data()[i];
  CHECK(same);

  // Corruptions: a bad index width in the layout, an index past the codebook, truncated indices, and a
  // truncated file. The data section is at the end of the file: indices (u8) come last (sorted by dtype).
  auto layout_bytes = packed.arrays()[0];
  std::vector<std::int32_t> layout(static_cast<const std::int32_t*>(layout_bytes.data),
                                   static_cast<const std::int32_t*>(layout_bytes.data) + layout_bytes.count);
  std::vector<float> codebook = packed.codebook();
  std::vector<std::uint8_t> indices = packed.index_bytes_data();
  auto write = [&] {
    qsparse::io::safetensors_writer out;
    out.add("m.layout", qsparse::make_view(layout.data(), static_cast<qsparse::index_t>(layout.size())));
    out.add("m.codebook", qsparse::make_view(codebook.data(), static_cast<qsparse::index_t>(codebook.size())));
    out.add("m.indices", qsparse::make_view(indices.data(), static_cast<qsparse::index_t>(indices.size())));
    return out.serialize();
  };
  auto reload = [&](const std::vector<unsigned char>& b) {
    return error_of([&] { load(qsparse::io::safetensors_file::parse(b.data(), b.size(), "m"), "m"); });
  };
  CHECK(reload(write()) == "no error");
  layout[0] = 12;
  CHECK(reload(write()) == "qsparse::packed_clusters::from_arrays: bits must be in [2, 8], got bits = 12");
  layout[0] = 4;
  codebook.resize(4 * 15);  // 15 clusters per channel: index 15 is now out of range somewhere
  layout[1] = 15;
  CHECK(reload(write()).find("outside the codebook's 15 clusters") != std::string::npos);
  layout[1] = 16;
  codebook = packed.codebook();
  indices.pop_back();
  CHECK(reload(write()) == "qsparse::packed_clusters::from_arrays: indices must hold 90 elements, got 89");
  indices = packed.index_bytes_data();
  std::vector<unsigned char> truncated = write();
  truncated.resize(truncated.size() - 7);
  CHECK(reload(truncated).find("m") != std::string::npos);
  CHECK(reload(truncated) != "no error");
}
