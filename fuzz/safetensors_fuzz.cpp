// fuzz/safetensors_fuzz.cpp — libFuzzer target for qsparse::io::safetensors_file (the loader of untrusted files).
//
// Property checked on every input:
//   * parse() either throws qsparse::error or returns a file; it never crashes, leaks, reads out of bounds
//     or hits undefined behaviour (the target is built with -fsanitize=fuzzer,address,undefined);
//   * a file that loads survives a round trip: every tensor's bytes are readable (and its typed view, for
//     the typed dtypes), writing all tensors and metadata back with safetensors_writer gives a file that
//     loads again with the same names, dtypes, shapes, bytes and metadata — any difference traps.
//     Exceptions other than qsparse::error from parse() (std::bad_alloc, nlohmann's), and any exception
//     from the round trip, escape and count as crashes.
//
// Each input is tried twice: as it is, and with its 8-byte length rewritten to cover the balanced JSON
// text that follows (plus any space padding). Without the second form nearly every mutation of the header
// breaks the length prefix, and the fuzzer would only ever exercise the JSON parser's error paths; with
// it, mutated headers reach the validation of dtypes, shapes and offsets and the round trip.
//
// Build with -DQSPARSE_BUILD_FUZZERS=ON (clang only) and run, e.g.:
//   build/h/fuzz/safetensors_fuzz -dict=fuzz/safetensors.dict -max_len=4096 corpus-dir fuzz/corpus/safetensors
// The same function is also linked with fuzz/replay_main.cpp into safetensors_fuzz_replay, which any
// compiler builds and the test suite runs over the seed corpus.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "qsparse/io/safetensors.hpp"

namespace {

using qsparse::io::dtype;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

template <class T, std::size_t Rank>
unsigned touch_typed(const qsparse::io::safetensors_file& f, const std::string& name) {
  const auto v = f.get<T, Rank>(name);
  unsigned sum = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(v.data_handle());
  for (qsparse::index_t i = 0; i < v.size(); ++i) {
    T value;
    std::memcpy(&value, bytes + static_cast<std::size_t>(i) * sizeof(T), sizeof(T));
    if constexpr (std::is_same_v<T, bool>) {
      sum += value ? 1u : 0u;  // a bool that is neither 0 nor 1 would be UB here
    } else {
      sum += static_cast<unsigned>(reinterpret_cast<const unsigned char*>(&value)[0]);
    }
  }
  return sum;
}

template <class T>
unsigned touch_rank(const qsparse::io::safetensors_file& f, const std::string& name) {
  switch (f.info(name).rank()) {
    case 0: return touch_typed<T, 0>(f, name);
    case 1: return touch_typed<T, 1>(f, name);
    case 2: return touch_typed<T, 2>(f, name);
    case 3: return touch_typed<T, 3>(f, name);
    default: return touch_typed<T, 4>(f, name);  // throws for a rank above 4, which the caller expects
  }
}

unsigned touch(const qsparse::io::safetensors_file& f, const std::string& name) {
  switch (f.info(name).dtype) {
    case dtype::boolean: return touch_rank<bool>(f, name);
    case dtype::u8: return touch_rank<std::uint8_t>(f, name);
    case dtype::i8: return touch_rank<std::int8_t>(f, name);
    case dtype::i16: return touch_rank<std::int16_t>(f, name);
    case dtype::u16: return touch_rank<std::uint16_t>(f, name);
    case dtype::f16: return touch_rank<qsparse::float16>(f, name);
    case dtype::i32: return touch_rank<std::int32_t>(f, name);
    case dtype::u32: return touch_rank<std::uint32_t>(f, name);
    case dtype::f32: return touch_rank<float>(f, name);
    case dtype::f64: return touch_rank<double>(f, name);
    case dtype::i64: return touch_rank<std::int64_t>(f, name);
    case dtype::u64: return touch_rank<std::uint64_t>(f, name);
    default: return 0;  // raw-only dtypes
  }
}

// The length of the JSON object that starts at data[8] (after optional whitespace), strings skipped, plus
// the spaces that follow it; 0 when there is no balanced object.
std::size_t balanced_header_length(const std::uint8_t* data, std::size_t size) {
  std::size_t i = 8;
  while (i < size && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r')) ++i;
  if (i >= size || data[i] != '{') return 0;
  int depth = 0;
  bool in_string = false, escaped = false;
  for (; i < size; ++i) {
    const char c = static_cast<char>(data[i]);
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      ++i;
      while (i < size && data[i] == ' ') ++i;
      return i - 8;
    }
  }
  return 0;
}

void check_file(const std::uint8_t* data, std::size_t size);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_file(data, size);
  const std::size_t n = size >= 8 ? balanced_header_length(data, size) : 0;
  if (n > 0) {
    std::vector<std::uint8_t> fixed(data, data + size);
    for (int b = 0; b < 8; ++b) fixed[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(std::uint64_t{n} >> (8 * b));
    if (std::memcmp(fixed.data(), data, 8) != 0) check_file(fixed.data(), fixed.size());
  }
  return 0;
}

namespace {

void check_file(const std::uint8_t* data, std::size_t size) {
  std::optional<qsparse::io::safetensors_file> file;
  try {
    file.emplace(qsparse::io::safetensors_file::parse(data, size, "fuzz"));
  } catch (const qsparse::error&) {
    return;  // rejected, as a corrupt file must be
  }
  const auto& f = *file;
  require(f.file_size() == size);
  volatile unsigned sink = 0;
  qsparse::io::safetensors_writer writer;
  for (const std::string& name : f.names()) {
    const auto& info = f.info(name);
    const auto span = f.bytes(name);
    require(span.size == info.bytes);
    for (std::size_t i = 0; i < span.size; ++i) sink = sink + span.data[i];
    try {
      sink = sink + touch(f, name);
      require(info.rank() <= 4);  // touch() only succeeds for ranks 0..4
    } catch (const qsparse::error&) {
      require(info.rank() > 4);  // the only legitimate failure: the rank asked for
    }
    writer.add_bytes(name, info.dtype, info.shape, span.data, span.size);
  }
  for (const auto& [key, value] : f.metadata()) writer.set_metadata(key, value);

  const auto bytes = writer.serialize();
  const auto again = qsparse::io::safetensors_file::parse(bytes.data(), bytes.size(), "round trip");
  require(again.names() == f.names());
  require(again.metadata() == f.metadata());
  for (const std::string& name : f.names()) {
    const auto& a = f.info(name);
    const auto& b = again.info(name);
    require(a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes);
    require(a.bytes == 0 || std::memcmp(f.bytes(name).data, again.bytes(name).data, a.bytes) == 0);
  }
  // The writer's output is canonical: writing it again changes nothing.
  qsparse::io::safetensors_writer twice;
  for (const std::string& name : again.names()) {
    const auto& info = again.info(name);
    twice.add_bytes(name, info.dtype, info.shape, again.bytes(name).data, again.bytes(name).size);
  }
  for (const auto& [key, value] : again.metadata()) twice.set_metadata(key, value);
  require(twice.serialize() == bytes);
}

}  // namespace
