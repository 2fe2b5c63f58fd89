// Group-wise and sub-byte quantization: packing, parameters, quantize / dequantize, fake quantization,
// LSQ, the group observer and the clipping searches (one light TU: three schemes, scalar paths only).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "qsparse/calibrate/group_clip_search.hpp"
#include "qsparse/calibrate/group_minmax_observer.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/qat/group_fake_quant.hpp"
#include "qsparse/qat/group_lsq.hpp"
#include "qsparse/quant/group_quantize.hpp"
#include "qsparse/quant/sub_byte.hpp"

using namespace qsparse;

namespace {
// int4 [-8, 7], float scales, PyTorch's rules.
using w4_torch = scheme<int4, per_group<float>, symmetric, round_half_to_even>;
// uint4 [0, 15] with zero points, float16 scales, TFLite's rules.
using u4_tflite = scheme<uint4, per_group<float16>, affine, round_half_away_from_zero>;
// int4 narrowed to [-7, 7], float scales, TFLite's symmetric rule (max|w| / 7).
using w4_narrow = scheme<quant_range<int4, -7, 7>, per_group<float>, symmetric, round_half_away_from_zero>;

constexpr float inf = std::numeric_limits<float>::infinity();

double weight_error(const std::vector<float>& a, const std::vector<float>& b, std::size_t begin, std::size_t n) {
  double sum = 0.0;
  for (std::size_t i = begin; i < begin + n; ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    sum += qsparse::detail::product_not_fused(d, d);  // as the search sums (no FMA contraction)
  }
  return sum;
}
}  // namespace

static_assert(storage_traits<int4>::qmin == -8 && storage_traits<int4>::qmax == 7);
static_assert(storage_traits<uint4>::qmin == 0 && storage_traits<uint4>::qmax == 15 &&
              storage_traits<uint4>::symmetric_zero_point == 8);
static_assert(storage_traits<int2>::qmin == -2 && storage_traits<uint2>::qmax == 3);
static_assert(std::is_same_v<storage_traits<int4>::value_type, std::int8_t> &&
              std::is_same_v<storage_traits<uint4>::value_type, std::uint8_t>);
static_assert(w4_narrow::qmin == -7 && w4_narrow::qmax == 7 && std::is_same_v<w4_narrow::value_type, std::int8_t>);
static_assert(storage_bits_v<int4> == 4 && storage_bits_v<quant_range<int4, -7, 7>> == 4 && storage_bits_v<int2> == 2 &&
              storage_bits_v<std::int8_t> == 8 && storage_bits_v<narrow<std::int16_t>> == 16);
static_assert(is_sub_byte_v<uint2> && is_sub_byte_v<quant_range<int4, -7, 7>> && !is_sub_byte_v<std::int8_t> &&
              !is_sub_byte_v<quant_range<std::int8_t, -8, 7>>);
static_assert(w4_torch::is_per_group && !w4_torch::is_per_channel && !tflite_int8_weight::is_per_group);
static_assert(std::is_same_v<group_params_for<u4_tflite>, group_params<float16>>);
static_assert(packed_bytes<int4>(7) == 4 && packed_bytes<int2>(5) == 2 && values_per_byte_v<uint2> == 4);

TEST_CASE("sub-byte packing puts the first value of a byte in its low bits", "[group][sub_byte]") {
  std::uint8_t b = 0;
  set_packed<int4>(&b, 0, -3);
  CHECK(b == 0x0D);
  set_packed<int4>(&b, 1, 5);
  CHECK(b == 0x5D);
  CHECK(get_packed<int4>(&b, 0) == -3);
  CHECK(get_packed<int4>(&b, 1) == 5);
  set_packed<int4>(&b, 0, -8);  // rewrites only its own nibble
  CHECK(b == 0x58);
  CHECK(get_packed<uint4>(&b, 0) == 8);

  const std::int8_t two[4] = {1, -2, 0, -1};  // 01, 10, 00, 11 from the low bits up
  std::uint8_t packed2 = 0xFF;
  pack<int2>(two, 4, &packed2);
  CHECK(packed2 == 0xC9);
  std::int8_t back[4] = {};
  unpack<int2>(&packed2, 4, back);
  CHECK((back[0] == 1 && back[1] == -2 && back[2] == 0 && back[3] == -1));

  const std::int8_t odd[3] = {7, -8, 1};
  std::uint8_t bytes[2] = {0xFF, 0xFF};
  pack<int4>(odd, 3, bytes);
  CHECK(bytes[0] == 0x87);
  CHECK(bytes[1] == 0x01);  // the unused high nibble is 0
}

TEST_CASE("sub_byte_view packs each line along its packed axis", "[group][sub_byte]") {
  std::vector<std::uint8_t> bytes(6, 0);
  sub_byte_view<uint4, std::uint8_t> rows(bytes.data(), 3, 3, 1);
  CHECK(rows.line_bytes() == 2);
  CHECK(rows.size_bytes() == 6);
  rows.set(1, 2, 9);
  rows.set(2, 0, 4);
  CHECK(bytes[3] == 0x09);
  CHECK(bytes[4] == 0x04);
  std::vector<std::uint8_t> cbytes(4, 0);
  sub_byte_view<uint4, std::uint8_t> cols(cbytes.data(), 3, 2, 0);  // two columns of three values
  CHECK(cols.line_bytes() == 2);
  cols.set(1, 1, 6);
  CHECK(cbytes[2] == 0x60);
  CHECK(cols.get(1, 1) == 6);
  CHECK_THROWS_WITH((sub_byte_view<uint4, std::uint8_t>(cbytes.data(), 3, 2, 2)),
                    Catch::Contains("packed_axis must be 0 or 1, got packed_axis = 2"));
  CHECK_THROWS_WITH((sub_byte_view<uint4, const std::uint8_t>(nullptr, 1, 1, 1)),
                    Catch::Contains("data must not be null"));
}

TEST_CASE("round to nearest per group, quantize and dequantize with exact values", "[group]") {
  // Two rows of 8, groups of 4 along axis 1 (the reduction axis): four groups.
  std::vector<float> w = {-3.5f, 1.0f, 0.25f, 0.0f, /**/ 7.0f, -7.0f, 3.5f, -0.25f,
                          0.0f, 0.0f, 0.0f, 0.0f, /**/ NAN, NAN, NAN, NAN};
  auto x = make_view(w.data(), 2, 8);
  std::vector<float> scale(4);
  const group_params<float> p = choose_group_params<w4_narrow>(x, 1, 4, scale.data(), nullptr);
  CHECK(p.groups == 4);
  CHECK(scale[0] == 0.5f);  // 3.5 / 7
  CHECK(scale[1] == 1.0f);  // 7 / 7
  CHECK(scale[2] == 1.0f);  // all zero: TFLite's rule gives scale 1
  CHECK(scale[3] == 1.0f);  // no finite value: scale 1

  std::vector<std::int8_t> q(16, 99);
  quantize<w4_narrow>(x, make_view(q.data(), 2, 8), p);
  const std::vector<std::int8_t> expected = {-7, 2, 1, 0, 7, -7, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // 0.5 rounds away
  CHECK(q == expected);

  std::vector<std::uint8_t> bytes(8, 0xAA);
  sub_byte_view<quant_range<int4, -7, 7>, std::uint8_t> packed(bytes.data(), 2, 8, 1);
  quantize<w4_narrow>(x, packed, p);
  CHECK(bytes[0] == 0x29);  // -7 = 0x9 low, 2 high
  CHECK(bytes[1] == 0x01);
  CHECK(bytes[2] == 0x97);  // 7, -7
  CHECK(bytes[3] == 0x04);

  std::vector<float> back(16, -1.0f), back_packed(16, -1.0f);
  dequantize<w4_narrow>(make_view(static_cast<const std::int8_t*>(q.data()), 2, 8), make_view(back.data(), 2, 8), p);
  sub_byte_view<quant_range<int4, -7, 7>, const std::uint8_t> cpacked(bytes.data(), 2, 8, 1);
  dequantize<w4_narrow>(cpacked, make_view(back_packed.data(), 2, 8), p);
  const std::vector<float> expected_back = {-3.5f, 1.0f, 0.5f, 0.0f, 7.0f, -7.0f, 4.0f, 0.0f, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK(back == expected_back);
  CHECK(back_packed == expected_back);

  // PyTorch's rule on an all-zero group: the eps floor.
  std::vector<float> torch_scale(4);
  choose_group_params<w4_torch>(x, 1, 4, torch_scale.data(), nullptr);
  CHECK(torch_scale[2] == std::numeric_limits<float>::epsilon());
  CHECK(torch_scale[0] == 3.5f / 7.5f);
}

TEST_CASE("affine uint4 groups with float16 scales, along axis 0, with NaN and infinities", "[group]") {
  // 8 x 1 matrix, groups of 4 along axis 0 (weights stored K x N).
  std::vector<float> w = {0.0f, 1.5f, 3.0f, 7.5f, -1.0f, 0.5f, 1.0f, 2.0f};
  auto x = make_view(w.data(), 8, 1);
  std::vector<float16> scale(2);
  std::vector<std::int32_t> zp(2);
  const auto p = choose_group_params<u4_tflite>(x, 0, 4, scale.data(), zp.data());
  CHECK(static_cast<float>(scale[0]) == 0.5f);
  CHECK(zp[0] == 0);
  CHECK(scale[1].bits == float16(0.2f).bits);  // 0.199951171875
  CHECK(static_cast<float>(scale[1]) == 0.199951171875f);
  CHECK(zp[1] == 5);

  std::vector<std::uint8_t> bytes(4, 0);
  sub_byte_view<uint4, std::uint8_t> q(bytes.data(), 8, 1, 0);
  quantize<u4_tflite>(x, q, p);
  const int expected_q[8] = {0, 3, 6, 15, 0, 8, 10, 15};
  for (int i = 0; i < 8; ++i) CHECK(q.get(i, 0) == expected_q[i]);
  CHECK(bytes[0] == 0x30);
  CHECK(bytes[3] == 0xFA);
  std::vector<float> back(8);
  dequantize<u4_tflite>(q, make_view(back.data(), 8, 1), p);
  const std::vector<float> expected_back = {0.0f, 1.5f, 3.0f, 7.5f, -0.999755859375f, 0.599853515625f,
                                            0.999755859375f, 1.99951171875f};
  CHECK(back == expected_back);

  // NaN goes to the group's zero point, infinities saturate.
  std::vector<float> odd = {NAN, inf, -inf, 1e30f, NAN, inf, -inf, -1e30f};
  quantize<u4_tflite>(make_view(odd.data(), 8, 1), q, p);
  const int expected_odd[8] = {0, 15, 0, 15, 5, 15, 0, 0};
  for (int i = 0; i < 8; ++i) CHECK(q.get(i, 0) == expected_odd[i]);

  // float16 scales are clamped into the float16 range.
  std::vector<float> extreme = {1e6f, 0.0f, 0.0f, 0.0f, 1e-10f, 0.0f, 0.0f, 0.0f};
  choose_group_params<u4_tflite>(make_view(extreme.data(), 8, 1), 0, 4, scale.data(), zp.data());
  CHECK(static_cast<float>(scale[0]) == 65504.0f);
  CHECK(static_cast<float>(scale[1]) == 5.9604644775390625e-8f);
}

TEST_CASE("group geometry errors name the argument and the value", "[group]") {
  std::vector<float> w(20, 1.0f);
  auto x = make_view(w.data(), 2, 10);
  std::vector<float> scale(10);
  CHECK_THROWS_WITH(choose_group_params<w4_torch>(x, 1, 4, scale.data(), nullptr),
                    Catch::Contains("group_size = 4 does not divide the extent 10 along axis 1"));
  CHECK_THROWS_WITH(choose_group_params<w4_torch>(x, 1, 0, scale.data(), nullptr),
                    Catch::Contains("group_size must be positive, got group_size = 0"));
  CHECK_THROWS_WITH(choose_group_params<w4_torch>(x, 2, 5, scale.data(), nullptr),
                    Catch::Contains("axis = 2 is out of range"));
  // group_size = K: one group per row.
  const auto p = choose_group_params<w4_torch>(x, 1, 10, scale.data(), nullptr);
  CHECK(p.groups == 2);
  std::vector<std::int8_t> q(20);
  group_params<float> wrong = p;
  wrong.groups = 3;
  CHECK_THROWS_WITH(quantize<w4_torch>(x, make_view(q.data(), 2, 10), wrong),
                    Catch::Contains("groups = 3 but a 2 x 10 matrix has 2 groups of 10 along axis 1"));
  scale[1] = 0.0f;
  CHECK_THROWS_WITH(quantize<w4_torch>(x, make_view(q.data(), 2, 10), p),
                    Catch::Contains("scale[1] must be positive and finite, got scale[1] = 0"));
  std::vector<std::int32_t> zp = {0, 16};
  std::vector<float16> s16 = {float16(1.0f), float16(1.0f)};
  const group_params<float16> pa{s16.data(), zp.data(), 10, 1, 2};
  std::vector<std::uint8_t> u(20);
  CHECK_THROWS_WITH(quantize<u4_tflite>(x, make_view(u.data(), 2, 10), pa),
                    Catch::Contains("zero_point[1] = 16 is outside [0, 15]"));
  const group_params<float16> no_zero_point{s16.data(), nullptr, 10, 1, 2};
  CHECK_THROWS_WITH(quantize<u4_tflite>(x, make_view(u.data(), 2, 10), no_zero_point),
                    Catch::Contains("zero_point must point at 2 values for an affine scheme"));
}

TEST_CASE("group fake quantization is dequantize(quantize) with the straight-through mask", "[group][qat]") {
  std::vector<float> w = {3.5f, 3.74f, 3.75f, -3.75f, NAN, inf, -0.2f, 0.3f};
  std::vector<float> scale = {0.5f, 0.5f};
  const group_params<float> p{scale.data(), nullptr, 4, 1, 2};
  auto x = make_view(static_cast<const float*>(w.data()), 2, 4);
  std::vector<float> y(8), expected(8);
  std::vector<std::uint8_t> mask(8, 7);
  fake_quantize_with_mask<w4_narrow>(x, make_view(y.data(), 2, 4), make_view(mask.data(), 2, 4), p);
  std::vector<std::int8_t> q(8);
  quantize<w4_narrow>(x, make_view(q.data(), 2, 4), p);
  dequantize<w4_narrow>(make_view(static_cast<const std::int8_t*>(q.data()), 2, 4), make_view(expected.data(), 2, 4), p);
  CHECK(y == expected);
  CHECK(y[0] == 3.5f);
  CHECK(y[2] == 3.5f);  // 7.5 rounds away to 8, clamped to 7
  CHECK(y[4] == 0.0f);  // NaN → the zero point
  const std::vector<std::uint8_t> expected_mask = {1, 1, 0, 0, 0, 0, 1, 1};
  CHECK(mask == expected_mask);

  std::vector<float> dy = {2, 2, 2, -2, 2, 2, 2, 2}, dx(8);
  fake_quantize_backward<w4_narrow>(x, make_view(static_cast<const float*>(dy.data()), 2, 4), make_view(dx.data(), 2, 4), p);
  const std::vector<float> expected_dx = {2, 2, 0, 0, 0, 0, 2, 2};
  CHECK(dx == expected_dx);
  CHECK(std::signbit(dx[3]));  // blocked: dy * 0 keeps the sign of dy

  // In place.
  std::vector<float> inplace = w;
  fake_quantize<w4_narrow>(make_view(static_cast<const float*>(inplace.data()), 2, 4), make_view(inplace.data(), 2, 4), p);
  CHECK(inplace == expected);
}

TEST_CASE("group LSQ with one group per row equals per-channel LSQ", "[group][qat][lsq]") {
  using per_row = scheme<uint4, per_channel, affine, round_half_to_even>;
  using grouped = scheme<uint4, per_group<float>, affine, round_half_to_even>;
  std::vector<float> w = {-1.0f, -0.4f, 0.0f, 0.3f, 0.9f, 2.5f, NAN, -inf, 0.05f, 0.7f, 1.2f, 3.1f};
  std::vector<float> dy = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f, 1.0f, 1.0f, -0.5f, 0.125f, 3.0f, -2.0f};
  std::vector<float> scale = {0.1f, 0.2f}, zero_point = {7.4f, 2.5f};
  auto x = make_view(static_cast<const float*>(w.data()), 2, 6);
  auto g = make_view(static_cast<const float*>(dy.data()), 2, 6);
  std::vector<float> y_group(12), y_channel(12), dx_group(12), dx_channel(12);
  const lsq_group_params gp{scale.data(), zero_point.data(), 6, 1, 2};
  const lsq_channel_params cp{scale.data(), zero_point.data(), 2, 0};
  lsq_forward<grouped>(x, make_view(y_group.data(), 2, 6), gp);
  lsq_forward<per_row>(x, make_view(y_channel.data(), 2, 6), cp);
  for (int i = 0; i < 12; ++i) CHECK(std::memcmp(&y_group[i], &y_channel[i], sizeof(float)) == 0);
  float ds_group[2], dz_group[2], ds_channel[2], dz_channel[2];
  lsq_backward<grouped>(x, g, make_view(dx_group.data(), 2, 6), gp, 0.5f, ds_group, dz_group);
  lsq_backward<per_row>(x, g, make_view(dx_channel.data(), 2, 6), cp, 0.5f, ds_channel, dz_channel);
  for (int i = 0; i < 12; ++i) CHECK(std::memcmp(&dx_group[i], &dx_channel[i], sizeof(float)) == 0);
  for (int c = 0; c < 2; ++c) {
    CHECK(ds_group[c] == ds_channel[c]);
    CHECK(dz_group[c] == dz_channel[c]);
  }
  CHECK(dz_group[1] != 0.0f);  // 3.1 / 0.2 + 2 is past qmax: the zero point learns
}

TEST_CASE("the group observer keeps running ranges and gives round-to-nearest parameters", "[group][calibrate]") {
  std::vector<float> a = {-1.0f, 0.5f, NAN, 2.0f, -0.0f, 0.0f, 0.0f, -0.0f};
  std::vector<float> b = {-3.0f, 0.0f, inf, 1.0f, 0.25f, 0.5f, 0.125f, 0.0f};
  group_minmax_observer o(1, 2), first(1, 2), second(1, 2);
  CHECK(o.empty());
  o.observe(make_view(a.data(), 2, 4));
  o.observe(make_view(static_cast<const float*>(b.data()), 2, 4));
  const std::vector<float> expected_min = {-3.0f, 1.0f, 0.0f, 0.0f}, expected_max = {0.5f, 2.0f, 0.5f, 0.125f};
  CHECK(o.min() == expected_min);
  CHECK(o.max() == expected_max);
  CHECK_FALSE(std::signbit(o.min()[2]));  // -0.0 is reported as +0.0
  first.observe(make_view(a.data(), 2, 4));
  second.observe(make_view(b.data(), 2, 4));
  first.merge(second);
  CHECK(first.min() == o.min());
  CHECK(first.max() == o.max());

  const auto p = o.params<w4_narrow>();
  CHECK(p.groups() == 4);
  CHECK(p.scale[0] == 3.0f / 7.0f);
  CHECK(p.scale[1] == 2.0f / 7.0f);
  std::vector<float> w(8);
  for (std::size_t i = 0; i < 8; ++i) w[i] = i % 2 == 0 ? expected_min[i / 2] : expected_max[i / 2];
  std::vector<float> direct(4);
  choose_group_params<w4_narrow>(make_view(w.data(), 2, 4), 1, 2, direct.data(), nullptr);
  CHECK(p.scale == direct);

  std::vector<float> wrong(6);
  CHECK_THROWS_WITH(o.observe(make_view(wrong.data(), 2, 3)),
                    Catch::Contains("group_size = 2 does not divide the extent 3 along axis 1"));
  CHECK_THROWS_WITH(o.observe(make_view(wrong.data(), 3, 2)), Catch::Contains("the matrix is 3 x 2 but the observer holds 2 x 4"));
  CHECK_THROWS_WITH(group_minmax_observer(1, -32), Catch::Contains("group_size must be positive, got group_size = -32"));
}

TEST_CASE("the MSE clipping search picks the best candidate of AWQ's grid", "[group][calibrate][search]") {
  // Row 0: an outlier group (clipping helps) and a group on the quantization grid (round to nearest is exact).
  std::vector<float> w = {7.0f, 1.5f, 1.5f, 1.5f, -3.5f, 1.0f, 0.5f, 0.0f};
  auto x = make_view(static_cast<const float*>(w.data()), 1, 8);
  std::vector<float> scale(2), rtn_scale(2);
  const clip_search_options options;  // grid 20, max_shrink 0.5: ratios 1, 0.95, ..., 0.55
  const auto p = search_group_clipping<w4_narrow>(x, 1, 4, options, scale.data(), nullptr);
  const auto rtn = choose_group_params<w4_narrow>(x, 1, 4, rtn_scale.data(), nullptr);
  CHECK(scale[1] == rtn_scale[1]);  // zero error at ratio 1 keeps plain round to nearest
  CHECK(scale[0] < rtn_scale[0]);

  // Recompute every candidate of group 0 through the public fake_quantize and check the choice is the minimum.
  std::vector<float> fq(8);
  double best = std::numeric_limits<double>::infinity();
  float best_scale = 0.0f;
  for (int i = 0; i < 10; ++i) {
    std::vector<float> s = {7.0f * static_cast<float>(1.0 - i / 20.0) / 7.0f, 1.0f};
    fake_quantize<w4_narrow>(x, make_view(fq.data(), 1, 8), group_params<float>{s.data(), nullptr, 4, 1, 2});
    const double e = weight_error(fq, w, 0, 4);
    if (e < best) {
      best = e;
      best_scale = s[0];
    }
  }
  CHECK(scale[0] == best_scale);
  fake_quantize<w4_narrow>(x, make_view(fq.data(), 1, 8), p);
  std::vector<float> fq_rtn(8);
  fake_quantize<w4_narrow>(x, make_view(fq_rtn.data(), 1, 8), rtn);
  CHECK(weight_error(fq, w, 0, 4) < weight_error(fq_rtn, w, 0, 4));

  CHECK_THROWS_WITH(search_group_clipping<w4_narrow>(x, 1, 4, clip_search_options{0, 0.5f}, scale.data(), nullptr),
                    Catch::Contains("grid must be at least 1, got grid = 0"));
  CHECK_THROWS_WITH(search_group_clipping<w4_narrow>(x, 1, 4, clip_search_options{20, 1.0f}, scale.data(), nullptr),
                    Catch::Contains("max_shrink must be in [0, 1), got max_shrink = 1"));
}

TEST_CASE("the activation-weighted search follows the calibration inputs", "[group][calibrate][search]") {
  std::vector<float> w = {7.0f, 1.5f, 1.5f, 1.5f};
  auto x = make_view(static_cast<const float*>(w.data()), 1, 4);
  const clip_search_options options;
  std::vector<float> scale(1), mse_scale(1);
  search_group_clipping<w4_narrow>(x, 1, 4, options, mse_scale.data(), nullptr);
  // Inputs that only ever read the outlier's column: its error alone counts, and it is exact at ratio 1.
  std::vector<float> only_first = {1.0f, 0.0f, 0.0f, 0.0f, -2.0f, 0.0f, 0.0f, 0.0f};
  search_group_clipping_weighted<w4_narrow>(x, 1, 4, make_view(only_first.data(), 2, 4), options, scale.data(), nullptr);
  CHECK(scale[0] == 1.0f);
  CHECK(mse_scale[0] < 1.0f);
  // One sample per column (the identity): the weighted error is the weight MSE exactly.
  std::vector<float> spread = {1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f};
  search_group_clipping_weighted<w4_narrow>(x, 1, 4, make_view(spread.data(), 4, 4), options, scale.data(), nullptr);
  CHECK(scale[0] == mse_scale[0]);

  std::vector<float> bad = {1.0f, NAN, 0.0f, 0.0f};
  CHECK_THROWS_WITH(search_group_clipping_weighted<w4_narrow>(x, 1, 4, make_view(bad.data(), 1, 4), options, scale.data(), nullptr),
                    Catch::Contains("calibration inputs must be finite, got x(0, 1) = nan"));
  CHECK_THROWS_WITH(search_group_clipping_weighted<w4_narrow>(x, 1, 4, make_view(bad.data(), 2, 2), options, scale.data(), nullptr),
                    Catch::Contains("x has 2 columns but the weights have 4 along axis 1"));
}
