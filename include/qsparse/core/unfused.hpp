// qsparse/core/unfused.hpp — products that are rounded before they are added (no FMA contraction).
//
// A definition written `a * b + c` in float means two roundings: the product, then the sum. Compilers may
// contract the two into one fused multiply-add (one rounding): GCC does so by default at -O2 and above
// (-ffp-contract=fast) wherever the target has an FMA instruction, i.e. always on aarch64 and, on x86-64,
// inside every function compiled for FMA (qsparse's AVX2 and AVX-512 kernels carry target("...fma...")
// attributes, and scalar helpers inlined into them are compiled for FMA too); Clang contracts within one
// expression by default and across statements under -ffp-contract=fast. The result then differs in the
// last bit from the definition, from the reference systems' vectors and from the other ISAs.
//
// So every product of a defined result that an addition or subtraction follows goes through
// product_not_fused (or, for a value already computed, rounded), whatever the flags. Where the defined
// result is itself a fused multiply-add, the code says std::fma (or the FMA intrinsic) explicitly.
// SIMD code uses QSPARSE_KEEP_ROUNDED (qsparse/core/config.hpp) on its vectors, the same barrier.
#pragma once

#include "qsparse/core/config.hpp"

namespace qsparse::detail {

/// v, as it is rounded now: never fused with the operation that produced it nor with one that uses it.
inline float rounded(float v) noexcept {
  QSPARSE_KEEP_ROUNDED(v);
  return v;
}
inline double rounded(double v) noexcept {
  QSPARSE_KEEP_ROUNDED(v);
  return v;
}

/// a * b rounded on its own: never contracted into an FMA with an addition that uses it.
inline float product_not_fused(float a, float b) noexcept { return rounded(a * b); }
inline double product_not_fused(double a, double b) noexcept { return rounded(a * b); }

}  // namespace qsparse::detail
