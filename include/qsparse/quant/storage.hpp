// qsparse/quant/storage.hpp — storage policies: the integer type a quantized value is kept in, and its range.
//
// Contract of a storage policy S (checked by is_storage_v):
//   storage_traits<S>::value_type   the integer type in memory (int8_t, uint8_t, int16_t, int32_t)
//   storage_traits<S>::qmin, qmax   the inclusive range quantized values are clamped to (int32)
// A plain integer type is its own policy with its full range; narrow<T> drops the lowest value so the
// range is symmetric ([-127, 127] for int8, TFLite's weight range; [-32767, 32767] for int16).
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
};
}  // namespace detail

template <> struct storage_traits<std::int8_t> : detail::integer_storage<std::int8_t, false> {};
template <> struct storage_traits<std::uint8_t> : detail::integer_storage<std::uint8_t, false> {};
template <> struct storage_traits<std::int16_t> : detail::integer_storage<std::int16_t, false> {};
template <> struct storage_traits<std::int32_t> : detail::integer_storage<std::int32_t, false> {};
template <> struct storage_traits<narrow<std::int8_t>> : detail::integer_storage<std::int8_t, true> {};
template <> struct storage_traits<narrow<std::int16_t>> : detail::integer_storage<std::int16_t, true> {};

template <class S, class = void>
struct is_storage : std::false_type {};
template <class S>
struct is_storage<S, std::void_t<typename storage_traits<S>::value_type>> : std::true_type {};

/// True for the storage policies listed above.
template <class S>
inline constexpr bool is_storage_v =
    std::is_same_v<S, std::int8_t> || std::is_same_v<S, std::uint8_t> || std::is_same_v<S, std::int16_t> ||
    std::is_same_v<S, std::int32_t> || std::is_same_v<S, narrow<std::int8_t>> ||
    std::is_same_v<S, narrow<std::int16_t>>;

}  // namespace qsparse
