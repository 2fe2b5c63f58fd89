// qsparse/kernels/avx512/madd_pairs.hpp — the int16 pair multiply-add of AVX-512BW as a policy of the
// tiles that also run on AVX-512 VNNI (kernels/avx512vnni/madd_pairs.hpp has the one-instruction form).
//
// A tile templated on the policy is always inlined into its caller; the caller's target attribute then
// covers the policy's instructions, so one tile body serves both ISAs with the loops of a hand-written
// copy each (checked with objdump on GCC 12 and Clang 14).
#pragma once

#include "qsparse/core/config.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

/// acc + a[2i] b[2i] + a[2i+1] b[2i+1] per int32 lane (vpmaddwd, vpaddd).
struct madd_pairs {
  QSPARSE_TARGET_AVX512 static inline __attribute__((always_inline)) __m512i apply(__m512i acc, __m512i a, __m512i b) {
    return _mm512_add_epi32(acc, _mm512_madd_epi16(a, b));
  }
};

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
