// qsparse/kernels/avx512/gemm_s16s8_s64_8x32c2.hpp — the 16x8 GEMM on AVX-512BW (int16 activations ×
// int8 weights, exact int64 sums): up to 8 rows × 32 columns per tile, 2 consecutive k per vpmaddwd lane
// (weights packed as int16, NR = 32, KR = 2; qsparse/spec/packed_weights_16x8.hpp).
//
// A pair sum is at most 2 * 32768 * 128 = 2^23 in magnitude, so int32 sums over blocks of 255 pairs are
// exact (255 * 2^23 < 2^31); the driver (kernels/drivers/row_tiles.hpp) adds each block into int64 sums,
// exact for any K the packing accepts, copies each tile's rows to a zero-padded scratch and runs the
// output stages per element with the scalar definition `evaluate` (the int64 MultiplyByQuantizedMultiplier).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/pair_sums_8x32c2.hpp"
#include "qsparse/kernels/drivers/row_tiles.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_16x8.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

struct gemm_s16s8_s64_8x32c2 : drivers::s16s8_s64_tile<gemm_s16s8_s64_8x32c2> {
  static constexpr int mr = 8;
  static constexpr int nr = 32;
  static constexpr int kr = 2;
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "gemm_s16s8_s64_8x32c2__avx512"; }

  template <int MR>
  QSPARSE_TARGET_AVX512 static void block(const std::int16_t* a, std::ptrdiff_t ld, std::ptrdiff_t q_begin,
                                          std::ptrdiff_t q_end, const std::int16_t* w, std::int32_t* sums) {
    pair_sums_8x32c2<MR>(a, ld, q_begin, q_end, w, sums);
  }

  template <class Out, class... S>
  QSPARSE_TARGET_AVX512 static void run(const gemm_panel_args<std::int16_t, packed_weights_16x8_view, Out>& g,
                                        const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                        std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    drivers::run_row_tiles<gemm_s16s8_s64_8x32c2>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
