// qsparse/sparsity/packed_2_4.hpp — packed 2:4 weights: per 4 consecutive k of an output, 2 values and
// their two 2-bit positions.
//
// Input: weights with at most 2 stored elements in every group of 4 consecutive k of each output (what
// n_of_m<2, 4> along K produces: Axis 0 of K×N weights, Axis -1 of N×K weights). K need not be a
// multiple of 4: the last group is padded with zeros (n_of_m's padding rule).
//
// Layout (K input features, N outputs, G = ceil(K / 4) groups per output, row_bytes = ceil(G / 2)):
//   values   T[N · G · 2]         group g of output n at [(n · G + g) · 2 + slot], slot 0 then 1
//   indices  uint8[N · row_bytes] group g's 4 bits in byte [n · row_bytes + g / 2], low nibble for even g,
//                                 high nibble for odd g: bits 0-1 = position of slot 0, bits 2-3 =
//                                 position of slot 1 (k = 4g + position), position 0 < position 1; the
//                                 unused high nibble of an odd G is 0
// A group with fewer than 2 stored elements fills its slots with the lowest unused positions and the
// value 0; a position past K (only in a last group of one element) holds 0.
// size_bytes() = N · G · (2 · sizeof(T)) + N · ceil(G / 2): for int8, 2.5 bytes per 4 weights (62.5 %
// of dense), for float 8.5 bytes per 16 (53 %). The metadata is NVIDIA's 2:4 layout in spirit (2-bit
// positions, 4 bits per group) but qsparse's own byte order, documented here.
// Example: K = 8, N = 1, w(k) = {0, 3, 0, -1, 0, 0, 0, 7}: values {3, -1, 0, 7}, indices {0xCD}
//   (group 0 keeps positions 1, 3 -> nibble 0b1101; group 1 stores only position 3 and fills slot 0 with
//   the lowest unused position 0 -> nibble 0b1100, in the high half of the byte).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/format_common.hpp"

namespace qsparse {

template <class T>
class packed_2_4;

/// A read-only packed 2:4 view over caller memory (see the layout above).
template <class T>
class packed_2_4_view {
  static_assert(is_sparse_value_v<T>, "qsparse::packed_2_4_view: T must be int8_t, uint8_t, int16_t, int32_t or float.");

 public:
  using value_type = T;

  packed_2_4_view() = default;

  /// Groups per output: ceil(k / 4).
  static index_t groups(index_t k) noexcept { return (k + 3) / 4; }
  /// Index bytes per output: ceil(groups / 2).
  static index_t row_bytes(index_t k) noexcept { return (groups(k) + 1) / 2; }

  /// Wraps arrays after checking them (sizes, position 0 < position 1, zero unused nibbles, zero values
  /// past K); throws qsparse::error naming the first violation.
  static packed_2_4_view from_arrays(index_t k, index_t n, const T* values, std::size_t values_count,
                                     const std::uint8_t* indices, std::size_t indices_count) {
    constexpr const char* fn = "packed_2_4_view::from_arrays";
    detail::check_dims(fn, k, n);
    const index_t g_count = groups(k), rb = row_bytes(k);
    detail::check_array(fn, "values", values, values_count, static_cast<std::size_t>(n * g_count * 2));
    detail::check_array(fn, "indices", indices, indices_count, static_cast<std::size_t>(n * rb));
    for (index_t j = 0; j < n; ++j) {
      if (g_count % 2 == 1) {
        detail::check((indices[j * rb + rb - 1] >> 4) == 0, "qsparse::packed_2_4_view::from_arrays: output ", j,
                      " has a non-zero unused high nibble in indices[", j * rb + rb - 1, "]");
      }
      for (index_t g = 0; g < g_count; ++g) {
        const unsigned nibble = nibble_of(indices, rb, j, g);
        const unsigned p0 = nibble & 3u, p1 = (nibble >> 2) & 3u;
        detail::check(p0 < p1, "qsparse::packed_2_4_view::from_arrays: output ", j, ", group ", g,
                      ": positions must increase, got ", p0, " and ", p1);
        for (int s = 0; s < 2; ++s) {
          const index_t kk = 4 * g + (s == 0 ? p0 : p1);
          detail::check(kk < k || !detail::is_stored(values[(j * g_count + g) * 2 + s]),
                        "qsparse::packed_2_4_view::from_arrays: output ", j, ", group ", g, " stores a non-zero at k = ",
                        kk, ", past k = ", k);
        }
      }
    }
    return packed_2_4_view(k, n, values, indices);
  }

  index_t k() const noexcept { return k_; }
  index_t n() const noexcept { return n_; }
  const T* values() const noexcept { return values_; }
  const std::uint8_t* indices() const noexcept { return indices_; }

  std::size_t size_bytes() const noexcept {
    return static_cast<std::size_t>(n_ * groups(k_) * 2) * sizeof(T) + static_cast<std::size_t>(n_ * row_bytes(k_));
  }
  std::size_t dense_bytes() const noexcept { return static_cast<std::size_t>(k_ * n_) * sizeof(T); }

  std::array<array_ref, 2> arrays() const noexcept {
    return {array_ref{"values", array_type_of<T>(), values_, static_cast<std::size_t>(n_ * groups(k_) * 2)},
            array_ref{"indices", array_type::u8, indices_, static_cast<std::size_t>(n_ * row_bytes(k_))}};
  }

  /// The 4 index bits of group g of output j.
  static unsigned nibble_of(const std::uint8_t* indices, index_t row_bytes, index_t j, index_t g) noexcept {
    return (indices[j * row_bytes + g / 2] >> (g % 2 == 0 ? 0 : 4)) & 0xFu;
  }

  /// Writes the dense K×N matrix (every element) into `out`.
  void to_kn(const dense_out_view<T>& out) const {
    detail::check_out_shape("packed_2_4_view::to_kn", out, k_, n_, "[k, n]");
    const index_t g_count = groups(k_), rb = row_bytes(k_);
    for (index_t j = 0; j < n_; ++j) {
      for (index_t kk = 0; kk < k_; ++kk) out(kk, j) = T(0);
      for (index_t g = 0; g < g_count; ++g) {
        const unsigned nibble = nibble_of(indices_, rb, j, g);
        const index_t k0 = 4 * g + (nibble & 3u), k1 = 4 * g + ((nibble >> 2) & 3u);
        if (k0 < k_) out(k0, j) = values_[(j * g_count + g) * 2];
        if (k1 < k_) out(k1, j) = values_[(j * g_count + g) * 2 + 1];
      }
    }
  }
  /// Writes the dense N×K matrix into `out`.
  void to_nk(const dense_out_view<T>& out) const {
    detail::check_out_shape("packed_2_4_view::to_nk", out, n_, k_, "[n, k]");
    to_kn(detail::transpose_out(out));
  }

 private:
  friend class packed_2_4<T>;
  packed_2_4_view(index_t k, index_t n, const T* values, const std::uint8_t* indices)
      : k_(k), n_(n), values_(values), indices_(indices) {}

  index_t k_ = 0;
  index_t n_ = 0;
  const T* values_ = nullptr;
  const std::uint8_t* indices_ = nullptr;
};

/// Owning packed 2:4 weights (see the layout above).
template <class T>
class packed_2_4 {
  static_assert(is_sparse_value_v<T>, "qsparse::packed_2_4: T must be int8_t, uint8_t, int16_t, int32_t or float.");

 public:
  using view_type = packed_2_4_view<T>;

  packed_2_4() = default;

  /// Packs a K×N matrix (any layout). Throws qsparse::error naming the output and the k range of the
  /// first group of 4 holding more than 2 stored elements.
  static packed_2_4 from_kn(const kn_view<T>& w) {
    const index_t k = w.extent(0), n = w.extent(1);
    const index_t g_count = view_type::groups(k), rb = view_type::row_bytes(k);
    packed_2_4 p;
    p.k_ = k;
    p.n_ = n;
    p.values_.assign(static_cast<std::size_t>(n * g_count * 2), T(0));
    p.indices_.assign(static_cast<std::size_t>(n * rb), 0);
    for (index_t j = 0; j < n; ++j) {
      for (index_t g = 0; g < g_count; ++g) {
        int positions[4];
        int count = 0;
        for (int q = 0; q < 4 && 4 * g + q < k; ++q) {
          if (detail::is_stored(w(4 * g + q, j))) {
            detail::check(count < 2, "qsparse::packed_2_4::from_kn: output n = ", j, " holds more than 2 non-zeros in k = ",
                          4 * g, "..", 4 * g + 3, "; 2:4 allows at most 2 in every 4 consecutive k (prune with ",
                          "n_of_m<2, 4> along K first)");
            positions[count++] = q;
          }
        }
        // Fill to two slots with the lowest unused positions, keeping them in increasing order.
        for (int q = 0; q < 4 && count < 2; ++q) {
          bool used = false;
          for (int s = 0; s < count; ++s) used = used || positions[s] == q;
          if (!used) positions[count++] = q;
        }
        if (positions[0] > positions[1]) std::swap(positions[0], positions[1]);
        for (int s = 0; s < 2; ++s) {
          const index_t kk = 4 * g + positions[s];
          p.values_[static_cast<std::size_t>((j * g_count + g) * 2 + s)] = kk < k ? w(kk, j) : T(0);
        }
        const auto nibble = static_cast<unsigned>(positions[0] | (positions[1] << 2));
        p.indices_[static_cast<std::size_t>(j * rb + g / 2)] |= static_cast<std::uint8_t>(nibble << (g % 2 == 0 ? 0 : 4));
      }
    }
    return p;
  }
  /// Packs an N×K matrix (TFLite/PyTorch [out][in]).
  static packed_2_4 from_nk(const kn_view<T>& w_nk) { return from_kn(detail::transpose(w_nk)); }

  /// A copy of a (validated) view's arrays.
  explicit packed_2_4(const view_type& v)
      : k_(v.k()),
        n_(v.n()),
        values_(v.values(), v.values() + v.n() * view_type::groups(v.k()) * 2),
        indices_(v.indices(), v.indices() + v.n() * view_type::row_bytes(v.k())) {}

  view_type view() const noexcept { return view_type(k_, n_, values_.data(), indices_.data()); }

  index_t k() const noexcept { return k_; }
  index_t n() const noexcept { return n_; }
  std::size_t size_bytes() const noexcept { return view().size_bytes(); }
  std::size_t dense_bytes() const noexcept { return view().dense_bytes(); }
  void to_kn(const dense_out_view<T>& out) const { view().to_kn(out); }
  void to_nk(const dense_out_view<T>& out) const { view().to_nk(out); }

 private:
  index_t k_ = 0;
  index_t n_ = 0;
  std::vector<T> values_;
  std::vector<std::uint8_t> indices_;
};

}  // namespace qsparse
