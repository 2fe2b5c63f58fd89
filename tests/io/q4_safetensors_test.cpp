// tests/io/q4_safetensors_test.cpp — packed 4-bit group-wise weights (qsparse/spec/packed_weights_q4.hpp)
// through a safetensors file and back. The packed buffer (header, nibbles, scales, zero points) is one U8
// tensor, the safetensors convention for quantized payloads, with metadata naming the format and its
// shape; loading validates the metadata against the buffer's own header and the buffer with from_bytes.
// io/ may include only core/, so the helpers live here, as cluster_safetensors_test.cpp's do.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qsparse/gemm/gemm_q4.hpp"
#include "qsparse/io/safetensors.hpp"

namespace {

void add_q4(qsparse::io::safetensors_writer& out, const std::string& name, const qsparse::packed_weights_q4_view& w) {
  out.add_bytes(name, qsparse::io::dtype::u8, {static_cast<qsparse::index_t>(w.size_bytes())}, w.bytes(),
                w.size_bytes());
  out.set_metadata(name + ".format", "qsparse.packed_weights_q4");
  out.set_metadata(name + ".shape", std::to_string(w.k()) + "," + std::to_string(w.n()));
  out.set_metadata(name + ".group_size", std::to_string(w.group_size()));
}

/// The view of the packed weights `name` in `file` (valid while the file lives), validated completely.
qsparse::packed_weights_q4_view load_q4(const qsparse::io::safetensors_file& file, const std::string& name) {
  const char* fn = "load_q4";
  qsparse::detail::check(file.metadata(name + ".format") == "qsparse.packed_weights_q4", fn, ": tensor ", name,
                         " is not qsparse.packed_weights_q4 but '", file.metadata(name + ".format"), "'");
  const auto bytes = file.get<std::uint8_t, 1>(name);
  const auto w = qsparse::packed_weights_q4_view::from_bytes(bytes.data_handle(), static_cast<std::size_t>(bytes.size()));
  qsparse::detail::check(static_cast<std::size_t>(bytes.size()) == w.size_bytes(), fn, ": tensor ", name, " has ",
                         bytes.size(), " bytes, its header declares ", w.size_bytes());
  const std::string shape = std::to_string(w.k()) + "," + std::to_string(w.n());
  qsparse::detail::check(file.metadata(name + ".shape") == shape &&
                             file.metadata(name + ".group_size") == std::to_string(w.group_size()),
                         fn, ": metadata of ", name, " (shape ", file.metadata(name + ".shape"), ", group size ",
                         file.metadata(name + ".group_size"), ") disagrees with the packed header (", shape,
                         ", group size ", w.group_size(), ")");
  return w;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const qsparse::error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("packed 4-bit weights survive a safetensors round trip; a corrupt file is an error", "[io][gemm_q4]") {
  const std::ptrdiff_t k = 128, n = 40, g = 32;
  std::mt19937 rng(6);
  std::uniform_int_distribution<int> value(0, 15);
  std::vector<std::uint8_t> q(static_cast<std::size_t>(k * n));
  for (auto& x : q) x = static_cast<std::uint8_t>(value(rng));
  std::vector<float> scale(static_cast<std::size_t>(n * (k / g)));
  std::vector<std::int32_t> zp(scale.size());
  for (std::size_t i = 0; i < scale.size(); ++i) {
    scale[i] = 0.01f * static_cast<float>(1 + value(rng));
    zp[i] = value(rng);
  }
  const qsparse::group_params<float> p{scale.data(), zp.data(), g, 0, n * (k / g)};
  const auto packed = qsparse::pack_weights_q4(qsparse::make_view(q.data(), k, n), p);

  qsparse::io::safetensors_writer out;
  add_q4(out, "fc1.weight", packed.view());
  const std::vector<unsigned char> bytes = out.serialize();
  const auto file = qsparse::io::safetensors_file::parse(bytes.data(), bytes.size(), "q4");
  CHECK(file.info("fc1.weight").dtype == qsparse::io::dtype::u8);
  const auto back = load_q4(file, "fc1.weight");
  REQUIRE(back.size_bytes() == packed.size_bytes());
  CHECK(std::memcmp(back.bytes(), packed.view().bytes(), back.size_bytes()) == 0);

  // The loaded weights compute the same bits.
  std::vector<float> a(static_cast<std::size_t>(3 * k));
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(static_cast<int>(i % 23) - 11) * 0.25f;
  std::vector<float> d0(static_cast<std::size_t>(3 * n)), d1(d0.size());
  qsparse::gemm_q4(qsparse::context{}, qsparse::make_view(a.data(), 3, k), packed.view(), qsparse::make_view(d0.data(), 3, n),
                   qsparse::pipeline());
  qsparse::gemm_q4(qsparse::context{}, qsparse::make_view(a.data(), 3, k), back, qsparse::make_view(d1.data(), 3, n),
                   qsparse::pipeline());
  CHECK(std::memcmp(d0.data(), d1.data(), d0.size() * sizeof(float)) == 0);

  // A scale turned into NaN in the file, metadata that disagrees, a buffer cut short by its writer.
  const std::size_t data_start = bytes.size() - packed.size_bytes();
  std::vector<unsigned char> bad = bytes;
  bad[data_start + 64 + 8 * g + 3] = 0x7F;
  bad[data_start + 64 + 8 * g + 2] = 0xC0;
  CHECK_THAT(error_of([&] { load_q4(qsparse::io::safetensors_file::parse(bad.data(), bad.size(), "bad"), "fc1.weight"); }),
             Catch::Contains("positive and finite"));
  qsparse::io::safetensors_writer wrong;
  add_q4(wrong, "fc1.weight", packed.view());
  wrong.set_metadata("fc1.weight.group_size", "64");
  const auto wrong_bytes = wrong.serialize();
  CHECK_THAT(error_of([&] {
               load_q4(qsparse::io::safetensors_file::parse(wrong_bytes.data(), wrong_bytes.size(), "wrong"), "fc1.weight");
             }),
             Catch::Contains("disagrees with the packed header"));
  qsparse::io::safetensors_writer cut;
  cut.add_bytes("fc1.weight", qsparse::io::dtype::u8, {static_cast<qsparse::index_t>(packed.size_bytes() - 64)},
                packed.view().bytes(), packed.size_bytes() - 64);
  cut.set_metadata("fc1.weight.format", "qsparse.packed_weights_q4");
  const auto cut_bytes = cut.serialize();
  CHECK_THAT(error_of([&] {
               load_q4(qsparse::io::safetensors_file::parse(cut_bytes.data(), cut_bytes.size(), "cut"), "fc1.weight");
             }),
             Catch::Contains("shorter than the"));
}
