// qsparse/spec/packed_sparse_weights.hpp — pruned int8 weights packed once into a format the sparse
// GEMM (qsparse/gemm/sparse_gemm.hpp) skips zeros in.
//
// Input: the same K×N int8 view as pack_weights (any layout), already masked — a pruned weight is an
// exact 0. Sparse weights are symmetric: weight_zero_point must be 0 (with a nonzero zero point a pruned
// weight would be w = w_zp, not 0, and w - w_zp does not fit int8), so pack_sparse_weights rejects any
// other value. The packed buffer is ISA-independent: every kernel (VNNI, AVX2, scalar) reads the same
// bytes, and sparse_gemm picks the kernel at run time.
//
// Formats (K is padded to a multiple of 4 with zeros, N to the panel width NB with zero columns; a
// "group" is 4 consecutive k, g = k / 4; a "panel" is NB consecutive columns, p = n / NB):
//
//   block_4x16, block_4x32   block sparsity, blocks of 4 (K) × NB (N), NB = 16 or 32. A block is stored
//                            when any of its 4·NB weights is nonzero; all-zero blocks are skipped. Exact
//                            for any mask (a block mask of 4×NB makes every stored block dense).
//       panel_start[p]        int64, P + 1 entries: blocks of panel p are [panel_start[p], panel_start[p+1])
//       block_k[b]            uint32, the first k of block b (a multiple of 4), increasing within a panel
//       values[b]             NB × 4 int8: element (k, n) of block b at [n % NB][k % 4] ("c4", the
//                             vpdpbusd operand: one 64-byte vector holds 16 columns × 4 k)
//   two_of_four              2:4 along K: in every column, at most 2 of each group of 4 consecutive k are
//                            nonzero. K is padded to a multiple of 8: a "pair" j is the two groups 2j, 2j+1
//                            (k = 8j .. 8j+7), and each column keeps exactly two slots of each group (a
//                            group with fewer nonzeros keeps a zero at its lowest free slots). Panels of
//                            NB = 16 columns; J = K_padded / 8 pairs and Q = ceil(J / 4) "quads" per panel:
//       positions[p][q]       64 bytes per quad of pairs 4q .. 4q+3: bits 2t, 2t+1 of byte 4c + s give the
//                             slot i (0..3, k = 8j + 4(s / 2) + i) of kept value s of column c in pair
//                             j = 4q + t; s = 0, 1 are the two kept slots of group 2j in increasing k,
//                             s = 2, 3 those of group 2j+1. Fields of pairs past J are 0.
//       values[p][j]          64 int8: kept value s of column c at byte 4c + s — the vpdpbusd operand of
//                             16 columns × 4 kept k, the products of the activations it selects
//   bitmask                  unstructured: any weight may be pruned. Panels of NB = 16 columns; per panel p
//                            and group g one 64-bit mask in the "c4" order of the block formats (bit
//                            4c + i = weight (4g + i, 16p + c) is nonzero), then the nonzero values in bit
//                            order, groups in order, panels in order (a kernel expands them back to the
//                            64-byte vpdpbusd operand in registers: vpexpandb, or vpshufb from a table).
//       value_start[p]        int64, P + 1 entries: the values of panel p are bytes [value_start[p],
//                             value_start[p+1]) of `values`; value_start[P] = blocks = the nonzero count
//       masks[p][g]           uint64, P × G: the mask of panel p, group g (padding bits 0)
//       values                int8, one per set mask bit, never 0 (followed by at least 64 bytes of the
//                             buffer, so a kernel may load 16 bytes past any value)
//
//   offset 0    sparse_header (64 bytes): magic "QSPS", version, format, K, N, padded K and N, blocks
//   offset 64   the arrays above, in that order, each starting on a 64-byte boundary
//   then        column sums Σ_k w[k][n] (int32, one per padded column) for zero-point compensation
//
// Stored bytes (what a matrix-vector product streams): block formats 4·NB + 4 per stored block;
// 2:4 64 + 16 per 16 columns × 8 k, i.e. 62.5 % of the dense int8 matrix (K a multiple of 32); bitmask
// 1/8 + the density of the dense bytes (22.5 % at 90 % sparsity).
// stored_weight_bytes() reports it.
//
// The 2:4 kernels gather instead of expanding: the AVX-512 kernel broadcasts the 8 activations of a pair
// to every 128-bit lane and one vpshufb, whose control is (slot | 4·(s / 2)) decoded from `positions` once
// per tile, puts each column's 4 selected activations beside its 4 kept weights. The dense multiply
// count is halved.
//
// packed_sparse_weights_view::from_bytes validates a buffer from elsewhere completely (magic, version,
// sizes, every index and mask, zero padding, the column sums), so a corrupt buffer is an error, never a
// wrong answer or an out-of-bounds read.
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
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/spec/packed_storage.hpp"

namespace qsparse {

/// The sparse weight formats sparse_gemm runs.
enum class sparse_format : std::uint8_t { block_4x16 = 1, block_4x32 = 2, two_of_four = 3, bitmask = 4 };

inline const char* to_string(sparse_format format) {
  switch (format) {
    case sparse_format::block_4x16: return "block_4x16";
    case sparse_format::block_4x32: return "block_4x32";
    case sparse_format::two_of_four: return "two_of_four";
    case sparse_format::bitmask: return "bitmask";
  }
  return "unknown";
}

/// Columns per panel of a format.
constexpr int panel_width(sparse_format format) noexcept { return format == sparse_format::block_4x32 ? 32 : 16; }

/// The first 64 bytes of a packed sparse buffer.
struct sparse_header {
  static constexpr std::uint32_t magic_value = 0x53505351u;  // "QSPS" little-endian
  // Version 2: the 2:4 format stores slot positions and K padded to 8 (version 1 stored kept masks).
  // Version 3 adds the bitmask format; the other formats are unchanged and still written as version 2,
  // so buffers of those formats stay readable by version-2 readers.
  static constexpr std::uint16_t current_version = 3;
  /// The version pack_sparse_weights writes for `format` (format_version(f) <= current_version).
  static constexpr std::uint16_t format_version(std::uint8_t format) noexcept { return format == 4 ? 3 : 2; }

  std::uint32_t magic;
  std::uint16_t version;
  std::uint8_t format;  // sparse_format
  std::uint8_t reserved0;
  std::int64_t k;
  std::int64_t n;
  std::int64_t k_padded;  // multiple of 4
  std::int64_t n_padded;  // multiple of the panel width
  std::int64_t blocks;    // stored blocks (block formats), panels × groups (2:4, groups = K_padded / 4) or
                          // nonzero weights (bitmask)
  std::int64_t total_bytes;
  std::int64_t reserved1;
};
static_assert(sizeof(sparse_header) == 64, "sparse_header must stay 64 bytes");
static_assert(std::is_trivially_copyable_v<sparse_header>, "sparse_header is copied bytewise");

namespace detail {

constexpr std::int64_t round_up_64(std::int64_t x) noexcept { return (x + 63) / 64 * 64; }

/// The number of set bits of x.
inline int popcount64(std::uint64_t x) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_popcountll(x);
#else
  int n = 0;
  for (; x != 0; x &= x - 1u) ++n;
  return n;
#endif
}

/// The index of the lowest set bit of x (x != 0).
inline int lowest_bit64(std::uint64_t x) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_ctzll(x);
#else
  int i = 0;
  for (; (x & 1u) == 0; x >>= 1) ++i;
  return i;
#endif
}

/// Byte offsets of the regions of a packed sparse buffer.
struct sparse_layout {
  std::int64_t panels, groups;
  std::int64_t pairs, quads;   // 2:4 only: groups / 2 and ceil(pairs / 4)
  std::int64_t index_offset;   // panel_start (block), positions (2:4) or value_start (bitmask)
  std::int64_t block_k_offset; // block_k (block formats) or masks (bitmask)
  std::int64_t values_offset;
  std::int64_t sums_offset;
  std::int64_t total_bytes;
  std::int64_t stored_bytes;   // index + values bytes a full pass reads
};

/// The regions of a packing with `blocks` stored blocks; every size is checked (core/checked.hpp), so a
/// hostile header is an error, prefixed with `fn`, never a wrapped-around small buffer.
inline sparse_layout sparse_layout_for(const char* fn, sparse_format format, std::int64_t k, std::int64_t n,
                                       std::int64_t blocks) {
  const std::int64_t nb = panel_width(format);
  const auto mul = [fn](std::int64_t x, std::int64_t y) { return checked_mul(fn, "a packed sparse size", x, y); };
  const auto add = [fn](std::int64_t x, std::int64_t y) { return checked_add(fn, "a packed sparse size", x, y); };
  const auto up64 = [fn](std::int64_t x) { return checked_round_up(fn, "a packed sparse size", x, 64); };
  sparse_layout s{};
  s.groups = (k + 3) / 4;
  s.panels = (n + nb - 1) / nb;
  s.index_offset = 64;
  if (format == sparse_format::two_of_four) {
    (void)blocks;  // always panels × groups
    s.pairs = (k + 7) / 8;
    s.groups = 2 * s.pairs;
    s.quads = (s.pairs + 3) / 4;
    s.block_k_offset = s.index_offset;
    s.values_offset = add(s.index_offset, mul(mul(s.panels, s.quads), 64));
    s.sums_offset = add(s.values_offset, mul(mul(s.panels, s.pairs), 64));
    s.stored_bytes = mul(mul(s.panels, add(s.pairs, s.quads)), 64);
  } else if (format == sparse_format::bitmask) {
    s.block_k_offset = add(s.index_offset, up64(mul(add(s.panels, 1), 8)));
    s.values_offset = add(s.block_k_offset, up64(mul(mul(s.panels, s.groups), 8)));
    s.sums_offset = add(s.values_offset, up64(blocks));
    s.stored_bytes = add(add(mul(mul(s.panels, s.groups), 8), blocks), mul(add(s.panels, 1), 8));
  } else {
    s.block_k_offset = add(s.index_offset, up64(mul(add(s.panels, 1), 8)));
    s.values_offset = add(s.block_k_offset, up64(mul(blocks, 4)));
    s.sums_offset = add(s.values_offset, up64(mul(mul(blocks, nb), 4)));
    s.stored_bytes = add(mul(blocks, add(mul(nb, 4), 4)), mul(add(s.panels, 1), 8));
  }
  s.total_bytes = add(s.sums_offset, up64(mul(mul(s.panels, nb), 4)));
  return s;
}

/// 2:4: K padded to whole pairs of groups (8 k).
constexpr std::int64_t two_of_four_k_padded(std::int64_t k) noexcept { return (k + 7) / 8 * 8; }

}  // namespace detail

/// A read-only view of a validated packed sparse buffer (does not own it).
class packed_sparse_weights_view {
 public:
  packed_sparse_weights_view() = default;

  /// Validates a buffer that claims to hold packed sparse weights; throws qsparse::error on any mismatch.
  static packed_sparse_weights_view from_bytes(const void* data, std::size_t bytes) {
    const char* fn = "qsparse::packed_sparse_weights_view::from_bytes";
    detail::check(data != nullptr, fn, ": data must not be null");
    detail::check(reinterpret_cast<std::uintptr_t>(data) % 64 == 0, fn,
                  ": the buffer must be 64-byte aligned, got address % 64 = ", reinterpret_cast<std::uintptr_t>(data) % 64);
    detail::check(bytes >= sizeof(sparse_header), fn, ": buffer of ", bytes, " bytes is shorter than the 64-byte header");
    sparse_header h;
    std::memcpy(&h, data, sizeof h);
    detail::check(h.magic == sparse_header::magic_value, fn, ": not a packed sparse weight buffer (magic = ", h.magic,
                  ")");
    detail::check(h.version >= 2 && h.version <= sparse_header::current_version, fn, ": packed sparse buffer version ",
                  h.version, " is not supported (this build reads versions 2 to ", sparse_header::current_version,
                  "); repack the weights");
    detail::check(h.format >= 1 && h.format <= 4, fn, ": unknown sparse format ", int{h.format});
    // Each format has one version (a buffer is the canonical packing of its weights, byte for byte).
    detail::check(h.version == sparse_header::format_version(h.format), fn, ": sparse format ",
                  to_string(static_cast<sparse_format>(h.format)), " needs buffer version ",
                  sparse_header::format_version(h.format), ", got version ", h.version);
    const auto format = static_cast<sparse_format>(h.format);
    detail::check(h.k >= 1 && h.n >= 1 && h.k <= (std::int64_t{1} << 31) && h.n <= (std::int64_t{1} << 31), fn,
                  ": K and N must be in [1, 2^31], got K = ", h.k, ", N = ", h.n);
    const std::int64_t nb = qsparse::panel_width(format);
    const std::int64_t k_padded =
        format == sparse_format::two_of_four ? detail::two_of_four_k_padded(h.k) : (h.k + 3) / 4 * 4;
    const std::int64_t groups = k_padded / 4;
    const std::int64_t panels = (h.n + nb - 1) / nb;
    const bool blocks_ok = format == sparse_format::two_of_four ? h.blocks == panels * groups
                           : format == sparse_format::bitmask ? h.blocks >= 0 && h.blocks <= panels * groups * 64
                                                              : h.blocks >= 0 && h.blocks <= panels * groups;
    detail::check(h.k_padded == k_padded && h.n_padded == panels * nb && blocks_ok, fn,
                  ": header sizes are inconsistent with K = ", h.k, ", N = ", h.n, " (blocks = ", h.blocks, ")");
    // Bound the block count by the buffer first, so the size arithmetic below cannot overflow.
    const std::int64_t unit_bytes =
        format == sparse_format::two_of_four ? 40 : (format == sparse_format::bitmask ? 1 : 4 * nb + 4);
    detail::check(h.blocks <= static_cast<std::int64_t>(bytes / static_cast<std::size_t>(unit_bytes)), fn,
                  ": header declares ", h.blocks, " blocks of ", unit_bytes, " bytes, more than the buffer of ", bytes,
                  " bytes holds");
    const detail::sparse_layout s = detail::sparse_layout_for(fn, format, h.k, h.n, h.blocks);
    detail::check(h.total_bytes == s.total_bytes, fn, ": header declares ", h.total_bytes, " bytes, the format needs ",
                  s.total_bytes);
    detail::check(bytes >= static_cast<std::uint64_t>(h.total_bytes), fn, ": buffer of ", bytes,
                  " bytes is shorter than the ", h.total_bytes, " bytes its header declares");
    packed_sparse_weights_view v(static_cast<const unsigned char*>(data), h, s);
    v.validate_contents(fn);
    return v;
  }

  bool empty() const noexcept { return data_ == nullptr; }
  sparse_format format() const noexcept { return static_cast<sparse_format>(header_.format); }
  std::int64_t k() const noexcept { return header_.k; }
  std::int64_t n() const noexcept { return header_.n; }
  std::int64_t k_padded() const noexcept { return header_.k_padded; }
  std::int64_t n_padded() const noexcept { return header_.n_padded; }
  /// Always 0 (pack_sparse_weights accepts symmetric weights only).
  std::int32_t weight_zero_point() const noexcept { return 0; }
  int panel_width() const noexcept { return qsparse::panel_width(format()); }
  std::int64_t panels() const noexcept { return layout_.panels; }
  std::int64_t groups() const noexcept { return layout_.groups; }
  /// 2:4: pairs of groups (8 k) and quads of pairs per panel.
  std::int64_t pairs() const noexcept { return layout_.pairs; }
  std::int64_t quads() const noexcept { return layout_.quads; }
  /// Stored blocks: nonzero 4 × NB blocks (block formats), panels × groups (2:4), nonzero weights (bitmask).
  std::int64_t blocks() const noexcept { return header_.blocks; }
  std::size_t size_bytes() const noexcept { return static_cast<std::size_t>(header_.total_bytes); }
  /// The index and value bytes one pass over the weights reads (what a matrix-vector product streams).
  std::int64_t stored_weight_bytes() const noexcept { return layout_.stored_bytes; }
  /// The share of 4 × NB blocks stored (block formats; 1 for 2:4), of weights stored (bitmask).
  double block_density() const noexcept {
    const std::int64_t units = layout_.panels * layout_.groups * (format() == sparse_format::bitmask ? 64 : 1);
    return static_cast<double>(header_.blocks) / static_cast<double>(units);
  }
  const sparse_header& header() const noexcept { return header_; }
  const void* bytes() const noexcept { return data_; }

  // Block formats.
  const std::int64_t* panel_start() const noexcept {
    return reinterpret_cast<const std::int64_t*>(data_ + layout_.index_offset);
  }
  const std::uint32_t* block_k() const noexcept {
    return reinterpret_cast<const std::uint32_t*>(data_ + layout_.block_k_offset);
  }
  /// Values of block b (block formats, 4·NB bytes) or of panel-pair b = p * pairs + j (2:4, 64 bytes).
  const std::int8_t* values(std::int64_t b) const noexcept {
    const std::int64_t block_bytes = format() == sparse_format::two_of_four ? 64 : 4 * panel_width();
    return reinterpret_cast<const std::int8_t*>(data_ + layout_.values_offset + b * block_bytes);
  }
  // Bitmask format.
  /// Panel p's values are bitmask_values()[value_start()[p] .. value_start()[p + 1]).
  const std::int64_t* value_start() const noexcept {
    return reinterpret_cast<const std::int64_t*>(data_ + layout_.index_offset);
  }
  /// The groups() masks of panel p: bit 4c + i of masks(p)[g] = weight (4g + i, 16p + c) is stored.
  const std::uint64_t* masks(std::int64_t p) const noexcept {
    return reinterpret_cast<const std::uint64_t*>(data_ + layout_.block_k_offset) + p * layout_.groups;
  }
  /// The nonzero values of every panel, in mask-bit order.
  const std::int8_t* bitmask_values() const noexcept {
    return reinterpret_cast<const std::int8_t*>(data_ + layout_.values_offset);
  }
  /// 2:4: the slot positions of panel p, quads() × 64 bytes.
  const std::uint8_t* positions(std::int64_t p) const noexcept {
    return reinterpret_cast<const std::uint8_t*>(data_ + layout_.index_offset + p * layout_.quads * 64);
  }
  /// Σ_k w[k][n] for every padded column (0 for padding columns).
  const std::int32_t* column_sums() const noexcept {
    return reinterpret_cast<const std::int32_t*>(data_ + layout_.sums_offset);
  }

  /// Weight (k, n) as stored (0 when pruned); for tests and tools, not for inner loops.
  std::int8_t weight(std::int64_t kk, std::int64_t nn) const noexcept {
    const std::int64_t nb = panel_width();
    const std::int64_t p = nn / nb, c = nn % nb, g = kk / 4, i = kk % 4;
    if (format() == sparse_format::bitmask) {
      const std::uint64_t* mk = masks(p);
      const int bit = static_cast<int>(4 * c + i);
      if (((mk[g] >> bit) & 1u) == 0) return 0;
      std::int64_t at = value_start()[p];
      for (std::int64_t gg = 0; gg < g; ++gg) at += detail::popcount64(mk[gg]);
      at += detail::popcount64(mk[g] & ((std::uint64_t{1} << bit) - 1u));
      return bitmask_values()[at];
    }
    if (format() == sparse_format::two_of_four) {
      const std::int64_t j = kk / 8, half = g % 2;
      for (std::int64_t s = 2 * half; s < 2 * half + 2; ++s) {
        if (two_of_four_slot(p, j, c, s) == i) return values(p * pairs() + j)[4 * c + s];
      }
      return 0;
    }
    for (std::int64_t b = panel_start()[p]; b < panel_start()[p + 1]; ++b) {
      if (block_k()[b] == g * 4) return values(b)[c * 4 + i];
    }
    return 0;
  }

 private:
  packed_sparse_weights_view(const unsigned char* data, const sparse_header& h, const detail::sparse_layout& s)
      : data_(data), header_(h), layout_(s) {}

  /// 2:4: the slot (0..3 within its group) of kept value s of column c in pair j of panel p.
  std::int64_t two_of_four_slot(std::int64_t p, std::int64_t j, std::int64_t c, std::int64_t s) const noexcept {
    return (positions(p)[(j / 4) * 64 + 4 * c + s] >> (2 * (j % 4))) & 3;
  }

  // Every index in range, every mask well formed, padding zero, column sums equal to the stored values.
  void validate_contents(const char* fn) const {
    const std::int64_t nb = panel_width();
    std::vector<std::int64_t> sums(static_cast<std::size_t>(header_.n_padded), 0);
    if (format() == sparse_format::bitmask) {
      const std::int64_t* start = value_start();
      detail::check(start[0] == 0, fn, ": value_start[0] must be 0, got ", start[0]);
      for (std::int64_t p = 0; p < layout_.panels; ++p) {
        const std::uint64_t* mk = masks(p);
        std::int64_t at = start[p];
        for (std::int64_t g = 0; g < layout_.groups; ++g) {
          std::uint64_t bits = mk[g];
          while (bits != 0) {
            const int bit = detail::lowest_bit64(bits);
            bits &= bits - 1u;
            const std::int64_t c = bit / 4, kk = 4 * g + bit % 4;
            detail::check(kk < header_.k && p * nb + c < header_.n, fn, ": mask bit of padding weight (k = ", kk,
                          ", n = ", p * nb + c, ") in panel ", p, ", group ", g, " must be 0");
            detail::check(at < header_.blocks, fn, ": the masks of panel ", p, " name more values than the ",
                          header_.blocks, " stored");
            const std::int8_t w = bitmask_values()[at++];
            detail::check(w != 0, fn, ": stored value ", at - 1, " (k = ", kk, ", n = ", p * nb + c,
                          ") is 0; a set mask bit must hold a nonzero weight");
            sums[static_cast<std::size_t>(p * nb + c)] += w;
          }
        }
        detail::check(start[p + 1] == at, fn, ": value_start[", p + 1, "] = ", start[p + 1],
                      " does not match the masks of panel ", p, " (", at, ")");
      }
      detail::check(start[layout_.panels] == header_.blocks, fn, ": value_start[", layout_.panels, "] = ",
                    start[layout_.panels], " must equal the ", header_.blocks, " stored values");
    } else if (format() == sparse_format::two_of_four) {
      const std::int64_t pairs = layout_.pairs;
      for (std::int64_t p = 0; p < layout_.panels; ++p) {
        for (std::int64_t j = 0; j < layout_.quads * 4; ++j) {
          for (std::int64_t c = 0; c < 16; ++c) {
            for (std::int64_t s = 0; s < 4; s += 2) {
              const std::int64_t first = two_of_four_slot(p, j, c, s), second = two_of_four_slot(p, j, c, s + 1);
              if (j >= pairs) {
                detail::check(first == 0 && second == 0, fn, ": 2:4 positions of panel ", p, " past the last pair (",
                              j, ") must be 0");
                continue;
              }
              detail::check(first < second, fn, ": 2:4 positions of panel ", p, ", group ", 2 * j + s / 2,
                            ", column ", c, " must name two slots in increasing order, got ", first, ", ", second);
              for (std::int64_t t = s; t < s + 2; ++t) {
                const std::int8_t w = values(p * pairs + j)[4 * c + t];
                check_padding(fn, w, 8 * j + 4 * (s / 2) + two_of_four_slot(p, j, c, t), p * nb + c);
                sums[static_cast<std::size_t>(p * nb + c)] += w;
              }
            }
          }
        }
      }
    } else {
      const std::int64_t* start = panel_start();
      detail::check(start[0] == 0 && start[layout_.panels] == header_.blocks, fn,
                    ": panel_start must run from 0 to blocks = ", header_.blocks, ", got ", start[0], " .. ",
                    start[layout_.panels]);
      for (std::int64_t p = 0; p < layout_.panels; ++p) {
        detail::check(start[p] <= start[p + 1], fn, ": panel_start must not decrease, got panel_start[", p, "] = ",
                      start[p], " > panel_start[", p + 1, "] = ", start[p + 1]);
      }
      for (std::int64_t p = 0; p < layout_.panels; ++p) {
        std::int64_t previous = -1;
        for (std::int64_t b = start[p]; b < start[p + 1]; ++b) {
          const std::int64_t k0 = block_k()[b];
          detail::check(k0 % 4 == 0 && k0 > previous && k0 < header_.k_padded, fn, ": block_k[", b, "] = ", k0,
                        " of panel ", p, " must be a multiple of 4 in (", previous, ", ", header_.k_padded, ")");
          previous = k0;
          const std::int8_t* v = values(b);
          for (std::int64_t c = 0; c < nb; ++c) {
            for (std::int64_t i = 0; i < 4; ++i) {
              check_padding(fn, v[c * 4 + i], k0 + i, p * nb + c);
              sums[static_cast<std::size_t>(p * nb + c)] += v[c * 4 + i];
            }
          }
        }
      }
    }
    for (std::int64_t c = 0; c < header_.n_padded; ++c) {
      detail::check(sums[static_cast<std::size_t>(c)] == column_sums()[c], fn, ": column_sums[", c, "] = ",
                    column_sums()[c], " does not match the stored weights (", sums[static_cast<std::size_t>(c)], ")");
    }
  }
  void check_padding(const char* fn, std::int8_t w, std::int64_t kk, std::int64_t nn) const {
    detail::check(w == 0 || (kk < header_.k && nn < header_.n), fn, ": padding weight (k = ", kk, ", n = ", nn,
                  ") must be 0, got ", int{w});
  }

  const unsigned char* data_ = nullptr;
  sparse_header header_{};
  detail::sparse_layout layout_{};
};

namespace detail {

/// Stored 4 × NB blocks of K×N weights (any nonzero in the block), counted without packing.
template <class T, class Layout, class Accessor>
std::int64_t count_nonzero_blocks(const tensor_view<T, 2, Layout, Accessor>& w, std::int64_t nb) {
  const std::int64_t k = w.extent(0), n = w.extent(1);
  std::int64_t blocks = 0;
  for (std::int64_t p = 0; p * nb < n; ++p) {
    for (std::int64_t g = 0; g * 4 < k; ++g) {
      bool any = false;
      for (std::int64_t c = p * nb; c < n && c < (p + 1) * nb && !any; ++c) {
        for (std::int64_t kk = g * 4; kk < k && kk < g * 4 + 4; ++kk) {
          if (w(static_cast<index_t>(kk), static_cast<index_t>(c)) != 0) {
            any = true;
            break;
          }
        }
      }
      blocks += any ? 1 : 0;
    }
  }
  return blocks;
}

template <class T, class Layout, class Accessor>
void check_sparse_weights(const char* fn, const tensor_view<T, 2, Layout, Accessor>& weights,
                          std::int32_t weight_zero_point, sparse_format format) {
  static_assert(std::is_same_v<std::remove_const_t<T>, std::int8_t>,
                "qsparse::pack_sparse_weights: weights must be a 2-D view of std::int8_t (K rows, N columns).");
  const std::int64_t k = weights.extent(0);
  const std::int64_t n = weights.extent(1);
  check(k >= 1 && n >= 1, fn, ": weights must be K x N with K, N >= 1, got ", k, " x ", n);
  check(k <= (std::int64_t{1} << 31) && n <= (std::int64_t{1} << 31), fn, ": K and N must be <= 2^31, got K = ", k,
        ", N = ", n);
  check(weight_zero_point == 0, fn,
        ": sparse weights must be symmetric (weight_zero_point = 0: a pruned weight is an exact 0), got "
        "weight_zero_point = ",
        weight_zero_point);
  const auto f = static_cast<int>(format);
  check(f >= 1 && f <= 4, fn, ": unknown sparse format ", f);
}


/// Nonzero elements of K×N weights.
template <class T, class Layout, class Accessor>
std::int64_t count_nonzero_weights(const tensor_view<T, 2, Layout, Accessor>& w) {
  std::int64_t count = 0;
  for (index_t kk = 0; kk < w.extent(0); ++kk) {
    for (index_t c = 0; c < w.extent(1); ++c) count += w(kk, c) != 0 ? 1 : 0;
  }
  return count;
}

}  // namespace detail

/// Bytes needed to pack these K×N weights in `format` (depends on how many blocks are nonzero).
template <class T, class Layout, class Accessor>
std::size_t packed_sparse_weights_size(const tensor_view<T, 2, Layout, Accessor>& weights, sparse_format format) {
  detail::check_sparse_weights("qsparse::packed_sparse_weights_size", weights, 0, format);
  const std::int64_t k = weights.extent(0), n = weights.extent(1);
  const std::int64_t blocks = format == sparse_format::two_of_four
                                  ? detail::two_of_four_k_padded(k) / 4 * ((n + 15) / 16)
                                  : format == sparse_format::bitmask
                                        ? detail::count_nonzero_weights(weights)
                                        : detail::count_nonzero_blocks(weights, panel_width(format));
  return static_cast<std::size_t>(detail::sparse_layout_for("qsparse::packed_sparse_weights_size", format, k, n, blocks)
                                      .total_bytes);
}

/// Packs K×N masked int8 weights (weight_zero_point must be 0) in `format` into `buffer` (64-byte aligned,
/// at least packed_sparse_weights_size(weights, format) bytes) and returns the validated view of it.
/// two_of_four requires at most 2 nonzeros in every column's group of 4 consecutive k (k = 4g .. 4g+3).
template <class T, class Layout, class Accessor>
packed_sparse_weights_view pack_sparse_weights(const tensor_view<T, 2, Layout, Accessor>& weights,
                                               std::int32_t weight_zero_point, sparse_format format, void* buffer,
                                               std::size_t buffer_bytes) {
  const char* fn = "qsparse::pack_sparse_weights";
  detail::check_sparse_weights(fn, weights, weight_zero_point, format);
  detail::check(buffer != nullptr, fn, ": buffer must not be null");
  detail::check(reinterpret_cast<std::uintptr_t>(buffer) % 64 == 0, fn, ": buffer must be 64-byte aligned");
  const std::int64_t k = weights.extent(0);
  const std::int64_t n = weights.extent(1);
  const std::int64_t nb = panel_width(format);
  const std::int64_t k_padded = format == sparse_format::two_of_four ? detail::two_of_four_k_padded(k) : (k + 3) / 4 * 4;
  const std::int64_t groups = k_padded / 4;
  const std::int64_t panels = (n + nb - 1) / nb;
  const auto w = [&](std::int64_t kk, std::int64_t nn) -> std::int8_t {
    return kk < k && nn < n ? weights(static_cast<index_t>(kk), static_cast<index_t>(nn)) : std::int8_t{0};
  };
  if (format == sparse_format::two_of_four) {
    for (std::int64_t c = 0; c < n; ++c) {
      for (std::int64_t g = 0; g * 4 < k; ++g) {
        int nonzeros = 0;
        for (std::int64_t i = 0; i < 4; ++i) nonzeros += w(g * 4 + i, c) != 0 ? 1 : 0;
        detail::check(nonzeros <= 2, fn, ": weights are not 2:4 sparse along K: column n = ", c, " has ", nonzeros,
                      " nonzeros in k = ", g * 4, " .. ", std::min(k, g * 4 + 4) - 1);
      }
    }
  }
  const std::int64_t blocks = format == sparse_format::two_of_four ? groups * panels
                               : format == sparse_format::bitmask   ? detail::count_nonzero_weights(weights)
                                                                    : detail::count_nonzero_blocks(weights, nb);
  const detail::sparse_layout s = detail::sparse_layout_for(fn, format, k, n, blocks);
  detail::check(buffer_bytes >= static_cast<std::uint64_t>(s.total_bytes), fn, ": buffer has ", buffer_bytes,
                " bytes, packing ", k, " x ", n, " as ", to_string(format), " needs ", s.total_bytes);

  auto* out = static_cast<unsigned char*>(buffer);
  std::memset(out, 0, static_cast<std::size_t>(s.total_bytes));
  sparse_header h{};
  h.magic = sparse_header::magic_value;
  h.version = sparse_header::format_version(static_cast<std::uint8_t>(format));
  h.format = static_cast<std::uint8_t>(format);
  h.k = k;
  h.n = n;
  h.k_padded = k_padded;
  h.n_padded = panels * nb;
  h.blocks = blocks;
  h.total_bytes = s.total_bytes;
  std::memcpy(out, &h, sizeof h);

  auto* sums = reinterpret_cast<std::int32_t*>(out + s.sums_offset);
  for (std::int64_t c = 0; c < n; ++c) {
    std::int64_t sum = 0;  // in int64: K * 128 may pass 2^31 (checked)
    for (std::int64_t kk = 0; kk < k; ++kk) sum += w(kk, c);
    detail::check(sum >= std::numeric_limits<std::int32_t>::min() && sum <= std::numeric_limits<std::int32_t>::max(), fn,
                  ": the sum of column ", c, " over K = ", k, " rows is ", sum,
                  ", which does not fit the int32 column sums; K is too deep for an int32 GEMM (split K)");
    sums[c] = static_cast<std::int32_t>(sum);
  }
  if (format == sparse_format::bitmask) {
    auto* start = reinterpret_cast<std::int64_t*>(out + s.index_offset);
    auto* masks = reinterpret_cast<std::uint64_t*>(out + s.block_k_offset);
    auto* values = reinterpret_cast<std::int8_t*>(out + s.values_offset);
    std::int64_t at = 0;
    for (std::int64_t p = 0; p < panels; ++p) {
      start[p] = at;
      for (std::int64_t g = 0; g < groups; ++g) {
        std::uint64_t mask = 0;
        for (std::int64_t c = 0; c < 16; ++c) {
          for (std::int64_t i = 0; i < 4; ++i) {
            const std::int8_t x = w(g * 4 + i, p * 16 + c);
            if (x == 0) continue;
            mask |= std::uint64_t{1} << (4 * c + i);
            values[at++] = x;
          }
        }
        masks[p * groups + g] = mask;
      }
    }
    start[panels] = at;
  } else if (format == sparse_format::two_of_four) {
    auto* positions = reinterpret_cast<std::uint8_t*>(out + s.index_offset);
    auto* values = reinterpret_cast<std::int8_t*>(out + s.values_offset);
    for (std::int64_t p = 0; p < panels; ++p) {
      for (std::int64_t j = 0; j < s.pairs; ++j) {
        std::int8_t* v = values + (p * s.pairs + j) * 64;
        std::uint8_t* pos = positions + (p * s.quads + j / 4) * 64;
        for (std::int64_t c = 0; c < 16; ++c) {
          for (std::int64_t half = 0; half < 2; ++half) {
            const std::int64_t k0 = 8 * j + 4 * half;
            // Keep the nonzeros, then fill up to two slots with the lowest zero positions.
            unsigned keep = 0;
            for (int i = 0; i < 4; ++i) keep |= w(k0 + i, p * 16 + c) != 0 ? 1u << i : 0u;
            for (int i = 0; i < 4 && (keep & (keep - 1u)) == 0; ++i) keep |= 1u << i;  // fewer than 2 bits set
            std::int64_t slot = 4 * c + 2 * half;
            for (int i = 0; i < 4; ++i) {
              if (((keep >> i) & 1u) == 0) continue;
              v[slot] = w(k0 + i, p * 16 + c);
              pos[slot] = static_cast<std::uint8_t>(pos[slot] | (i << (2 * (j % 4))));
              ++slot;
            }
          }
        }
      }
    }
  } else {
    auto* start = reinterpret_cast<std::int64_t*>(out + s.index_offset);
    auto* block_k = reinterpret_cast<std::uint32_t*>(out + s.block_k_offset);
    auto* values = reinterpret_cast<std::int8_t*>(out + s.values_offset);
    std::int64_t b = 0;
    for (std::int64_t p = 0; p < panels; ++p) {
      start[p] = b;
      for (std::int64_t g = 0; g < groups; ++g) {
        std::int8_t block[32 * 4];
        bool any = false;
        for (std::int64_t c = 0; c < nb; ++c) {
          for (std::int64_t i = 0; i < 4; ++i) {
            block[c * 4 + i] = w(g * 4 + i, p * nb + c);
            any = any || block[c * 4 + i] != 0;
          }
        }
        if (any) {
          std::memcpy(values + b * nb * 4, block, static_cast<std::size_t>(nb * 4));
          block_k[b] = static_cast<std::uint32_t>(g * 4);
          ++b;
        }
      }
    }
    start[panels] = b;
  }
  return packed_sparse_weights_view::from_bytes(buffer, buffer_bytes);
}

/// Packed sparse weights that own their (64-byte aligned) buffer.
class packed_sparse_weights : public packed_storage<packed_sparse_weights_view> {
 public:
  packed_sparse_weights() = default;

  template <class T, class Layout, class Accessor>
  packed_sparse_weights(const tensor_view<T, 2, Layout, Accessor>& weights, std::int32_t weight_zero_point,
                        sparse_format format)
      : packed_storage(checked_size(weights, weight_zero_point, format), [&](void* buffer, std::size_t bytes) {
          return pack_sparse_weights(weights, weight_zero_point, format, buffer, bytes);
        }) {}

 private:
  template <class T, class Layout, class Accessor>
  static std::size_t checked_size(const tensor_view<T, 2, Layout, Accessor>& weights, std::int32_t weight_zero_point,
                                  sparse_format format) {
    detail::check_sparse_weights("qsparse::pack_sparse_weights", weights, weight_zero_point, format);
    return packed_sparse_weights_size(weights, format);
  }
};

/// Packs masked K×N int8 weights in `format` into an owning buffer (weight_zero_point must be 0).
template <class T, class Layout, class Accessor>
packed_sparse_weights pack_sparse_weights(const tensor_view<T, 2, Layout, Accessor>& weights, sparse_format format,
                                          std::int32_t weight_zero_point = 0) {
  return packed_sparse_weights(weights, weight_zero_point, format);
}

}  // namespace qsparse
