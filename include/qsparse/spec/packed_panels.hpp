// qsparse/spec/packed_panels.hpp — the packed-weight buffer of the GEMM variants (16x8, float16 weights):
// K×N weights cut into panels of NR columns, in the order a microkernel reads them, behind a small
// self-describing header. The int8 GEMM has its own format (qsparse/spec/packed_weights.hpp); this one
// is separate so that neither constrains the other.
//
// A format is a Kind: a tag type with
//   static constexpr std::uint32_t magic;                     4 bytes that identify the format
//   static constexpr const char* name;                        for messages ("packed_weights_16x8")
//   static constexpr int element_bytes;                       bytes per packed element
// The panel geometry (NR, KR) is the reading kernel's: the caller passes it (qsparse/gemm/ takes it from
// the kernel registry of the format's GEMM) and the header stores it.
// Each Kind is its own view type, so a buffer of one format can never be passed where another is read.
//
//   offset 0   header (64 bytes): magic, version, ISA, element bytes, NR, KR, K, N, padded K and N,
//              panel bytes, total bytes
//   offset 64  panels: N padded to NR, cut into panels of NR columns; each panel holds K padded to KR as
//              K/KR groups of NR columns × KR consecutive k:
//                element (k, n) of panel p = n / NR is at  [p][k / KR][n % NR][k % KR]
//              Padding elements are all-zero bytes (0 for integers, +0.0 for float16).
//   The data area is padded to a multiple of 64 bytes.
//
// from_bytes() validates a buffer that arrives from elsewhere (magic, version, ISA, geometry, sizes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>

#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/spec/packed_storage.hpp"
#include "qsparse/spec/packed_weights.hpp"

namespace qsparse {

/// The first 64 bytes of a packed-panel buffer.
struct packed_panels_header {
  static constexpr std::uint16_t current_version = 1;

  std::uint32_t magic;
  std::uint16_t version;
  std::uint8_t isa;            // isa_level
  std::uint8_t element_bytes;  // bytes per packed element
  std::int32_t nr;
  std::int32_t kr;
  std::int64_t k;
  std::int64_t n;
  std::int64_t k_padded;
  std::int64_t n_padded;
  std::int64_t panel_bytes;  // n_padded / nr panels of panel_bytes each
  std::int64_t total_bytes;
};
static_assert(sizeof(packed_panels_header) == 64, "packed_panels_header must stay 64 bytes");
static_assert(std::is_trivially_copyable_v<packed_panels_header>, "packed_panels_header is copied bytewise");

namespace detail {

struct panel_sizes {
  std::int64_t k_padded, n_padded, panel_bytes, total_bytes;
};

/// NR in {1, 2, 4, ..., 64} and KR in {1, 2, 4, 8}.
constexpr bool valid_panel_geometry(std::int32_t nr, std::int32_t kr) noexcept {
  return nr >= 1 && nr <= 64 && (nr & (nr - 1)) == 0 && kr >= 1 && kr <= 8 && (kr & (kr - 1)) == 0;
}

/// The sizes of a K×N packing; throws qsparse::error, prefixed with `fn`, when one does not fit in int64.
inline panel_sizes panel_sizes_for(const char* fn, std::int64_t k, std::int64_t n, layout_geometry g) {
  panel_sizes s{};
  s.k_padded = checked_round_up(fn, "K rounded up to KR", k, g.kr);
  s.n_padded = checked_round_up(fn, "N rounded up to NR", n, g.nr);
  s.panel_bytes = checked_mul(fn, "the panel size padded K * NR * element bytes", s.k_padded, g.nr, g.element_bytes);
  const std::int64_t data = checked_mul(fn, "the panels' size panel bytes * panels", s.panel_bytes, s.n_padded / g.nr);
  s.total_bytes = checked_add(fn, "the packed size", 64, checked_round_up(fn, "the panels' size", data, 64));
  return s;
}

}  // namespace detail

/// A read-only view of a validated packed-panel buffer of format Kind (does not own it).
template <class Kind>
class packed_panels_view {
 public:
  packed_panels_view() = default;

  /// Validates a buffer that claims to hold Kind's panels; throws qsparse::error on any mismatch.
  static packed_panels_view from_bytes(const void* data, std::size_t bytes) {
    const std::string fn = std::string("qsparse::") + Kind::name + "::from_bytes";
    detail::check(data != nullptr, fn, ": data must not be null");
    detail::check(
        reinterpret_cast<std::uintptr_t>(data) % 64 == 0, fn,
        ": the buffer must be 64-byte aligned, got address % 64 = ", reinterpret_cast<std::uintptr_t>(data) % 64);
    detail::check(bytes >= sizeof(packed_panels_header), fn, ": buffer of ", bytes,
                  " bytes is shorter than the 64-byte header");
    packed_panels_header h;
    std::memcpy(&h, data, sizeof h);
    detail::check(h.magic == Kind::magic, fn, ": not a ", Kind::name, " buffer (magic = 0x", std::hex, h.magic, ")");
    detail::check(h.version == packed_panels_header::current_version, fn, ": packed buffer version ", h.version,
                  " is not supported (this build reads version ", packed_panels_header::current_version,
                  "); repack the weights");
    detail::check(is_known_isa(h.isa), fn, ": unknown ISA ", int{h.isa});
    detail::check(detail::valid_panel_geometry(h.nr, h.kr) && h.element_bytes == Kind::element_bytes, fn,
                  ": geometry NR = ", h.nr, ", KR = ", h.kr, ", element bytes = ", int{h.element_bytes},
                  " is not one of this format's (NR and KR powers of two, NR <= 64, KR <= 8, element bytes ",
                  Kind::element_bytes, ")");
    const layout_geometry g{h.nr, h.kr, h.element_bytes};
    detail::check(h.k >= 1 && h.n >= 1 && h.k <= (std::int64_t{1} << 31) && h.n <= (std::int64_t{1} << 31), fn,
                  ": K and N must be in [1, 2^31], got K = ", h.k, ", N = ", h.n);
    const detail::panel_sizes s = detail::panel_sizes_for(fn.c_str(), h.k, h.n, g);
    detail::check(h.k_padded == s.k_padded && h.n_padded == s.n_padded && h.panel_bytes == s.panel_bytes &&
                      h.total_bytes == s.total_bytes,
                  fn, ": header sizes are inconsistent with K = ", h.k, ", N = ", h.n);
    detail::check(bytes >= static_cast<std::uint64_t>(h.total_bytes), fn, ": buffer of ", bytes,
                  " bytes is shorter than the ", h.total_bytes, " bytes its header declares");
    return packed_panels_view(static_cast<const unsigned char*>(data), h);
  }

  bool empty() const noexcept { return data_ == nullptr; }
  std::int64_t k() const noexcept { return header_.k; }
  std::int64_t n() const noexcept { return header_.n; }
  std::int64_t k_padded() const noexcept { return header_.k_padded; }
  std::int64_t n_padded() const noexcept { return header_.n_padded; }
  isa_level isa() const noexcept { return static_cast<isa_level>(header_.isa); }
  layout_geometry geometry() const noexcept { return {header_.nr, header_.kr, header_.element_bytes}; }
  std::int64_t panels() const noexcept { return header_.n_padded / header_.nr; }
  std::int64_t panel_bytes() const noexcept { return header_.panel_bytes; }
  std::size_t size_bytes() const noexcept { return static_cast<std::size_t>(header_.total_bytes); }
  const packed_panels_header& header() const noexcept { return header_; }
  const void* bytes() const noexcept { return data_; }
  /// Panel p (NR columns starting at p * NR); 64-byte aligned.
  const void* panel(std::int64_t p) const noexcept { return data_ + 64 + p * header_.panel_bytes; }

 private:
  packed_panels_view(const unsigned char* data, const packed_panels_header& h) : data_(data), header_(h) {}
  const unsigned char* data_ = nullptr;
  packed_panels_header header_{};
};

/// Bytes needed to pack K×N weights in format Kind with panels of `geometry` (header included).
template <class Kind>
std::size_t packed_panels_size(std::int64_t k, std::int64_t n, layout_geometry geometry) {
  detail::check(k >= 1 && n >= 1 && k <= (std::int64_t{1} << 31) && n <= (std::int64_t{1} << 31),
                "qsparse::", Kind::name, "_size: K and N must be in [1, 2^31], got K = ", k, ", N = ", n);
  detail::check(detail::valid_panel_geometry(geometry.nr, geometry.kr) && geometry.element_bytes == Kind::element_bytes,
                "qsparse::", Kind::name, "_size: invalid panel geometry NR = ", geometry.nr, ", KR = ", geometry.kr,
                ", element bytes = ", geometry.element_bytes);
  const std::string fn = std::string("qsparse::") + Kind::name + "_size";
  return static_cast<std::size_t>(detail::panel_sizes_for(fn.c_str(), k, n, geometry).total_bytes);
}

namespace detail {

/// Writes Kind's header and panels into `buffer`: element (k, n) is written by
/// write(k, n, pointer to its element_bytes bytes); padding stays zero. `function` prefixes messages.
template <class Kind, class Write>
packed_panels_view<Kind> pack_panels(const char* function, std::int64_t k, std::int64_t n, isa_level isa,
                                     layout_geometry g, void* buffer, std::size_t buffer_bytes, const Write& write) {
  check(k >= 1 && n >= 1, function, ": weights must be K x N with K, N >= 1, got ", k, " x ", n);
  check(k <= (std::int64_t{1} << 31) && n <= (std::int64_t{1} << 31), function,
        ": K and N must be <= 2^31, got K = ", k, ", N = ", n);
  check(buffer != nullptr, function, ": buffer must not be null");
  check(reinterpret_cast<std::uintptr_t>(buffer) % 64 == 0, function, ": buffer must be 64-byte aligned");
  check(is_known_isa(static_cast<std::uint8_t>(isa)), function, ": unknown ISA ", int{static_cast<std::uint8_t>(isa)});
  check(valid_panel_geometry(g.nr, g.kr) && g.element_bytes == Kind::element_bytes, function,
        ": invalid panel geometry NR = ", g.nr, ", KR = ", g.kr, ", element bytes = ", g.element_bytes);
  const panel_sizes s = panel_sizes_for(function, k, n, g);
  check(buffer_bytes >= static_cast<std::uint64_t>(s.total_bytes), function, ": buffer has ", buffer_bytes,
        " bytes, packing ", k, " x ", n, " for ", to_string(isa), " needs ", s.total_bytes);
  auto* out = static_cast<unsigned char*>(buffer);
  std::memset(out, 0, static_cast<std::size_t>(s.total_bytes));
  packed_panels_header h{};
  h.magic = Kind::magic;
  h.version = packed_panels_header::current_version;
  h.isa = static_cast<std::uint8_t>(isa);
  h.element_bytes = static_cast<std::uint8_t>(g.element_bytes);
  h.nr = g.nr;
  h.kr = g.kr;
  h.k = k;
  h.n = n;
  h.k_padded = s.k_padded;
  h.n_padded = s.n_padded;
  h.panel_bytes = s.panel_bytes;
  h.total_bytes = s.total_bytes;
  std::memcpy(out, &h, sizeof h);
  for (std::int64_t col = 0; col < n; ++col) {
    unsigned char* panel = out + 64 + (col / g.nr) * s.panel_bytes;
    const std::int64_t j = col % g.nr;
    for (std::int64_t row = 0; row < k; ++row) {
      const std::int64_t element = ((row / g.kr) * g.nr + j) * g.kr + row % g.kr;
      write(row, col, panel + element * g.element_bytes);
    }
  }
  return packed_panels_view<Kind>::from_bytes(buffer, buffer_bytes);
}

}  // namespace detail

/// Packed panels of format Kind that own their (64-byte aligned) buffer. Made by the format's pack
/// function (pack_weights_16x8, pack_weights_f16).
template <class Kind>
class packed_panels : public packed_storage<packed_panels_view<Kind>> {
 public:
  packed_panels() = default;

  /// Allocates the buffer for K×N in panels of `geometry` and fills it with pack(buffer, bytes), which
  /// returns the view.
  template <class Pack>
  packed_panels(std::int64_t k, std::int64_t n, layout_geometry geometry, const Pack& pack)
      : packed_storage<packed_panels_view<Kind>>(packed_panels_size<Kind>(k, n, geometry), pack) {}
};

}  // namespace qsparse
