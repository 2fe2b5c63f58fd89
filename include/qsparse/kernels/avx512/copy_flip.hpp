// qsparse/kernels/avx512/copy_flip.hpp — copies int8 bytes as uint8 with the sign bit flipped (x + 128),
// 64 bytes per step with masked tails: the im2col rows conv2d hands to the VNNI GEMM, which reads uint8
// rows in place (qsparse/conv/conv2d.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

/// dst[i] = uint8(src[i] + 128) for i < n.
QSPARSE_TARGET_AVX512 inline void copy_flip_s8_u8(std::uint8_t* dst, const std::int8_t* src, std::ptrdiff_t n) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  std::ptrdiff_t i = 0;
  for (; i + 64 <= n; i += 64)
    _mm512_storeu_si512(dst + i, _mm512_xor_si512(_mm512_loadu_si512(src + i), flip));
  if (i < n) {
    const __mmask64 mask = (__mmask64{1} << (n - i)) - 1;
    _mm512_mask_storeu_epi8(dst + i, mask, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, src + i), flip));
  }
}

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
