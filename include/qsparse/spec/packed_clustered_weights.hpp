// qsparse/spec/packed_clustered_weights.hpp — clustered weights (at most 16 clusters: 4-bit indices into
// a per-output-channel int8 codebook) packed for the clustered GEMM (qsparse/gemm/gemm_clustered.hpp).
//
//   w[k][n] = codebook[n][idx[k][n]]          idx in [0, clusters), codebook int8 in [-128, 127]
//
// The packer (qsparse/gemm/packed_clustered_weights.hpp) calls detail::pack_clustered below. The layout is
// the same for every ISA; it is laid for a table lookup with vpshufb, whose table is one 128-bit lane:
//
//   offset 0    header (64 bytes): magic "QSCL", version, ISA, clusters, NR = 16, K step = 32, K, N,
//               K padded, panel bytes, total bytes, 8 reserved zero bytes
//   offset 64   column sums   int32[N padded to 16]: Σ_{k<K} codebook[n][idx[k][n]] modulo 2^32 (0 for
//                                                    padding columns)
//   then        scales        float[N padded to 16]: the codebook's real scale per column (not read by the
//                                                    kernels; 0 for padding columns)
//   then        panels of NR = 16 columns, each 64-byte aligned:
//     tables    4 × 64 bytes: table g (g = 0..3), 128-bit lane L (L = 0..3) holds column c = 4 L + g's
//               codebook as unsigned bytes codebook[c][j] + 128 at byte 16 L + j (j < 16; entries past
//               `clusters` are 128, i.e. 0)
//     steps     K padded / 32 steps of 4 × 64 bytes: step s, chunk g, lane L, byte t (t = 0..15) holds
//               column c = 4 L + g's indices of k = 32 s + t (low nibble) and k = 32 s + 16 + t (high nibble)
//   So a 64-byte load, vpand 0x0F (or vpsrlw 4 + vpand) and one vpshufb with table g give the (unsigned)
//   weights of 4 columns × 16 consecutive k, one column per 128-bit lane: the operand of vpdpbusd (or of
//   vpmaddwd after widening) against the row's 16 activations broadcast to every lane. Each int32 lane
//   then holds a partial sum of one column; the 4 chunks' partial sums reduce (unpack + add) to the 16
//   columns in order, because lane L of chunk g is column 4 L + g.
//   Padding (columns past N, k past K) holds index 0; the kernels multiply k past K by zero activations
//   and never store padding columns.
//
// K and N are in [1, 2^31), clusters in [1, 16]. The int8 GEMM's accumulator bound applies: the entry
// checks K * max|a - a_zp| * 128 < 2^31. from_bytes validates a buffer completely (header, sizes, every
// index below the cluster count, the tables' unused entries, the column sums, the scales, all padding), so
// a copy or a memory map is as safe as what the packer returns; the file format is
// qsparse/cluster/packed_clusters.hpp's storage, from which the packer builds this layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/spec/packed_storage.hpp"

namespace qsparse {

/// The first 64 bytes of a packed clustered weight buffer.
struct packed_clustered_header {
  static constexpr std::uint32_t magic_value = 0x4C435351u;  // "QSCL" little-endian
  static constexpr std::uint16_t current_version = 1;
  static constexpr std::int32_t panel_columns = 16;  // NR
  static constexpr std::int32_t k_step = 32;         // k per step (two nibbles of 16 k per byte)
  static constexpr std::int32_t max_clusters = 16;   // 4-bit indices, one vpshufb table

  std::uint32_t magic;
  std::uint16_t version;
  std::uint8_t isa;       // isa_level the weights were packed for (the layout is the same for every ISA)
  std::uint8_t clusters;  // 1..16
  std::int32_t nr;
  std::int32_t kstep;
  std::int64_t k;
  std::int64_t n;
  std::int64_t k_padded;
  std::int64_t panel_bytes;
  std::int64_t total_bytes;
  std::int64_t reserved;  // 0
};
static_assert(sizeof(packed_clustered_header) == 64, "packed_clustered_header must stay 64 bytes");
static_assert(std::is_trivially_copyable_v<packed_clustered_header>, "packed_clustered_header is copied bytewise");

namespace detail {

struct clustered_sizes {
  std::int64_t n_padded, k_padded, panel_bytes, total_bytes;
};

/// Checks K, N and the cluster count (names the offending value) and returns the sizes.
inline clustered_sizes clustered_sizes_for(const char* fn, std::int64_t k, std::int64_t n, std::int64_t clusters) {
  check(k >= 1 && n >= 1 && k < (std::int64_t{1} << 31) && n < (std::int64_t{1} << 31), fn,
        ": K and N must be in [1, 2^31), got K = ", k, ", N = ", n);
  check(clusters >= 1 && clusters <= packed_clustered_header::max_clusters, fn,
        ": the clustered GEMM reads 4-bit indices, so clusters must be in [1, 16], got clusters = ", clusters,
        " (more clusters read as many bytes as int8 weights: unpack them, quantize and use qsparse::gemm)");
  clustered_sizes s{};
  s.n_padded = (n + 15) / 16 * 16;
  s.k_padded = (k + 31) / 32 * 32;
  s.panel_bytes = checked_add(fn, "the panel size", 256, checked_mul(fn, "the panel size", s.k_padded / 32, 256));
  const std::int64_t columns_bytes = checked_round_up(fn, "the column arrays", 8 * s.n_padded, 64);
  s.total_bytes = checked_add(fn, "the packed size", 64 + columns_bytes,
                              checked_mul(fn, "the panels' size", s.n_padded / 16, s.panel_bytes));
  return s;
}

}  // namespace detail

/// A read-only view of a packed clustered weight buffer (does not own it).
class packed_clustered_weights_view {
 public:
  packed_clustered_weights_view() = default;

  /// Validates a buffer that claims to hold packed clustered weights (a copy, a memory map); throws
  /// qsparse::error naming the field and value on any mismatch.
  static packed_clustered_weights_view from_bytes(const void* data, std::size_t bytes) {
    const char* fn = "qsparse::packed_clustered_weights::from_bytes";
    detail::check(data != nullptr, fn, ": data must not be null");
    detail::check(reinterpret_cast<std::uintptr_t>(data) % 64 == 0, fn,
                  ": the buffer must be 64-byte aligned, got address % 64 = ",
                  reinterpret_cast<std::uintptr_t>(data) % 64);
    detail::check(bytes >= sizeof(packed_clustered_header), fn, ": buffer of ", bytes,
                  " bytes is shorter than the 64-byte header");
    packed_clustered_header h;
    std::memcpy(&h, data, sizeof h);
    detail::check(h.magic == packed_clustered_header::magic_value, fn,
                  ": not a packed_clustered_weights buffer (magic = 0x", std::hex, h.magic, ")");
    detail::check(h.version == packed_clustered_header::current_version, fn, ": packed buffer version ", h.version,
                  " is not supported (this build reads version ", packed_clustered_header::current_version,
                  "); repack the weights");
    detail::check(is_known_isa(h.isa), fn, ": unknown ISA ", int{h.isa});
    detail::check(h.nr == packed_clustered_header::panel_columns && h.kstep == packed_clustered_header::k_step &&
                      h.reserved == 0,
                  fn, ": geometry NR = ", h.nr, ", K step = ", h.kstep, ", reserved = ", h.reserved,
                  " is not this format's (NR = 16, K step = 32, reserved 0)");
    const detail::clustered_sizes s = detail::clustered_sizes_for(fn, h.k, h.n, h.clusters);
    detail::check(h.k_padded == s.k_padded && h.panel_bytes == s.panel_bytes && h.total_bytes == s.total_bytes, fn,
                  ": header sizes are inconsistent with K = ", h.k, ", N = ", h.n);
    detail::check(bytes >= static_cast<std::uint64_t>(h.total_bytes), fn, ": buffer of ", bytes,
                  " bytes is shorter than the ", h.total_bytes, " bytes its header declares");
    const packed_clustered_weights_view v(static_cast<const unsigned char*>(data), h);
    v.check_contents(fn);
    return v;
  }

  bool empty() const noexcept { return data_ == nullptr; }
  std::int64_t k() const noexcept { return header_.k; }
  std::int64_t n() const noexcept { return header_.n; }
  std::int64_t k_padded() const noexcept { return header_.k_padded; }
  std::int64_t n_padded() const noexcept { return (header_.n + 15) / 16 * 16; }
  int clusters() const noexcept { return header_.clusters; }
  isa_level isa() const noexcept { return static_cast<isa_level>(header_.isa); }
  std::int64_t panels() const noexcept { return n_padded() / 16; }
  std::int64_t panel_bytes() const noexcept { return header_.panel_bytes; }
  std::size_t size_bytes() const noexcept { return static_cast<std::size_t>(header_.total_bytes); }
  const packed_clustered_header& header() const noexcept { return header_; }
  const void* bytes() const noexcept { return data_; }

  /// Σ_{k<K} codebook[n][idx[k][n]] for n < N padded (padding columns 0); 64-byte aligned.
  const std::int32_t* column_sums() const noexcept { return reinterpret_cast<const std::int32_t*>(data_ + 64); }
  /// The real scale of column n's codebook (w_real = scale * codebook value), n < N padded.
  float scale(std::int64_t n) const noexcept {
    float s;
    std::memcpy(&s, data_ + 64 + 4 * n_padded() + 4 * n, sizeof s);
    return s;
  }
  /// Panel p (columns 16 p .. 16 p + 15): 4 tables of 64 bytes, then the steps; 64-byte aligned.
  const unsigned char* panel(std::int64_t p) const noexcept {
    return data_ + 64 + ((8 * n_padded() + 63) / 64 * 64) + p * header_.panel_bytes;
  }
  /// Step s of panel p: 4 chunks of 64 bytes.
  const unsigned char* step(std::int64_t p, std::int64_t s) const noexcept { return panel(p) + 256 + 256 * s; }

  /// idx[k][n] as stored (k < K padded, n < N padded).
  int index(std::int64_t k, std::int64_t n) const noexcept {
    const std::int64_t j = n % 16, g = j % 4, lane = j / 4, t = k % 32;
    const unsigned char byte = step(n / 16, k / 32)[64 * g + 16 * lane + t % 16];
    return t < 16 ? (byte & 15) : (byte >> 4);
  }
  /// codebook[n][j] (j < 16; 0 past the clusters and for padding columns).
  int codebook(std::int64_t n, int j) const noexcept {
    const std::int64_t c = n % 16;
    return static_cast<int>(panel(n / 16)[64 * (c % 4) + 16 * (c / 4) + j]) - 128;
  }

 private:
  packed_clustered_weights_view(const unsigned char* data, const packed_clustered_header& h)
      : data_(data), header_(h) {}

  // Every index below `clusters` (padding 0), the tables' unused entries and padding columns 128 (value
  // 0), the column sums equal to the indices' sums, the scales positive and finite (0 for padding), the
  // reserved bytes and every other padding byte 0.
  void check_contents(const char* fn) const {
    const std::int64_t np = n_padded();
    const std::int64_t columns_bytes = (8 * np + 63) / 64 * 64;
    for (std::int64_t i = 8 * np; i < columns_bytes; ++i)
      detail::check(data_[64 + i] == 0, fn, ": padding after the column arrays is not zero");
    for (std::int64_t p = 0; p < panels(); ++p) {
      for (std::int64_t j = 0; j < 16; ++j) {
        const std::int64_t col = 16 * p + j;
        const bool real = col < header_.n;
        const unsigned char* table = panel(p) + 64 * (j % 4) + 16 * (j / 4);
        for (int c = real ? header_.clusters : 0; c < 16; ++c)
          detail::check(table[c] == 128, fn, ": table entry ", c, " of column ", col,
                        real ? " is past the clusters" : " is padding", " and must be 128 (value 0), got ",
                        int{table[c]});
        std::uint32_t sum = 0;
        for (std::int64_t kk = 0; kk < header_.k_padded; ++kk) {
          const int i = index(kk, col);
          detail::check(real && kk < header_.k ? i < header_.clusters : i == 0, fn, ": index of k = ", kk,
                        " of column ", col, " is ", i,
                        real && kk < header_.k ? ", outside the clusters" : "; padding indices must be 0");
          if (real && kk < header_.k) sum += static_cast<std::uint32_t>(codebook(col, i));
        }
        detail::check(column_sums()[col] == static_cast<std::int32_t>(sum), fn, ": the column sum of column ", col,
                      " is ", column_sums()[col], ", its indices sum to ", static_cast<std::int32_t>(sum));
        const float sc = scale(col);
        detail::check(real ? (sc > 0.0f && sc <= 3.4028234663852886e38f) : (sc == 0.0f), fn, ": scale of column ",
                      col, " is ", sc, real ? "; scales must be positive and finite" : "; padding must be 0");
      }
    }
  }

  const unsigned char* data_ = nullptr;
  packed_clustered_header header_{};
};


/// Bytes needed to pack K×N clustered weights (header included).
inline std::size_t packed_clustered_weights_size(std::int64_t k, std::int64_t n, std::int64_t clusters) {
  return static_cast<std::size_t>(
      detail::clustered_sizes_for("qsparse::packed_clustered_weights_size", k, n, clusters).total_bytes);
}

/// Packed clustered weights that own their (64-byte aligned) buffer (qsparse/gemm/packed_clustered_weights.hpp).
class packed_clustered_weights : public packed_storage<packed_clustered_weights_view> {
 public:
  packed_clustered_weights() = default;
  template <class Pack>
  packed_clustered_weights(std::size_t bytes, const Pack& pack)
      : packed_storage<packed_clustered_weights_view>(bytes, pack) {}
};

namespace detail {

/// Writes K×N clustered weights into `buffer`: index(k, n) in [0, clusters), codebook(n, j) in [-128, 127]
/// for j < clusters, scale(n) a float (stored, not read by the kernels); the caller has checked the values.
template <class Index, class Codebook, class Scale>
packed_clustered_weights_view pack_clustered(const char* fn, std::int64_t k, std::int64_t n, int clusters,
                                             isa_level isa, void* buffer, std::size_t buffer_bytes,
                                             const Index& index, const Codebook& codebook, const Scale& scale) {
  const clustered_sizes s = clustered_sizes_for(fn, k, n, clusters);
  check(buffer != nullptr, fn, ": buffer must not be null");
  check(reinterpret_cast<std::uintptr_t>(buffer) % 64 == 0, fn, ": buffer must be 64-byte aligned");
  check(is_known_isa(static_cast<std::uint8_t>(isa)), fn, ": unknown ISA ", int{static_cast<std::uint8_t>(isa)});
  check(buffer_bytes >= static_cast<std::uint64_t>(s.total_bytes), fn, ": buffer has ", buffer_bytes,
        " bytes, packing ", k, " x ", n, " needs ", s.total_bytes);
  auto* out = static_cast<unsigned char*>(buffer);
  std::memset(out, 0, static_cast<std::size_t>(s.total_bytes));
  packed_clustered_header h{};
  h.magic = packed_clustered_header::magic_value;
  h.version = packed_clustered_header::current_version;
  h.isa = static_cast<std::uint8_t>(isa);
  h.clusters = static_cast<std::uint8_t>(clusters);
  h.nr = packed_clustered_header::panel_columns;
  h.kstep = packed_clustered_header::k_step;
  h.k = k;
  h.n = n;
  h.k_padded = s.k_padded;
  h.panel_bytes = s.panel_bytes;
  h.total_bytes = s.total_bytes;
  std::memcpy(out, &h, sizeof h);
  auto panel_at = [&](std::int64_t p) {
    return out + 64 + ((8 * s.n_padded + 63) / 64 * 64) + p * s.panel_bytes;
  };
  auto* sums = reinterpret_cast<std::int32_t*>(out + 64);
  for (std::int64_t p = 0; p < s.n_padded / 16; ++p) {
    unsigned char* panel = panel_at(p);
    std::memset(panel, 128, 256);  // every table entry codebook value 0
    for (std::int64_t j = 0; j < 16 && 16 * p + j < n; ++j) {
      const std::int64_t col = 16 * p + j;
      unsigned char* table = panel + 64 * (j % 4) + 16 * (j / 4);
      for (int c = 0; c < clusters; ++c) table[c] = static_cast<unsigned char>(codebook(col, c) + 128);
      const float sc = scale(col);
      std::memcpy(out + 64 + 4 * s.n_padded + 4 * col, &sc, sizeof sc);
      std::uint32_t sum = 0;  // modulo 2^32, as the kernels use it (exact for every K the entry accepts)
      for (std::int64_t kk = 0; kk < k; ++kk) {
        const int i = index(kk, col);
        sum += static_cast<std::uint32_t>(codebook(col, i));
        unsigned char& byte = panel[256 + 256 * (kk / 32) + 64 * (j % 4) + 16 * (j / 4) + kk % 16];
        byte = static_cast<unsigned char>(byte | (kk % 32 < 16 ? i : i << 4));
      }
      sums[col] = static_cast<std::int32_t>(sum);
    }
  }
  return packed_clustered_weights_view::from_bytes(buffer, buffer_bytes);
}

}  // namespace detail
}  // namespace qsparse
