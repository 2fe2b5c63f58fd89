// qsparse/core/checked.hpp — the one place where size and geometry arithmetic is checked for overflow.
//
// Every product or sum of caller-controlled sizes (extents, filter taps, dilated kernels, packed buffer
// sizes, file offsets) goes through these helpers, so no hostile size wraps around into a small one:
//
//   const std::int64_t taps = detail::checked_mul(fn, "filter_h * filter_w", pool.filter_h, pool.filter_w);
//   // on overflow: qsparse::error
//   //   "qsparse::max_pool2d: filter_h * filter_w overflows int64: 1152921504606846977 * 16"
//
// The non-throwing primitives (mul_overflows, add_overflows) serve constexpr code (extents) and code that
// reports its own message. All arithmetic is on std::int64_t; the inputs may be negative, the result is exact
// or an error. checked_index narrows a result to std::ptrdiff_t (index_t), an error where it does not fit
// (32-bit targets; a plain conversion on 64-bit ones).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

#include "qsparse/core/error.hpp"

namespace qsparse::detail {

/// True when a * b does not fit in int64; otherwise *result = a * b.
constexpr bool mul_overflows(std::int64_t a, std::int64_t b, std::int64_t* result) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_mul_overflow(a, b, result);
#else
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
  if (a == 0 || b == 0) {
    *result = 0;
    return false;
  }
  const bool overflow = a > 0 ? (b > 0 ? a > max / b : b < min / a) : (b > 0 ? a < min / b : a != 0 && b < max / a);
  if (!overflow) *result = a * b;
  return overflow;
#endif
}

/// True when a + b does not fit in int64; otherwise *result = a + b.
constexpr bool add_overflows(std::int64_t a, std::int64_t b, std::int64_t* result) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_add_overflow(a, b, result);
#else
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
  if ((b > 0 && a > max - b) || (b < 0 && a < min - b)) return true;
  *result = a + b;
  return false;
#endif
}

/// a * b; throws qsparse::error "<fn>: <what> overflows int64: <a> * <b>" when it does not fit.
inline std::int64_t checked_mul(const char* fn, const char* what, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (mul_overflows(a, b, &r)) raise(concat(fn, ": ", what, " overflows int64: ", a, " * ", b));
  return r;
}

/// a * b * c * ...; the message shows every factor.
template <class... More>
inline std::int64_t checked_mul(const char* fn, const char* what, std::int64_t a, std::int64_t b, std::int64_t c,
                                More... more) {
  std::int64_t r = a;
  bool overflow = false;
  for (const std::int64_t f : {b, c, static_cast<std::int64_t>(more)...}) overflow = overflow || mul_overflows(r, f, &r);
  if (overflow) {
    std::string factors = std::to_string(a);
    for (const std::int64_t f : {b, c, static_cast<std::int64_t>(more)...}) factors += " * " + std::to_string(f);
    raise(concat(fn, ": ", what, " overflows int64: ", factors));
  }
  return r;
}

/// a + b; throws qsparse::error "<fn>: <what> overflows int64: <a> + <b>" when it does not fit.
inline std::int64_t checked_add(const char* fn, const char* what, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (add_overflows(a, b, &r)) raise(concat(fn, ": ", what, " overflows int64: ", a, " + ", b));
  return r;
}

/// x rounded up to a multiple of `multiple` (x >= 0, multiple >= 1); throws when that does not fit.
inline std::int64_t checked_round_up(const char* fn, const char* what, std::int64_t x, std::int64_t multiple) {
  const std::int64_t up = checked_add(fn, what, x, multiple - 1);
  return up / multiple * multiple;
}

/// The largest allocation qsparse asks for: 2^47 bytes (128 TiB), the user address space of x86-64 and of
/// aarch64 with 48-bit addresses. A larger request is an error before it reaches the allocator (an
/// address sanitizer aborts on requests above its own limit instead of throwing std::bad_alloc).
inline constexpr std::int64_t max_allocation_bytes = std::int64_t{1} << 47;

/// count * element_bytes, checked against max_allocation_bytes: "<fn>: <what> needs count * element_bytes
/// bytes, more than the 2^47 bytes qsparse allocates at most".
inline std::int64_t checked_allocation(const char* fn, const char* what, std::int64_t count, std::int64_t element_bytes) {
  const std::int64_t bytes = checked_mul(fn, what, count, element_bytes);
  check(bytes <= max_allocation_bytes, fn, ": ", what, " needs ", count, " * ", element_bytes, " = ", bytes,
        " bytes, more than the 2^47 bytes qsparse allocates at most");
  return bytes;
}

/// The value itself, after checking that lo <= value <= hi: "<fn>: <what> must be in [lo, hi], got value".
inline std::int64_t checked_range(const char* fn, const char* what, std::int64_t value, std::int64_t lo,
                                  std::int64_t hi) {
  check(value >= lo && value <= hi, fn, ": ", what, " must be in [", lo, ", ", hi, "], got ", value);
  return value;
}

/// value as std::ptrdiff_t (index_t): "<fn>: <what> = value does not fit this target's std::ptrdiff_t" on a
/// target where it is narrower than int64 and value is out of its range.
inline std::ptrdiff_t checked_index(const char* fn, const char* what, std::int64_t value) {
  if constexpr (sizeof(std::ptrdiff_t) < sizeof(std::int64_t)) {
    constexpr auto lo = static_cast<std::int64_t>(std::numeric_limits<std::ptrdiff_t>::min());
    constexpr auto hi = static_cast<std::int64_t>(std::numeric_limits<std::ptrdiff_t>::max());
    check(value >= lo && value <= hi, fn, ": ", what, " = ", value, " does not fit this target's std::ptrdiff_t");
  } else {
    (void)fn;
    (void)what;
  }
  return static_cast<std::ptrdiff_t>(value);
}

}  // namespace qsparse::detail
