// qsparse/kernels/scalar/add_s8.hpp — TFLite's int8 ADD over a run of values, portable
// (the definition is reference_add_value in qsparse/conv/reference.hpp; this is the same arithmetic).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/isa.hpp"
#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/spec/add_params.hpp"

namespace qsparse {
namespace kernels {
namespace scalar {

struct add_s8 {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "add_s8_c1__scalar"; }

  static void run(const std::int8_t* a, const std::int8_t* b, std::int8_t* out, std::ptrdiff_t count,
                  const add_params& p) {
    for (std::ptrdiff_t i = 0; i < count; ++i) {
      const std::int32_t a_shifted = (std::int32_t{a[i]} + p.input1_offset) * (std::int32_t{1} << p.left_shift);
      const std::int32_t b_shifted = (std::int32_t{b[i]} + p.input2_offset) * (std::int32_t{1} << p.left_shift);
      const std::int32_t sum =
          qsparse::detail::multiply_by_quantized_multiplier(a_shifted, p.input1_multiplier, p.input1_shift) +
          qsparse::detail::multiply_by_quantized_multiplier(b_shifted, p.input2_multiplier, p.input2_shift);
      std::int32_t v = qsparse::detail::multiply_by_quantized_multiplier(sum, p.output_multiplier, p.output_shift) +
                       p.output_offset;
      v = v < p.activation_min ? p.activation_min : (v > p.activation_max ? p.activation_max : v);
      out[i] = static_cast<std::int8_t>(v);
    }
  }
};

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
