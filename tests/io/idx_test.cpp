#include "qsparse/io/idx.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

using Catch::Contains;
using bytes_t = std::vector<unsigned char>;

// An IDX file: magic 0x0000TTRR, big-endian dims, then `data` as given (already big-endian).
bytes_t idx_bytes(unsigned type, const std::vector<std::uint32_t>& dims, const bytes_t& data) {
  bytes_t out{0, 0, static_cast<unsigned char>(type), static_cast<unsigned char>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(d >> s));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// Test files live in the working directory (CTest runs each test in the build's tests/ directory).
std::string write_raw(const std::string& name, const bytes_t& bytes) {
  std::FILE* f = std::fopen(name.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  REQUIRE(std::fclose(f) == 0);
  return name;
}

std::string write_gz(const std::string& name, const bytes_t& bytes) {
  gzFile f = gzopen(name.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
  return name;
}

bytes_t read_raw(const std::string& name) {
  std::FILE* f = std::fopen(name.c_str(), "rb");
  REQUIRE(f != nullptr);
  bytes_t out;
  int c;
  while ((c = std::fgetc(f)) != EOF) out.push_back(static_cast<unsigned char>(c));
  std::fclose(f);
  return out;
}

bytes_t iota_bytes(std::size_t n) {
  bytes_t b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(i * 7 + 1);
  return b;
}

}  // namespace

TEST_CASE("read_idx reads gzip-compressed and raw files alike", "[io][idx]") {
  const bytes_t file = idx_bytes(0x08, {3, 2, 4}, iota_bytes(24));
  for (const std::string& path : {write_gz("idx_test_images.gz", file), write_raw("idx_test_images.raw", file)}) {
    INFO(path);
    const auto images = qsparse::io::read_idx_images(path);
    REQUIRE(images.extent(0) == 3);
    REQUIRE(images.extent(1) == 2);
    REQUIRE(images.extent(2) == 4);
    CHECK(images(0, 0, 0) == 1);
    CHECK(images(0, 0, 1) == 8);
    CHECK(images(2, 1, 3) == static_cast<std::uint8_t>(23 * 7 + 1));
    const auto raw = qsparse::io::read_idx(path);
    CHECK(raw.type == qsparse::io::idx_type::u8);
    CHECK(raw.dims == std::vector<qsparse::index_t>{3, 2, 4});
    CHECK(raw.size() == 24);
    CHECK(raw.data == iota_bytes(24));
  }
  const auto labels = qsparse::io::read_idx_labels(write_gz("idx_test_labels.gz", idx_bytes(0x08, {4}, {9, 0, 3, 9})));
  REQUIRE(labels.extent(0) == 4);
  CHECK(labels(0) == 9);
  CHECK(labels(2) == 3);
  const auto none = qsparse::io::read_idx_labels(write_gz("idx_test_none.gz", idx_bytes(0x08, {0}, {})));
  CHECK(none.extent(0) == 0);
}

TEST_CASE("read_idx_tensor converts big-endian elements of every type", "[io][idx]") {
  {
    const auto t = qsparse::io::read_idx_tensor<std::int8_t, 1>(write_gz("idx_test_i8.gz", idx_bytes(0x09, {2}, {0x80, 0x7f})));
    CHECK(t(0) == -128);
    CHECK(t(1) == 127);
  }
  {
    const auto t = qsparse::io::read_idx_tensor<std::int16_t, 2>(
        write_gz("idx_test_i16.gz", idx_bytes(0x0B, {1, 2}, {0x80, 0x00, 0x01, 0x02})));
    CHECK(t(0, 0) == -32768);
    CHECK(t(0, 1) == 0x0102);
  }
  {
    const auto t = qsparse::io::read_idx_tensor<std::int32_t, 1>(
        write_gz("idx_test_i32.gz", idx_bytes(0x0C, {2}, {0xff, 0xff, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04})));
    CHECK(t(0) == -2);
    CHECK(t(1) == 0x01020304);
  }
  {
    const auto t = qsparse::io::read_idx_tensor<float, 1>(
        write_gz("idx_test_f32.gz", idx_bytes(0x0D, {2}, {0x3f, 0x80, 0x00, 0x00, 0xc0, 0x20, 0x00, 0x00})));
    CHECK(t(0) == 1.0f);
    CHECK(t(1) == -2.5f);
  }
  {
    const auto t = qsparse::io::read_idx_tensor<double, 1>(
        write_gz("idx_test_f64.gz", idx_bytes(0x0E, {1}, {0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a})));
    CHECK(t(0) == 0.1);
  }
  CHECK(qsparse::io::idx_type_name(qsparse::io::idx_type::f32) == "float32");
  CHECK(qsparse::io::idx_type_size(qsparse::io::idx_type::f64) == 8);
}

TEST_CASE("read_idx rejects missing, truncated, corrupt and wrong-shape files", "[io][idx]") {
  using qsparse::io::read_idx;
  CHECK_THROWS_WITH(read_idx("idx_test_no_such_file.gz"),
                    "qsparse::io::read_idx: cannot open 'idx_test_no_such_file.gz': No such file or directory");
  CHECK_THROWS_WITH(read_idx(write_gz("idx_test_short.gz", {0, 0})),
                    "qsparse::io::read_idx: idx_test_short.gz: 2 bytes, too short for the 4-byte IDX magic number "
                    "(truncated?)");
  CHECK_THROWS_WITH(read_idx(write_raw("idx_test_empty.raw", {})), Contains("0 bytes, too short"));
  CHECK_THROWS_WITH(read_idx(write_gz("idx_test_magic.gz", {0x1f, 0x8b, 0x08, 0x03, 0, 0, 0, 0})),
                    Contains("idx_test_magic.gz: not an IDX file: magic number 0x1F8B0803"));
  CHECK_THROWS_WITH(read_idx(write_gz("idx_test_type.gz", idx_bytes(0x0A, {1}, {0}))), Contains("magic number 0x00000A01"));
  CHECK_THROWS_WITH(read_idx(write_gz("idx_test_rank0.gz", idx_bytes(0x08, {}, {1}))), Contains("magic number 0x00000800"));
  {
    bytes_t b = idx_bytes(0x08, {2, 3}, {});
    b.resize(9);  // half of the second dimension
    CHECK_THROWS_WITH(read_idx(write_gz("idx_test_dims.gz", b)),
                      Contains("truncated header: rank 2 needs 8 bytes of dimensions, the file has 5"));
  }
  CHECK_THROWS_WITH(read_idx(write_gz("idx_test_trunc.gz", idx_bytes(0x08, {2, 3}, iota_bytes(5)))),
                    "qsparse::io::read_idx: idx_test_trunc.gz: truncated: dimensions 2 x 3 of uint8 need 6 bytes of "
                    "data, the file holds 5");
  CHECK_THROWS_WITH(read_idx(write_raw("idx_test_trunc.raw", idx_bytes(0x0C, {2}, iota_bytes(7)))),
                    Contains("truncated: dimensions 2 of int32 need 8 bytes of data, the file holds 7"));
  CHECK_THROWS_WITH(read_idx(write_gz("idx_test_trailing.gz", idx_bytes(0x08, {2, 3}, iota_bytes(7)))),
                    Contains("idx_test_trailing.gz: more data than dimensions 2 x 3 of uint8 need (6 bytes)"));
  // A header that claims ~2^48 bytes fails on the data it lacks, without allocating what it claims.
  CHECK_THROWS_WITH(read_idx(write_gz("idx_test_huge.gz", idx_bytes(0x08, {65535, 65535, 65535}, iota_bytes(100)))),
                    Contains("need 281462092005375 bytes of data, the file holds 100"));
  CHECK_THROWS_WITH(read_idx(write_gz("idx_test_overflow.gz", idx_bytes(0x0E, {0xffffffffu, 0xffffffffu, 0xffffffffu}, {}))),
                    Contains("hold more elements than can be addressed"));

  // A gzip stream cut short, and one whose compressed bytes are damaged.
  const bytes_t gz = read_raw(write_gz("idx_test_whole.gz", idx_bytes(0x08, {64, 64}, iota_bytes(4096))));
  CHECK_THROWS_WITH(read_idx(write_raw("idx_test_cut.gz", bytes_t(gz.begin(), gz.begin() + gz.size() / 2))),
                    Contains("idx_test_cut.gz: truncated or corrupt gzip stream"));
  bytes_t damaged = gz;
  for (std::size_t i = 12; i < damaged.size() - 8; i += 3) damaged[i] = static_cast<unsigned char>(damaged[i] ^ 0x5a);
  CHECK_THROWS_WITH(read_idx(write_raw("idx_test_damaged.gz", damaged)), Contains("gzip stream"));
  bytes_t bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 0xff;  // the CRC-32 of the trailer
  CHECK_THROWS_WITH(read_idx(write_raw("idx_test_crc.gz", bad_crc)), Contains("gzip stream"));

  // The typed readers check the type, the rank and the image size.
  const std::string labels = write_gz("idx_test_l.gz", idx_bytes(0x08, {3}, {1, 2, 3}));
  const std::string images = write_gz("idx_test_i.gz", idx_bytes(0x08, {3, 2, 2}, iota_bytes(12)));
  CHECK_THROWS_WITH(qsparse::io::read_idx_images(labels),
                    "qsparse::io::read_idx_tensor: idx_test_l.gz: has rank 1, expected rank 3");
  CHECK_THROWS_WITH((qsparse::io::read_idx_tensor<float, 3>(images)),
                    "qsparse::io::read_idx_tensor: idx_test_i.gz: holds uint8 elements, expected float32");
  CHECK_THROWS_WITH(qsparse::io::read_idx_images(images, 28, 28),
                    "qsparse::io::read_idx_images: idx_test_i.gz: images are 2 x 2, expected 28 x 28");
  CHECK(qsparse::io::read_idx_images(images, 2, 2).extent(0) == 3);
}

TEST_CASE("read_mnist_split pairs images with labels and checks them", "[io][idx]") {
  write_gz("idx_split-images-idx3-ubyte.gz", idx_bytes(0x08, {3, 2, 2}, iota_bytes(12)));
  write_raw("idx_split-labels-idx1-ubyte", idx_bytes(0x08, {3}, {4, 0, 9}));  // uncompressed works too
  const auto split = qsparse::io::read_mnist_split(".", "idx_split", 2, 2);
  CHECK(split.images.extent(0) == 3);
  CHECK(split.labels(2) == 9);
  CHECK_THROWS_WITH(qsparse::io::read_mnist_split(".", "idx_split"), Contains("images are 2 x 2, expected 28 x 28"));
  CHECK_THROWS_WITH(qsparse::io::read_mnist_split(".", "idx_split", 2, 2, 9),
                    "qsparse::io::read_mnist_split: ./idx_split-labels-idx1-ubyte: label 2 is 9, expected < 9");
  write_gz("idx_count-images-idx3-ubyte.gz", idx_bytes(0x08, {3, 2, 2}, iota_bytes(12)));
  write_gz("idx_count-labels-idx1-ubyte.gz", idx_bytes(0x08, {2}, {1, 2}));
  CHECK_THROWS_WITH(qsparse::io::read_mnist_split(".", "idx_count", 2, 2),
                    "qsparse::io::read_mnist_split: ./idx_count-images-idx3-ubyte.gz holds 3 images but "
                    "./idx_count-labels-idx1-ubyte.gz holds 2 labels");
  CHECK_THROWS_WITH(qsparse::io::read_mnist_split("no-such-dir", "train"),
                    Catch::StartsWith("qsparse::io::read_mnist_split: cannot open "
                                      "no-such-dir/train-images-idx3-ubyte.gz nor no-such-dir/train-images-idx3-ubyte"));
}

// scripts/run_tests.sh installs Debian's dataset-fashion-mnist, so the real files are always there.
TEST_CASE("read_mnist_split reads the real Fashion-MNIST", "[io][idx]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  for (const auto& [split, n] : {std::pair<std::string, int>{"t10k", 10000}, {"train", 60000}}) {
    INFO(split);
    const auto data = qsparse::io::read_mnist_split(dir, split);
    REQUIRE(data.images.extent(0) == n);
    CHECK(data.images.extent(1) == 28);
    CHECK(data.images.extent(2) == 28);
    CHECK(data.labels(0) == 9);  // an ankle boot opens both splits
    std::array<int, 10> per_class{};
    for (qsparse::index_t i = 0; i < n; ++i) ++per_class[data.labels(i)];
    for (int c = 0; c < 10; ++c) CHECK(per_class[c] == n / 10);  // balanced classes
    std::uint8_t brightest = 0;
    for (std::uint8_t p : data.images) brightest = std::max(brightest, p);
    CHECK(brightest == 255);
  }
}

TEST_CASE("read_idx checks a raw file's dimensions against its real length before reading (issue 22)",
          "[io][idx][errors]") {
  // 60000 x 28 x 28 images declared, 10 bytes of data present.
  const std::string path = write_raw("qsparse_idx_hostile.idx", idx_bytes(0x08, {60000, 28, 28}, bytes_t(10, 7)));
  CHECK_THROWS_WITH(qsparse::io::read_idx(path), "qsparse::io::read_idx: qsparse_idx_hostile.idx: truncated: dimensions 60000 x 28 x "
                                    "28 of uint8 need 47040000 bytes of data, the file holds 10");
  // Dimensions whose byte count overflows int64.
  write_raw(path, idx_bytes(0x0E, {0xFFFFFFFFu, 0xFFFFFFFFu}, bytes_t{}));
  CHECK_THROWS_WITH(qsparse::io::read_idx(path), Catch::Contains("hold more elements than can be addressed"));
  std::remove(path.c_str());
}
