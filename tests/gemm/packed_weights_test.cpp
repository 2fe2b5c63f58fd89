// tests/gemm/packed_weights_test.cpp — packing and the validation of packed buffers against hostile input
// (issue 22): overflowing header sizes, flipped bytes in the panels or the column sums, column sums that
// leave int32.
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/core/tensor.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using Catch::Matchers::Contains;

namespace {

struct aligned_bytes {
  struct free64 {
    void operator()(unsigned char* p) const noexcept { ::operator delete(p, std::align_val_t{64}); }
  };
  std::unique_ptr<unsigned char, free64> p;
  explicit aligned_bytes(std::size_t n) : p(static_cast<unsigned char*>(::operator new(n, std::align_val_t{64}))) {
    std::memset(p.get(), 0, n);
  }
};

}  // namespace

TEST_CASE("packed_weights: a header whose sizes overflow int64 is refused, not accepted for a small buffer",
          "[gemm][packed][errors]") {
  // K = N = 2^31 on the scalar layout: (K * 16 * 2) * (N / 16) = 2^67 wrapped around to a small size.
  aligned_bytes buffer(4096);
  packed_header h{};
  h.magic = packed_header::magic_value;
  h.version = packed_header::current_version;
  h.layout = static_cast<std::uint8_t>(packed_layout::s16_c1_nr16);
  h.isa = static_cast<std::uint8_t>(isa_level::scalar);
  h.k = h.n = h.k_padded = h.n_padded = std::int64_t{1} << 31;
  h.panel_bytes = h.k * 32;
  h.total_bytes = std::int64_t{1} << 62;
  std::memcpy(buffer.p.get(), &h, sizeof h);
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(buffer.p.get(), 4096),
                    "qsparse::packed_weights_view::from_bytes: the panels' size panel bytes * panels overflows int64: "
                    "68719476736 * 134217728");
  CHECK_THROWS_WITH(packed_weights_size(std::int64_t{1} << 31, std::int64_t{1} << 31, isa_level::scalar),
                    Contains("qsparse::packed_weights_size: the panels' size panel bytes * panels overflows int64"));
  // A size that fits int64 but no address space (2^62 bytes) is refused before the allocator sees it.
  const std::vector<std::int8_t> w(4, 1);
  const auto huge = make_strided_view(w.data(), {std::int64_t{1} << 31, std::int64_t{1} << 31}, {0, 0});
  CHECK_THROWS_WITH(pack_weights(huge, 0, isa_level::avx512_vnni, packed_layout::s8_c4_nr32),
                    Contains("qsparse::packed_storage: the packed weights need") && Contains("more than the 2^47 bytes"));
}

TEST_CASE("packed_weights: from_bytes verifies every element and the column sums", "[gemm][packed][errors]") {
  std::vector<std::int8_t> w(37 * 21);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<std::int8_t>(i * 37 % 251);
  const auto wv = make_view(static_cast<const std::int8_t*>(w.data()), 37, 21);
  for (const isa_level isa : {isa_level::scalar, isa_level::avx2, isa_level::avx512, isa_level::avx512_vnni}) {
    INFO("isa " << to_string(isa));
    const packed_weights packed = pack_weights(wv, isa == isa_level::avx512_vnni ? 0 : 3, isa);
    const std::size_t size = packed.size_bytes();
    aligned_bytes copy(size);
    const auto reset = [&] { std::memcpy(copy.p.get(), packed.view().bytes(), size); };
    reset();
    CHECK(packed_weights_view::from_bytes(copy.p.get(), size).k() == 37);
    // A flipped byte in the column sums.
    const auto sums_at = static_cast<std::size_t>(reinterpret_cast<const unsigned char*>(packed.view().column_sums()) -
                                                  static_cast<const unsigned char*>(packed.view().bytes()));
    copy.p.get()[sums_at + 4 * 5] ^= 0x10;
    CHECK_THROWS_WITH(packed_weights_view::from_bytes(copy.p.get(), size),
                      Contains("qsparse::packed_weights_view::from_bytes: column_sums[5] = ") &&
                          Contains("does not match the stored weights"));
    // A flipped byte in a weight: the stored sums no longer match (or, for int16, no int8 weight).
    reset();
    copy.p.get()[64] ^= 0x01;
    CHECK_THROWS_WITH(packed_weights_view::from_bytes(copy.p.get(), size), Contains("qsparse::packed_weights_view::from_bytes"));
    // A non-zero padding element (column 21 of the first panel is padding).
    reset();
    const layout_geometry g = geometry_of(layout_for(isa));
    const std::int64_t panel = 21 / g.nr, j = 21 % g.nr;
    copy.p.get()[static_cast<std::size_t>(64 + panel * packed.view().panel_bytes() + j * g.kr * g.element_bytes)] = 1;
    CHECK_THROWS_WITH(packed_weights_view::from_bytes(copy.p.get(), size), Contains("padding element (k = 0, n = 21)"));
  }
}

TEST_CASE("packed_weights: a column sum that leaves int32 is an error naming K", "[gemm][packed][errors]") {
  // K = 2^24 + 2 rows of -128 sum to -2^31 - 256.
  const index_t k = (index_t{1} << 24) + 2;
  tensor<std::int8_t, 2> w(k, 1);
  for (auto& v : w) v = -128;
  CHECK_THROWS_WITH(pack_weights(w.view(), 0, isa_level::scalar),
                    "qsparse::pack_weights: the sum of column 0 over K = 16777218 rows is -2147483904, which does not fit "
                    "the int32 column sums; K is too deep for an int32 GEMM (split K)");
}

TEST_CASE("packed_weights: the header's reserved field must be 0 (found by the packed weights fuzzer)",
          "[gemm][packed][errors]") {
  std::vector<std::int8_t> w(6 * 8, 3);
  const packed_weights packed = pack_weights(make_view(static_cast<const std::int8_t*>(w.data()), 6, 8), 0, isa_level::scalar);
  aligned_bytes copy(packed.size_bytes());
  std::memcpy(copy.p.get(), packed.view().bytes(), packed.size_bytes());
  copy.p.get()[47] ^= 0x71;  // the last byte of packed_header::reserved
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(copy.p.get(), packed.size_bytes()),
                    "qsparse::packed_weights_view::from_bytes: the header's reserved field must be 0, got 1895825408");
}
