// Tests for qsparse/kernels/{avx2,avx512,neon}/fixed_point.hpp: every register-level function (and the x86
// array loops), on every ISA this CPU has, bit-exact with the scalar definition in
// qsparse/quant/fixed_point.hpp over millions of random and adversarial lanes (per-lane shifts and
// multipliers differ, so even and odd lanes are exercised independently). A test fails rather than
// skips when the CPU has an ISA that qsparse's detection does not report.
#include "qsparse/kernels/avx2/fixed_point.hpp"
#include "qsparse/kernels/avx512/fixed_point.hpp"
#include "qsparse/kernels/neon/fixed_point.hpp"

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "qsparse/dispatch/isa.hpp"
#include "qsparse/quant/fixed_point.hpp"

#if QSPARSE_X86 || QSPARSE_AARCH64
namespace {

using qsparse::isa_level;
using std::int32_t;
using std::int64_t;
using std::size_t;

constexpr int32_t int32_min = std::numeric_limits<int32_t>::min();
constexpr int32_t int32_max = std::numeric_limits<int32_t>::max();

// Values where rounding, saturation and sign handling change.
std::vector<int32_t> adversarial_values() {
  std::vector<int32_t> v = {int32_min, int32_min + 1, -(1 << 30) - 1, -(1 << 30), -(1 << 30) + 1, -65536, -257,
                            -256, -3, -2, -1, 0, 1, 2, 3, 255, 256, 65536, (1 << 30) - 1, 1 << 30, (1 << 30) + 1,
                            int32_max - 1, int32_max};
  for (int e = 1; e < 31; ++e) {  // ±2^e, ±(2^e - 1) and ties ±(2^e ± 2^(e-1))
    const int32_t p = int32_t{1} << e, h = p >> 1;
    for (int32_t x : {p, p - 1, p + h, p - h}) {
      v.push_back(x);
      v.push_back(-x);
    }
  }
  return v;
}

// splitmix64: a tiny generator, fast even in unoptimized test builds.
class splitmix64 {
 public:
  explicit splitmix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t operator()() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

// A mix of uniform values, adversarial values, exact ties at a random bit position and small values.
class value_source {
 public:
  explicit value_source(std::uint64_t seed) : rng_(seed), adversarial_(adversarial_values()) {}
  int32_t operator()() {
    switch (rng_() % 4) {
      case 0: return adversarial_[rng_() % adversarial_.size()];
      case 1: {
        const int bit = static_cast<int>(rng_() % 31);
        const auto u = static_cast<std::uint32_t>(rng_());
        return static_cast<int32_t>(((u >> bit) << bit) | (std::uint32_t{1} << bit) >> 1);
      }
      case 2: return static_cast<int32_t>(static_cast<int64_t>(rng_() % 2001) - 1000);
      default: return static_cast<int32_t>(static_cast<std::uint32_t>(rng_()));
    }
  }
  int32_t multiplier() {  // mostly [2^30, 2^31), sometimes anything
    if (rng_() % 8 == 0) return (*this)();
    return static_cast<int32_t>((int64_t{1} << 30) + static_cast<int64_t>(rng_() % (int64_t{1} << 30)));
  }
  int32_t non_negative_multiplier() {
    const int32_t m = multiplier();
    return m >= 0 ? m : (m == int32_min ? int32_max : -m);
  }
  int uniform(int lo, int hi) { return lo + static_cast<int>(rng_() % static_cast<std::uint64_t>(hi - lo + 1)); }

 private:
  splitmix64 rng_;
  std::vector<int32_t> adversarial_;
};

#if QSPARSE_X86
// Whether this CPU runs `level`. Fails the test if the compiler's own CPU check sees the ISA but
// qsparse's detection does not, so a SIMD path can never be skipped silently on a CPU that has it.
bool runnable(isa_level level) {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  const bool compiler_says = level == isa_level::avx2 ? avx2 : avx512;
  INFO("ISA " << qsparse::to_string(level) << ": __builtin_cpu_supports says " << compiler_says
              << ", qsparse::cpu_supports says " << qsparse::cpu_supports(level));
  REQUIRE(compiler_says == qsparse::cpu_supports(level));
  if (!qsparse::cpu_supports(level)) WARN("this CPU has no " << qsparse::to_string(level) << "; its tests are skipped");
  return qsparse::cpu_supports(level);
}
#endif

// Counts mismatches without Catch's per-assertion cost; keeps the first for the report.
class mismatches {
 public:
  template <class... Parts>
  void record(bool ok, const Parts&... parts) {
    if (ok) return;
    if (count_++ == 0) first_ = qsparse::detail::concat(parts...);
  }
  long count() const { return count_; }
  const std::string& first() const { return first_; }

 private:
  long count_ = 0;
  std::string first_;
};

// Drivers: run one register-level function over arrays whose length is a multiple of `lanes`.
// Each is compiled for its ISA, as a kernel calling these functions would be.
QSPARSE_SIMD_DIAGNOSTICS_BEGIN

#if QSPARSE_X86

struct avx2_driver {
  static constexpr const char* name = "avx2";
  static constexpr size_t lanes = 8;

  QSPARSE_TARGET_AVX2 static __m256i load(const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  QSPARSE_TARGET_AVX2 static void store(int32_t* p, __m256i v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
  }

  QSPARSE_TARGET_AVX2 static void srdhm(const int32_t* a, const int32_t* b, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx2::saturating_rounding_doubling_high_mul(load(a + i), load(b + i)));
    }
  }
  QSPARSE_TARGET_AVX2 static void rdbpot(const int32_t* x, const int32_t* e, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx2::rounding_divide_by_pot(load(x + i), load(e + i)));
    }
  }
  QSPARSE_TARGET_AVX2 static void left_shift(const int32_t* x, const int32_t* l, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx2::saturating_left_shift(load(x + i), load(l + i)));
    }
  }
  QSPARSE_TARGET_AVX2 static void double_split(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out,
                                               size_t n) {
    const __m256i zero = _mm256_setzero_si256();
    for (size_t i = 0; i < n; i += lanes) {
      const __m256i shift = load(s + i);
      const __m256i left = _mm256_max_epi32(shift, zero), right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
      store(out + i, qsparse::kernels::avx2::multiply_by_quantized_multiplier(load(x + i), load(m + i), left, right));
    }
  }
  QSPARSE_TARGET_AVX2 static void double_signed(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out,
                                                size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx2::multiply_by_quantized_multiplier(load(x + i), load(m + i), load(s + i)));
    }
  }
  QSPARSE_TARGET_AVX2 static void single(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx2::multiply_by_quantized_multiplier_single_rounding(load(x + i), load(m + i),
                                                                                             load(s + i)));
    }
  }
  QSPARSE_TARGET_AVX2 static void single_away(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out,
                                                size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx2::multiply_by_quantized_multiplier_single_rounding_away(
                         load(x + i), load(m + i), load(s + i)));
    }
  }
  QSPARSE_TARGET_AVX2 static void double_up(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out,
                                              size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx2::multiply_by_quantized_multiplier_double_rounding_up(
                         load(x + i), load(m + i), load(s + i)));
    }
  }
  static void array_double(const int32_t* x, int32_t* y, std::ptrdiff_t n, int32_t m, int shift) {
    qsparse::kernels::avx2::multiply_by_quantized_multiplier(x, y, n, m, shift);
  }
  static void array_single(const int32_t* x, int32_t* y, std::ptrdiff_t n, int32_t m, int shift) {
    qsparse::kernels::avx2::multiply_by_quantized_multiplier_single_rounding(x, y, n, m, shift);
  }
};

struct avx512_driver {
  static constexpr const char* name = "avx512";
  static constexpr size_t lanes = 16;

  QSPARSE_TARGET_AVX512 static __m512i load(const int32_t* p) { return _mm512_loadu_si512(p); }
  QSPARSE_TARGET_AVX512 static void store(int32_t* p, __m512i v) { _mm512_storeu_si512(p, v); }

  QSPARSE_TARGET_AVX512 static void srdhm(const int32_t* a, const int32_t* b, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx512::saturating_rounding_doubling_high_mul(load(a + i), load(b + i)));
    }
  }
  QSPARSE_TARGET_AVX512 static void rdbpot(const int32_t* x, const int32_t* e, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx512::rounding_divide_by_pot(load(x + i), load(e + i)));
    }
  }
  QSPARSE_TARGET_AVX512 static void left_shift(const int32_t* x, const int32_t* l, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx512::saturating_left_shift(load(x + i), load(l + i)));
    }
  }
  QSPARSE_TARGET_AVX512 static void double_split(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out,
                                                 size_t n) {
    const __m512i zero = _mm512_setzero_si512();
    for (size_t i = 0; i < n; i += lanes) {
      const __m512i shift = load(s + i);
      const __m512i left = _mm512_max_epi32(shift, zero), right = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
      store(out + i, qsparse::kernels::avx512::multiply_by_quantized_multiplier(load(x + i), load(m + i), left, right));
    }
  }
  QSPARSE_TARGET_AVX512 static void double_signed(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out,
                                                  size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx512::multiply_by_quantized_multiplier(load(x + i), load(m + i), load(s + i)));
    }
  }
  QSPARSE_TARGET_AVX512 static void single(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out,
                                           size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx512::multiply_by_quantized_multiplier_single_rounding(
                         load(x + i), load(m + i), load(s + i)));
    }
  }
  QSPARSE_TARGET_AVX512 static void single_away(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out,
                                                size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx512::multiply_by_quantized_multiplier_single_rounding_away(
                         load(x + i), load(m + i), load(s + i)));
    }
  }
  QSPARSE_TARGET_AVX512 static void double_up(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out,
                                              size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::avx512::multiply_by_quantized_multiplier_double_rounding_up(
                         load(x + i), load(m + i), load(s + i)));
    }
  }
  static void array_double(const int32_t* x, int32_t* y, std::ptrdiff_t n, int32_t m, int shift) {
    qsparse::kernels::avx512::multiply_by_quantized_multiplier(x, y, n, m, shift);
  }
  static void array_single(const int32_t* x, int32_t* y, std::ptrdiff_t n, int32_t m, int shift) {
    qsparse::kernels::avx512::multiply_by_quantized_multiplier_single_rounding(x, y, n, m, shift);
  }
};

#endif  // QSPARSE_X86

#if QSPARSE_AARCH64
// Advanced SIMD is part of every aarch64 CPU: no target attribute, no run-time check.
struct neon_driver {
  static constexpr const char* name = "neon";
  static constexpr size_t lanes = 4;
  static int32x4_t load(const int32_t* p) { return vld1q_s32(p); }
  static void store(int32_t* p, int32x4_t v) { vst1q_s32(p, v); }

  static void srdhm(const int32_t* a, const int32_t* b, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::neon::saturating_rounding_doubling_high_mul(load(a + i), load(b + i)));
    }
  }
  static void rdbpot(const int32_t* x, const int32_t* e, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) store(out + i, qsparse::kernels::neon::rounding_divide_by_pot(load(x + i), load(e + i)));
  }
  static void left_shift(const int32_t* x, const int32_t* l, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) store(out + i, qsparse::kernels::neon::saturating_left_shift(load(x + i), load(l + i)));
  }
  static void double_split(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out, size_t n) {
    double_signed(x, m, s, out, n);  // NEON has only the signed-shift form
  }
  static void double_signed(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::neon::multiply_by_quantized_multiplier(load(x + i), load(m + i), load(s + i)));
    }
  }
  static void single(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::neon::multiply_by_quantized_multiplier_single_rounding(load(x + i), load(m + i),
                                                                                             load(s + i)));
    }
  }
  static void single_away(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::neon::multiply_by_quantized_multiplier_single_rounding_away(
                         load(x + i), load(m + i), load(s + i)));
    }
  }
  static void double_up(const int32_t* x, const int32_t* m, const int32_t* s, int32_t* out, size_t n) {
    for (size_t i = 0; i < n; i += lanes) {
      store(out + i, qsparse::kernels::neon::multiply_by_quantized_multiplier_double_rounding_up(
                         load(x + i), load(m + i), load(s + i)));
    }
  }
};
#endif  // QSPARSE_AARCH64

QSPARSE_SIMD_DIAGNOSTICS_END

// Lanes per function and ISA: a deterministic adversarial grid first, then random lanes.
constexpr size_t random_lanes = size_t{3} << 17;

// Three operand arrays, each padded to a multiple of 16 lanes.
struct operands {
  std::vector<int32_t> a, b, c;
  void push(int32_t x, int32_t y, int32_t z) {
    a.push_back(x);
    b.push_back(y);
    c.push_back(z);
  }
  size_t size() const { return a.size(); }
  void pad() {
    while (a.size() % 16 != 0) {
      a.push_back(a.back());
      b.push_back(b.back());
      c.push_back(c.back());
    }
  }
};

template <class Reference>
void compare(const char* isa, const char* what, const operands& in, const std::vector<int32_t>& out,
             Reference reference) {
  mismatches bad;
  const int32_t *a = in.a.data(), *b = in.b.data(), *c = in.c.data(), *o = out.data();
  for (size_t i = 0, n = out.size(); i < n; ++i) {
    const int32_t want = reference(a[i], b[i], c[i]);
    if (o[i] != want) {
      bad.record(false, isa, " ", what, "(", a[i], ", ", b[i], ", ", c[i], ") lane ", i, ": ", o[i], " != scalar ",
                 want);
    }
  }
  INFO(bad.first());
  CHECK(bad.count() == 0);
}

// Calls body(driver) for each ISA driver this CPU runs (failing, via runnable(), on a detection gap).
template <class Body>
void for_each_isa(Body body) {
#if QSPARSE_X86
  if (runnable(isa_level::avx2)) body(avx2_driver{});
  if (runnable(isa_level::avx512)) body(avx512_driver{});
#else
  REQUIRE(qsparse::cpu_supports(isa_level::neon));
  body(neon_driver{});
#endif
}

}  // namespace

TEST_CASE("saturating_rounding_doubling_high_mul is bit-exact with the scalar one on every ISA", "[simd]") {
  value_source source(101);
  const std::vector<int32_t> adversarial = adversarial_values();
  operands in;
  for (int32_t a : adversarial) {
    for (int32_t b : adversarial) in.push(a, b, 0);
  }
  for (size_t i = 0; i < random_lanes; ++i) in.push(source(), i % 2 ? source() : source.multiplier(), 0);
  in.pad();
  std::vector<int32_t> out(in.size());
  for_each_isa([&](auto isa) {
    using driver = decltype(isa);
    driver::srdhm(in.a.data(), in.b.data(), out.data(), out.size());
    compare(driver::name, "SRDHM", in, out,
            [](int32_t a, int32_t b, int32_t) { return qsparse::saturating_rounding_doubling_high_mul(a, b); });
  });
}

TEST_CASE("rounding_divide_by_pot and saturating_left_shift are bit-exact with the scalar ones on every ISA",
          "[simd]") {
  value_source source(202);
  operands in;  // a = x, b = exponent in [0, 31], c = left shift in [0, 40]
  for (int32_t x : adversarial_values()) {
    for (int e = 0; e <= 31; ++e) in.push(x, e, e + (e % 3) * 3);
  }
  for (size_t i = 0; i < random_lanes; ++i) {
    in.push(source(), source.uniform(0, 31), i % 8 == 0 ? source.uniform(31, 40) : source.uniform(0, 31));
  }
  in.pad();
  std::vector<int32_t> out(in.size());
  for_each_isa([&](auto isa) {
    using driver = decltype(isa);
    driver::rdbpot(in.a.data(), in.b.data(), out.data(), out.size());
    compare(driver::name, "RDBPOT", in, out,
            [](int32_t x, int32_t e, int32_t) { return qsparse::detail::rounding_divide_by_pot(x, e); });
    // Counts of 32 and more saturate every non-zero lane.
    driver::left_shift(in.a.data(), in.c.data(), out.data(), out.size());
    compare(driver::name, "saturating_left_shift", in, out,
            [](int32_t x, int32_t, int32_t l) { return qsparse::detail::saturating_left_shift(x, l); });
  });
}

TEST_CASE("double-rounding multiply_by_quantized_multiplier is bit-exact with the scalar one on every ISA", "[simd]") {
  value_source source(303);
  operands in;  // a = x, b = multiplier (any), c = shift in [-31, 40]
  const int32_t multipliers[] = {int32_min, -(1 << 30), -1, 0, 1, 1 << 30, (1 << 30) + 12345, int32_max};
  for (int32_t x : adversarial_values()) {
    for (int32_t m : multipliers) {
      for (int shift = -31; shift <= 33; ++shift) in.push(x, m, shift);
    }
  }
  for (size_t i = 0; i < random_lanes; ++i) {
    const int shift = i % 16 == 0 ? source.uniform(31, 40) : source.uniform(-31, 30);
    int32_t x = source();
    if (shift > 0 && i % 2) x = static_cast<int32_t>(x / (int64_t{1} << (shift > 31 ? 31 : shift)));  // unsaturated
    in.push(x, source.multiplier(), shift);
  }
  in.pad();
  std::vector<int32_t> out(in.size());
  for_each_isa([&](auto isa) {
    using driver = decltype(isa);
    const auto reference = [](int32_t x, int32_t m, int32_t s) { return qsparse::double_rounding::apply(x, m, s); };
    driver::double_split(in.a.data(), in.b.data(), in.c.data(), out.data(), out.size());
    compare(driver::name, "MBQM(x, M, left, right)", in, out, reference);
    driver::double_signed(in.a.data(), in.b.data(), in.c.data(), out.data(), out.size());
    compare(driver::name, "MBQM(x, M, shift)", in, out, reference);
  });
}

TEST_CASE("single-rounding multiply_by_quantized_multiplier is bit-exact with the scalar one on every ISA", "[simd]") {
  value_source source(404);
  operands in;  // a = x, b = multiplier >= 0, c = shift in [-31, 30]
  const int32_t multipliers[] = {0, 1, 2, 1 << 30, (1 << 30) + 1, (1 << 30) + 12345, int32_max - 1, int32_max};
  for (int32_t x : adversarial_values()) {
    for (int32_t m : multipliers) {
      for (int shift = -31; shift <= 30; ++shift) in.push(x, m, shift);
    }
  }
  for (size_t i = 0; i < random_lanes; ++i) {
    in.push(source(), source.non_negative_multiplier(), source.uniform(-31, 30));
  }
  in.pad();
  std::vector<int32_t> out(in.size());
  for_each_isa([&](auto isa) {
    using driver = decltype(isa);
    driver::single(in.a.data(), in.b.data(), in.c.data(), out.data(), out.size());
    compare(driver::name, "MBQM single rounding", in, out,
            [](int32_t x, int32_t m, int32_t s) { return qsparse::single_rounding::apply(x, m, s); });
  });
}

TEST_CASE("single rounding ties away and double rounding ties up are bit-exact with the scalar ones on every ISA",
          "[simd]") {
  value_source source(405);
  operands single_in;  // a = x, b = multiplier >= 0, c = shift in [-31, 30]
  operands double_in;  // any multiplier, shift in [-31, 40]
  const int32_t multipliers[] = {0, 1, 2, 1 << 30, (1 << 30) + 1, (1 << 30) + 12345, int32_max - 1, int32_max};
  for (int32_t x : adversarial_values()) {
    for (int32_t m : multipliers) {
      for (int shift = -31; shift <= 30; ++shift) single_in.push(x, m, shift);
      for (int shift = -31; shift <= 40; ++shift) double_in.push(x, shift % 2 == 0 ? m : int32_min + m % 7, shift);
    }
  }
  for (size_t i = 0; i < random_lanes / 2; ++i) {
    single_in.push(source(), source.non_negative_multiplier(), source.uniform(-31, 30));
    double_in.push(source(), source.multiplier(), source.uniform(-31, 31));
  }
  single_in.pad();
  double_in.pad();
  std::vector<int32_t> out(single_in.size());
  std::vector<int32_t> out_double(double_in.size());
  for_each_isa([&](auto isa) {
    using driver = decltype(isa);
    driver::single_away(single_in.a.data(), single_in.b.data(), single_in.c.data(), out.data(), out.size());
    compare(driver::name, "MBQM single rounding ties away", single_in, out,
            [](int32_t x, int32_t m, int32_t s) { return qsparse::single_rounding_away::apply(x, m, s); });
    driver::double_up(double_in.a.data(), double_in.b.data(), double_in.c.data(), out_double.data(), out_double.size());
    compare(driver::name, "MBQM double rounding ties up", double_in, out_double,
            [](int32_t x, int32_t m, int32_t s) { return qsparse::double_rounding_up::apply(x, m, s); });
  });
}

#if QSPARSE_X86
TEST_CASE("array loops match the scalar functions for every length, shift and alias on every ISA", "[simd]") {
  for_each_isa([](auto isa) {
    using driver = decltype(isa);
    value_source source(505);
    constexpr int32_t guard = 0x5A5A5A5A;
    mismatches bad;
    for (std::ptrdiff_t n : {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 100, 1027}) {
      std::vector<int32_t> x(static_cast<size_t>(n));
      for (int shift = -31; shift <= 35; ++shift) {
        for (int32_t& v : x) v = source();
        const int32_t m = source.multiplier();
        const int32_t m_single = source.non_negative_multiplier();
        for (int in_place = 0; in_place <= 1; ++in_place) {
          std::vector<int32_t> y(static_cast<size_t>(n) + 16, guard);
          if (in_place) std::copy(x.begin(), x.end(), y.begin());
          const int32_t* input = in_place ? y.data() : x.data();
          driver::array_double(input, y.data(), n, m, shift);
          for (std::ptrdiff_t i = 0; i < n; ++i) {
            bad.record(y[i] == qsparse::multiply_by_quantized_multiplier(x[i], m, shift), driver::name,
                       " double n = ", n, " shift = ", shift, " in_place = ", in_place, " i = ", i);
          }
          for (size_t i = static_cast<size_t>(n); i < y.size(); ++i) {
            bad.record(y[i] == guard, driver::name, " double wrote past n = ", n);
          }
          if (shift > 30) continue;
          std::fill(y.begin(), y.end(), guard);
          if (in_place) std::copy(x.begin(), x.end(), y.begin());
          driver::array_single(input, y.data(), n, m_single, shift);
          for (std::ptrdiff_t i = 0; i < n; ++i) {
            bad.record(y[i] == qsparse::multiply_by_quantized_multiplier_single_rounding(x[i], m_single, shift),
                       driver::name, " single n = ", n, " shift = ", shift, " in_place = ", in_place, " i = ", i);
          }
          for (size_t i = static_cast<size_t>(n); i < y.size(); ++i) {
            bad.record(y[i] == guard, driver::name, " single wrote past n = ", n);
          }
        }
      }
    }
    INFO(bad.first());
    CHECK(bad.count() == 0);

    using Catch::Matchers::Contains;
    int32_t dummy[1] = {0};
    CHECK_THROWS_WITH(driver::array_double(dummy, dummy, -1, 1, 0), Contains("n = -1"));
    CHECK_THROWS_WITH(driver::array_double(dummy, dummy, 1, 1, -32), Contains("shift = -32"));
    CHECK_THROWS_WITH(driver::array_single(dummy, dummy, 1, -1, 0), Contains("multiplier = -1"));
    CHECK_THROWS_WITH(driver::array_single(dummy, dummy, 1, 1, 31), Contains("shift = 31"));
    CHECK_THROWS_WITH(driver::array_single(dummy, dummy, 1, 1, -32), Contains(driver::name));
  });
}

TEST_CASE("every SIMD ISA this CPU has is detected, so no SIMD test above was skipped on it", "[simd]") {
  int exercised = 0;
  for_each_isa([&exercised](auto) { ++exercised; });
  CHECK(exercised == (isa_runs(qsparse::detected_isa(), isa_level::avx512) ? 2
                      : isa_runs(qsparse::detected_isa(), isa_level::avx2) ? 1
                                                                           : 0));
  SUCCEED("detected ISA: " << qsparse::to_string(qsparse::detected_isa()));
}
#else
TEST_CASE("Advanced SIMD is detected on every aarch64 CPU", "[simd]") {
  CHECK(isa_runs(qsparse::detected_isa(), isa_level::neon));
  SUCCEED("detected ISA: " << qsparse::to_string(qsparse::detected_isa()));
}
#endif  // QSPARSE_X86

#else  // no SIMD paths are compiled: nothing to compare

TEST_CASE("without x86 or aarch64 only the scalar ISA is detected", "[simd]") {
  CHECK(qsparse::detected_isa() == qsparse::isa_level::scalar);
}

#endif  // QSPARSE_X86 || QSPARSE_AARCH64
