// qsparse/core/float16.hpp — IEEE 754 binary16 ("half") as a storage type, and its exact conversions.
//
// `float16` is a trivially copyable 2-byte value type that only stores the bits: it has no
// arithmetic and no comparison operators (compare `float(a) == float(b)` for IEEE semantics, or
// `a.bits == b.bits` for identity). Convert explicitly:
//
//   qsparse::float16 h{1.0f};            // bits 0x3C00
//   float f = static_cast<float>(h);     // 1.0f, always exact
//
// The scalar conversions are written with integer operations only (no hardware half support, no
// dependence on MXCSR or <cfenv>) and are bit-for-bit identical to x86 F16C `vcvtps2ph` with
// imm8 = _MM_FROUND_TO_NEAREST_INT and to `vcvtph2ps`, so that the SIMD kernels can be tested
// bit-exact against them (docs/numerics.md):
//
//   float -> half: round to nearest, ties to even; |x| >= 65520 (the tie between 65504 and 2^16)
//     gives ±inf; results below 2^-14 round to subnormal halves (gradual underflow) and |x| <= 2^-25
//     to ±0; the sign of zero is kept. Float subnormals become ±0 (they are < 2^-126).
//     NaN -> NaN with the same sign, the top 10 fraction bits kept (truncated) and the quiet bit set,
//     so a signalling NaN is quieted (0x7F800001 -> 0x7E00, 0x7FA00000 -> 0x7F00).
//   half -> float: exact for every non-NaN half (subnormals included); NaN -> quiet NaN with the same
//     sign and the payload shifted up (0x7C01 -> 0x7FC02000). Hence every half except the 2 * 511
//     signalling NaNs survives half -> float -> half unchanged; a signalling NaN comes back quieted.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace qsparse {

/// float32 bit pattern -> binary16 bit pattern (see the header comment for the exact rule).
constexpr std::uint16_t float16_bits_from_float_bits(std::uint32_t x) noexcept {
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t a = x & 0x7FFFFFFFu;
  if (a > 0x7F800000u) {  // NaN: quiet it, keep the top 10 fraction bits
    return static_cast<std::uint16_t>(sign | 0x7E00u | ((a >> 13) & 0x03FFu));
  }
  if (a >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // >= 65520 and inf
  if (a >= 0x38800000u) {  // normal half: rebias exponent 127 -> 15, round 13 bits away
    std::uint32_t h = (a >> 13) - (112u << 10);
    const std::uint32_t rest = a & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0u)) ++h;  // a carry bumps the exponent
    return static_cast<std::uint16_t>(sign | h);
  }
  if (a <= 0x33000000u) return sign;  // |x| <= 2^-25: ties to even go to zero
  // Subnormal half: value / 2^-24 = m * 2^(e - 126), with e in [102, 112] here.
  const std::uint32_t e = a >> 23;
  const std::uint32_t m = (a & 0x007FFFFFu) | 0x00800000u;
  const std::uint32_t shift = 126u - e;  // 14 .. 24
  std::uint32_t h = m >> shift;
  const std::uint32_t rest = m & ((1u << shift) - 1u);
  const std::uint32_t halfway = 1u << (shift - 1u);
  if (rest > halfway || (rest == halfway && (h & 1u) != 0u)) ++h;  // may become 0x0400, the least normal
  return static_cast<std::uint16_t>(sign | h);
}

/// binary16 bit pattern -> float32 bit pattern (exact; NaNs are quieted).
constexpr std::uint32_t float_bits_from_float16_bits(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1Fu;
  std::uint32_t m = h & 0x03FFu;
  if (e == 0x1Fu) return m == 0u ? (sign | 0x7F800000u) : (sign | 0x7FC00000u | (m << 13));
  if (e != 0u) return sign | ((e + 112u) << 23) | (m << 13);
  if (m == 0u) return sign;
  std::uint32_t exponent = 113u;  // the float exponent of half exponent 1 (2^-14)
  while ((m & 0x0400u) == 0u) {   // normalize the subnormal: at most 10 steps
    m <<= 1;
    --exponent;
  }
  return sign | (exponent << 23) | ((m & 0x03FFu) << 13);
}

/// float -> binary16 bits, round to nearest even (identical to F16C vcvtps2ph).
inline std::uint16_t float16_bits_from_float(float value) noexcept {
  std::uint32_t x = 0;
  std::memcpy(&x, &value, sizeof x);
  return float16_bits_from_float_bits(x);
}

/// binary16 bits -> float, exact (identical to F16C vcvtph2ps).
inline float float_from_float16_bits(std::uint16_t h) noexcept {
  const std::uint32_t x = float_bits_from_float16_bits(h);
  float value = 0.0f;
  std::memcpy(&value, &x, sizeof value);
  return value;
}

/// IEEE binary16 storage type: the bits are a public member, so arrays of float16 can be filled with
/// memcpy (e.g. from a file) without warnings. Default construction leaves them uninitialized (like
/// float); `float16{}` is +0.
struct float16 {
  std::uint16_t bits;

  float16() = default;
  /// Rounds to nearest, ties to even.
  explicit float16(float value) noexcept : bits(float16_bits_from_float(value)) {}
  /// Exact.
  explicit operator float() const noexcept { return float_from_float16_bits(bits); }

  static constexpr float16 from_bits(std::uint16_t value) noexcept {
    float16 h{};
    h.bits = value;
    return h;
  }
};

static_assert(sizeof(float16) == 2 && alignof(float16) == alignof(std::uint16_t),
              "float16 must have the size and alignment of binary16 so arrays of it can be converted "
              "in place of std::uint16_t arrays.");
static_assert(std::is_trivially_copyable<float16>::value && std::is_standard_layout<float16>::value &&
                  std::is_trivially_default_constructible<float16>::value,
              "float16 must be a trivial standard-layout value type.");

}  // namespace qsparse
