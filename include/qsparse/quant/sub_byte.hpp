// qsparse/quant/sub_byte.hpp — how sub-byte values are packed into bytes, and a matrix view over them.
//
// The packing rule (normative; docs/numerics.md, "Sub-byte storage"): value i of a packed run of storage S
// (storage_bits_v<S> = b bits, p = 8 / b values per byte) lives in byte i / p at bit offset b * (i % p):
// the first value of a byte is in its least significant bits. For 4-bit storage the even element is the
// low nibble and the odd element the high nibble — TFLite's and ONNX's int4 order
// (tflite::PackInt4ValuesDensely, ONNX INT4/UINT4). llama.cpp's Q4_0 is different: a byte holds element
// j and j + 16 of its 32-element block, offset by 8; reading it is a repacking, not this rule.
// Signed values are stored in two's complement and sign-extended when read. Bits past the last value of a
// run are 0, so every packed buffer of given values is unique.
//
//   std::uint8_t b = 0;
//   qsparse::set_packed<qsparse::int4>(&b, 0, -3);   // b = 0x0D
//   qsparse::set_packed<qsparse::int4>(&b, 1, 5);    // b = 0x5D
//   qsparse::get_packed<qsparse::int4>(&b, 0);       // -3
//
// sub_byte_view<S, Byte> is a rank-2 view over packed values whose lines run along `packed_axis`: with
// packed_axis 1, row r is packed on its own from byte r * line_bytes(); with packed_axis 0, column c is.
// line_bytes() = ceil(extent(packed_axis) / p), so every line starts on a byte. Byte is std::uint8_t (to
// write) or const std::uint8_t. For storage of a byte or more it is simply one value per line element.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"
#include "qsparse/quant/storage.hpp"

namespace qsparse {

/// The number of values of storage S in one byte (2 for 4-bit, 4 for 2-bit storage).
template <class S>
inline constexpr int values_per_byte_v = 8 / storage_bits_v<S>;

/// The bytes n packed values of sub-byte storage S take: ceil(n / values_per_byte_v<S>).
template <class S>
constexpr index_t packed_bytes(index_t n) noexcept {
  static_assert(is_sub_byte_v<S>, "qsparse::packed_bytes: S must be a sub-byte storage (int4, uint4, int2, uint2).");
  return (n + values_per_byte_v<S> - 1) / values_per_byte_v<S>;
}

/// Value i of the packed run at `bytes`, sign-extended for signed storage.
template <class S>
inline typename storage_traits<S>::value_type get_packed(const std::uint8_t* bytes, index_t i) noexcept {
  static_assert(is_sub_byte_v<S>, "qsparse::get_packed: S must be a sub-byte storage (int4, uint4, int2, uint2).");
  constexpr int b = storage_bits_v<S>;
  constexpr int p = values_per_byte_v<S>;
  constexpr unsigned mask = (1u << b) - 1u;
  const unsigned field = (static_cast<unsigned>(bytes[i / p]) >> (b * static_cast<int>(i % p))) & mask;
  using value_type = typename storage_traits<S>::value_type;
  if constexpr (std::is_signed_v<value_type>) {
    const int sign = static_cast<int>(1u << (b - 1));
    return static_cast<value_type>((static_cast<int>(field) ^ sign) - sign);
  } else {
    return static_cast<value_type>(field);
  }
}

/// Stores v (inside S's range; not checked) as value i of the packed run at `bytes`; other values keep
/// their bits.
template <class S>
inline void set_packed(std::uint8_t* bytes, index_t i, typename storage_traits<S>::value_type v) noexcept {
  static_assert(is_sub_byte_v<S>, "qsparse::set_packed: S must be a sub-byte storage (int4, uint4, int2, uint2).");
  constexpr int b = storage_bits_v<S>;
  constexpr int p = values_per_byte_v<S>;
  constexpr unsigned mask = (1u << b) - 1u;
  const int shift = b * static_cast<int>(i % p);
  const unsigned field = static_cast<unsigned>(static_cast<int>(v)) & mask;
  std::uint8_t& byte = bytes[i / p];
  byte = static_cast<std::uint8_t>((byte & ~(mask << shift)) | (field << shift));
}

/// Packs values[0, n) into bytes[0, packed_bytes<S>(n)), the unused high bits of the last byte 0.
template <class S>
inline void pack(const typename storage_traits<S>::value_type* values, index_t n, std::uint8_t* bytes) noexcept {
  for (index_t j = 0; j < packed_bytes<S>(n); ++j) bytes[j] = 0;
  for (index_t i = 0; i < n; ++i) set_packed<S>(bytes, i, values[i]);
}

/// Unpacks n values from bytes into values[0, n).
template <class S>
inline void unpack(const std::uint8_t* bytes, index_t n, typename storage_traits<S>::value_type* values) noexcept {
  for (index_t i = 0; i < n; ++i) values[i] = get_packed<S>(bytes, i);
}

/// A rows x cols matrix of values of storage S, packed line by line along `packed_axis` (see above).
template <class S, class Byte>
class sub_byte_view {
  static_assert(is_sub_byte_v<S>, "qsparse::sub_byte_view: S must be a sub-byte storage (int4, uint4, int2, uint2).");
  static_assert(std::is_same_v<std::remove_const_t<Byte>, std::uint8_t>,
                "qsparse::sub_byte_view: Byte must be std::uint8_t or const std::uint8_t.");

 public:
  using storage = S;
  using value_type = typename storage_traits<S>::value_type;
  using byte_type = Byte;
  static constexpr std::size_t rank() noexcept { return 2; }

  /// Throws qsparse::error for negative extents, packed_axis > 1, a size past the address space or a null
  /// `data` for a non-empty matrix.
  sub_byte_view(Byte* data, index_t rows, index_t cols, std::size_t packed_axis)
      : data_(data), extents_{rows, cols}, packed_axis_(packed_axis) {
    constexpr const char* fn = "qsparse::sub_byte_view";
    detail::check(rows >= 0 && cols >= 0, fn, ": extents must be non-negative, got rows = ", rows, ", cols = ", cols);
    detail::check(packed_axis <= 1, fn, ": packed_axis must be 0 or 1, got packed_axis = ", packed_axis);
    line_bytes_ = packed_bytes<S>(extents_[packed_axis]);
    size_bytes_ = static_cast<index_t>(detail::checked_mul(fn, "bytes", extents_[1 - packed_axis], line_bytes_));
    detail::check(size_bytes_ == 0 || data != nullptr, fn, ": data must not be null for ", size_bytes_, " bytes");
  }

  index_t extent(std::size_t r) const noexcept { return extents_[r]; }
  std::size_t packed_axis() const noexcept { return packed_axis_; }
  /// Bytes per packed line; the buffer holds extent(1 - packed_axis) lines.
  index_t line_bytes() const noexcept { return line_bytes_; }
  index_t size_bytes() const noexcept { return size_bytes_; }
  Byte* data() const noexcept { return data_; }

  value_type get(index_t r, index_t c) const noexcept {
    const index_t line = packed_axis_ == 1 ? r : c, i = packed_axis_ == 1 ? c : r;
    return get_packed<S>(data_ + line * line_bytes_, i);
  }
  template <class B = Byte, std::enable_if_t<!std::is_const_v<B>, int> = 0>
  void set(index_t r, index_t c, value_type v) const noexcept {
    const index_t line = packed_axis_ == 1 ? r : c, i = packed_axis_ == 1 ? c : r;
    set_packed<S>(data_ + line * line_bytes_, i, v);
  }

 private:
  Byte* data_;
  index_t extents_[2];
  std::size_t packed_axis_;
  index_t line_bytes_ = 0;
  index_t size_bytes_ = 0;
};

template <class T>
struct is_sub_byte_view : std::false_type {};
template <class S, class Byte>
struct is_sub_byte_view<sub_byte_view<S, Byte>> : std::true_type {};
template <class T>
inline constexpr bool is_sub_byte_view_v = is_sub_byte_view<T>::value;

}  // namespace qsparse
