// qsparse/sparsity/bitmask_values.hpp — a bitmask of the stored elements plus the stored values.
//
// Layout (K input features, N outputs, nnz stored elements; orientation and "stored" in format_common.hpp):
//   bitmask  uint8[N * row_bytes], row_bytes = ceil(K / 8)
//            bit (k % 8) (least significant first) of byte [n * row_bytes + k / 8] is 1 when w(k, n) is
//            stored; the bits past K in a row's last byte are 0
//   values   T[nnz]   the stored weights, output by output, k ascending
// size_bytes() = N * ceil(K / 8) + nnz * sizeof(T): one bit per weight plus the values, no indices —
// the smallest of the formats from moderate sparsity on (for int8: below CSR's 2-3 bytes per non-zero
// as soon as more than ~1/16 of the weights survive). Sequential: an output's values start after the
// popcount of all previous rows.
// Example: K = 10, N = 1, stored at k = 0, 3, 9: row_bytes 2, bitmask {0b00001001, 0b00000010}.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/format_common.hpp"

namespace qsparse {

template <class T>
class bitmask_values;

/// A read-only bitmask + values view over caller memory (see the layout above).
template <class T>
class bitmask_values_view {
  static_assert(is_sparse_value_v<T>, "qsparse::bitmask_values_view: T must be int8_t, uint8_t, int16_t, int32_t or float.");

 public:
  using value_type = T;

  bitmask_values_view() = default;

  /// Bytes per output row of the bitmask: ceil(k / 8).
  static index_t row_bytes(index_t k) noexcept { return (k + 7) / 8; }

  /// Wraps arrays after checking them (bitmask size, zero padding bits, one value per set bit);
  /// throws qsparse::error naming the first violation.
  static bitmask_values_view from_arrays(index_t k, index_t n, const std::uint8_t* bitmask, std::size_t bitmask_count,
                                         const T* values, std::size_t values_count) {
    constexpr const char* fn = "bitmask_values_view::from_arrays";
    detail::check_dims(fn, k, n);
    const index_t rb = row_bytes(k);
    detail::check_array(fn, "bitmask", bitmask, bitmask_count, static_cast<std::size_t>(n * rb));
    std::size_t set = 0;
    const auto last_bits = static_cast<unsigned>(k % 8);
    for (index_t j = 0; j < n; ++j) {
      for (index_t b = 0; b < rb; ++b) {
        const std::uint8_t byte = bitmask[j * rb + b];
        if (b == rb - 1 && last_bits != 0) {
          detail::check((byte >> last_bits) == 0, "qsparse::bitmask_values_view::from_arrays: output ", j,
                        " has bits set past k = ", k, " (bitmask byte ", j * rb + b, " = ", static_cast<int>(byte), ")");
        }
        for (std::uint8_t x = byte; x != 0; x = static_cast<std::uint8_t>(x & (x - 1))) ++set;
      }
    }
    detail::check_array(fn, "values", values, values_count, set);
    return bitmask_values_view(k, n, bitmask, values, static_cast<index_t>(set));
  }

  index_t k() const noexcept { return k_; }
  index_t n() const noexcept { return n_; }
  index_t nnz() const noexcept { return nnz_; }
  const std::uint8_t* bitmask() const noexcept { return bitmask_; }
  const T* values() const noexcept { return values_; }

  std::size_t size_bytes() const noexcept {
    return static_cast<std::size_t>(n_ * row_bytes(k_)) + static_cast<std::size_t>(nnz_) * sizeof(T);
  }
  std::size_t dense_bytes() const noexcept { return static_cast<std::size_t>(k_ * n_) * sizeof(T); }

  std::array<array_ref, 2> arrays() const noexcept {
    return {array_ref{"bitmask", array_type::u8, bitmask_, static_cast<std::size_t>(n_ * row_bytes(k_))},
            array_ref{"values", array_type_of<T>(), values_, static_cast<std::size_t>(nnz_)}};
  }

  /// Writes the dense K×N matrix (every element) into `out`.
  void to_kn(const dense_out_view<T>& out) const {
    detail::check_out_shape("bitmask_values_view::to_kn", out, k_, n_, "[k, n]");
    const index_t rb = row_bytes(k_);
    const T* v = values_;
    for (index_t j = 0; j < n_; ++j) {
      for (index_t kk = 0; kk < k_; ++kk) {
        const bool stored = (bitmask_[j * rb + kk / 8] >> (kk % 8)) & 1u;
        out(kk, j) = stored ? *v++ : T(0);
      }
    }
  }
  /// Writes the dense N×K matrix into `out`.
  void to_nk(const dense_out_view<T>& out) const {
    detail::check_out_shape("bitmask_values_view::to_nk", out, n_, k_, "[n, k]");
    to_kn(detail::transpose_out(out));
  }

 private:
  friend class bitmask_values<T>;
  bitmask_values_view(index_t k, index_t n, const std::uint8_t* bitmask, const T* values, index_t nnz)
      : k_(k), n_(n), nnz_(nnz), bitmask_(bitmask), values_(values) {}

  index_t k_ = 0;
  index_t n_ = 0;
  index_t nnz_ = 0;
  const std::uint8_t* bitmask_ = nullptr;
  const T* values_ = nullptr;
};

/// Owning bitmask + values weights (see the layout above).
template <class T>
class bitmask_values {
  static_assert(is_sparse_value_v<T>, "qsparse::bitmask_values: T must be int8_t, uint8_t, int16_t, int32_t or float.");

 public:
  using view_type = bitmask_values_view<T>;

  bitmask_values() = default;

  /// Compresses a K×N matrix (any layout).
  static bitmask_values from_kn(const kn_view<T>& w) {
    const index_t k = w.extent(0), n = w.extent(1);
    const index_t rb = view_type::row_bytes(k);
    bitmask_values b;
    b.k_ = k;
    b.n_ = n;
    b.bitmask_.assign(static_cast<std::size_t>(n * rb), 0);
    for (index_t j = 0; j < n; ++j) {
      for (index_t kk = 0; kk < k; ++kk) {
        const T v = w(kk, j);
        if (!detail::is_stored(v)) continue;
        b.bitmask_[static_cast<std::size_t>(j * rb + kk / 8)] |= static_cast<std::uint8_t>(1u << (kk % 8));
        b.values_.push_back(v);
      }
    }
    return b;
  }
  /// Compresses an N×K matrix (TFLite/PyTorch [out][in]).
  static bitmask_values from_nk(const kn_view<T>& w_nk) { return from_kn(detail::transpose(w_nk)); }

  /// A copy of a (validated) view's arrays.
  explicit bitmask_values(const view_type& v)
      : k_(v.k()),
        n_(v.n()),
        bitmask_(v.bitmask(), v.bitmask() + v.n() * view_type::row_bytes(v.k())),
        values_(v.values(), v.values() + v.nnz()) {}

  view_type view() const noexcept {
    return view_type(k_, n_, bitmask_.data(), values_.data(), static_cast<index_t>(values_.size()));
  }

  index_t k() const noexcept { return k_; }
  index_t n() const noexcept { return n_; }
  index_t nnz() const noexcept { return static_cast<index_t>(values_.size()); }
  std::size_t size_bytes() const noexcept { return view().size_bytes(); }
  std::size_t dense_bytes() const noexcept { return view().dense_bytes(); }
  void to_kn(const dense_out_view<T>& out) const { view().to_kn(out); }
  void to_nk(const dense_out_view<T>& out) const { view().to_nk(out); }

 private:
  index_t k_ = 0;
  index_t n_ = 0;
  std::vector<std::uint8_t> bitmask_;
  std::vector<T> values_;
};

}  // namespace qsparse
