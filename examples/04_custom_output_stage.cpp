// Example 04: an output stage of your own — a per-channel float scale followed by a lookup table.
//
// A quantized layer followed by a sigmoid is often run as "requantize, then look the activation up in a
// 256-entry table" (TFLite's LOGISTIC on int8 is a table). qsparse has no such stage; this example writes
// one (see docs/kernels.md, "Writing an output stage"), puts it after qsparse's bias_add in a pipeline,
// runs it in an int8 GEMM packed for every ISA this CPU has and in a grouped convolution, and checks every
// output against the reference GEMM / convolution, which apply the same scalar definition.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "qsparse/conv/conv2d.hpp"
#include "qsparse/conv/reference.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/reference.hpp"

namespace {

/// table[clamp(round(float(acc) * scales[n]) + 128, 0, 255)]: int32 accumulator in, int8 activation out.
struct scale_then_table {
  using input_type = std::int32_t;
  using output_type = std::int8_t;
  const float* scales;       // one per output column (channel)
  const std::int8_t* table;  // 256 entries

  std::int8_t apply(std::int32_t acc, std::ptrdiff_t /*m*/, std::ptrdiff_t n) const {
    const long i = std::lround(static_cast<float>(acc) * scales[n]) + 128;
    return table[i < 0 ? 0 : (i > 255 ? 255 : i)];
  }
  // Grouped convolution runs one GEMM per group; its column n is the layer's channel n0 + n.
  scale_then_table offset_columns(std::ptrdiff_t n0) const { return {scales + n0, table}; }
  // Checked once per call, before any kernel runs; a qsparse::error names the argument and value.
  void validate(std::ptrdiff_t columns, const char* function) const {
    if (scales == nullptr || table == nullptr) {
      throw qsparse::error(std::string(function) + ": scale_then_table needs scales and a table");
    }
    for (std::ptrdiff_t n = 0; n < columns; ++n) {
      if (!(std::isfinite(scales[n]) && scales[n] > 0.0f)) {
        throw qsparse::error(std::string(function) + ": scale_then_table.scales[" + std::to_string(n) +
                             "] must be positive and finite, got " + std::to_string(scales[n]));
      }
    }
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

}  // namespace

int main() {
  using qsparse::index_t;
  // The sigmoid of (i - 128) / 16 as int8 (scale 1/255, zero point -128).
  std::vector<std::int8_t> table(256);
  for (int i = 0; i < 256; ++i) {
    table[static_cast<std::size_t>(i)] =
        static_cast<std::int8_t>(std::lround(255.0 / (1.0 + std::exp(-(i - 128) / 16.0))) - 128);
  }

  // A fully connected layer: 32 rows of 200 int8 inputs, 96 outputs.
  const index_t m = 32, k = 200, n = 96;
  const auto a = random_values<std::int8_t>(static_cast<std::size_t>(m * k), -128, 127, 1);
  const auto w = random_values<std::int8_t>(static_cast<std::size_t>(k * n), -127, 127, 2);
  const auto bias = random_values<std::int32_t>(static_cast<std::size_t>(n), -20000, 20000, 3);
  std::vector<float> scales(static_cast<std::size_t>(n));
  for (index_t j = 0; j < n; ++j) scales[static_cast<std::size_t>(j)] = 0.0005f * static_cast<float>(1 + j % 7);
  const auto out = qsparse::pipeline(qsparse::bias_add{bias.data()}, scale_then_table{scales.data(), table.data()});

  const auto av = qsparse::make_view(a.data(), m, k);
  const auto wv = qsparse::make_view(w.data(), k, n);
  std::vector<std::int8_t> want(static_cast<std::size_t>(m * n)), got(want.size());
  qsparse::reference_gemm(qsparse::quantized(av, -1), qsparse::quantized(wv, 0), qsparse::make_view(want.data(), m, n),
                          out);
  bool all_equal = true;
  for (qsparse::isa_level isa : qsparse::supported_isas()) {
    if (!qsparse::isa_runs(qsparse::isa_ceiling(), isa)) continue;  // above QSPARSE_ISA_CEILING: gemm refuses it
    const auto packed = qsparse::pack_weights(wv, 0, isa);
    qsparse::gemm(qsparse::context{}, qsparse::quantized(av, -1), packed.view(), qsparse::make_view(got.data(), m, n),
                  out);
    const bool equal = got == want;
    all_equal = all_equal && equal;
    std::printf("gemm %dx%dx%d, weights packed for %-12s %s\n", static_cast<int>(m), static_cast<int>(k),
                static_cast<int>(n), qsparse::to_string(isa), equal ? "bit-exact with the reference" : "DIFFERS");
  }

  // A grouped 3x3 convolution (2 groups of 8 -> 48 channels each), the stage's scales per output channel.
  const index_t batch = 1, h = 10, wd = 10, c_in = 16, groups = 2, c_out = 96;
  const auto in = random_values<std::int8_t>(static_cast<std::size_t>(batch * h * wd * c_in), -128, 127, 4);
  const auto filter = random_values<std::int8_t>(static_cast<std::size_t>(c_out * 9 * (c_in / groups)), -127, 127, 5);
  const auto conv_out = qsparse::pipeline(scale_then_table{scales.data(), table.data()});
  qsparse::conv2d_params params;
  params.pad = qsparse::padding::same();
  const auto iv = qsparse::make_view(in.data(), batch, h, wd, c_in);
  const auto fv = qsparse::make_view(filter.data(), c_out, index_t{3}, index_t{3}, c_in / groups);
  std::vector<std::int8_t> conv_want(static_cast<std::size_t>(batch * h * wd * c_out)), conv_got(conv_want.size());
  qsparse::reference_conv2d(qsparse::quantized(iv, 0), qsparse::quantized(fv, 0), groups,
                            qsparse::make_view(conv_want.data(), batch, h, wd, c_out), params, conv_out);
  qsparse::conv2d(qsparse::context{}, qsparse::quantized(iv, 0), qsparse::pack_conv2d_weights(fv, 0, groups),
                  qsparse::make_view(conv_got.data(), batch, h, wd, c_out), params, conv_out);
  const bool conv_equal = conv_got == conv_want;
  all_equal = all_equal && conv_equal;
  std::printf("conv2d 10x10x16 -> 96, 2 groups:                %s\n",
              conv_equal ? "bit-exact with the reference" : "DIFFERS");

  // A bad parameter is reported before any kernel runs.
  scales[5] = 0.0f;
  try {
    qsparse::gemm(qsparse::context{}, qsparse::quantized(av, -1), qsparse::pack_weights(wv, 0).view(),
                  qsparse::make_view(got.data(), m, n), out);
  } catch (const qsparse::error& e) {
    std::printf("a zero scale: %s\n", e.what());
  }
  std::printf(all_equal ? "custom output stage: every result bit-exact\n" : "custom output stage: MISMATCH\n");
  return all_equal ? 0 : 1;
}
