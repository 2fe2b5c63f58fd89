#include "qsparse/dispatch/isa.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "support/testing.hpp"

using namespace qsparse;

TEST_CASE("ISA tags form a ladder that overload resolution walks down", "[isa]") {
  STATIC_REQUIRE(std::is_base_of_v<isa::avx512, isa::avx512_vnni>);
  STATIC_REQUIRE(std::is_base_of_v<isa::avx2, isa::avx512>);
  STATIC_REQUIRE(std::is_base_of_v<isa::scalar, isa::avx2>);
  CHECK(std::string(isa::avx512_vnni::name) == "avx512_vnni");
}

TEST_CASE("ISA levels print and parse", "[isa]") {
  for (int i = 0; i <= 3; ++i) {
    const auto level = static_cast<isa_level>(i);
    CHECK(parse_isa_level(to_string(level)) == level);
  }
  REQUIRE_THROWS_WITH(parse_isa_level("sse9"), Catch::Contains("unknown ISA \"sse9\""));
}

TEST_CASE("detected_isa agrees with the raw CPU features", "[isa]") {
  const cpu_features& f = cpu();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  isa_level expected = isa_level::scalar;
  if (avx2) expected = isa_level::avx2;
  if (avx512) expected = isa_level::avx512;
  if (avx512 && f.avx512_vnni) expected = isa_level::avx512_vnni;
  CHECK(detected_isa() == expected);
  // AVX-512 features imply the OS saves ZMM state, VNNI implies AVX-512F.
  if (f.avx512_vnni) CHECK(f.avx512f);
  if (f.avx512bw) CHECK(f.avx512f);
}

TEST_CASE("the ceiling caps best_isa and scoped_isa_ceiling restores it", "[isa]") {
  const isa_level before = isa_ceiling();
  {
    scoped_isa_ceiling cap(isa_level::scalar);
    CHECK(best_isa() == isa_level::scalar);
    {
      scoped_isa_ceiling cap2(isa_level::avx2);
      CHECK(static_cast<int>(best_isa()) <= static_cast<int>(isa_level::avx2));
    }
    CHECK(best_isa() == isa_level::scalar);
  }
  CHECK(isa_ceiling() == before);
  set_isa_ceiling(isa_level::avx512_vnni);
  CHECK(best_isa() == detected_isa());
  set_isa_ceiling(before);
}

// The guard (ruy's habit): the bit-exactness tests loop over testing::supported_levels(); this fails
// if that list misses a level this CPU runs, and, when CI states the ISA its machine must reach
// (QSPARSE_REQUIRE_ISA, set by scripts/run_tests.sh from /proc/cpuinfo), if detection fell short of it —
// so a broken CPUID path cannot silently turn every SIMD test into a scalar one.
TEST_CASE("guard: every ISA level this CPU supports is exercised by the tests", "[isa][guard]") {
  const auto levels = qsparse::testing::supported_levels();
  REQUIRE(!levels.empty());
  CHECK(levels.front() == isa_level::scalar);
  CHECK(levels.back() == detected_isa());
  CHECK(levels.size() == static_cast<std::size_t>(detected_isa()) + 1);
  if (const char* required = std::getenv("QSPARSE_REQUIRE_ISA")) {
    INFO("QSPARSE_REQUIRE_ISA=" << required << ", detected " << to_string(detected_isa()));
    CHECK(static_cast<int>(detected_isa()) >= static_cast<int>(parse_isa_level(required)));
  }
}
