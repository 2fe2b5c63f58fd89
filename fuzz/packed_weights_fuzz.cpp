// fuzz/packed_weights_fuzz.cpp — libFuzzer target for the validation of packed weight buffers that arrive
// from elsewhere: packed_weights_view::from_bytes (dense int8) and packed_sparse_weights_view::from_bytes.
//
// Input: byte 0 picks the format (even: dense, odd: sparse); the rest is the buffer, copied to 64-byte
// aligned memory. Property checked on every input:
//   * from_bytes either throws qsparse::error or returns a view; it never crashes, reads out of bounds or
//     hits undefined behaviour (built with -fsanitize=fuzzer,address,undefined);
//   * an accepted dense buffer is canonical: packing the weights it holds again (same K, N, zero point,
//     ISA) gives the same bytes, so a validated buffer can only compute what its weights say (a sparse
//     buffer may differ from its packer's output, e.g. by an all-zero block, so only its weights repack);
//   * an accepted buffer runs: a small GEMM (M = 3) over it gives the reference GEMM's result on its
//     weights, exactly (or a qsparse::error when this CPU cannot run its ISA).
// Any difference traps; any exception other than qsparse::error escapes and counts as a crash.
//
// Byte 0 bit 1 set: instead of taking the buffer as it is, the rest of the input makes a small valid
// packing (K, N, zero point, ISA / format and the weights from the input) and then xors a few bytes
// of it (positions and values from the input), so mutations reach the checks past the header.
//
//   build/<dir>/fuzz/packed_weights_fuzz -max_len=4096 corpus-dir fuzz/corpus/packed_weights
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <vector>

#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/reference.hpp"
#include "qsparse/gemm/sparse_gemm.hpp"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

struct aligned_buffer {
  struct free_aligned {
    void operator()(unsigned char* p) const noexcept { ::operator delete(p, std::align_val_t{64}); }
  };
  std::unique_ptr<unsigned char, free_aligned> data;
  std::size_t size = 0;
  explicit aligned_buffer(std::size_t n)
      : data(static_cast<unsigned char*>(::operator new(n == 0 ? 64 : n, std::align_val_t{64}))), size(n) {
    std::memset(data.get(), 0, n == 0 ? 64 : n);
  }
};

// Reads the input front to back; past its end every value is 0.
struct reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() { return n > 0 ? (--n, *p++) : 0; }
};

// Weight (k, n) of a validated dense view, decoded from its layout ([p][k/KR][n%NR][k%KR]).
std::int8_t dense_weight(const qsparse::packed_weights_view& v, std::int64_t k, std::int64_t n) {
  const qsparse::layout_geometry g = v.geometry();
  const std::int64_t e = ((k / g.kr) * g.nr + n % g.nr) * g.kr + k % g.kr;
  const auto* panel = static_cast<const unsigned char*>(v.panel(n / g.nr));
  if (g.element_bytes == 1) return static_cast<std::int8_t>(panel[e]);
  std::int16_t s;
  std::memcpy(&s, panel + 2 * e, 2);
  return static_cast<std::int8_t>(s + v.weight_zero_point());
}

template <class View, class Weight, class Repack, class Gemm>
void check_accepted(const View& v, Weight weight, Repack repack, Gemm run_gemm, reader& in, bool canonical) {
  const std::int64_t k = v.k(), n = v.n();
  std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
  for (std::int64_t kk = 0; kk < k; ++kk)
    for (std::int64_t nn = 0; nn < n; ++nn) w[static_cast<std::size_t>(kk * n + nn)] = weight(kk, nn);
  const auto wv = qsparse::make_view(static_cast<const std::int8_t*>(w.data()), k, n);
  // Dense: canonical, repacking the weights gives the same bytes. Sparse: the weights repack (a sparse
  // buffer may hold what its packer would not write, e.g. an all-zero block, and compute the same).
  if (canonical) {
    aligned_buffer again(v.size_bytes());
    repack(wv, again.data.get(), again.size);
    require(std::memcmp(again.data.get(), v.bytes(), v.size_bytes()) == 0);
  } else {
    aligned_buffer again(v.size_bytes() + (std::size_t{1} << 16));
    repack(wv, again.data.get(), again.size);
  }
  // Runs: a 3-row GEMM equals the reference.
  constexpr std::int64_t m = 3;
  std::vector<std::int8_t> a(static_cast<std::size_t>(m * k));
  for (auto& x : a) x = static_cast<std::int8_t>(in.byte());
  std::vector<std::int32_t> got(static_cast<std::size_t>(m * n)), want(got.size());
  const auto av = qsparse::make_view(static_cast<const std::int8_t*>(a.data()), m, k);
  try {
    run_gemm(av, qsparse::make_view(got.data(), m, n));
  } catch (const qsparse::error&) {
    return;  // the weights' ISA is above this CPU's, or K too deep for int32 with these zero points
  }
  qsparse::reference_gemm(qsparse::quantized(av, 0), qsparse::quantized(wv, v.weight_zero_point()),
                          qsparse::make_view(want.data(), m, n), qsparse::pipeline());
  require(got == want);
}

void check_dense(const unsigned char* bytes, std::size_t size, reader& in) {
  std::optional<qsparse::packed_weights_view> view;
  try {
    view = qsparse::packed_weights_view::from_bytes(bytes, size);
  } catch (const qsparse::error&) {
    return;
  }
  const auto& v = *view;
  check_accepted(
      v, [&](std::int64_t k, std::int64_t n) { return dense_weight(v, k, n); },
      [&](const auto& w, void* out, std::size_t out_bytes) {
        // The view's own layout: from_bytes checks the format, and whether a kernel of v.isa() reads that
        // layout is the GEMM entry's question (it raises, below, when none does).
        qsparse::pack_weights(w, v.weight_zero_point(), v.isa(), v.layout(), out, out_bytes);
      },
      [&](const auto& a, const auto& dst) { qsparse::gemm(qsparse::context{}, a, v, dst, qsparse::pipeline()); }, in,
      true);
}

void check_sparse(const unsigned char* bytes, std::size_t size, reader& in) {
  std::optional<qsparse::packed_sparse_weights_view> view;
  try {
    view = qsparse::packed_sparse_weights_view::from_bytes(bytes, size);
  } catch (const qsparse::error&) {
    return;
  }
  const auto& v = *view;
  check_accepted(
      v, [&](std::int64_t k, std::int64_t n) { return v.weight(k, n); },
      [&](const auto& w, void* out, std::size_t out_bytes) {
        qsparse::pack_sparse_weights(w, 0, v.format(), out, out_bytes);
      },
      [&](const auto& a, const auto& dst) { qsparse::sparse_gemm(qsparse::context{}, a, v, dst, qsparse::pipeline()); },
      in, false);
}

// A small valid packing made from the input, then a few bytes flipped.
void mutated_packing(bool sparse, reader& in, aligned_buffer& out) {
  const std::int64_t k = 1 + in.byte() % 40, n = 1 + in.byte() % 40;
  std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
  const std::uint8_t density = in.byte();
  for (auto& x : w) x = (in.byte() < density) ? static_cast<std::int8_t>(in.byte()) : std::int8_t{0};
  const auto wv = qsparse::make_view(static_cast<const std::int8_t*>(w.data()), k, n);
  std::size_t bytes = 0;
  if (sparse) {
    const auto format = static_cast<qsparse::sparse_format>(1 + in.byte() % 4);
    if (format == qsparse::sparse_format::two_of_four) {  // keep 2 of every 4 along K
      for (std::int64_t c = 0; c < n; ++c)
        for (std::int64_t kk = 0; kk < k; ++kk)
          if (kk % 4 >= 2) w[static_cast<std::size_t>(kk * n + c)] = 0;
    }
    bytes = qsparse::packed_sparse_weights_size(wv, format);
    out = aligned_buffer(bytes);
    qsparse::pack_sparse_weights(wv, 0, format, out.data.get(), bytes);
  } else {
    const auto isa = static_cast<qsparse::isa_level>(in.byte() % 4);
    const std::int32_t zp = static_cast<std::int8_t>(in.byte());
    bytes = qsparse::packed_weights_size(k, n, isa);
    out = aligned_buffer(bytes);
    qsparse::pack_weights(wv, zp, isa, out.data.get(), bytes);
  }
  const int flips = in.byte() % 4;
  for (int f = 0; f < flips; ++f) {
    const std::size_t at = (std::size_t{in.byte()} << 8 | in.byte()) % bytes;
    out.data.get()[at] ^= static_cast<unsigned char>(in.byte() | 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  reader in{data + 1, size - 1};
  const bool sparse = (data[0] & 1) != 0;
  if ((data[0] & 2) != 0) {
    aligned_buffer buffer(0);
    mutated_packing(sparse, in, buffer);
    if (sparse) {
      check_sparse(buffer.data.get(), buffer.size, in);
    } else {
      check_dense(buffer.data.get(), buffer.size, in);
    }
    return 0;
  }
  aligned_buffer buffer(size - 1);
  if (size > 1) std::memcpy(buffer.data.get(), data + 1, size - 1);
  reader rest{data + 1, size - 1};
  if (sparse) {
    check_sparse(buffer.data.get(), buffer.size, rest);
  } else {
    check_dense(buffer.data.get(), buffer.size, rest);
  }
  return 0;
}
