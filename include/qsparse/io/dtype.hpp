// qsparse/io/dtype.hpp — the element types of the safetensors format, their names, sizes and C++ types.
//
// The enumerators are in the order of the reference implementation's `Dtype` enum (huggingface/safetensors,
// safetensors/src/tensor.rs), which is also its order of increasing alignment: the writer sorts tensors
// by this order, descending, then by name, exactly as the reference does, so that qsparse and the
// reference produce the same bytes for the same tensors.
//
//   dtype          name       bytes  C++ element type (for typed access)
//   boolean        BOOL       1      bool (each byte must be 0 or 1)
//   u8 / i8        U8 / I8    1      std::uint8_t / std::int8_t
//   f8_e5m2 ...    F8_E5M2    1      raw bytes only (also F8_E4M3, F8_E8M0)
//   i16 / u16      I16 / U16  2      std::int16_t / std::uint16_t
//   f16            F16        2      qsparse::float16
//   bf16           BF16       2      raw bytes only
//   i32 / u32      I32 / U32  4      std::int32_t / std::uint32_t
//   f32            F32        4      float
//   c64            C64        8      raw bytes only (two float32: real, imaginary)
//   f64            F64        8      double
//   i64 / u64      I64 / U64  8      std::int64_t / std::uint64_t
//
// Sub-byte types (F4, F6_E2M3, F6_E3M2) are not supported: a file holding one is rejected by name.
// Everything is little-endian, as the format prescribes (qsparse only builds on little-endian hosts).
//
//   qsparse::io::dtype_of_v<float>        == qsparse::io::dtype::f32
//   qsparse::io::dtype_name(dtype::i8)    == "I8"
//   qsparse::io::dtype_size(dtype::f16)   == 2
//   qsparse::io::dtype_from_name("U8")    -> std::optional<dtype>{dtype::u8}
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "qsparse/core/float16.hpp"

namespace qsparse::io {

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "qsparse/io: the file formats are little-endian and the readers copy bytes as they are; "
              "a big-endian host is not supported.");
#endif

/// The element type of a safetensors tensor, in the reference implementation's order.
enum class dtype : std::uint8_t {
  boolean,
  u8,
  i8,
  f8_e5m2,
  f8_e4m3,
  f8_e8m0,
  i16,
  u16,
  f16,
  bf16,
  i32,
  u32,
  f32,
  c64,
  f64,
  i64,
  u64,
};

namespace detail {

struct dtype_row {
  dtype type;
  std::string_view name;
  std::size_t size;
};

inline constexpr std::array<dtype_row, 17> dtype_table{{
    {dtype::boolean, "BOOL", 1}, {dtype::u8, "U8", 1},           {dtype::i8, "I8", 1},
    {dtype::f8_e5m2, "F8_E5M2", 1}, {dtype::f8_e4m3, "F8_E4M3", 1}, {dtype::f8_e8m0, "F8_E8M0", 1},
    {dtype::i16, "I16", 2},      {dtype::u16, "U16", 2},         {dtype::f16, "F16", 2},
    {dtype::bf16, "BF16", 2},    {dtype::i32, "I32", 4},         {dtype::u32, "U32", 4},
    {dtype::f32, "F32", 4},      {dtype::c64, "C64", 8},         {dtype::f64, "F64", 8},
    {dtype::i64, "I64", 8},      {dtype::u64, "U64", 8},
}};

template <class T>
struct dtype_of {
  static constexpr bool known = false;
};
#define QSPARSE_IO_DTYPE_OF(T, D)                 \
  template <>                                     \
  struct dtype_of<T> {                            \
    static constexpr bool known = true;           \
    static constexpr dtype value = dtype::D;      \
  }
QSPARSE_IO_DTYPE_OF(bool, boolean);
QSPARSE_IO_DTYPE_OF(std::uint8_t, u8);
QSPARSE_IO_DTYPE_OF(std::int8_t, i8);
QSPARSE_IO_DTYPE_OF(std::int16_t, i16);
QSPARSE_IO_DTYPE_OF(std::uint16_t, u16);
QSPARSE_IO_DTYPE_OF(qsparse::float16, f16);
QSPARSE_IO_DTYPE_OF(std::int32_t, i32);
QSPARSE_IO_DTYPE_OF(std::uint32_t, u32);
QSPARSE_IO_DTYPE_OF(float, f32);
QSPARSE_IO_DTYPE_OF(double, f64);
QSPARSE_IO_DTYPE_OF(std::int64_t, i64);
QSPARSE_IO_DTYPE_OF(std::uint64_t, u64);
#undef QSPARSE_IO_DTYPE_OF

}  // namespace detail

/// True when T (cv-qualifiers ignored) has a safetensors dtype: bool, the fixed-width integers,
/// qsparse::float16, float and double.
template <class T>
inline constexpr bool has_dtype_v = detail::dtype_of<std::remove_cv_t<T>>::known;

/// The safetensors dtype of T, e.g. dtype_of_v<std::int8_t> == dtype::i8.
template <class T>
inline constexpr dtype dtype_of_v = [] {
  static_assert(has_dtype_v<T>,
                "qsparse::io::dtype_of_v: T has no safetensors dtype; use bool, std::[u]int{8,16,32,64}_t, "
                "qsparse::float16, float or double (other dtypes are read and written as raw bytes).");
  return detail::dtype_of<std::remove_cv_t<T>>::value;
}();

/// "F32", "I8", ... — the name the format uses in its JSON header.
constexpr std::string_view dtype_name(dtype d) noexcept {
  const auto i = static_cast<std::size_t>(d);
  return i < detail::dtype_table.size() ? detail::dtype_table[i].name : std::string_view("?");
}

/// The size of one element in bytes.
constexpr std::size_t dtype_size(dtype d) noexcept {
  const auto i = static_cast<std::size_t>(d);
  return i < detail::dtype_table.size() ? detail::dtype_table[i].size : 0;
}

/// The dtype named `name` ("F32", ...), or nullopt for a name the format does not have or qsparse
/// does not support. Case-sensitive, as the format is.
constexpr std::optional<dtype> dtype_from_name(std::string_view name) noexcept {
  for (const auto& row : detail::dtype_table) {
    if (row.name == name) return row.type;
  }
  return std::nullopt;
}

}  // namespace qsparse::io
