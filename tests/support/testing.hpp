// tests/support/testing.hpp — helpers shared by the tests: ISA levels to run, float bit patterns, inputs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/core/error.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/registry.hpp"

namespace qsparse::testing {

/// The ceiling QSPARSE_ISA_CEILING puts on this process (the top of the ladder when it is unset), read once.
/// Not isa_ceiling(): a test that sets a scoped ceiling of its own does not shrink the levels the others run.
inline isa_level environment_ceiling() {
  static const isa_level ceiling = detail::ceiling_from_environment();
  return ceiling;
}

/// True when the tests run `level`: this CPU runs it and the environment's ceiling lets dispatch reach it.
/// A user (or CI) capping the ISA with QSPARSE_ISA_CEILING gets every test passing over the levels at or
/// below the cap; a test that packs weights for a level and then dispatches must not go above it. Tests
/// ask this, never cpu_supports(), which ignores the ceiling.
inline bool runs_level(isa_level level) { return cpu_supports(level) && isa_runs(environment_ceiling(), level); }

/// Every ISA level this CPU can run under the environment's ceiling, lowest first (all of them when
/// QSPARSE_ISA_CEILING is unset). Bit-exactness tests loop over all of them, so each path the CPU has is
/// exercised (see also the guard in tests/dispatch/isa_test.cpp).
inline std::vector<isa_level> supported_levels() {
  std::vector<isa_level> levels;
  for (isa_level level : supported_isas()) {
    if (runs_level(level)) levels.push_back(level);
  }
  return levels;
}

/// The names of the kernels of a registry (qsparse/kernels/registry.hpp) that this CPU runs under the
/// environment's ceiling (runs_level), in the registry's order: what a test sweeping the registry must
/// have exercised.
template <class List>
std::vector<std::string> runnable_kernel_names(List list) {
  std::vector<std::string> names;
  kernels::for_each_kernel(list, [&](auto kernel) {
    using K = decltype(kernel);
    if (runs_level(K::isa) && kernels::cpu_has_kernel_extensions<K>()) names.emplace_back(K::name());
  });
  return names;
}

/// The levels of supported_levels() that have a kernel of their own in the registry that this CPU runs: what
/// a guard over a registry's sweep must have seen (a level with none, e.g. neon for a family with only
/// dot-product kernels, or avx_vnni on an AVX-512 VNNI CPU without the VEX encoding, runs the kernel of a
/// lower level).
template <class List>
std::vector<isa_level> supported_levels_with_kernels(List list) {
  std::vector<isa_level> levels;
  for (isa_level level : supported_levels()) {
    bool has_kernel = false;
    kernels::for_each_kernel(list, [&](auto kernel) {
      using K = decltype(kernel);
      has_kernel = has_kernel || (K::isa == level && kernels::cpu_has_kernel_extensions<K>());
    });
    if (has_kernel) levels.push_back(level);
  }
  return levels;
}

/// Fails (with the kernel's name) if a kernel of the registry that this CPU runs is not in `ran`.
template <class List, class Names>
void require_every_kernel_ran(List list, const Names& ran) {
  for (const std::string& name : runnable_kernel_names(list)) {
    INFO("registered kernel " << name << " runs on this CPU but was never exercised");
    CHECK(std::find(ran.begin(), ran.end(), name) != ran.end());
  }
}

inline float from_bits(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline std::uint32_t to_bits(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

/// The floats whose bit patterns are bits[0 .. count) (oracle vectors are stored as bits).
inline std::vector<float> floats_from_bits(const std::uint32_t* bits, int count) {
  std::vector<float> v(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) v[static_cast<std::size_t>(i)] = from_bits(bits[i]);
  return v;
}

/// The message of the qsparse::error f() throws, or "no error".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const qsparse::error& e) {
    return e.what();
  }
  return "no error";
}

/// Inputs that stress a quantizer with `scale`: exact ties (k + 0.5) * scale and their float
/// neighbours, the saturation edges, zeros of both signs, infinities, NaN, denormals, huge values.
inline std::vector<float> adversarial_floats(float scale) {
  std::vector<float> v;
  for (int k = -300; k <= 300; ++k) {
    const float tie = (static_cast<float>(k) + 0.5f) * scale;
    v.push_back(tie);
    v.push_back(std::nextafter(tie, std::numeric_limits<float>::infinity()));
    v.push_back(std::nextafter(tie, -std::numeric_limits<float>::infinity()));
    v.push_back(static_cast<float>(k) * scale);
  }
  const float specials[] = {0.0f, -0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::min(), std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::max(), 1e30f, -1e30f, 2147483648.0f, -2147483904.0f,
                            8388608.5f, 16777216.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f};
  for (float s : specials) v.push_back(s);
  return v;
}

inline std::vector<float> random_floats(std::size_t n, float spread, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

}  // namespace qsparse::testing
