// Tests for qsparse/quant/float16.hpp: every ISA path this CPU has, bit-exact against the scalar
// loop (kernels/scalar/convert_f16.hpp, itself checked in tests/core/float16_test.cpp) on all halves,
// a stride through all float patterns, random patterns and every rounding boundary; all tail lengths
// 0..70 at unaligned offsets with guard elements; dispatch and argument errors. The last test case
// fails if an ISA the CPU supports was never exercised.
#include "qsparse/quant/float16.hpp"

#include "support/testing.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using qsparse::float16;
using qsparse::isa_level;

// Every ISA of every architecture: the ones this CPU lacks must be refused.
constexpr const auto& all_levels = qsparse::all_isa_levels;

// exercised[level]: set once a pinned conversion at that level was compared with the scalar loop.
std::vector<isa_level> exercised;

void mark_exercised(isa_level level) {
  if (std::find(exercised.begin(), exercised.end(), level) == exercised.end()) exercised.push_back(level);
}

std::vector<isa_level> supported_levels() {
  std::vector<isa_level> levels;
  for (const isa_level level : all_levels) {
    if (qsparse::cpu_supports(level)) levels.push_back(level);
  }
  return levels;
}

std::vector<float> floats_from_bits(const std::vector<std::uint32_t>& patterns) {
  std::vector<float> f(patterns.size());
  if (!f.empty()) std::memcpy(f.data(), patterns.data(), patterns.size() * sizeof(float));
  return f;
}

std::vector<std::uint16_t> bits_of(const std::vector<float16>& h) {
  std::vector<std::uint16_t> b(h.size());
  for (std::size_t i = 0; i < h.size(); ++i) b[i] = h[i].bits;
  return b;
}

// float -> half on every ISA this CPU has equals the scalar loop on every pattern; reports the first
// mismatch per ISA.
void check_to_float16(const std::vector<std::uint32_t>& patterns) {
  const std::vector<float> in = floats_from_bits(patterns);
  const auto n = static_cast<std::ptrdiff_t>(in.size());
  std::vector<std::uint16_t> expected(in.size());
  qsparse::kernels::scalar::convert_f32_to_f16(in.data(), expected.data(), n);
  std::vector<float16> out(in.size());
  for (const isa_level level : supported_levels()) {
    std::fill(out.begin(), out.end(), float16::from_bits(0xDEAD));
    qsparse::to_float16(level, in.data(), out.data(), n);
    std::size_t mismatches = 0, first = 0;
    if (!out.empty() && std::memcmp(out.data(), expected.data(), out.size() * sizeof(float16)) != 0) {
      for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i].bits != expected[i] && mismatches++ == 0) first = i;
      }
    }
    INFO("isa " << qsparse::to_string(level) << ", " << patterns.size() << " patterns");
    INFO("first mismatch: float bits 0x" << std::hex << (out.empty() ? 0u : patterns[first]) << " -> 0x"
                                         << (out.empty() ? 0u : out[first].bits) << ", scalar 0x"
                                         << (out.empty() ? 0u : expected[first]));
    CHECK(mismatches == 0);
    mark_exercised(level);
  }
}

// Patterns at every rounding boundary (see the sections below).
std::vector<std::uint32_t> boundary_patterns() {
  std::vector<std::uint32_t> p;
  auto around = [&p](std::uint32_t center, std::uint32_t radius) {
    for (std::uint32_t d = 0; d <= 2 * radius; ++d) {
      p.push_back(center + d - radius);
      p.push_back((center + d - radius) ^ 0x80000000u);
    }
  };
  // Every midpoint between consecutive halves, every half itself, and the overflow tie.
  for (std::uint32_t h = 0; h < 0x7C00; ++h) {
    const float lo = qsparse::float_from_float16_bits(static_cast<std::uint16_t>(h));
    const float hi = h + 1 < 0x7C00 ? qsparse::float_from_float16_bits(static_cast<std::uint16_t>(h + 1)) : 65536.0f;
    const float mid = lo + (hi - lo) / 2.0f;  // exact: 12 significant bits
    std::uint32_t m = 0, l = 0;
    std::memcpy(&m, &mid, sizeof m);
    std::memcpy(&l, &lo, sizeof l);
    around(m, 2);
    around(l, 1);
  }
  // Every power of two (every float exponent, including the subnormal/zero and inf/NaN ends).
  for (std::uint32_t e = 0; e < 256; ++e) around(e << 23, 40);
  around(0x477FF000u, 300);  // overflow threshold 65520
  around(0x477FE000u, 300);  // 65504
  around(0x33000000u, 300);  // 2^-25: below rounds to zero
  around(0x33800000u, 300);  // 2^-24: least subnormal half
  around(0x38800000u, 300);  // 2^-14: least normal half
  around(0x387FC000u, 300);  // largest subnormal half
  around(0x7F800000u, 300);  // inf and the first signalling NaNs (and the largest floats)
  around(0x7FC00000u, 300);  // the canonical quiet NaN and the last signalling NaNs
  around(0x7FFFFFFFu, 300);  // the largest NaN payloads (wraps into -0 and the least negatives)
  // NaN payloads: each kept fraction bit alone and together with dropped low bits, quiet or signalling.
  for (std::uint32_t bit = 0; bit < 23; ++bit) {
    for (const std::uint32_t q : {0u, 0x00400000u}) {
      for (const std::uint32_t low : {0u, 1u, 0x0FFFu, 0x1000u, 0x1FFFu}) {
        const std::uint32_t x = 0x7F800000u | q | (1u << bit) | low;
        p.push_back(x);
        p.push_back(x | 0x80000000u);
      }
    }
  }
  return p;
}

// Deterministic mixed inputs for the tail tests: specials first, then random patterns.
std::vector<std::uint32_t> mixed_patterns(std::size_t count) {
  std::vector<std::uint32_t> p = {0x00000000u, 0x80000000u, 0x3F800000u, 0x477FF000u, 0x477FEFFFu, 0x33000000u,
                                  0x33000001u, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x7F800001u, 0xFFA12345u,
                                  0x387FC000u, 0x38800000u, 0x00000001u, 0x3F801000u, 0x3F803000u};
  std::uint32_t state = 0x9E3779B9u;  // xorshift32: cheap enough for a million patterns in debug builds
  const std::size_t specials = p.size();
  p.resize(std::max(count, specials));
  for (std::size_t i = specials; i < p.size(); ++i) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    p[i] = state;
  }
  p.resize(count);
  return p;
}

}  // namespace

TEST_CASE("to_float32: all 65536 halves, every ISA, bit-exact with the scalar loop", "[float16]") {
  std::vector<float16> in(65536);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = float16::from_bits(static_cast<std::uint16_t>(i));
  std::vector<std::uint16_t> in_bits = bits_of(in);
  std::vector<float> expected(in.size());
  qsparse::kernels::scalar::convert_f16_to_f32(in_bits.data(), expected.data(), 65536);
  for (const isa_level level : supported_levels()) {
    INFO("isa " << qsparse::to_string(level));
    std::vector<float> out(in.size(), -7.0f);
    qsparse::to_float32(level, in.data(), out.data(), 65536);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      mismatches += std::memcmp(&out[i], &expected[i], sizeof(float)) != 0 ? 1u : 0u;
    }
    CHECK(mismatches == 0);
    mark_exercised(level);
  }
}

TEST_CASE("to_float16: a stride through all 2^32 float patterns, every ISA", "[float16]") {
  // 2^32 / 4093 ~ 1.05 M patterns, in chunks; 4093 is odd so every low-bit residue is visited.
  constexpr std::uint64_t stride = 4093;
  constexpr std::size_t chunk = 1 << 19;
  std::vector<std::uint32_t> patterns;
  patterns.reserve(chunk);
  for (std::uint64_t x = 0; x <= 0xFFFFFFFFu; x += stride) {
    patterns.push_back(static_cast<std::uint32_t>(x));
    if (patterns.size() == chunk || x + stride > 0xFFFFFFFFu) {
      check_to_float16(patterns);
      patterns.clear();
    }
  }
}

TEST_CASE("to_float16: random float patterns, every ISA", "[float16]") {
  std::mt19937 rng(12345);
  std::vector<std::uint32_t> patterns(1 << 18);
  for (auto& x : patterns) x = rng();
  check_to_float16(patterns);
}

TEST_CASE("to_float16: every rounding boundary, overflow, subnormal and NaN, every ISA", "[float16]") {
  const std::vector<std::uint32_t> patterns = boundary_patterns();
  REQUIRE(patterns.size() > 300000);
  check_to_float16(patterns);
}

TEST_CASE("to_float16 / to_float32: lengths 0..70 at unaligned offsets, nothing outside [0, n) touched",
          "[float16]") {
  constexpr std::ptrdiff_t max_n = 70, max_offset = 17, guard = 8;
  const std::vector<std::uint32_t> patterns = mixed_patterns(max_n + max_offset);
  const std::vector<float> source = floats_from_bits(patterns);
  std::vector<float16> half_source(source.size());
  for (std::size_t i = 0; i < source.size(); ++i) half_source[i] = float16(source[i]);

  for (const isa_level level : supported_levels()) {
    for (std::ptrdiff_t n = 0; n <= max_n; ++n) {
      for (std::ptrdiff_t in_offset = 0; in_offset <= max_offset; in_offset += 3) {
        for (std::ptrdiff_t out_offset = 0; out_offset <= max_offset; out_offset += 5) {
          INFO("isa " << qsparse::to_string(level) << ", n = " << n << ", in offset " << in_offset
                      << ", out offset " << out_offset);
          const float* in = source.data() + in_offset;
          // float -> half
          std::vector<std::uint16_t> expected(static_cast<std::size_t>(n));
          qsparse::kernels::scalar::convert_f32_to_f16(in, expected.data(), n);
          std::vector<float16> out_buffer(static_cast<std::size_t>(out_offset + n + guard),
                                          float16::from_bits(0xA5A5));
          qsparse::to_float16(level, in, out_buffer.data() + out_offset, n);
          bool ok = true;
          for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(out_buffer.size()); ++i) {
            const std::uint16_t got = out_buffer[static_cast<std::size_t>(i)].bits;
            const bool inside = i >= out_offset && i < out_offset + n;
            ok = ok && (inside ? got == expected[static_cast<std::size_t>(i - out_offset)] : got == 0xA5A5);
          }
          CHECK(ok);
          // half -> float
          const float16* half_in = half_source.data() + in_offset;
          std::vector<std::uint16_t> half_bits(static_cast<std::size_t>(n));
          for (std::ptrdiff_t i = 0; i < n; ++i) half_bits[static_cast<std::size_t>(i)] = half_in[i].bits;
          std::vector<float> expected_f(static_cast<std::size_t>(n));
          qsparse::kernels::scalar::convert_f16_to_f32(half_bits.data(), expected_f.data(), n);
          std::vector<float> out_f(static_cast<std::size_t>(out_offset + n + guard), 1234.5f);
          qsparse::to_float32(level, half_in, out_f.data() + out_offset, n);
          bool ok_f = true;
          for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(out_f.size()); ++i) {
            const float got = out_f[static_cast<std::size_t>(i)];
            const bool inside = i >= out_offset && i < out_offset + n;
            ok_f = ok_f && (inside ? std::memcmp(&got, &expected_f[static_cast<std::size_t>(i - out_offset)],
                                                 sizeof(float)) == 0
                                   : got == 1234.5f);
          }
          CHECK(ok_f);
        }
      }
    }
    mark_exercised(level);
  }
}

TEST_CASE("to_float16 / to_float32: large arrays (streaming stores) at unaligned offsets", "[float16]") {
  // One threshold (kernels/drivers/streaming.hpp) for every ISA's streaming path.
  constexpr std::ptrdiff_t n = qsparse::kernels::convert_f16_streaming_threshold + 45;
  constexpr std::ptrdiff_t guard = 16;
  const std::vector<std::uint32_t> patterns = mixed_patterns(static_cast<std::size_t>(n));
  const std::vector<float> in = floats_from_bits(patterns);
  std::vector<std::uint16_t> expected(in.size());
  qsparse::kernels::scalar::convert_f32_to_f16(in.data(), expected.data(), n);
  std::vector<float16> half_in(in.size());
  std::memcpy(half_in.data(), expected.data(), expected.size() * sizeof(float16));
  std::vector<float> expected_f(in.size());
  qsparse::kernels::scalar::convert_f16_to_f32(expected.data(), expected_f.data(), n);

  std::vector<float16> out(static_cast<std::size_t>(n + 2 * guard));
  std::vector<float> out_f(static_cast<std::size_t>(n + 2 * guard));
  for (const isa_level level : supported_levels()) {
    if (level == isa_level::scalar) continue;  // the scalar loop is the reference: no streaming path
    for (const std::ptrdiff_t offset : {std::ptrdiff_t{0}, std::ptrdiff_t{3}}) {
      INFO("isa " << qsparse::to_string(level) << ", out offset " << offset);
      std::fill(out.begin(), out.end(), float16::from_bits(0xA5A5));
      qsparse::to_float16(level, in.data(), out.data() + offset, n);
      CHECK(std::memcmp(out.data() + offset, expected.data(), static_cast<std::size_t>(n) * 2) == 0);
      bool guards_ok = true;
      for (std::ptrdiff_t i = 0; i < offset; ++i) guards_ok = guards_ok && out[static_cast<std::size_t>(i)].bits == 0xA5A5;
      for (std::size_t i = static_cast<std::size_t>(offset + n); i < out.size(); ++i) {
        guards_ok = guards_ok && out[i].bits == 0xA5A5;
      }
      CHECK(guards_ok);

      std::fill(out_f.begin(), out_f.end(), 1234.5f);
      qsparse::to_float32(level, half_in.data(), out_f.data() + offset, n);
      CHECK(std::memcmp(out_f.data() + offset, expected_f.data(), static_cast<std::size_t>(n) * sizeof(float)) == 0);
      bool guards_f_ok = true;
      for (std::ptrdiff_t i = 0; i < offset; ++i) guards_f_ok = guards_f_ok && out_f[static_cast<std::size_t>(i)] == 1234.5f;
      for (std::size_t i = static_cast<std::size_t>(offset + n); i < out_f.size(); ++i) {
        guards_f_ok = guards_f_ok && out_f[i] == 1234.5f;
      }
      CHECK(guards_f_ok);
    }
    mark_exercised(level);
  }
}

TEST_CASE("to_float16 / to_float32: dispatch follows best_isa() and the ceiling", "[float16]") {
  CHECK(std::string(qsparse::float16_kernel_name(isa_level::scalar)) == "convert_f32_f16__scalar");
#if QSPARSE_X86
  CHECK(std::string(qsparse::float16_kernel_name(isa_level::avx2)) == "convert_f32_f16__avx2");
  CHECK(std::string(qsparse::float16_kernel_name(isa_level::avx512)) == "convert_f32_f16__avx512");
  CHECK(std::string(qsparse::float16_kernel_name(isa_level::avx512_vnni)) == "convert_f32_f16__avx512");
#endif
#if QSPARSE_AARCH64
  CHECK(std::string(qsparse::float16_kernel_name(isa_level::neon)) == "convert_f32_f16__neon");
  CHECK(std::string(qsparse::float16_kernel_name(isa_level::neon_i8mm)) == "convert_f32_f16__neon");
#endif
  const std::vector<float> in = floats_from_bits(mixed_patterns(100));
  for (const isa_level level : supported_levels()) {
    qsparse::scoped_isa_ceiling ceiling(level);
    INFO("ceiling " << qsparse::to_string(level));
    CHECK(qsparse::best_isa() == level);
    CHECK(std::string(qsparse::selected_float16_kernel_name()) == qsparse::float16_kernel_name(level));
    std::vector<float16> out(in.size());
    qsparse::to_float16(in.data(), out.data(), static_cast<std::ptrdiff_t>(in.size()));
    std::vector<float> back(in.size());
    qsparse::to_float32(out.data(), back.data(), static_cast<std::ptrdiff_t>(out.size()));
    for (std::size_t i = 0; i < in.size(); ++i) {
      CHECK(out[i].bits == qsparse::float16_bits_from_float(in[i]));
      const float expected = qsparse::float_from_float16_bits(out[i].bits);
      CHECK(std::memcmp(&back[i], &expected, sizeof(float)) == 0);
    }
  }
}

TEST_CASE("to_float16 / to_float32: argument errors", "[float16]") {
  float f[4] = {};
  float16 h[4] = {};
  CHECK_THROWS_WITH(qsparse::to_float16(f, h, -3),
                    Catch::Matchers::Contains("qsparse::to_float16") && Catch::Matchers::Contains("n = -3"));
  CHECK_THROWS_WITH(qsparse::to_float32(h, f, -1),
                    Catch::Matchers::Contains("qsparse::to_float32") && Catch::Matchers::Contains("n = -1"));
  CHECK_THROWS_AS(qsparse::to_float16(isa_level::scalar, f, h, -1), qsparse::error);
  CHECK_THROWS_WITH(qsparse::to_float16(nullptr, h, 2), Catch::Matchers::Contains("in = null"));
  CHECK_THROWS_WITH(qsparse::to_float32(h, nullptr, 2), Catch::Matchers::Contains("out = null"));
  CHECK_NOTHROW(qsparse::to_float16(nullptr, nullptr, 0));
  CHECK_NOTHROW(qsparse::to_float32(nullptr, nullptr, 0));
  for (const isa_level level : all_levels) {
    if (qsparse::cpu_supports(level)) {
      CHECK_NOTHROW(qsparse::to_float16(level, f, h, 4));
    } else {
      CHECK_THROWS_WITH(qsparse::to_float16(level, f, h, 4),
                        Catch::Matchers::Contains(std::string("cannot run isa_level ") + qsparse::to_string(level)));
      CHECK_THROWS_AS(qsparse::to_float32(level, h, f, 4), qsparse::error);
    }
  }
}

// Must stay the last test case in this file (Catch2 runs them in declaration order).
TEST_CASE("float16: every ISA this CPU supports was exercised", "[float16][guard]") {
  for (const isa_level level : all_levels) {
    INFO("isa " << qsparse::to_string(level) << " is supported but no conversion ran on it");
    if (qsparse::cpu_supports(level)) CHECK(std::find(exercised.begin(), exercised.end(), level) != exercised.end());
  }
}

TEST_CASE("float16 conversion through views of any layout", "[float16][views]") {
  std::vector<float> x(6 * 7);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>(i) - 2.0f;
  std::vector<qsparse::float16> h(6 * 14);
  auto xv = qsparse::make_view(static_cast<const float*>(x.data()), qsparse::index_t{6}, qsparse::index_t{7});
  // A strided output: every other column of a 6 x 14 array.
  auto hv = qsparse::make_strided_view(h.data(), {6, 7}, {14, 2});
  for (qsparse::isa_level level : qsparse::testing::supported_levels()) {
    qsparse::to_float16(level, xv, hv);
    for (qsparse::index_t i = 0; i < 6; ++i)
      for (qsparse::index_t j = 0; j < 7; ++j) CHECK(hv(i, j).bits == qsparse::float16(xv(i, j)).bits);
    std::vector<float> back(6 * 7);
    qsparse::to_float32(level, qsparse::tensor_view<const qsparse::float16, 2, qsparse::layout_stride>(hv),
                        qsparse::make_view(back.data(), qsparse::index_t{6}, qsparse::index_t{7}));
    for (qsparse::index_t i = 0; i < 6; ++i)
      for (qsparse::index_t j = 0; j < 7; ++j) CHECK(back[static_cast<std::size_t>(i * 7 + j)] == static_cast<float>(hv(i, j)));
  }
  std::vector<qsparse::float16> small(5);
  REQUIRE_THROWS_WITH(qsparse::to_float16(xv, qsparse::make_view(small.data(), qsparse::index_t{5}, qsparse::index_t{1})),
                      Catch::Contains("extent(0) is 6 vs 5"));
}
