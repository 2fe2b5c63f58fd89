// qsparse/core/layout.hpp — layout policies: how a multi-index maps to an element offset.
//
// Contract (the mdspan layout-policy contract, simplified to dynamic extents): a layout policy L is an
// empty tag with a nested template `L::mapping<Rank>`; a mapping m over extents<Rank> provides
//   m.extents()                 the shape
//   m.stride(r)                 the distance, in elements, between neighbours along dimension r
//   m(i0, ..., iRank-1)         the offset of an element (indices are not checked)
//   m.required_span_size()      1 + the largest offset (0 when there is no element)
//   L::mapping<R>::is_always_contiguous()   true when every mapping of this layout is dense
//   m.is_contiguous()           true when the offsets cover [0, size()) exactly, in ANY order
//   m.is_row_major_contiguous() true when the strides equal layout_right's packed strides, ignoring
//                               dimensions of extent 1 (and for every empty shape); element-wise
//                               algorithms use it to take a flat-pointer fast path
// Three layouts are provided:
//   layout_right  row-major (C order), contiguous     offset = ((i0 * e1 + i1) * e2 + i2) ...
//   layout_left   column-major (Fortran order)        offset = i0 + e0 * (i1 + e1 * (i2 ...))
//   layout_stride arbitrary non-negative strides      offset = sum_r i_r * stride(r)
// layout_stride::mapping converts implicitly from the other two; it may alias (a stride of 0
// broadcasts a dimension), which the other two never do.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"

namespace qsparse {

namespace detail {

/// layout_right's packed strides: stride(r) = product of the extents after r.
template <std::size_t Rank>
constexpr std::array<index_t, Rank> packed_right_strides(const extents<Rank>& e) noexcept {
  std::array<index_t, Rank> s{};
  index_t step = 1;
  for (std::size_t r = Rank; r-- > 0;) {
    s[r] = step;
    step *= e.extent(r);
  }
  return s;
}

/// layout_left's packed strides: stride(r) = product of the extents before r.
template <std::size_t Rank>
constexpr std::array<index_t, Rank> packed_left_strides(const extents<Rank>& e) noexcept {
  std::array<index_t, Rank> s{};
  index_t step = 1;
  for (std::size_t r = 0; r < Rank; ++r) {
    s[r] = step;
    step *= e.extent(r);
  }
  return s;
}

/// True when the strides are layout_right's packed strides, ignoring dimensions of extent 1; true for
/// every empty shape.
template <std::size_t Rank>
constexpr bool strides_are_row_major_contiguous(const extents<Rank>& e,
                                                const std::array<index_t, Rank>& s) noexcept {
  if (e.size() == 0) return true;
  index_t expected = 1;
  for (std::size_t r = Rank; r-- > 0;) {
    if (e.extent(r) != 1 && s[r] != expected) return false;
    expected *= e.extent(r);
  }
  return true;
}

/// True when the offsets cover [0, size()) exactly once, in any order: sorted by stride, the
/// dimensions of extent > 1 must have packed strides. True for every empty shape.
template <std::size_t Rank>
constexpr bool strides_are_contiguous(const extents<Rank>& e,
                                      const std::array<index_t, Rank>& s) noexcept {
  if (e.size() == 0) return true;
  std::array<index_t, Rank> stride{};
  std::array<index_t, Rank> extent{};
  std::size_t n = 0;
  for (std::size_t r = 0; r < Rank; ++r) {
    if (e.extent(r) == 1) continue;
    // insertion sort by stride (ranks are tiny)
    std::size_t k = n++;
    for (; k > 0 && stride[k - 1] > s[r]; --k) {
      stride[k] = stride[k - 1];
      extent[k] = extent[k - 1];
    }
    stride[k] = s[r];
    extent[k] = e.extent(r);
  }
  index_t expected = 1;
  for (std::size_t k = 0; k < n; ++k) {
    if (stride[k] != expected) return false;
    expected *= extent[k];
  }
  return true;
}

}  // namespace detail

/// Row-major (C order) contiguous layout: the last index varies fastest.
struct layout_right {
  template <std::size_t Rank>
  class mapping {
   public:
    using extents_type = qsparse::extents<Rank>;
    using index_type = index_t;
    using rank_type = std::size_t;
    using layout_type = layout_right;

    constexpr mapping() noexcept = default;
    constexpr mapping(const extents_type& e) noexcept : extents_(e) {}  // implicit, as in mdspan

    constexpr const extents_type& extents() const noexcept { return extents_; }
    constexpr index_t stride(rank_type r) const noexcept {
      index_t s = 1;
      for (rank_type k = r + 1; k < Rank; ++k) s *= extents_.extent(k);
      return s;
    }
    constexpr std::array<index_t, Rank> strides() const noexcept {
      return detail::packed_right_strides(extents_);
    }

    template <class... I, std::enable_if_t<sizeof...(I) == Rank && detail::all_index_convertible_v<I...>,
                                           int> = 0>
    constexpr index_t operator()(I... i) const noexcept {
      index_t offset = 0;
      rank_type r = 0;
      ((offset = offset * extents_.extent(r++) + static_cast<index_t>(i)), ...);
      static_cast<void>(r);
      return offset;
    }

    constexpr index_t required_span_size() const noexcept { return extents_.size(); }

    static constexpr bool is_always_contiguous() noexcept { return true; }
    constexpr bool is_contiguous() const noexcept { return true; }
    constexpr bool is_row_major_contiguous() const noexcept { return true; }

    friend constexpr bool operator==(const mapping& a, const mapping& b) noexcept {
      return a.extents_ == b.extents_;
    }
    friend constexpr bool operator!=(const mapping& a, const mapping& b) noexcept { return !(a == b); }

   private:
    extents_type extents_{};
  };
};

/// Column-major (Fortran order) contiguous layout: the first index varies fastest.
struct layout_left {
  template <std::size_t Rank>
  class mapping {
   public:
    using extents_type = qsparse::extents<Rank>;
    using index_type = index_t;
    using rank_type = std::size_t;
    using layout_type = layout_left;

    constexpr mapping() noexcept = default;
    constexpr mapping(const extents_type& e) noexcept : extents_(e) {}  // implicit, as in mdspan

    constexpr const extents_type& extents() const noexcept { return extents_; }
    constexpr index_t stride(rank_type r) const noexcept {
      index_t s = 1;
      for (rank_type k = 0; k < r; ++k) s *= extents_.extent(k);
      return s;
    }
    constexpr std::array<index_t, Rank> strides() const noexcept {
      return detail::packed_left_strides(extents_);
    }

    template <class... I, std::enable_if_t<sizeof...(I) == Rank && detail::all_index_convertible_v<I...>,
                                           int> = 0>
    constexpr index_t operator()(I... i) const noexcept {
      index_t offset = 0;
      index_t step = 1;
      rank_type r = 0;
      ((offset += static_cast<index_t>(i) * step, step *= extents_.extent(r++)), ...);
      static_cast<void>(r);
      return offset;
    }

    constexpr index_t required_span_size() const noexcept { return extents_.size(); }

    static constexpr bool is_always_contiguous() noexcept { return true; }
    constexpr bool is_contiguous() const noexcept { return true; }
    constexpr bool is_row_major_contiguous() const noexcept {
      return detail::strides_are_row_major_contiguous(extents_, strides());
    }

    friend constexpr bool operator==(const mapping& a, const mapping& b) noexcept {
      return a.extents_ == b.extents_;
    }
    friend constexpr bool operator!=(const mapping& a, const mapping& b) noexcept { return !(a == b); }

   private:
    extents_type extents_{};
  };
};

/// Arbitrary non-negative strides, in elements. Converts implicitly from layout_right and layout_left
/// mappings; slices and subviews of any view are layout_stride views.
struct layout_stride {
  template <std::size_t Rank>
  class mapping {
   public:
    using extents_type = qsparse::extents<Rank>;
    using index_type = index_t;
    using rank_type = std::size_t;
    using layout_type = layout_stride;

    /// Zero extents with layout_right's strides.
    constexpr mapping() noexcept : strides_(detail::packed_right_strides(extents_type{})) {}

    /// Throws qsparse::error when a stride is negative, or when the largest offset does not fit in
    /// index_t (so that no offset computation can overflow).
    constexpr mapping(const extents_type& e, const std::array<index_t, Rank>& strides)
        : extents_(e), strides_(strides) {
      index_t span = 0;  // the largest offset
      for (rank_type r = 0; r < Rank; ++r) {
        if (strides_[r] < 0) {
          detail::raise(detail::concat("qsparse::layout_stride::mapping: stride(", r, ") = ",
                                       strides_[r], " must be non-negative"));
        }
        const index_t reach = extents_.extent(r) == 0
                                  ? 0
                                  : detail::checked_product(extents_.extent(r) - 1, strides_[r]);
        span = (reach < 0 || span > std::numeric_limits<index_t>::max() - reach) ? -1 : span + reach;
        if (span < 0) {
          detail::raise(detail::concat("qsparse::layout_stride::mapping: extents ",
                                       detail::array_to_string(extents_.as_array()), " with strides ",
                                       detail::array_to_string(strides_),
                                       " address offsets beyond index_t"));
        }
      }
    }

    constexpr mapping(const layout_right::mapping<Rank>& m) noexcept  // implicit on purpose
        : extents_(m.extents()), strides_(m.strides()) {}
    constexpr mapping(const layout_left::mapping<Rank>& m) noexcept  // implicit on purpose
        : extents_(m.extents()), strides_(m.strides()) {}

    constexpr const extents_type& extents() const noexcept { return extents_; }
    constexpr index_t stride(rank_type r) const noexcept { return strides_[r]; }
    constexpr const std::array<index_t, Rank>& strides() const noexcept { return strides_; }

    template <class... I, std::enable_if_t<sizeof...(I) == Rank && detail::all_index_convertible_v<I...>,
                                           int> = 0>
    constexpr index_t operator()(I... i) const noexcept {
      index_t offset = 0;
      rank_type r = 0;
      ((offset += static_cast<index_t>(i) * strides_[r++]), ...);
      static_cast<void>(r);
      return offset;
    }

    constexpr index_t required_span_size() const noexcept {
      if (extents_.size() == 0) return 0;
      index_t span = 1;
      for (rank_type r = 0; r < Rank; ++r) span += (extents_.extent(r) - 1) * strides_[r];
      return span;
    }

    static constexpr bool is_always_contiguous() noexcept { return false; }
    constexpr bool is_contiguous() const noexcept {
      return detail::strides_are_contiguous(extents_, strides_);
    }
    constexpr bool is_row_major_contiguous() const noexcept {
      return detail::strides_are_row_major_contiguous(extents_, strides_);
    }

    friend constexpr bool operator==(const mapping& a, const mapping& b) noexcept {
      if (a.extents_ != b.extents_) return false;
      for (rank_type r = 0; r < Rank; ++r) {
        if (a.strides_[r] != b.strides_[r]) return false;
      }
      return true;
    }
    friend constexpr bool operator!=(const mapping& a, const mapping& b) noexcept { return !(a == b); }

   private:
    extents_type extents_{};
    std::array<index_t, Rank> strides_{};
  };
};

namespace detail {
template <class L, class = void>
struct is_layout : std::false_type {};
template <class L>
struct is_layout<L, std::void_t<typename L::template mapping<1>, typename L::template mapping<0>>>
    : std::bool_constant<std::is_empty_v<L>> {};
}  // namespace detail

/// True for a layout policy: an empty tag with a nested `mapping<Rank>` template.
template <class L>
inline constexpr bool is_layout_v = detail::is_layout<L>::value;

}  // namespace qsparse
