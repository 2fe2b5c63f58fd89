// tests/gemm/gemm_clustered_test.cpp — every registered clustered GEMM kernel (kernels/gemm_clustered_kernels.hpp)
// alone against reference_gemm_clustered, bit for bit: edge shapes from each kernel's MR and the layout's
// NR = 16 / K step = 32 (one row, short last tiles, K below, at and past a step, N not a multiple of 16),
// random and extreme codebooks (-128 / 127, one cluster, sixteen), zero points at both ends, the deepest K
// the entry accepts with the largest |sum|, every output pipeline family (raw int32, TFLite fixed point to
// int8, float scale, dequantize to float); strides and threads; packing from packed_clusters (per channel
// and per tensor, the int8 codebook quantization); bad arguments. Kept small: CI runs it on two cores.
#include "qsparse/gemm/gemm_clustered.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "qsparse/cluster/packed_clusters.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/gemm/reference_clustered.hpp"
#include "support/column_params.hpp"
#include "support/testing.hpp"

using namespace qsparse;

namespace {

// N×K indices and an N×C int8 codebook. kind 0: random codebook; 1: only -128 and 127; 2: all -128.
struct clustered {
  std::ptrdiff_t k = 0, n = 0;
  int clusters = 0;
  std::vector<std::uint8_t> idx;  // [N][K]
  std::vector<std::int8_t> book;  // [N][clusters]
  auto indices() const { return make_view(idx.data(), n, k); }
  auto codebook() const { return make_view(book.data(), n, static_cast<std::ptrdiff_t>(clusters)); }
};

clustered make_clustered(std::ptrdiff_t k, std::ptrdiff_t n, int clusters, int kind, std::mt19937& rng) {
  clustered c;
  c.k = k;
  c.n = n;
  c.clusters = clusters;
  std::uniform_int_distribution<int> index(0, clusters - 1), value(-128, 127), bit(0, 1);
  for (std::ptrdiff_t i = 0; i < n * k; ++i) c.idx.push_back(static_cast<std::uint8_t>(index(rng)));
  for (std::ptrdiff_t i = 0; i < n * clusters; ++i) {
    const int v = kind == 0 ? value(rng) : (kind == 1 ? (bit(rng) != 0 ? 127 : -128) : -128);
    c.book.push_back(static_cast<std::int8_t>(v));
  }
  return c;
}

std::vector<std::int8_t> make_activations(std::ptrdiff_t m, std::ptrdiff_t lda, int kind, std::mt19937& rng) {
  std::uniform_int_distribution<int> value(-128, 127), bit(0, 1);
  std::vector<std::int8_t> a(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * lda, 1)));
  for (auto& x : a) x = static_cast<std::int8_t>(kind == 0 ? value(rng) : (kind == 1 ? (bit(rng) != 0 ? 127 : -128) : -128));
  return a;
}

// The kernel selected for weights packed for `isa` against the reference, on a destination with row
// stride ldd whose gaps must stay untouched.
template <class Out, class Pipeline>
void check_values(isa_level isa, const clustered& w, std::ptrdiff_t m, std::ptrdiff_t lda, std::int32_t a_zp,
                  const std::vector<std::int8_t>& a, std::ptrdiff_t ldd, const Pipeline& pipeline,
                  const context& ctx = context{}) {
  const scoped_isa_ceiling ceiling(isa);  // the kernel of `isa` runs whatever QSPARSE_ISA_CEILING says
  const auto a_view = make_strided_view(a.data(), {m, w.k}, {lda, 1});
  std::vector<Out> got(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * ldd, 1)), Out{77});
  std::vector<Out> want = got;
  const packed_clustered_weights packed = pack_clustered_weights(w.indices(), w.codebook(), nullptr, isa);
  gemm_clustered(ctx, quantized(a_view, a_zp), packed.view(), make_strided_view(got.data(), {m, w.n}, {ldd, 1}),
                 pipeline);
  reference_gemm_clustered(quantized(a_view, a_zp), w.indices(), w.codebook(),
                           make_strided_view(want.data(), {m, w.n}, {ldd, 1}), pipeline);
  INFO(gemm_clustered_kernel_name(isa) << " M=" << m << " K=" << w.k << " N=" << w.n << " clusters=" << w.clusters
                                       << " a_zp=" << a_zp << " lda=" << lda << " ldd=" << ldd);
  std::size_t first = got.size();
  for (std::size_t i = 0; i < got.size() && first == got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(Out)) != 0) first = i;
  }
  INFO("first difference at flat index " << first);
  REQUIRE(first == got.size());
}

std::vector<std::string> ran;

template <class K>
void sweep_kernel(std::mt19937& rng) {
  ran.emplace_back(K::name());
  REQUIRE(std::string(gemm_clustered_kernel_name(K::isa)) == K::name());
  const std::ptrdiff_t ms[] = {1, 2, K::mr, K::mr + 3};
  const std::ptrdiff_t ks[] = {1, 16, 32, 45, 100};
  const std::ptrdiff_t ns[] = {1, 16, 37};
  const std::int32_t zps[] = {0, -128, 127, 5};
  int variant = 0;
  for (std::ptrdiff_t k : ks) {
    for (std::ptrdiff_t m : ms) {
      for (std::ptrdiff_t n : ns) {
        ++variant;
        const int clusters = variant % 5 == 0 ? 1 : (variant % 3 == 0 ? 16 : 2 + variant % 14);
        const auto w = make_clustered(k, n, clusters, variant % 7 == 1 ? 1 : 0, rng);
        const std::int32_t a_zp = zps[variant % 4];
        const auto a = make_activations(m, k + 3, variant % 6 == 2 ? 1 : 0, rng);
        check_values<std::int32_t>(K::isa, w, m, k + 3, a_zp, a, n + 5, pipeline());
        const testing::column_params cp(n, rng);
        if (variant % 2 == 0) {
          check_values<std::int8_t>(K::isa, w, m, k + 3, a_zp, a, n, cp.int8_pipeline(variant % 9 - 4));
        } else {
          check_values<std::int8_t>(K::isa, w, m, k + 3, a_zp, a, n + 1, cp.float_int8_pipeline(3));
        }
        if (variant % 5 == 0) {
          check_values<float>(K::isa, w, m, k + 3, a_zp, a, n,
                              pipeline(bias_add{cp.bias.data()}, dequantize_float_per_channel{cp.scales.data(), cp.float_bias.data()}));
        }
      }
    }
  }
  // The deepest K the entry accepts with the largest |sum|: (a - a_zp) = -255 times -128 at every k is
  // 65793 * 32640 = 2147483520; the kernels' intermediate sums wrap modulo 2^32 and must still land here.
  const std::ptrdiff_t deep = 65793;
  const auto w = make_clustered(deep, 17, 3, 2, rng);
  const auto a = make_activations(2, deep, 2, rng);
  check_values<std::int32_t>(K::isa, w, 2, deep, 127, a, 17, pipeline());
  const auto w2 = make_clustered(4000, 33, 16, 1, rng);
  const auto a2 = make_activations(K::mr + 1, 4000, 1, rng);
  check_values<std::int32_t>(K::isa, w2, K::mr + 1, 4000, -128, a2, 33, pipeline());
  // Many rows: more than one block of copied rows (the VNNI kernel decodes each panel once per 64 rows and
  // runs the tiles on the decoded bytes), a short last tile, and the deepest K through that path.
  const auto w3 = make_clustered(100, 37, 16, 0, rng);
  const auto a3 = make_activations(133, 103, 0, rng);
  check_values<std::int32_t>(K::isa, w3, 133, 103, 5, a3, 37, pipeline());
  const testing::column_params cp3(37, rng);
  check_values<std::int8_t>(K::isa, w3, 133, 103, -128, a3, 40, cp3.int8_pipeline(2));
  // K a multiple of the 32-k step: the VNNI kernel reads the rows in place (row sums over 64-byte blocks and
  // a tail), odd panel count (the last panel alone), a row stride equal to K.
  const auto w5 = make_clustered(160, 40, 16, 0, rng);
  const auto a5 = make_activations(70, 160, 0, rng);
  check_values<std::int32_t>(K::isa, w5, 70, 160, -7, a5, 40, pipeline());
  const auto a6 = make_activations(70, 160, 1, rng);
  check_values<std::int32_t>(K::isa, w5, 70, 160, 127, a6, 41, pipeline());
  const auto a4 = make_activations(9, deep, 2, rng);
  check_values<std::int32_t>(K::isa, w, 9, deep, 127, a4, 17, pipeline());
}

}  // namespace

TEST_CASE("gemm_clustered: every kernel equals the reference bit for bit", "[gemm_clustered][kernels]") {
  std::mt19937 rng(26);
  kernels::for_each_kernel(gemm_clustered_kernels{}, [&](auto kernel) {
    using K = decltype(kernel);
    if (testing::runs_level(K::isa)) sweep_kernel<K>(rng);
  });
}

TEST_CASE("gemm_clustered: two threads give the same bits as one", "[gemm_clustered][threads]") {
  std::mt19937 rng(27);
  const auto w = make_clustered(200, 300, 16, 0, rng);
  const auto a = make_activations(9, 200, 0, rng);
  const context two(threads{2});
  for (isa_level isa : testing::supported_levels()) {
    check_values<std::int32_t>(isa, w, 9, 200, 3, a, 300, pipeline(), two);
    check_values<std::int32_t>(isa, w, 1, 200, 3, a, 300, pipeline(), two);
  }
}

TEST_CASE("guard: every clustered GEMM kernel this CPU supports ran", "[gemm_clustered][guard]") {
  testing::require_every_kernel_ran(gemm_clustered_kernels{}, ran);
}

TEST_CASE("pack_clustered_weights: the packed layout reads back what was packed", "[gemm_clustered][packing]") {
  std::mt19937 rng(28);
  const auto w = make_clustered(70, 21, 11, 0, rng);
  std::vector<float> scales(21);
  for (std::size_t i = 0; i < scales.size(); ++i) scales[i] = 0.25f * static_cast<float>(i + 1);
  const packed_clustered_weights p = pack_clustered_weights(w.indices(), w.codebook(), scales.data(), isa_level::scalar);
  const auto& v = p.view();
  REQUIRE(v.k() == 70);
  REQUIRE(v.n() == 21);
  REQUIRE(v.k_padded() == 96);
  REQUIRE(v.clusters() == 11);
  REQUIRE(reinterpret_cast<std::uintptr_t>(v.panel(1)) % 64 == 0);
  for (std::ptrdiff_t n = 0; n < 32; ++n) {
    std::int64_t sum = 0;
    for (std::ptrdiff_t k = 0; k < 96; ++k) {
      const int i = v.index(k, n);
      REQUIRE(i == (n < 21 && k < 70 ? w.idx[static_cast<std::size_t>(n * 70 + k)] : 0));
      if (n < 21 && k < 70) sum += w.book[static_cast<std::size_t>(n * 11 + i)];
    }
    CHECK(v.column_sums()[n] == sum);
    for (int j = 0; j < 16; ++j) {
      CHECK(v.codebook(n, j) == (n < 21 && j < 11 ? w.book[static_cast<std::size_t>(n * 11 + j)] : 0));
    }
    CHECK(v.scale(n) == (n < 21 ? scales[static_cast<std::size_t>(n)] : 0.0f));
  }
}

TEST_CASE("pack_clustered_weights: from packed_clusters, per channel and per tensor", "[gemm_clustered][packing]") {
  std::mt19937 rng(29);
  // OHWI weights 5 x 2 x 3 x 4 (K = 24), 6 clusters, 4-bit indices.
  const std::int32_t n = 5, k = 24, clusters = 6;
  std::vector<std::uint8_t> idx(static_cast<std::size_t>(n * k));
  std::uniform_int_distribution<int> index(0, clusters - 1);
  for (auto& i : idx) i = static_cast<std::uint8_t>(index(rng));
  std::vector<std::uint8_t> stream((idx.size() * 4 + 7) / 8, 0);
  for (std::size_t f = 0; f < idx.size(); ++f) stream[f / 2] = static_cast<std::uint8_t>(stream[f / 2] | (idx[f] << (4 * (f % 2))));
  for (int axis : {0, -1}) {
    const std::int32_t channels = axis == 0 ? n : 1;
    std::vector<float> book(static_cast<std::size_t>(channels * clusters));
    std::normal_distribution<float> centroid(0.0f, 0.1f);
    for (auto& c : book) c = centroid(rng);
    book[1] = 0.0f;
    const std::int32_t layout[] = {4, clusters, axis, 4, n, 2, 3, 4};
    const packed_clusters stored = packed_clusters::from_arrays(layout, 8, book.data(), book.size(), stream.data(), stream.size());
    const int8_codebook q = quantize_codebook(book.data(), channels, clusters);
    // The rule: scale = max|c| / 127, q = round half away from zero of c / scale, clamped to [-127, 127].
    for (std::int32_t c = 0; c < channels; ++c) {
      float most = 0.0f;
      for (int j = 0; j < clusters; ++j) most = std::max(most, std::fabs(book[static_cast<std::size_t>(c * clusters + j)]));
      const float scale = most / 127.0f;
      CHECK(q.scales[static_cast<std::size_t>(c)] == scale);
      for (int j = 0; j < clusters; ++j) {
        const float x = book[static_cast<std::size_t>(c * clusters + j)] / scale;
        CHECK(int{q.values[static_cast<std::size_t>(c * clusters + j)]} == static_cast<int>(std::round(x)));
      }
    }
    std::vector<std::int8_t> expanded(static_cast<std::size_t>(n * clusters));
    for (std::int32_t c = 0; c < n; ++c)
      for (int j = 0; j < clusters; ++j)
        expanded[static_cast<std::size_t>(c * clusters + j)] = q.values[static_cast<std::size_t>((axis == 0 ? c : 0) * clusters + j)];
    const packed_clustered_weights from_storage = pack_clustered_weights(stored, isa_level::scalar);
    std::vector<float> scales(static_cast<std::size_t>(n));
    for (std::int32_t c = 0; c < n; ++c) scales[static_cast<std::size_t>(c)] = q.scales[static_cast<std::size_t>(axis == 0 ? c : 0)];
    const packed_clustered_weights direct = pack_clustered_weights(
        make_view(idx.data(), n, k), make_view(expanded.data(), n, clusters), scales.data(), isa_level::scalar);
    REQUIRE(from_storage.size_bytes() == direct.size_bytes());
    CHECK(std::memcmp(from_storage.view().bytes(), direct.view().bytes(), direct.size_bytes()) == 0);
  }
  // All-zero centroids: scale 1, every value 0.
  const float zeros[3] = {0.0f, -0.0f, 0.0f};
  const int8_codebook z = quantize_codebook(zeros, 1, 3);
  CHECK(z.scales[0] == 1.0f);
  CHECK((z.values[0] == 0 && z.values[1] == 0 && z.values[2] == 0));
  // A tie: 0.5 of the step rounds away from zero.
  const float ties[2] = {1.27f, -0.005f};  // scale 0.01 (1.27 / 127), -0.005 / 0.01 = -0.5 -> -1
  const int8_codebook t = quantize_codebook(ties, 1, 2);
  CHECK(int{t.values[0]} == 127);
  CHECK(int{t.values[1]} == static_cast<int>(std::round(-0.005f / t.scales[0])));
}

TEST_CASE("gemm_clustered: bad arguments are qsparse::error naming the value", "[gemm_clustered][errors]") {
  std::mt19937 rng(30);
  auto w = make_clustered(40, 20, 5, 0, rng);
  w.idx[43] = 5;
  CHECK_THAT(testing::error_of([&] { pack_clustered_weights(w.indices(), w.codebook()); }),
             Catch::Contains("index (1, 3) is 5, outside the codebook's 5 clusters"));
  w.idx[43] = 0;
  std::vector<std::uint8_t> idx17(40 * 20, 0);
  std::vector<std::int8_t> book17(20 * 17, 0);
  CHECK_THAT(testing::error_of([&] {
               pack_clustered_weights(make_view(idx17.data(), 20, 40), make_view(book17.data(), 20, 17));
             }),
             Catch::Contains("clusters must be in [1, 16], got clusters = 17"));
  CHECK_THAT(testing::error_of([&] {
               pack_clustered_weights(make_view(idx17.data(), 20, 40), make_view(book17.data(), 19, 5));
             }),
             Catch::Contains("the codebook has 19 rows, the indices have N = 20"));

  const packed_clustered_weights packed = pack_clustered_weights(w.indices(), w.codebook());
  std::vector<std::int8_t> a(3 * 40, 1);
  std::vector<std::int32_t> dst(3 * 20);
  CHECK_THAT(testing::error_of([&] {
               gemm_clustered(context{}, make_view(a.data(), 3, 39), packed.view(), make_view(dst.data(), 3, 20), pipeline());
             }),
             Catch::Contains("activations have K = 39"));
  CHECK_THAT(testing::error_of([&] {
               gemm_clustered(context{}, make_view(a.data(), 3, 40), packed.view(), make_view(dst.data(), 3, 19), pipeline());
             }),
             Catch::Contains("expected M x N = 3 x 20"));
  CHECK_THAT(testing::error_of([&] {
               gemm_clustered(context{}, quantized(make_view(a.data(), 3, 40), 128), packed.view(),
                              make_view(dst.data(), 3, 20), pipeline());
             }),
             Catch::Contains("activation zero point must be in [-128, 127], got 128"));
  CHECK_THAT(testing::error_of([&] {
               gemm_clustered(context{}, make_view(reinterpret_cast<std::int8_t*>(dst.data()), 3, 40), packed.view(),
                              make_view(dst.data(), 3, 20), pipeline());
             }),
             Catch::Contains("destination"));
  std::vector<float> bad_scales(20, 1.0f);
  bad_scales[4] = -1.0f;
  CHECK_THAT(testing::error_of([&] { pack_clustered_weights(w.indices(), w.codebook(), bad_scales.data()); }),
             Catch::Contains("scale of column 4 is -1"));

  // from_bytes: a copy is validated field by field.
  const std::size_t size = packed.size_bytes();
  auto corrupt = [&](std::size_t offset, unsigned char value, std::size_t bytes) {
    auto* copy = static_cast<unsigned char*>(::operator new(size, std::align_val_t{64}));
    std::memcpy(copy, packed.view().bytes(), size);
    copy[offset] = value;
    const std::string e = testing::error_of([&] { packed_clustered_weights_view::from_bytes(copy, bytes); });
    ::operator delete(copy, std::align_val_t{64});
    return e;
  };
  CHECK(corrupt(0, 0x51, size) == "no error");  // the magic's own first byte: an exact copy
  CHECK_THAT(corrupt(0, 0, size), Catch::Contains("not a packed_clustered_weights buffer"));
  CHECK_THAT(corrupt(4, 9, size), Catch::Contains("version 9 is not supported"));
  CHECK_THAT(corrupt(7, 17, size), Catch::Contains("got clusters = 17"));
  CHECK_THAT(corrupt(0, 0x51, size - 1), Catch::Contains("shorter than the"));
  CHECK_THAT(corrupt(8, 1, size), Catch::Contains("geometry NR = 1"));
  // Layout: header 64, column sums 4 * 32, scales 4 * 32 -> panel 0 at 320; tables, then steps at 576.
  const std::size_t panel0 = 64 + 256;
  CHECK_THAT(corrupt(64, 99, size), Catch::Contains("the column sum of column 0 is 99"));
  CHECK_THAT(corrupt(panel0 + 5, 0, size), Catch::Contains("table entry 5 of column 0 is past the clusters"));
  CHECK_THAT(corrupt(panel0 + 256, 0x07, size), Catch::Contains("index of k = 0 of column 0 is 7, outside the clusters"));
  CHECK_THAT(corrupt(panel0 + 256 + 64 * 3 + 16 * 3 + 9, 0x0F, size), Catch::Contains("index of k = 9 of column 15 is 15"));
  CHECK_THAT(corrupt(panel0 + 512 + 8, 0x01, size), Catch::Contains("index of k = 40 of column 0 is 1; padding"));  // K = 40

  // Weights packed for an ISA above the ceiling.
  if (cpu_supports(isa_level::avx2)) {
    const packed_clustered_weights avx2_packed = pack_clustered_weights(w.indices(), w.codebook(), nullptr, isa_level::avx2);
    const scoped_isa_ceiling ceiling(isa_level::scalar);
    CHECK_THAT(testing::error_of([&] {
                 gemm_clustered(context{}, make_view(a.data(), 3, 40), avx2_packed.view(), make_view(dst.data(), 3, 20),
                                pipeline());
               }),
               Catch::Contains("packed for avx2") && Catch::Contains("at most scalar"));
  }
  // One k deeper than the exact int32 bound.
  const auto deep = make_clustered(65794, 1, 2, 0, rng);
  const packed_clustered_weights deep_packed = pack_clustered_weights(deep.indices(), deep.codebook());
  std::vector<std::int8_t> a_deep(65794, 0);
  std::int32_t out = 0;
  CHECK_THAT(testing::error_of([&] {
               gemm_clustered(context{}, quantized(make_view(a_deep.data(), 1, 65794), 127), deep_packed.view(),
                              make_view(&out, 1, 1), pipeline());
             }),
             Catch::Contains("K = 65794 is too deep"));
  // Storage the kernel cannot take: channel axis 1, rank 1, 17 clusters.
  std::vector<float> book(4 * 3, 0.5f);
  std::vector<std::uint8_t> stream(4, 0);
  const std::int32_t axis1[] = {4, 3, 1, 2, 2, 4};
  const packed_clusters by_column = packed_clusters::from_arrays(axis1, 6, book.data(), 12, stream.data(), 4);
  CHECK_THAT(testing::error_of([&] { pack_clustered_weights(by_column); }),
             Catch::Contains("per output channel (axis 0) or per tensor (-1), got channel axis 1"));
  const std::int32_t rank1[] = {4, 3, -1, 1, 8};
  const packed_clusters vector = packed_clusters::from_arrays(rank1, 5, book.data(), 3, stream.data(), 4);
  CHECK_THAT(testing::error_of([&] { pack_clustered_weights(vector); }), Catch::Contains("rank >= 2"));
  std::vector<float> book32(32, 0.25f);
  std::vector<std::uint8_t> stream8(8, 0);
  const std::int32_t wide[] = {8, 32, -1, 2, 2, 4};
  const packed_clusters many = packed_clusters::from_arrays(wide, 6, book32.data(), 32, stream8.data(), 8);
  CHECK_THAT(testing::error_of([&] { pack_clustered_weights(many); }), Catch::Contains("got clusters = 32"));
}
