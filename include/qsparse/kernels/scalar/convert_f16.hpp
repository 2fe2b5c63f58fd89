// qsparse/kernels/scalar/convert_f16.hpp — float32 <-> binary16 array conversion, portable reference.
//
// The definition of the result every SIMD conversion kernel is tested bit-exact against: each element
// goes through qsparse::float16_bits_from_float / float_from_float16_bits (round to nearest even,
// NaNs quieted; see qsparse/core/float16.hpp). Contract of every convert_f16 kernel:
//   convert_f32_to_f16(in, out, n) / convert_f16_to_f32(in, out, n): n >= 0 elements, `in` and
//   `out` do not overlap, no alignment required. Nothing is checked here (see qsparse/quant/float16.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/core/isa.hpp"

namespace qsparse {
namespace kernels {
namespace scalar {

inline constexpr const char* convert_f32_f16_name = "convert_f32_f16__scalar";

inline void convert_f32_to_f16(const float* QSPARSE_RESTRICT in, std::uint16_t* QSPARSE_RESTRICT out,
                               std::ptrdiff_t n) {
  for (std::ptrdiff_t i = 0; i < n; ++i) out[i] = float16_bits_from_float(in[i]);
}

inline void convert_f16_to_f32(const std::uint16_t* QSPARSE_RESTRICT in, float* QSPARSE_RESTRICT out,
                               std::ptrdiff_t n) {
  for (std::ptrdiff_t i = 0; i < n; ++i) out[i] = float_from_float16_bits(in[i]);
}

/// The convert f16 kernels of this ISA as one registry entry (qsparse/kernels/convert_f16_kernels.hpp).
struct convert_f16_kernel {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "convert_f32_f16__scalar"; }
  template <class... Args>
  static void convert_f32_to_f16(Args&&... args) {
    scalar::convert_f32_to_f16(std::forward<Args>(args)...);
  }
  template <class... Args>
  static void convert_f16_to_f32(Args&&... args) {
    scalar::convert_f16_to_f32(std::forward<Args>(args)...);
  }
};

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
