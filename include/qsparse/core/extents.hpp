// qsparse/core/extents.hpp — the shape of a tensor: a static rank and one runtime extent per dimension.
//
// Contract (a simplified std::extents, P0009): the rank is a compile-time constant and every extent is
// dynamic, stored as index_t (std::ptrdiff_t). Constructing extents validates them once:
//   * every extent is non-negative,
//   * the number of elements (the product of the extents) fits in index_t;
// a violation throws qsparse::error naming the extent and its value. After that, size() and every
// mapping built on these extents can compute offsets without overflow checks.
//
//   qsparse::extents<2> e{3, 4};   // e.rank() == 2, e.extent(1) == 4, e.size() == 12
//   qsparse::extents<0> s;         // a scalar: s.size() == 1
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"

namespace qsparse {

/// The signed index type of every extent, stride and offset in qsparse.
using index_t = std::ptrdiff_t;

namespace detail {

template <class... I>
inline constexpr bool all_index_convertible_v = (std::is_convertible_v<I, index_t> && ...);

/// a * b for non-negative a and b, or -1 when the product does not fit in index_t.
constexpr index_t checked_product(index_t a, index_t b) noexcept {
  std::int64_t r = 0;
  return mul_overflows(a, b, &r) ? -1 : static_cast<index_t>(r);
}

/// "[3, 4]" — a list of extents (or strides) as text, for error messages.
template <std::size_t N>
std::string array_to_string(const std::array<index_t, N>& values) {
  std::string s = "[";
  for (std::size_t r = 0; r < N; ++r) s += (r == 0 ? "" : ", ") + std::to_string(values[r]);
  return s + "]";
}

}  // namespace detail

/// The shape of a rank-`Rank` tensor; every extent is a runtime index_t.
template <std::size_t Rank>
class extents {
 public:
  using index_type = index_t;
  using rank_type = std::size_t;

  static constexpr rank_type rank() noexcept { return Rank; }
  static constexpr rank_type rank_dynamic() noexcept { return Rank; }

  /// All extents zero (for rank 0: the one-element shape of a scalar).
  constexpr extents() noexcept = default;

  /// extents<2> e{3, 4}. Implicit for rank >= 2 so that `{3, 4}` converts; explicit for rank 1 so
  /// that a lone integer never silently becomes a shape.
  template <class... I, std::enable_if_t<(sizeof...(I) == Rank) && (sizeof...(I) >= 2) &&
                                             detail::all_index_convertible_v<I...>,
                                         int> = 0>
  constexpr extents(I... e) : extents_{static_cast<index_t>(e)...} {
    validate();
  }
  template <class I, std::enable_if_t<(Rank == 1) && std::is_convertible_v<I, index_t>, int> = 0>
  constexpr explicit extents(I e) : extents_{static_cast<index_t>(e)} {
    validate();
  }

  /// From an array of extents, e.g. extents<3>{std::array<index_t, 3>{2, 3, 4}}.
  constexpr explicit extents(const std::array<index_t, Rank>& e) : extents_(e) { validate(); }

  /// The extent of dimension r (r < rank(); not checked).
  constexpr index_t extent(rank_type r) const noexcept { return extents_[r]; }

  /// The number of elements: the product of the extents (1 for rank 0).
  constexpr index_t size() const noexcept {
    index_t n = 1;
    for (rank_type r = 0; r < Rank; ++r) n *= extents_[r];
    return n;
  }

  /// The extents as an array (handy for printing and for building other shapes).
  constexpr const std::array<index_t, Rank>& as_array() const noexcept { return extents_; }

  template <std::size_t OtherRank>
  friend constexpr bool operator==(const extents& a, const extents<OtherRank>& b) noexcept {
    if constexpr (OtherRank != Rank) {
      return false;
    } else {
      for (rank_type r = 0; r < Rank; ++r) {
        if (a.extent(r) != b.extent(r)) return false;
      }
      return true;
    }
  }
  template <std::size_t OtherRank>
  friend constexpr bool operator!=(const extents& a, const extents<OtherRank>& b) noexcept {
    return !(a == b);
  }

 private:
  // Every extent non-negative, and the product of the non-zero extents fits in index_t, so that
  // size() (and every partial product a mapping computes) never overflows.
  constexpr void validate() const {
    index_t n = 1;
    for (rank_type r = 0; r < Rank; ++r) {
      if (extents_[r] < 0) {
        detail::raise(detail::concat("qsparse::extents: extent(", r, ") = ", extents_[r],
                                     " must be non-negative"));
      }
      if (extents_[r] != 0 && n >= 0) n = detail::checked_product(n, extents_[r]);
    }
    if (n < 0) {
      detail::raise(detail::concat("qsparse::extents: the product of the extents ",
                                   detail::array_to_string(extents_), " overflows index_t"));
    }
  }

  std::array<index_t, Rank> extents_{};
};

/// "[3, 4]" — the extents as text, for error messages.
template <std::size_t Rank>
std::string to_string(const extents<Rank>& e) {
  return detail::array_to_string(e.as_array());
}

}  // namespace qsparse
