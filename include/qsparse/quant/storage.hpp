// qsparse/quant/storage.hpp — storage policies: the integer type a quantized value is kept in, and its range.
//
// Contract of a storage policy S (checked by is_storage_v):
//   storage_traits<S>::value_type   the integer type in memory (int8_t, uint8_t, int16_t, int32_t)
//   storage_traits<S>::qmin, qmax   the inclusive range quantized values are clamped to (int32)
//   storage_traits<S>::symmetric_zero_point   the zero point of a symmetric scheme over S
// A plain integer type is its own policy with its full range; narrow<T> drops the lowest value so the
// range is symmetric ([-127, 127] for int8, TFLite's weight range; [-32767, 32767] for int16);
// quant_range<T, Min, Max> keeps values in T but clamps them to [Min, Max] — PyTorch's quant_min /
// quant_max: reduce_range's 7 bits (quant_range<std::uint8_t, 0, 127>, quant_range<std::int8_t, -64, 63>)
// or 4-bit ranges ([0, 15], [-8, 7]). Its symmetric zero point is PyTorch's: 0 for a range below zero,
// (Min + Max) / 2 (floor) for an unsigned one.
//
// Sub-byte storage: sub_byte<Bits, Signed> holds Bits-bit integers (two's complement when Signed) packed
// 8 / Bits to a byte — int4 [-8, 7] and uint4 [0, 15] two per byte, int2 [-2, 1] and uint2 [0, 3] four per
// byte (the packing rule is in qsparse/quant/sub_byte.hpp). Its value_type is the byte-sized integer an
// element takes once unpacked (int8_t or uint8_t), so quantize_value returns it and element-wise entry
// points write it one per byte; quant_range<int4, -7, 7> narrows it like any other storage. 3-bit is not
// offered: 3 does not divide 8, so its packing (8 values in 3 bytes, or 10 in a 32-bit word) is a layout
// the kernel that reads it must choose. storage_bits_v<S> is the width in memory (4 for int4, 8 for int8).
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

namespace qsparse {

/// Narrow-range storage: T's range without its lowest value.
template <class T>
struct narrow {
  static_assert(std::is_integral_v<T> && std::is_signed_v<T>,
                "qsparse::narrow<T>: narrow range is defined for signed integer storage only.");
};

/// Bits-bit integers packed 8 / Bits to a byte (Bits = 2 or 4), two's complement when Signed.
template <int Bits, bool Signed>
struct sub_byte {
  static_assert(Bits == 2 || Bits == 4,
                "qsparse::sub_byte<Bits, Signed>: Bits must be 4 (two per byte) or 2 (four per byte); 3-bit packing "
                "is not defined.");
};
using int4 = sub_byte<4, true>;    // [-8, 7], two per byte
using uint4 = sub_byte<4, false>;  // [0, 15], two per byte
using int2 = sub_byte<2, true>;    // [-2, 1], four per byte
using uint2 = sub_byte<2, false>;  // [0, 3], four per byte

namespace detail {
/// The range, in-register type and memory width of a plain integer type or a sub_byte policy.
template <class T>
struct integer_limits {
  using value_type = T;
  static constexpr std::int64_t min = std::numeric_limits<T>::min();
  static constexpr std::int64_t max = std::numeric_limits<T>::max();
  static constexpr int bits = 8 * static_cast<int>(sizeof(T));
};
template <int Bits, bool Signed>
struct integer_limits<sub_byte<Bits, Signed>> {
  using value_type = std::conditional_t<Signed, std::int8_t, std::uint8_t>;
  static constexpr std::int64_t min = Signed ? -(std::int64_t{1} << (Bits - 1)) : 0;
  static constexpr std::int64_t max = Signed ? (std::int64_t{1} << (Bits - 1)) - 1 : (std::int64_t{1} << Bits) - 1;
  static constexpr int bits = Bits;
};
template <class T>
struct is_sub_byte_type : std::false_type {};
template <int Bits, bool Signed>
struct is_sub_byte_type<sub_byte<Bits, Signed>> : std::true_type {};
}  // namespace detail

/// Storage in T clamped to [Min, Max] (PyTorch's custom quant_min / quant_max). The range must hold 0.
/// T is an integer type of at most 32 bits or a sub_byte policy (quant_range<int4, -7, 7>).
template <class T, std::int32_t Min, std::int32_t Max>
struct quant_range {
  static_assert((std::is_integral_v<T> && sizeof(T) <= 4) || detail::is_sub_byte_type<T>::value,
                "qsparse::quant_range<T, Min, Max>: T must be an integer type of at most 32 bits or a qsparse::sub_byte "
                "policy (int4, uint4, int2, uint2).");
  static_assert(Min <= 0 && 0 <= Max,
                "qsparse::quant_range<T, Min, Max>: the range must contain 0 (PyTorch requires quant_min <= 0 <= quant_max).");
  static_assert(static_cast<std::int64_t>(Min) >= detail::integer_limits<T>::min &&
                    static_cast<std::int64_t>(Max) <= detail::integer_limits<T>::max,
                "qsparse::quant_range<T, Min, Max>: [Min, Max] must lie inside T's range.");
};

template <class S>
struct storage_traits {
  static_assert(sizeof(S) == 0,
                "qsparse::storage_traits: the storage policy must be std::int8_t, std::uint8_t, std::int16_t, "
                "std::int32_t, qsparse::narrow<std::int8_t / std::int16_t>, qsparse::quant_range<T, Min, Max> or "
                "qsparse::sub_byte<Bits, Signed> (int4, uint4, int2, uint2).");
};

namespace detail {
template <class T, bool Narrow>
struct integer_storage {
  using value_type = T;
  static constexpr bool is_narrow = Narrow;
  static constexpr std::int32_t qmin = static_cast<std::int32_t>(std::numeric_limits<T>::min()) + (Narrow ? 1 : 0);
  static constexpr std::int32_t qmax = static_cast<std::int32_t>(std::numeric_limits<T>::max());
  static constexpr std::int32_t symmetric_zero_point = qmin < 0 ? 0 : (qmax + 1) / 2;  // 128 for uint8
};
}  // namespace detail

template <> struct storage_traits<std::int8_t> : detail::integer_storage<std::int8_t, false> {};
template <> struct storage_traits<std::uint8_t> : detail::integer_storage<std::uint8_t, false> {};
template <> struct storage_traits<std::int16_t> : detail::integer_storage<std::int16_t, false> {};
template <> struct storage_traits<std::int32_t> : detail::integer_storage<std::int32_t, false> {};
template <> struct storage_traits<narrow<std::int8_t>> : detail::integer_storage<std::int8_t, true> {};
template <> struct storage_traits<narrow<std::int16_t>> : detail::integer_storage<std::int16_t, true> {};

template <int Bits, bool Signed>
struct storage_traits<sub_byte<Bits, Signed>> {
  using value_type = typename detail::integer_limits<sub_byte<Bits, Signed>>::value_type;
  static constexpr bool is_narrow = false;
  static constexpr std::int32_t qmin = static_cast<std::int32_t>(detail::integer_limits<sub_byte<Bits, Signed>>::min);
  static constexpr std::int32_t qmax = static_cast<std::int32_t>(detail::integer_limits<sub_byte<Bits, Signed>>::max);
  static constexpr std::int32_t symmetric_zero_point = qmin < 0 ? 0 : (qmax + 1) / 2;  // 8 for uint4, as 128 for uint8
};

template <class T, std::int32_t Min, std::int32_t Max>
struct storage_traits<quant_range<T, Min, Max>> {
  using value_type = typename detail::integer_limits<T>::value_type;
  static constexpr bool is_narrow = false;
  static constexpr std::int32_t qmin = Min;
  static constexpr std::int32_t qmax = Max;
  static constexpr std::int32_t symmetric_zero_point = Min < 0 ? 0 : (Min + Max) / 2;
};

template <class S, class = void>
struct is_storage : std::false_type {};
template <class S>
struct is_storage<S, std::void_t<typename storage_traits<S>::value_type>> : std::true_type {};

namespace detail {
template <class S>
struct is_quant_range : std::false_type {};
template <class T, std::int32_t Min, std::int32_t Max>
struct is_quant_range<quant_range<T, Min, Max>> : std::true_type {};

template <class S>
struct storage_memory {
  using type = typename storage_traits<S>::value_type;  // plain and narrow storage: the type itself
};
template <int Bits, bool Signed>
struct storage_memory<sub_byte<Bits, Signed>> {
  using type = sub_byte<Bits, Signed>;
};
template <class T, std::int32_t Min, std::int32_t Max>
struct storage_memory<quant_range<T, Min, Max>> {
  using type = T;
};
}  // namespace detail

/// True when S keeps its values packed below a byte (sub_byte, or a quant_range over one).
template <class S>
inline constexpr bool is_sub_byte_v = detail::is_sub_byte_type<typename detail::storage_memory<S>::type>::value;

/// The bits one value of storage S takes in memory: 4 for int4 and quant_range<int4, ...>, 8 for int8.
template <class S>
inline constexpr int storage_bits_v = detail::integer_limits<typename detail::storage_memory<S>::type>::bits;

/// True for the storage policies listed above.
template <class S>
inline constexpr bool is_storage_v = detail::is_quant_range<S>::value || detail::is_sub_byte_type<S>::value ||
    std::is_same_v<S, std::int8_t> || std::is_same_v<S, std::uint8_t> || std::is_same_v<S, std::int16_t> ||
    std::is_same_v<S, std::int32_t> || std::is_same_v<S, narrow<std::int8_t>> ||
    std::is_same_v<S, narrow<std::int16_t>>;

}  // namespace qsparse
