// qsparse/spec/packed_weights_q4.hpp — 4-bit group-wise weights packed for the q4 GEMMs
// (qsparse/gemm/gemm_q4.hpp): int8 activations (quantized per row on the fly) or float activations ×
// 4-bit weights with a float32 scale and an optional zero point per group of K.
//
//   w[k][n] = scale[g][n] * (u[k][n] - z[g][n])    g = k / G, u in [0, 15], z in [0, 15]
//
// Signed int4 weights q in [-8, 7] are stored as u = q + 8 with z = 8 (affine int4: z = zp + 8), unsigned
// uint4 weights as u = q with their zero point; a buffer whose every z is 8 stores no zero points (flag
// bit 0 clear) and its kernels use the constant 8. The packers (qsparse/gemm/packed_weights_q4.hpp for
// quantized views and group_params) call detail::pack_q4 below.
//
//   offset 0   header (64 bytes): magic "QSQ4", version, ISA, flags, NR = 16, K step = 8, K, N, G,
//              group bytes, panel bytes, total bytes
//   offset 64  panels of NR = 16 columns (N padded to 16), each 64-byte aligned, each K / G group blocks:
//                G / 8 chunks of 64 bytes, chunk c holding k = g G + 8c + t (t = 0..7) of the 16 columns:
//                  byte 4 j + (t % 4), low nibble for t < 4, high nibble for t >= 4   (column j of the panel)
//                so a 64-byte load, vpand 0x0F and vpsrlw 4 + vpand give the u8 operands of two vpdpbusd
//                (4 consecutive k per int32 lane), and a dword shift by 8 (t % 4) + 4 (t / 4) + and 0x0F
//                gives k's 16 values for the float kernels;
//                16 float32 scales (column j at 4 j), then, with zero points, 16 uint8 zero points.
//              group bytes = 8 G + 64 (+ 16); panel bytes = (K / G) group bytes rounded up to 64.
//   Padding (columns past N, bytes past the last group) is all-zero bytes, so a buffer from_bytes accepts
//   is the canonical packing of the values it holds.
//
// G is a multiple of 8 (the K step) in [8, 65536] dividing K; K and N are in [1, 2^31]. Every group sum
// Σ_k q[m][k] (u - z) with |q| <= 128 is below 2^31 for any such G, so the kernels' int32 sums are exact.
// from_bytes validates everything: alignment, size, magic, version, ISA, flags, geometry, the group size,
// the sizes, every scale of a real column positive and finite, every zero point <= 15, all padding zero.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/spec/packed_storage.hpp"

namespace qsparse {

/// The first 64 bytes of a packed 4-bit weight buffer.
struct packed_q4_header {
  static constexpr std::uint32_t magic_value = 0x34515351u;  // "QSQ4" little-endian
  static constexpr std::uint16_t current_version = 1;
  static constexpr std::uint8_t flag_zero_points = 1;  // per-group zero points stored (else all are 8)
  static constexpr std::int32_t panel_columns = 16;    // NR
  static constexpr std::int32_t k_step = 8;            // k per 64-byte chunk; G is a multiple of it
  static constexpr std::int64_t max_group_size = 65536;

  std::uint32_t magic;
  std::uint16_t version;
  std::uint8_t isa;    // isa_level the weights were packed for (the layout is the same for every ISA)
  std::uint8_t flags;  // flag_zero_points
  std::int32_t nr;
  std::int32_t kstep;
  std::int64_t k;
  std::int64_t n;
  std::int64_t group_size;
  std::int64_t group_bytes;
  std::int64_t panel_bytes;
  std::int64_t total_bytes;
};
static_assert(sizeof(packed_q4_header) == 64, "packed_q4_header must stay 64 bytes");
static_assert(std::is_trivially_copyable_v<packed_q4_header>, "packed_q4_header is copied bytewise");

namespace detail {

struct q4_sizes {
  std::int64_t group_bytes, panel_bytes, total_bytes;
};

/// Checks K, N and G (names the offending value) and returns the sizes; `fn` prefixes messages.
inline q4_sizes q4_sizes_for(const char* fn, std::int64_t k, std::int64_t n, std::int64_t group_size,
                             bool zero_points) {
  check(k >= 1 && n >= 1 && k <= (std::int64_t{1} << 31) && n <= (std::int64_t{1} << 31), fn,
        ": K and N must be in [1, 2^31], got K = ", k, ", N = ", n);
  check(group_size >= packed_q4_header::k_step && group_size <= packed_q4_header::max_group_size &&
            group_size % packed_q4_header::k_step == 0,
        fn, ": group size ", group_size, " is not supported: it must be a multiple of ", packed_q4_header::k_step,
        " in [", packed_q4_header::k_step, ", ", packed_q4_header::max_group_size, "] (32, 64, 128, ...)");
  check(k % group_size == 0, fn, ": group size ", group_size, " does not divide K = ", k);
  q4_sizes s{};
  s.group_bytes = group_size * 8 + 64 + (zero_points ? 16 : 0);
  s.panel_bytes = checked_round_up(fn, "the panel size", checked_mul(fn, "groups * group bytes", k / group_size,
                                                                     s.group_bytes),
                                   64);
  const std::int64_t panels = (n + packed_q4_header::panel_columns - 1) / packed_q4_header::panel_columns;
  s.total_bytes = checked_add(fn, "the packed size", 64, checked_mul(fn, "the panels' size", panels, s.panel_bytes));
  return s;
}

}  // namespace detail

/// A read-only view of a validated packed 4-bit weight buffer (does not own it).
class packed_weights_q4_view {
 public:
  packed_weights_q4_view() = default;

  /// Validates a buffer that claims to hold packed 4-bit weights; throws qsparse::error on any mismatch.
  static packed_weights_q4_view from_bytes(const void* data, std::size_t bytes) {
    const char* fn = "qsparse::packed_weights_q4::from_bytes";
    detail::check(data != nullptr, fn, ": data must not be null");
    detail::check(reinterpret_cast<std::uintptr_t>(data) % 64 == 0, fn,
                  ": the buffer must be 64-byte aligned, got address % 64 = ",
                  reinterpret_cast<std::uintptr_t>(data) % 64);
    detail::check(bytes >= sizeof(packed_q4_header), fn, ": buffer of ", bytes,
                  " bytes is shorter than the 64-byte header");
    packed_q4_header h;
    std::memcpy(&h, data, sizeof h);
    detail::check(h.magic == packed_q4_header::magic_value, fn, ": not a packed_weights_q4 buffer (magic = 0x",
                  std::hex, h.magic, ")");
    detail::check(h.version == packed_q4_header::current_version, fn, ": packed buffer version ", h.version,
                  " is not supported (this build reads version ", packed_q4_header::current_version,
                  "); repack the weights");
    detail::check(is_known_isa(h.isa), fn, ": unknown ISA ", int{h.isa});
    detail::check((h.flags & ~packed_q4_header::flag_zero_points) == 0, fn, ": unknown flags 0x", std::hex,
                  int{h.flags});
    detail::check(h.nr == packed_q4_header::panel_columns && h.kstep == packed_q4_header::k_step, fn,
                  ": geometry NR = ", h.nr, ", K step = ", h.kstep, " is not this format's (NR = 16, K step = 8)");
    const bool zp = (h.flags & packed_q4_header::flag_zero_points) != 0;
    const detail::q4_sizes s = detail::q4_sizes_for(fn, h.k, h.n, h.group_size, zp);
    detail::check(h.group_bytes == s.group_bytes && h.panel_bytes == s.panel_bytes && h.total_bytes == s.total_bytes,
                  fn, ": header sizes are inconsistent with K = ", h.k, ", N = ", h.n, ", group size ",
                  h.group_size);
    detail::check(bytes >= static_cast<std::uint64_t>(h.total_bytes), fn, ": buffer of ", bytes,
                  " bytes is shorter than the ", h.total_bytes, " bytes its header declares");
    const packed_weights_q4_view v(static_cast<const unsigned char*>(data), h);
    v.check_contents(fn);
    return v;
  }

  bool empty() const noexcept { return data_ == nullptr; }
  std::int64_t k() const noexcept { return header_.k; }
  std::int64_t n() const noexcept { return header_.n; }
  std::int64_t group_size() const noexcept { return header_.group_size; }
  std::int64_t groups() const noexcept { return header_.k / header_.group_size; }
  std::int64_t group_bytes() const noexcept { return header_.group_bytes; }
  bool has_zero_points() const noexcept { return (header_.flags & packed_q4_header::flag_zero_points) != 0; }
  isa_level isa() const noexcept { return static_cast<isa_level>(header_.isa); }
  std::int64_t panels() const noexcept { return (header_.n + 15) / 16; }
  std::int64_t panel_bytes() const noexcept { return header_.panel_bytes; }
  std::size_t size_bytes() const noexcept { return static_cast<std::size_t>(header_.total_bytes); }
  const packed_q4_header& header() const noexcept { return header_; }
  const void* bytes() const noexcept { return data_; }
  /// Panel p (16 columns starting at 16 p); 64-byte aligned.
  const unsigned char* panel(std::int64_t p) const noexcept { return data_ + 64 + p * header_.panel_bytes; }
  /// Group g's block of panel p: 8 G bytes of nibbles, 16 float scales, [16 zero points].
  const unsigned char* group(std::int64_t p, std::int64_t g) const noexcept {
    return panel(p) + g * header_.group_bytes;
  }

  /// u[k][n] (0..15), the stored value of element (k, n).
  int stored_value(std::int64_t k, std::int64_t n) const noexcept {
    const std::int64_t g = k / header_.group_size, r = k % header_.group_size;
    const unsigned char byte = group(n / 16, g)[(r / 8) * 64 + 4 * (n % 16) + r % 4];
    return (r % 8) < 4 ? (byte & 15) : (byte >> 4);
  }
  /// scale[g][n].
  float scale(std::int64_t g, std::int64_t n) const noexcept {
    float s;
    std::memcpy(&s, group(n / 16, g) + header_.group_size * 8 + 4 * (n % 16), sizeof s);
    return s;
  }
  /// z[g][n] (8 when the buffer stores no zero points).
  int zero_point(std::int64_t g, std::int64_t n) const noexcept {
    return has_zero_points() ? group(n / 16, g)[header_.group_size * 8 + 64 + n % 16] : 8;
  }

 private:
  packed_weights_q4_view(const unsigned char* data, const packed_q4_header& h) : data_(data), header_(h) {}

  // Scales of real columns positive and finite, zero points <= 15, every padding byte zero.
  void check_contents(const char* fn) const {
    const std::int64_t gsz = header_.group_size;
    const std::int64_t tail = header_.panel_bytes - groups() * header_.group_bytes;
    for (std::int64_t p = 0; p < panels(); ++p) {
      const std::int64_t columns = header_.n - 16 * p < 16 ? header_.n - 16 * p : 16;
      for (std::int64_t g = 0; g < groups(); ++g) {
        const unsigned char* b = group(p, g);
        if (columns < 16) {
          for (std::int64_t c = 0; c < gsz / 8; ++c) {
            for (std::int64_t i = 4 * columns; i < 64; ++i) {
              detail::check(b[c * 64 + i] == 0, fn, ": padding column nibbles of panel ", p, " are not zero");
            }
          }
        }
        for (std::int64_t j = 0; j < 16; ++j) {
          float s;
          std::memcpy(&s, b + gsz * 8 + 4 * j, sizeof s);
          if (j < columns) {
            detail::check(std::isfinite(s) && s > 0.0f, fn, ": scale of group ", g, " of column ", 16 * p + j,
                          " is ", s, "; scales must be positive and finite");
          } else {
            std::uint32_t bits;
            std::memcpy(&bits, &s, sizeof bits);
            detail::check(bits == 0, fn, ": scale of padding column ", 16 * p + j, " is not +0.0");
          }
          if (has_zero_points()) {
            const int z = b[gsz * 8 + 64 + j];
            detail::check(j < columns ? z <= 15 : z == 0, fn, ": zero point of group ", g, " of column ",
                          16 * p + j, " is ", z, (j < columns ? "; it must be in [0, 15]" : "; padding must be 0"));
          }
        }
      }
      const unsigned char* end = panel(p) + groups() * header_.group_bytes;
      for (std::int64_t i = 0; i < tail; ++i) {
        detail::check(end[i] == 0, fn, ": padding at the end of panel ", p, " is not zero");
      }
    }
  }

  const unsigned char* data_ = nullptr;
  packed_q4_header header_{};
};

/// Bytes needed to pack K×N 4-bit weights in groups of `group_size` along K (header included).
inline std::size_t packed_weights_q4_size(std::int64_t k, std::int64_t n, std::int64_t group_size, bool zero_points) {
  return static_cast<std::size_t>(
      detail::q4_sizes_for("qsparse::packed_weights_q4_size", k, n, group_size, zero_points).total_bytes);
}

/// Packed 4-bit weights that own their (64-byte aligned) buffer (qsparse/gemm/packed_weights_q4.hpp).
class packed_weights_q4 : public packed_storage<packed_weights_q4_view> {
 public:
  packed_weights_q4() = default;
  template <class Pack>
  packed_weights_q4(std::size_t bytes, const Pack& pack) : packed_storage<packed_weights_q4_view>(bytes, pack) {}
};

namespace detail {

/// Writes the header and panels of K×N weights into `buffer`: value(k, n) is u in [0, 15], scale(g, n)
/// a positive finite float, zero_point(g, n) z in [0, 15] (only called when `zero_points`); the caller
/// has checked the values. Returns the validated view. `fn` prefixes messages.
template <class Value, class Scale, class ZeroPoint>
packed_weights_q4_view pack_q4(const char* fn, std::int64_t k, std::int64_t n, std::int64_t group_size,
                               bool zero_points, isa_level isa, void* buffer, std::size_t buffer_bytes,
                               const Value& value, const Scale& scale, const ZeroPoint& zero_point) {
  const q4_sizes s = q4_sizes_for(fn, k, n, group_size, zero_points);
  check(buffer != nullptr, fn, ": buffer must not be null");
  check(reinterpret_cast<std::uintptr_t>(buffer) % 64 == 0, fn, ": buffer must be 64-byte aligned");
  check(is_known_isa(static_cast<std::uint8_t>(isa)), fn, ": unknown ISA ", int{static_cast<std::uint8_t>(isa)});
  check(buffer_bytes >= static_cast<std::uint64_t>(s.total_bytes), fn, ": buffer has ", buffer_bytes,
        " bytes, packing ", k, " x ", n, " needs ", s.total_bytes);
  auto* out = static_cast<unsigned char*>(buffer);
  std::memset(out, 0, static_cast<std::size_t>(s.total_bytes));
  packed_q4_header h{};
  h.magic = packed_q4_header::magic_value;
  h.version = packed_q4_header::current_version;
  h.isa = static_cast<std::uint8_t>(isa);
  h.flags = zero_points ? packed_q4_header::flag_zero_points : 0;
  h.nr = packed_q4_header::panel_columns;
  h.kstep = packed_q4_header::k_step;
  h.k = k;
  h.n = n;
  h.group_size = group_size;
  h.group_bytes = s.group_bytes;
  h.panel_bytes = s.panel_bytes;
  h.total_bytes = s.total_bytes;
  std::memcpy(out, &h, sizeof h);
  const std::int64_t groups = k / group_size;
  for (std::int64_t col = 0; col < n; ++col) {
    unsigned char* panel = out + 64 + (col / 16) * s.panel_bytes;
    const std::int64_t j = col % 16;
    for (std::int64_t g = 0; g < groups; ++g) {
      unsigned char* b = panel + g * s.group_bytes;
      for (std::int64_t r = 0; r < group_size; ++r) {
        const auto u = static_cast<unsigned>(value(g * group_size + r, col)) & 15u;
        unsigned char& byte = b[(r / 8) * 64 + 4 * j + r % 4];
        byte = static_cast<unsigned char>(byte | ((r % 8) < 4 ? u : u << 4));
      }
      const float sc = scale(g, col);
      std::memcpy(b + group_size * 8 + 4 * j, &sc, sizeof sc);
      if (zero_points) b[group_size * 8 + 64 + j] = static_cast<unsigned char>(zero_point(g, col));
    }
  }
  return packed_weights_q4_view::from_bytes(buffer, buffer_bytes);
}

}  // namespace detail
}  // namespace qsparse
