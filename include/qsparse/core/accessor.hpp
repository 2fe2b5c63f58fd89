// qsparse/core/accessor.hpp — accessor policies: how a view turns (data handle, offset) into an element.
//
// Contract (the mdspan accessor-policy contract): an accessor A is a small, copyable type providing
//   A::element_type       the element type a view over it exposes
//   A::reference          what element access returns (T& for plain memory; may be a value, e.g. a
//                         dequantizing accessor returns float by value from int8 storage)
//   A::data_handle_type   what the view stores (T* for plain memory; any copyable handle)
//   A::offset_policy      the accessor of a view that starts at an offset (slices, subviews);
//                         constructible from A (often A itself)
//   a.access(p, i)        -> reference: the element at offset i from handle p
//   a.offset(p, i)        -> offset_policy::data_handle_type: the handle of the element at offset i
// Both functions are called on the hot path and must not check anything. default_accessor is plain
// memory; tests/core/tensor_view_test.cpp shows a transforming accessor honouring the same contract.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "qsparse/core/extents.hpp"

namespace qsparse {

/// Plain memory: data_handle_type is T*, reference is T&.
template <class T>
struct default_accessor {
  static_assert(!std::is_array_v<T> && !std::is_abstract_v<T>,
                "qsparse::default_accessor: the element type must be a complete, non-array object type.");

  using offset_policy = default_accessor;
  using element_type = T;
  using reference = T&;
  using data_handle_type = T*;

  constexpr default_accessor() noexcept = default;

  /// default_accessor<T> converts to default_accessor<const T> (never the other way).
  template <class U, std::enable_if_t<std::is_convertible_v<U (*)[], T (*)[]>, int> = 0>
  constexpr default_accessor(default_accessor<U>) noexcept {}  // implicit on purpose

  constexpr reference access(data_handle_type p, index_t i) const noexcept { return p[i]; }
  constexpr data_handle_type offset(data_handle_type p, index_t i) const noexcept { return p + i; }
};

namespace detail {
template <class A, class = void>
struct is_accessor : std::false_type {};
template <class A>
struct is_accessor<
    A, std::void_t<typename A::element_type, typename A::reference, typename A::data_handle_type,
                   typename A::offset_policy,
                   decltype(std::declval<const A&>().access(std::declval<typename A::data_handle_type>(),
                                                            index_t{})),
                   decltype(std::declval<const A&>().offset(std::declval<typename A::data_handle_type>(),
                                                            index_t{}))>>
    : std::bool_constant<std::is_copy_constructible_v<A> &&
                         std::is_convertible_v<decltype(std::declval<const A&>().access(
                                                   std::declval<typename A::data_handle_type>(), index_t{})),
                                               typename A::reference>> {};
}  // namespace detail

/// True for a type meeting the accessor contract above.
template <class A>
inline constexpr bool is_accessor_v = detail::is_accessor<A>::value;

}  // namespace qsparse
