// Compile-only checks for qsparse/core/{extents,layout,accessor,tensor_view,tensor}.hpp: the policy
// contracts, the conversions that must and must not exist, the result types of slice/subview, the
// size of a view, and constexpr evaluation. Nothing runs; if this file compiles, the checks passed.
#include <cstdint>
#include <type_traits>
#include <utility>

#include "qsparse/core/accessor.hpp"
#include "qsparse/core/extents.hpp"
#include "qsparse/core/layout.hpp"
#include "qsparse/core/tensor.hpp"
#include "qsparse/core/tensor_view.hpp"

namespace {

using qsparse::default_accessor;
using qsparse::extents;
using qsparse::index_t;
using qsparse::layout_left;
using qsparse::layout_right;
using qsparse::layout_stride;
using qsparse::tensor;
using qsparse::tensor_view;

// ---- extents ---------------------------------------------------------------------------------------
static_assert(std::is_same_v<index_t, std::ptrdiff_t>);
static_assert(extents<3>::rank() == 3 && extents<3>::rank_dynamic() == 3);
static_assert(extents<2>{3, 4}.size() == 12);
static_assert(extents<2>{3, 4}.extent(1) == 4);
static_assert(extents<0>{}.size() == 1);
static_assert(extents<2>{}.size() == 0);
static_assert(extents<2>{3, 4} == extents<2>{3, 4});
static_assert(extents<2>{3, 4} != extents<2>{4, 3});
static_assert(!(extents<1>{3} == extents<2>{3, 1}));
static_assert(std::is_trivially_copyable_v<extents<4>>);
static_assert(!std::is_convertible_v<int, extents<1>>, "a lone integer must not silently become a shape");
static_assert(std::is_constructible_v<extents<1>, int>);
static_assert(!std::is_constructible_v<extents<2>, int>);
static_assert(!std::is_constructible_v<extents<2>, int, int, int>);

// ---- layouts ---------------------------------------------------------------------------------------
static_assert(qsparse::is_layout_v<layout_right> && qsparse::is_layout_v<layout_left> &&
              qsparse::is_layout_v<layout_stride>);
static_assert(!qsparse::is_layout_v<int> && !qsparse::is_layout_v<default_accessor<float>>);

constexpr layout_right::mapping<3> right_234{extents<3>{2, 3, 4}};
static_assert(right_234(1, 2, 3) == 23 && right_234.stride(0) == 12 && right_234.required_span_size() == 24);
constexpr layout_left::mapping<3> left_234{extents<3>{2, 3, 4}};
static_assert(left_234(1, 2, 3) == 1 + 2 * 2 + 3 * 6 && left_234(1, 0, 0) == 1 && left_234.stride(2) == 6);
static_assert(!left_234.is_row_major_contiguous() && left_234.is_contiguous());
constexpr layout_stride::mapping<2> padded{extents<2>{3, 5}, {8, 1}};
static_assert(padded(2, 4) == 20 && padded.required_span_size() == 21);
static_assert(!padded.is_contiguous() && !padded.is_row_major_contiguous());
constexpr layout_stride::mapping<3> from_right = right_234;
static_assert(from_right.is_row_major_contiguous() && from_right.stride(1) == 4);
static_assert(layout_right::mapping<2>::is_always_contiguous() && layout_left::mapping<2>::is_always_contiguous() &&
              !layout_stride::mapping<2>::is_always_contiguous());

static_assert(std::is_convertible_v<layout_right::mapping<2>, layout_stride::mapping<2>>);
static_assert(std::is_convertible_v<layout_left::mapping<2>, layout_stride::mapping<2>>);
static_assert(std::is_convertible_v<extents<2>, layout_right::mapping<2>>);
static_assert(!std::is_constructible_v<layout_right::mapping<2>, layout_left::mapping<2>>);
static_assert(!std::is_constructible_v<layout_right::mapping<2>, layout_stride::mapping<2>>);
static_assert(!std::is_constructible_v<layout_stride::mapping<2>, extents<2>>,
              "a strided mapping needs its strides");
static_assert(std::is_trivially_copyable_v<layout_stride::mapping<3>>);

// ---- accessors -------------------------------------------------------------------------------------
static_assert(qsparse::is_accessor_v<default_accessor<float>> &&
              qsparse::is_accessor_v<default_accessor<const std::int8_t>>);
static_assert(!qsparse::is_accessor_v<float> && !qsparse::is_accessor_v<layout_right>);
static_assert(std::is_empty_v<default_accessor<float>>);
static_assert(std::is_convertible_v<default_accessor<float>, default_accessor<const float>>);
static_assert(!std::is_convertible_v<default_accessor<const float>, default_accessor<float>>);
static_assert(!std::is_convertible_v<default_accessor<int>, default_accessor<float>>);
static_assert(std::is_same_v<default_accessor<float>::reference, float&> &&
              std::is_same_v<default_accessor<float>::data_handle_type, float*> &&
              std::is_same_v<default_accessor<float>::offset_policy, default_accessor<float>>);

// ---- tensor_view: types ----------------------------------------------------------------------------
using view2 = tensor_view<float, 2>;
using cview2 = tensor_view<const float, 2>;
static_assert(std::is_same_v<view2::layout_type, layout_right>);
static_assert(std::is_same_v<view2::accessor_type, default_accessor<float>>);
static_assert(std::is_same_v<view2::mapping_type, layout_right::mapping<2>>);
static_assert(std::is_same_v<view2::extents_type, extents<2>>);
static_assert(std::is_same_v<cview2::value_type, float> && std::is_same_v<cview2::element_type, const float>);
static_assert(std::is_same_v<cview2::reference, const float&> &&
              std::is_same_v<cview2::data_handle_type, const float*>);
static_assert(view2::rank() == 2 && tensor_view<float, 0>::rank() == 0);
static_assert(qsparse::is_tensor_view_v<view2> && qsparse::is_tensor_view_v<const cview2&> &&
              !qsparse::is_tensor_view_v<float*> && !qsparse::is_tensor_view_v<tensor<float, 2>>);

// A view is a pointer plus its mapping (the empty accessor takes no space), and trivially copyable.
static_assert(sizeof(view2) == sizeof(float*) + 2 * sizeof(index_t));
static_assert(sizeof(tensor_view<float, 3, layout_stride>) == sizeof(float*) + 6 * sizeof(index_t));
static_assert(std::is_trivially_copyable_v<view2> &&
              std::is_trivially_copyable_v<tensor_view<const float, 4, layout_stride>>);
static_assert(std::is_nothrow_default_constructible_v<view2>);

// ---- tensor_view: conversions --------------------------------------------------------------------
static_assert(std::is_convertible_v<view2, cview2>);
static_assert(!std::is_constructible_v<view2, cview2>, "const must not be cast away");
static_assert(std::is_convertible_v<view2, tensor_view<float, 2, layout_stride>>);
static_assert(std::is_convertible_v<tensor_view<float, 2, layout_left>, tensor_view<const float, 2, layout_stride>>);
static_assert(!std::is_constructible_v<tensor_view<float, 2, layout_left>, view2>);
static_assert(!std::is_constructible_v<view2, tensor_view<float, 2, layout_stride>>);
static_assert(!std::is_constructible_v<tensor_view<float, 3>, view2>, "ranks must match");
static_assert(!std::is_constructible_v<tensor_view<double, 2>, view2>);
static_assert(!std::is_constructible_v<tensor_view<float, 2, layout_stride>, float*, extents<2>>,
              "a strided view needs its strides");
static_assert(std::is_constructible_v<view2, float*, extents<2>>);
static_assert(std::is_constructible_v<view2, float*, int, int>);
static_assert(!std::is_convertible_v<float*, tensor_view<float, 0>>);

// ---- tensor_view: element access and results of slicing -----------------------------------------
static_assert(std::is_same_v<decltype(std::declval<const view2&>()(0, 0)), float&>,
              "element access is shallow-const, as for pointers and mdspan");
static_assert(std::is_same_v<decltype(std::declval<const cview2&>()(0, 0)), const float&>);
static_assert(std::is_same_v<decltype(qsparse::slice(std::declval<view2>(), 0, 0)),
                             tensor_view<float, 1, layout_stride>>);
static_assert(std::is_same_v<decltype(qsparse::slice(std::declval<tensor_view<const int, 1, layout_left>>(), 0, 0)),
                             tensor_view<const int, 0, layout_stride>>);
static_assert(std::is_same_v<decltype(qsparse::subview(std::declval<cview2>(), 1, 0, 1)),
                             tensor_view<const float, 2, layout_stride>>);
static_assert(std::is_same_v<decltype(qsparse::make_view(std::declval<int*>(), 2, 3, 4)), tensor_view<int, 3>>);
static_assert(std::is_same_v<decltype(qsparse::make_strided_view(std::declval<int*>(), {2, 3}, {1, 2})),
                             tensor_view<int, 2, layout_stride>>);

// constexpr evaluation of a whole view
constexpr int table[6] = {0, 1, 2, 3, 4, 5};
constexpr tensor_view<const int, 2> table_view(table, 2, 3);
static_assert(table_view(1, 2) == 5 && table_view.size() == 6 && table_view.stride(0) == 3);
static_assert(table_view[{1, 0}] == 3);
constexpr tensor_view<const int, 2, layout_stride> transposed(table,
                                                              layout_stride::mapping<2>(extents<2>{3, 2}, {1, 3}));
static_assert(transposed(2, 1) == 5 && transposed.is_contiguous() && !transposed.is_row_major_contiguous());

// ---- tensor ----------------------------------------------------------------------------------------
static_assert(std::is_copy_constructible_v<tensor<float, 2>> && std::is_copy_assignable_v<tensor<float, 2>>);
static_assert(std::is_nothrow_move_constructible_v<tensor<float, 2>> &&
              std::is_nothrow_move_assignable_v<tensor<float, 2>>);
static_assert(std::is_nothrow_swappable_v<tensor<float, 2>>);
static_assert(!std::is_convertible_v<tensor<float, 2>, view2>, "a temporary tensor must not decay into a view");
static_assert(!std::is_convertible_v<int, tensor<float, 1>>);
static_assert(std::is_constructible_v<tensor<float, 2>, int, int> && !std::is_constructible_v<tensor<float, 2>, int>);
static_assert(std::is_same_v<decltype(std::declval<tensor<float, 2>&>().view()), view2>);
static_assert(std::is_same_v<decltype(std::declval<const tensor<float, 2>&>().view()), cview2>);
static_assert(tensor<float, 2>::alignment == 64);

}  // namespace
