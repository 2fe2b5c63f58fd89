// tests/core/checked_test.cpp — the checked size arithmetic every size and geometry product goes through,
// and the allocation limit of qsparse::tensor (issue 22).
#include "qsparse/core/checked.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>

#include "qsparse/core/tensor.hpp"

using namespace qsparse;

TEST_CASE("checked: products and sums that fit are exact, the others name the function, the quantity and the values",
          "[checked]") {
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
  CHECK(detail::checked_mul("f", "a * b", 3, -4) == -12);
  CHECK(detail::checked_mul("f", "a * b", max, 1) == max);
  CHECK(detail::checked_mul("f", "a * b", min, 1) == min);
  CHECK(detail::checked_mul("f", "a * b * c", 2, 3, 7) == 42);
  CHECK(detail::checked_add("f", "a + b", max - 1, 1) == max);
  CHECK(detail::checked_round_up("f", "x", 17, 16) == 32);
  CHECK_THROWS_AS(detail::checked_mul("f", "a * b", min, -1), qsparse::error);
  CHECK_THROWS_WITH(detail::checked_mul("qsparse::f", "filter_h * filter_w", (std::int64_t{1} << 60) + 1, 16),
                    "qsparse::f: filter_h * filter_w overflows int64: 1152921504606846977 * 16");
  CHECK_THROWS_WITH(detail::checked_mul("g", "K * NR * bytes", std::int64_t{1} << 40, 32, std::int64_t{1} << 30),
                    "g: K * NR * bytes overflows int64: 1099511627776 * 32 * 1073741824");
  CHECK_THROWS_WITH(detail::checked_add("h", "in + pad", max, 1), "h: in + pad overflows int64: 9223372036854775807 + 1");
  CHECK_THROWS_WITH(detail::checked_round_up("h", "N rounded up", max, 64),
                    Catch::Contains("h: N rounded up overflows int64"));
  CHECK_THROWS_WITH(detail::checked_allocation("a", "the buffer", std::int64_t{1} << 40, 256),
                    "a: the buffer needs 1099511627776 * 256 = 281474976710656 bytes, more than the 2^47 bytes qsparse "
                    "allocates at most");
  std::int64_t r = 0;
  CHECK(detail::mul_overflows(min, -1, &r));
  CHECK_FALSE(detail::mul_overflows(-3, -5, &r));
  CHECK(r == 15);
  CHECK(detail::add_overflows(min, -1, &r));
}

TEST_CASE("tensor: a size beyond the allocation limit is a qsparse::error, not an allocator abort", "[checked][tensor]") {
  CHECK_THROWS_WITH((tensor<std::int8_t, 2>(index_t{1} << 31, index_t{1} << 20)),
                    "qsparse::tensor: extents [2147483648, 1048576] need 2251799813685248 elements of 1 bytes, more "
                    "than can be allocated (at most 2^47 bytes)");
}
