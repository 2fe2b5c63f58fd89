// qsparse/core/overlap.hpp — the aliasing checks every entry point that writes makes on its arguments.
//
// A kernel that writes its output while it still reads its inputs computes garbage when the two share
// memory, so every entry point that writes checks, once, before any work:
//
//   detail::check_no_overlap(fn, "destination", dst, "activations", a);
//     // qsparse::gemm: destination overlaps activations in memory (bytes [0x7f..00, 0x7f..40) and
//     // [0x7f..20, 0x7f..60)); an output must not share memory with an input
//   detail::check_distinct_elements(fn, "destination", dst);
//     // qsparse::gemm: destination's elements overlap (extents [4, 8], strides [0, 1]): ...
//   detail::check_in_place_or_disjoint(fn, "out", out, "in", in);
//     // element-wise operations: out may be in itself (same data, extents, strides and element
//     // size: the documented in-place mode), otherwise the two must be disjoint
//
// The rule is the one of numpy's may_share_memory: two views overlap when the byte ranges from their
// first to one past their last element intersect. It is conservative — two interleaved strided views
// of one buffer (even and odd columns) are reported although no element is shared — and cheap (two
// comparisons), so it never costs a kernel anything. Views whose accessor does not hand out raw
// pointers, and empty views, are never reported.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"

namespace qsparse::detail {

/// The bytes [begin, end) a view or buffer may touch; begin == end when it touches none.
struct byte_range {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;

  constexpr bool empty() const noexcept { return begin == end; }
  constexpr bool intersects(const byte_range& other) const noexcept {
    return !empty() && !other.empty() && begin < other.end && other.begin < end;
  }
};

/// The range of `bytes` bytes at `data` (empty for a null pointer or no bytes).
inline byte_range bytes_of(const void* data, std::size_t bytes) noexcept {
  if (data == nullptr || bytes == 0) return {};
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  return {begin, begin + bytes};
}

/// The range from a view's first to one past its last element (empty when it has no element or its data
/// handle is not a pointer).
template <class View>
byte_range bytes_of(const View& v) noexcept {
  using handle = typename View::data_handle_type;
  if constexpr (std::is_pointer_v<handle>) {
    if (v.size() == 0) return {};
    using element = std::remove_pointer_t<handle>;
    // required_span_size() fits in index_t (the mapping checked it) and so does its byte count for any
    // view over real memory.
    return bytes_of(static_cast<const void*>(v.data_handle()),
                    static_cast<std::size_t>(v.mapping().required_span_size()) * sizeof(element));
  } else {
    (void)v;
    return {};
  }
}

/// Raises "<fn>: <out_name> overlaps <in_name> in memory (...)" when the two ranges intersect.
inline void check_ranges_disjoint(const char* fn, const char* out_name, const byte_range& out, const char* in_name,
                                  const byte_range& in) {
  if (!out.intersects(in)) return;
  raise(concat(fn, ": ", out_name, " overlaps ", in_name, " in memory (bytes [0x", std::hex, out.begin, ", 0x", out.end,
               ") and [0x", in.begin, ", 0x", in.end, ")); an output must not share memory with an input"));
}

/// Raises when the view `out` may share memory with the view `in`.
template <class Out, class In>
void check_no_overlap(const char* fn, const char* out_name, const Out& out, const char* in_name, const In& in) {
  check_ranges_disjoint(fn, out_name, bytes_of(out), in_name, bytes_of(in));
}

/// Raises when the view `out` may share memory with `bytes` bytes at `in` (packed weights, raw arrays).
template <class Out>
void check_no_overlap(const char* fn, const char* out_name, const Out& out, const char* in_name, const void* in,
                      std::size_t bytes) {
  check_ranges_disjoint(fn, out_name, bytes_of(out), in_name, bytes_of(in, bytes));
}

/// True when `out` is `in` itself: the same first byte, element size, extents and strides.
template <class Out, class In>
bool is_same_memory(const Out& out, const In& in) noexcept {
  static_assert(Out::rank() == In::rank(), "qsparse: is_same_memory compares views of one rank.");
  using out_handle = typename Out::data_handle_type;
  using in_handle = typename In::data_handle_type;
  if constexpr (std::is_pointer_v<out_handle> && std::is_pointer_v<in_handle>) {
    if (sizeof(std::remove_pointer_t<out_handle>) != sizeof(std::remove_pointer_t<in_handle>)) return false;
    if (static_cast<const void*>(out.data_handle()) != static_cast<const void*>(in.data_handle())) return false;
    for (std::size_t r = 0; r < Out::rank(); ++r) {
      if (out.extent(r) != in.extent(r)) return false;
      if (out.extent(r) > 1 && out.stride(r) != in.stride(r)) return false;
    }
    return true;
  } else {
    (void)out;
    (void)in;
    return false;
  }
}

/// For element-wise operations that support the in-place mode: `out` is `in` itself, or the two are
/// disjoint; a partial overlap raises "<fn>: <out_name> partially overlaps <in_name> ...".
template <class Out, class In>
void check_in_place_or_disjoint(const char* fn, const char* out_name, const Out& out, const char* in_name, const In& in) {
  if (is_same_memory(out, in)) return;
  const byte_range o = bytes_of(out), i = bytes_of(in);
  if (!o.intersects(i)) return;
  raise(concat(fn, ": ", out_name, " partially overlaps ", in_name, " in memory (bytes [0x", std::hex, o.begin, ", 0x",
               o.end, ") and [0x", i.begin, ", 0x", i.end, ")); in place, ", out_name, " must be ", in_name,
               " itself (same data, element size, extents and strides), otherwise disjoint"));
}

/// True when no two indices of the mapping give one offset. Sufficient test: sorted by stride, every
/// dimension of extent > 1 steps over the whole span of the smaller ones (true for every layout_right,
/// layout_left, slice and subview; false for a stride of 0 or rows shorter than their pitch).
template <class Mapping>
bool has_distinct_elements(const Mapping& m) noexcept {
  constexpr std::size_t rank = Mapping::extents_type::rank();
  std::array<index_t, rank> extent{}, stride{};
  std::size_t count = 0;
  for (std::size_t r = 0; r < rank; ++r) {
    const index_t e = m.extents().extent(r);
    if (e == 0) return true;  // no element at all
    if (e == 1) continue;
    // insertion by stride (ranks are tiny)
    std::size_t k = count++;
    for (; k > 0 && stride[k - 1] > m.stride(r); --k) {
      stride[k] = stride[k - 1];
      extent[k] = extent[k - 1];
    }
    stride[k] = m.stride(r);
    extent[k] = e;
  }
  index_t span = 1;  // one past the largest offset of the dimensions seen so far
  for (std::size_t k = 0; k < count; ++k) {
    if (stride[k] < span) return false;
    span = stride[k] * (extent[k] - 1) + span;  // fits: the mapping's required span does
  }
  return true;
}

/// Raises "<fn>: <name>'s elements overlap (extents [..], strides [..]) ..." when two of the view's indices
/// address one element: an output written through such a view would be written twice.
template <class View>
void check_distinct_elements(const char* fn, const char* name, const View& v) {
  if (has_distinct_elements(v.mapping())) return;
  std::array<index_t, View::rank()> strides{};
  for (std::size_t r = 0; r < View::rank(); ++r) strides[r] = v.stride(r);
  raise(concat(fn, ": ", name, "'s elements overlap (extents ", array_to_string(v.extents().as_array()), ", strides ",
               array_to_string(strides), "): every element of an output must have memory of its own (e.g. a row "
               "stride of at least the row length)"));
}

}  // namespace qsparse::detail
