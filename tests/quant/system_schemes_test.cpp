// The system-named schemes against the vectors of the systems they name: LiteRT QUANTIZE / DEQUANTIZE per
// interpreter kernel family, ONNX Runtime QuantizeLinear / DynamicQuantizeLinear, and PyTorch's custom
// quant_min / quant_max ranges through observers' parameters, fake quantization and LSQ.
#include "qsparse/quant/system_schemes.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "qsparse/qat/fake_quant.hpp"
#include "qsparse/qat/lsq.hpp"
#include "qsparse/quant/choose_params.hpp"
#include "qsparse/quant/quantize.hpp"
#include "support/testing.hpp"

namespace {
#include "data/onnx_oracle_vectors.inc"
#include "data/tflite_oracle_vectors.inc"
#include "data/torch_compat_vectors.inc"
}  // namespace

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::to_bits;

namespace {

template <class Scheme>
std::vector<std::int32_t> quantize_all(const std::vector<float>& x, per_tensor_params p) {
  std::vector<typename Scheme::value_type> q(x.size());
  quantize<Scheme>(make_view(x.data(), static_cast<index_t>(x.size())), make_view(q.data(), static_cast<index_t>(q.size())),
                   p);
  return {q.begin(), q.end()};
}

template <class Scheme>
std::vector<float> dequantize_all(const std::vector<typename Scheme::value_type>& q, per_tensor_params p) {
  std::vector<float> x(q.size());
  dequantize<Scheme>(make_view(q.data(), static_cast<index_t>(q.size())), make_view(x.data(), static_cast<index_t>(x.size())),
                     p);
  return x;
}

std::vector<float> floats(const std::uint32_t* bits, int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = from_bits(bits[i]);
  return v;
}

}  // namespace

TEST_CASE("TFLite QUANTIZE: reference, optimized and XNNPACK kernels", "[system_schemes][tflite]") {
  int finite = 0, huge = 0;
  for (const auto& c : tflite_quantize_cases) {
    const std::vector<float> x = floats(c.x_bits, 64);
    const per_tensor_params p{from_bits(c.scale_bits), c.zero_point};
    const bool int8 = std::strcmp(c.activation, "int8") == 0;
    const auto ref = int8 ? quantize_all<tflite_reference_int8_activation>(x, p)
                          : quantize_all<tflite_reference_int16_activation>(x, p);
    const auto opt = int8 ? quantize_all<tflite_optimized_int8_activation>(x, p)
                          : quantize_all<tflite_optimized_int16_activation>(x, p);
    const auto xnn = int8 ? quantize_all<xnnpack_int8_activation>(x, p) : opt;
    for (int i = 0; i < 64; ++i) {
      INFO(c.activation << " x = " << x[i] << " scale " << p.scale << " zp " << p.zero_point);
      if (std::fabs(x[i]) < 1e9f) {
        CHECK(ref[i] == c.reference[i]);
        CHECK(opt[i] == c.optimized[i]);
        CHECK(xnn[i] == c.xnnpack[i]);
        ++finite;
      } else {
        // ±inf, ±3e9, ±FLT_MAX: qsparse saturates, as the XNNPACK delegate does; the reference and optimized
        // kernels convert out of range (undefined behaviour in C++; 127 for -inf on x86, see docs/numerics.md).
        if (int8) CHECK(xnn[i] == c.xnnpack[i]);  // int16 QUANTIZE is not delegated to XNNPACK
        CHECK(ref[i] == (x[i] > 0 ? (int8 ? 127 : 32767) : (int8 ? -128 : -32768)));
        ++huge;
      }
    }
  }
  CHECK(finite == 610);
  CHECK(huge == 30);
}

TEST_CASE("TFLite DEQUANTIZE: every interpreter kernel family", "[system_schemes][tflite]") {
  int n = 0;
  for (const auto& c : tflite_dequantize_cases) {
    const per_tensor_params p{from_bits(c.scale_bits), c.zero_point};
    const bool optimized = std::strcmp(c.mode, "optimized") == 0;  // XNNPACK dequantizes as the reference
    std::vector<float> y;
    if (std::strcmp(c.activation, "int8") == 0) {
      const std::vector<std::int8_t> q(c.q, c.q + 64);
      y = optimized ? dequantize_all<tflite_optimized_int8_activation>(q, p)
                    : dequantize_all<tflite_reference_int8_activation>(q, p);
    } else {
      const std::vector<std::int16_t> q(c.q, c.q + 64);
      y = optimized ? dequantize_all<tflite_optimized_int16_activation>(q, p)
                    : dequantize_all<tflite_reference_int16_activation>(q, p);
    }
    for (int i = 0; i < 64; ++i) {
      INFO(c.activation << " " << c.mode << " q = " << c.q[i]);
      CHECK(to_bits(y[i]) == c.y_bits[i]);
      ++n;
    }
  }
  CHECK(n > 0);
}

TEST_CASE("ONNX QuantizeLinear divides by the scale and rounds half to even", "[system_schemes][onnx]") {
  int n = 0, differs_from_reciprocal = 0;
  for (const auto& c : onnx_quantize_linear) {
    const std::vector<float> x = floats(c.x_bits, 64);
    const per_tensor_params p{from_bits(c.scale_bits), c.zero_point};
    const bool u8 = std::strcmp(c.dtype, "uint8") == 0;
    const auto q = u8 ? quantize_all<onnx_uint8>(x, p) : quantize_all<onnx_int8>(x, p);
    const auto r = u8 ? quantize_all<torch_quint8>(x, p) : quantize_all<scheme<std::int8_t, per_tensor, affine, round_half_to_even>>(x, p);
    for (int i = 0; i < 64; ++i) {
      INFO(c.dtype << " x = " << x[i]);
      CHECK(q[i] == c.y[i]);
      differs_from_reciprocal += r[i] != c.y[i];
      ++n;
    }
  }
  CHECK(n == 512);
  CHECK(differs_from_reciprocal > 0);
}

TEST_CASE("ONNX DynamicQuantizeLinear: choose_params<onnx_uint8> and quantize", "[system_schemes][onnx]") {
  for (const auto& c : onnx_dynamic_quantize_linear) {
    const std::vector<float> x = floats(c.x_bits, 32);
    float lo = x[0], hi = x[0];
    for (float v : x) lo = std::min(lo, v), hi = std::max(hi, v);
    const per_tensor_params p = choose_params<onnx_uint8>(lo, hi);
    INFO("range [" << lo << ", " << hi << "]");
    CHECK(to_bits(p.scale) == c.scale_bits);
    CHECK(p.zero_point == c.zero_point);
    const auto q = quantize_all<onnx_uint8>(x, p);
    for (int i = 0; i < 32; ++i) CHECK(q[i] == c.y[i]);
  }
  // The backend test's vector: -2.5 → 26 (a reciprocal multiply gives 25).
  const per_tensor_params p = choose_params<onnx_uint8>(-3.0f, 2.0f);
  CHECK(p.zero_point == 153);
  CHECK(quantize_all<onnx_uint8>({-2.5f}, p)[0] == 26);
  CHECK(quantize_all<torch_quint8>({-2.5f}, p)[0] == 25);
}

namespace {

template <class Storage, class F>
bool with_range(const char* dtype, std::int32_t lo, std::int32_t hi, F&& f) {
  (void)dtype;
  if (lo == storage_traits<Storage>::qmin && hi == storage_traits<Storage>::qmax) {
    f(Storage{});
    return true;
  }
  return false;
}

template <class F>
void dispatch_range(const char* dtype, std::int32_t lo, std::int32_t hi, F&& f) {
  const bool u8 = std::strcmp(dtype, "quint8") == 0;
  bool done = false;
  if (u8) {
    done = with_range<quant_range<std::uint8_t, 0, 127>>(dtype, lo, hi, f) ||
           with_range<quant_range<std::uint8_t, 0, 15>>(dtype, lo, hi, f);
  } else {
    done = with_range<quant_range<std::int8_t, -64, 63>>(dtype, lo, hi, f) ||
           with_range<quant_range<std::int8_t, -8, 7>>(dtype, lo, hi, f);
  }
  REQUIRE(done);
}

}  // namespace


TEST_CASE("quant_range: PyTorch observers with custom quant_min / quant_max", "[system_schemes][torch]") {
  int n = 0;
  for (const auto& c : torch_range_observer) {
    const float lo = from_bits(c.min_bits), hi = from_bits(c.max_bits);
    const bool symmetric_mapping = std::strcmp(c.mapping, "symmetric") == 0;
    dispatch_range(c.dtype, c.quant_min, c.quant_max, [&](auto storage) {
      using S = decltype(storage);
      per_tensor_params p;
      if (symmetric_mapping) {
        p = choose_params<scheme<S, per_tensor, symmetric, round_half_to_even>>(lo, hi);
      } else {
        p = choose_params<scheme<S, per_tensor, affine, round_half_to_even>>(lo, hi);
      }
      INFO(c.dtype << " [" << c.quant_min << ", " << c.quant_max << "] " << c.mapping << " range [" << lo << ", " << hi << "]");
      CHECK(to_bits(p.scale) == c.scale_bits);
      CHECK(p.zero_point == c.zero_point);
      ++n;
    });
  }
  CHECK(n == 270);
}

TEST_CASE("quant_range: fake quantization and its straight-through mask", "[system_schemes][torch]") {
  int n = 0;
  for (const auto& c : torch_range_fake_quant) {
    const std::vector<float> x = floats(c.x_bits, 64);
    std::vector<float> y(64), dx(64);
    const std::vector<float> dy(64, 1.0f);
    const per_tensor_params p{from_bits(c.scale_bits), c.zero_point};
    const char* dtype = c.quant_min < 0 ? "qint8" : "quint8";
    dispatch_range(dtype, c.quant_min, c.quant_max, [&](auto storage) {
      using S = scheme<decltype(storage), per_tensor, affine, round_half_to_even>;
      fake_quantize<S>(make_view(x.data(), 64), make_view(y.data(), 64), p);
      fake_quantize_backward<S>(make_view(x.data(), 64), make_view(dy.data(), 64), make_view(dx.data(), 64), p);
    });
    for (int i = 0; i < 64; ++i) {
      INFO("[" << c.quant_min << ", " << c.quant_max << "] x = " << x[i]);
      CHECK(to_bits(y[i]) == c.y_bits[i]);
      CHECK(to_bits(dx[i]) == c.dx_bits[i]);
      ++n;
    }
  }
  CHECK(n == 768);
}

TEST_CASE("quant_range: LSQ forward and gradients", "[system_schemes][torch]") {
  int n = 0;
  for (const auto& c : torch_range_lsq) {
    const std::vector<float> x = floats(c.x_bits, 64);
    std::vector<float> y(64), dx(64);
    const std::vector<float> dy(64, 1.0f);
    const float scale = from_bits(c.scale_bits), zp = from_bits(c.zero_point_bits);
    lsq_gradients g;
    const char* dtype = c.quant_min < 0 ? "qint8" : "quint8";
    dispatch_range(dtype, c.quant_min, c.quant_max, [&](auto storage) {
      using S = scheme<decltype(storage), per_tensor, affine, round_half_to_even>;
      lsq_forward<S>(make_view(x.data(), 64), make_view(y.data(), 64), scale, zp);
      g = lsq_backward<S>(make_view(x.data(), 64), make_view(dy.data(), 64), make_view(dx.data(), 64), scale, zp, 1.0f);
    });
    INFO("[" << c.quant_min << ", " << c.quant_max << "] scale " << scale << " zero point " << zp);
    for (int i = 0; i < 64; ++i) {
      CHECK(to_bits(y[i]) == c.y_bits[i]);
      CHECK(to_bits(dx[i]) == c.dx_bits[i]);
      ++n;
    }
    // PyTorch sums the per-element gradients in float32 in its own order; qsparse sums in double.
    CHECK(g.scale == Approx(from_bits(c.dscale_bits)).epsilon(1e-5));
    CHECK(g.zero_point == Approx(from_bits(c.dzero_point_bits)).epsilon(1e-5));
  }
  CHECK(n == 768);
}

TEST_CASE("quant_range: storage traits and symmetric zero points", "[system_schemes]") {
  STATIC_REQUIRE(torch_quint8_reduce_range::qmin == 0);
  STATIC_REQUIRE(torch_quint8_reduce_range::qmax == 127);
  STATIC_REQUIRE(torch_qint4::qmin == -8);
  STATIC_REQUIRE(scheme<quant_range<std::uint8_t, 0, 15>, per_tensor, symmetric, round_half_to_even>::symmetric_zero_point == 7);
  STATIC_REQUIRE(scheme<std::uint8_t, per_tensor, symmetric, round_half_to_even>::symmetric_zero_point == 128);
  STATIC_REQUIRE(std::is_same_v<torch_quint4::value_type, std::uint8_t>);
  // quantize clamps to the range, not to the type
  const per_tensor_params p{1.0f, 0};
  CHECK(quantize_all<torch_quint4>({-3.0f, 7.0f, 100.0f}, p) == std::vector<std::int32_t>{0, 7, 15});
  CHECK(quantize_all<torch_qint4>({-30.0f, 2.5f, 100.0f}, p) == std::vector<std::int32_t>{-8, 2, 7});
}
