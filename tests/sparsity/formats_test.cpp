// Tests of the compressed formats: bitmask_values.hpp, csr.hpp, block_csr.hpp, packed_2_4.hpp.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "qsparse/core/tensor.hpp"
#include "qsparse/sparsity/bitmask_values.hpp"
#include "qsparse/sparsity/block_csr.hpp"
#include "qsparse/sparsity/csr.hpp"
#include "qsparse/sparsity/n_of_m.hpp"
#include "qsparse/sparsity/packed_2_4.hpp"
#include "qsparse/sparsity/pruner.hpp"
#include "sparsity/test_util.hpp"

using namespace qsparse;
using qsparse::sparsity_testing::error_of;

namespace {

template <class T>
bool same_bits(const T* a, const T* b, std::size_t n) {
  return n == 0 || std::memcmp(a, b, n * sizeof(T)) == 0;  // memcmp must not see a null pointer
}

/// A K×N matrix with about `density` of its elements stored; floats include -0.0 and NaN among them.
template <class T>
tensor<T, 2> random_sparse(index_t k, index_t n, double density, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::uniform_int_distribution<int> small(-128, 127);
  tensor<T, 2> w(k, n);
  for (index_t i = 0; i < w.size(); ++i) {
    if (u(rng) >= density) continue;
    if constexpr (std::is_same_v<T, float>) {
      const double r = u(rng);
      w.data()[i] = r < 0.02 ? -0.0f : r < 0.03 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(u(rng) * 4 - 2);
    } else {
      int v = small(rng);
      w.data()[i] = static_cast<T>(v == 0 ? 1 : v);
    }
  }
  return w;
}

/// 2:4 along K of a K×N matrix: n_of_m<2, 4, 0> applied to random weights, then cast.
template <class T>
tensor<T, 2> random_2_4(index_t k, index_t n, std::uint32_t seed) {
  tensor<float, 2> w(k, n);
  const auto init = qsparse::sparsity_testing::weights_with_ties(static_cast<std::size_t>(k * n), seed);
  std::copy(init.begin(), init.end(), w.begin());
  tensor<float, 2> mask(k, n);
  compute_mask<n_of_m<2, 4, 0>>(w.view(), mask.view(), 0.0f);
  apply_mask(w.view(), mask.view());
  tensor<T, 2> out(k, n);
  for (index_t i = 0; i < w.size(); ++i) {
    if constexpr (std::is_same_v<T, float>) {
      out.data()[i] = w.data()[i];
    } else {
      out.data()[i] = static_cast<T>(w.data()[i] == 0.0f ? 0 : (w.data()[i] > 0 ? 1 + (i % 100) : -1 - (i % 100)));
    }
  }
  return out;
}

template <class T>
index_t stored_count(const tensor<T, 2>& w) {
  index_t c = 0;
  for (const T& v : w) c += detail::is_stored(v);
  return c;
}

/// Round trip through K×N and N×K, checking bits; returns the format for size checks.
template <class F, class T, class... Args>
F round_trip(const tensor<T, 2>& w, Args... args) {
  const index_t k = w.extent(0), n = w.extent(1);
  const F f = F::from_kn(w.view(), args...);
  tensor<T, 2> back(k, n);
  for (auto& x : back) x = T(5);  // every element must be written
  f.to_kn(back.view());
  CHECK(same_bits(w.data(), back.data(), static_cast<std::size_t>(w.size())));
  // N×K input (the transpose in memory) gives the same arrays; N×K output is the transpose.
  tensor<T, 2> nk(n, k);
  for (index_t a = 0; a < k; ++a)
    for (index_t b = 0; b < n; ++b) nk(b, a) = w(a, b);
  const F g = F::from_nk(nk.view(), args...);
  CHECK(g.size_bytes() == f.size_bytes());
  tensor<T, 2> back_nk(n, k);
  g.to_nk(back_nk.view());
  CHECK(same_bits(nk.data(), back_nk.data(), static_cast<std::size_t>(nk.size())));
  // The arrays, wrapped again through from_arrays, hold the same matrix.
  CHECK(f.dense_bytes() == static_cast<std::size_t>(k * n) * sizeof(T));
  return f;
}

template <class T>
void check_all_formats(index_t k, index_t n, double density, std::uint32_t seed) {
  INFO("k = " << k << ", n = " << n << ", density " << density << ", seed " << seed);
  const auto w = random_sparse<T>(k, n, density, seed);
  const index_t nnz = stored_count(w);
  {
    const auto f = round_trip<bitmask_values<T>>(w);
    CHECK(f.nnz() == nnz);
    CHECK(f.size_bytes() == static_cast<std::size_t>(n * ((k + 7) / 8) + nnz * static_cast<index_t>(sizeof(T))));
    const auto v = f.view();
    const auto a = v.arrays();
    const auto again = bitmask_values_view<T>::from_arrays(k, n, static_cast<const std::uint8_t*>(a[0].data), a[0].count,
                                                           static_cast<const T*>(a[1].data), a[1].count);
    CHECK(a[0].bytes() + a[1].bytes() == f.size_bytes());
    tensor<T, 2> back(k, n);
    bitmask_values<T>(again).to_kn(back.view());
    CHECK(same_bits(w.data(), back.data(), static_cast<std::size_t>(w.size())));
  }
  {
    const auto f = round_trip<csr<T>>(w);
    CHECK(f.nnz() == nnz);
    CHECK(f.size_bytes() == static_cast<std::size_t>(4 * (n + 1) + nnz * (4 + static_cast<index_t>(sizeof(T)))));
    const auto g = round_trip<csr<T, std::uint16_t>>(w);
    CHECK(g.size_bytes() == static_cast<std::size_t>(4 * (n + 1) + nnz * (2 + static_cast<index_t>(sizeof(T)))));
    const auto a = f.view().arrays();
    CHECK(a[0].bytes() + a[1].bytes() + a[2].bytes() == f.size_bytes());
    const auto again = csr_view<T>::from_arrays(k, n, static_cast<const std::int32_t*>(a[0].data), a[0].count,
                                               static_cast<const std::int32_t*>(a[1].data), a[1].count,
                                               static_cast<const T*>(a[2].data), a[2].count);
    tensor<T, 2> back(k, n);
    again.to_kn(back.view());
    CHECK(same_bits(w.data(), back.data(), static_cast<std::size_t>(w.size())));
  }
  for (const auto& shape : {std::array<index_t, 2>{4, 1}, std::array<index_t, 2>{1, 4}, std::array<index_t, 2>{8, 1},
                            std::array<index_t, 2>{3, 2}, std::array<index_t, 2>{1, 1}}) {
    const index_t bk = shape[0], bn = shape[1];
    INFO("block_k = " << bk << ", block_n = " << bn);
    const auto f = round_trip<block_csr<T>>(w, bk, bn);
    // count the tiles holding a stored element
    index_t tiles = 0;
    for (index_t r = 0; r < (n + bn - 1) / bn; ++r)
      for (index_t c = 0; c < (k + bk - 1) / bk; ++c) {
        bool any = false;
        for (index_t j = r * bn; j < std::min(n, r * bn + bn); ++j)
          for (index_t i = c * bk; i < std::min(k, c * bk + bk); ++i) any = any || detail::is_stored(w(i, j));
        tiles += any;
      }
    CHECK(f.blocks() == tiles);
    CHECK(f.size_bytes() == static_cast<std::size_t>(4 * ((n + bn - 1) / bn + 1) +
                                                     tiles * (4 + bk * bn * static_cast<index_t>(sizeof(T)))));
    if (bk == 1 && bn == 1) CHECK(f.size_bytes() == csr<T>::from_kn(w.view()).size_bytes());
    const auto a = f.view().arrays();
    CHECK(a[0].bytes() + a[1].bytes() + a[2].bytes() == f.size_bytes());
    const auto again = block_csr_view<T>::from_arrays(k, n, bk, bn, static_cast<const std::int32_t*>(a[0].data), a[0].count,
                                                     static_cast<const std::int32_t*>(a[1].data), a[1].count,
                                                     static_cast<const T*>(a[2].data), a[2].count);
    tensor<T, 2> back(k, n);
    again.to_kn(back.view());
    CHECK(same_bits(w.data(), back.data(), static_cast<std::size_t>(w.size())));
  }
  {
    const auto w24 = random_2_4<T>(k, n, seed);
    const auto f = round_trip<packed_2_4<T>>(w24);
    const index_t groups = (k + 3) / 4;
    CHECK(f.size_bytes() == static_cast<std::size_t>(n * groups * 2 * static_cast<index_t>(sizeof(T)) + n * ((groups + 1) / 2)));
    const auto a = f.view().arrays();
    CHECK(a[0].bytes() + a[1].bytes() == f.size_bytes());
    const auto again = packed_2_4_view<T>::from_arrays(k, n, static_cast<const T*>(a[0].data), a[0].count,
                                                       static_cast<const std::uint8_t*>(a[1].data), a[1].count);
    tensor<T, 2> back(k, n);
    again.to_kn(back.view());
    CHECK(same_bits(w24.data(), back.data(), static_cast<std::size_t>(w24.size())));
  }
}

}  // namespace

TEST_CASE("formats: lossless round trips and exact sizes, int8 and float, edge shapes", "[sparsity][formats]") {
  std::uint32_t seed = 1;
  for (const auto& kn : {std::array<index_t, 2>{1, 1}, std::array<index_t, 2>{4, 1}, std::array<index_t, 2>{5, 3},
                         std::array<index_t, 2>{7, 9}, std::array<index_t, 2>{8, 8}, std::array<index_t, 2>{13, 6},
                         std::array<index_t, 2>{64, 17}, std::array<index_t, 2>{0, 3}, std::array<index_t, 2>{3, 0}}) {
    for (double density : {0.0, 0.05, 0.3, 0.5, 1.0}) {
      check_all_formats<std::int8_t>(kn[0], kn[1], density, seed);
      check_all_formats<float>(kn[0], kn[1], density, seed + 1000);
      ++seed;
    }
  }
}

TEST_CASE("formats: the documented byte layouts", "[sparsity][formats]") {
  SECTION("csr: K = 4, N = 2") {
    tensor<std::int8_t, 2> w(4, 2);
    w(1, 0) = 5;
    w(0, 1) = 7;
    w(3, 1) = -2;
    const auto c = csr<std::int8_t>::from_kn(w.view());
    const auto v = c.view();
    CHECK(std::vector<std::int32_t>(v.offsets(), v.offsets() + 3) == std::vector<std::int32_t>{0, 1, 3});
    CHECK(std::vector<std::int32_t>(v.indices(), v.indices() + 3) == std::vector<std::int32_t>{1, 0, 3});
    CHECK(std::vector<std::int8_t>(v.values(), v.values() + 3) == std::vector<std::int8_t>{5, 7, -2});
    CHECK(c.size_bytes() == 12 + 12 + 3);
  }
  SECTION("bitmask: K = 10, N = 1, stored at 0, 3, 9") {
    tensor<float, 2> w(10, 1);
    w(0, 0) = 1.5f;
    w(3, 0) = -0.0f;  // stored: its bits are not zero
    w(9, 0) = 2.0f;
    const auto b = bitmask_values<float>::from_kn(w.view());
    CHECK(b.view().bitmask()[0] == 0b00001001);
    CHECK(b.view().bitmask()[1] == 0b00000010);
    CHECK(b.nnz() == 3);
    CHECK(std::signbit(b.view().values()[1]));
    CHECK(b.size_bytes() == 2 + 12);
  }
  SECTION("block_csr: K = 6, N = 2, 4 along K") {
    tensor<std::int8_t, 2> w(6, 2);
    w(4, 0) = 3;
    w(5, 0) = 4;
    const auto c = block_csr<std::int8_t>::from_kn(w.view(), 4, 1);
    const auto v = c.view();
    CHECK(v.block_rows() == 2);
    CHECK(v.block_cols() == 2);
    CHECK(std::vector<std::int32_t>(v.offsets(), v.offsets() + 3) == std::vector<std::int32_t>{0, 1, 1});
    CHECK(v.indices()[0] == 1);
    CHECK(std::vector<std::int8_t>(v.values(), v.values() + 4) == std::vector<std::int8_t>{3, 4, 0, 0});
    CHECK(c.size_bytes() == 12 + 4 + 4);
    // 1 x 4 along N (block_k = 1, block_n = 4): one tile row, tiles at k = 4 and 5.
    const auto d = block_csr<std::int8_t>::from_kn(w.view(), 1, 4);
    CHECK(d.blocks() == 2);
    CHECK(std::vector<std::int8_t>(d.view().values(), d.view().values() + 8) ==
          std::vector<std::int8_t>{3, 0, 0, 0, 4, 0, 0, 0});
  }
  SECTION("packed 2:4: K = 8, N = 1") {
    tensor<std::int8_t, 2> w(8, 1);
    w(1, 0) = 3;
    w(3, 0) = -1;
    w(7, 0) = 7;
    const auto p = packed_2_4<std::int8_t>::from_kn(w.view());
    CHECK(std::vector<std::int8_t>(p.view().values(), p.view().values() + 4) == std::vector<std::int8_t>{3, -1, 0, 7});
    CHECK(p.view().indices()[0] == 0xCD);
    CHECK(p.size_bytes() == 4 + 1);
    // K = 5: 2 groups, one index byte; the last group (one element) fills positions 0 and 1.
    tensor<float, 2> f(5, 1);
    f(4, 0) = 2.0f;
    const auto q = packed_2_4<float>::from_kn(f.view());
    CHECK(q.view().indices()[0] == 0x44);  // groups 0 and 1: positions 0, 1 -> nibble 0b0100
    CHECK(q.view().values()[2] == 2.0f);
    CHECK(q.size_bytes() == 16 + 1);
  }
}

TEST_CASE("formats: bad input is reported, naming the argument", "[sparsity][formats][errors]") {
  tensor<std::int8_t, 2> w(8, 2);
  w(0, 1) = 1;
  w(1, 1) = 1;
  w(3, 1) = 1;
  CHECK(error_of([&] { packed_2_4<std::int8_t>::from_kn(w.view()); }) ==
        "qsparse::packed_2_4::from_kn: output n = 1 holds more than 2 non-zeros in k = 0..3; 2:4 allows at most 2 in "
        "every 4 consecutive k (prune with n_of_m<2, 4> along K first)");
  CHECK(error_of([&] { block_csr<std::int8_t>::from_kn(w.view(), 0, 4); }) ==
        "qsparse::block_csr::from_kn: block_k must be in [1, 1024], got block_k = 0");
  CHECK(error_of([&] { block_csr<std::int8_t>::from_kn(w.view(), 4, -1); }) ==
        "qsparse::block_csr::from_kn: block_n must be in [1, 1024], got block_n = -1");
  tensor<std::int8_t, 2> wide(70000, 1);
  CHECK(error_of([&] { csr<std::int8_t, std::uint16_t>::from_kn(wide.view()); }) ==
        "qsparse::csr::from_kn: k - 1 = 69999 does not fit in the index type (largest 65535); use std::int32_t indices");
  CHECK(error_of([&] { csr<std::int8_t, std::uint16_t>::from_kn(tensor<std::int8_t, 2>(65536, 1).view()); }) == "no error");
  tensor<std::int8_t, 2> out(2, 8);
  CHECK(error_of([&] { csr<std::int8_t>::from_kn(w.view()).to_kn(out.view()); }) ==
        "qsparse::csr_view::to_kn: out must be [k, n] = [8, 2], got out extents = [2, 8]");
  CHECK(error_of([&] { csr<std::int8_t>::from_kn(w.view()).to_nk(w.view()); }) ==
        "qsparse::csr_view::to_nk: out must be [n, k] = [2, 8], got out extents = [8, 2]");

  // from_arrays validation
  const std::int32_t offsets[] = {0, 2, 1};
  const std::int32_t indices[] = {0, 1};
  const std::int8_t values[] = {1, 2};
  CHECK(error_of([&] { csr_view<std::int8_t>::from_arrays(4, 2, offsets, 3, indices, 2, values, 2); }) ==
        "qsparse::csr_view::from_arrays: offsets must not decrease, got offsets[1] = 2, offsets[2] = 1");
  const std::int32_t good_offsets[] = {0, 2, 2};
  const std::int32_t bad_indices[] = {1, 1};
  CHECK(error_of([&] { csr_view<std::int8_t>::from_arrays(4, 2, good_offsets, 3, bad_indices, 2, values, 2); }) ==
        "qsparse::csr_view::from_arrays: indices of output 0 must increase, got indices[0] = 1, indices[1] = 1");
  const std::int32_t far_indices[] = {0, 4};
  CHECK(error_of([&] { csr_view<std::int8_t>::from_arrays(4, 2, good_offsets, 3, far_indices, 2, values, 2); }) ==
        "qsparse::csr_view::from_arrays: indices[1] = 4 is out of range [0, k = 4)");
  CHECK(error_of([&] { csr_view<std::int8_t>::from_arrays(4, 2, good_offsets, 3, indices, 2, values, 1); }) ==
        "qsparse::csr_view::from_arrays: values must hold 2 elements, got 1");
  CHECK(error_of([&] { csr_view<std::int8_t>::from_arrays(4, 2, good_offsets, 2, indices, 2, values, 2); }) ==
        "qsparse::csr_view::from_arrays: offsets must hold 3 elements, got 2");
  const std::uint8_t mask_bits[] = {0x30};  // k = 5: bit 5 is past k
  CHECK(error_of([&] { bitmask_values_view<std::int8_t>::from_arrays(5, 1, mask_bits, 1, values, 2); }) ==
        "qsparse::bitmask_values_view::from_arrays: output 0 has bits set past k = 5 (bitmask byte 0 = 48)");
  const std::uint8_t one_bit[] = {0x01};
  CHECK(error_of([&] { bitmask_values_view<std::int8_t>::from_arrays(5, 1, one_bit, 1, values, 2); }) ==
        "qsparse::bitmask_values_view::from_arrays: values must hold 1 elements, got 2");
  const std::uint8_t swapped[] = {0x01};  // positions 1 then 0
  const std::int8_t two[] = {1, 2};
  CHECK(error_of([&] { packed_2_4_view<std::int8_t>::from_arrays(4, 1, two, 2, swapped, 1); }) ==
        "qsparse::packed_2_4_view::from_arrays: output 0, group 0: positions must increase, got 1 and 0");
  const std::uint8_t past[] = {0x04};  // positions 0, 1 with k = 1: position 1 is past k
  CHECK(error_of([&] { packed_2_4_view<std::int8_t>::from_arrays(1, 1, two, 2, past, 1); }) ==
        "qsparse::packed_2_4_view::from_arrays: output 0, group 0 stores a non-zero at k = 1, past k = 1");
  const std::int32_t block_offsets[] = {0, 1};
  const std::int32_t block_index[] = {0};
  const std::int8_t tile[] = {1, 2, 3, 4};
  CHECK(error_of([&] {
          block_csr_view<std::int8_t>::from_arrays(3, 1, 4, 1, block_offsets, 2, block_index, 1, tile, 4);
        }) == "qsparse::block_csr_view::from_arrays: tile 0 holds a non-zero padding element at (i = 3, j = 0) past k = 3 or n = 1");
  CHECK(error_of([&] {
          block_csr_view<std::int8_t>::from_arrays(4, 1, 4, 1, block_offsets, 2, block_index, 1, tile, 4);
        }) == "no error");
  CHECK(error_of([&] { csr_view<std::int8_t>::from_arrays(-1, 2, good_offsets, 3, indices, 2, values, 2); }) ==
        "qsparse::csr_view::from_arrays: k must be in [0, 2^31), got k = -1");
  CHECK(error_of([&] { packed_2_4_view<std::int8_t>::from_arrays(4, index_t{1} << 40, two, 2, past, 1); }) ==
        "qsparse::packed_2_4_view::from_arrays: n must be in [0, 2^31), got n = 1099511627776");
}

TEST_CASE("formats: default-constructed forms are empty and copyable", "[sparsity][formats]") {
  CHECK(csr<float>().nnz() == 0);
  CHECK(csr<float>().size_bytes() == 4);  // offsets {0}
  CHECK(csr<float>(csr_view<float>{}).size_bytes() == 4);
  CHECK(block_csr<std::int8_t>(block_csr_view<std::int8_t>{}).blocks() == 0);
  CHECK(block_csr_view<std::int8_t>{}.size_bytes() == 4);
  CHECK(bitmask_values<float>(bitmask_values_view<float>{}).size_bytes() == 0);
  CHECK(packed_2_4<std::int8_t>(packed_2_4_view<std::int8_t>{}).size_bytes() == 0);
  tensor<float, 2> empty(0, 0);
  csr<float>().to_kn(empty.view());
  packed_2_4<float>().to_nk(empty.view());
}

TEST_CASE("formats: corrupted arrays are rejected or read safely, never out of bounds", "[sparsity][formats][errors]") {
  // Flip random bytes of valid arrays; from_arrays either throws or returns a view whose expansion
  // stays inside its arrays (ASan watches this test in CI).
  const auto w = random_sparse<std::int8_t>(13, 7, 0.4, 99);
  const auto w24 = random_2_4<std::int8_t>(13, 7, 99);
  const auto c = csr<std::int8_t>::from_kn(w.view());
  const auto b = block_csr<std::int8_t>::from_kn(w.view(), 4, 1);
  const auto m = bitmask_values<std::int8_t>::from_kn(w.view());
  const auto p = packed_2_4<std::int8_t>::from_kn(w24.view());
  std::mt19937 rng(5);
  int accepted = 0, rejected = 0;
  // Typed copies (no aliasing tricks); corrupt() flips one bit of one element.
  const auto copy_i32 = [](const array_ref& a) {
    return std::vector<std::int32_t>(static_cast<const std::int32_t*>(a.data), static_cast<const std::int32_t*>(a.data) + a.count);
  };
  const auto copy_i8 = [](const array_ref& a) {
    return std::vector<std::int8_t>(static_cast<const std::int8_t*>(a.data), static_cast<const std::int8_t*>(a.data) + a.count);
  };
  const auto copy_u8 = [](const array_ref& a) {
    return std::vector<std::uint8_t>(static_cast<const std::uint8_t*>(a.data), static_cast<const std::uint8_t*>(a.data) + a.count);
  };
  const auto corrupt = [&](auto& v) {
    if (v.empty()) return;
    using E = typename std::decay_t<decltype(v)>::value_type;
    auto& e = v[rng() % v.size()];
    e = static_cast<E>(static_cast<std::uint32_t>(e) ^ (1u << (rng() % (8 * sizeof(E)))));
  };
  tensor<std::int8_t, 2> out(13, 7);
  for (int trial = 0; trial < 300; ++trial) {
    const auto which = trial % 3;
    try {
      {
        auto a = c.view().arrays();
        auto o = copy_i32(a[0]), i = copy_i32(a[1]);
        auto v = copy_i8(a[2]);
        if (which == 0) corrupt(o);
        if (which == 1) corrupt(i);
        if (which == 2) corrupt(v);
        csr_view<std::int8_t>::from_arrays(13, 7, o.data(), o.size(), i.data(), i.size(), v.data(), v.size()).to_kn(out.view());
      }
      ++accepted;
    } catch (const qsparse::error&) {
      ++rejected;
    }
    try {
      auto a = b.view().arrays();
      auto o = copy_i32(a[0]), i = copy_i32(a[1]);
      auto v = copy_i8(a[2]);
      if (which == 0) corrupt(o);
      if (which == 1) corrupt(i);
      if (which == 2) corrupt(v);
      block_csr_view<std::int8_t>::from_arrays(13, 7, 4, 1, o.data(), o.size(), i.data(), i.size(), v.data(), v.size())
          .to_kn(out.view());
      ++accepted;
    } catch (const qsparse::error&) {
      ++rejected;
    }
    try {
      auto a = m.view().arrays();
      auto bits = copy_u8(a[0]);
      corrupt(bits);
      const auto v = copy_i8(a[1]);
      bitmask_values_view<std::int8_t>::from_arrays(13, 7, bits.data(), bits.size(), v.data(), v.size()).to_kn(out.view());
      ++accepted;
    } catch (const qsparse::error&) {
      ++rejected;
    }
    try {
      auto a = p.view().arrays();
      auto v = copy_i8(a[0]);
      auto i = copy_u8(a[1]);
      if (which == 0) corrupt(v);
      if (which != 0) corrupt(i);
      packed_2_4_view<std::int8_t>::from_arrays(13, 7, v.data(), v.size(), i.data(), i.size()).to_kn(out.view());
      ++accepted;
    } catch (const qsparse::error&) {
      ++rejected;
    }
  }
  CHECK(accepted > 0);  // value flips are valid data
  CHECK(rejected > 0);  // offset, index and bitmask flips are caught
}
