// qsparse/spec/packed_weights.hpp — int8 weights packed once into the layout a GEMM microkernel reads.
//
// The GEMM computes dst[m][n] = pipeline(Σ_k (a[m][k] - a_zp) * (w[k][n] - w_zp)). Its weights are a
// K×N view of int8 (any layout: a TFLite/PyTorch [N][K] row-major filter is the K×N column-major view
// make_strided_view(filter, {K, N}, {1, K})) with one zero point w_zp, packed for one ISA into a buffer the
// caller may own. A packed buffer is self-describing:
//
//   offset 0   packed_header (64 bytes): magic "QSPW", version, layout, ISA, K, N, padded K and N, w_zp
//   offset 64  panels: N padded to NR columns, cut into panels of NR columns; each panel holds K padded
//              to KR as K/KR groups, each group NR columns × KR consecutive k ("c<KR>" in XNNPACK's
//              names), so a microkernel reads one panel front to back:
//                element (k, n) of panel p = n / NR is at  [p][k / KR][n % NR][k % KR]
//   then       column sums Σ_k w[k][n] (int32, one per padded column) for zero-point compensation
//
//   layout             element                  NR  KR  read by (qsparse/kernels/gemm_kernels.hpp)
//   s8_c4_nr32         int8 w (raw)             32  4   avx512_vnni: vpdpbusd (u8 × s8 → s32)
//   s16_c2_nr32        int16 (w - w_zp)         32  2   avx512: vpmaddwd (s16 × s16 → s32)
//   s16_c2_nr16        int16 (w - w_zp)         16  2   avx2: vpmaddwd on ymm
//   s16_c1_nr16        int16 (w - w_zp)         16  1   scalar: the portable loop
//   s8_c4_nr16         int8 w (raw)             16  4   neon_dotprod: sdot (s8 × s8 → s32), 4 columns per q register
//   s8_c8_nr16         int8 w (raw)             16  8   neon_i8mm: smmla (2×8 by 8×2), 2 columns × 8 k per q register
//
// Padding elements are 0 (for the int16 layouts: 0 after the zero point is subtracted), so padded k and n
// contribute nothing. Example: K = 5, N = 3, avx2 → NR = 16, KR = 2, K padded to 6, one panel of
// 3 groups × 16 columns × 2 k = 96 int16; element (k=4, n=2) sits at [0][2][2][0].
//
// pack_weights() checks its inputs and writes a valid buffer; packed_weights_view::from_bytes() validates a buffer that
// arrives from elsewhere (a file, another process) completely: a wrong magic, version, layout or size
// (every size product checked for overflow), a non-zero padding element, an int16 element that is no
// int8 weight minus the zero point, or a column sum that does not match the stored weights is an error.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/spec/packed_storage.hpp"

namespace qsparse {

/// The microkernel layouts of packed int8 weights.
enum class packed_layout : std::uint8_t {
  s8_c4_nr32 = 1,
  s16_c2_nr32 = 2,
  s16_c2_nr16 = 3,
  s16_c1_nr16 = 4,
  s8_c4_nr16 = 5,
  s8_c8_nr16 = 6,
};

/// True when `value` (e.g. read from a file) is one of the packed_layout enumerators.
constexpr bool is_known_layout(std::uint8_t value) noexcept { return value >= 1 && value <= 6; }

inline const char* to_string(packed_layout layout) {
  switch (layout) {
    case packed_layout::s8_c4_nr32: return "s8_c4_nr32";
    case packed_layout::s16_c2_nr32: return "s16_c2_nr32";
    case packed_layout::s16_c2_nr16: return "s16_c2_nr16";
    case packed_layout::s16_c1_nr16: return "s16_c1_nr16";
    case packed_layout::s8_c4_nr16: return "s8_c4_nr16";
    case packed_layout::s8_c8_nr16: return "s8_c8_nr16";
  }
  return "unknown";
}

/// Tile geometry of a layout.
struct layout_geometry {
  int nr;             // columns per panel
  int kr;             // consecutive k per column in a group
  int element_bytes;  // 1 (raw int8) or 2 (int16, zero point subtracted)
};

constexpr layout_geometry geometry_of(packed_layout layout) noexcept {
  switch (layout) {
    case packed_layout::s8_c4_nr32: return {32, 4, 1};
    case packed_layout::s16_c2_nr32: return {32, 2, 2};
    case packed_layout::s16_c2_nr16: return {16, 2, 2};
    case packed_layout::s16_c1_nr16: return {16, 1, 2};
    case packed_layout::s8_c4_nr16: return {16, 4, 1};
    case packed_layout::s8_c8_nr16: return {16, 8, 1};
  }
  return {0, 0, 0};
}

/// The first 64 bytes of a packed buffer.
struct packed_header {
  static constexpr std::uint32_t magic_value = 0x57505351u;  // "QSPW" little-endian
  static constexpr std::uint16_t current_version = 1;

  std::uint32_t magic;
  std::uint16_t version;
  std::uint8_t layout;  // packed_layout
  std::uint8_t isa;     // isa_level
  std::int64_t k;
  std::int64_t n;
  std::int64_t k_padded;
  std::int64_t n_padded;
  std::int32_t weight_zero_point;
  std::int32_t reserved;
  std::int64_t panel_bytes;  // n_padded / nr panels of panel_bytes each
  std::int64_t total_bytes;
};
static_assert(sizeof(packed_header) == 64, "packed_header must stay 64 bytes");
static_assert(std::is_trivially_copyable_v<packed_header>, "packed_header is copied bytewise");

namespace detail {

constexpr std::int64_t round_up(std::int64_t x, std::int64_t multiple) noexcept {
  return (x + multiple - 1) / multiple * multiple;
}

struct packed_sizes {
  std::int64_t k_padded, n_padded, panel_bytes, data_bytes, total_bytes;
};

/// The sizes of a K×N packing (K, N >= 1); throws qsparse::error, prefixed with `fn`, when a size does not
/// fit in int64 (a hostile header must not wrap around into a small buffer).
inline packed_sizes packed_sizes_for(const char* fn, std::int64_t k, std::int64_t n, packed_layout layout) {
  const layout_geometry g = geometry_of(layout);
  packed_sizes s{};
  s.k_padded = checked_round_up(fn, "K rounded up to KR", k, g.kr);
  s.n_padded = checked_round_up(fn, "N rounded up to NR", n, g.nr);
  s.panel_bytes = checked_mul(fn, "the panel size padded K * NR * element bytes", s.k_padded, g.nr, g.element_bytes);
  s.data_bytes = checked_round_up(fn, "the panels' size", checked_mul(fn, "the panels' size panel bytes * panels",
                                                                       s.panel_bytes, s.n_padded / g.nr), 64);
  const std::int64_t sums_bytes = checked_round_up(fn, "the column sums' size", checked_mul(fn, "the column sums' size padded N * 4", s.n_padded, 4), 64);
  s.total_bytes = checked_add(fn, "the packed size", checked_add(fn, "the packed size", 64, s.data_bytes), sums_bytes);
  return s;
}

struct packed_weights_access;  // pack_weights' view of the buffer it has just written
}  // namespace detail

/// A read-only view of a validated packed buffer (does not own it).
class packed_weights_view {
 public:
  packed_weights_view() = default;

  /// Validates a buffer that claims to hold packed weights; throws qsparse::error on any mismatch.
  static packed_weights_view from_bytes(const void* data, std::size_t bytes) {
    const char* fn = "qsparse::packed_weights_view::from_bytes";
    detail::check(data != nullptr, fn, ": data must not be null");
    detail::check(reinterpret_cast<std::uintptr_t>(data) % 64 == 0, fn,
                  ": the buffer must be 64-byte aligned, got address % 64 = ", reinterpret_cast<std::uintptr_t>(data) % 64);
    detail::check(bytes >= sizeof(packed_header), fn, ": buffer of ", bytes, " bytes is shorter than the 64-byte header");
    packed_header h;
    std::memcpy(&h, data, sizeof h);
    detail::check(h.magic == packed_header::magic_value, fn, ": not a packed weight buffer (magic = 0x", std::hex,
                  h.magic, ")");
    detail::check(h.version == packed_header::current_version, fn, ": packed buffer version ", h.version,
                  " is not supported (this build reads version ", packed_header::current_version, "); repack the weights");
    const bool layout_known = is_known_layout(h.layout);
    detail::check(layout_known, fn, ": unknown packed layout ", int{h.layout});
    detail::check(is_known_isa(h.isa), fn, ": unknown ISA ", int{h.isa});
    const auto layout = static_cast<packed_layout>(h.layout);
    detail::check(h.k >= 1 && h.n >= 1 && h.k <= (std::int64_t{1} << 31) && h.n <= (std::int64_t{1} << 31), fn,
                  ": K and N must be in [1, 2^31], got K = ", h.k, ", N = ", h.n);
    const detail::packed_sizes s = detail::packed_sizes_for(fn, h.k, h.n, layout);
    detail::check(h.k_padded == s.k_padded && h.n_padded == s.n_padded && h.panel_bytes == s.panel_bytes &&
                      h.total_bytes == s.total_bytes,
                  fn, ": header sizes are inconsistent with K = ", h.k, ", N = ", h.n);
    detail::check(bytes >= static_cast<std::uint64_t>(h.total_bytes), fn, ": buffer of ", bytes,
                  " bytes is shorter than the ", h.total_bytes, " bytes its header declares");
    detail::check(h.weight_zero_point >= -128 && h.weight_zero_point <= 127, fn,
                  ": weight zero point must be in [-128, 127], got ", h.weight_zero_point);
    detail::check(h.reserved == 0, fn, ": the header's reserved field must be 0, got ", h.reserved);
    packed_weights_view v(static_cast<const unsigned char*>(data), h);
    v.validate_contents(fn);
    return v;
  }

  bool empty() const noexcept { return data_ == nullptr; }
  std::int64_t k() const noexcept { return header_.k; }
  std::int64_t n() const noexcept { return header_.n; }
  std::int64_t k_padded() const noexcept { return header_.k_padded; }
  std::int64_t n_padded() const noexcept { return header_.n_padded; }
  std::int32_t weight_zero_point() const noexcept { return header_.weight_zero_point; }
  packed_layout layout() const noexcept { return static_cast<packed_layout>(header_.layout); }
  isa_level isa() const noexcept { return static_cast<isa_level>(header_.isa); }
  layout_geometry geometry() const noexcept { return geometry_of(layout()); }
  std::int64_t panel_bytes() const noexcept { return header_.panel_bytes; }
  std::size_t size_bytes() const noexcept { return static_cast<std::size_t>(header_.total_bytes); }
  const packed_header& header() const noexcept { return header_; }
  const void* bytes() const noexcept { return data_; }

  /// Panel p (NR columns starting at p * NR).
  const void* panel(std::int64_t p) const noexcept { return data_ + 64 + p * header_.panel_bytes; }
  /// Σ_k w[k][n] for every padded column (0 for padding columns).
  const std::int32_t* column_sums() const noexcept {
    return reinterpret_cast<const std::int32_t*>(data_ + header_.total_bytes - detail::round_up(header_.n_padded * 4, 64));
  }

 private:
  packed_weights_view(const unsigned char* data, const packed_header& h) : data_(data), header_(h) {}
  friend struct detail::packed_weights_access;

  // Every element a weight (int16 layouts: w - w_zp for an int8 w), every padding element 0, and the
  // column sums equal to the stored weights': a flipped byte anywhere is an error, not a wrong result.
  void validate_contents(const char* fn) const {
    const layout_geometry g = geometry();
    const std::int64_t zp = header_.weight_zero_point;
    const std::int64_t group_elements = std::int64_t{g.nr} * g.kr;
    const std::int64_t panel_elements = header_.k_padded * g.nr;
    std::vector<std::int64_t> sums(static_cast<std::size_t>(header_.n_padded), 0);
    for (std::int64_t p = 0; p < header_.n_padded / g.nr; ++p) {
      const unsigned char* base = data_ + 64 + p * header_.panel_bytes;
      for (std::int64_t e = 0; e < panel_elements; ++e) {
        const std::int64_t k = (e / group_elements) * g.kr + e % g.kr;
        const std::int64_t col = p * g.nr + (e / g.kr) % g.nr;
        std::int64_t stored = 0;
        if (g.element_bytes == 1) {
          stored = static_cast<std::int8_t>(base[e]);
        } else {
          std::int16_t v;
          std::memcpy(&v, base + 2 * e, 2);
          stored = v;
        }
        if (k >= header_.k || col >= header_.n) {
          detail::check(stored == 0, fn, ": padding element (k = ", k, ", n = ", col, ") is ", stored, ", not 0");
          continue;
        }
        const std::int64_t w = g.element_bytes == 1 ? stored : stored + zp;
        detail::check(w >= -128 && w <= 127, fn, ": element (k = ", k, ", n = ", col, ") is ", stored,
                      ", which is no int8 weight minus the zero point ", zp);
        sums[static_cast<std::size_t>(col)] += w;
      }
    }
    // The bytes that round the panels up to 64 bytes hold nothing: 0, as pack_weights leaves them.
    const unsigned char* gap = data_ + 64 + header_.n_padded / g.nr * header_.panel_bytes;
    const auto* gap_end = reinterpret_cast<const unsigned char*>(column_sums());
    for (; gap < gap_end; ++gap) detail::check(*gap == 0, fn, ": the padding after the panels holds ", int{*gap}, ", not 0");
    const std::int32_t* stored_sums = column_sums();
    for (std::int64_t c = 0; c < header_.n_padded; ++c) {
      detail::check(sums[static_cast<std::size_t>(c)] == stored_sums[c], fn, ": column_sums[", c, "] = ", stored_sums[c],
                    " does not match the stored weights (", sums[static_cast<std::size_t>(c)], ")");
    }
  }
  const unsigned char* data_ = nullptr;
  packed_header header_{};
};

/// Bytes needed to pack K×N weights in `layout` (including the header and column sums).
inline std::size_t packed_weights_size(std::int64_t k, std::int64_t n, packed_layout layout) {
  detail::check(k >= 1 && n >= 1, "qsparse::packed_weights_size: K and N must be >= 1, got K = ", k, ", N = ", n);
  return static_cast<std::size_t>(detail::packed_sizes_for("qsparse::packed_weights_size", k, n, layout).total_bytes);
}

namespace detail {
/// The view pack_weights returns: the buffer it has just written from checked weights and sizes. Re-reading
/// it with from_bytes' content check (every element, the padding and the column sums) took as long as the
/// packing itself, which matters where operands are packed per call (attention products).
struct packed_weights_access {
  static packed_weights_view view_of_packed(const unsigned char* data, const packed_header& h) {
    return packed_weights_view(data, h);
  }
};
}  // namespace detail

/// Packs K×N int8 weights with zero point `weight_zero_point` in `layout`, for the kernels of `isa` (stored
/// in the header), into `buffer` (64-byte aligned, at least packed_weights_size(K, N, layout) bytes) and
/// returns a view of it (valid by construction: from_bytes' checks are for buffers from elsewhere). qsparse/gemm/packed_weights.hpp chooses the layout of an ISA.
template <class T, class Layout, class Accessor>
packed_weights_view pack_weights(const tensor_view<T, 2, Layout, Accessor>& weights, std::int32_t weight_zero_point,
                                 isa_level isa, packed_layout layout, void* buffer, std::size_t buffer_bytes) {
  static_assert(std::is_same_v<std::remove_const_t<T>, std::int8_t>,
                "qsparse::pack_weights: weights must be a 2-D view of std::int8_t (K rows, N columns).");
  const char* fn = "qsparse::pack_weights";
  const std::int64_t k = weights.extent(0);
  const std::int64_t n = weights.extent(1);
  detail::check(k >= 1 && n >= 1, fn, ": weights must be K x N with K, N >= 1, got ", k, " x ", n);
  detail::check(k <= (std::int64_t{1} << 31) && n <= (std::int64_t{1} << 31), fn,
                ": K and N must be <= 2^31, got K = ", k, ", N = ", n);
  detail::check(weight_zero_point >= -128 && weight_zero_point <= 127, fn,
                ": weight_zero_point must be in [-128, 127], got ", weight_zero_point);
  detail::check(buffer != nullptr, fn, ": buffer must not be null");
  detail::check(reinterpret_cast<std::uintptr_t>(buffer) % 64 == 0, fn, ": buffer must be 64-byte aligned");
  detail::check(is_known_layout(static_cast<std::uint8_t>(layout)), fn,
                ": unknown packed layout ", int{static_cast<std::uint8_t>(layout)});
  detail::check(is_known_isa(static_cast<std::uint8_t>(isa)), fn, ": unknown ISA ", int{static_cast<std::uint8_t>(isa)});
  const layout_geometry g = geometry_of(layout);
  const detail::packed_sizes s = detail::packed_sizes_for(fn, k, n, layout);
  detail::check(buffer_bytes >= static_cast<std::uint64_t>(s.total_bytes), fn, ": buffer has ", buffer_bytes,
                " bytes, packing ", k, " x ", n, " for ", to_string(isa), " needs ", s.total_bytes);

  auto* out = static_cast<unsigned char*>(buffer);
  std::memset(out, 0, static_cast<std::size_t>(s.total_bytes));
  packed_header h{};
  h.magic = packed_header::magic_value;
  h.version = packed_header::current_version;
  h.layout = static_cast<std::uint8_t>(layout);
  h.isa = static_cast<std::uint8_t>(isa);
  h.k = k;
  h.n = n;
  h.k_padded = s.k_padded;
  h.n_padded = s.n_padded;
  h.weight_zero_point = weight_zero_point;
  h.panel_bytes = s.panel_bytes;
  h.total_bytes = s.total_bytes;
  std::memcpy(out, &h, sizeof h);

  const std::int64_t groups = s.k_padded / g.kr;
  auto* sums = reinterpret_cast<std::int32_t*>(out + s.total_bytes - detail::round_up(s.n_padded * 4, 64));
  for (std::int64_t col = 0; col < n; ++col) {
    const std::int64_t p = col / g.nr;
    const std::int64_t j = col % g.nr;
    unsigned char* panel = out + 64 + p * s.panel_bytes;
    std::int64_t sum = 0;  // in int64: K * 128 may pass 2^31 (checked below)
    // Element ((row / kr) * nr + j) * kr + row % kr of the panel, walked a group of kr rows at a time.
    std::int64_t base = j * g.kr;
    for (std::int64_t row0 = 0; row0 < k; row0 += g.kr, base += g.nr * g.kr) {
      const std::int64_t rows_here = std::min<std::int64_t>(g.kr, k - row0);
      for (std::int64_t r = 0; r < rows_here; ++r) {
        const std::int32_t w = weights(static_cast<index_t>(row0 + r), static_cast<index_t>(col));
        sum += w;
        const std::int64_t element = base + r;
        if (g.element_bytes == 1) {
          panel[element] = static_cast<unsigned char>(static_cast<std::int8_t>(w));
        } else {
          const auto v = static_cast<std::int16_t>(w - weight_zero_point);
          std::memcpy(panel + element * 2, &v, 2);
        }
      }
    }
    (void)groups;
    detail::check(sum >= std::numeric_limits<std::int32_t>::min() && sum <= std::numeric_limits<std::int32_t>::max(), fn,
                  ": the sum of column ", col, " over K = ", k, " rows is ", sum,
                  ", which does not fit the int32 column sums; K is too deep for an int32 GEMM (split K)");
    sums[col] = static_cast<std::int32_t>(sum);
  }
  (void)buffer_bytes;  // checked above against the sizes the header holds
  return detail::packed_weights_access::view_of_packed(out, h);
}

/// Packed weights that own their (64-byte aligned) buffer.
class packed_weights : public packed_storage<packed_weights_view> {
 public:
  packed_weights() = default;

  template <class T, class Layout, class Accessor>
  packed_weights(const tensor_view<T, 2, Layout, Accessor>& weights, std::int32_t weight_zero_point, isa_level isa,
                 packed_layout layout)
      : packed_storage(checked_size(weights.extent(0), weights.extent(1), layout), [&](void* buffer, std::size_t bytes) {
          return pack_weights(weights, weight_zero_point, isa, layout, buffer, bytes);
        }) {}

 private:
  static std::size_t checked_size(std::int64_t k, std::int64_t n, packed_layout layout) {
    detail::check(k >= 1 && n >= 1, "qsparse::pack_weights: weights must be K x N with K, N >= 1, got ", k, " x ", n);
    return packed_weights_size(k, n, layout);
  }
};

/// Packs weights in `layout` for the kernels of `isa` into an owning buffer (qsparse/gemm/packed_weights.hpp
/// chooses the layout of an ISA, and the ISA of this CPU).
template <class T, class Layout, class Accessor>
packed_weights pack_weights(const tensor_view<T, 2, Layout, Accessor>& weights, std::int32_t weight_zero_point,
                            isa_level isa, packed_layout layout) {
  return packed_weights(weights, weight_zero_point, isa, layout);
}

}  // namespace qsparse
