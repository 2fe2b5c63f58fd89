// qsparse/kernels/avx512vnni/madd_pairs.hpp — the int16 pair multiply-add of AVX-512 VNNI (vpdpwssd) as
// the policy of the AVX-512 tiles (kernels/avx512/madd_pairs.hpp): one instruction, no saturation, in place
// of vpmaddwd + vpaddd.
//
// Not always_inline: the AVX-512 tile that calls it is compiled for AVX-512BW until it is inlined into a
// function of this target, where the call is inlined (an always_inline call across the targets would be
// an error).
#pragma once

#include "qsparse/core/config.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512_vnni {

/// acc + a[2i] b[2i] + a[2i+1] b[2i+1] per int32 lane (vpdpwssd).
struct madd_pairs {
  QSPARSE_TARGET_AVX512_VNNI static inline __m512i apply(__m512i acc, __m512i a, __m512i b) {
    return _mm512_dpwssd_epi32(acc, a, b);
  }
};

}  // namespace avx512_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
