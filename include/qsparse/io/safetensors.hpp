// qsparse/io/safetensors.hpp — read and write the safetensors format (huggingface/safetensors).
//
// Optional header: needs nlohmann/json (Debian nlohmann-json3-dev; CMake nlohmann_json::nlohmann_json).
// Nothing else in qsparse includes it.
//
// ---- Writing --------------------------------------------------------------------------------------
//
//   qsparse::io::safetensors_writer out;
//   out.add("fc1.weight", w_int8.view());            // any tensor_view (or tensor) of a dtype'd type:
//   out.add("fc1.scale", scales.view());             //   bool, [u]int8/16/32/64, float16, float, double
//   out.add_bytes("x.bf16", qsparse::io::dtype::bf16, {2, 3}, bytes, 12);   // any dtype, raw bytes
//   out.set_metadata("scheme", "int8 per-channel");  // string -> string
//   std::size_t bytes_written = out.save("model.safetensors");   // or out.serialize() -> bytes
//
// add() copies the elements at once (row-major order, whatever the view's layout), so the source may
// change or die afterwards. The output is deterministic and byte-identical to the reference writer's:
// tensors sorted by dtype (the order of qsparse/io/dtype.hpp, largest alignment first) then by name,
// packed back to back from offset 0; "__metadata__" (keys sorted) first in the compact JSON header;
// the header padded with spaces to a multiple of 8 bytes, so that every tensor is aligned to its
// element size in the file.
//
// ---- Reading --------------------------------------------------------------------------------------
//
//   auto file = qsparse::io::safetensors_file::load("model.safetensors");   // or ::parse(bytes, n)
//   qsparse::tensor_view<const std::int8_t, 2> w = file.get<std::int8_t, 2>("fc1.weight");
//   const qsparse::io::tensor_info& i = file.info("fc1.scale");      // i.dtype, i.shape, i.bytes
//   qsparse::io::byte_span raw = file.bytes("x.bf16");               // any dtype
//   std::string scheme = file.metadata("scheme");                    // file.metadata() -> the map
//   file.names(); file.contains("fc2.weight"); file.file_size();
//
// The file object owns a copy of the tensor data, each tensor 64-byte aligned, so views stay valid
// while it lives (it is move-only). get<T, Rank> checks that T matches the dtype and Rank the shape,
// with a qsparse::error naming the tensor and both; an unknown name is an error that names it.
//
// ---- What loading validates (each violation is a qsparse::error saying what and where) -----------
//
//   * at least 8 bytes; the little-endian header length N is at most 100,000,000 (the reference's
//     cap) and at most the bytes that follow;
//   * the header is valid UTF-8 JSON (parser errors are reported with their position), nested at most
//     8 deep, with no array longer than 64 (a shape's rank), a top-level object without duplicate keys;
//   * "__metadata__", if present, is an object of string values;
//   * every other key is a tensor: an object with exactly "dtype" (a known name), "shape" (an array of
//     non-negative integers whose product, ignoring zeros, fits in int64) and "data_offsets" (two
//     integers begin <= end), no duplicate keys;
//   * end - begin == product(shape) * dtype size (overflow-checked);
//   * offsets relative to the byte after the header; sorted by offset the tensors tile the data section
//     exactly, as the reference requires: the first begins at 0, each begins where the previous ends (no
//     gap, no overlap) and the last ends at the end of the file (no trailing bytes);
//   * BOOL tensors hold only bytes 0 and 1 (any other byte is not a valid C++ bool).
//
// Stricter than the reference: unknown keys inside a tensor entry and duplicate keys are rejected
// (the reference silently ignores the former and keeps the last of the latter).
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"
#include "qsparse/core/tensor.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/io/dtype.hpp"

namespace qsparse::io {

/// The shape and type of one stored tensor.
struct tensor_info {
  qsparse::io::dtype dtype = qsparse::io::dtype::u8;
  std::vector<index_t> shape;  ///< row-major; empty for a scalar
  std::size_t bytes = 0;       ///< product(shape) * dtype_size(dtype)

  /// The number of elements (1 for a scalar).
  index_t size() const noexcept {
    index_t n = 1;
    for (index_t e : shape) n *= e;
    return n;
  }
  std::size_t rank() const noexcept { return shape.size(); }
};

/// A read-only range of bytes.
struct byte_span {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
};

namespace detail {

/// The reference implementation's cap on the JSON header (bytes).
inline constexpr std::uint64_t safetensors_max_header = 100'000'000;
/// A valid header nests 3 deep (top object, tensor entry, shape array); 8 leaves room and stops
/// pathological nesting before the parser sees it.
inline constexpr int safetensors_max_depth = 8;
/// A valid header's arrays are shapes and offset pairs; no framework has tensors of rank > 64. Checked
/// before parsing, so that a huge array cannot make the parser build a DOM many times the file's size.
inline constexpr std::size_t safetensors_max_array = 64;
/// The alignment of every tensor in a safetensors_file's storage.
inline constexpr std::size_t safetensors_alignment = 64;

inline std::string shape_to_string(const std::vector<index_t>& shape) {
  std::string s = "[";
  for (std::size_t r = 0; r < shape.size(); ++r) s += (r == 0 ? "" : ", ") + std::to_string(shape[r]);
  return s + "]";
}

/// True when [p, p + n) is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
inline bool is_valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int k = 2; k <= extra; ++k) {
      if (p[k] < 0x80 || p[k] > 0xBF) return false;
    }
    p += extra + 1;
  }
  return true;
}

/// A quoted name for messages, cut to 80 characters (names come from untrusted files).
inline std::string quoted(std::string_view name) {
  std::string s = "'";
  s.append(name.substr(0, 80));
  if (name.size() > 80) s += "...";
  return s + "'";
}

struct aligned_free {
  void operator()(unsigned char* p) const noexcept {
    ::operator delete(p, std::align_val_t{safetensors_alignment});
  }
};
using aligned_bytes = std::unique_ptr<unsigned char[], aligned_free>;

inline aligned_bytes allocate_aligned(std::size_t n) {
  if (n == 0) return aligned_bytes{};
  return aligned_bytes(static_cast<unsigned char*>(::operator new(n, std::align_val_t{safetensors_alignment})));
}

struct file_closer {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

/// Appends up to `n` bytes of `f` to `bytes` (fewer at the end of the file); memory grows with the bytes
/// actually read, in chunks of at most 1 MiB.
inline void read_up_to(std::FILE* f, std::uint64_t n, std::vector<unsigned char>& bytes) {
  while (n > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n, std::uint64_t{1} << 20));
    const std::size_t have = bytes.size();
    bytes.resize(have + want);
    const std::size_t got = std::fread(bytes.data() + have, 1, want, f);
    bytes.resize(have + got);
    if (got < want) return;
    n -= got;
  }
}

/// The bytes of the safetensors file at `path`, read so that a hostile file cannot make memory grow
/// before its header is checked: first the 8-byte length, which must fit the header cap and (for a
/// regular file) the file's real length, then the header, whose first byte must open a JSON object, and
/// only then the rest — for a regular file exactly its real length, otherwise (a pipe, a device) the bytes
/// actually read. A header that fails these checks stops the reading; parse() then reports it.
inline std::vector<unsigned char> read_safetensors_bytes(const std::string& path, const char* who) {
  errno = 0;
  std::unique_ptr<std::FILE, file_closer> f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    qsparse::detail::raise(qsparse::detail::concat(who, ": cannot open '", path, "': ", std::strerror(errno)));
  }
  std::error_code ec;
  const bool regular = std::filesystem::is_regular_file(path, ec);
  const std::uint64_t length = regular ? static_cast<std::uint64_t>(std::filesystem::file_size(path, ec)) : 0;
  const bool known_length = regular && !ec;
  std::vector<unsigned char> bytes;
  read_up_to(f.get(), 8, bytes);
  bool read_rest = bytes.size() == 8;
  if (read_rest) {
    std::uint64_t n = 0;
    for (int b = 7; b >= 0; --b) n = (n << 8) | bytes[static_cast<std::size_t>(b)];
    if (known_length && n <= safetensors_max_header && n > length - 8) {
      qsparse::detail::raise(qsparse::detail::concat(who, ": '", path, "': header length ", n, " exceeds the ",
                                                     length - 8, " bytes of the file that follow the 8-byte length "
                                                     "(truncated file?)"));
    }
    read_rest = n >= 2 && n <= safetensors_max_header;
    if (read_rest) {
      read_up_to(f.get(), n, bytes);
      const auto first = std::find_if(bytes.begin() + 8, bytes.end(), [](unsigned char c) {
        return c != ' ' && c != '\t' && c != '\n' && c != '\r';
      });
      read_rest = bytes.size() == 8 + n && first != bytes.end() && *first == '{';
    }
  }
  if (read_rest) {
    if (known_length) {
      if (length > bytes.size()) read_up_to(f.get(), length - bytes.size(), bytes);
    } else {
      read_up_to(f.get(), std::numeric_limits<std::uint64_t>::max(), bytes);
    }
  }
  if (std::ferror(f.get())) {
    qsparse::detail::raise(qsparse::detail::concat(who, ": error reading '", path, "': ", std::strerror(errno)));
  }
  return bytes;
}

// The deepest nesting of [ and { in a JSON text and the most commas in one array (strings skipped);
// stops early once the nesting passes `depth_limit`.
struct json_extent {
  int depth = 0;
  std::size_t longest_array = 0;  // elements of the longest array (commas + 1; 1 for "[]" too)
};

inline json_extent measure_json(std::string_view text, int depth_limit) noexcept {
  json_extent out;
  std::array<std::size_t, 16> commas{};
  std::array<bool, 16> is_array{};
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
      out.depth = std::max(out.depth, depth);
      if (depth > depth_limit || depth >= static_cast<int>(commas.size())) return out;
      commas[static_cast<std::size_t>(depth)] = 0;
      is_array[static_cast<std::size_t>(depth)] = c == '[';
    } else if (c == ',' && depth > 0 && is_array[static_cast<std::size_t>(depth)]) {
      const std::size_t n = ++commas[static_cast<std::size_t>(depth)] + 1;
      out.longest_array = std::max(out.longest_array, n);
    } else if (c == '}' || c == ']') {
      if (depth > 0) --depth;
    }
  }
  return out;
}

inline const char* json_type(const nlohmann::json& j) noexcept {
  if (j.is_number_unsigned()) return "non-negative integer";
  if (j.is_number_integer()) return "negative integer";
  return j.type_name();
}

}  // namespace detail

/// A loaded safetensors file: validated tensors (owned, 64-byte aligned) and metadata. Move-only.
class safetensors_file {
 public:
  /// Reads and validates the file at `path`; qsparse::error says what is wrong (see the header comment).
  static safetensors_file load(const std::string& path) {
    const std::vector<unsigned char> bytes = detail::read_safetensors_bytes(path, "qsparse::io::safetensors_file::load");
    return parse(bytes.data(), bytes.size(), path);
  }

  /// Validates and copies a whole file held in memory. `source` names it in error messages.
  static safetensors_file parse(const void* data, std::size_t size, const std::string& source = "<buffer>") {
    safetensors_file file;
    file.source_ = source;
    file.parse_into(static_cast<const unsigned char*>(data), size);
    return file;
  }

  safetensors_file(safetensors_file&&) noexcept = default;
  safetensors_file& operator=(safetensors_file&&) noexcept = default;
  safetensors_file(const safetensors_file&) = delete;
  safetensors_file& operator=(const safetensors_file&) = delete;

  /// The size of the whole file in bytes (8 + header + data), i.e. its size on disk.
  std::size_t file_size() const noexcept { return file_size_; }
  /// The length of the JSON header in bytes (the number in the first 8 bytes).
  std::size_t header_size() const noexcept { return header_size_; }
  /// The path (or the source name given to parse()).
  const std::string& source() const noexcept { return source_; }

  /// The number of tensors.
  std::size_t size() const noexcept { return tensors_.size(); }
  bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }
  /// The tensor names, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& kv : tensors_) out.push_back(kv.first);
    return out;
  }

  /// The dtype, shape and byte size of tensor `name`.
  const tensor_info& info(std::string_view name) const { return find(name, "info").info; }

  /// The stored bytes of tensor `name` (any dtype), 64-byte aligned.
  byte_span bytes(std::string_view name) const {
    const entry& e = find(name, "bytes");
    return {storage_.get() + e.offset, e.info.bytes};
  }

  /// A view of tensor `name` as a rank-`Rank` tensor of T. T must be the dtype's C++ type (see
  /// qsparse/io/dtype.hpp) and Rank its rank; otherwise qsparse::error names the tensor and both.
  template <class T, std::size_t Rank>
  tensor_view<const T, Rank> get(std::string_view name) const {
    static_assert(has_dtype_v<T>,
                  "qsparse::io::safetensors_file::get: T must have a safetensors dtype (bool, "
                  "std::[u]int{8,16,32,64}_t, qsparse::float16, float, double); read others with bytes().");
    const entry& e = find(name, "get");
    constexpr dtype wanted = dtype_of_v<T>;
    if (e.info.dtype != wanted) {
      qsparse::detail::raise(qsparse::detail::concat("qsparse::io::safetensors_file::get: tensor ",
                                                     detail::quoted(name), " has dtype ", dtype_name(e.info.dtype),
                                                     ", requested ", dtype_name(wanted)));
    }
    if (e.info.shape.size() != Rank) {
      qsparse::detail::raise(qsparse::detail::concat(
          "qsparse::io::safetensors_file::get: tensor ", detail::quoted(name), " has shape ",
          detail::shape_to_string(e.info.shape), " (rank ", e.info.shape.size(), "), requested rank ", Rank));
    }
    std::array<index_t, Rank> ext{};
    for (std::size_t r = 0; r < Rank; ++r) ext[r] = e.info.shape[r];
    const auto* p = reinterpret_cast<const T*>(storage_.get() + e.offset);
    return tensor_view<const T, Rank>(p, qsparse::extents<Rank>(ext));
  }

  /// An owning copy of tensor `name` (same checks as get()).
  template <class T, std::size_t Rank>
  tensor<T, Rank> copy(std::string_view name) const {
    const auto v = get<T, Rank>(name);
    tensor<T, Rank> out(v.extents());
    if (v.size() > 0) std::memcpy(out.data(), v.data_handle(), static_cast<std::size_t>(v.size()) * sizeof(T));
    return out;
  }

  /// All "__metadata__" entries (empty when the file has none).
  const std::map<std::string, std::string, std::less<>>& metadata() const noexcept { return metadata_; }
  bool has_metadata(std::string_view key) const { return metadata_.find(key) != metadata_.end(); }
  /// The metadata value for `key`; qsparse::error when the file has no such key.
  const std::string& metadata(std::string_view key) const {
    const auto it = metadata_.find(key);
    if (it == metadata_.end()) {
      qsparse::detail::raise(qsparse::detail::concat("qsparse::io::safetensors_file::metadata: ", source_,
                                                     " has no metadata key ", detail::quoted(key)));
    }
    return it->second;
  }

 private:
  struct entry {
    tensor_info info;
    std::size_t offset = 0;  // in storage_
  };

  safetensors_file() = default;

  const entry& find(std::string_view name, const char* fn) const {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) {
      std::string known;
      std::size_t listed = 0;
      for (const auto& [n, e] : tensors_) {
        if (listed == 8) {
          known += ", ...";
          break;
        }
        known += (listed++ == 0 ? "" : ", ") + detail::quoted(n);
      }
      qsparse::detail::raise(qsparse::detail::concat("qsparse::io::safetensors_file::", fn, ": no tensor named ",
                                                     detail::quoted(name), " in ", source_, " (it holds ",
                                                     tensors_.size(), " tensors: ", known, ")"));
    }
    return it->second;
  }

  template <class... Parts>
  [[noreturn]] void fail(Parts&&... parts) const {
    qsparse::detail::raise(
        qsparse::detail::concat("qsparse::io::safetensors_file: ", source_, ": ", std::forward<Parts>(parts)...));
  }

  template <class... Parts>
  void require(bool ok, Parts&&... parts) const {
    if (!ok) fail(std::forward<Parts>(parts)...);
  }

  // Parses the JSON header; duplicate keys at the top level and inside an entry are errors.
  nlohmann::json parse_header(std::string_view text) const {
    // nlohmann's lexer takes a NUL byte for the end of the input and would ignore what follows; JSON
    // text never holds one (not even inside strings, where control characters must be escaped).
    const std::size_t nul = text.find('\0');
    require(nul == std::string_view::npos, "the header holds a NUL byte at offset ", nul,
            " (JSON text cannot; the reference pads with spaces)");
    const detail::json_extent extent = detail::measure_json(text, detail::safetensors_max_depth);
    require(extent.depth <= detail::safetensors_max_depth, "the JSON header nests deeper than ",
            detail::safetensors_max_depth, " levels (a valid header nests 3)");
    require(extent.longest_array <= detail::safetensors_max_array, "the JSON header holds an array of ",
            extent.longest_array, " elements; shapes of rank above ", detail::safetensors_max_array,
            " are not supported");
    std::vector<std::set<std::string>> keys;  // one set per open object at depth <= 2
    std::string duplicate, duplicate_owner;
    std::vector<std::string> path;  // the key of each open object, for messages
    std::string last_key;
    auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      using event_t = nlohmann::json::parse_event_t;
      if (event == event_t::object_start) {
        path.push_back(last_key);
        keys.emplace_back();
      } else if (event == event_t::object_end) {
        if (!keys.empty()) keys.pop_back();
        if (!path.empty()) path.pop_back();
      } else if (event == event_t::key) {
        last_key = parsed.is_string() ? parsed.get_ref<const std::string&>() : std::string();
        if (!keys.empty() && !keys.back().insert(last_key).second && duplicate.empty()) {
          duplicate = last_key;
          duplicate_owner = keys.size() == 1 ? std::string("the header") : qsparse::detail::concat("entry ", detail::quoted(path.back()));
        }
      }
      return true;
    };
    nlohmann::json header = nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
    if (header.is_discarded()) {
      std::string why = "not valid JSON";
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
      try {
        const nlohmann::json diagnosis = nlohmann::json::parse(text.begin(), text.end());
        (void)diagnosis;
      } catch (const nlohmann::json::exception& e) {
        why += std::string(" (") + e.what() + ")";
      }
#endif
      fail("the ", text.size(), "-byte header is ", why);
    }
    require(duplicate.empty(), "duplicate key ", detail::quoted(duplicate), " in ", duplicate_owner);
    require(header.is_object(), "the header must be a JSON object, got a JSON ", detail::json_type(header));
    return header;
  }

  static bool to_u64(const nlohmann::json& j, std::uint64_t& out) {
    if (!j.is_number_unsigned()) return false;
    out = j.get<std::uint64_t>();
    return true;
  }

  tensor_info parse_entry(const std::string& name, const nlohmann::json& j, std::uint64_t& begin,
                          std::uint64_t& end) const {
    const std::string who = qsparse::detail::concat("tensor ", detail::quoted(name));
    require(j.is_object(), who, " must be a JSON object, got a JSON ", detail::json_type(j));
    for (const auto& [key, value] : j.items()) {
      (void)value;
      require(key == "dtype" || key == "shape" || key == "data_offsets", who, " has an unknown key ",
              detail::quoted(key), " (expected dtype, shape, data_offsets)");
    }
    require(j.contains("dtype") && j.contains("shape") && j.contains("data_offsets"), who,
            " must have dtype, shape and data_offsets");
    tensor_info info;

    const auto& d = j["dtype"];
    require(d.is_string(), who, ": dtype must be a string, got a JSON ", detail::json_type(d));
    const std::string& dname = d.get_ref<const std::string&>();
    const auto parsed = dtype_from_name(dname);
    if (!parsed) {
      std::string known;
      for (const auto& row : detail::dtype_table) {
        if (!known.empty()) known += ' ';
        known += row.name;
      }
      fail(who, " has unknown or unsupported dtype ", detail::quoted(dname), " (supported: ", known, ")");
    }
    info.dtype = *parsed;

    const auto& s = j["shape"];
    require(s.is_array(), who, ": shape must be an array, got a JSON ", detail::json_type(s));
    index_t nonzero_product = 1;
    bool has_zero = false;
    for (std::size_t r = 0; r < s.size(); ++r) {
      std::uint64_t e = 0;
      require(to_u64(s[r], e), who, ": shape[", r, "] must be a non-negative integer, got a JSON ",
              detail::json_type(s[r]));
      require(e <= static_cast<std::uint64_t>(std::numeric_limits<index_t>::max()), who, ": shape[", r,
              "] = ", e, " is too large");
      const auto extent = static_cast<index_t>(e);
      info.shape.push_back(extent);
      if (extent == 0) {
        has_zero = true;
      } else {
        nonzero_product = qsparse::detail::checked_product(nonzero_product, extent);
        if (nonzero_product < 0) {
        fail(who, ": shape ", detail::shape_to_string(info.shape), "... has more elements than int64 can count");
      }
      }
    }
    const index_t elements = has_zero ? 0 : nonzero_product;

    const auto& o = j["data_offsets"];
    require(o.is_array() && o.size() == 2, who, ": data_offsets must be an array of two integers");
    require(to_u64(o[0], begin) && to_u64(o[1], end), who,
            ": data_offsets must hold two non-negative integers, got a JSON ", detail::json_type(o[0]), " and a JSON ",
            detail::json_type(o[1]));
    require(begin <= end, who, ": data_offsets [", begin, ", ", end, "] end before they begin");

    const std::size_t element_size = dtype_size(info.dtype);
    const auto max_elements = std::numeric_limits<std::uint64_t>::max() / element_size;
    if (static_cast<std::uint64_t>(elements) > max_elements) {
      fail(who, ": shape ", detail::shape_to_string(info.shape), " of ", dname,
           " needs more bytes than 64 bits can count");
    }
    const std::uint64_t needed = static_cast<std::uint64_t>(elements) * element_size;
    if (end - begin != needed) {
      fail(who, ": shape ", detail::shape_to_string(info.shape), " of ", dname, " needs ", needed,
           " bytes, but data_offsets [", begin, ", ", end, "] span ", end - begin);
    }
    info.bytes = static_cast<std::size_t>(needed);
    return info;
  }

  void parse_into(const unsigned char* data, std::size_t size) {
    file_size_ = size;
    require(data != nullptr || size == 0, "null data pointer");
    require(size >= 8, "the file has ", size,
            " bytes; a safetensors file starts with an 8-byte header length (truncated or not safetensors?)");
    std::uint64_t n = 0;
    for (int b = 7; b >= 0; --b) n = (n << 8) | data[b];
    require(n <= detail::safetensors_max_header, "header length ", n, " exceeds the limit of ",
            detail::safetensors_max_header, " bytes (corrupt, or not a safetensors file?)");
    require(n <= size - 8, "header length ", n, " exceeds the ", size - 8,
            " bytes that follow the 8-byte length (truncated file?)");
    header_size_ = static_cast<std::size_t>(n);
    const std::size_t data_begin = 8 + header_size_;
    const std::size_t data_size = size - data_begin;

    const std::string_view text(reinterpret_cast<const char*>(data + 8), header_size_);
    const nlohmann::json header = parse_header(text);

    struct pending {
      std::string name;
      tensor_info info;
      std::uint64_t begin, end;
    };
    std::vector<pending> list;
    for (const auto& [key, value] : header.items()) {
      if (key == "__metadata__") {
        require(value.is_object(), "__metadata__ must be a JSON object, got a JSON ", detail::json_type(value));
        for (const auto& [mkey, mvalue] : value.items()) {
          require(mvalue.is_string(), "__metadata__ value for ", detail::quoted(mkey),
                  " must be a string, got a JSON ", detail::json_type(mvalue));
          metadata_.emplace(mkey, mvalue.get<std::string>());
        }
        continue;
      }
      pending p{key, {}, 0, 0};
      p.info = parse_entry(key, value, p.begin, p.end);
      list.push_back(std::move(p));
    }

    // Sorted by offset, the tensors must tile [0, data_size) exactly.
    std::sort(list.begin(), list.end(), [](const pending& a, const pending& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t at = 0;
    const pending* previous = nullptr;
    for (const pending& p : list) {
      if (p.end > data_size) {
        fail("tensor ", detail::quoted(p.name), ": data_offsets [", p.begin, ", ", p.end,
             "] reach past the data section's ", data_size, " bytes (truncated file?)");
      }
      if (p.begin < at) {
        fail("tensor ", detail::quoted(p.name), ": data_offsets [", p.begin, ", ", p.end, "] overlap tensor ",
             detail::quoted(previous->name), " [", previous->begin, ", ", previous->end, "]");
      }
      if (p.begin > at) {
        fail("tensor ", detail::quoted(p.name), ": data_offsets [", p.begin, ", ", p.end, "] leave a gap of ",
             p.begin - at, " bytes after ",
             previous ? qsparse::detail::concat("tensor ", detail::quoted(previous->name)) : std::string("the header"),
             " (the format requires tensors packed back to back)");
      }
      at = p.end;
      if (p.end > p.begin) previous = &p;
    }
    require(at == data_size, "the tensors cover ", at, " bytes of the ", data_size,
            "-byte data section; the remaining ", data_size - at, " bytes belong to no tensor");

    // Copy each tensor to a 64-byte aligned slot of our own storage.
    std::size_t total = 0;
    std::vector<std::size_t> offsets(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      offsets[i] = total;
      total += (list[i].info.bytes + detail::safetensors_alignment - 1) / detail::safetensors_alignment *
               detail::safetensors_alignment;
    }
    storage_ = detail::allocate_aligned(total);
    for (std::size_t i = 0; i < list.size(); ++i) {
      pending& p = list[i];
      const unsigned char* src = data + data_begin + p.begin;
      if (p.info.dtype == dtype::boolean) {
        for (std::size_t b = 0; b < p.info.bytes; ++b) {
          if (src[b] > 1) {
            fail("BOOL tensor ", detail::quoted(p.name), " holds byte ", int{src[b]}, " at element ", b,
                 " (only 0 and 1 are valid)");
          }
        }
      }
      if (p.info.bytes > 0) std::memcpy(storage_.get() + offsets[i], src, p.info.bytes);
      entry e{std::move(p.info), offsets[i]};
      tensors_.emplace(std::move(p.name), std::move(e));
    }
  }

  std::string source_;
  std::size_t file_size_ = 0;
  std::size_t header_size_ = 0;
  std::map<std::string, entry, std::less<>> tensors_;
  std::map<std::string, std::string, std::less<>> metadata_;
  detail::aligned_bytes storage_;
};

/// Collects named tensors and string metadata, then writes one safetensors file (see the header comment).
class safetensors_writer {
 public:
  /// Adds a copy of `view`'s elements (row-major) under `name`. T must have a dtype (dtype.hpp).
  template <class T, std::size_t Rank, class Layout>
  void add(std::string name, const tensor_view<T, Rank, Layout>& view) {
    using value_type = std::remove_cv_t<T>;
    static_assert(has_dtype_v<value_type>,
                  "qsparse::io::safetensors_writer::add: the element type must have a safetensors dtype "
                  "(bool, std::[u]int{8,16,32,64}_t, qsparse::float16, float, double); use add_bytes() "
                  "for others.");
    std::vector<index_t> shape(Rank);
    for (std::size_t r = 0; r < Rank; ++r) shape[r] = view.extent(r);
    const auto n = static_cast<std::size_t>(view.size());
    std::vector<unsigned char> bytes(n * sizeof(value_type));
    if (n > 0 && view.is_row_major_contiguous()) {
      std::memcpy(bytes.data(), view.data_handle(), bytes.size());
    } else if (n > 0) {
      std::array<index_t, Rank> index{};
      for (std::size_t flat = 0; flat < n; ++flat) {
        const value_type value = view[index];
        std::memcpy(bytes.data() + flat * sizeof(value_type), &value, sizeof(value_type));
        for (std::size_t r = Rank; r-- > 0;) {  // row-major increment
          if (++index[r] < view.extent(r)) break;
          index[r] = 0;
        }
      }
    }
    if constexpr (std::is_same_v<value_type, bool>) {
      for (unsigned char& b : bytes) b = b != 0 ? 1 : 0;
    }
    insert(std::move(name), dtype_of_v<value_type>, std::move(shape), std::move(bytes));
  }

  /// Adds a copy of a tensor's elements under `name`.
  template <class T, std::size_t Rank>
  void add(std::string name, const tensor<T, Rank>& t) {
    add(std::move(name), t.view());
  }

  /// Adds raw little-endian bytes of any dtype: `size` must be product(shape) * dtype_size(type).
  void add_bytes(std::string name, dtype type, const std::vector<index_t>& shape, const void* data,
                 std::size_t size) {
    qsparse::detail::check(dtype_size(type) != 0, "qsparse::io::safetensors_writer::add_bytes: unknown dtype ",
                           static_cast<int>(type));
    index_t elements = 1;
    for (std::size_t r = 0; r < shape.size(); ++r) {
      qsparse::detail::check(shape[r] >= 0, "qsparse::io::safetensors_writer::add_bytes: shape[", r,
                             "] must be non-negative, got shape[", r, "] = ", shape[r]);
      elements = elements < 0 ? elements : qsparse::detail::checked_product(elements, shape[r]);
    }
    if (elements < 0 || static_cast<std::size_t>(elements) > SIZE_MAX / dtype_size(type) ||
        static_cast<std::size_t>(elements) * dtype_size(type) != size) {
      qsparse::detail::raise(qsparse::detail::concat(
          "qsparse::io::safetensors_writer::add_bytes: tensor ", detail::quoted(name), ": shape ",
          detail::shape_to_string(shape), " of ", dtype_name(type), " needs product(shape) * ", dtype_size(type),
          " bytes, got size = ", size));
    }
    qsparse::detail::check(data != nullptr || size == 0,
                           "qsparse::io::safetensors_writer::add_bytes: data must not be null, got data = nullptr");
    const auto* p = static_cast<const unsigned char*>(data);
    std::vector<unsigned char> bytes(p, p + size);
    if (type == dtype::boolean) {
      for (std::size_t b = 0; b < size; ++b) {
        if (bytes[b] > 1) {
          qsparse::detail::raise(qsparse::detail::concat("qsparse::io::safetensors_writer::add_bytes: BOOL tensor ",
                                                         detail::quoted(name), " holds byte ", int{bytes[b]},
                                                         " at element ", b, " (only 0 and 1 are valid)"));
        }
      }
    }
    insert(std::move(name), type, shape, std::move(bytes));
  }

  /// Sets (or replaces) metadata `key` to `value`. Both must be valid UTF-8.
  void set_metadata(std::string key, std::string value) {
    if (!detail::is_valid_utf8(key)) {
      qsparse::detail::raise(qsparse::detail::concat("qsparse::io::safetensors_writer::set_metadata: key ",
                                                     detail::quoted(key), " must be valid UTF-8"));
    }
    if (!detail::is_valid_utf8(value)) {
      qsparse::detail::raise(qsparse::detail::concat("qsparse::io::safetensors_writer::set_metadata: value of ",
                                                     detail::quoted(key), " must be valid UTF-8"));
    }
    metadata_[std::move(key)] = std::move(value);
  }

  bool contains(std::string_view name) const {
    return std::any_of(tensors_.begin(), tensors_.end(), [&](const item& t) { return t.name == name; });
  }
  std::size_t size() const noexcept { return tensors_.size(); }

  /// The whole file as bytes.
  std::vector<unsigned char> serialize() const {
    std::vector<const item*> order;
    order.reserve(tensors_.size());
    for (const item& t : tensors_) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](const item* a, const item* b) {
      if (a->type != b->type) return a->type > b->type;  // larger alignment first, as the reference
      return a->name < b->name;
    });

    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata_.empty()) {
      nlohmann::ordered_json meta = nlohmann::ordered_json::object();
      for (const auto& [key, value] : metadata_) meta[key] = value;  // std::map: sorted keys
      header["__metadata__"] = std::move(meta);
    }
    std::uint64_t offset = 0;
    for (const item* t : order) {
      nlohmann::ordered_json entry = nlohmann::ordered_json::object();
      entry["dtype"] = std::string(dtype_name(t->type));
      nlohmann::ordered_json shape = nlohmann::ordered_json::array();
      for (index_t e : t->shape) shape.push_back(static_cast<std::uint64_t>(e));
      entry["shape"] = std::move(shape);
      entry["data_offsets"] = {offset, offset + t->bytes.size()};
      offset += t->bytes.size();
      header[t->name] = std::move(entry);
    }
    std::string text = header.dump();  // names and metadata were checked to be UTF-8: dump cannot throw
    text.append((8 - text.size() % 8) % 8, ' ');

    std::vector<unsigned char> out;
    out.reserve(8 + text.size() + static_cast<std::size_t>(offset));
    const std::uint64_t n = text.size();
    for (int b = 0; b < 8; ++b) out.push_back(static_cast<unsigned char>(n >> (8 * b)));
    out.insert(out.end(), text.begin(), text.end());
    for (const item* t : order) out.insert(out.end(), t->bytes.begin(), t->bytes.end());
    return out;
  }

  /// Writes the file to `path` (replacing it) and returns its size in bytes.
  std::size_t save(const std::string& path) const {
    const std::vector<unsigned char> bytes = serialize();
    errno = 0;
    std::unique_ptr<std::FILE, detail::file_closer> f(std::fopen(path.c_str(), "wb"));
    if (!f) {
      qsparse::detail::raise(qsparse::detail::concat("qsparse::io::safetensors_writer::save: cannot create '", path,
                                                     "': ", std::strerror(errno)));
    }
    const std::size_t written = bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), f.get());
    const bool flushed = std::fflush(f.get()) == 0;
    const int flush_errno = errno;
    std::FILE* raw = f.release();
    const bool closed = std::fclose(raw) == 0;
    if (written != bytes.size() || !flushed || !closed) {
      qsparse::detail::raise(qsparse::detail::concat("qsparse::io::safetensors_writer::save: writing '", path,
                                                     "' failed after ", written, " of ", bytes.size(),
                                                     " bytes: ", std::strerror(flush_errno ? flush_errno : errno)));
    }
    return bytes.size();
  }

 private:
  struct item {
    std::string name;
    dtype type;
    std::vector<index_t> shape;
    std::vector<unsigned char> bytes;
  };

  void insert(std::string name, dtype type, std::vector<index_t> shape, std::vector<unsigned char> bytes) {
    qsparse::detail::check(name != "__metadata__",
                           "qsparse::io::safetensors_writer::add: name must not be '__metadata__' (reserved by "
                           "the format)");
    if (!detail::is_valid_utf8(name)) {
      qsparse::detail::raise(qsparse::detail::concat("qsparse::io::safetensors_writer::add: name ",
                                                     detail::quoted(name), " must be valid UTF-8"));
    }
    if (contains(name)) {
      qsparse::detail::raise(qsparse::detail::concat("qsparse::io::safetensors_writer::add: a tensor named ",
                                                     detail::quoted(name), " was already added"));
    }
    tensors_.push_back(item{std::move(name), type, std::move(shape), std::move(bytes)});
  }

  std::vector<item> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace qsparse::io
