// qsparse/sparsity/block_csr.hpp — block CSR: the weights cut into block_k × block_n tiles, only
// tiles holding a stored element kept.
//
// Block shape, named by axis so that "along K" cannot be misread:
//   block_k  consecutive input features (the reduction axis) in a tile
//   block_n  consecutive outputs in a tile
//   block_k = 4, block_n = 1   4 k of one output — the width of one vpdpbusd/vpmaddubsw dot product;
//                              TFLite's "1×4" block of its N×K (OI) weights, a 4×1 block of the K×N view
//   block_k = 1, block_n = 4   one k shared by 4 outputs — TFLite's "4×1", a 1×4 block of the K×N view
//   any block_k × block_n      general R×C tiles (R along K, C along N in the K×N view)
// The tiles start at (0, 0); where K or N is not a multiple of the block, the edge tiles are padded
// with zeros (stored as full tiles), so every shape has a block grid.
//
// Layout (K input features, N outputs, KB = ceil(K / block_k), NB = ceil(N / block_n), B stored tiles):
//   offsets  int32[NB + 1]   tile row r (outputs r·block_n ...) holds tiles [offsets[r], offsets[r + 1])
//   indices  Index[B]        the tile column kb (first k = kb·block_k), strictly increasing within a row
//   values   T[B · block_n · block_k]   tile b at b·block_n·block_k; inside it element (k = kb·block_k + i,
//            n = r·block_n + j) at [j · block_k + i] — k fastest, so one output's block_k weights are
//            contiguous; padding elements (past K or N) are 0
// size_bytes() = 4 (NB + 1) + B · (sizeof(Index) + block_n · block_k · sizeof(T)).
// Example: K = 6, N = 2, block_k = 4, block_n = 1, w(k, 0) non-zero only at k = 5: NB = 2, KB = 2;
//   offsets {0, 1, 1}, indices {1}, values {w(4, 0), w(5, 0), 0, 0}.
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
class block_csr_view;
template <class T, class Index = std::int32_t>
class block_csr;

namespace detail {
inline void check_block_shape(const char* function, index_t block_k, index_t block_n) {
  check(block_k >= 1 && block_k <= 1024, "qsparse::", function, ": block_k must be in [1, 1024], got block_k = ", block_k);
  check(block_n >= 1 && block_n <= 1024, "qsparse::", function, ": block_n must be in [1, 1024], got block_n = ", block_n);
}
}  // namespace detail

/// A read-only block-CSR view over caller memory (see the layout above).
template <class T, class Index>
class block_csr_view {
  static_assert(is_sparse_value_v<T>, "qsparse::block_csr_view: T must be int8_t, uint8_t, int16_t, int32_t or float.");
  static_assert(is_sparse_index_v<Index>, "qsparse::block_csr_view: Index must be std::uint16_t or std::int32_t.");

 public:
  using value_type = T;
  using index_type = Index;

  block_csr_view() = default;

  /// Wraps arrays after checking every invariant (block shape, sizes, monotone offsets, increasing tile
  /// columns < KB, zero padding); throws qsparse::error naming the first violation.
  static block_csr_view from_arrays(index_t k, index_t n, index_t block_k, index_t block_n, const std::int32_t* offsets,
                                    std::size_t offsets_count, const Index* indices, std::size_t indices_count,
                                    const T* values, std::size_t values_count) {
    constexpr const char* fn = "block_csr_view::from_arrays";
    detail::check_dims(fn, k, n);
    detail::check_block_shape(fn, block_k, block_n);
    const index_t kb_count = (k + block_k - 1) / block_k, nb_count = (n + block_n - 1) / block_n;
    detail::check_array(fn, "offsets", offsets, offsets_count, static_cast<std::size_t>(nb_count + 1));
    detail::check(offsets[0] == 0, "qsparse::block_csr_view::from_arrays: offsets[0] must be 0, got ", offsets[0]);
    for (index_t r = 0; r < nb_count; ++r) {
      detail::check(offsets[r + 1] >= offsets[r], "qsparse::block_csr_view::from_arrays: offsets must not decrease, ",
                    "got offsets[", r, "] = ", offsets[r], ", offsets[", r + 1, "] = ", offsets[r + 1]);
    }
    const auto blocks = static_cast<std::size_t>(offsets[nb_count]);
    detail::check_array(fn, "indices", indices, indices_count, blocks);
    detail::check_array(fn, "values", values, values_count, blocks * static_cast<std::size_t>(block_k * block_n));
    for (index_t r = 0; r < nb_count; ++r) {
      for (std::int32_t b = offsets[r]; b < offsets[r + 1]; ++b) {
        const auto kb = static_cast<index_t>(indices[b]);
        detail::check(kb >= 0 && kb < kb_count, "qsparse::block_csr_view::from_arrays: indices[", b, "] = ", kb,
                      " is out of range [0, ", kb_count, ")");
        if (b > offsets[r]) {
          const auto previous = static_cast<index_t>(indices[b - 1]);
          detail::check(kb > previous, "qsparse::block_csr_view::from_arrays: tile columns of tile row ", r,
                        " must increase, got indices[", b - 1, "] = ", previous, ", indices[", b, "] = ", kb);
        }
        for (index_t j = 0; j < block_n; ++j) {
          for (index_t i = 0; i < block_k; ++i) {
            const bool padding = kb * block_k + i >= k || r * block_n + j >= n;
            detail::check(!padding || !detail::is_stored(values[static_cast<index_t>(b) * block_k * block_n + j * block_k + i]),
                          "qsparse::block_csr_view::from_arrays: tile ", b, " holds a non-zero padding element at (i = ",
                          i, ", j = ", j, ") past k = ", k, " or n = ", n);
          }
        }
      }
    }
    return block_csr_view(k, n, block_k, block_n, offsets, indices, values);
  }

  index_t k() const noexcept { return k_; }
  index_t n() const noexcept { return n_; }
  index_t block_k() const noexcept { return block_k_; }
  index_t block_n() const noexcept { return block_n_; }
  /// Tile rows (along N) and tile columns (along K) of the grid.
  index_t block_rows() const noexcept { return (n_ + block_n_ - 1) / block_n_; }
  index_t block_cols() const noexcept { return (k_ + block_k_ - 1) / block_k_; }
  /// Stored tiles.
  index_t blocks() const noexcept { return offsets_[block_rows()]; }
  const std::int32_t* offsets() const noexcept { return offsets_; }
  const Index* indices() const noexcept { return indices_; }
  const T* values() const noexcept { return values_; }

  std::size_t size_bytes() const noexcept {
    return static_cast<std::size_t>(block_rows() + 1) * sizeof(std::int32_t) +
           static_cast<std::size_t>(blocks()) * (sizeof(Index) + static_cast<std::size_t>(block_k_ * block_n_) * sizeof(T));
  }
  std::size_t dense_bytes() const noexcept { return static_cast<std::size_t>(k_ * n_) * sizeof(T); }

  std::array<array_ref, 3> arrays() const noexcept {
    const auto b = static_cast<std::size_t>(blocks());
    return {array_ref{"offsets", array_type::i32, offsets_, static_cast<std::size_t>(block_rows() + 1)},
            array_ref{"indices", array_type_of<Index>(), indices_, b},
            array_ref{"values", array_type_of<T>(), values_, b * static_cast<std::size_t>(block_k_ * block_n_)}};
  }

  /// Writes the dense K×N matrix (every element) into `out`.
  void to_kn(const dense_out_view<T>& out) const {
    detail::check_out_shape("block_csr_view::to_kn", out, k_, n_, "[k, n]");
    for (index_t j = 0; j < n_; ++j)
      for (index_t kk = 0; kk < k_; ++kk) out(kk, j) = T(0);
    for (index_t r = 0; r < block_rows(); ++r) {
      for (std::int32_t b = offsets_[r]; b < offsets_[r + 1]; ++b) {
        const index_t kb = static_cast<index_t>(indices_[b]);
        const T* tile = values_ + static_cast<index_t>(b) * block_k_ * block_n_;
        for (index_t j = 0; j < block_n_ && r * block_n_ + j < n_; ++j)
          for (index_t i = 0; i < block_k_ && kb * block_k_ + i < k_; ++i)
            out(kb * block_k_ + i, r * block_n_ + j) = tile[j * block_k_ + i];
      }
    }
  }
  /// Writes the dense N×K matrix into `out`.
  void to_nk(const dense_out_view<T>& out) const {
    detail::check_out_shape("block_csr_view::to_nk", out, n_, k_, "[n, k]");
    to_kn(detail::transpose_out(out));
  }

 private:
  template <class, class>
  friend class block_csr;
  block_csr_view(index_t k, index_t n, index_t block_k, index_t block_n, const std::int32_t* offsets,
                 const Index* indices, const T* values)
      : k_(k), n_(n), block_k_(block_k), block_n_(block_n), offsets_(offsets), indices_(indices), values_(values) {}

  index_t k_ = 0;
  index_t n_ = 0;
  index_t block_k_ = 1;
  index_t block_n_ = 1;
  const std::int32_t* offsets_ = detail::empty_offsets;
  const Index* indices_ = nullptr;
  const T* values_ = nullptr;
};

/// Owning block-CSR weights (see the layout above).
template <class T, class Index>
class block_csr {
  static_assert(is_sparse_value_v<T>, "qsparse::block_csr: T must be int8_t, uint8_t, int16_t, int32_t or float.");
  static_assert(is_sparse_index_v<Index>, "qsparse::block_csr: Index must be std::uint16_t or std::int32_t.");

 public:
  using view_type = block_csr_view<T, Index>;

  block_csr() : offsets_(1, 0) {}

  /// Compresses a K×N matrix (any layout) into block_k × block_n tiles. Throws qsparse::error for a
  /// block dimension outside [1, 1024], a tile column count that does not fit Index, or more tiles than
  /// int32 offsets count.
  static block_csr from_kn(const kn_view<T>& w, index_t block_k, index_t block_n) {
    detail::check_block_shape("block_csr::from_kn", block_k, block_n);
    const index_t k = w.extent(0), n = w.extent(1);
    const index_t kb_count = (k + block_k - 1) / block_k, nb_count = (n + block_n - 1) / block_n;
    if (kb_count > 0) detail::check_index_range<Index>("block_csr::from_kn", "the last tile column", kb_count - 1);
    block_csr c;
    c.k_ = k;
    c.n_ = n;
    c.block_k_ = block_k;
    c.block_n_ = block_n;
    c.offsets_.assign(static_cast<std::size_t>(nb_count + 1), 0);
    index_t blocks = 0;
    for (index_t r = 0; r < nb_count; ++r) {
      for (index_t kb = 0; kb < kb_count; ++kb) {
        bool any = false;
        for (index_t j = 0; j < block_n && r * block_n + j < n && !any; ++j)
          for (index_t i = 0; i < block_k && kb * block_k + i < k && !any; ++i)
            any = detail::is_stored(w(kb * block_k + i, r * block_n + j));
        if (!any) continue;
        c.indices_.push_back(static_cast<Index>(kb));
        for (index_t j = 0; j < block_n; ++j)
          for (index_t i = 0; i < block_k; ++i) {
            const bool inside = kb * block_k + i < k && r * block_n + j < n;
            c.values_.push_back(inside ? w(kb * block_k + i, r * block_n + j) : T(0));
          }
        ++blocks;
      }
      detail::check_count_range("block_csr::from_kn", "the number of tiles", blocks);
      c.offsets_[static_cast<std::size_t>(r + 1)] = static_cast<std::int32_t>(blocks);
    }
    return c;
  }
  /// Compresses an N×K matrix (TFLite/PyTorch [out][in]); block_k is still the extent along K.
  static block_csr from_nk(const kn_view<T>& w_nk, index_t block_k, index_t block_n) {
    return from_kn(detail::transpose(w_nk), block_k, block_n);
  }

  /// A copy of a (validated) view's arrays.
  explicit block_csr(const view_type& v)
      : k_(v.k()),
        n_(v.n()),
        block_k_(v.block_k()),
        block_n_(v.block_n()),
        offsets_(v.offsets(), v.offsets() + v.block_rows() + 1),
        indices_(v.indices(), v.indices() + v.blocks()),
        values_(v.values(), v.values() + v.blocks() * v.block_k() * v.block_n()) {}

  view_type view() const noexcept {
    return view_type(k_, n_, block_k_, block_n_, offsets_.data(), indices_.data(), values_.data());
  }

  index_t k() const noexcept { return k_; }
  index_t n() const noexcept { return n_; }
  index_t block_k() const noexcept { return block_k_; }
  index_t block_n() const noexcept { return block_n_; }
  index_t blocks() const noexcept { return static_cast<index_t>(indices_.size()); }
  std::size_t size_bytes() const noexcept { return view().size_bytes(); }
  std::size_t dense_bytes() const noexcept { return view().dense_bytes(); }
  void to_kn(const dense_out_view<T>& out) const { view().to_kn(out); }
  void to_nk(const dense_out_view<T>& out) const { view().to_nk(out); }

 private:
  index_t k_ = 0;
  index_t n_ = 0;
  index_t block_k_ = 1;
  index_t block_n_ = 1;
  std::vector<std::int32_t> offsets_;
  std::vector<Index> indices_;
  std::vector<T> values_;
};

}  // namespace qsparse
