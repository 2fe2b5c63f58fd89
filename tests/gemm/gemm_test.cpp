// tests/gemm/gemm_test.cpp — every int8 GEMM kernel against reference_gemm, bit for bit: XNNPACK-style
// edge shapes derived from each kernel's MR/NR/KR, strided operands, the VNNI kernel's int8 row paths;
// TFLite's golden fully-connected vectors; threads; packed weights; kernel names; bad input.
// TFLite's fixed-point forms are tested in gemm_fixed_point_test.cpp, full-range inputs and every output
// stage in gemm_stages_test.cpp (one file took 218 s of CPU to compile), with the helpers of gemm_cases.hpp.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "gemm/gemm_cases.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/reference.hpp"
#include "support/column_params.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using namespace qsparse::gemm_test;
using qsparse::testing::column_params;

namespace {

template <class Kernel>
struct family {
  static std::vector<std::ptrdiff_t> ks() {
    std::vector<std::ptrdiff_t> v{1, Kernel::kr, Kernel::kr + 1, 2 * Kernel::kr, 3 * Kernel::kr + 1, 17, 67};
    if (Kernel::kr > 1) v.push_back(Kernel::kr - 1);
    return v;
  }
  static std::vector<std::ptrdiff_t> ms() {
    // 8 * mr + 5 crosses the VNNI family's block of 8 tiles.
    std::vector<std::ptrdiff_t> v{1, Kernel::mr, Kernel::mr + 1, 2 * Kernel::mr + 3, 8 * Kernel::mr + 5};
    if (Kernel::mr > 2) v.push_back(Kernel::mr - 1);
    return v;
  }
  static std::vector<std::ptrdiff_t> ns() {
    return {1, Kernel::nr / 2 + 1, Kernel::nr - 1, Kernel::nr, Kernel::nr + 1, 2 * Kernel::nr + 7};
  }
};

template <class F>
void for_each_kernel(F&& f) {
  kernels::for_each_kernel(gemm_kernels{}, f);
}

std::vector<isa_level> exercised;
std::vector<std::string> exercised_kernels;

}  // namespace

TEST_CASE("gemm: every kernel equals the reference on its edge shapes (requantized int8 output)", "[gemm][kernels]") {
  std::mt19937 rng(42);
  for_each_kernel([&](auto kernel) {
    using K = decltype(kernel);
    if (!testing::runs_level(K::isa) || !kernels::cpu_has_kernel_extensions<K>()) return;
    exercised.push_back(K::isa);
    exercised_kernels.push_back(K::name());
    for (auto k : family<K>::ks()) {
      for (auto m : family<K>::ms()) {
        for (auto n : family<K>::ns()) {
          column_params cp(n, rng);
          const auto p = pipeline(bias_add{cp.bias.data()},
                                  requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(), cp.shifts.data()},
                                  add_zero_point{-7}, clamp{-120, 127}, saturating_cast<std::int8_t>{});
          check_case<std::int8_t, K>(K::isa, m, k, n, 0, 0, -3, 0, fill::random, p, rng);
          check_case<std::uint8_t, K>(K::isa, m, k, n, 3, 5, 131, 4, fill::random, p, rng);
          // Symmetric weights: uint8 rows (and shallow int8 rows) are read in place, up to whole k groups.
          check_case<std::uint8_t, K>(K::isa, m, k, n, 1, 0, 255, 0, fill::random, p, rng);
        }
      }
    }
  });
  REQUIRE(!exercised.empty());
}

#if QSPARSE_X86
TEST_CASE("gemm: deep int8 rows read in place and copied give the reference's bits (VNNI)", "[gemm][kernels]") {
  if (!testing::runs_level(isa_level::avx512_vnni)) {
    WARN("AVX-512 VNNI not available on this CPU or above QSPARSE_ISA_CEILING: its int8 row paths are not exercised");
    return;
  }
  using kernels::avx512_vnni::int8_rows;
  std::mt19937 rng(11);
  for (int8_rows rows : {int8_rows::in_place, int8_rows::copy, int8_rows::automatic}) {
    kernels::avx512_vnni::scoped_int8_rows path(rows);
    for (std::ptrdiff_t k : {65, 67, 68, 131, 579}) {
      for (std::ptrdiff_t m : {1, 3, 8, 9, 69}) {
        for (std::ptrdiff_t n : {1, 33, 64}) {
          column_params cp(n, rng);
          const auto fixed = cp.int8_pipeline(-7);
          const auto scaled = cp.float_int8_pipeline(-7);
          check_case<std::int8_t>(isa_level::avx512_vnni, m, k, n, 0, 0, -3, 0, fill::random, fixed, rng);
          check_case<std::int8_t>(isa_level::avx512_vnni, m, k, n, 5, 3, 127, 0, fill::random, scaled, rng);
          check_case<std::int8_t>(isa_level::avx512_vnni, m, k, n, 0, 0, -128, 0, fill::high, scaled, rng);
          check_case<std::int8_t>(isa_level::avx512_vnni, m, k, n, 1, 0, 127, 0, fill::low, pipeline(), rng);
        }
      }
    }
  }
}
#endif

TEST_CASE("gemm: TFLite FullyConnected golden vectors (from TFLite's kernel tests)", "[gemm][tflite]") {
  // Weights [N=3][K=10] row-major = the K x N layout_left view.
  std::vector<std::int8_t> filter;
  for (int o = 0; o < 3; ++o) {
    for (int i = 1; i <= 10; ++i) filter.push_back(static_cast<std::int8_t>(i));
  }
  const float input_float[2][10] = {{1, 2, 3, 4, 5, 6, 7, 8, -9, -10}, {1, 2, 3, 4, 5, 6, 7, -8, 9, -10}};
  for (isa_level isa : testing::supported_levels()) {
    SECTION(std::string("SimpleTestQuantizedInt8 on ") + to_string(isa)) {
      std::vector<std::int8_t> input;  // scale 1, zero point -1
      for (const auto& row : input_float) {
        for (float x : row) input.push_back(static_cast<std::int8_t>(x - 1));
      }
      const std::int32_t bias[3] = {1, 2, 3};
      std::int8_t out[6];
      const auto packed = pack_weights(make_strided_view(filter.data(), {10, 3}, {1, 10}), 0, isa);
      gemm(context{}, quantized(make_view(input.data(), 2, 10), -1), packed, make_view(out, 2, 3),
           pipeline(bias_add{bias}, requantize_fixed_point<double_rounding>{quantize_multiplier(2.0)},
                    add_zero_point{-1}, saturating_cast<std::int8_t>{}));
      CHECK(std::vector<int>(out, out + 6) == std::vector<int>{47, 49, 51, 115, 117, 119});
    }
    SECTION(std::string("SimpleTestQuantizedInt8Relu on ") + to_string(isa)) {
      std::vector<std::int8_t> negated = filter;
      for (int i = 10; i < 20; ++i) negated[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(-negated[static_cast<std::size_t>(i)]);
      std::vector<std::int8_t> input;
      for (const auto& row : input_float) {
        for (float x : row) input.push_back(static_cast<std::int8_t>(x - 1));
      }
      const std::int32_t bias[3] = {1, -2, 3};
      std::int8_t out[6];
      const auto packed = pack_weights(make_strided_view(negated.data(), {10, 3}, {1, 10}), 0, isa);
      gemm(context{}, quantized(make_view(input.data(), 2, 10), -1), packed, make_view(out, 2, 3),
           pipeline(bias_add{bias}, requantize_fixed_point<double_rounding>{quantize_multiplier(2.0)},
                    add_zero_point{-128}, clamp{-128, 127}, saturating_cast<std::int8_t>{}));
      CHECK(std::vector<int>(out, out + 6) == std::vector<int>{-80, -128, -76, -12, -128, -8});
    }
    SECTION(std::string("SimpleTestQuantizedPerChannelInt8 on ") + to_string(isa)) {
      const double scales[3] = {0.2, 0.25, 0.5};
      std::vector<std::int8_t> wq;  // round(w / scale[o]), [N][K]
      for (int o = 0; o < 3; ++o) {
        for (int i = 1; i <= 10; ++i) wq.push_back(static_cast<std::int8_t>(std::round(i / scales[o])));
      }
      std::vector<std::int8_t> input;  // scale 0.5, zero point -1
      for (const auto& row : input_float) {
        for (float x : row) input.push_back(static_cast<std::int8_t>(std::round(x / 0.5f) - 1));
      }
      std::int32_t bias[3];
      std::int32_t multipliers[3];
      int shifts[3];
      for (int o = 0; o < 3; ++o) {
        bias[o] = static_cast<std::int32_t>(std::round((o + 1) / (0.5 * scales[o])));
        const quantized_multiplier q = quantize_multiplier(0.5 * scales[o] / 1.0);
        multipliers[o] = q.multiplier;
        shifts[o] = q.shift;
      }
      std::int8_t out[6];
      const auto packed = pack_weights(make_strided_view(wq.data(), {10, 3}, {1, 10}), 0, isa);
      gemm(context{}, quantized(make_view(input.data(), 2, 10), -1), packed, make_view(out, 2, 3),
           pipeline(bias_add{bias}, requantize_fixed_point_per_channel<double_rounding>{multipliers, shifts},
                    add_zero_point{-1}, saturating_cast<std::int8_t>{}));
      // TFLite's test allows 1 off; the exact fixed-point result is the golden value minus one, as in TFLite.
      CHECK(std::vector<int>(out, out + 6) == std::vector<int>{23, 24, 25, 57, 58, 59});
    }
  }
}

TEST_CASE("gemm: every thread count and a caller's parallel_for give identical results", "[gemm][threads]") {
  std::mt19937 rng(11);
  const std::ptrdiff_t m = 37, k = 129, n = 300;
  auto a = make_values<std::int8_t>(static_cast<std::size_t>(m * k), fill::random, rng);
  auto w = make_values<std::int8_t>(static_cast<std::size_t>(k * n), fill::random, rng);
  column_params cp(n, rng);
  const auto p = pipeline(bias_add{cp.bias.data()},
                          requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(), cp.shifts.data()},
                          add_zero_point{3}, saturating_cast<std::int8_t>{});
  const auto packed = pack_weights(make_view(w.data(), k, n));
  std::vector<std::int8_t> single(static_cast<std::size_t>(m * n));
  gemm(context{}, quantized(make_view(a.data(), m, k), 1), packed, make_view(single.data(), m, n), p);
  for (int t : {2, 3, 5}) {
    std::vector<std::int8_t> out(single.size());
    gemm(context(threads{t}), quantized(make_view(a.data(), m, k), 1), packed, make_view(out.data(), m, n), p);
    CHECK(out == single);
  }
  // A caller's scheduler that runs the tasks backwards on fresh threads.
  std::atomic<int> calls{0};
  context custom(
      [&](std::ptrdiff_t tasks, const task_function& task) {
        ++calls;
        std::vector<std::thread> pool;
        for (std::ptrdiff_t t = tasks - 1; t >= 0; --t) pool.emplace_back([&task, t] { task(t); });
        for (auto& th : pool) th.join();
      },
      4);
  std::vector<std::int8_t> out(single.size());
  gemm(custom, quantized(make_view(a.data(), m, k), 1), packed, make_view(out.data(), m, n), p);
  CHECK(out == single);
  CHECK(calls.load() == 1);
  // Concurrent calls sharing one pooled context, on distinct outputs.
  const context shared(threads{2});
  std::vector<std::vector<std::int8_t>> outs(3, std::vector<std::int8_t>(single.size()));
  std::vector<std::thread> callers;
  for (auto& o : outs) {
    callers.emplace_back([&, ptr = o.data()] {
      for (int rep = 0; rep < 20; ++rep) {
        gemm(shared, quantized(make_view(a.data(), m, k), 1), packed, make_view(ptr, m, n), p);
      }
    });
  }
  for (auto& th : callers) th.join();
  for (const auto& o : outs) CHECK(o == single);
}

TEST_CASE("gemm: the unpacked entry and the zero-point-free overload", "[gemm]") {
  std::mt19937 rng(5);
  auto a = make_values<std::uint8_t>(6 * 40, fill::random, rng);
  auto w = make_values<std::int8_t>(40 * 20, fill::random, rng);
  std::vector<std::int32_t> got(6 * 20), want(6 * 20);
  gemm(context{}, quantized(make_view(a.data(), 6, 40), 0), quantized(make_view(w.data(), 40, 20), -5),
       make_view(got.data(), 6, 20), pipeline());
  reference_gemm(quantized(make_view(a.data(), 6, 40), 0), quantized(make_view(w.data(), 40, 20), -5),
                 make_view(want.data(), 6, 20), pipeline());
  CHECK(got == want);
  const auto packed = pack_weights(make_view(w.data(), 40, 20), -5);
  std::vector<std::int32_t> plain(6 * 20);
  gemm(context{}, make_view(a.data(), 6, 40), packed, make_view(plain.data(), 6, 20), pipeline());
  CHECK(plain == want);
  // M = 0 is a valid empty product.
  gemm(context{}, make_view(a.data(), 0, 40), packed, make_view(plain.data(), 0, 20), pipeline());
}

TEST_CASE("gemm: bad input is a qsparse::error naming the argument", "[gemm][errors]") {
  std::vector<std::int8_t> a(8 * 16, 1), w(16 * 24, 1), out(8 * 24);
  const auto packed = pack_weights(make_view(w.data(), 16, 24));
  const auto raw = pipeline(requantize_fixed_point<double_rounding>{quantize_multiplier(0.5)},
                            saturating_cast<std::int8_t>{});
  context ctx;
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 15), packed, make_view(out.data(), 8, 24), raw),
                    Contains("K = 15") && Contains("K = 16"));
  CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 23), raw),
                    Contains("destination is 8 x 23"));
  CHECK_THROWS_WITH(gemm(ctx, quantized(make_view(a.data(), 8, 16), 128), packed, make_view(out.data(), 8, 24), raw),
                    Contains("zero point must be in [-128, 127], got 128"));
  CHECK_THROWS_WITH(gemm(ctx, make_strided_view(a.data(), {8, 16}, {1, 8}), packed, make_view(out.data(), 8, 24), raw),
                    Contains("contiguous along K"));
  const float bad_scales[24] = {1.0f, 0.0f};
  CHECK_THROWS_WITH(
      gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
           pipeline(requantize_float_per_channel{bad_scales}, saturating_cast<std::int8_t>{})),
      Contains("scales[1] = 0"));
  // Every kind of bad scale, anywhere in the row: the first one is named (the check is one branch-free pass).
  for (const float bad : {-1.0f, -0.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                          -std::numeric_limits<float>::denorm_min()}) {
    for (const int at : {0, 13, 23}) {
      float scales[24];
      std::fill(scales, scales + 24, 0.5f);
      scales[at] = bad;
      scales[23] = at == 23 ? bad : std::numeric_limits<float>::denorm_min();  // tiny but valid
      INFO("bad = " << bad << " at " << at);
      CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                             pipeline(requantize_float_per_channel{scales}, saturating_cast<std::int8_t>{})),
                        Contains("requantize_float_per_channel.scales must be positive and finite, got "
                                 "requantize_float_per_channel.scales[" +
                                 std::to_string(at) + "] = "));
      float fout[8 * 24];
      CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(fout, 8, 24),
                             pipeline(dequantize_float_per_channel{scales, nullptr})),
                        Contains("dequantize_float_per_channel.scales[" + std::to_string(at) + "]"));
    }
  }
  CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                         pipeline(requantize_float{std::numeric_limits<float>::quiet_NaN()}, saturating_cast<std::int8_t>{})),
                    Contains("requantize_float.scale must be positive and finite"));
  CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                         pipeline(clamp{5, 4}, saturating_cast<std::int8_t>{})),
                    Contains("min = 5, max = 4"));
  CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                         pipeline(requantize_fixed_point<double_rounding>{{1 << 30, -32}}, saturating_cast<std::int8_t>{})),
                    Contains("shift = -32"));
  // A K so deep the int32 sum could overflow.
  std::vector<std::int8_t> deep_w(70000, 1);
  std::vector<std::uint8_t> deep_a(70000, 1);  // 70000 * 255 * 128 > 2^31
  const auto deep = pack_weights(make_view(deep_w.data(), 70000, 1), 0, isa_level::scalar);
  std::int32_t one_out = 0;
  CHECK_THROWS_WITH(gemm(ctx, make_view(deep_a.data(), 1, 70000), deep, make_view(&one_out, 1, 1), pipeline()),
                    Contains("too deep"));
  // Weights packed for an ISA above the ceiling.
  if (cpu_supports(isa_level::avx2)) {
    const auto avx2_packed = pack_weights(make_view(w.data(), 16, 24), 0, isa_level::avx2);
    scoped_isa_ceiling ceiling(isa_level::scalar);
    CHECK_THROWS_WITH(gemm(ctx, make_view(a.data(), 8, 16), avx2_packed, make_view(out.data(), 8, 24), raw),
                      Contains("packed for avx2") && Contains("at most scalar"));
  }
}

TEST_CASE("packed weights: header, sizes and validation of foreign buffers", "[gemm][packing]") {
  std::vector<std::int8_t> w(5 * 3);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<std::int8_t>(i * 7 - 40);
  for (isa_level isa : {isa_level::scalar, isa_level::avx2, isa_level::avx_vnni, isa_level::avx512,
                        isa_level::avx512_vnni}) {
    const auto packed = pack_weights(make_view(w.data(), 5, 3), 2, isa);
    const packed_weights_view& v = packed.view();
    CHECK(v.isa() == isa);
    CHECK(v.k() == 5);
    CHECK(v.n() == 3);
    CHECK(v.weight_zero_point() == 2);
    CHECK(v.size_bytes() == packed_weights_size(5, 3, isa));
    const layout_geometry g = v.geometry();
    CHECK(v.k_padded() == (5 + g.kr - 1) / g.kr * g.kr);
    CHECK(v.n_padded() == g.nr);
    // Column sums of the raw weights, zero for padding columns.
    for (int n = 0; n < 3; ++n) {
      int sum = 0;
      for (int k = 0; k < 5; ++k) sum += w[static_cast<std::size_t>(k * 3 + n)];
      CHECK(v.column_sums()[n] == sum);
    }
    CHECK(v.column_sums()[3] == 0);
  }
  // The worked example of packed_weights.hpp: K = 5, N = 3, s16_c2_nr16 → element (k=4, n=2) at [0][2][2][0].
  // The layout is named: which one an ISA gets depends on the kernels compiled for this architecture.
  const auto avx2 = pack_weights(make_view(w.data(), 5, 3), 2, isa_level::avx2, packed_layout::s16_c2_nr16);
  const auto* e = static_cast<const std::int16_t*>(avx2.view().panel(0));
  CHECK(e[(2 * 16 + 2) * 2 + 0] == w[4 * 3 + 2] - 2);
  CHECK(e[(2 * 16 + 2) * 2 + 1] == 0);  // k = 5 is padding

  // A foreign copy is accepted when intact and rejected with a reason when not.
  const auto packed = pack_weights(make_view(w.data(), 5, 3), 0, isa_level::scalar);
  struct alignas(64) block { unsigned char b[64]; };
  std::vector<block> copy((packed.size_bytes() + 63) / 64);
  auto* bytes = reinterpret_cast<unsigned char*>(copy.data());
  std::memcpy(bytes, packed.view().bytes(), packed.size_bytes());
  CHECK(packed_weights_view::from_bytes(bytes, packed.size_bytes()).n() == 3);
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(bytes, packed.size_bytes() - 1), Contains("shorter than"));
  bytes[4] = 9;  // version
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(bytes, packed.size_bytes()), Contains("version 9 is not supported"));
  bytes[4] = 1;
  bytes[6] = 1;  // layout s8_c4_nr32 with K = 5: the sizes no longer match the header's
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(bytes, packed.size_bytes()), Contains("header sizes are inconsistent"));
  bytes[6] = 9;  // no such layout
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(bytes, packed.size_bytes()), Contains("unknown packed layout 9"));
  bytes[6] = 4;
  // An ISA of another architecture with the scalar layout: valid, but this CPU cannot run it.
  const isa_level foreign_isa = native_architecture == architecture::x86_64 ? isa_level::neon : isa_level::avx2;
  bytes[7] = static_cast<unsigned char>(foreign_isa);
  {
    const auto foreign = packed_weights_view::from_bytes(bytes, packed.size_bytes());
    std::vector<std::int8_t> a(5);
    std::vector<std::int32_t> out(3);
    CHECK_THROWS_WITH(gemm(context{}, make_view(a.data(), 1, 5), foreign, make_view(out.data(), 1, 3), pipeline()),
                      Contains(std::string("the weights were packed for ") + to_string(foreign_isa)));
  }
  bytes[7] = 0;
  bytes[0] = 0;
  CHECK_THROWS_WITH(packed_weights_view::from_bytes(bytes, packed.size_bytes()), Contains("not a packed weight buffer"));
  std::vector<std::int8_t> small(16);
  CHECK_THROWS_WITH(pack_weights(make_view(w.data(), 5, 3), 0, isa_level::scalar, bytes, 64), Contains("needs"));
  CHECK_THROWS_WITH(pack_weights(make_view(w.data(), 5, 3), 200), Contains("weight_zero_point must be in [-128, 127]"));
}

TEST_CASE("selected_kernel_name names the kernel of each ISA", "[gemm]") {
  CHECK(std::string(selected_kernel_name(isa_level::scalar)) == "gemm_x8s8_s32_1x16c1__scalar");
#if QSPARSE_X86
  CHECK(std::string(selected_kernel_name(isa_level::avx2)) == "gemm_x8s8_s32_4x16c2__avx2");
  CHECK(std::string(selected_kernel_name(isa_level::avx512)) == "gemm_x8s8_s32_8x32c2__avx512");
  CHECK(std::string(selected_kernel_name(isa_level::avx512_vnni)) == "gemm_u8s8_s32_8x32c4__avx512vnni");
  // The side rung: the VEX kernel where the CPU has AVX-VNNI, else the AVX2 one (and its layout).
  CHECK(std::string(selected_kernel_name(isa_level::avx_vnni)) ==
        (cpu().avx_vnni ? "gemm_u8s8_s32_6x32c4__avxvnni" : "gemm_x8s8_s32_4x16c2__avx2"));
  {
    std::vector<std::int8_t> w(9 * 5);
    CHECK(pack_weights(make_view(w.data(), 9, 5), 0, isa_level::avx_vnni).view().layout() ==
          (cpu().avx_vnni ? packed_layout::s8_c4_nr32 : packed_layout::s16_c2_nr16));
  }
  if (testing::runs_level(isa_level::avx512_vnni)) {
    // Symmetric weights with K <= 32 run the shallow kernel; a zero point or a deeper K the GEMM's.
    std::vector<std::int8_t> w(33 * 5);
    const auto name = [&](std::ptrdiff_t k, std::int32_t w_zp) {
      return std::string(selected_kernel_name(pack_weights(make_view(w.data(), k, 5), w_zp, isa_level::avx512_vnni).view()));
    };
    CHECK(name(27, 0) == "gemm_u8s8_s32_4x32c4__avx512vnni");
    CHECK(name(32, 0) == "gemm_u8s8_s32_4x32c4__avx512vnni");
    CHECK(name(33, 0) == "gemm_u8s8_s32_8x32c4__avx512vnni");
    CHECK(name(27, 1) == "gemm_u8s8_s32_8x32c4__avx512vnni");
    CHECK(std::string(selected_kernel_name(pack_weights(make_view(w.data(), 27, 5), 0, isa_level::avx512).view())) ==
          "gemm_x8s8_s32_8x32c2__avx512");
  }
#endif
#if QSPARSE_AARCH64
  CHECK(std::string(selected_kernel_name(isa_level::neon)) == "gemm_x8s8_s32_1x16c1__scalar");
  CHECK(std::string(selected_kernel_name(isa_level::neon_dotprod)) == "gemm_x8s8_s32_4x16c4__neondotprod");
  CHECK(std::string(selected_kernel_name(isa_level::neon_i8mm)) == "gemm_x8s8_s32_4x16c8__neoni8mm");
  std::vector<std::int8_t> w(9 * 5);
  CHECK(pack_weights(make_view(w.data(), 9, 5), 0, isa_level::neon_i8mm).view().layout() == packed_layout::s8_c8_nr16);
  CHECK(pack_weights(make_view(w.data(), 9, 5), 0, isa_level::neon_dotprod).view().layout() == packed_layout::s8_c4_nr16);
  if (testing::runs_level(isa_level::neon_dotprod)) {
    // Symmetric sdot weights with K <= 32 run the shallow tile; a zero point, a deeper K or i8mm weights not.
    std::vector<std::int8_t> w33(33 * 5);
    const auto name = [&](std::ptrdiff_t k, std::int32_t w_zp, isa_level isa) {
      return std::string(selected_kernel_name(pack_weights(make_view(w33.data(), k, 5), w_zp, isa).view()));
    };
    CHECK(name(27, 0, isa_level::neon_dotprod) == "gemm_x8s8_s32_4x8c4__neondotprod");
    CHECK(name(32, 0, isa_level::neon_dotprod) == "gemm_x8s8_s32_4x8c4__neondotprod");
    CHECK(name(33, 0, isa_level::neon_dotprod) == "gemm_x8s8_s32_4x16c4__neondotprod");
    CHECK(name(27, 1, isa_level::neon_dotprod) == "gemm_x8s8_s32_4x16c4__neondotprod");
    if (testing::runs_level(isa_level::neon_i8mm)) {
      CHECK(name(27, 0, isa_level::neon_i8mm) == "gemm_x8s8_s32_4x16c8__neoni8mm");
    }
  }
#endif
}

TEST_CASE("guard: every GEMM kernel this CPU supports ran", "[gemm][guard]") {
  // Runs after the kernel sweep in declaration order; fails if a level the CPU has was skipped.
  for (isa_level level : testing::supported_levels_with_kernels(gemm_kernels{})) {
    INFO("level " << to_string(level));
    CHECK(std::find(exercised.begin(), exercised.end(), level) != exercised.end());
  }
  // And every registered kernel this CPU runs, by name.
  CHECK(exercised_kernels == testing::runnable_kernel_names(gemm_kernels{}));
}

TEST_CASE("gemm: a destination sharing memory with an input, or with rows that overlap, is an error (issue 22)",
          "[gemm][errors]") {
  const index_t m = 16, k = 64, n = 64;
  std::vector<std::int8_t> w(static_cast<std::size_t>(k * n), 1);
  const auto packed = pack_weights(make_view(static_cast<const std::int8_t*>(w.data()), k, n));
  std::vector<std::int32_t> buffer(static_cast<std::size_t>(m * n));
  const auto a = make_view(reinterpret_cast<const std::int8_t*>(buffer.data()), m, k);
  CHECK_THROWS_WITH(gemm(context{}, a, packed, make_view(buffer.data(), m, n), pipeline()),
                    Catch::Contains("qsparse::gemm: destination overlaps activations in memory") &&
                        Catch::Contains("an output must not share memory with an input"));
  std::vector<std::int8_t> a_own(static_cast<std::size_t>(m * k), 1);
  const auto a2 = make_view(static_cast<const std::int8_t*>(a_own.data()), m, k);
  // Row stride 0: every row written to one place.
  CHECK_THROWS_WITH(gemm(context{}, a2, packed, make_strided_view(buffer.data(), {m, n}, {0, 1}), pipeline()),
                    "qsparse::gemm: destination's elements overlap (extents [16, 64], strides [0, 1]): every element of "
                    "an output must have memory of its own (e.g. a row stride of at least the row length)");
  // Rows that overlap (stride 32 < N = 64).
  const auto a_half = make_view(static_cast<const std::int8_t*>(a_own.data()), m / 2, k);
  CHECK_THROWS_WITH(gemm(context{}, a_half, packed, make_strided_view(buffer.data(), {m / 2, n}, {32, 1}), pipeline()),
                    Catch::Contains("destination's elements overlap (extents [8, 64], strides [32, 1])"));
  // The destination inside the packed weights' own buffer.
  auto* packed_bytes = const_cast<std::int32_t*>(reinterpret_cast<const std::int32_t*>(packed.view().bytes()));
  const auto a_row = make_view(static_cast<const std::int8_t*>(a_own.data()), 1, k);
  CHECK_THROWS_WITH(gemm(context{}, a_row, packed, make_view(packed_bytes + 16, 1, n), pipeline()),
                    Catch::Contains("destination overlaps the packed weights in memory"));
  // Disjoint views of one buffer are fine.
  std::vector<std::int32_t> out(static_cast<std::size_t>(2 * m * n));
  CHECK_NOTHROW(gemm(context{}, a2, packed, make_strided_view(out.data(), {m, n}, {2 * n, 1}), pipeline()));
}
