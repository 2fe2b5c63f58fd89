// examples/demo/gzip.hpp — the size of a file after gzip (zlib's deflate in a gzip wrapper, level 6: what
// `gzip FILE` writes, without the file name in the header). TF-MOT reports clustering and pruning gains
// this way: clustered weights are few distinct values, pruned ones many zeros, and a general-purpose
// compressor turns that into bytes; the demo's table shows the ratio after gzip beside the plain one.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace demo {

/// `data` compressed as one gzip member (deflate level `level`, 0-9).
inline std::vector<unsigned char> gzip_compress(const unsigned char* data, std::size_t size, int level = 6) {
  if (level < 0 || level > 9) throw std::invalid_argument("gzip_compress: level must be in [0, 9], got " + std::to_string(level));
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("gzip_compress: deflateInit2 failed");
  std::vector<unsigned char> out(deflateBound(&z, static_cast<uLong>(size)) + 32);
  z.next_in = const_cast<unsigned char*>(data);  // zlib's API is not const-correct; it does not write
  z.avail_in = static_cast<uInt>(size);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const std::size_t produced = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip_compress: deflate did not finish (" + std::to_string(rc) + ")");
  out.resize(produced);
  return out;
}

/// The inverse of gzip_compress (one gzip member), for tests.
inline std::vector<unsigned char> gzip_decompress(const std::vector<unsigned char>& gz) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::runtime_error("gzip_decompress: inflateInit2 failed");
  std::vector<unsigned char> out;
  unsigned char buf[16384];
  z.next_in = const_cast<unsigned char*>(gz.data());
  z.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = buf;
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      throw std::runtime_error("gzip_decompress: not a complete gzip stream (" + std::to_string(rc) + ")");
    }
    out.insert(out.end(), buf, buf + (sizeof buf - z.avail_out));
  }
  inflateEnd(&z);
  return out;
}

/// The bytes of `path` after gzip_compress.
inline std::size_t gzip_size(const std::string& path, int level = 6) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("gzip_size: cannot read " + path);
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return gzip_compress(bytes.data(), bytes.size(), level).size();
}

}  // namespace demo
