#include "qsparse/io/safetensors.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "data/safetensors_golden.inc"
#include "qsparse/core/tensor.hpp"
#include "qsparse/core/tensor_view.hpp"

namespace {

using qsparse::index_t;
using qsparse::io::dtype;
using qsparse::io::safetensors_file;
using qsparse::io::safetensors_writer;
using bytes_t = std::vector<unsigned char>;

template <class T, std::size_t Rank>
qsparse::tensor<T, Rank> filled(const qsparse::extents<Rank>& e, std::initializer_list<T> values) {
  qsparse::tensor<T, Rank> t(e);
  std::size_t i = 0;
  for (T v : values) t.data()[i++] = v;
  REQUIRE(i == static_cast<std::size_t>(t.size()));
  return t;
}

// The tensors of tests/data/gen_safetensors_golden.py.
safetensors_writer golden_tensors() {
  safetensors_writer w;
  w.add("w.i8", filled<std::int8_t, 2>({2, 3}, {-128, -1, 0, 1, 2, 127}));
  w.add("w.u8", filled<std::uint8_t, 1>(qsparse::extents<1>(5), {0, 1, 127, 128, 255}));
  w.add("w.i16", filled<std::int16_t, 2>({2, 2}, {-32768, -1, 1, 32767}));
  w.add("w.u16", filled<std::uint16_t, 1>(qsparse::extents<1>(2), {0, 65535}));
  w.add("w.i32", filled<std::int32_t, 1>(qsparse::extents<1>(3), {std::numeric_limits<std::int32_t>::min(), 0,
                                                                  std::numeric_limits<std::int32_t>::max()}));
  w.add("w.u32", filled<std::uint32_t, 1>(qsparse::extents<1>(1), {4294967295u}));
  w.add("w.i64", filled<std::int64_t, 1>(qsparse::extents<1>(2), {std::numeric_limits<std::int64_t>::min(),
                                                                  std::numeric_limits<std::int64_t>::max()}));
  w.add("w.u64", filled<std::uint64_t, 1>(qsparse::extents<1>(1), {std::numeric_limits<std::uint64_t>::max()}));
  w.add("w.f16", filled<qsparse::float16, 1>(qsparse::extents<1>(3), {qsparse::float16(1.0f), qsparse::float16(-2.5f),
                                                                      qsparse::float16(65504.0f)}));
  w.add("w.f32", filled<float, 3>({1, 2, 2}, {0.0f, -1.5f, 3.25f, 1e-3f}));
  w.add("w.f64", filled<double, 1>(qsparse::extents<1>(2), {0.1, -1e300}));
  w.add("w.bool", filled<bool, 1>(qsparse::extents<1>(3), {true, false, true}));
  qsparse::tensor<float, 0> scalar;
  scalar.data()[0] = 7.0f;
  w.add("scalar", scalar);
  w.add("empty", qsparse::tensor<std::int8_t, 2>(0, 4));
  w.add("tab\tquote\"back\\slash", filled<std::int8_t, 1>(qsparse::extents<1>(1), {5}));
  w.add("\xc3\xbcnic\xc3\xb6" "de.\xe2\x9c\x93", filled<std::uint8_t, 1>(qsparse::extents<1>(1), {6}));
  w.set_metadata("format", "qsparse-test \xc3\xa9\n");
  return w;
}

template <std::size_t N>
bytes_t to_bytes(const unsigned char (&a)[N]) {
  return bytes_t(a, a + N);
}

// A file made of a header (padded to 8 with spaces unless told not to) and data bytes.
bytes_t make_file(const std::string& header, const bytes_t& data = {}) {
  // Sized up front and filled with std::copy: GCC 12 at -O3 -std=c++20 reports a false -Warray-bounds
  // on vector::insert into a freshly sized 8-byte vector.
  bytes_t out(8 + header.size() + data.size());
  const std::uint64_t n = header.size();
  for (int b = 0; b < 8; ++b) out[b] = static_cast<unsigned char>(n >> (8 * b));
  std::copy(header.begin(), header.end(), out.begin() + 8);
  std::copy(data.begin(), data.end(), out.begin() + 8 + static_cast<std::ptrdiff_t>(header.size()));
  return out;
}

safetensors_file parse(const bytes_t& b) { return safetensors_file::parse(b.data(), b.size(), "test.safetensors"); }

std::string entry(const std::string& name, const std::string& dt, const std::string& shape, std::uint64_t begin,
                  std::uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dt + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

}  // namespace

TEST_CASE("safetensors_writer output is byte-identical to the reference writer", "[io][safetensors]") {
  CHECK(golden_tensors().serialize() == to_bytes(safetensors_golden_all));

  safetensors_writer one;
  qsparse::tensor<float, 4> attn(1, 1, 2, 3);
  for (int i = 0; i < 6; ++i) attn.data()[i] = static_cast<float>(i);
  one.add("attn0", attn);
  CHECK(one.serialize() == to_bytes(safetensors_golden_one));

  CHECK(safetensors_writer().serialize() == to_bytes(safetensors_golden_empty));
}

TEST_CASE("safetensors_file reads the reference writer's file", "[io][safetensors]") {
  const auto f = parse(to_bytes(safetensors_golden_all));
  CHECK(f.size() == 16);
  CHECK(f.file_size() == sizeof safetensors_golden_all);
  CHECK(f.header_size() % 8 == 0);
  CHECK(f.file_size() == 8 + f.header_size() + 110);
  CHECK(f.source() == "test.safetensors");
  CHECK(f.metadata("format") == "qsparse-test \xc3\xa9\n");
  CHECK(f.metadata().size() == 1);
  CHECK(f.has_metadata("format"));
  CHECK_FALSE(f.has_metadata("missing"));
  CHECK_THROWS_WITH(f.metadata("missing"), Catch::Contains("has no metadata key 'missing'"));

  const auto names = f.names();
  REQUIRE(names.size() == 16);
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(f.contains("tab\tquote\"back\\slash"));
  CHECK(f.contains("\xc3\xbcnic\xc3\xb6" "de.\xe2\x9c\x93"));

  const auto i8 = f.get<std::int8_t, 2>("w.i8");
  CHECK(i8.extent(0) == 2);
  CHECK(i8.extent(1) == 3);
  CHECK(i8(0, 0) == -128);
  CHECK(i8(1, 2) == 127);
  CHECK(f.get<std::uint8_t, 1>("w.u8")(4) == 255);
  CHECK(f.get<std::int16_t, 2>("w.i16")(0, 0) == -32768);
  CHECK(f.get<std::uint16_t, 1>("w.u16")(1) == 65535);
  CHECK(f.get<std::int32_t, 1>("w.i32")(0) == std::numeric_limits<std::int32_t>::min());
  CHECK(f.get<std::uint32_t, 1>("w.u32")(0) == 4294967295u);
  CHECK(f.get<std::int64_t, 1>("w.i64")(1) == std::numeric_limits<std::int64_t>::max());
  CHECK(f.get<std::uint64_t, 1>("w.u64")(0) == std::numeric_limits<std::uint64_t>::max());
  CHECK(f.get<qsparse::float16, 1>("w.f16")(1).bits == 0xC100);  // -2.5
  CHECK(f.get<qsparse::float16, 1>("w.f16")(2).bits == 0x7BFF);  // 65504
  CHECK(f.get<float, 3>("w.f32")(0, 1, 1) == 1e-3f);
  CHECK(f.get<double, 1>("w.f64")(0) == 0.1);
  CHECK(f.get<double, 1>("w.f64")(1) == -1e300);
  const auto b = f.get<bool, 1>("w.bool");
  CHECK(b(0));
  CHECK_FALSE(b(1));
  CHECK(b(2));
  CHECK(f.get<float, 0>("scalar")() == 7.0f);
  CHECK(f.get<std::int8_t, 2>("empty").size() == 0);
  CHECK(f.get<std::int8_t, 2>("empty").extent(1) == 4);
  CHECK(f.get<std::int8_t, 1>("tab\tquote\"back\\slash")(0) == 5);

  const auto& info = f.info("w.f32");
  CHECK(info.dtype == dtype::f32);
  CHECK(info.shape == std::vector<index_t>{1, 2, 2});
  CHECK(info.bytes == 16);
  CHECK(info.size() == 4);
  CHECK(info.rank() == 3);
  CHECK(f.info("scalar").rank() == 0);
  CHECK(f.info("scalar").size() == 1);

  // Every tensor is 64-byte aligned in the file object's storage, whatever its offset in the file.
  for (const auto& name : names) {
    const auto span = f.bytes(name);
    CHECK(span.size == f.info(name).bytes);
    if (span.size > 0) CHECK(reinterpret_cast<std::uintptr_t>(span.data) % 64 == 0);
  }

  const auto copy = f.copy<std::int16_t, 2>("w.i16");
  CHECK(copy(1, 1) == 32767);
}

TEST_CASE("typed access checks the dtype, the rank and the name", "[io][safetensors]") {
  const auto f = parse(to_bytes(safetensors_golden_all));
  CHECK_THROWS_AS((f.get<std::uint8_t, 2>("w.i8")), qsparse::error);
  CHECK_THROWS_WITH((f.get<std::uint8_t, 2>("w.i8")), "qsparse::io::safetensors_file::get: tensor 'w.i8' has dtype I8, requested U8");
  CHECK_THROWS_WITH((f.get<std::int8_t, 1>("w.i8")),
                    "qsparse::io::safetensors_file::get: tensor 'w.i8' has shape [2, 3] (rank 2), requested rank 1");
  CHECK_THROWS_WITH((f.get<float, 2>("fc1.weight")),
                    Catch::StartsWith("qsparse::io::safetensors_file::get: no tensor named 'fc1.weight' in "
                                      "test.safetensors (it holds 16 tensors: 'empty', "));
  CHECK_THROWS_WITH(f.info("nope"), Catch::Contains("info: no tensor named 'nope'"));
  CHECK_THROWS_WITH(f.bytes("nope"), Catch::Contains("bytes: no tensor named 'nope'"));
}

TEMPLATE_TEST_CASE("safetensors round trip of every typed dtype, contiguous and strided", "[io][safetensors]",
                   std::int8_t, std::uint8_t, std::int16_t, std::uint16_t, std::int32_t, std::uint32_t, std::int64_t,
                   std::uint64_t, qsparse::float16, float, double, bool) {
  std::mt19937_64 rng(42);
  qsparse::tensor<TestType, 3> t(3, 5, 7);
  for (auto& v : t) {
    const std::uint64_t r = rng();
    if constexpr (std::is_same_v<TestType, bool>) {
      v = (r & 1) != 0;
    } else {
      std::memcpy(&v, &r, sizeof v);  // any bit pattern, NaNs included for the floats
    }
  }
  safetensors_writer w;
  w.add("t", t);
  w.add("row", qsparse::slice(t.view(), 0, 1));  // rank 2, layout_stride, contiguous
  w.add("col", qsparse::slice(t.view(), 2, 4));  // rank 2, layout_stride, stride 7
  qsparse::tensor_view<const TestType, 2, qsparse::layout_left> left(t.data(), 5, 21);  // column-major
  w.add("left", left);
  w.add("empty", qsparse::tensor<TestType, 2>(4, 0));
  const auto bytes = w.serialize();
  const auto f = safetensors_file::parse(bytes.data(), bytes.size());
  REQUIRE(f.size() == 5);
  CHECK(f.info("t").dtype == qsparse::io::dtype_of_v<TestType>);

  auto same = [](const TestType& a, const TestType& b) { return std::memcmp(&a, &b, sizeof a) == 0; };
  const auto back = f.get<TestType, 3>("t");
  bool all = true;
  for (index_t i = 0; i < 3; ++i)
    for (index_t j = 0; j < 5; ++j)
      for (index_t k = 0; k < 7; ++k) all = all && same(back(i, j, k), t(i, j, k));
  CHECK(all);
  const auto row = f.get<TestType, 2>("row");
  const auto col = f.get<TestType, 2>("col");
  const auto l = f.get<TestType, 2>("left");
  for (index_t a = 0; a < 5; ++a)
    for (index_t b = 0; b < 7; ++b) all = all && same(row(a, b), t(1, a, b));
  for (index_t a = 0; a < 3; ++a)
    for (index_t b = 0; b < 5; ++b) all = all && same(col(a, b), t(a, b, 4));
  for (index_t a = 0; a < 5; ++a)
    for (index_t b = 0; b < 21; ++b) all = all && same(l(a, b), left(a, b));
  CHECK(all);
  CHECK(f.get<TestType, 2>("empty").extent(0) == 4);

  // Writing what was read gives the same bytes.
  safetensors_writer again;
  for (const auto& name : f.names()) {
    const auto& i = f.info(name);
    again.add_bytes(name, i.dtype, i.shape, f.bytes(name).data, f.bytes(name).size);
  }
  CHECK(again.serialize() == bytes);
}

TEST_CASE("raw dtypes round trip through add_bytes and bytes", "[io][safetensors]") {
  const unsigned char raw[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  safetensors_writer w;
  w.add_bytes("bf16", dtype::bf16, {2, 3}, raw, 12);
  w.add_bytes("e5m2", dtype::f8_e5m2, {16}, raw, 16);
  w.add_bytes("e4m3", dtype::f8_e4m3, {4, 4}, raw, 16);
  w.add_bytes("e8m0", dtype::f8_e8m0, {1}, raw, 1);
  w.add_bytes("c64", dtype::c64, {2}, raw, 16);
  w.set_metadata("b", "2");
  w.set_metadata("a", "1");
  const auto bytes = w.serialize();
  const std::string text(bytes.begin() + 8, bytes.end());
  CHECK(text.find("{\"__metadata__\":{\"a\":\"1\",\"b\":\"2\"},\"c64\":{\"dtype\":\"C64\"") == 0);
  const auto f = safetensors_file::parse(bytes.data(), bytes.size());
  CHECK(f.info("bf16").dtype == dtype::bf16);
  CHECK(f.info("bf16").shape == std::vector<index_t>{2, 3});
  CHECK(std::memcmp(f.bytes("bf16").data, raw, 12) == 0);
  CHECK(std::memcmp(f.bytes("c64").data, raw, 16) == 0);
  CHECK(f.info("e8m0").dtype == dtype::f8_e8m0);
  CHECK_THROWS_WITH((f.get<std::uint16_t, 2>("bf16")), Catch::Contains("has dtype BF16, requested U16"));
  CHECK(f.metadata("a") == "1");
}

TEST_CASE("dtype names and sizes follow the format", "[io][safetensors]") {
  using qsparse::io::dtype_from_name;
  using qsparse::io::dtype_name;
  using qsparse::io::dtype_size;
  CHECK(dtype_name(dtype::boolean) == "BOOL");
  CHECK(dtype_name(dtype::f8_e4m3) == "F8_E4M3");
  CHECK(dtype_size(dtype::c64) == 8);
  CHECK(dtype_size(dtype::bf16) == 2);
  CHECK(dtype_from_name("I64") == dtype::i64);
  CHECK_FALSE(dtype_from_name("i64").has_value());
  CHECK_FALSE(dtype_from_name("F4").has_value());
  static_assert(qsparse::io::dtype_of_v<const float> == dtype::f32);
  static_assert(qsparse::io::dtype_of_v<qsparse::float16> == dtype::f16);
  static_assert(!qsparse::io::has_dtype_v<char>);
}

TEST_CASE("safetensors_writer rejects bad tensors and names", "[io][safetensors]") {
  safetensors_writer w;
  w.add("a", qsparse::tensor<float, 1>(2));
  CHECK_THROWS_WITH(w.add("a", qsparse::tensor<float, 1>(2)),
                    "qsparse::io::safetensors_writer::add: a tensor named 'a' was already added");
  CHECK_THROWS_WITH(w.add("__metadata__", qsparse::tensor<float, 1>(2)), Catch::Contains("reserved by the format"));
  CHECK_THROWS_WITH(w.add("bad\xff", qsparse::tensor<float, 1>(2)), Catch::Contains("must be valid UTF-8"));
  CHECK_THROWS_WITH(w.add("surrogate\xed\xa0\x80", qsparse::tensor<float, 1>(2)), Catch::Contains("valid UTF-8"));
  CHECK_THROWS_WITH(w.add("overlong\xc0\xaf", qsparse::tensor<float, 1>(2)), Catch::Contains("valid UTF-8"));
  CHECK_THROWS_WITH(w.set_metadata("k\xff", "v"), Catch::Contains("set_metadata: key"));
  CHECK_THROWS_WITH(w.set_metadata("k", "\xe2\x9c"), Catch::Contains("set_metadata: value of 'k' must be valid UTF-8"));
  const unsigned char raw[4] = {0, 1, 2, 0};
  CHECK_THROWS_WITH(w.add_bytes("r", dtype::f32, {2}, raw, 4),
                    "qsparse::io::safetensors_writer::add_bytes: tensor 'r': shape [2] of F32 needs product(shape) * "
                    "4 bytes, got size = 4");
  CHECK_THROWS_WITH(w.add_bytes("r", dtype::u8, {-1}, raw, 4), Catch::Contains("shape[0] = -1"));
  CHECK_THROWS_WITH(w.add_bytes("r", dtype::boolean, {4}, raw, 4), Catch::Contains("holds byte 2 at element 2"));
  CHECK_THROWS_WITH(w.add_bytes("r", dtype::u8, {4}, nullptr, 4), Catch::Contains("data must not be null"));
  CHECK(w.size() == 1);
  CHECK(w.contains("a"));
  CHECK_FALSE(w.contains("r"));
}

TEST_CASE("safetensors_file rejects every kind of corrupt file with a clear message", "[io][safetensors]") {
  const bytes_t eight(8, 0);
  auto rejects = [](const bytes_t& file, const std::string& message) {
    INFO("expected: " << message);
    CHECK_THROWS_WITH(parse(file), Catch::StartsWith("qsparse::io::safetensors_file: test.safetensors: ") &&
                                       Catch::Contains(message));
  };
  rejects(bytes_t{1, 0, 0}, "the file has 3 bytes; a safetensors file starts with an 8-byte header length");
  rejects(bytes_t{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'},
          "header length 18446744073709551615 exceeds the limit of 100000000 bytes");
  rejects(bytes_t{100, 0, 0, 0, 0, 0, 0, 0, '{', '}'}, "header length 100 exceeds the 2 bytes that follow");
  rejects(make_file(""), "the 0-byte header is not valid JSON");
  rejects(make_file("{\"a\":"), "not valid JSON (");
  rejects(make_file("{} x"), "not valid JSON");
  rejects(make_file(std::string("{}\0\0\0\0\0\0", 8)), "the header holds a NUL byte at offset 2");
  rejects(make_file(std::string("{}\0{\"a\":", 8)), "the header holds a NUL byte at offset 2");
  rejects(make_file("[1,2]   "), "the header must be a JSON object, got a JSON array");
  rejects(make_file("{\"a\xff\":1}"), "not valid JSON");
  rejects(make_file("{\"a\":[[[[[[[[[1]]]]]]]]]}"), "nests deeper than 8 levels");
  rejects(make_file("{\"a\":[[[[[[[1]]]]]]]}"), "tensor 'a' must be a JSON object, got a JSON array");  // 8 deep: parsed
  std::string rank65 = "[1";
  for (int r = 1; r < 65; ++r) rank65 += ",1";
  rejects(make_file("{" + entry("x", "U8", rank65 + "]", 0, 1) + "}", bytes_t(1)),
          "the JSON header holds an array of 65 elements; shapes of rank above 64 are not supported");
  rejects(make_file("{\"s\":\"[,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\",\"x\":3}"),
          "tensor 's' must be a JSON object");  // commas inside strings do not count
  rejects(make_file("{\"__metadata__\":[]}"), "__metadata__ must be a JSON object, got a JSON array");
  rejects(make_file("{\"__metadata__\":{\"k\":1}}"), "__metadata__ value for 'k' must be a string, got a JSON non-negative integer");
  rejects(make_file("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"), "duplicate key 'k' in entry '__metadata__'");
  const std::string x = entry("x", "F32", "[2]", 0, 8);
  rejects(make_file("{" + x + "," + x + "}", bytes_t(8)), "duplicate key 'x' in the header");
  rejects(make_file("{\"x\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", bytes_t(8)),
          "duplicate key 'dtype' in entry 'x'");
  rejects(make_file("{\"x\":3}"), "tensor 'x' must be a JSON object, got a JSON non-negative integer");
  rejects(make_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", bytes_t(8)),
          "tensor 'x' has an unknown key 'extra'");
  rejects(make_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", bytes_t(8)), "tensor 'x' must have dtype, shape and data_offsets");
  rejects(make_file("{\"x\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", bytes_t(8)),
          "tensor 'x': dtype must be a string, got a JSON non-negative integer");
  rejects(make_file("{" + entry("x", "F4", "[2]", 0, 1) + "}", bytes_t(1)),
          "tensor 'x' has unknown or unsupported dtype 'F4' (supported: BOOL U8 I8");
  rejects(make_file("{" + entry("x", "f32", "[2]", 0, 8) + "}", bytes_t(8)), "unknown or unsupported dtype 'f32'");
  rejects(make_file("{\"x\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", bytes_t(8)),
          "tensor 'x': shape must be an array, got a JSON non-negative integer");
  rejects(make_file("{" + entry("x", "F32", "[-2]", 0, 8) + "}", bytes_t(8)),
          "tensor 'x': shape[0] must be a non-negative integer, got a JSON negative integer");
  rejects(make_file("{" + entry("x", "F32", "[2.0]", 0, 8) + "}", bytes_t(8)), "shape[0] must be a non-negative integer, got a JSON number");
  rejects(make_file("{" + entry("x", "F32", "[9223372036854775808]", 0, 8) + "}", bytes_t(8)),
          "shape[0] = 9223372036854775808 is too large");
  rejects(make_file("{" + entry("x", "U8", "[4294967296,4294967296]", 0, 8) + "}", bytes_t(8)),
          "tensor 'x': shape [4294967296, 4294967296]... has more elements than int64 can count");
  rejects(make_file("{" + entry("x", "F64", "[4611686018427387904]", 0, 8) + "}", bytes_t(8)),
          "needs more bytes than 64 bits can count");
  rejects(make_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", bytes_t(8)),
          "tensor 'x': data_offsets must be an array of two integers");
  rejects(make_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,-8]}}", bytes_t(8)),
          "data_offsets must hold two non-negative integers, got a JSON non-negative integer and a JSON negative integer");
  rejects(make_file("{" + entry("x", "F32", "[0]", 8, 0) + "}", bytes_t(8)), "data_offsets [8, 0] end before they begin");
  rejects(make_file("{" + entry("x", "F32", "[3]", 0, 8) + "}", bytes_t(8)),
          "tensor 'x': shape [3] of F32 needs 12 bytes, but data_offsets [0, 8] span 8");
  rejects(make_file("{" + entry("x", "F32", "[2]", 0, 8) + "}", bytes_t(7)),
          "tensor 'x': data_offsets [0, 8] reach past the data section's 7 bytes");
  rejects(make_file("{" + entry("x", "F32", "[2]", 0, 8) + "," + entry("y", "F32", "[2]", 4, 12) + "}", bytes_t(12)),
          "tensor 'y': data_offsets [4, 12] overlap tensor 'x' [0, 8]");
  rejects(make_file("{" + entry("x", "F32", "[2]", 4, 12) + "}", bytes_t(12)),
          "tensor 'x': data_offsets [4, 12] leave a gap of 4 bytes after the header");
  rejects(make_file("{" + entry("x", "U8", "[2]", 0, 2) + "," + entry("y", "U8", "[2]", 3, 5) + "}", bytes_t(5)),
          "leave a gap of 1 bytes after tensor 'x'");
  rejects(make_file("{" + entry("x", "F32", "[2]", 0, 8) + "}", bytes_t(9)),
          "the tensors cover 8 bytes of the 9-byte data section; the remaining 1 bytes belong to no tensor");
  rejects(make_file("{}", bytes_t(1)), "the tensors cover 0 bytes of the 1-byte data section");
  rejects(make_file("{" + entry("x", "BOOL", "[2]", 0, 2) + "}", bytes_t{1, 2}),
          "BOOL tensor 'x' holds byte 2 at element 1 (only 0 and 1 are valid)");
  // A very long name is cut in messages.
  rejects(make_file("{\"" + std::string(200, 'n') + "\":3}"), "'" + std::string(80, 'n') + "...' must be a JSON object");

  // What the format allows: leading/trailing whitespace, unaligned headers, any key order, zero-size tensors
  // anywhere, tensors stored in any order.
  CHECK(parse(make_file(" {" + entry("x", "U8", "[3]", 0, 3) + "}", bytes_t(3))).size() == 1);
  CHECK(parse(make_file("{" + entry("x", "U8", "[0,5]", 0, 0) + "," + entry("y", "U8", "[1]", 0, 1) + "," +
                        entry("z", "U8", "[0]", 1, 1) + "}",
                        bytes_t(1)))
            .size() == 3);
  const auto reordered = parse(make_file(
      "{\"b\":{\"data_offsets\":[0,2],\"shape\":[1],\"dtype\":\"I16\"}," + entry("a", "F32", "[1]", 2, 6) + "}",
      bytes_t{1, 0, 0, 0, 0x80, 0x3f}));
  CHECK(reordered.get<float, 1>("a")(0) == 1.0f);  // unaligned in the file, aligned in memory
  CHECK(reordered.get<std::int16_t, 1>("b")(0) == 1);
  CHECK(parse(make_file("{\"__metadata__\":{}}")).metadata().empty());
}

TEST_CASE("safetensors_file never crashes on truncated or bit-flipped files", "[io][safetensors]") {
  const bytes_t good = to_bytes(safetensors_golden_all);
  // Every proper prefix is an error (every byte of the length and the start of the header, then every
  // third: the whole loop stays fast under the sanitizers).
  std::size_t rejected = 0, tried = 0;
  for (std::size_t n = 0; n < good.size(); n += n < 64 ? 1 : 3, ++tried) {
    const bytes_t prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      (void)parse(prefix);
    } catch (const qsparse::error&) {
      ++rejected;
    }
  }
  CHECK(rejected == tried);
  std::mt19937 rng(3);
  std::size_t loaded = 0;
  for (std::size_t i = 0; i < good.size(); i += 2) {  // every other byte flipped: an error or a valid file
    bytes_t bad = good;
    bad[i] = static_cast<unsigned char>(bad[i] ^ (1u << (rng() % 8)));
    try {
      const auto f = parse(bad);
      ++loaded;
      for (const auto& name : f.names()) (void)f.bytes(name);
    } catch (const qsparse::error&) {
    }
  }
  CHECK(loaded > 0);  // flips inside tensor data still load
  CHECK(loaded < good.size() / 2);
}

TEST_CASE("safetensors save and load through a file", "[io][safetensors]") {
  const std::string path = "qsparse_io_safetensors_test.safetensors";
  const std::size_t n = golden_tensors().save(path);
  CHECK(n == sizeof safetensors_golden_all);
  const auto f = safetensors_file::load(path);
  CHECK(f.file_size() == n);
  CHECK(f.source() == path);
  CHECK(f.get<std::int8_t, 2>("w.i8")(1, 2) == 127);
  std::remove(path.c_str());
  CHECK_THROWS_WITH(safetensors_file::load(path),
                    "qsparse::io::safetensors_file::load: cannot open 'qsparse_io_safetensors_test.safetensors': No "
                    "such file or directory");
  CHECK_THROWS_WITH(golden_tensors().save("/nonexistent-dir/x.safetensors"),
                    Catch::StartsWith("qsparse::io::safetensors_writer::save: cannot create "
                                      "'/nonexistent-dir/x.safetensors': "));
}

TEST_CASE("safetensors load checks the header length against the real file before reading it (issue 22)",
          "[io][safetensors][errors]") {
  // /dev/zero never ends: its 8-byte length (0) is refused before anything else is read.
  CHECK_THROWS_AS(safetensors_file::load("/dev/zero"), qsparse::error);
  // A regular file whose length prefix claims more than the file holds.
  const std::string path = "qsparse_io_safetensors_hostile.safetensors";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    const unsigned char prefix[8] = {0x00, 0x10, 0, 0, 0, 0, 0, 0};  // 4096 bytes of header
    std::fwrite(prefix, 1, 8, f);
    std::fputs("{}", f);
    std::fclose(f);
  }
  CHECK_THROWS_WITH(safetensors_file::load(path),
                    "qsparse::io::safetensors_file::load: 'qsparse_io_safetensors_hostile.safetensors': header length "
                    "4096 exceeds the 2 bytes of the file that follow the 8-byte length (truncated file?)");
  std::remove(path.c_str());
}
