// Output stages written outside the library (docs/kernels.md, "Writing an output stage"): they run through
// their scalar definition on every ISA, see the global output column in grouped convolution, are validated,
// and compose with qsparse's stages.
#include "qsparse/conv/conv2d.hpp"
#include "qsparse/conv/depthwise.hpp"
#include "qsparse/conv/reference.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/gemm_16x8.hpp"
#include "qsparse/gemm/gemm_f16.hpp"
#include "qsparse/gemm/reference.hpp"
#include "qsparse/gemm/reference_16x8.hpp"
#include "qsparse/gemm/reference_f16.hpp"
#include "qsparse/gemm/sparse_gemm.hpp"

#include "support/testing.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace {

using qsparse::index_t;

/// float(acc) * scales[n], rounded half away from zero to an index into a 256-entry table (clamped to
/// [0, 255] after adding 128), then the table's int8 value: a per-channel float scale and a lookup table
/// (e.g. a quantized sigmoid), the example of the issue.
struct scale_then_table {
  using input_type = std::int32_t;
  using output_type = std::int8_t;
  const float* scales;
  const std::int8_t* table;

  std::int8_t apply(std::int32_t acc, std::ptrdiff_t, std::ptrdiff_t n) const {
    const long i = std::lround(static_cast<float>(acc) * scales[n]) + 128;
    return table[i < 0 ? 0 : (i > 255 ? 255 : i)];
  }
  scale_then_table offset_columns(std::ptrdiff_t n0) const { return {scales + n0, table}; }
  void validate(std::ptrdiff_t columns, const char* function) const {
    qsparse::detail::check(scales != nullptr && table != nullptr, function,
                           ": scale_then_table needs scales and a table");
    for (std::ptrdiff_t n = 0; n < columns; ++n) {
      qsparse::detail::check(std::isfinite(scales[n]), function, ": scale_then_table.scales[", n, "] = ", scales[n]);
    }
  }
};

/// Records the row and column each value was evaluated at (m * 1000 + n): what a stage sees of the output.
struct where {
  using input_type = std::int32_t;
  using output_type = std::int32_t;
  static constexpr bool per_column = false;
  std::int32_t apply(std::int32_t, std::ptrdiff_t m, std::ptrdiff_t n) const {
    return static_cast<std::int32_t>(m * 1000 + n);
  }
};

/// A float stage of the float16-weight GEMM: leaky ReLU.
struct leaky_relu {
  using input_type = float;
  using output_type = float;
  static constexpr bool per_column = false;
  float slope;
  float apply(float v, std::ptrdiff_t, std::ptrdiff_t) const { return v < 0.0f ? v * slope : v; }
};

/// An int64 stage of the 16x8 GEMM: the sums halved (arithmetic shift) and saturated to int16.
struct halve_to_int16 {
  using input_type = std::int64_t;
  using output_type = std::int16_t;
  static constexpr bool per_column = false;
  std::int16_t apply(std::int64_t v, std::ptrdiff_t, std::ptrdiff_t) const {
    const std::int64_t h = v >> 1;
    return static_cast<std::int16_t>(h < -32768 ? -32768 : (h > 32767 ? 32767 : h));
  }
};

template <class T>
std::vector<T> random_values(std::size_t count, int lo, int hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<T> v(count);
  for (T& x : v) x = static_cast<T>(d(rng));
  return v;
}

std::vector<std::int8_t> sigmoid_table() {
  std::vector<std::int8_t> t(256);
  for (int i = 0; i < 256; ++i) {
    t[static_cast<std::size_t>(i)] =
        static_cast<std::int8_t>(std::lround(255.0 / (1.0 + std::exp(-(i - 128) / 16.0))) - 128);
  }
  return t;
}

}  // namespace

TEST_CASE("a stage of the caller's own runs after qsparse's stages on every ISA", "[custom_stage]") {
  const index_t m = 13, k = 37, n = 45;
  const auto a = random_values<std::int8_t>(static_cast<std::size_t>(m * k), -128, 127, 1);
  const auto w = random_values<std::int8_t>(static_cast<std::size_t>(k * n), -127, 127, 2);
  const auto bias = random_values<std::int32_t>(static_cast<std::size_t>(n), -5000, 5000, 3);
  std::vector<float> scales(static_cast<std::size_t>(n));
  for (index_t j = 0; j < n; ++j) scales[static_cast<std::size_t>(j)] = 0.002f + 0.0003f * static_cast<float>(j);
  const auto table = sigmoid_table();
  const auto p = qsparse::pipeline(qsparse::bias_add{bias.data()}, scale_then_table{scales.data(), table.data()});
  const auto av = qsparse::make_view(a.data(), m, k);
  const auto wv = qsparse::make_view(w.data(), k, n);

  std::vector<std::int8_t> expected(static_cast<std::size_t>(m * n));
  qsparse::reference_gemm(qsparse::quantized(av, 3), qsparse::quantized(wv, 0),
                          qsparse::make_view(expected.data(), m, n), p);
  // Spot values of the definition: bias, scale, rounding and the table, by hand.
  for (index_t i : {index_t{0}, index_t{7}, index_t{12}}) {
    for (index_t j : {index_t{0}, index_t{44}}) {
      std::int64_t acc = bias[static_cast<std::size_t>(j)];
      for (index_t kk = 0; kk < k; ++kk) acc += (a[static_cast<std::size_t>(i * k + kk)] - 3) * w[static_cast<std::size_t>(kk * n + j)];
      long idx = std::lround(static_cast<float>(acc) * scales[static_cast<std::size_t>(j)]) + 128;
      idx = idx < 0 ? 0 : (idx > 255 ? 255 : idx);
      CHECK(expected[static_cast<std::size_t>(i * n + j)] == table[static_cast<std::size_t>(idx)]);
    }
  }
  for (qsparse::isa_level isa : qsparse::testing::supported_levels()) {
    INFO("isa " << qsparse::to_string(isa));
    const auto packed = qsparse::pack_weights(wv, 0, isa);
    std::vector<std::int8_t> got(static_cast<std::size_t>(m * n), 99);
    qsparse::gemm(qsparse::context{}, qsparse::quantized(av, 3), packed.view(), qsparse::make_view(got.data(), m, n), p);
    CHECK(got == expected);
  }
}

TEST_CASE("a stage of the caller's own sees the output row and column", "[custom_stage]") {
  const index_t m = 3, k = 8, n = 5;
  const auto a = random_values<std::uint8_t>(static_cast<std::size_t>(m * k), 0, 255, 4);
  const auto w = random_values<std::int8_t>(static_cast<std::size_t>(k * n), -127, 127, 5);
  std::vector<std::int32_t> got(static_cast<std::size_t>(m * 7), -1);  // row stride 7: a strided destination
  const auto dst = qsparse::make_strided_view(got.data(), {m, n}, {7, 1});
  qsparse::gemm(qsparse::context{}, qsparse::quantized(qsparse::make_view(a.data(), m, k), 128),
                qsparse::pack_weights(qsparse::make_view(w.data(), k, n), 0).view(), dst, qsparse::pipeline(where{}));
  for (index_t i = 0; i < m; ++i) {
    for (index_t j = 0; j < 7; ++j) {
      CHECK(got[static_cast<std::size_t>(i * 7 + j)] == (j < n ? i * 1000 + j : -1));
    }
  }
}

TEST_CASE("a stage of the caller's own is validated like qsparse's", "[custom_stage]") {
  const std::int8_t a[4] = {1, 2, 3, 4};
  const std::int8_t w[4] = {1, 0, 0, 1};
  std::int8_t out[4];
  const std::vector<float> scales = {1.0f, NAN};
  const auto table = sigmoid_table();
  const auto packed = qsparse::pack_weights(qsparse::make_view(w, 2, 2), 0);
  CHECK_THROWS_WITH(qsparse::gemm(qsparse::context{}, qsparse::quantized(qsparse::make_view(a, 2, 2), 0), packed.view(),
                                  qsparse::make_view(out, 2, 2),
                                  qsparse::pipeline(scale_then_table{scales.data(), table.data()})),
                    Catch::Contains("qsparse::gemm: scale_then_table.scales[1] = nan"));
  CHECK_THROWS_WITH(qsparse::gemm(qsparse::context{}, qsparse::quantized(qsparse::make_view(a, 2, 2), 0), packed.view(),
                                  qsparse::make_view(out, 2, 2), qsparse::pipeline(scale_then_table{nullptr, nullptr})),
                    Catch::Contains("scale_then_table needs scales and a table"));
}

TEST_CASE("grouped conv2d and depthwise give a stage of the caller's own the layer's channel", "[custom_stage]") {
  const index_t batch = 2, h = 6, wd = 5, c_in = 8, groups = 2, c_out = 6;
  const auto in = random_values<std::int8_t>(static_cast<std::size_t>(batch * h * wd * c_in), -128, 127, 6);
  const auto filter = random_values<std::int8_t>(static_cast<std::size_t>(c_out * 3 * 3 * (c_in / groups)), -127, 127, 7);
  std::vector<float> scales(static_cast<std::size_t>(c_in));
  for (index_t j = 0; j < c_in; ++j) scales[static_cast<std::size_t>(j)] = 0.01f * static_cast<float>(j + 1);
  const auto table = sigmoid_table();
  const auto p = qsparse::pipeline(scale_then_table{scales.data(), table.data()});
  qsparse::conv2d_params params;
  params.pad = qsparse::padding::same();
  const auto iv = qsparse::make_view(in.data(), batch, h, wd, c_in);
  const auto fv = qsparse::make_view(filter.data(), c_out, index_t{3}, index_t{3}, c_in / groups);
  std::vector<std::int8_t> expected(static_cast<std::size_t>(batch * h * wd * c_out)), got(expected.size());
  qsparse::reference_conv2d(qsparse::quantized(iv, -2), qsparse::quantized(fv, 0), groups,
                            qsparse::make_view(expected.data(), batch, h, wd, c_out), params, p);
  qsparse::conv2d(qsparse::context{}, qsparse::quantized(iv, -2), qsparse::pack_conv2d_weights(fv, 0, groups),
                  qsparse::make_view(got.data(), batch, h, wd, c_out), params, p);
  CHECK(got == expected);

  const auto dw_filter = random_values<std::int8_t>(static_cast<std::size_t>(3 * 3 * c_in), -127, 127, 8);
  const auto dv = qsparse::make_view(dw_filter.data(), index_t{1}, index_t{3}, index_t{3}, c_in);
  std::vector<std::int8_t> dw_expected(static_cast<std::size_t>(batch * h * wd * c_in)), dw_got(dw_expected.size());
  qsparse::reference_depthwise_conv2d(qsparse::quantized(iv, 5), qsparse::quantized(dv, 0),
                                      qsparse::make_view(dw_expected.data(), batch, h, wd, c_in), params, p);
  qsparse::depthwise_conv2d(qsparse::context{}, qsparse::quantized(iv, 5), qsparse::pack_depthwise_weights(dv, 0),
                            qsparse::make_view(dw_got.data(), batch, h, wd, c_in), params, p);
  CHECK(dw_got == dw_expected);
}

TEST_CASE("the 16x8 and float16-weight GEMMs run stages of the caller's own", "[custom_stage]") {
  const index_t m = 5, k = 19, n = 33;
  const auto a16 = random_values<std::int16_t>(static_cast<std::size_t>(m * k), -32768, 32767, 9);
  const auto w8 = random_values<std::int8_t>(static_cast<std::size_t>(k * n), -127, 127, 10);
  const auto p16 = qsparse::pipeline(halve_to_int16{});
  std::vector<std::int16_t> expected16(static_cast<std::size_t>(m * n)), got16(expected16.size());
  qsparse::reference_gemm_16x8(qsparse::make_view(a16.data(), m, k), qsparse::make_view(w8.data(), k, n),
                               qsparse::make_view(expected16.data(), m, n), p16);
  qsparse::gemm_16x8(qsparse::context{}, qsparse::make_view(a16.data(), m, k),
                     qsparse::pack_weights_16x8(qsparse::make_view(w8.data(), k, n)).view(),
                     qsparse::make_view(got16.data(), m, n), p16);
  CHECK(got16 == expected16);

  std::vector<float> af(static_cast<std::size_t>(m * k)), wf(static_cast<std::size_t>(k * n));
  for (std::size_t i = 0; i < af.size(); ++i) af[i] = static_cast<float>(a16[i]) / 4096.0f;
  for (std::size_t i = 0; i < wf.size(); ++i) wf[i] = static_cast<float>(w8[i]) / 64.0f;
  const auto pf = qsparse::pipeline(leaky_relu{0.125f});
  std::vector<float> expected_f(static_cast<std::size_t>(m * n)), got_f(expected_f.size());
  qsparse::reference_gemm_f16(qsparse::make_view(af.data(), m, k), qsparse::make_view(wf.data(), k, n),
                              qsparse::make_view(expected_f.data(), m, n), pf);
  qsparse::gemm_f16(qsparse::context{}, qsparse::make_view(af.data(), m, k), qsparse::make_view(wf.data(), k, n),
                    qsparse::make_view(got_f.data(), m, n), pf);
  CHECK(got_f == expected_f);
}
