// tests/gemm/sparse_gemm_test.cpp — every sparse int8 GEMM kernel against reference_gemm on the same masked
// weights, bit for bit: every format on every ISA this CPU has, edge shapes from the 4 × NB block and the
// row tiles, empty, full and single blocks, full-range values and extreme zero points, strided operands,
// every output stage; threads; the packed format (sizes, round trip, validation of foreign buffers); bad input.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/core/context.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/reference.hpp"
#include "qsparse/gemm/sparse_gemm.hpp"
#include "support/column_params.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using qsparse::testing::column_params;

namespace {

const sparse_format all_formats[] = {sparse_format::block_4x16, sparse_format::block_4x32, sparse_format::two_of_four,
                                     sparse_format::bitmask};

enum class fill { random, low, high, alternating };

template <class T>
std::vector<T> make_values(std::size_t count, fill how, std::mt19937& rng) {
  std::vector<T> v(count);
  constexpr int lo = std::numeric_limits<T>::min();
  constexpr int hi = std::numeric_limits<T>::max();
  std::uniform_int_distribution<int> dist(lo, hi);
  for (std::size_t i = 0; i < count; ++i) {
    switch (how) {
      case fill::random: v[i] = static_cast<T>(dist(rng)); break;
      case fill::low: v[i] = static_cast<T>(lo); break;
      case fill::high: v[i] = static_cast<T>(hi); break;
      case fill::alternating: v[i] = static_cast<T>((i % 3 == 0) ? lo : hi); break;
    }
  }
  return v;
}

enum class pattern { random_blocks, empty, dense, one_block, unstructured, two_of_four, one_of_four };

// K×N row-major int8 weights: values from `how` (never 0 where kept unless how gives 0), then masked.
std::vector<std::int8_t> make_weights(std::ptrdiff_t k, std::ptrdiff_t n, int nb, pattern pat, fill how,
                                      std::mt19937& rng) {
  auto w = make_values<std::int8_t>(static_cast<std::size_t>(k * n), how, rng);
  for (auto& x : w) x = x == 0 ? std::int8_t{1} : x;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const std::ptrdiff_t groups = (k + 3) / 4, panels = (n + nb - 1) / nb;
  std::vector<char> keep_block(static_cast<std::size_t>(groups * panels), 1);
  const std::ptrdiff_t lone = groups * panels / 2;
  for (std::size_t b = 0; b < keep_block.size(); ++b) {
    switch (pat) {
      case pattern::random_blocks: keep_block[b] = u(rng) < 0.3; break;
      case pattern::empty: keep_block[b] = 0; break;
      case pattern::one_block: keep_block[b] = static_cast<std::ptrdiff_t>(b) == lone; break;
      default: break;
    }
  }
  for (std::ptrdiff_t kk = 0; kk < k; ++kk) {
    for (std::ptrdiff_t c = 0; c < n; ++c) {
      auto& x = w[static_cast<std::size_t>(kk * n + c)];
      const std::size_t block = static_cast<std::size_t>((c / nb) * groups + kk / 4);
      if (!keep_block[block]) x = 0;
      if (pat == pattern::unstructured && u(rng) < 0.8) x = 0;
    }
  }
  if (pat == pattern::two_of_four || pat == pattern::one_of_four) {
    const int kept_per_group = pat == pattern::two_of_four ? 2 : 1;
    std::uniform_int_distribution<int> slot(0, 3);
    for (std::ptrdiff_t c = 0; c < n; ++c) {
      for (std::ptrdiff_t g = 0; g * 4 < k; ++g) {
        int keep[2] = {slot(rng), slot(rng)};
        for (int i = 0; i < 4 && g * 4 + i < k; ++i) {
          const bool kept = i == keep[0] || (kept_per_group == 2 && i == keep[1]);
          if (!kept) w[static_cast<std::size_t>((g * 4 + i) * n + c)] = 0;
        }
      }
    }
  }
  return w;
}


std::vector<isa_level> exercised;
std::vector<std::string> exercised_kernels;

// sparse_gemm on `isa` (as the ceiling) vs reference_gemm on the same weights; padding must stay untouched.
template <class A, class Pipeline>
void check_case(isa_level isa, sparse_format format, std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t n,
                const std::vector<std::int8_t>& w, std::ptrdiff_t lda_extra, std::ptrdiff_t ldd_extra,
                std::int32_t a_zp, fill how, const Pipeline& pipeline, std::mt19937& rng, int threads = 1) {
  using out_t = typename Pipeline::output_type;
  const std::ptrdiff_t lda = k + lda_extra;
  const std::ptrdiff_t ldd = n + ldd_extra;
  auto a = make_values<A>(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * lda, 1)), how, rng);
  const auto a_view = make_strided_view(a.data(), {m, k}, {lda, 1});
  const auto w_view = make_view(w.data(), k, n);
  std::vector<out_t> got(static_cast<std::size_t>(std::max<std::ptrdiff_t>(m * ldd, 1)), out_t(77));
  std::vector<out_t> want = got;
  const packed_sparse_weights packed = pack_sparse_weights(w_view, format);
  const scoped_isa_ceiling ceiling(isa);
  if (std::find(exercised.begin(), exercised.end(), isa) == exercised.end()) exercised.push_back(isa);
  exercised_kernels.emplace_back(selected_kernel_name(packed.view()));
  sparse_gemm(threads > 1 ? context(qsparse::threads{threads}) : context(), quantized(a_view, a_zp), packed,
              make_strided_view(got.data(), {m, n}, {ldd, 1}), pipeline);
  reference_gemm(quantized(a_view, a_zp), quantized(w_view, 0), make_strided_view(want.data(), {m, n}, {ldd, 1}),
                 pipeline);
  INFO(selected_kernel_name(packed.view()) << " M=" << m << " K=" << k << " N=" << n << " lda=" << lda
                                           << " ldd=" << ldd << " a_zp=" << a_zp << " fill=" << static_cast<int>(how)
                                           << " blocks=" << packed.view().blocks());
  REQUIRE(std::memcmp(got.data(), want.data(), got.size() * sizeof(out_t)) == 0);
}

pattern default_pattern(sparse_format format) {
  if (format == sparse_format::bitmask) return pattern::unstructured;
  return format == sparse_format::two_of_four ? pattern::two_of_four : pattern::random_blocks;
}

}  // namespace

TEST_CASE("sparse_gemm: every format on every ISA equals the reference on edge shapes", "[sparse_gemm][kernels]") {
  std::mt19937 rng(42);
  for (isa_level isa : testing::supported_levels()) {
    for (sparse_format format : all_formats) {
      const int nb = panel_width(format);
      for (std::ptrdiff_t k : {1, 3, 4, 5, 8, 13, 67}) {
        for (std::ptrdiff_t m : {1, 2, 3, 7, 8, 9, 69}) {
          for (std::ptrdiff_t n : {1, nb / 2 + 1, nb - 1, nb, nb + 1, 2 * nb + 7}) {
            if (m == 69 && k > 8) continue;  // the 9-tile row blocks need few k to stay fast
            column_params cp(n, rng);
            const auto p = pipeline(bias_add{cp.bias.data()},
                                    requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(),
                                                                                       cp.shifts.data()},
                                    add_zero_point{-7}, clamp{-120, 127}, saturating_cast<std::int8_t>{});
            const auto w = make_weights(k, n, nb, default_pattern(format), fill::random, rng);
            check_case<std::int8_t>(isa, format, m, k, n, w, 0, 0, -3, fill::random, p, rng);
            check_case<std::uint8_t>(isa, format, m, k, n, w, 3, 5, 131, fill::random, pipeline(), rng);
          }
        }
      }
    }
  }
  // Every ISA this CPU has ran (tests/dispatch/isa_test.cpp guards the list itself).
  CHECK(exercised.size() == testing::supported_levels().size());
  testing::require_every_kernel_ran(kernels::sparse_gemm_kernels{}, exercised_kernels);
}

TEST_CASE("sparse_gemm: 2:4 tiles of every row count, panel count and pair remainder", "[sparse_gemm][kernels]") {
  // The AVX-512 kernel runs up to 4 panels per tile for 1-2 rows and 2 for 3-4 rows, and positions in
  // quads of 4 pairs: K covers 1-4 pairs past whole quads, N panel counts that leave every remainder.
  std::mt19937 rng(17);
  for (isa_level isa : testing::supported_levels()) {
    for (std::ptrdiff_t k : {24, 32, 40, 57}) {
      // 33 and 70 rows cross the NEON kernel's blocks of 8 tiles (32 rows).
      for (std::ptrdiff_t m : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 33, 70}) {
        for (std::ptrdiff_t n : {65, 80, 83, 96, 110}) {
          const auto w = make_weights(k, n, 16, pattern::two_of_four, fill::random, rng);
          column_params cp(n, rng);
          check_case<std::int8_t>(isa, sparse_format::two_of_four, m, k, n, w, 3, 1, -5, fill::random,
                                  pipeline(bias_add{cp.bias.data()}, requantize_float_per_channel{cp.scales.data()},
                                           add_zero_point{-2}, saturating_cast<std::int8_t>{}),
                                  rng);
          check_case<std::uint8_t>(isa, sparse_format::two_of_four, m, k, n, w, 0, 0, 77, fill::random, pipeline(),
                                   rng);
        }
      }
    }
  }
}

TEST_CASE("sparse_gemm: bitmask at every sparsity, zero columns, K tails, row tiles", "[sparse_gemm][kernels][bitmask]") {
  std::mt19937 rng(28);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (isa_level isa : testing::supported_levels()) {
    for (double sparsity : {0.0, 0.5, 0.9, 0.97, 1.0}) {
      for (std::ptrdiff_t k : {1, 2, 3, 4, 7, 63, 64, 65, 130}) {
        for (std::ptrdiff_t m : {1, 2, 3, 4, 5, 8, 9, 16, 17}) {
          const std::ptrdiff_t n = k == 65 ? 49 : 33;
          auto w = make_values<std::int8_t>(static_cast<std::size_t>(k * n), fill::random, rng);
          for (std::ptrdiff_t kk = 0; kk < k; ++kk) {
            for (std::ptrdiff_t c = 0; c < n; ++c) {
              auto& x = w[static_cast<std::size_t>(kk * n + c)];
              // Columns 0, 17 and the last are all zero; column 1 is fully dense.
              if (c == 0 || c == 17 || c == n - 1 || (c != 1 && u(rng) < sparsity)) x = 0;
              if (c == 1 && x == 0) x = -128;
            }
          }
          column_params cp(n, rng);
          const auto q = pipeline(bias_add{cp.bias.data()},
                                  requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(),
                                                                                     cp.shifts.data()},
                                  add_zero_point{3}, saturating_cast<std::int8_t>{});
          check_case<std::int8_t>(isa, sparse_format::bitmask, m, k, n, w, 0, 1, -128, fill::random, q, rng);
          check_case<std::uint8_t>(isa, sparse_format::bitmask, m, k, n, w, 2, 0, 255, fill::random, pipeline(), rng);
        }
      }
    }
    // int8 extremes: every weight -128 or 127, activations at the far end of their zero points.
    for (fill how : {fill::low, fill::high, fill::alternating}) {
      auto w = make_values<std::int8_t>(static_cast<std::size_t>(259 * 40), how, rng);
      for (std::size_t i = 0; i < w.size(); i += 3) w[i] = 0;
      check_case<std::int8_t>(isa, sparse_format::bitmask, 10, 259, 40, w, 0, 0, 127, how, pipeline(), rng);
      check_case<std::int8_t>(isa, sparse_format::bitmask, 3, 259, 40, w, 0, 0, -128, how, pipeline(), rng);
      check_case<std::uint8_t>(isa, sparse_format::bitmask, 10, 259, 40, w, 0, 0, 0, how, pipeline(), rng);
      check_case<std::uint8_t>(isa, sparse_format::bitmask, 1, 259, 40, w, 0, 0, 255, how, pipeline(), rng);
    }
  }
}

TEST_CASE("packed sparse weights: the bitmask layout, byte for byte", "[sparse_gemm][packing][bitmask]") {
  // K = 6 (2 groups, padded to 8), N = 18 (2 panels of 16).
  std::vector<std::int8_t> w(6 * 18, 0);
  w[0 * 18 + 0] = 1;    // group 0, panel 0, column 0, k 0 → bit 0
  w[3 * 18 + 0] = -2;   // group 0, column 0, k 3 → bit 3
  w[1 * 18 + 15] = 3;   // group 0, column 15, k 1 → bit 61
  w[5 * 18 + 2] = -128; // group 1, column 2, k 5 (i = 1) → bit 9
  w[4 * 18 + 17] = 127; // panel 1, group 1, column 1, k 4 → bit 4
  const auto packed = pack_sparse_weights(make_view(w.data(), 6, 18), sparse_format::bitmask);
  const auto& v = packed.view();
  CHECK(v.format() == sparse_format::bitmask);
  CHECK(v.header().version == 3);
  CHECK(v.k_padded() == 8);
  CHECK(v.n_padded() == 32);
  CHECK(v.groups() == 2);
  CHECK(v.panels() == 2);
  CHECK(v.blocks() == 5);
  CHECK(v.block_density() == Approx(5.0 / (2 * 2 * 64)));
  CHECK(v.stored_weight_bytes() == 2 * 2 * 8 + 5 + 3 * 8);
  // header, value_start (3 × 8 → 64), masks (4 × 8 → 64), values (5 → 64), sums (32 × 4 → 128)
  CHECK(v.size_bytes() == static_cast<std::size_t>(64 + 64 + 64 + 64 + 128));
  CHECK(v.size_bytes() == packed_sparse_weights_size(make_view(w.data(), 6, 18), sparse_format::bitmask));
  CHECK(v.value_start()[0] == 0);
  CHECK(v.value_start()[1] == 4);
  CHECK(v.value_start()[2] == 5);
  CHECK(v.masks(0)[0] == ((std::uint64_t{1} << 0) | (std::uint64_t{1} << 3) | (std::uint64_t{1} << 61)));
  CHECK(v.masks(0)[1] == (std::uint64_t{1} << 9));
  CHECK(v.masks(1)[0] == 0);
  CHECK(v.masks(1)[1] == (std::uint64_t{1} << 4));
  const std::int8_t want[] = {1, -2, 3, -128, 127};
  CHECK(std::memcmp(v.bitmask_values(), want, 5) == 0);
  CHECK(v.column_sums()[0] == -1);
  CHECK(v.column_sums()[17] == 127);
  CHECK(v.weight(5, 2) == -128);
  CHECK(v.weight(4, 2) == 0);
  CHECK(v.weight(1, 15) == 3);
  // All zero: nothing stored, every kernel still writes the pipeline of 0.
  std::vector<std::int8_t> z(6 * 18, 0);
  const auto empty = pack_sparse_weights(make_view(z.data(), 6, 18), sparse_format::bitmask);
  CHECK(empty.view().blocks() == 0);
  CHECK(empty.view().value_start()[2] == 0);
}

TEST_CASE("sparse_gemm: empty, single-block, dense, unstructured and 1:4 weights", "[sparse_gemm][kernels]") {
  std::mt19937 rng(9);
  for (isa_level isa : testing::supported_levels()) {
    for (sparse_format format : all_formats) {
      const int nb = panel_width(format);
      std::vector<pattern> patterns{pattern::empty, pattern::one_of_four};
      if (format != sparse_format::two_of_four) {
        patterns.insert(patterns.end(), {pattern::one_block, pattern::dense, pattern::unstructured});
      }
      for (pattern pat : patterns) {
        for (std::ptrdiff_t m : {1, 5, 17}) {
          const std::ptrdiff_t k = 37, n = 2 * nb + 3;
          const auto w = make_weights(k, n, nb, pat, fill::random, rng);
          column_params cp(n, rng);
          check_case<std::int8_t>(isa, format, m, k, n, w, 1, 0, 5, fill::random,
                                  pipeline(bias_add{cp.bias.data()}, requantize_float_per_channel{cp.scales.data()},
                                           add_zero_point{3}, saturating_cast<std::int8_t>{}),
                                  rng);
          check_case<std::uint8_t>(isa, format, m, k, n, w, 0, 2, 0, fill::random, pipeline(), rng);
        }
      }
    }
  }
}

TEST_CASE("sparse_gemm: full-range values and extreme zero points", "[sparse_gemm][kernels]") {
  std::mt19937 rng(7);
  for (isa_level isa : testing::supported_levels()) {
    for (sparse_format format : all_formats) {
      const int nb = panel_width(format);
      for (fill how : {fill::low, fill::high, fill::alternating}) {
        const auto w = make_weights(131, 45, nb, format == sparse_format::two_of_four ? pattern::two_of_four
                                                                                       : pattern::dense,
                                    how, rng);
        column_params cp(45, rng);
        const auto q = pipeline(bias_add{cp.bias.data()},
                                requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(),
                                                                                   cp.shifts.data()},
                                add_zero_point{-128}, saturating_cast<std::int8_t>{});
        for (std::int32_t a_zp : {-128, 127}) {
          check_case<std::int8_t>(isa, format, 11, 131, 45, w, 1, 2, a_zp, how, pipeline(), rng);
          check_case<std::int8_t>(isa, format, 11, 131, 45, w, 0, 0, a_zp, how, q, rng);
        }
        for (std::int32_t a_zp : {0, 255}) {
          check_case<std::uint8_t>(isa, format, 11, 131, 45, w, 1, 2, a_zp, how, pipeline(), rng);
        }
      }
      // The deepest K the bound allows: (a - a_zp) = 255, w = -128 → K * 32640 < 2^31.
      const auto deep = make_weights(65793, 3, nb, format == sparse_format::two_of_four ? pattern::two_of_four
                                                                                         : pattern::dense,
                                     fill::low, rng);
      check_case<std::int8_t>(isa, format, 2, 65793, 3, deep, 0, 0, 127, fill::low, pipeline(), rng);
    }
  }
}

TEST_CASE("sparse_gemm: every output stage on every kernel", "[sparse_gemm][stages]") {
  std::mt19937 rng(3);
  const std::ptrdiff_t shapes[][3] = {{1, 1, 1}, {5, 9, 33}, {9, 64, 17}, {2, 300, 100}};
  for (isa_level isa : testing::supported_levels()) {
    for (sparse_format format : all_formats) {
      for (const auto& s : shapes) {
        const std::ptrdiff_t m = s[0], k = s[1], n = s[2];
        const auto w = make_weights(k, n, panel_width(format), default_pattern(format), fill::random, rng);
        column_params cp(n, rng);
        const quantized_multiplier one = quantize_multiplier(0.0123);
        check_case<std::int8_t>(isa, format, m, k, n, w, 2, 1, 5, fill::random,
                                pipeline(requantize_fixed_point<single_rounding>{one}, add_zero_point{100},
                                         saturating_cast<std::uint8_t>{}),
                                rng);
        check_case<std::uint8_t>(isa, format, m, k, n, w, 0, 3, 128, fill::random,
                                 pipeline(bias_add{cp.bias.data()},
                                          requantize_fixed_point_per_channel<single_rounding>{cp.multipliers.data(),
                                                                                             cp.shifts.data()},
                                          saturating_cast<std::int16_t>{}),
                                 rng);
        check_case<std::uint8_t>(isa, format, m, k, n, w, 1, 1, 7, fill::random,
                                 pipeline(dequantize_float_per_channel{cp.scales.data(), cp.float_bias.data()},
                                          clamp_float{-1000.0f, 5000.0f}),
                                 rng);
        check_case<std::int8_t>(isa, format, m, k, n, w, 0, 0, 3, fill::random,
                                pipeline(dequantize_float{0.25f, nullptr}), rng);
        check_case<std::int8_t>(isa, format, m, k, n, w, 0, 0, 3, fill::high,
                                pipeline(bias_add{cp.bias.data()},
                                         requantize_fixed_point<double_rounding>{{2147483647, 30}}),
                                rng);  // the left shift saturates
      }
    }
  }
}

TEST_CASE("sparse_gemm: equals the dense gemm and is the same for every thread count", "[sparse_gemm][threads]") {
  std::mt19937 rng(11);
  const std::ptrdiff_t m = 37, k = 129, n = 300;
  auto a = make_values<std::int8_t>(static_cast<std::size_t>(m * k), fill::random, rng);
  column_params cp(n, rng);
  const auto p = pipeline(bias_add{cp.bias.data()},
                          requantize_fixed_point_per_channel<double_rounding>{cp.multipliers.data(), cp.shifts.data()},
                          add_zero_point{3}, saturating_cast<std::int8_t>{});
  for (sparse_format format : all_formats) {
    const auto w = make_weights(k, n, panel_width(format), default_pattern(format), fill::random, rng);
    const auto packed = pack_sparse_weights(make_view(w.data(), k, n), format);
    std::vector<std::int8_t> dense(static_cast<std::size_t>(m * n)), single(dense.size());
    gemm(context{}, quantized(make_view(a.data(), m, k), 1), pack_weights(make_view(w.data(), k, n)),
         make_view(dense.data(), m, n), p);
    sparse_gemm(context{}, quantized(make_view(a.data(), m, k), 1), packed, make_view(single.data(), m, n), p);
    CHECK(single == dense);
    for (int t : {2, 3, 5}) {
      std::vector<std::int8_t> out(single.size());
      sparse_gemm(context(threads{t}), quantized(make_view(a.data(), m, k), 1), packed, make_view(out.data(), m, n), p);
      CHECK(out == single);
    }
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
    sparse_gemm(custom, quantized(make_view(a.data(), m, k), 1), packed, make_view(out.data(), m, n), p);
    CHECK(out == single);
    CHECK(calls.load() == 1);
    // The unpacked overload and the zero-point-free overload.
    std::vector<std::int32_t> raw(single.size()), raw_want(single.size());
    sparse_gemm(context{}, quantized(make_view(a.data(), m, k), 0), quantized(make_view(w.data(), k, n), 0), format,
                make_view(raw.data(), m, n), pipeline());
    reference_gemm(quantized(make_view(a.data(), m, k), 0), quantized(make_view(w.data(), k, n), 0),
                   make_view(raw_want.data(), m, n), pipeline());
    CHECK(raw == raw_want);
    std::fill(raw.begin(), raw.end(), 0);
    sparse_gemm(context{}, make_view(a.data(), m, k), packed, make_view(raw.data(), m, n), pipeline());
    CHECK(raw == raw_want);
    sparse_gemm(context{}, make_view(a.data(), 0, k), packed, make_view(raw.data(), 0, n), pipeline());  // M = 0
  }
}

TEST_CASE("packed sparse weights: sizes, stored bytes, round trip", "[sparse_gemm][packing]") {
  std::mt19937 rng(5);
  // 10 x 40: block_4x16 has 3 groups x 3 panels; keep blocks (g=0,p=0), (g=2,p=2) only.
  std::vector<std::int8_t> w(10 * 40, 0);
  w[0 * 40 + 3] = 5;    // k 0, n 3   → group 0, panel 0
  w[9 * 40 + 39] = -7;  // k 9, n 39  → group 2, panel 2
  const auto packed = pack_sparse_weights(make_view(w.data(), 10, 40), sparse_format::block_4x16);
  const auto& v = packed.view();
  CHECK(v.k() == 10);
  CHECK(v.n() == 40);
  CHECK(v.k_padded() == 12);
  CHECK(v.n_padded() == 48);
  CHECK(v.blocks() == 2);
  CHECK(v.panels() == 3);
  CHECK(v.groups() == 3);
  CHECK(v.block_density() == Approx(2.0 / 9.0));
  CHECK(v.stored_weight_bytes() == 2 * (64 + 4) + 4 * 8);
  CHECK(v.panel_start()[0] == 0);
  CHECK(v.panel_start()[1] == 1);
  CHECK(v.panel_start()[2] == 1);
  CHECK(v.panel_start()[3] == 2);
  CHECK(v.block_k()[0] == 0);
  CHECK(v.block_k()[1] == 8);
  CHECK(v.column_sums()[3] == 5);
  CHECK(v.column_sums()[39] == -7);
  CHECK(v.size_bytes() == packed_sparse_weights_size(make_view(w.data(), 10, 40), sparse_format::block_4x16));
  for (sparse_format format : all_formats) {
    const auto ww = make_weights(23, 37, panel_width(format), default_pattern(format), fill::random, rng);
    const auto pk = pack_sparse_weights(make_view(ww.data(), 23, 37), format);
    for (std::ptrdiff_t kk = 0; kk < 23; ++kk) {
      for (std::ptrdiff_t c = 0; c < 37; ++c) {
        INFO(to_string(format) << " k=" << kk << " n=" << c);
        REQUIRE(pk.view().weight(kk, c) == ww[static_cast<std::size_t>(kk * 37 + c)]);
      }
    }
    // A copy of the bytes is a valid buffer with the same contents.
    void* raw = ::operator new(pk.size_bytes(), std::align_val_t{64});
    std::memcpy(raw, pk.view().bytes(), pk.size_bytes());
    const auto again = packed_sparse_weights_view::from_bytes(raw, pk.size_bytes());
    CHECK(again.blocks() == pk.view().blocks());
    CHECK(again.weight(22, 36) == ww[22 * 37 + 36]);
    ::operator delete(raw, std::align_val_t{64});
  }
  // 2:4 stores 64 value bytes + 16 position bytes per 16 columns x 8 k: 62.5 % of the dense matrix.
  std::vector<std::int8_t> z(64 * 64, 0);
  const auto two = pack_sparse_weights(make_view(z.data(), 64, 64), sparse_format::two_of_four);
  CHECK(two.view().stored_weight_bytes() * 1000 == 625 * 64 * 64);
  CHECK(two.view().blocks() == 16 * 4);
  CHECK(two.view().pairs() == 8);
  CHECK(two.view().quads() == 2);
  // K = 9 pads to 16 (two pairs, one quad of positions); the layout is exact to the byte.
  std::vector<std::int8_t> nine(9 * 20, 0);
  nine[0 * 20 + 0] = 3;    // k 0, n 0: group 0, slot 0
  nine[3 * 20 + 0] = -4;   // k 3, n 0: group 0, slot 3
  nine[6 * 20 + 17] = 7;   // k 6, n 17: panel 1, column 1, group 1, slot 2
  nine[8 * 20 + 19] = -1;  // k 8, n 19: panel 1, column 3, pair 1, group 2, slot 0
  const auto p9 = pack_sparse_weights(make_view(nine.data(), 9, 20), sparse_format::two_of_four);
  const auto& v9 = p9.view();
  CHECK(v9.k_padded() == 16);
  CHECK(v9.pairs() == 2);
  CHECK(v9.quads() == 1);
  CHECK(v9.groups() == 4);
  CHECK(v9.blocks() == 2 * 4);
  CHECK(v9.stored_weight_bytes() == 2 * (2 + 1) * 64);
  CHECK(v9.size_bytes() == static_cast<std::size_t>(64 + 2 * 64 + 2 * 2 * 64 + 2 * 64));
  const std::uint8_t* pos0 = v9.positions(0);
  const std::uint8_t* pos1 = v9.positions(1);
  CHECK(pos1 == pos0 + 64);
  // Bits 0, 1 of a position byte are pair 0, bits 2, 3 pair 1. Panel 0, column 0, pair 0: slots 0 and 3 of
  // group 0, then the lowest free slots 0, 1 of group 1; pair 1 keeps slots 0, 1 of both groups.
  CHECK(int{pos0[0]} == 0);
  CHECK(int{pos0[1]} == (3 | 1 << 2));
  CHECK((pos0[0] & 3) == 0);
  CHECK((pos0[1] & 3) == 3);
  CHECK((pos0[2] & 3) == 0);
  CHECK((pos0[3] & 3) == 1);
  CHECK(int{v9.values(0)[0]} == 3);
  CHECK(int{v9.values(0)[1]} == -4);
  // Panel 1, column 1, pair 0, group 1: the nonzero at slot 2 and a zero at slot 0 (in k order).
  CHECK((pos1[4 + 2] & 3) == 0);
  CHECK((pos1[4 + 3] & 3) == 2);
  CHECK(int{v9.values(2)[4 + 2]} == 0);
  CHECK(int{v9.values(2)[4 + 3]} == 7);
  // Panel 1, column 3, pair 1 (bits 2, 3), group 2: the nonzero at slot 0, then slot 1.
  CHECK(((pos1[12 + 0] >> 2) & 3) == 0);
  CHECK(((pos1[12 + 1] >> 2) & 3) == 1);
  CHECK(int{v9.values(3)[12 + 0]} == -1);
  CHECK(v9.weight(8, 19) == -1);
  CHECK(v9.weight(6, 17) == 7);
  CHECK(v9.weight(4, 17) == 0);
}

TEST_CASE("packed sparse weights: corrupt buffers are rejected", "[sparse_gemm][packing][errors]") {
  std::mt19937 rng(13);
  using Catch::Matchers::Contains;
  for (sparse_format format : all_formats) {
    const auto ww = make_weights(21, 35, panel_width(format), default_pattern(format), fill::random, rng);
    const auto pk = pack_sparse_weights(make_view(ww.data(), 21, 35), format);
    const std::size_t size = pk.size_bytes();
    auto* raw = static_cast<unsigned char*>(::operator new(size, std::align_val_t{64}));
    const auto reset = [&] { std::memcpy(raw, pk.view().bytes(), size); };
    const auto header = [&] {
      sparse_header h;
      std::memcpy(&h, raw, sizeof h);
      return h;
    };
    const auto store = [&](const sparse_header& h) { std::memcpy(raw, &h, sizeof h); };
    reset();
    CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size - 1), Contains("shorter"));
    sparse_header h = header();
    h.magic = 1;
    store(h);
    CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("not a packed sparse weight buffer"));
    reset();
    h = header();
    h.version = 9;
    store(h);
    CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("version 9"));
    reset();
    h = header();
    h.format = 7;
    store(h);
    CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("unknown sparse format 7"));
    reset();
    h = header();
    h.k = 25;
    store(h);
    CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("inconsistent"));
    reset();
    // Sizes at the limit: consistent, but far more blocks than the buffer holds (no overflow, no read).
    h = header();
    h.k = h.n = std::int64_t{1} << 31;
    h.k_padded = h.k;
    h.n_padded = h.n;
    h.blocks = (h.k / 4) * (h.n / panel_width(format));
    store(h);
    CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("more than the buffer"));
    reset();
    // A column sum that does not match the values.
    reinterpret_cast<std::int32_t*>(raw + size - 64 * ((panel_width(format) * ((35 + panel_width(format) - 1) /
                                                                                panel_width(format)) * 4 + 63) / 64))[0] += 1;
    CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("column_sums[0]"));
    reset();
    if (format == sparse_format::two_of_four) {
      // K = 21: 3 pairs in one quad of positions per panel. Column 0 of group 0 naming slot 1 twice:
      auto* positions = raw + 64;
      positions[0] = static_cast<unsigned char>((positions[0] & ~3u) | 1u);
      positions[1] = static_cast<unsigned char>((positions[1] & ~3u) | 1u);
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size),
                        Contains("2:4 positions of panel 0, group 0, column 0 must name two slots in increasing "
                                 "order, got 1, 1"));
      reset();
      positions[5] = static_cast<unsigned char>(positions[5] | (1u << 6));  // pair 3 does not exist
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("past the last pair (3)"));
      reset();
      // Pair 2 (k 16..23) of column 1, group 5 (k 20..23): slot 1 is k = 21, padding; give it a value.
      auto* values = reinterpret_cast<std::int8_t*>(raw + 64 + 3 * 64);  // 3 panels of positions
      positions[4 + 3] = static_cast<unsigned char>((positions[4 + 3] & ~(3u << 4)) | (3u << 4));
      positions[4 + 2] = static_cast<unsigned char>((positions[4 + 2] & ~(3u << 4)) | (1u << 4));
      values[2 * 64 + 4 + 2] = 5;
      values[2 * 64 + 4 + 3] = 0;
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("padding weight (k = 21, n = 1)"));
    } else if (format == sparse_format::bitmask) {
      // K = 21 (6 groups), N = 35 (3 panels): value_start at 64, masks at 128, values at 128 + 3 * 6 * 8 → 320.
      auto* start = reinterpret_cast<std::int64_t*>(raw + 64);
      auto* masks = reinterpret_cast<std::uint64_t*>(raw + 128);
      auto* values = reinterpret_cast<std::int8_t*>(raw + 320);
      REQUIRE(pk.view().bitmask_values() == reinterpret_cast<const std::int8_t*>(pk.view().bytes()) + 320);
      masks[5] |= std::uint64_t{1} << 1;  // group 5 (k 20..23), column 0, k = 21 ≥ K
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size),
                        Contains("mask bit of padding weight (k = 21, n = 0) in panel 0, group 5 must be 0"));
      reset();
      masks[2 * 6] |= std::uint64_t{1} << (4 * 3);  // panel 2, column 3 = n 35 ≥ N
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size),
                        Contains("mask bit of padding weight (k = 0, n = 35)"));
      reset();
      REQUIRE(pk.view().blocks() > 0);
      values[0] = 0;
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size),
                        Contains("stored value 0 (k = "));
      reset();
      start[1] += 1;
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size),
                        Contains("does not match the masks of panel 0"));
      reset();
      masks[0] ^= masks[0] & (0 - masks[0]);  // drop the lowest set bit of panel 0, group 0 (if any)
      if (masks[0] != pk.view().masks(0)[0]) {
        CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("value_start[1]"));
      }
      reset();
      start[0] = 5;
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("value_start[0] must be 0, got 5"));
      reset();
      // The bitmask format came with version 3: a buffer claiming version 2 is refused.
      h = header();
      CHECK(h.version == 3);
      h.version = 2;
      store(h);
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size),
                        Contains("sparse format bitmask needs buffer version 3, got version 2"));
      reset();
      // More values than the masks name.
      h = header();
      h.blocks += 1;
      store(h);
      CHECK_THROWS(packed_sparse_weights_view::from_bytes(raw, size));
    } else if (pk.view().blocks() > 1) {
      CHECK(header().version == 2);  // the older formats are still written as version 2, and only so
      h = header();
      h.version = 3;
      store(h);
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("needs buffer version 2, got version 3"));
      reset();
      const std::ptrdiff_t panels = pk.view().panels();
      auto* block_k = reinterpret_cast<std::uint32_t*>(raw + 64 + (((panels + 1) * 8 + 63) / 64) * 64);
      block_k[0] = 2;  // not a multiple of 4
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("block_k[0] = 2"));
      reset();
      auto* start = reinterpret_cast<std::int64_t*>(raw + 64);
      start[1] = start[2] + 1;
      CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, size), Contains("must not decrease"));
    }
    ::operator delete(raw, std::align_val_t{64});
  }
  // A padding weight (k >= K) that is not zero: K = 5 pads k = 5..7.
  std::vector<std::int8_t> w(5 * 16, 1);
  const auto pk = pack_sparse_weights(make_view(w.data(), 5, 16), sparse_format::block_4x16);
  auto* raw = static_cast<unsigned char*>(::operator new(pk.size_bytes(), std::align_val_t{64}));
  std::memcpy(raw, pk.view().bytes(), pk.size_bytes());
  const std::int64_t values_offset = 64 + 64 + 64;  // header, panel_start (2 x 8 bytes), block_k (2 x 4 bytes)
  reinterpret_cast<std::int8_t*>(raw + values_offset + 64)[3] = 9;  // block 1 (k 4..7), column 0, k = 7
  CHECK_THROWS_WITH(packed_sparse_weights_view::from_bytes(raw, pk.size_bytes()),
                    Contains("padding weight (k = 7, n = 0) must be 0, got 9"));
  ::operator delete(raw, std::align_val_t{64});
}

TEST_CASE("sparse_gemm: bad input is a qsparse::error naming the argument", "[sparse_gemm][errors]") {
  using Catch::Matchers::Contains;
  std::vector<std::int8_t> a(8 * 16, 1), w(16 * 24, 1), out(8 * 24);
  CHECK_THROWS_WITH(pack_sparse_weights(make_view(w.data(), 16, 24), sparse_format::block_4x16, 3),
                    Contains("weight_zero_point = 3"));
  CHECK_THROWS_WITH(pack_sparse_weights(make_view(w.data(), 16, 24), sparse_format::two_of_four),
                    Contains("not 2:4 sparse along K: column n = 0 has 4 nonzeros in k = 0 .. 3"));
  CHECK_THROWS_WITH(pack_sparse_weights(make_view(w.data(), 16, 24), static_cast<sparse_format>(9)),
                    Contains("unknown sparse format 9"));
  CHECK_THROWS_WITH(pack_sparse_weights(make_view(w.data(), 0, 24), sparse_format::block_4x16),
                    Contains("K, N >= 1, got 0 x 24"));
  const auto packed = pack_sparse_weights(make_view(w.data(), 16, 24), sparse_format::block_4x32);
  CHECK_THROWS_WITH(pack_sparse_weights(make_view(w.data(), 16, 24), 0, sparse_format::block_4x32, nullptr, 0),
                    Contains("buffer must not be null"));
  const auto raw = pipeline(requantize_fixed_point<double_rounding>{quantize_multiplier(0.5)},
                            saturating_cast<std::int8_t>{});
  context ctx;
  CHECK_THROWS_WITH(sparse_gemm(ctx, make_view(a.data(), 8, 15), packed, make_view(out.data(), 8, 24), raw),
                    Contains("K = 15") && Contains("K = 16"));
  CHECK_THROWS_WITH(sparse_gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 23), raw),
                    Contains("destination is 8 x 23"));
  CHECK_THROWS_WITH(sparse_gemm(ctx, quantized(make_view(a.data(), 8, 16), 128), packed, make_view(out.data(), 8, 24),
                                raw),
                    Contains("zero point must be in [-128, 127], got 128"));
  CHECK_THROWS_WITH(sparse_gemm(ctx, make_strided_view(a.data(), {8, 16}, {1, 8}), packed,
                                make_view(out.data(), 8, 24), raw),
                    Contains("contiguous along K"));
  CHECK_THROWS_WITH(sparse_gemm(ctx, make_view(a.data(), 8, 16), packed, make_strided_view(out.data(), {8, 12}, {1, 8}),
                                raw),
                    Contains("destination is 8 x 12"));
  CHECK_THROWS_WITH(sparse_gemm(ctx, make_view(a.data(), 8, 16), packed, make_view(out.data(), 8, 24),
                                pipeline(clamp{5, 4}, saturating_cast<std::int8_t>{})),
                    Contains("min = 5, max = 4"));
  CHECK_THROWS_WITH(sparse_gemm(ctx, make_view(a.data(), 8, 16), packed_sparse_weights_view{},
                                make_view(out.data(), 8, 24), raw),
                    Contains("empty"));
  std::vector<std::int8_t> deep_w(70000, 0);
  deep_w[5] = 1;
  std::vector<std::uint8_t> deep_a(70000, 1);  // 70000 * 255 * 128 > 2^31
  const auto deep = pack_sparse_weights(make_view(deep_w.data(), 70000, 1), sparse_format::block_4x16);
  std::int32_t one_out = 0;
  CHECK_THROWS_WITH(sparse_gemm(ctx, make_view(deep_a.data(), 1, 70000), deep, make_view(&one_out, 1, 1), pipeline()),
                    Contains("too deep"));
}

namespace {
struct fake_base_kernel {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "base"; }
};
template <bool Has>
struct fake_extended_kernel {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return Has ? "extended, present" : "extended, absent"; }
  static bool cpu_has_extensions() { return Has; }
};
}  // namespace

TEST_CASE("kernel registries skip a kernel whose CPU extensions are absent", "[sparse_gemm][dispatch]") {
  const auto all = [](auto) { return true; };
  using absent = kernels::kernel_list<fake_base_kernel, fake_extended_kernel<false>>;
  using present = kernels::kernel_list<fake_base_kernel, fake_extended_kernel<true>>;
  CHECK(std::string(kernels::selected_kernel_name(absent{}, isa_level::avx2, all)) == "base");
  CHECK(std::string(kernels::selected_kernel_name(present{}, isa_level::avx2, all)) == "extended, present");
  CHECK(std::string(kernels::selected_kernel_name(present{}, isa_level::scalar, all)) == "base");
  CHECK_FALSE(kernels::cpu_has_kernel_extensions<fake_extended_kernel<false>>());
  CHECK(kernels::cpu_has_kernel_extensions<fake_base_kernel>());
  // The guard's list of kernels this CPU runs leaves the absent one out.
  const auto names = testing::runnable_kernel_names(absent{});
  CHECK(std::find(names.begin(), names.end(), std::string("extended, absent")) == names.end());
}

TEST_CASE("sparse_gemm: selected kernel names follow the ISA", "[sparse_gemm][dispatch]") {
  CHECK(std::string(selected_sparse_kernel_name(sparse_format::block_4x32, isa_level::scalar)) ==
        "spgemm_block4x32_x8s8_s32_1x32c4__scalar");
  CHECK(std::string(selected_sparse_kernel_name(sparse_format::two_of_four, isa_level::avx512_vnni)) ==
        (QSPARSE_X86 ? "spgemm_2of4_u8s8_s32_8x16c4__avx512vnni" : "spgemm_2of4_x8s8_s32_1x16c4__scalar"));
  CHECK(std::string(selected_sparse_kernel_name(sparse_format::block_4x16, isa_level::avx512)) ==
        (QSPARSE_X86 ? "spgemm_block4x16_x8s8_s32_2x16c4__avx2" : "spgemm_block4x16_x8s8_s32_1x16c4__scalar"));
  CHECK(std::string(selected_sparse_kernel_name(sparse_format::bitmask, isa_level::scalar)) ==
        "spgemm_bitmask_x8s8_s32_1x16c4__scalar");
  CHECK(std::string(selected_sparse_kernel_name(sparse_format::bitmask, isa_level::avx512)) ==
        (QSPARSE_X86 ? "spgemm_bitmask_x8s8_s32_2x16c4__avx2" : "spgemm_bitmask_x8s8_s32_1x16c4__scalar"));
#if QSPARSE_X86
  // VBMI2 is beyond the avx512_vnni rung: the expand kernel runs only where the CPU has it.
  CHECK(std::string(selected_sparse_kernel_name(sparse_format::bitmask, isa_level::avx512_vnni)) ==
        (cpu().avx512_vbmi2 ? "spgemm_bitmask_u8s8_s32_8x16c4__avx512vnni_vbmi2" : "spgemm_bitmask_x8s8_s32_2x16c4__avx2"));
#endif
#if QSPARSE_AARCH64
  CHECK(std::string(selected_sparse_kernel_name(sparse_format::block_4x16, isa_level::neon_i8mm)) ==
        "spgemm_block4x16_x8s8_s32_4x16c4__neondotprod");
  CHECK(std::string(selected_sparse_kernel_name(sparse_format::block_4x32, isa_level::neon_dotprod)) ==
        "spgemm_block4x32_x8s8_s32_4x16c4__neondotprod");
  CHECK(std::string(selected_sparse_kernel_name(sparse_format::block_4x16, isa_level::neon)) ==
        "spgemm_block4x16_x8s8_s32_1x16c4__scalar");
  CHECK(std::string(selected_sparse_kernel_name(sparse_format::two_of_four, isa_level::neon_i8mm)) ==
        "spgemm_2of4_x8s8_s32_4x16c4__neondotprod");
  CHECK(std::string(selected_sparse_kernel_name(sparse_format::two_of_four, isa_level::neon)) ==
        "spgemm_2of4_x8s8_s32_1x16c4__scalar");
#endif
  std::vector<std::int8_t> w(8 * 8, 0);
  const auto packed = pack_sparse_weights(make_view(w.data(), 8, 8), sparse_format::block_4x16);
  const scoped_isa_ceiling ceiling(isa_level::scalar);
  CHECK(std::string(selected_kernel_name(packed.view())) == "spgemm_block4x16_x8s8_s32_1x16c4__scalar");
}

TEST_CASE("sparse_gemm: a destination sharing memory with the activations is an error (issue 22)",
          "[sparse_gemm][errors]") {
  std::vector<std::int8_t> w(32 * 32, 0);
  for (std::size_t i = 0; i < w.size(); i += 5) w[i] = 3;
  const auto packed = pack_sparse_weights(make_view(static_cast<const std::int8_t*>(w.data()), 32, 32),
                                          sparse_format::block_4x16);
  std::vector<std::int32_t> buffer(8 * 32);
  const auto a = make_view(reinterpret_cast<const std::int8_t*>(buffer.data()), 8, 32);
  CHECK_THROWS_WITH(sparse_gemm(context{}, a, packed, make_view(buffer.data(), 8, 32), pipeline()),
                    Catch::Contains("qsparse::sparse_gemm: destination overlaps activations in memory"));
  std::vector<std::int8_t> a_own(8 * 32, 1);
  CHECK_THROWS_WITH(sparse_gemm(context{}, make_view(static_cast<const std::int8_t*>(a_own.data()), 8, 32), packed,
                                make_strided_view(buffer.data(), {8, 32}, {0, 1}), pipeline()),
                    Catch::Contains("qsparse::sparse_gemm: destination's elements overlap"));
}
