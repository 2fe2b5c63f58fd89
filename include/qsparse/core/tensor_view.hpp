// qsparse/core/tensor_view.hpp — tensor_view, the non-owning multidimensional view every entry point takes.
//
// A view is an element type + a static rank + a layout policy + an accessor policy (the mdspan design,
// simplified: every extent is a runtime index_t). It stores a data handle, a mapping and an accessor,
// and never owns memory. Copying a view is cheap; `const` on a view does not make its elements const —
// tensor_view<const T, ...> does.
//
//   float buf[12];
//   auto a = qsparse::make_view(buf, 3, 4);             // tensor_view<float, 2>, row-major
//   a(1, 2) = 5.f;                                      // buf[1 * 4 + 2]; operator() never checks
//   a.at(3, 0);                                         // throws qsparse::error: index out of range
//   auto row = qsparse::slice(a, 0, 1);                 // rank 1, layout_stride: buf[4 .. 7]
//   auto col = qsparse::slice(a, 1, 2);                 // rank 1, stride 4
//   auto top = qsparse::subview(a, 0, 0, 2);            // rows [0, 2), still row-major contiguous
//   qsparse::tensor_view<const float, 2, qsparse::layout_stride> c = a;   // implicit conversions
//
// Conversions: T -> const T, and any layout -> layout_stride, both implicit. Entry points validate
// their views once (qsparse::error names the argument and the value); element access does not.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "qsparse/core/accessor.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"
#include "qsparse/core/layout.hpp"

namespace qsparse {

namespace detail {

// The data handle and the accessor side by side; an empty accessor takes no space (empty base).
template <class Handle, class Accessor,
          bool = std::is_empty_v<Accessor> && !std::is_final_v<Accessor>>
struct handle_and_accessor : private Accessor {
  Handle handle{};

  constexpr handle_and_accessor() = default;
  constexpr handle_and_accessor(Handle h, const Accessor& a) : Accessor(a), handle(std::move(h)) {}
  constexpr const Accessor& get() const noexcept { return *this; }
};

template <class Handle, class Accessor>
struct handle_and_accessor<Handle, Accessor, false> {
  Handle handle{};
  Accessor accessor{};

  constexpr handle_and_accessor() = default;
  constexpr handle_and_accessor(Handle h, const Accessor& a) : handle(std::move(h)), accessor(a) {}
  constexpr const Accessor& get() const noexcept { return accessor; }
};

}  // namespace detail

/// A non-owning view of a rank-`Rank` tensor of `T`, addressed through `Layout` and `Accessor`.
template <class T, std::size_t Rank, class Layout = layout_right, class Accessor = default_accessor<T>>
class tensor_view {
  static_assert(is_layout_v<Layout>,
                "qsparse::tensor_view: Layout must be a layout policy (layout_right, layout_left, "
                "layout_stride, or an empty tag with a nested mapping<Rank> template).");
  static_assert(is_accessor_v<Accessor>,
                "qsparse::tensor_view: Accessor must meet the accessor contract (element_type, reference, "
                "data_handle_type, offset_policy, access(p, i) and offset(p, i)).");
  static_assert(std::is_same_v<T, typename Accessor::element_type>,
                "qsparse::tensor_view: T must be the accessor's element_type.");

 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using extents_type = qsparse::extents<Rank>;
  using layout_type = Layout;
  using accessor_type = Accessor;
  using mapping_type = typename Layout::template mapping<Rank>;
  using reference = typename Accessor::reference;
  using data_handle_type = typename Accessor::data_handle_type;
  using index_type = index_t;
  using rank_type = std::size_t;

  static constexpr rank_type rank() noexcept { return Rank; }
  static constexpr rank_type rank_dynamic() noexcept { return Rank; }

  /// A null handle over zero extents (for rank 0: over one element that must not be accessed).
  constexpr tensor_view() = default;

  constexpr tensor_view(data_handle_type p, const mapping_type& m, const accessor_type& a = accessor_type{})
      : storage_(std::move(p), a), mapping_(m) {}

  /// For layouts whose mapping is built from extents alone (layout_right, layout_left).
  template <class M = mapping_type, std::enable_if_t<std::is_constructible_v<M, const extents_type&> &&
                                                         std::is_default_constructible_v<Accessor>,
                                                     int> = 0>
  constexpr tensor_view(data_handle_type p, const extents_type& e)
      : storage_(std::move(p), accessor_type{}), mapping_(e) {}

  /// tensor_view<float, 2> v(p, 3, 4) — for layout_right and layout_left.
  template <class... I,
            std::enable_if_t<sizeof...(I) == Rank && detail::all_index_convertible_v<I...> &&
                                 std::is_constructible_v<mapping_type, const extents_type&> &&
                                 std::is_default_constructible_v<Accessor>,
                             int> = 0>
  constexpr explicit tensor_view(data_handle_type p, I... e)
      : storage_(std::move(p), accessor_type{}),
        mapping_(extents_type(std::array<index_t, Rank>{static_cast<index_t>(e)...})) {}

  /// Implicit conversions: T -> const T, and any layout whose mapping converts (e.g. -> layout_stride).
  template <class OtherT, class OtherLayout, class OtherAccessor,
            std::enable_if_t<
                std::is_convertible_v<const typename OtherLayout::template mapping<Rank>&, mapping_type> &&
                    std::is_convertible_v<const typename OtherAccessor::data_handle_type&, data_handle_type> &&
                    std::is_convertible_v<const OtherAccessor&, accessor_type>,
                int> = 0>
  constexpr tensor_view(const tensor_view<OtherT, Rank, OtherLayout, OtherAccessor>& other)  // implicit
      : storage_(other.data_handle(), other.accessor()), mapping_(other.mapping()) {}

  // ---- observers -------------------------------------------------------------------------------
  constexpr const data_handle_type& data_handle() const noexcept { return storage_.handle; }
  constexpr const mapping_type& mapping() const noexcept { return mapping_; }
  constexpr const accessor_type& accessor() const noexcept { return storage_.get(); }
  constexpr const extents_type& extents() const noexcept { return mapping_.extents(); }
  constexpr index_t extent(rank_type r) const noexcept { return mapping_.extents().extent(r); }
  constexpr index_t stride(rank_type r) const noexcept { return mapping_.stride(r); }
  /// The number of elements (the product of the extents; 1 for rank 0).
  constexpr index_t size() const noexcept { return mapping_.extents().size(); }
  constexpr bool empty() const noexcept { return size() == 0; }
  /// 1 + the largest offset the view addresses (0 when empty): the length of memory it spans.
  constexpr index_t required_span_size() const noexcept { return mapping_.required_span_size(); }

  static constexpr bool is_always_contiguous() noexcept { return mapping_type::is_always_contiguous(); }
  /// The elements fill [data_handle(), data_handle() + size()) exactly, in some order.
  constexpr bool is_contiguous() const noexcept { return mapping_.is_contiguous(); }
  /// Element (i0, ..., iR-1) sits at the row-major flat position: a flat loop over size() elements of
  /// data_handle() visits them in row-major order.
  constexpr bool is_row_major_contiguous() const noexcept { return mapping_.is_row_major_contiguous(); }

  // ---- element access --------------------------------------------------------------------------
  /// The element at (i...). Indices are not checked; see at().
  template <class... I, std::enable_if_t<sizeof...(I) == Rank && detail::all_index_convertible_v<I...>,
                                         int> = 0>
  constexpr reference operator()(I... i) const {
    return storage_.get().access(storage_.handle, mapping_(static_cast<index_t>(i)...));
  }

  /// The element at the multi-index i. Not checked; see at().
  constexpr reference operator[](const std::array<index_t, Rank>& i) const {
    return index_array(i, std::make_index_sequence<Rank>{});
  }

  /// Like operator(), but throws qsparse::error when an index is outside [0, extent).
  template <class... I, std::enable_if_t<sizeof...(I) == Rank && detail::all_index_convertible_v<I...>,
                                         int> = 0>
  constexpr reference at(I... i) const {
    return at(std::array<index_t, Rank>{static_cast<index_t>(i)...});
  }
  constexpr reference at(const std::array<index_t, Rank>& i) const {
    for (rank_type r = 0; r < Rank; ++r) {
      if (i[r] < 0 || i[r] >= extent(r)) {
        detail::raise(detail::concat("qsparse::tensor_view::at: index[", r, "] = ", i[r],
                                     " is out of range [0, ", extent(r), ")"));
      }
    }
    return (*this)[i];
  }

 private:
  template <std::size_t... R>
  constexpr reference index_array(const std::array<index_t, Rank>& i, std::index_sequence<R...>) const {
    return storage_.get().access(storage_.handle, mapping_(i[R]...));
  }

  detail::handle_and_accessor<data_handle_type, accessor_type> storage_{};
  mapping_type mapping_{};
};

template <class T, std::size_t Rank>
tensor_view(T*, const extents<Rank>&) -> tensor_view<T, Rank>;
template <class T, std::size_t Rank>
tensor_view(T*, const layout_right::mapping<Rank>&) -> tensor_view<T, Rank, layout_right>;
template <class T, std::size_t Rank>
tensor_view(T*, const layout_left::mapping<Rank>&) -> tensor_view<T, Rank, layout_left>;
template <class T, std::size_t Rank>
tensor_view(T*, const layout_stride::mapping<Rank>&) -> tensor_view<T, Rank, layout_stride>;
template <class T, class... I, std::enable_if_t<detail::all_index_convertible_v<I...>, int> = 0>
tensor_view(T*, I...) -> tensor_view<T, sizeof...(I)>;

// ---- trait -----------------------------------------------------------------------------------------

namespace detail {
template <class V>
struct is_tensor_view : std::false_type {};
template <class T, std::size_t Rank, class Layout, class Accessor>
struct is_tensor_view<tensor_view<T, Rank, Layout, Accessor>> : std::true_type {};
}  // namespace detail

/// True for any tensor_view (cv- and reference-qualified too, so that it serves forwarding references).
template <class V>
inline constexpr bool is_tensor_view_v =
    detail::is_tensor_view<std::remove_cv_t<std::remove_reference_t<V>>>::value;

// ---- factories -------------------------------------------------------------------------------------

/// make_view(p, 3, 4) -> tensor_view<T, 2> (layout_right) over p[0 .. 12). Negative extents throw.
template <class T, class... I, std::enable_if_t<detail::all_index_convertible_v<I...>, int> = 0>
constexpr tensor_view<T, sizeof...(I)> make_view(T* p, I... e) {
  return tensor_view<T, sizeof...(I)>(
      p, extents<sizeof...(I)>(std::array<index_t, sizeof...(I)>{static_cast<index_t>(e)...}));
}

/// make_strided_view(p, extents, strides) -> tensor_view<T, R, layout_stride>; strides in elements.
/// Negative extents or strides throw.
template <class T, std::size_t R>
constexpr tensor_view<T, R, layout_stride> make_strided_view(T* p, const std::array<index_t, R>& e,
                                                             const std::array<index_t, R>& strides) {
  return tensor_view<T, R, layout_stride>(p, layout_stride::mapping<R>(extents<R>(e), strides));
}

/// make_strided_view(p, {3, 4}, {8, 1}) — braced lists deduce the rank.
template <class T, std::size_t R>
constexpr tensor_view<T, R, layout_stride> make_strided_view(T* p, const index_t (&e)[R],
                                                             const index_t (&strides)[R]) {
  std::array<index_t, R> ea{};
  std::array<index_t, R> sa{};
  for (std::size_t r = 0; r < R; ++r) {
    ea[r] = e[r];
    sa[r] = strides[r];
  }
  return make_strided_view(p, ea, sa);
}

// ---- slicing ---------------------------------------------------------------------------------------

namespace detail {

template <class V>
using offset_view_t = tensor_view<typename V::element_type, V::rank(), layout_stride,
                                  typename V::accessor_type::offset_policy>;

template <class V>
void check_axis(const char* function, std::size_t axis) {
  if (axis >= V::rank()) {
    raise(concat("qsparse::", function, ": axis = ", axis, " is out of range for a rank-", V::rank(),
                 " view"));
  }
}

}  // namespace detail

/// The rank-(R-1) view of v with index `axis` fixed at i (layout_stride). Throws qsparse::error when
/// axis >= R or i is outside [0, extent(axis)).
template <class V>
auto slice(const V& v, std::size_t axis, index_t i) {
  static_assert(is_tensor_view_v<V>, "qsparse::slice: the argument must be a qsparse::tensor_view.");
  static_assert(V::rank() >= 1, "qsparse::slice: a rank-0 view has no axis to slice.");
  constexpr std::size_t rank = V::rank();
  using offset_accessor = typename V::accessor_type::offset_policy;
  using result = tensor_view<typename V::element_type, rank - 1, layout_stride, offset_accessor>;

  detail::check_axis<V>("slice", axis);
  if (i < 0 || i >= v.extent(axis)) {
    detail::raise(detail::concat("qsparse::slice: i = ", i, " is out of range [0, ", v.extent(axis),
                                 ") of axis ", axis));
  }
  std::array<index_t, rank - 1> e{};
  std::array<index_t, rank - 1> s{};
  for (std::size_t r = 0, k = 0; r < rank; ++r) {
    if (r == axis) continue;
    e[k] = v.extent(r);
    s[k] = v.stride(r);
    ++k;
  }
  typename result::mapping_type m(extents<rank - 1>(e), s);
  // An empty result addresses nothing: keep the handle where it is (no arithmetic on a null pointer).
  const index_t offset = m.extents().size() == 0 ? 0 : i * v.stride(axis);
  return result(v.accessor().offset(v.data_handle(), offset), m, offset_accessor(v.accessor()));
}

/// The same-rank view of v restricted to [begin, end) along `axis` (layout_stride). Throws
/// qsparse::error when axis >= R or the range is not within [0, extent(axis)].
template <class V>
auto subview(const V& v, std::size_t axis, index_t begin, index_t end) {
  static_assert(is_tensor_view_v<V>, "qsparse::subview: the argument must be a qsparse::tensor_view.");
  static_assert(V::rank() >= 1, "qsparse::subview: a rank-0 view has no axis to restrict.");
  constexpr std::size_t rank = V::rank();
  using offset_accessor = typename V::accessor_type::offset_policy;
  using result = detail::offset_view_t<V>;

  detail::check_axis<V>("subview", axis);
  if (begin < 0 || begin > end || end > v.extent(axis)) {
    detail::raise(detail::concat("qsparse::subview: begin = ", begin, ", end = ", end,
                                 " must satisfy 0 <= begin <= end <= extent(", axis, ") = ", v.extent(axis)));
  }
  std::array<index_t, rank> e = v.extents().as_array();
  std::array<index_t, rank> s{};
  for (std::size_t r = 0; r < rank; ++r) s[r] = v.stride(r);
  e[axis] = end - begin;
  typename result::mapping_type m(extents<rank>(e), s);
  const index_t offset = m.extents().size() == 0 ? 0 : begin * v.stride(axis);
  return result(v.accessor().offset(v.data_handle(), offset), m, offset_accessor(v.accessor()));
}

}  // namespace qsparse
