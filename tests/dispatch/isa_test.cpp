#include "qsparse/dispatch/isa.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "support/testing.hpp"

using namespace qsparse;

TEST_CASE("ISA tags form one ladder per architecture that overload resolution walks down", "[isa]") {
  STATIC_REQUIRE(std::is_base_of_v<isa::avx512, isa::avx512_vnni>);
  STATIC_REQUIRE(std::is_base_of_v<isa::avx2, isa::avx512>);
  STATIC_REQUIRE(std::is_base_of_v<isa::scalar, isa::avx2>);
  STATIC_REQUIRE(std::is_base_of_v<isa::avx2, isa::avx_vnni>);
  STATIC_REQUIRE(!std::is_base_of_v<isa::avx_vnni, isa::avx512_vnni>);  // the side rung: no tag derives from it
  STATIC_REQUIRE(isa::avx_vnni::level == isa_level::avx_vnni && isa::avx_vnni::arch == architecture::x86_64);
  STATIC_REQUIRE(std::is_base_of_v<isa::neon_dotprod, isa::neon_i8mm>);
  STATIC_REQUIRE(std::is_base_of_v<isa::neon, isa::neon_dotprod>);
  STATIC_REQUIRE(std::is_base_of_v<isa::scalar, isa::neon>);
  STATIC_REQUIRE(!std::is_base_of_v<isa::avx2, isa::neon>);
  STATIC_REQUIRE(isa::avx512_vnni::arch == architecture::x86_64);
  STATIC_REQUIRE(isa::neon_i8mm::arch == architecture::aarch64);
  STATIC_REQUIRE(isa::scalar::arch == architecture::portable);
  STATIC_REQUIRE(isa::avx512::level == isa_level::avx512);
  STATIC_REQUIRE(isa::neon_dotprod::level == isa_level::neon_dotprod);
  STATIC_REQUIRE(is_isa_tag_v<isa::neon> && !is_isa_tag_v<int>);
  CHECK(std::string(isa::avx512_vnni::name) == "avx512_vnni");
  CHECK(std::string(isa::neon_i8mm::name) == "neon_i8mm");
}

TEST_CASE("isa_level values are a stored format and order only within an architecture", "[isa]") {
  // Packed-weight headers store these numbers: they must never change.
  STATIC_REQUIRE(static_cast<int>(isa_level::scalar) == 0);
  STATIC_REQUIRE(static_cast<int>(isa_level::avx2) == 1);
  STATIC_REQUIRE(static_cast<int>(isa_level::avx512) == 2);
  STATIC_REQUIRE(static_cast<int>(isa_level::avx512_vnni) == 3);
  STATIC_REQUIRE(static_cast<int>(isa_level::neon) == 0x11);
  STATIC_REQUIRE(static_cast<int>(isa_level::neon_i8mm) == 0x13);
  STATIC_REQUIRE(architecture_of(isa_level::scalar) == architecture::portable);
  STATIC_REQUIRE(architecture_of(isa_level::avx2) == architecture::x86_64);
  STATIC_REQUIRE(architecture_of(isa_level::neon_dotprod) == architecture::aarch64);
  STATIC_REQUIRE(rank_of(isa_level::avx512_vnni) == 3 && rank_of(isa_level::neon) == 1);
  // isa_runs(outer, inner): a CPU that runs outer runs inner's code.
  STATIC_REQUIRE(isa_runs(isa_level::avx512_vnni, isa_level::avx2));
  STATIC_REQUIRE(isa_runs(isa_level::avx2, isa_level::scalar));
  STATIC_REQUIRE(isa_runs(isa_level::neon_i8mm, isa_level::neon_dotprod));
  STATIC_REQUIRE(isa_runs(isa_level::neon, isa_level::scalar));
  STATIC_REQUIRE(!isa_runs(isa_level::avx2, isa_level::avx512));
  STATIC_REQUIRE(!isa_runs(isa_level::avx512_vnni, isa_level::neon));
  STATIC_REQUIRE(!isa_runs(isa_level::neon_i8mm, isa_level::avx2));
  STATIC_REQUIRE(!isa_runs(isa_level::scalar, isa_level::neon));
  // The side rung avx_vnni: avx2 < avx_vnni < avx512_vnni, beside avx512 (core/isa.hpp).
  STATIC_REQUIRE(static_cast<int>(isa_level::avx_vnni) == 4);
  STATIC_REQUIRE(architecture_of(isa_level::avx_vnni) == architecture::x86_64);
  STATIC_REQUIRE(isa_runs(isa_level::avx_vnni, isa_level::avx_vnni));
  STATIC_REQUIRE(isa_runs(isa_level::avx_vnni, isa_level::avx2));
  STATIC_REQUIRE(isa_runs(isa_level::avx_vnni, isa_level::scalar));
  STATIC_REQUIRE(isa_runs(isa_level::avx512_vnni, isa_level::avx_vnni));
  STATIC_REQUIRE(!isa_runs(isa_level::avx512, isa_level::avx_vnni));
  STATIC_REQUIRE(!isa_runs(isa_level::avx2, isa_level::avx_vnni));
  STATIC_REQUIRE(!isa_runs(isa_level::avx_vnni, isa_level::avx512));
  STATIC_REQUIRE(!isa_runs(isa_level::avx_vnni, isa_level::avx512_vnni));
  STATIC_REQUIRE(!isa_runs(isa_level::neon_i8mm, isa_level::avx_vnni));
  STATIC_REQUIRE(!isa_runs(isa_level::avx_vnni, isa_level::neon));
  // amx_int8 tops the main ladder (rank 5) and runs the side rung too.
  STATIC_REQUIRE(static_cast<int>(isa_level::amx_int8) == 5 && rank_of(isa_level::amx_int8) == 5);
  STATIC_REQUIRE(std::is_base_of_v<isa::avx512_vnni, isa::amx_int8>);
  STATIC_REQUIRE(isa_runs(isa_level::amx_int8, isa_level::avx512_vnni));
  STATIC_REQUIRE(isa_runs(isa_level::amx_int8, isa_level::avx_vnni));
  STATIC_REQUIRE(isa_runs(isa_level::amx_int8, isa_level::avx512));
  STATIC_REQUIRE(!isa_runs(isa_level::avx512_vnni, isa_level::amx_int8));
  STATIC_REQUIRE(!isa_runs(isa_level::avx_vnni, isa_level::amx_int8));
  STATIC_REQUIRE(!isa_runs(isa_level::neon_i8mm, isa_level::amx_int8));
  STATIC_REQUIRE(preference_of(isa_level::avx512_vnni) < preference_of(isa_level::amx_int8));
  STATIC_REQUIRE(preference_of(isa_level::avx2) < preference_of(isa_level::avx_vnni) &&
                 preference_of(isa_level::avx_vnni) < preference_of(isa_level::avx512));
  CHECK(is_known_isa(0x12));
  CHECK(is_known_isa(4));  // avx_vnni
  CHECK(is_known_isa(5));  // amx_int8
  CHECK(!is_known_isa(6));
  CHECK(!is_known_isa(0x10));
  CHECK(!is_known_isa(0xFF));
}

TEST_CASE("ISA levels print and parse, with every architecture's names", "[isa]") {
  for (isa_level level : all_isa_levels) CHECK(parse_isa_level(to_string(level)) == level);
  REQUIRE_THROWS_WITH(parse_isa_level("sse9"),
                      Catch::Contains("unknown ISA \"sse9\"; expected one of scalar, avx2, avx_vnni, avx512, avx512_vnni, "
                                      "amx_int8, neon, neon_dotprod, neon_i8mm"));
  CHECK(isa_names(architecture::x86_64) == "scalar, avx2, avx_vnni, avx512, avx512_vnni, amx_int8");
  CHECK(isa_names(architecture::aarch64) == "scalar, neon, neon_dotprod, neon_i8mm");
  CHECK(std::string(to_string(architecture::aarch64)) == "aarch64");
}

TEST_CASE("isa_set holds levels and finds the best of one architecture", "[isa]") {
  isa_set s;
  CHECK(!s.contains(isa_level::scalar));
  s.insert(isa_level::scalar);
  s.insert(isa_level::avx2);
  s.insert(isa_level::neon);
  CHECK(s.contains(isa_level::avx2));
  CHECK(!s.contains(isa_level::avx512));
  CHECK(s.best(architecture::x86_64) == isa_level::avx2);
  CHECK(s.best(architecture::aarch64) == isa_level::neon);
  CHECK(s.best(architecture::portable) == isa_level::scalar);
  s.insert(isa_level::avx_vnni);
  CHECK(s.best(architecture::x86_64) == isa_level::avx_vnni);
  s.insert(isa_level::avx512);  // no CPU has this pair without VNNI; the preference order decides
  CHECK(s.best(architecture::x86_64) == isa_level::avx512);
}

TEST_CASE("detected_isas agrees with the raw CPU features", "[isa]") {
  const isa_set detected = detected_isas();
  CHECK(detected.contains(isa_level::scalar));
#if QSPARSE_X86
  const cpu_features& f = cpu();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  CHECK(detected.contains(isa_level::avx2) == avx2);
  CHECK(detected.contains(isa_level::avx512) == avx512);
  CHECK(detected.contains(isa_level::avx512_vnni) == (avx512 && f.avx512_vnni));
  const bool vnni256 = avx2 && (f.avx_vnni || (avx512 && f.avx512_vnni));
  CHECK(detected.contains(isa_level::avx_vnni) == vnni256);
  isa_level expected = isa_level::scalar;
  if (avx2) expected = isa_level::avx2;
  if (vnni256) expected = isa_level::avx_vnni;
  if (avx512) expected = isa_level::avx512;
  if (avx512 && f.avx512_vnni) expected = isa_level::avx512_vnni;
  const bool amx = avx512 && f.avx512_vnni && f.amx_tile && f.amx_int8;
  CHECK(detected.contains(isa_level::amx_int8) == amx);
  if (amx) expected = isa_level::amx_int8;
  CHECK(detected_isa() == expected);
  if (f.amx_int8) CHECK(f.amx_tile);
  // AVX-512 features imply the OS saves ZMM state, VNNI implies AVX-512F.
  if (f.avx512_vnni) CHECK(f.avx512f);
  if (f.avx512bw) CHECK(f.avx512f);
#elif QSPARSE_AARCH64
  const cpu_features& f = cpu();
  CHECK(detected.contains(isa_level::neon) == f.asimd);
  CHECK(detected.contains(isa_level::neon_dotprod) == (f.asimd && f.asimd_dotprod));
  CHECK(detected.contains(isa_level::neon_i8mm) == (f.asimd && f.asimd_dotprod && f.i8mm));
  isa_level expected = isa_level::scalar;
  if (f.asimd) expected = isa_level::neon;
  if (f.asimd && f.asimd_dotprod) expected = isa_level::neon_dotprod;
  if (f.asimd && f.asimd_dotprod && f.i8mm) expected = isa_level::neon_i8mm;
  CHECK(detected_isa() == expected);
#endif
  // No ISA of another architecture is ever detected.
  for (isa_level level : all_isa_levels) {
    if (level != isa_level::scalar && architecture_of(level) != native_architecture) {
      CHECK(!detected.contains(level));
      CHECK(!cpu_supports(level));
    }
  }
}

TEST_CASE("aarch64 features decode from Linux's HWCAP words", "[isa]") {
  constexpr std::uint64_t fp = 1u << 0, asimd = 1u << 1, asimddp = 1u << 20, sve = 1u << 22;
  constexpr std::uint64_t sve2 = 1u << 1, i8mm = 1u << 13, bf16 = 1u << 14;
  constexpr cpu_features none = detail::aarch64_features_from_hwcaps(0, 0);
  STATIC_REQUIRE(!none.asimd && !none.asimd_dotprod && !none.i8mm && !none.bf16 && !none.sve && !none.sve2);
  // Cortex-A53: fp, asimd and nothing newer.
  constexpr cpu_features a53 = detail::aarch64_features_from_hwcaps(fp | asimd, 0);
  STATIC_REQUIRE(a53.asimd && !a53.asimd_dotprod && !a53.i8mm);
  // Neoverse N1: + dot product.
  constexpr cpu_features n1 = detail::aarch64_features_from_hwcaps(fp | asimd | asimddp, 0);
  STATIC_REQUIRE(n1.asimd && n1.asimd_dotprod && !n1.i8mm && !n1.sve);
  // Neoverse V1: + SVE, i8mm, bf16.
  constexpr cpu_features v1 = detail::aarch64_features_from_hwcaps(fp | asimd | asimddp | sve, i8mm | bf16);
  STATIC_REQUIRE(v1.asimd_dotprod && v1.i8mm && v1.bf16 && v1.sve && !v1.sve2);
  constexpr cpu_features n2 = detail::aarch64_features_from_hwcaps(fp | asimd | asimddp | sve, sve2 | i8mm | bf16);
  STATIC_REQUIRE(n2.sve2 && n2.i8mm);
  // Nothing SIMD without Advanced SIMD itself (a kernel's report we would not trust).
  constexpr cpu_features odd = detail::aarch64_features_from_hwcaps(fp | asimddp, i8mm);
  STATIC_REQUIRE(!odd.asimd && !odd.asimd_dotprod && !odd.i8mm);
}

TEST_CASE("the ceiling caps best_isa and scoped_isa_ceiling restores it", "[isa]") {
  const isa_level before = isa_ceiling();
  {
    scoped_isa_ceiling cap(isa_level::scalar);
    CHECK(best_isa() == isa_level::scalar);
#if QSPARSE_X86
    {
      scoped_isa_ceiling cap2(isa_level::avx2);
      CHECK(isa_runs(isa_level::avx2, best_isa()));
      CHECK(best_isa() == (cpu_supports(isa_level::avx2) ? isa_level::avx2 : isa_level::scalar));
    }
    {
      // The side rung caps to AVX2 + 256-bit VNNI; avx512 (Skylake-SP) excludes it, avx512_vnni does not.
      scoped_isa_ceiling cap2(isa_level::avx_vnni);
      CHECK(isa_runs(isa_level::avx_vnni, best_isa()));
      CHECK(best_isa() == (cpu_supports(isa_level::avx_vnni)
                               ? isa_level::avx_vnni
                               : (cpu_supports(isa_level::avx2) ? isa_level::avx2 : isa_level::scalar)));
      scoped_isa_ceiling cap3(isa_level::avx512);
      CHECK(best_isa() == (cpu_supports(isa_level::avx512)
                               ? isa_level::avx512
                               : (cpu_supports(isa_level::avx2) ? isa_level::avx2 : isa_level::scalar)));
      scoped_isa_ceiling cap4(isa_level::avx512_vnni);
      CHECK(best_isa() == (cpu_supports(isa_level::amx_int8) ? isa_level::avx512_vnni : detected_isa()));
      scoped_isa_ceiling cap5(isa_level::amx_int8);
      CHECK(best_isa() == detected_isa());
    }
#elif QSPARSE_AARCH64
    for (isa_level cap : {isa_level::neon, isa_level::neon_dotprod, isa_level::neon_i8mm}) {
      scoped_isa_ceiling cap2(cap);
      CHECK(isa_runs(cap, best_isa()));
      CHECK(best_isa() == (cpu_supports(cap) ? cap : detected_isa()));
    }
#endif
    CHECK(best_isa() == isa_level::scalar);
  }
  CHECK(isa_ceiling() == before);
  CHECK(isa_runs(isa_ceiling(), best_isa()));
}

TEST_CASE("a ceiling of another architecture is a clear error and changes nothing", "[isa]") {
  const isa_level before = isa_ceiling();
#if QSPARSE_X86
  REQUIRE_THROWS_WITH(set_isa_ceiling(isa_level::neon_dotprod),
                      "qsparse::set_isa_ceiling: neon_dotprod is an ISA of aarch64, but qsparse runs on x86-64 here; "
                      "expected one of scalar, avx2, avx_vnni, avx512, avx512_vnni, amx_int8");
  REQUIRE_THROWS_AS(scoped_isa_ceiling(isa_level::neon), error);
#else
  REQUIRE_THROWS_WITH(set_isa_ceiling(isa_level::avx2), Catch::Contains("avx2 is an ISA of x86-64"));
#endif
  CHECK(isa_ceiling() == before);
}

// The guard (ruy's habit): the bit-exactness tests loop over testing::supported_levels(); this fails
// if that list misses a level this CPU runs under the environment's ceiling (QSPARSE_ISA_CEILING: every
// level when it is unset), and, when CI states the ISA its machine must reach (QSPARSE_REQUIRE_ISA, set
// by scripts/run_tests.sh from /proc/cpuinfo), if detection fell short of it — so a broken CPUID path
// cannot silently turn every SIMD test into a scalar one.
TEST_CASE("guard: every ISA level this CPU supports is exercised by the tests", "[isa][guard]") {
  const auto levels = qsparse::testing::supported_levels();
  const isa_level ceiling = qsparse::testing::environment_ceiling();
  INFO("environment ceiling " << to_string(ceiling) << ", detected " << to_string(detected_isa()));
  REQUIRE(!levels.empty());
  CHECK(levels.front() == isa_level::scalar);
  // The highest of them is the one dispatch picks under that ceiling (no scoped ceiling is set here).
  CHECK(levels.back() == best_isa());
  if (isa_runs(ceiling, detected_isa())) CHECK(levels.back() == detected_isa());  // no cap: every level
  // Every level the detected one runs (the ladder below it, and the side rung avx_vnni under
  // avx512_vnni) that the ceiling runs too.
  const auto below = std::count_if(std::begin(all_isa_levels), std::end(all_isa_levels), [&](isa_level level) {
    return isa_runs(detected_isa(), level) && isa_runs(ceiling, level);
  });
  CHECK(static_cast<std::ptrdiff_t>(levels.size()) == below);
  for (isa_level level : all_isa_levels) {
    const bool listed = std::find(levels.begin(), levels.end(), level) != levels.end();
    CHECK(listed == (detected_isas().contains(level) && isa_runs(ceiling, level)));
    CHECK(listed == qsparse::testing::runs_level(level));
  }
  {
    // A test's own scoped ceiling does not shrink the levels the other tests run.
    scoped_isa_ceiling cap(isa_level::scalar);
    CHECK(qsparse::testing::supported_levels() == levels);
  }
  if (const char* required = std::getenv("QSPARSE_REQUIRE_ISA")) {
    INFO("QSPARSE_REQUIRE_ISA=" << required << ", detected " << to_string(detected_isa()));
    CHECK(isa_runs(detected_isa(), parse_isa_level(required)));
  }
}

// Run with QSPARSE_ISA_CEILING=avx9 by the CTest entry dispatch_isa_bad_ceiling (tests/CMakeLists.txt): the
// bad value is reported by every call that needs the ceiling, not once and then silently ignored.
TEST_CASE("a bad QSPARSE_ISA_CEILING is a clear error at every use", "[.isa_bad_ceiling]") {
  const char* env = std::getenv("QSPARSE_ISA_CEILING");
  REQUIRE(env != nullptr);
  REQUIRE(std::string(env) == "avx9");
  const std::string expected = std::string("QSPARSE_ISA_CEILING: unknown ISA \"avx9\"; expected one of ") +
                               isa_names(native_architecture);
  REQUIRE_THROWS_WITH(best_isa(), expected);
  REQUIRE_THROWS_WITH(best_isa(), expected);
  REQUIRE_THROWS_WITH(isa_ceiling(), expected);
  // Setting a ceiling explicitly replaces the bad one.
  set_isa_ceiling(isa_level::scalar);
  CHECK(best_isa() == isa_level::scalar);
}
