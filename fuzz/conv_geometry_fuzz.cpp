// fuzz/conv_geometry_fuzz.cpp — libFuzzer target for the geometry checks of conv2d, depthwise_conv2d,
// max_pool2d and average_pool2d: strides, dilations, paddings and filter sizes come from the fuzzer as
// any int64 (so overflowing products are tried), the buffers are small and real.
//
// Input: byte 0 picks the operation (conv2d, depthwise, max pool, average pool) and the padding kind;
// then input height and width (1..12), channels (1..8), kernel height and width (conv / depthwise:
// 1..5, the filter is real; pooling: any int64), strides, dilations and explicit pads (any int64, biased
// towards small values and the edges of int64), then the values.
// Property checked on every input:
//   * the geometry is either rejected with qsparse::error or accepted; nothing crashes, reads or writes
//     out of bounds or hits undefined behaviour (built with -fsanitize=fuzzer,address,undefined);
//   * an accepted call gives exactly the reference's result (qsparse/conv/reference.hpp).
// Calls whose output would hold more than 2^16 values are skipped (a geometry can be valid and huge).
//
//   build/<dir>/fuzz/conv_geometry_fuzz -max_len=512 corpus-dir fuzz/corpus/conv_geometry
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "qsparse/conv/conv2d.hpp"
#include "qsparse/conv/depthwise.hpp"
#include "qsparse/conv/pooling.hpp"
#include "qsparse/conv/reference.hpp"

namespace {

using qsparse::index_t;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

struct reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() { return n > 0 ? (--n, *p++) : 0; }
  // Mostly small values, sometimes the edges of int64 and large powers of two (±1), where products overflow.
  std::int64_t value() {
    const std::uint8_t tag = byte();
    switch (tag % 8) {
      case 0: return std::numeric_limits<std::int64_t>::max() - byte();
      case 1: return std::numeric_limits<std::int64_t>::min() + byte();
      case 2: return (std::int64_t{1} << (32 + byte() % 31)) + (static_cast<std::int8_t>(byte()) % 3);
      case 3: {
        std::uint64_t v = 0;
        for (int b = 0; b < 8; ++b) v = (v << 8) | byte();
        return static_cast<std::int64_t>(v);
      }
      default: return static_cast<std::int8_t>(byte()) % 9;
    }
  }
};

qsparse::padding make_padding(std::uint8_t kind, reader& in) {
  switch (kind % 3) {
    case 0: return qsparse::padding::valid();
    case 1: return qsparse::padding::same();
    default: {
      const std::int64_t t = in.value(), b = in.value(), l = in.value(), r = in.value();
      return qsparse::padding::explicit_pads(t, b, l, r);
    }
  }
}

constexpr index_t max_output = index_t{1} << 16;

template <class Run, class Reference>
void compare(index_t n, index_t oh, index_t ow, index_t c, Run run, Reference reference) {
  if (oh > max_output / ow || oh * ow > max_output / c) return;
  std::vector<std::int32_t> got(static_cast<std::size_t>(n * oh * ow * c), 7), want(got.size(), -7);
  try {
    run(qsparse::make_view(got.data(), n, oh, ow, c));
  } catch (const qsparse::error&) {
    require(false);  // the geometry was accepted by conv_output_geometry, so the call must run
  }
  reference(qsparse::make_view(want.data(), n, oh, ow, c));
  require(got == want);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  reader in{data + 1, size - 1};
  const int op = data[0] % 4;
  const index_t n = 1, h = 1 + in.byte() % 12, w = 1 + in.byte() % 12, c = 1 + in.byte() % 8;
  const qsparse::context ctx{};
  std::vector<std::int8_t> input(static_cast<std::size_t>(n * h * w * c));
  const auto in_view = qsparse::make_view(static_cast<const std::int8_t*>(input.data()), n, h, w, c);

  if (op >= 2) {  // pooling: the filter sizes are hostile too
    qsparse::pool2d_params pool{};
    pool.filter_h = in.value();
    pool.filter_w = in.value();
    pool.stride_h = in.value();
    pool.stride_w = in.value();
    pool.pad = make_padding(data[0] / 4, in);
    for (auto& v : input) v = static_cast<std::int8_t>(in.byte());
    qsparse::conv_geometry g;
    try {
      g = qsparse::pool_output_geometry(pool, h, w, "fuzz");
    } catch (const qsparse::error&) {
      return 0;
    }
    if (g.out_h > max_output / g.out_w || g.out_h * g.out_w > max_output / c) return 0;
    std::vector<std::int8_t> got(static_cast<std::size_t>(n * g.out_h * g.out_w * c)), want(got.size());
    const auto got_view = qsparse::make_view(got.data(), n, g.out_h, g.out_w, c);
    const auto want_view = qsparse::make_view(want.data(), n, g.out_h, g.out_w, c);
    bool rejected = false, reference_rejected = false;
    try {
      if (op == 2) qsparse::max_pool2d(ctx, in_view, got_view, pool);
      else qsparse::average_pool2d(ctx, in_view, got_view, pool);
    } catch (const qsparse::error&) {
      rejected = true;  // e.g. an explicit pad as large as the filter leaves a window without a pixel
    }
    try {
      if (op == 2) qsparse::reference_max_pool2d(in_view, want_view, pool);
      else qsparse::reference_average_pool2d(in_view, want_view, pool);
    } catch (const qsparse::error&) {
      reference_rejected = true;
    }
    if (!rejected) require(!reference_rejected && got == want);
    return 0;
  }

  // conv2d / depthwise: a real filter, hostile strides, dilations and pads.
  const index_t kh = 1 + in.byte() % 5, kw = 1 + in.byte() % 5;
  qsparse::conv2d_params params{};
  params.stride_h = in.value();
  params.stride_w = in.value();
  params.dilation_h = in.value();
  params.dilation_w = in.value();
  params.pad = make_padding(data[0] / 4, in);
  const std::int32_t zp = static_cast<std::int8_t>(in.byte());
  for (auto& v : input) v = static_cast<std::int8_t>(in.byte());
  qsparse::conv_geometry g;
  try {
    g = qsparse::conv_output_geometry(params, h, w, kh, kw, "fuzz");
  } catch (const qsparse::error&) {
    // The entry point must reject it as well, before touching anything.
    std::vector<std::int32_t> out(1);
    const auto out_view = qsparse::make_view(out.data(), 1, 1, 1, 1);
    bool rejected = false;
    try {
      if (op == 0) {
        std::vector<std::int8_t> filter(static_cast<std::size_t>(c * kh * kw * c), 1);
        const auto packed = qsparse::pack_conv2d_weights(
            qsparse::make_view(static_cast<const std::int8_t*>(filter.data()), c, kh, kw, c));
        qsparse::conv2d(ctx, qsparse::quantized(in_view, zp), packed, out_view, params, qsparse::pipeline());
      } else {
        std::vector<std::int8_t> filter(static_cast<std::size_t>(kh * kw * c), 1);
        const auto packed = qsparse::pack_depthwise_weights(
            qsparse::make_view(static_cast<const std::int8_t*>(filter.data()), 1, kh, kw, c));
        qsparse::depthwise_conv2d(ctx, qsparse::quantized(in_view, zp), packed, out_view, params, qsparse::pipeline());
      }
    } catch (const qsparse::error&) {
      rejected = true;
    }
    require(rejected);
    return 0;
  }
  if (op == 0) {
    const index_t c_out = 1 + in.byte() % 8;
    std::vector<std::int8_t> filter(static_cast<std::size_t>(c_out * kh * kw * c));
    for (auto& v : filter) v = static_cast<std::int8_t>(in.byte());
    const auto f = qsparse::make_view(static_cast<const std::int8_t*>(filter.data()), c_out, kh, kw, c);
    const auto packed = qsparse::pack_conv2d_weights(f);
    compare(n, g.out_h, g.out_w, c_out,
            [&](const auto& out) {
              qsparse::conv2d(ctx, qsparse::quantized(in_view, zp), packed, out, params, qsparse::pipeline());
            },
            [&](const auto& out) {
              qsparse::reference_conv2d(qsparse::quantized(in_view, zp), qsparse::quantized(f, 0), 1, out, params,
                                        qsparse::pipeline());
            });
  } else {
    std::vector<std::int8_t> filter(static_cast<std::size_t>(kh * kw * c));
    for (auto& v : filter) v = static_cast<std::int8_t>(in.byte());
    const auto f = qsparse::make_view(static_cast<const std::int8_t*>(filter.data()), 1, kh, kw, c);
    const auto packed = qsparse::pack_depthwise_weights(f);
    compare(n, g.out_h, g.out_w, c,
            [&](const auto& out) {
              qsparse::depthwise_conv2d(ctx, qsparse::quantized(in_view, zp), packed, out, params, qsparse::pipeline());
            },
            [&](const auto& out) {
              qsparse::reference_depthwise_conv2d(qsparse::quantized(in_view, zp), qsparse::quantized(f, 0), out,
                                                  params, qsparse::pipeline());
            });
  }
  return 0;
}
