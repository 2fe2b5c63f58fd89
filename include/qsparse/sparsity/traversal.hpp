// qsparse/sparsity/traversal.hpp — walking weight and mask views in row-major order (sparsity internals).
//
// The sparsity code accepts views of any layout (strided, transposed, column-major) and visits their
// elements in row-major order of the logical indices, so that "flat index" means what it means in
// TF-MOT (`tf.reshape(w, [-1])`) whatever the memory layout. Helpers here:
//   for_each_index(extents, f)        f(const std::array<index_t, R>&) for every multi-index, row-major
//   for_each_line(extents, axis, f)   f(first index) for every line along `axis` (the index has 0 there)
//   resolve_axis<Axis, R>()           a Python-style axis (-1 = last) as a checked, non-negative axis
//   check_same_shape(...)             qsparse::error when two views differ in extents
//   is_mask_element_v<M>              mask elements: arithmetic, non-const; an element is "kept" when != 0
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"
#include "qsparse/core/tensor_view.hpp"

namespace qsparse {

/// Mask element types: any non-const arithmetic type (float like TF-MOT's masks, or uint8_t/bool to save
/// memory). Writers store 0 or 1; readers treat every non-zero value as "kept".
template <class M>
inline constexpr bool is_mask_element_v = std::is_arithmetic_v<M> && !std::is_const_v<M>;

namespace detail {

/// Calls f(index) for every multi-index of `e` in row-major order (nothing for an empty shape).
template <std::size_t R, class F>
void for_each_index(const extents<R>& e, F&& f) {
  if (e.size() == 0) return;
  std::array<index_t, R> i{};
  if constexpr (R == 0) {
    f(i);
  } else {
    for (;;) {
      f(i);
      std::size_t r = R;
      for (;;) {
        --r;
        if (++i[r] < e.extent(r)) break;
        i[r] = 0;
        if (r == 0) return;
      }
    }
  }
}

template <class V>
inline constexpr bool has_plain_memory_v =
    std::is_same_v<typename V::accessor_type, default_accessor<typename V::element_type>>;

/// True when v can be walked as a flat array in row-major order.
template <class V>
bool is_flat(const V& v) noexcept {
  if constexpr (has_plain_memory_v<V>) {
    return v.is_row_major_contiguous();
  } else {
    return false;
  }
}

/// f(element) for every element of v in row-major order (a flat loop when v allows it).
template <class V, class F>
void for_each_element(const V& v, F&& f) {
  if constexpr (has_plain_memory_v<V>) {
    if (is_flat(v)) {
      const auto p = v.data_handle();
      for (index_t i = 0, n = v.size(); i < n; ++i) f(p[i]);
      return;
    }
  }
  for_each_index(v.extents(), [&](const auto& i) { f(v[i]); });
}

/// f(a element, b element) for every index of two views of the same shape, in row-major order.
template <class A, class B, class F>
void for_each_element_pair(const A& a, const B& b, F&& f) {
  if constexpr (has_plain_memory_v<A> && has_plain_memory_v<B>) {
    if (is_flat(a) && is_flat(b)) {
      const auto pa = a.data_handle();
      const auto pb = b.data_handle();
      for (index_t i = 0, n = a.size(); i < n; ++i) f(pa[i], pb[i]);
      return;
    }
  }
  for_each_index(a.extents(), [&](const auto& i) { f(a[i], b[i]); });
}

/// Calls f(start) once for every line along `axis`: start has 0 at `axis` and runs over all other
/// indices in row-major order. Nothing happens when the shape is empty.
template <std::size_t R, class F>
void for_each_line(const extents<R>& e, std::size_t axis, F&& f) {
  if (e.size() == 0) return;
  auto outer = e.as_array();
  outer[axis] = 1;
  for_each_index(extents<R>(outer), f);
}

/// A Python-style axis for a rank-R tensor: -1 is the last axis. A compile-time error when out of range.
template <int Axis, std::size_t R>
constexpr std::size_t resolve_axis() {
  static_assert(Axis >= -static_cast<int>(R) && Axis < static_cast<int>(R),
                "qsparse sparsity: the pattern's axis is out of range for the rank of the weights "
                "(axes count from 0, or from -1 for the last one).");
  return static_cast<std::size_t>(Axis < 0 ? Axis + static_cast<int>(R) : Axis);
}

template <class A, class B>
void check_same_shape(const char* function, const char* a_name, const A& a, const char* b_name, const B& b) {
  static_assert(A::rank() == B::rank(), "qsparse sparsity: the two views must have the same rank.");
  if (a.extents() != b.extents()) {
    raise(concat("qsparse::", function, ": ", b_name, " must have the shape of ", a_name, ", got ", a_name,
                 " extents = ", to_string(a.extents()), ", ", b_name, " extents = ", to_string(b.extents())));
  }
}

template <class V, class = void>
struct is_float_view : std::false_type {};
template <class V>
struct is_float_view<V, std::enable_if_t<is_tensor_view_v<V>>>
    : std::is_same<typename V::value_type, float> {};
/// A tensor_view of float or const float.
template <class V>
inline constexpr bool is_float_view_v = is_float_view<V>::value;

template <class V, class = void>
struct is_mask_view : std::false_type {};
template <class V>
struct is_mask_view<V, std::enable_if_t<is_tensor_view_v<V>>>
    : std::bool_constant<is_mask_element_v<typename V::element_type>> {};
/// A tensor_view of any arithmetic element type (a mask to read).
template <class V, class = void>
struct is_arithmetic_view : std::false_type {};
template <class V>
struct is_arithmetic_view<V, std::enable_if_t<is_tensor_view_v<V>>>
    : std::is_arithmetic<typename V::value_type> {};
template <class V>
inline constexpr bool is_arithmetic_view_v = is_arithmetic_view<V>::value;

/// A tensor_view of a writable mask element type.
template <class V>
inline constexpr bool is_mask_view_v = is_mask_view<V>::value;

}  // namespace detail
}  // namespace qsparse
