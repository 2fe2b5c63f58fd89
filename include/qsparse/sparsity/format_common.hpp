// qsparse/sparsity/format_common.hpp — what the compressed weight formats share: orientation, value and
// index types, the "stored" rule, and the array descriptors an io layer serializes.
//
// Orientation. Every format holds a weight matrix of K input features × N outputs — the GEMM's K×N
// weights (qsparse/gemm/packed_weights.hpp), K being the reduction axis — compressed output by output:
// for each n, its entries along k, k ascending (the order a sparse kernel consumes them). Each format is
// built from either orientation:
//   F::from_kn(w)   w is K×N (the GEMM's weights, Keras Dense kernels)
//   F::from_nk(w)   w is N×K (TFLite FullyConnected, PyTorch Linear: [out][in], "OI")
// and expands back with to_kn(out) / to_nk(out). Views of any layout are accepted (a strided or
// transposed view costs nothing), so the two are the same matrix read two ways.
//
// Stored elements. An element is stored when its bit pattern is not all zero: +0 (and int 0) is
// dropped, while -0.0 and NaN are kept, so dense -> format -> dense is bit-exact for every input.
// Pruned weights written by apply_mask/strip are +0.
//
// Serialization. Each view lists its contiguous arrays (`arrays()`: name, element type, pointer,
// count); together with the dimensions (K, N and, for block_csr, the block shape) they are the whole
// format. `F_view::from_arrays(...)` wraps arrays that come back (from a file, a memory map) after
// validating every invariant, and the owning form copies a view. size_bytes() is the exact sum of the
// arrays' bytes (the few dimension integers not counted); dense_bytes() is K·N·sizeof(T) for comparison.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"

namespace qsparse {

/// The element types of the arrays of a compressed format.
enum class array_type : std::uint8_t { u8 = 1, i8 = 2, u16 = 3, i16 = 4, i32 = 5, f32 = 6 };

inline const char* to_string(array_type t) {
  switch (t) {
    case array_type::u8: return "u8";
    case array_type::i8: return "i8";
    case array_type::u16: return "u16";
    case array_type::i16: return "i16";
    case array_type::i32: return "i32";
    case array_type::f32: return "f32";
  }
  return "unknown";
}

inline constexpr std::size_t size_of(array_type t) noexcept {
  switch (t) {
    case array_type::u8:
    case array_type::i8: return 1;
    case array_type::u16:
    case array_type::i16: return 2;
    case array_type::i32:
    case array_type::f32: return 4;
  }
  return 0;
}

/// Values a format stores: int8, uint8, int16, int32 or float.
template <class T>
inline constexpr bool is_sparse_value_v =
    std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int16_t> ||
    std::is_same_v<T, std::int32_t> || std::is_same_v<T, float>;

/// Indices a format stores (column indices along K): uint16 (K <= 65536) or int32.
template <class I>
inline constexpr bool is_sparse_index_v = std::is_same_v<I, std::uint16_t> || std::is_same_v<I, std::int32_t>;

template <class T>
constexpr array_type array_type_of() noexcept {
  if constexpr (std::is_same_v<T, std::uint8_t>) return array_type::u8;
  if constexpr (std::is_same_v<T, std::int8_t>) return array_type::i8;
  if constexpr (std::is_same_v<T, std::uint16_t>) return array_type::u16;
  if constexpr (std::is_same_v<T, std::int16_t>) return array_type::i16;
  if constexpr (std::is_same_v<T, std::int32_t>) return array_type::i32;
  if constexpr (std::is_same_v<T, float>) return array_type::f32;
  return array_type::u8;
}

/// One contiguous array of a format, for an io layer to store as it is.
struct array_ref {
  const char* name = "";
  array_type type = array_type::u8;
  const void* data = nullptr;
  std::size_t count = 0;  // elements
  std::size_t bytes() const noexcept { return count * size_of(type); }
};

/// A K×N matrix read through any layout (the input of F::from_kn).
template <class T>
using kn_view = tensor_view<const T, 2, layout_stride>;
/// A K×N (or N×K) destination of any layout.
template <class T>
using dense_out_view = tensor_view<T, 2, layout_stride>;

namespace detail {

/// The offsets of a default-constructed (empty) view: one 0, so that offsets()[n()] is always valid.
inline constexpr std::int32_t empty_offsets[1] = {0};

/// True when v is stored: its bit pattern is not all zero (+0 and 0 are not stored; -0.0 and NaN are).
template <class T>
bool is_stored(T v) noexcept {
  if constexpr (std::is_same_v<T, float>) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return bits != 0;
  } else {
    return v != 0;
  }
}

/// The K×N reading of an N×K view: the same memory with the axes swapped.
template <class T>
kn_view<T> transpose(const tensor_view<const T, 2, layout_stride>& nk) {
  return make_strided_view(nk.data_handle(), {nk.extent(1), nk.extent(0)}, {nk.stride(1), nk.stride(0)});
}
template <class T>
dense_out_view<T> transpose_out(const dense_out_view<T>& nk) {
  return make_strided_view(nk.data_handle(), {nk.extent(1), nk.extent(0)}, {nk.stride(1), nk.stride(0)});
}

/// Checks that an index of up to `largest` fits in Index.
template <class Index>
void check_index_range(const char* function, const char* what, index_t largest) {
  check(largest <= static_cast<index_t>(std::numeric_limits<Index>::max()), "qsparse::", function, ": ", what, " = ",
        largest, " does not fit in the index type (largest ", static_cast<index_t>(std::numeric_limits<Index>::max()),
        "); use std::int32_t indices");
}

/// nnz fits the int32 offsets every format uses.
inline void check_count_range(const char* function, const char* what, index_t count) {
  check(count <= static_cast<index_t>(std::numeric_limits<std::int32_t>::max()), "qsparse::", function, ": ", what,
        " = ", count, " exceeds the int32 offsets of the format");
}

inline void check_array(const char* function, const char* name, const void* data, std::size_t count,
                        std::size_t expected) {
  check(count == expected, "qsparse::", function, ": ", name, " must hold ", expected, " elements, got ", count);
  check(count == 0 || data != nullptr, "qsparse::", function, ": ", name, " is null but must hold ", count,
        " elements");
}

inline void check_dims(const char* function, index_t k, index_t n) {
  // Both below 2^31, so that every size derived from them (k·n, n·ceil(k/8), ...) fits in index_t.
  constexpr index_t limit = std::numeric_limits<std::int32_t>::max();
  check(k >= 0 && k <= limit, "qsparse::", function, ": k must be in [0, 2^31), got k = ", k);
  check(n >= 0 && n <= limit, "qsparse::", function, ": n must be in [0, 2^31), got n = ", n);
}

template <class T>
void check_out_shape(const char* function, const dense_out_view<T>& out, index_t rows, index_t cols, const char* what) {
  if (out.extent(0) != rows || out.extent(1) != cols) {
    raise(concat("qsparse::", function, ": out must be ", what, " = [", rows, ", ", cols,
                 "], got out extents = ", to_string(out.extents())));
  }
}

}  // namespace detail
}  // namespace qsparse
