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
  // Each ISA's own layout (an ISA of another architecture packs the scalar layout).
  for (const isa_level isa : {isa_level::scalar, isa_level::avx2, isa_level::avx512, isa_level::avx512_vnni,
                              isa_level::amx_int8, isa_level::neon_dotprod, isa_level::neon_i8mm}) {
    INFO("isa " << to_string(isa));
    const bool vnni_layout = isa == isa_level::avx512_vnni || isa == isa_level::amx_int8;
    const packed_weights packed = pack_weights(wv, vnni_layout ? 0 : 3, isa);
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

TEST_CASE("packed_weights: every layout puts element (k, n) at [n / NR][k / KR][n % NR][k % KR]", "[gemm][packed]") {
  // Layouts are data: each packs and validates on every architecture, whichever kernels read it here.
  const index_t k = 19, n = 21;
  std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<std::int8_t>(i * 53 % 256 - 128);
  const auto wv = make_view(static_cast<const std::int8_t*>(w.data()), k, n);
  const std::int32_t w_zp = -5;
  for (std::uint8_t id = 1; is_known_layout(id); ++id) {
    const auto layout = static_cast<packed_layout>(id);
    INFO("layout " << to_string(layout));
    const packed_weights packed = pack_weights(wv, w_zp, isa_level::neon_i8mm, layout);
    const packed_weights_view& v = packed.view();
    const layout_geometry g = geometry_of(layout);
    CHECK(v.layout() == layout);
    CHECK(v.isa() == isa_level::neon_i8mm);
    CHECK(v.k_padded() == (k + g.kr - 1) / g.kr * g.kr);
    CHECK(v.n_padded() == (n + g.nr - 1) / g.nr * g.nr);
    for (index_t kk = 0; kk < v.k_padded(); ++kk) {
      for (index_t nn = 0; nn < v.n_padded(); ++nn) {
        const auto* panel = static_cast<const unsigned char*>(v.panel(nn / g.nr));
        const std::int64_t e = ((kk / g.kr) * g.nr + nn % g.nr) * g.kr + kk % g.kr;
        std::int32_t stored = 0;
        if (g.element_bytes == 1) {
          stored = static_cast<std::int8_t>(panel[e]);
        } else {
          std::int16_t s16;
          std::memcpy(&s16, panel + 2 * e, 2);
          stored = s16;
        }
        const bool padding = kk >= k || nn >= n;
        const std::int32_t want = padding ? 0 : w[static_cast<std::size_t>(kk * n + nn)] - (g.element_bytes == 1 ? 0 : w_zp);
        INFO("k = " << kk << ", n = " << nn);
        REQUIRE(stored == want);
      }
    }
  }
  // s8_c8_nr16 is smmla's operand: q register j of a k group holds columns 2j and 2j + 1, 8 k each.
  const packed_weights mm = pack_weights(wv, 0, isa_level::neon_i8mm, packed_layout::s8_c8_nr16);
  const auto* panel0 = static_cast<const std::int8_t*>(mm.view().panel(0));
  const std::int8_t* q3_group1 = panel0 + 1 * 128 + 3 * 16;  // columns 6 and 7, k 8..15
  for (int i = 0; i < 8; ++i) {
    CHECK(q3_group1[i] == w[static_cast<std::size_t>((8 + i) * n + 6)]);
    CHECK(q3_group1[8 + i] == w[static_cast<std::size_t>((8 + i) * n + 7)]);
  }
  const auto* panel1 = static_cast<const std::int8_t*>(mm.view().panel(1));  // columns 16..31
  const std::int8_t* q2_group2 = panel1 + 2 * 128 + 2 * 16;  // columns 20 and 21 (padding), k 16..18 then padding
  for (int i = 0; i < 8; ++i) {
    CHECK(q2_group2[i] == (16 + i < k ? w[static_cast<std::size_t>((16 + i) * n + 20)] : 0));
    CHECK(q2_group2[8 + i] == 0);
  }
}
