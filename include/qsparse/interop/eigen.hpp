// qsparse/interop/eigen.hpp — zero-copy conversions between Eigen dense objects and tensor_view.
//
// Opt-in (includes <Eigen/Core>; nothing in qsparse includes this header). No function copies data:
//
//   as_view(x)   x: any Eigen dense object with direct access (Matrix, Array, Map, Ref, Block) ->
//                  * a compile-time vector (VectorXf, RowVectorXf, m.col(j), ...)  -> rank-1 view
//                  * a packed matrix (Matrix, Array, Map without a Stride)          -> rank-2 layout_right
//                    view for RowMajor, layout_left for ColMajor
//                  * any other matrix (Map with a Stride, Ref, Block)              -> rank-2 layout_stride
//                The element type is const when x only gives read access (const object, Map<const M>,
//                Ref<const M>, a block of a const matrix). A temporary Matrix/Array is rejected at
//                compile time (the view would dangle); temporary Maps, Refs and Blocks are views and fine.
//   as_eigen(v)  v: a rank-2 or rank-1 tensor_view with default_accessor ->
//                  rank 2: Eigen::Map<[const] Matrix<T, Dynamic, Dynamic, Order>, Unaligned,
//                                     Stride<Dynamic, Dynamic>>, Order = ColMajor for layout_left and
//                                     RowMajor otherwise
//                  rank 1: Eigen::Map<[const] Matrix<T, Dynamic, 1>, Unaligned, InnerStride<Dynamic>>
// Both directions address the same memory: writes through one are seen through the other.
#pragma once

#include <Eigen/Core>

#include <type_traits>

#include "qsparse/core/tensor_view.hpp"

namespace qsparse {

namespace detail {

template <class X>
inline constexpr bool is_eigen_plain_v = std::is_base_of_v<Eigen::PlainObjectBase<X>, X>;

// Packed: a plain object, or a Map of one without a Stride.
template <class X>
struct is_eigen_packed : std::bool_constant<is_eigen_plain_v<X>> {};
template <class Plain, int Options>
struct is_eigen_packed<Eigen::Map<Plain, Options, Eigen::Stride<0, 0>>> : std::true_type {};

template <class X, class = void>
struct is_eigen_direct : std::false_type {};
template <class X>
struct is_eigen_direct<X, std::enable_if_t<std::is_base_of_v<Eigen::DenseBase<X>, X>>>
    : std::bool_constant<(int(X::Flags) & Eigen::DirectAccessBit) != 0> {};

}  // namespace detail

/// A view of an Eigen dense object, without copying (see the table at the top of this header).
template <class X, std::enable_if_t<detail::is_eigen_direct<std::decay_t<X>>::value, int> = 0>
auto as_view(X&& x) {
  using eigen_type = std::decay_t<X>;
  static_assert(std::is_lvalue_reference_v<X> || !detail::is_eigen_plain_v<eigen_type>,
                "qsparse::as_view: the argument is a temporary Eigen matrix or array; the view would "
                "dangle. Store it in a variable first.");
  auto* p = x.data();
  using element = std::remove_pointer_t<decltype(p)>;

  if constexpr (eigen_type::IsVectorAtCompileTime) {
    if constexpr (detail::is_eigen_packed<eigen_type>::value) {
      return tensor_view<element, 1, layout_right>(p, extents<1>(x.size()));
    } else {
      return tensor_view<element, 1, layout_stride>(
          p, layout_stride::mapping<1>(extents<1>(x.size()), {x.innerStride()}));
    }
  } else if constexpr (detail::is_eigen_packed<eigen_type>::value) {
    if constexpr (eigen_type::IsRowMajor) {
      return tensor_view<element, 2, layout_right>(p, extents<2>(x.rows(), x.cols()));
    } else {
      return tensor_view<element, 2, layout_left>(p, extents<2>(x.rows(), x.cols()));
    }
  } else {
    return tensor_view<element, 2, layout_stride>(
        p, layout_stride::mapping<2>(extents<2>(x.rows(), x.cols()), {x.rowStride(), x.colStride()}));
  }
}

/// An Eigen::Map over the memory of a rank-2 view, without copying: ColMajor for layout_left, RowMajor
/// otherwise; const when the view's elements are const.
template <class T, class Layout>
auto as_eigen(const tensor_view<T, 2, Layout, default_accessor<T>>& v) {
  using scalar = std::remove_cv_t<T>;
  constexpr bool column_major = std::is_same_v<Layout, layout_left>;
  using matrix = Eigen::Matrix<scalar, Eigen::Dynamic, Eigen::Dynamic,
                               column_major ? Eigen::ColMajor : Eigen::RowMajor>;
  using stride = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
  using result = Eigen::Map<std::conditional_t<std::is_const_v<T>, const matrix, matrix>, Eigen::Unaligned,
                            stride>;
  const Eigen::Index outer = column_major ? v.stride(1) : v.stride(0);
  const Eigen::Index inner = column_major ? v.stride(0) : v.stride(1);
  return result(v.data_handle(), v.extent(0), v.extent(1), stride(outer, inner));
}

/// An Eigen::Map column vector over the memory of a rank-1 view, without copying.
template <class T, class Layout>
auto as_eigen(const tensor_view<T, 1, Layout, default_accessor<T>>& v) {
  using vector = Eigen::Matrix<std::remove_cv_t<T>, Eigen::Dynamic, 1>;
  using stride = Eigen::InnerStride<Eigen::Dynamic>;
  using result = Eigen::Map<std::conditional_t<std::is_const_v<T>, const vector, vector>, Eigen::Unaligned,
                            stride>;
  return result(v.data_handle(), v.extent(0), stride(v.stride(0)));
}

}  // namespace qsparse
