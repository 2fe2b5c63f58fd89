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

/// Storage in T clamped to [Min, Max] (PyTorch's custom quant_min / quant_max). The range must hold 0.
template <class T, std::int32_t Min, std::int32_t Max>
struct quant_range {
  static_assert(std::is_integral_v<T> && sizeof(T) <= 4, "qsparse::quant_range<T, Min, Max>: T must be an integer type of at most 32 bits.");
  static_assert(Min <= 0 && 0 <= Max,
                "qsparse::quant_range<T, Min, Max>: the range must contain 0 (PyTorch requires quant_min <= 0 <= quant_max).");
  static_assert(static_cast<std::int64_t>(Min) >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                    static_cast<std::int64_t>(Max) <= static_cast<std::int64_t>(std::numeric_limits<T>::max()),
                "qsparse::quant_range<T, Min, Max>: [Min, Max] must lie inside T's range.");
};

template <class S>
struct storage_traits {
  static_assert(sizeof(S) == 0,
                "qsparse::storage_traits: the storage policy must be std::int8_t, std::uint8_t, std::int16_t, "
                "std::int32_t or qsparse::narrow<std::int8_t / std::int16_t>.");
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

template <class T, std::int32_t Min, std::int32_t Max>
struct storage_traits<quant_range<T, Min, Max>> {
  using value_type = T;
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
}  // namespace detail

/// True for the storage policies listed above.
template <class S>
inline constexpr bool is_storage_v = detail::is_quant_range<S>::value ||
    std::is_same_v<S, std::int8_t> || std::is_same_v<S, std::uint8_t> || std::is_same_v<S, std::int16_t> ||
    std::is_same_v<S, std::int32_t> || std::is_same_v<S, narrow<std::int8_t>> ||
    std::is_same_v<S, narrow<std::int16_t>>;

}  // namespace qsparse
