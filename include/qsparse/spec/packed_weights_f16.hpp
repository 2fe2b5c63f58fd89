// qsparse/spec/packed_weights_f16.hpp — weights stored as IEEE binary16 for the float16-weight GEMM.
//
//   auto packed = qsparse::pack_weights_f16(w_kxn);      // float (rounded to float16) or float16 view
//   qsparse::gemm_f16(ctx, a_mxk, packed, dst, pipeline); // qsparse/gemm/gemm_f16.hpp
//
// The weights are a K×N view (any layout) of float — each value is rounded to float16 exactly as
// qsparse::float16{x} / to_float16 do (round to nearest even, overflow to ±inf, gradual underflow, NaN
// kept quiet; qsparse/core/float16.hpp) — or of qsparse::float16, whose bits are copied unchanged.
// They are stored in the panels of qsparse/spec/packed_panels.hpp with KR = 1 (K is never padded):
// element (k, n) of panel p = n / NR is the binary16 at [p][k][n % NR].
//
//   ISA                   NR  kernel
//   avx512, avx512_vnni   32  gemm_f32f16_f32_8x32c1__avx512 (vcvtph2ps + vfmadd231ps on zmm)
//   avx2                  16  gemm_f32f16_f32_6x16c1__avx2   (F16C vcvtph2ps + FMA on ymm)
//   scalar                16  gemm_f32f16_f32_1x16c1__scalar (std::fma)
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/spec/packed_panels.hpp"

namespace qsparse {

/// The packed format of the float16-weight GEMM's weights (a Kind of packed_panels.hpp).
struct weights_f16_format {
  static constexpr std::uint32_t magic = 0x48465351u;  // "QSFH" little-endian
  static constexpr const char* name = "packed_weights_f16";
  static constexpr int element_bytes = 2;
};

/// A validated, non-owning view of float16 weights packed for gemm_f16.
using packed_weights_f16_view = packed_panels_view<weights_f16_format>;
/// float16 weights packed for gemm_f16 that own their buffer.
using packed_weights_f16 = packed_panels<weights_f16_format>;

/// Bytes needed to pack K×N float16 weights in panels of `geometry`.
inline std::size_t packed_weights_f16_size(std::int64_t k, std::int64_t n, layout_geometry geometry) {
  return packed_panels_size<weights_f16_format>(k, n, geometry);
}

/// Packs K×N weights (float, rounded to nearest-even float16, or float16, copied) for the kernels of `isa`,
/// in panels of `geometry` (that kernel's NR and KR; qsparse/gemm/packed_weights_f16.hpp knows them), into
/// `buffer` (64-byte aligned, at least packed_weights_f16_size(K, N, geometry) bytes); returns the view.
template <class T, class Layout, class Accessor>
packed_weights_f16_view pack_weights_f16(const tensor_view<T, 2, Layout, Accessor>& weights, isa_level isa,
                                         layout_geometry geometry, void* buffer, std::size_t buffer_bytes) {
  using value_t = std::remove_const_t<T>;
  static_assert(std::is_same_v<value_t, float> || std::is_same_v<value_t, float16>,
                "qsparse::pack_weights_f16: weights must be a 2-D view of float or qsparse::float16 (K rows, N "
                "columns).");
  return detail::pack_panels<weights_f16_format>(
      "qsparse::pack_weights_f16", weights.extent(0), weights.extent(1), isa, geometry, buffer, buffer_bytes,
      [&](std::int64_t k, std::int64_t n, unsigned char* element) {
        const value_t w = weights(static_cast<index_t>(k), static_cast<index_t>(n));
        std::uint16_t bits = 0;
        if constexpr (std::is_same_v<value_t, float>) {
          bits = float16_bits_from_float(w);
        } else {
          bits = w.bits;
        }
        std::memcpy(element, &bits, sizeof bits);
      });
}

/// The same into an owning buffer.
template <class T, class Layout, class Accessor>
packed_weights_f16 pack_weights_f16(const tensor_view<T, 2, Layout, Accessor>& weights, isa_level isa,
                                    layout_geometry geometry) {
  const std::int64_t k = weights.extent(0);
  const std::int64_t n = weights.extent(1);
  detail::check(k >= 1 && n >= 1, "qsparse::pack_weights_f16: weights must be K x N with K, N >= 1, got ", k, " x ", n);
  return packed_weights_f16(k, n, geometry, [&](void* buffer, std::size_t bytes) {
    return pack_weights_f16(weights, isa, geometry, buffer, bytes);
  });
}

}  // namespace qsparse
