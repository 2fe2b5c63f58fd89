// qsparse/spec/packed_weights_16x8.hpp — int8 weights packed for the 16x8 GEMM (int16 activations).
//
//   auto packed = qsparse::pack_weights_16x8(w_kxn);              // symmetric int8, zero point 0
//   qsparse::gemm_16x8(ctx, a_mxk, packed, dst, pipeline);         // qsparse/gemm/gemm_16x8.hpp
//
// The weights are a K×N view of std::int8_t (any layout: a TFLite [N][K] filter is the column-major
// view make_strided_view(filter, {K, N}, {1, K})). TFLite's 16x8 kernels require symmetric weights, so
// there is no zero point; every int8 value including -128 is accepted. Each weight is stored sign-extended
// to int16 in the panels of qsparse/spec/packed_panels.hpp, ready for vpmaddwd / vpdpwssd, with the NR
// and KR of the kernel that reads them (the registry, qsparse/kernels/gemm_16x8_kernels.hpp):
//
//   ISA                   NR  KR  kernel
//   avx512_vnni           32  2   gemm_s16s8_s64_8x32c2__avx512vnni (vpdpwssd)
//   avx512                32  2   gemm_s16s8_s64_8x32c2__avx512     (vpmaddwd + vpaddd)
//   avx2                  16  2   gemm_s16s8_s64_4x16c2__avx2       (vpmaddwd + vpaddd)
//   scalar                16  1   gemm_s16s8_s64_1x16c1__scalar
//
// Example: K = 5, N = 3, avx2 → K padded to 6, one panel of 3 groups × 16 columns × 2 k = 96 int16;
// element (k = 4, n = 2) sits at int16 index (2 * 16 + 2) * 2 + 0 = 68 of panel 0, and index 69 (k = 5)
// is padding (0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/spec/packed_panels.hpp"

namespace qsparse {

/// The packed format of the 16x8 GEMM's weights (a Kind of packed_panels.hpp).
struct weights_16x8_format {
  static constexpr std::uint32_t magic = 0x38365351u;  // "QS68" little-endian
  static constexpr const char* name = "packed_weights_16x8";
  static constexpr int element_bytes = 2;
};

/// A validated, non-owning view of weights packed for the 16x8 GEMM.
using packed_weights_16x8_view = packed_panels_view<weights_16x8_format>;
/// Weights packed for the 16x8 GEMM that own their buffer.
using packed_weights_16x8 = packed_panels<weights_16x8_format>;

/// Bytes needed to pack K×N weights for the 16x8 GEMM in panels of `geometry`.
inline std::size_t packed_weights_16x8_size(std::int64_t k, std::int64_t n, layout_geometry geometry) {
  return packed_panels_size<weights_16x8_format>(k, n, geometry);
}

/// Packs K×N symmetric int8 weights for the 16x8 GEMM kernels of `isa`, in panels of `geometry` (that
/// kernel's NR and KR; qsparse/gemm/packed_weights_16x8.hpp knows them), into `buffer` (64-byte aligned,
/// at least packed_weights_16x8_size(K, N, geometry) bytes) and returns the validated view of it.
template <class T, class Layout, class Accessor>
packed_weights_16x8_view pack_weights_16x8(const tensor_view<T, 2, Layout, Accessor>& weights, isa_level isa,
                                           layout_geometry geometry, void* buffer, std::size_t buffer_bytes) {
  static_assert(std::is_same_v<std::remove_const_t<T>, std::int8_t>,
                "qsparse::pack_weights_16x8: weights must be a 2-D view of std::int8_t (K rows, N columns).");
  return detail::pack_panels<weights_16x8_format>(
      "qsparse::pack_weights_16x8", weights.extent(0), weights.extent(1), isa, geometry, buffer, buffer_bytes,
      [&](std::int64_t k, std::int64_t n, unsigned char* element) {
        const auto w = static_cast<std::int16_t>(weights(static_cast<index_t>(k), static_cast<index_t>(n)));
        std::memcpy(element, &w, sizeof w);
      });
}

/// The same into an owning buffer.
template <class T, class Layout, class Accessor>
packed_weights_16x8 pack_weights_16x8(const tensor_view<T, 2, Layout, Accessor>& weights, isa_level isa,
                                      layout_geometry geometry) {
  const std::int64_t k = weights.extent(0);
  const std::int64_t n = weights.extent(1);
  detail::check(k >= 1 && n >= 1, "qsparse::pack_weights_16x8: weights must be K x N with K, N >= 1, got ", k, " x ",
                n);
  return packed_weights_16x8(k, n, geometry, [&](void* buffer, std::size_t bytes) {
    return pack_weights_16x8(weights, isa, geometry, buffer, bytes);
  });
}

}  // namespace qsparse
