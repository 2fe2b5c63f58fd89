// tests/odr: the same headers compiled twice, once with default flags and once with -mavx2 -mfma -mf16c,
// linked into one binary. If any ISA-dependent inline function were not namespaced by its ISA (or were
// compiled differently under different flags with the same mangled name), the linker would keep one copy
// and one of the two translation units would run the other's code; the results would then differ from
// the scalar definition or crash. Each TU quantizes, requantizes and converts the same data.
#pragma once

#include <cstdint>
#include <vector>

struct odr_result {
  std::vector<std::int8_t> quantized;
  std::vector<std::int8_t> requantized;
  std::vector<std::uint16_t> half;
};

odr_result run_default_flags(const std::vector<float>& x, int level);
odr_result run_avx2_flags(const std::vector<float>& x, int level);
