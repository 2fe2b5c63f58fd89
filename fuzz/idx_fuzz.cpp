// fuzz/idx_fuzz.cpp — libFuzzer target for qsparse::io::read_idx (IDX files, raw or gzip-compressed).
//
// The reader takes a path, so each input is written to a scratch file of this process first
// ($TMPDIR or /tmp, named after the process id) and read back. Property checked on every input:
//   * read_idx either throws qsparse::error or returns an array; it never crashes, leaks, reads out of
//     bounds or hits undefined behaviour (built with -fsanitize=fuzzer,address,undefined);
//   * an array that loads is consistent: its data holds product(dims) * element size bytes, and a raw
//     (uncompressed) file holds exactly the 4-byte magic, 4 bytes per dimension and that data;
//   * the typed reader agrees: read_idx_tensor<T, Rank> of the right type and rank gives the same bytes
//     (or qsparse::error for an empty array whose non-zero dimensions overflow index_t).
// Any other exception escapes and counts as a crash.
//
//   build/<dir>/fuzz/idx_fuzz -max_len=4096 corpus-dir fuzz/corpus/idx
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "qsparse/io/idx.hpp"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/qsparse_idx_fuzz_" +
           std::to_string(static_cast<long>(getpid())) + ".idx";
  }();
  return path;
}

template <class T, std::size_t Rank>
void check_typed(const std::string& path, const qsparse::io::idx_array& a) {
  // An empty array may still have extents whose non-zero product overflows index_t: the typed reader
  // refuses those with qsparse::error (found by this fuzzer; corpus file crash_typed_zero_dim_overflow).
  std::size_t nonzero = 1;
  bool overflow = false;
  for (const qsparse::index_t d : a.dims) {
    if (d != 0) overflow = overflow || __builtin_mul_overflow(nonzero, static_cast<std::size_t>(d), &nonzero);
  }
  if (overflow || nonzero > static_cast<std::size_t>(std::numeric_limits<qsparse::index_t>::max())) {
    try {
      qsparse::io::read_idx_tensor<T, Rank>(path);
    } catch (const qsparse::error&) {
      return;
    }
    require(false);
  }
  const auto t = qsparse::io::read_idx_tensor<T, Rank>(path);
  require(static_cast<std::size_t>(t.size()) * sizeof(T) == a.data.size());
  require(a.data.empty() || std::memcmp(t.data(), a.data.data(), a.data.size()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = scratch_path();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return 0;
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  qsparse::io::idx_array a;
  try {
    a = qsparse::io::read_idx(path);
  } catch (const qsparse::error&) {
    return 0;
  }
  std::size_t expected = qsparse::io::idx_type_size(a.type);
  for (const qsparse::index_t d : a.dims) expected *= static_cast<std::size_t>(d);
  require(a.data.size() == expected);
  const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  if (!gzip) require(size == 4 + 4 * a.dims.size() + expected);
  if (a.type == qsparse::io::idx_type::u8 && a.dims.size() == 1) check_typed<std::uint8_t, 1>(path, a);
  if (a.type == qsparse::io::idx_type::u8 && a.dims.size() == 3) check_typed<std::uint8_t, 3>(path, a);
  if (a.type == qsparse::io::idx_type::f32 && a.dims.size() == 2) check_typed<float, 2>(path, a);
  return 0;
}
