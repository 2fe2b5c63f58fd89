// qsparse/io/idx.hpp — read IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or raw.
//
// Optional header: needs zlib (Debian zlib1g-dev; CMake ZLIB::ZLIB). Nothing else in qsparse includes it.
//
//   // one split of an MNIST-shaped data set: <dir>/<split>-images-idx3-ubyte[.gz] and -labels-idx1-ubyte[.gz]
//   qsparse::io::idx_dataset test = qsparse::io::read_mnist_split("/usr/share/datasets/fashion-mnist", "t10k");
//   test.images   // qsparse::tensor<std::uint8_t, 3>, N x 28 x 28
//   test.labels   // qsparse::tensor<std::uint8_t, 1>, N, every label < 10
//
//   auto images = qsparse::io::read_idx_images("train-images-idx3-ubyte.gz");   // tensor<uint8_t, 3>
//   auto labels = qsparse::io::read_idx_labels("train-labels-idx1-ubyte.gz");   // tensor<uint8_t, 1>
//   auto any    = qsparse::io::read_idx_tensor<float, 2>("features-idx2-float.gz");  // any type and rank
//   qsparse::io::idx_array raw = qsparse::io::read_idx("file");   // type, dims and host-order bytes
//
// The IDX format: 2 zero bytes; a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
// 0x0E float64); the rank; one big-endian uint32 per dimension; then the elements, big-endian, row-major.
// The file may be gzip-compressed or not (zlib reads both). Everything is checked, and a violation is a
// qsparse::error that names the file: a missing or unreadable file, a corrupt or truncated gzip stream,
// a wrong magic, an unknown type, a rank of 0, element counts that overflow, fewer bytes than the
// dimensions need (truncated) or more (trailing data), and, in the typed readers, the type and rank.
// Memory grows with the bytes actually read, never with what a corrupt header claims.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"
#include "qsparse/core/tensor.hpp"

namespace qsparse::io {

/// The element type of an IDX file (the value is the type byte of the magic number).
enum class idx_type : std::uint8_t { u8 = 0x08, i8 = 0x09, i16 = 0x0B, i32 = 0x0C, f32 = 0x0D, f64 = 0x0E };

/// "uint8", "int8", "int16", "int32", "float32", "float64" (or "unknown").
constexpr std::string_view idx_type_name(idx_type t) noexcept {
  switch (t) {
    case idx_type::u8: return "uint8";
    case idx_type::i8: return "int8";
    case idx_type::i16: return "int16";
    case idx_type::i32: return "int32";
    case idx_type::f32: return "float32";
    case idx_type::f64: return "float64";
  }
  return "unknown";
}

/// The size of one element in bytes (0 for an unknown type).
constexpr std::size_t idx_type_size(idx_type t) noexcept {
  switch (t) {
    case idx_type::u8:
    case idx_type::i8: return 1;
    case idx_type::i16: return 2;
    case idx_type::i32:
    case idx_type::f32: return 4;
    case idx_type::f64: return 8;
  }
  return 0;
}

namespace detail {

template <class T> struct idx_type_of { static constexpr bool known = false; };
template <> struct idx_type_of<std::uint8_t> { static constexpr bool known = true; static constexpr idx_type value = idx_type::u8; };
template <> struct idx_type_of<std::int8_t> { static constexpr bool known = true; static constexpr idx_type value = idx_type::i8; };
template <> struct idx_type_of<std::int16_t> { static constexpr bool known = true; static constexpr idx_type value = idx_type::i16; };
template <> struct idx_type_of<std::int32_t> { static constexpr bool known = true; static constexpr idx_type value = idx_type::i32; };
template <> struct idx_type_of<float> { static constexpr bool known = true; static constexpr idx_type value = idx_type::f32; };
template <> struct idx_type_of<double> { static constexpr bool known = true; static constexpr idx_type value = idx_type::f64; };

inline bool is_idx_type(unsigned byte) noexcept {
  return byte == 0x08 || byte == 0x09 || byte == 0x0B || byte == 0x0C || byte == 0x0D || byte == 0x0E;
}

struct gz_closer {
  void operator()(gzFile f) const noexcept { gzclose(f); }
};
using gz_handle = std::unique_ptr<std::remove_pointer_t<gzFile>, gz_closer>;

/// Reads up to `n` bytes; returns how many (fewer only at the end of the stream); errors name the file.
inline std::size_t gz_read(gzFile f, unsigned char* out, std::size_t n, const std::string& path) {
  std::size_t total = 0;
  while (total < n) {
    const auto want = static_cast<unsigned>(std::min<std::size_t>(n - total, 1u << 20));
    const int got = gzread(f, out + total, want);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(f, &code);
      qsparse::detail::raise(qsparse::detail::concat("qsparse::io::read_idx: ", path,
                                                     ": corrupt gzip stream (", message ? message : "?", ")"));
    }
    if (got == 0) {
      // End of input: zlib reports a stream cut short as an error (Z_BUF_ERROR) only here.
      int code = 0;
      const char* message = gzerror(f, &code);
      if (code != Z_OK) {
        qsparse::detail::raise(qsparse::detail::concat("qsparse::io::read_idx: ", path,
                                                       ": truncated or corrupt gzip stream (",
                                                       message ? message : "?", ")"));
      }
      break;
    }
    total += static_cast<std::size_t>(got);
  }
  return total;
}

}  // namespace detail

/// The contents of an IDX file: its type, its dimensions and its elements in host byte order.
struct idx_array {
  idx_type type = idx_type::u8;
  std::vector<index_t> dims;
  std::vector<unsigned char> data;  ///< product(dims) * idx_type_size(type) bytes, host byte order

  /// The number of elements.
  index_t size() const noexcept {
    index_t n = 1;
    for (index_t d : dims) n *= d;
    return n;
  }
};

/// Reads and checks the IDX file at `path` (gzip-compressed or raw).
inline idx_array read_idx(const std::string& path) {
  const char* who = "qsparse::io::read_idx: ";
  errno = 0;
  detail::gz_handle f(gzopen(path.c_str(), "rb"));
  if (!f) {
    qsparse::detail::raise(qsparse::detail::concat(who, "cannot open '", path, "': ",
                                                   errno != 0 ? std::strerror(errno) : "out of memory"));
  }
  unsigned char magic[4] = {};
  const std::size_t got_magic = detail::gz_read(f.get(), magic, 4, path);
  if (got_magic < 4) {
    qsparse::detail::raise(qsparse::detail::concat(who, path, ": ", got_magic,
                                                   " bytes, too short for the 4-byte IDX magic number (truncated?)"));
  }
  if (magic[0] != 0 || magic[1] != 0 || !detail::is_idx_type(magic[2]) || magic[3] == 0) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%02X%02X%02X%02X", magic[0], magic[1], magic[2], magic[3]);
    qsparse::detail::raise(qsparse::detail::concat(
        who, path, ": not an IDX file: magic number ", hex,
        " (expected 0x0000TTRR with type TT in 08 09 0B 0C 0D 0E and rank RR >= 1)"));
  }
  idx_array out;
  out.type = static_cast<idx_type>(magic[2]);
  const unsigned rank = magic[3];
  std::vector<unsigned char> dims_bytes(4u * rank);
  const std::size_t got_dims = detail::gz_read(f.get(), dims_bytes.data(), dims_bytes.size(), path);
  if (got_dims < dims_bytes.size()) {
    qsparse::detail::raise(qsparse::detail::concat(who, path, ": truncated header: rank ", rank, " needs ",
                                                   dims_bytes.size(), " bytes of dimensions, the file has ", got_dims));
  }
  const std::size_t element_size = idx_type_size(out.type);
  std::int64_t product = static_cast<std::int64_t>(element_size);
  bool overflow = false;
  for (unsigned r = 0; r < rank; ++r) {
    const unsigned char* p = dims_bytes.data() + 4 * r;
    const std::uint32_t d = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                            (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
    out.dims.push_back(static_cast<index_t>(d));
    overflow = overflow || qsparse::detail::mul_overflows(product, d, &product);
  }
  const auto expected = overflow ? std::size_t{0} : static_cast<std::size_t>(product);
  auto dims_text = [&] {
    std::string s;
    for (std::size_t r = 0; r < out.dims.size(); ++r) s += (r == 0 ? "" : " x ") + std::to_string(out.dims[r]);
    return s;
  };
  if (overflow) {
    qsparse::detail::raise(
        qsparse::detail::concat(who, path, ": dimensions ", dims_text(), " hold more elements than can be addressed"));
  }
  // An uncompressed regular file has a length to check the dimensions against before reading anything.
  std::error_code ec;
  if (gzdirect(f.get()) == 1 && std::filesystem::is_regular_file(path, ec)) {
    const std::uintmax_t length = std::filesystem::file_size(path, ec);
    const std::uintmax_t header = 4 + dims_bytes.size();
    if (!ec && length >= header && length - header < expected) {
      qsparse::detail::raise(qsparse::detail::concat(
          who, path, ": truncated: dimensions ", dims_text(), " of ", idx_type_name(out.type), " need ", expected,
          " bytes of data, the file holds ", length - header));
    }
  }
  // Grow with what is actually there, so that a corrupt header cannot make us allocate gigabytes.
  std::size_t have = 0;
  while (have < expected) {
    const std::size_t chunk = std::min<std::size_t>(expected - have, std::max<std::size_t>(have, 1u << 16));
    out.data.resize(have + chunk);
    const std::size_t got = detail::gz_read(f.get(), out.data.data() + have, chunk, path);
    have += got;
    if (got < chunk) {
      qsparse::detail::raise(qsparse::detail::concat(
          who, path, ": truncated: dimensions ", dims_text(), " of ", idx_type_name(out.type), " need ", expected,
          " bytes of data, the file holds ", have));
    }
  }
  unsigned char extra[1];
  if (detail::gz_read(f.get(), extra, 1, path) != 0) {
    qsparse::detail::raise(qsparse::detail::concat(who, path, ": more data than dimensions ", dims_text(), " of ",
                                                   idx_type_name(out.type), " need (", expected,
                                                   " bytes): trailing bytes or wrong dimensions"));
  }
  // Big-endian -> host (little-endian) order.
  if (element_size > 1) {
    for (std::size_t i = 0; i < out.data.size(); i += element_size) {
      std::reverse(out.data.begin() + static_cast<std::ptrdiff_t>(i),
                   out.data.begin() + static_cast<std::ptrdiff_t>(i + element_size));
    }
  }
  return out;
}

/// The IDX file at `path` as a rank-`Rank` tensor of T; T must match the file's type (uint8_t for
/// 0x08, int8_t, int16_t, int32_t, float, double) and Rank its rank.
template <class T, std::size_t Rank>
tensor<T, Rank> read_idx_tensor(const std::string& path) {
  static_assert(detail::idx_type_of<T>::known,
                "qsparse::io::read_idx_tensor: T must be an IDX element type: std::uint8_t, std::int8_t, "
                "std::int16_t, std::int32_t, float or double.");
  idx_array a = read_idx(path);
  constexpr idx_type wanted = detail::idx_type_of<T>::value;
  if (a.type != wanted) {
    qsparse::detail::raise(qsparse::detail::concat("qsparse::io::read_idx_tensor: ", path, ": holds ",
                                                   idx_type_name(a.type), " elements, expected ",
                                                   idx_type_name(wanted)));
  }
  if (a.dims.size() != Rank) {
    qsparse::detail::raise(qsparse::detail::concat("qsparse::io::read_idx_tensor: ", path, ": has rank ",
                                                   a.dims.size(), ", expected rank ", Rank));
  }
  std::array<index_t, Rank> e{};
  for (std::size_t r = 0; r < Rank; ++r) e[r] = a.dims[r];
  tensor<T, Rank> out{qsparse::extents<Rank>(e)};
  if (!a.data.empty()) std::memcpy(out.data(), a.data.data(), a.data.size());
  return out;
}

/// uint8 images, N x rows x cols. With `rows`/`cols` > 0, the file must have exactly that image size.
inline tensor<std::uint8_t, 3> read_idx_images(const std::string& path, index_t rows = 0, index_t cols = 0) {
  tensor<std::uint8_t, 3> images = read_idx_tensor<std::uint8_t, 3>(path);
  if ((rows > 0 && images.extent(1) != rows) || (cols > 0 && images.extent(2) != cols)) {
    qsparse::detail::raise(qsparse::detail::concat("qsparse::io::read_idx_images: ", path, ": images are ",
                                                   images.extent(1), " x ", images.extent(2), ", expected ", rows,
                                                   " x ", cols));
  }
  return images;
}

/// uint8 labels, N.
inline tensor<std::uint8_t, 1> read_idx_labels(const std::string& path) {
  return read_idx_tensor<std::uint8_t, 1>(path);
}

/// Images and their labels (same count).
struct idx_dataset {
  tensor<std::uint8_t, 3> images;  ///< N x rows x cols
  tensor<std::uint8_t, 1> labels;  ///< N, each < the number of classes
};

/// One split of an MNIST-shaped data set in `dir`: `<split>-images-idx3-ubyte` and
/// `<split>-labels-idx1-ubyte`, each with or without `.gz` (split is "train" or "t10k" for MNIST and
/// Fashion-MNIST). Checks that both exist, that the counts agree, that the images are
/// rows x cols (28 x 28 by default; 0 accepts any) and that every label is < `classes` (10 by default).
inline idx_dataset read_mnist_split(const std::string& dir, const std::string& split, index_t rows = 28,
                                    index_t cols = 28, int classes = 10) {
  auto pick = [&](const std::string& stem) {
    const std::string base = dir + "/" + split + stem;
    for (const std::string& candidate : {base + ".gz", base}) {
      if (std::FILE* f = std::fopen(candidate.c_str(), "rb")) {
        std::fclose(f);
        return candidate;
      }
    }
    qsparse::detail::raise(qsparse::detail::concat(
        "qsparse::io::read_mnist_split: cannot open ", base, ".gz nor ", base,
        " (install Debian's dataset-fashion-mnist, or point --data at a directory holding the IDX files)"));
  };
  idx_dataset out;
  const std::string images_path = pick("-images-idx3-ubyte");
  const std::string labels_path = pick("-labels-idx1-ubyte");
  out.images = read_idx_images(images_path, rows, cols);
  out.labels = read_idx_labels(labels_path);
  if (out.images.extent(0) != out.labels.extent(0)) {
    qsparse::detail::raise(qsparse::detail::concat("qsparse::io::read_mnist_split: ", images_path, " holds ",
                                                   out.images.extent(0), " images but ", labels_path, " holds ",
                                                   out.labels.extent(0), " labels"));
  }
  for (index_t i = 0; i < out.labels.extent(0); ++i) {
    if (out.labels(i) >= classes) {
      qsparse::detail::raise(qsparse::detail::concat("qsparse::io::read_mnist_split: ", labels_path, ": label ",
                                                     i, " is ", int{out.labels(i)}, ", expected < ", classes));
    }
  }
  return out;
}

}  // namespace qsparse::io
