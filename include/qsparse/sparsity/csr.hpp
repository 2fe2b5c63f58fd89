// qsparse/sparsity/csr.hpp — compressed sparse rows of the N×K weights: per output, (k, value) pairs.
//
// Layout (K input features, N outputs, nnz stored elements; orientation and "stored" in format_common.hpp):
//   offsets  int32[N + 1]   output n's entries are [offsets[n], offsets[n + 1]); offsets[0] = 0, offsets[N] = nnz
//   indices  Index[nnz]     k of each entry, strictly increasing within an output
//   values   T[nnz]         the weights, in the same order
// size_bytes() = 4 (N + 1) + nnz (sizeof(Index) + sizeof(T)). It is CSR of the N×K (TFLite "OI") matrix,
// i.e. CSC of the GEMM's K×N matrix: "rows" are outputs, column indices are along K.
// Example: K = 4, N = 2, w(k, n) non-zero at (1, 0) = 5 and (0, 1) = 7, (3, 1) = -2:
//   offsets {0, 1, 3}, indices {1, 0, 3}, values {5, 7, -2}.
//
//   auto c = qsparse::csr<std::int8_t>::from_kn(w_kn);          // owning
//   c.view().to_kn(dense_kn);                                     // lossless
//   auto v = qsparse::csr_view<std::int8_t>::from_arrays(k, n, offsets, n + 1, indices, nnz, values, nnz);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/format_common.hpp"

namespace qsparse {

template <class T, class Index = std::int32_t>
class csr_view;
template <class T, class Index = std::int32_t>
class csr;

/// A read-only CSR view over caller memory (see the layout above).
template <class T, class Index>
class csr_view {
  static_assert(is_sparse_value_v<T>, "qsparse::csr_view: T must be int8_t, uint8_t, int16_t, int32_t or float.");
  static_assert(is_sparse_index_v<Index>, "qsparse::csr_view: Index must be std::uint16_t or std::int32_t.");

 public:
  using value_type = T;
  using index_type = Index;

  csr_view() = default;

  /// Wraps arrays after checking every invariant (sizes, offsets monotone from 0 to nnz, indices
  /// strictly increasing and < k); throws qsparse::error naming the first violation.
  static csr_view from_arrays(index_t k, index_t n, const std::int32_t* offsets, std::size_t offsets_count,
                              const Index* indices, std::size_t indices_count, const T* values,
                              std::size_t values_count) {
    constexpr const char* fn = "csr_view::from_arrays";
    detail::check_dims(fn, k, n);
    detail::check_array(fn, "offsets", offsets, offsets_count, static_cast<std::size_t>(n + 1));
    detail::check(offsets[0] == 0, "qsparse::csr_view::from_arrays: offsets[0] must be 0, got ", offsets[0]);
    for (index_t j = 0; j < n; ++j) {
      detail::check(offsets[j + 1] >= offsets[j], "qsparse::csr_view::from_arrays: offsets must not decrease, got offsets[",
                    j, "] = ", offsets[j], ", offsets[", j + 1, "] = ", offsets[j + 1]);
    }
    const auto nnz = static_cast<std::size_t>(offsets[n]);
    detail::check_array(fn, "indices", indices, indices_count, nnz);
    detail::check_array(fn, "values", values, values_count, nnz);
    for (index_t j = 0; j < n; ++j) {
      for (std::int32_t e = offsets[j]; e < offsets[j + 1]; ++e) {
        const auto kk = static_cast<index_t>(indices[e]);
        detail::check(kk >= 0 && kk < k, "qsparse::csr_view::from_arrays: indices[", e, "] = ", kk,
                      " is out of range [0, k = ", k, ")");
        if (e == offsets[j]) continue;
        const auto previous = static_cast<index_t>(indices[e - 1]);
        detail::check(kk > previous, "qsparse::csr_view::from_arrays: indices of output ", j,
                      " must increase, got indices[", e - 1, "] = ", previous, ", indices[", e, "] = ", kk);
      }
    }
    return csr_view(k, n, offsets, indices, values);
  }

  index_t k() const noexcept { return k_; }
  index_t n() const noexcept { return n_; }
  /// Stored elements.
  index_t nnz() const noexcept { return offsets_[n_]; }
  const std::int32_t* offsets() const noexcept { return offsets_; }
  const Index* indices() const noexcept { return indices_; }
  const T* values() const noexcept { return values_; }

  std::size_t size_bytes() const noexcept {
    return static_cast<std::size_t>(n_ + 1) * sizeof(std::int32_t) +
           static_cast<std::size_t>(nnz()) * (sizeof(Index) + sizeof(T));
  }
  std::size_t dense_bytes() const noexcept { return static_cast<std::size_t>(k_ * n_) * sizeof(T); }

  std::array<array_ref, 3> arrays() const noexcept {
    return {array_ref{"offsets", array_type::i32, offsets_, static_cast<std::size_t>(n_ + 1)},
            array_ref{"indices", array_type_of<Index>(), indices_, static_cast<std::size_t>(nnz())},
            array_ref{"values", array_type_of<T>(), values_, static_cast<std::size_t>(nnz())}};
  }

  /// Writes the dense K×N matrix (every element, zeros included) into `out`.
  void to_kn(const dense_out_view<T>& out) const {
    detail::check_out_shape("csr_view::to_kn", out, k_, n_, "[k, n]");
    for (index_t j = 0; j < n_; ++j) {
      for (index_t kk = 0; kk < k_; ++kk) out(kk, j) = T(0);
      for (std::int32_t e = offsets_[j]; e < offsets_[j + 1]; ++e) out(static_cast<index_t>(indices_[e]), j) = values_[e];
    }
  }
  /// Writes the dense N×K matrix into `out`.
  void to_nk(const dense_out_view<T>& out) const {
    detail::check_out_shape("csr_view::to_nk", out, n_, k_, "[n, k]");
    to_kn(detail::transpose_out(out));
  }

 private:
  template <class, class>
  friend class csr;
  csr_view(index_t k, index_t n, const std::int32_t* offsets, const Index* indices, const T* values)
      : k_(k), n_(n), offsets_(offsets), indices_(indices), values_(values) {}

  index_t k_ = 0;
  index_t n_ = 0;
  const std::int32_t* offsets_ = detail::empty_offsets;
  const Index* indices_ = nullptr;
  const T* values_ = nullptr;
};

/// Owning CSR weights (see the layout above).
template <class T, class Index>
class csr {
  static_assert(is_sparse_value_v<T>, "qsparse::csr: T must be int8_t, uint8_t, int16_t, int32_t or float.");
  static_assert(is_sparse_index_v<Index>, "qsparse::csr: Index must be std::uint16_t or std::int32_t.");

 public:
  using view_type = csr_view<T, Index>;

  csr() : offsets_(1, 0) {}

  /// Compresses a K×N matrix (any layout). Throws qsparse::error when k does not fit Index or nnz
  /// does not fit int32.
  static csr from_kn(const kn_view<T>& w) {
    const index_t k = w.extent(0), n = w.extent(1);
    if (k > 0) detail::check_index_range<Index>("csr::from_kn", "k - 1", k - 1);
    csr c;
    c.k_ = k;
    c.n_ = n;
    c.offsets_.assign(static_cast<std::size_t>(n + 1), 0);
    index_t nnz = 0;
    for (index_t j = 0; j < n; ++j) {
      for (index_t kk = 0; kk < k; ++kk) {
        const T v = w(kk, j);
        if (!detail::is_stored(v)) continue;
        c.indices_.push_back(static_cast<Index>(kk));
        c.values_.push_back(v);
        ++nnz;
      }
      detail::check_count_range("csr::from_kn", "nnz", nnz);
      c.offsets_[static_cast<std::size_t>(j + 1)] = static_cast<std::int32_t>(nnz);
    }
    return c;
  }
  /// Compresses an N×K matrix (TFLite/PyTorch [out][in]).
  static csr from_nk(const kn_view<T>& w_nk) { return from_kn(detail::transpose(w_nk)); }

  /// A copy of a (validated) view's arrays.
  explicit csr(const view_type& v)
      : k_(v.k()),
        n_(v.n()),
        offsets_(v.offsets(), v.offsets() + v.n() + 1),
        indices_(v.indices(), v.indices() + v.nnz()),
        values_(v.values(), v.values() + v.nnz()) {}

  view_type view() const noexcept { return view_type(k_, n_, offsets_.data(), indices_.data(), values_.data()); }

  index_t k() const noexcept { return k_; }
  index_t n() const noexcept { return n_; }
  index_t nnz() const noexcept { return view().nnz(); }
  std::size_t size_bytes() const noexcept { return view().size_bytes(); }
  std::size_t dense_bytes() const noexcept { return view().dense_bytes(); }
  void to_kn(const dense_out_view<T>& out) const { view().to_kn(out); }
  void to_nk(const dense_out_view<T>& out) const { view().to_nk(out); }

 private:
  index_t k_ = 0;
  index_t n_ = 0;
  std::vector<std::int32_t> offsets_;
  std::vector<Index> indices_;
  std::vector<T> values_;
};

}  // namespace qsparse
