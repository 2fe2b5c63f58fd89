// qsparse/cluster/packed_clusters.hpp — clustered weights stored as b-bit indices (2..8) plus a codebook.
//
//   auto packed = qsparse::packed_clusters::pack(clusters, /*bits*/ 4);   // from weight_clusters
//   for (const qsparse::array_ref& a : packed.arrays()) ...                 // three arrays for an io layer
//   auto back = qsparse::packed_clusters::from_arrays(layout, n0, codebook, n1, indices, n2);  // validates
//   back.unpack(dense_view);                                                // float weights, any layout
//
// Arrays (all little-endian as in memory on the targets qsparse supports):
//   layout    i32[4 + rank]        bits, clusters, channel axis (-1: per tensor), rank, extents...
//   codebook  f32[channels·clusters]   row c = channel c's centroids (channels = 1 per tensor)
//   indices   u8[ceil(size·bits / 8)]  one bits-wide index per weight in row-major order, as one LSB-first
//                                      bit stream: index f occupies stream bits [f·bits, f·bits + bits),
//                                      stream bit s is bit s % 8 of byte s / 8 (4 bits: the low nibble
//                                      first); the unused high bits of the last byte are 0
// The channel of weight f is (f / inner) % channels, inner = the product of the extents after the axis.
// This is a storage format, independent of any kernel: a clustered GEMM packs its own layout from it.
//
// from_arrays checks everything and raises qsparse::error naming the argument and value: the layout's
// length, rank in [1, 8], bits in [2, 8], clusters in [1, 2^bits], the axis, extents in [0, 2^31) and a
// size that fits, the codebook's length and finite entries, the indices' length (a truncated array is
// refused), every index below `clusters`, and zero padding bits. A buffer it accepts is exactly what
// pack() writes for the same centroids and indices.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qsparse/cluster/weight_clusters.hpp"
#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/format_common.hpp"
#include "qsparse/sparsity/traversal.hpp"

namespace qsparse {

class packed_clusters {
 public:
  static constexpr int min_bits = 2;
  static constexpr int max_bits = 8;
  static constexpr std::int32_t max_rank = 8;

  packed_clusters() = default;

  /// Packs the current centroids and indices of `c` with `bits`-wide indices.
  static packed_clusters pack(const weight_clusters& c, int bits) {
    constexpr const char* who = "qsparse::packed_clusters::pack";
    detail::check(bits >= min_bits && bits <= max_bits, who, ": bits must be in [2, 8], got bits = ", bits);
    detail::check(c.clusters() <= (1 << bits), who, ": bits = ", bits, " indexes at most ", 1 << bits,
                  " clusters, got clusters = ", c.clusters());
    packed_clusters p;
    p.layout_ = {bits, c.clusters(), c.channel_axis(), static_cast<std::int32_t>(c.shape().size())};
    for (index_t e : c.shape()) p.layout_.push_back(static_cast<std::int32_t>(e));
    p.init_geometry();
    const auto cent = c.centroids();
    p.codebook_.assign(cent.data_handle(), cent.data_handle() + cent.size());
    p.indices_.assign(static_cast<std::size_t>(p.index_bytes()), 0);
    for (index_t f = 0; f < p.size_; ++f) p.put(f, static_cast<unsigned>(c.indices()[static_cast<std::size_t>(f)]));
    return p;
  }

  /// Validates arrays read back (from a file, a memory map) and copies them.
  static packed_clusters from_arrays(const std::int32_t* layout, std::size_t layout_count, const float* codebook,
                                     std::size_t codebook_count, const std::uint8_t* indices, std::size_t index_count) {
    constexpr const char* who = "qsparse::packed_clusters::from_arrays";
    detail::check(layout != nullptr && layout_count >= 4, who, ": layout must hold at least 4 int32 (bits, clusters, ",
                  "axis, rank), got ", layout_count);
    const std::int32_t bits = layout[0], clusters = layout[1], axis = layout[2], rank = layout[3];
    detail::check(rank >= 1 && rank <= max_rank, who, ": rank must be in [1, 8], got rank = ", rank);
    detail::check(layout_count == static_cast<std::size_t>(4 + rank), who, ": layout must hold 4 + rank = ", 4 + rank,
                  " int32, got ", layout_count);
    detail::check(bits >= min_bits && bits <= max_bits, who, ": bits must be in [2, 8], got bits = ", bits);
    detail::check(clusters >= 1 && clusters <= (1 << bits), who, ": clusters must be in [1, ", 1 << bits,
                  "] for bits = ", bits, ", got clusters = ", clusters);
    detail::check(axis >= -1 && axis < rank, who, ": axis must be -1 (per tensor) or in [0, ", rank, "), got axis = ",
                  axis);
    for (std::int32_t r = 0; r < rank; ++r)
      detail::check(layout[4 + r] >= 0, who, ": extent ", r, " must be >= 0, got ", layout[4 + r]);
    packed_clusters p;
    p.layout_.assign(layout, layout + layout_count);
    p.init_geometry();
    const index_t expected_codebook = p.channels_ * clusters;
    detail::check_array("packed_clusters::from_arrays", "codebook", codebook, codebook_count, static_cast<std::size_t>(expected_codebook));
    for (std::size_t i = 0; i < codebook_count; ++i)
      detail::check(std::isfinite(codebook[i]), who, ": codebook entry ", i, " (channel ",
                    i / static_cast<std::size_t>(clusters), ", cluster ", i % static_cast<std::size_t>(clusters),
                    ") must be finite, got ", codebook[i]);
    detail::check_array("packed_clusters::from_arrays", "indices", indices, index_count, static_cast<std::size_t>(p.index_bytes()));
    p.codebook_.assign(codebook, codebook + codebook_count);
    p.indices_.assign(indices, indices + index_count);
    for (index_t f = 0; f < p.size_; ++f) {
      const std::int32_t j = p.index(f);
      detail::check(j < clusters, who, ": index of weight ", f, " is ", j, ", outside the codebook's ", clusters,
                    " clusters");
    }
    const std::int64_t used_bits = p.size_ * bits;
    if (used_bits % 8 != 0) {
      const unsigned padding = static_cast<unsigned>(p.indices_.back()) >> (used_bits % 8);
      detail::check(padding == 0, who, ": the ", 8 - used_bits % 8, " padding bits of the last index byte must be 0, ",
                    "got ", padding);
    }
    return p;
  }

  // ---- observers -------------------------------------------------------------------------------
  int bits() const noexcept { return layout_.empty() ? 0 : layout_[0]; }
  int clusters() const noexcept { return layout_.empty() ? 0 : layout_[1]; }
  int channel_axis() const noexcept { return layout_.empty() ? -1 : layout_[2]; }
  index_t channels() const noexcept { return channels_; }
  index_t size() const noexcept { return size_; }
  std::vector<index_t> shape() const {
    std::vector<index_t> s;
    for (std::size_t r = 4; r < layout_.size(); ++r) s.push_back(layout_[r]);
    return s;
  }
  const std::vector<float>& codebook() const noexcept { return codebook_; }
  const std::vector<std::uint8_t>& index_bytes_data() const noexcept { return indices_; }
  index_t channel_of(index_t flat) const noexcept { return channel_axis() < 0 ? 0 : (flat / inner_) % channels_; }

  /// The codebook index of the weight at row-major position f.
  std::int32_t index(index_t f) const noexcept {
    const int b = bits();
    const std::int64_t bit = f * b;
    const auto byte = static_cast<std::size_t>(bit / 8);
    unsigned v = indices_[byte];
    if (byte + 1 < indices_.size()) v |= static_cast<unsigned>(indices_[byte + 1]) << 8;
    return static_cast<std::int32_t>((v >> (bit % 8)) & ((1u << b) - 1u));
  }
  /// The weight at row-major position f: its channel's codebook entry.
  float value(index_t f) const noexcept {
    return codebook_[static_cast<std::size_t>(channel_of(f) * clusters() + index(f))];
  }

  /// Writes the dense float weights into `out` (extents = shape(), any layout).
  template <class O>
  void unpack(const O& out) const {
    constexpr const char* who = "qsparse::packed_clusters::unpack";
    bool same = O::rank() == layout_.size() - 4;
    for (std::size_t r = 0; same && r < O::rank(); ++r) same = out.extent(r) == layout_[4 + r];
    if (!same) detail::raise(detail::concat(who, ": out has extents ", to_string(out.extents()), ", the weights are ",
                                            shape_string()));
    detail::for_each_index(out.extents(), [&, f = index_t{0}](const auto& i) mutable { out[i] = value(f++); });
  }

  /// The three arrays, in order: layout (i32), codebook (f32), indices (u8).
  std::array<array_ref, 3> arrays() const noexcept {
    return {array_ref{"layout", array_type::i32, layout_.data(), layout_.size()},
            array_ref{"codebook", array_type::f32, codebook_.data(), codebook_.size()},
            array_ref{"indices", array_type::u8, indices_.data(), indices_.size()}};
  }
  /// The bytes of the codebook and the indices (the layout's few integers not counted).
  std::size_t size_bytes() const noexcept { return codebook_.size() * sizeof(float) + indices_.size(); }

 private:
  void init_geometry() {
    constexpr const char* who = "qsparse::packed_clusters";
    const std::size_t rank = layout_.size() - 4;
    std::int64_t size = 1;
    for (std::size_t r = 0; r < rank; ++r) size = detail::checked_mul(who, "the number of weights", size, layout_[4 + r]);
    detail::checked_allocation(who, "the indices", size, max_bits);
    size_ = detail::checked_index(who, "the number of weights", size);
    const int axis = layout_[2];
    channels_ = axis < 0 ? 1 : layout_[4 + static_cast<std::size_t>(axis)];
    inner_ = 1;
    if (axis >= 0)
      for (std::size_t r = static_cast<std::size_t>(axis) + 1; r < rank; ++r) inner_ *= layout_[4 + r];
    if (inner_ == 0) inner_ = 1;  // size 0: channel_of is never called
  }
  index_t index_bytes() const noexcept { return (size_ * bits() + 7) / 8; }
  void put(index_t f, unsigned j) {
    const std::int64_t bit = f * bits();
    const auto byte = static_cast<std::size_t>(bit / 8);
    const unsigned v = j << (bit % 8);
    indices_[byte] = static_cast<std::uint8_t>(indices_[byte] | (v & 0xFFu));
    if ((v >> 8) != 0) indices_[byte + 1] = static_cast<std::uint8_t>(indices_[byte + 1] | (v >> 8));
  }
  std::string shape_string() const {
    std::string s = "[";
    for (std::size_t r = 4; r < layout_.size(); ++r) s += (r == 4 ? "" : ", ") + std::to_string(layout_[r]);
    return s + "]";
  }

  std::vector<std::int32_t> layout_;
  std::vector<float> codebook_;
  std::vector<std::uint8_t> indices_;
  index_t size_ = 0;
  index_t channels_ = 0;
  index_t inner_ = 1;
};

}  // namespace qsparse
