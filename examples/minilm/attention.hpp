// examples/minilm/attention.hpp — one head of int8 self-attention, q k^T -> softmax -> p v, fused.
//
//   minilm::detail::attention_head_scratch w;                       // per thread, reused from call to call
//   minilm::detail::attention_head_int8(isa, q, k, v, ld, n, dh, scale, out, out_ld, w);
//
// q, k, v: n rows of dh floats (row t at q + t * ld, and k, v); out: n rows of dh floats (out + t * out_ld).
// The result is, bit for bit, what the two hybrid_gemm calls of the int8 attention computed before this
// kernel existed (bert_model::attention_int8 on an ISA without AVX-512 VNNI still makes them):
//   1. k^T and v are quantized as int8 weights, symmetric per column (detail::quantize_operand_scalar):
//      kq(d, j), kscale[j] over each key token j's dh values; vq(j, d), vscale[d] over each feature's n values.
//   2. for each query row i:
//      a. (zq, sq) = qsparse::quantize_row_asymmetric of q's row i (dh values) into qq
//      b. s[j] = hybrid_output(Σ_d (qq[d] - zq) kq(d, j), sq, kscale[j])   (float(acc) * (sq * kscale[j]))
//      c. qsparse::softmax_row(s, n, scale)
//      d. (zp, sp) = qsparse::quantize_row_asymmetric of s (n values) into pq
//      e. out[i][d] = hybrid_output(Σ_j (pq[j] - zp) vq(j, d), sp, vscale[d])
// (hybrid_gemm's step 1, an all-zero left operand, gives the same 0.0f as the formula.) The int32 sums are
// exact, so their order is free; every float operation is the definition's, in the definition's order.
// attention_head_reference writes it in plain loops; attention_head_avx512_vnni computes it with vpdpbusd
// on operands packed once per head (4 bytes of the reduced dimension per 32-bit lane), no int32 matrix in
// memory: the scores of a row go from the accumulators to the softmax and the row's int8 copy straight to
// the p v product. vpdpbusd multiplies unsigned by signed bytes, so the left rows enter as q + 128 (q xor
// 0x80) and the sums take (128 + zero point) times the right operand's column sums off.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "qsparse/conv/activation.hpp"
#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/hybrid.hpp"
#include "qsparse/kernels/avx512/activation.hpp"
#include "qsparse/kernels/avx512/row_quantize.hpp"
#if QSPARSE_X86
#include <immintrin.h>
#endif

namespace minilm::detail {

/// The right operand of an attention product quantized to int8 (rows × cols, row-major into q):
/// symmetric per column j, scale[j] = max_i |x(i, j)| / 127 (1 for an all-zero column), q = x / scale[j]
/// rounded half away from zero (qsparse::detail::round_half_away_small: std::round's values for
/// |y| <= 127), clamped to [-127, 127]. x(i, j) = src[i * row_stride + j] when !transposed,
/// src[j * row_stride + i] when transposed (then row j of src holds column j: each column is contiguous).
/// `column_max`: cols floats of scratch. The plain loops; quantize_operand_avx512 gives the same bits.
inline void quantize_operand_scalar(const float* src, std::size_t row_stride, std::size_t rows, std::size_t cols,
                                    bool transposed, float* scale, float* column_max, std::int8_t* q) {
  const auto quant = [](float x, float s) {
    const std::int32_t r = qsparse::detail::round_half_away_small(x / s);
    return static_cast<std::int8_t>(std::min(127, std::max(-127, r)));
  };
  for (std::size_t j = 0; j < cols; ++j) scale[j] = 1.0f;
  if (transposed) {
    for (std::size_t j = 0; j < cols; ++j) {
      const float* col = src + j * row_stride;
      float mx = 0.0f;
      for (std::size_t i = 0; i < rows; ++i) mx = std::max(mx, std::fabs(col[i]));
      if (mx > 0.0f) scale[j] = mx / 127.0f;
      const float sj = scale[j];
      for (std::size_t i = 0; i < rows; ++i) q[i * cols + j] = quant(col[i], sj);
    }
  } else {
    float* mx = column_max;
    for (std::size_t j = 0; j < cols; ++j) mx[j] = 0.0f;
    for (std::size_t i = 0; i < rows; ++i) {
      const float* row = src + i * row_stride;
      for (std::size_t j = 0; j < cols; ++j) mx[j] = std::max(mx[j], std::fabs(row[j]));
    }
    for (std::size_t j = 0; j < cols; ++j) {
      if (mx[j] > 0.0f) scale[j] = mx[j] / 127.0f;
    }
    for (std::size_t i = 0; i < rows; ++i) {
      const float* row = src + i * row_stride;
      for (std::size_t j = 0; j < cols; ++j) q[i * cols + j] = quant(row[j], scale[j]);
    }
  }
}

#if QSPARSE_X86
QSPARSE_SIMD_DIAGNOSTICS_BEGIN
/// 16 values of quantize_operand_scalar's quant (x / s rounded half away from zero, clamped to +-127).
QSPARSE_TARGET_AVX512 inline __m128i quantize_operand_16(__m512 x, __m512 s) {
  const __m512 y = _mm512_div_ps(x, s);
  __m512i t = _mm512_cvttps_epi32(y);
  const __m512 frac = _mm512_sub_ps(y, _mm512_cvtepi32_ps(t));
  const __m512i one = _mm512_set1_epi32(1);
  t = _mm512_mask_add_epi32(t, _mm512_cmp_ps_mask(frac, _mm512_set1_ps(0.5f), _CMP_GE_OQ), t, one);
  t = _mm512_mask_sub_epi32(t, _mm512_cmp_ps_mask(frac, _mm512_set1_ps(-0.5f), _CMP_LE_OQ), t, one);
  t = _mm512_min_epi32(_mm512_set1_epi32(127), _mm512_max_epi32(_mm512_set1_epi32(-127), t));
  return _mm512_cvtepi32_epi8(t);
}

/// quantize_operand_scalar on AVX-512 F/BW (the caller checks the CPU), the same bits for finite x.
QSPARSE_TARGET_AVX512 inline void quantize_operand_avx512(const float* src, std::size_t row_stride, std::size_t rows,
                                                          std::size_t cols, bool transposed, float* scale,
                                                          float* column_max, std::int8_t* q) {
  const auto tail = [](std::size_t left) {
    return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
  };
  if (transposed) {
    alignas(16) std::int8_t part[16];
    for (std::size_t j = 0; j < cols; ++j) {
      const float* col = src + j * row_stride;
      __m512 m = _mm512_setzero_ps();
      for (std::size_t i = 0; i < rows; i += 16) {
        m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(tail(rows - i), col + i)));
      }
      const float mx = _mm512_reduce_max_ps(m);
      const float sj = mx > 0.0f ? mx / 127.0f : 1.0f;
      scale[j] = sj;
      const __m512 s = _mm512_set1_ps(sj);
      for (std::size_t i = 0; i < rows; i += 16) {
        const std::size_t n = std::min<std::size_t>(16, rows - i);
        _mm_store_si128(reinterpret_cast<__m128i*>(part), quantize_operand_16(_mm512_maskz_loadu_ps(tail(n), col + i), s));
        for (std::size_t l = 0; l < n; ++l) q[(i + l) * cols + j] = part[l];
      }
    }
  } else {
    for (std::size_t j = 0; j < cols; j += 16) {
      const __mmask16 k = tail(cols - j);
      __m512 m = _mm512_setzero_ps();
      for (std::size_t i = 0; i < rows; ++i) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(k, src + i * row_stride + j)));
      _mm512_mask_storeu_ps(column_max + j, k, m);
    }
    for (std::size_t j = 0; j < cols; ++j) scale[j] = column_max[j] > 0.0f ? column_max[j] / 127.0f : 1.0f;
    for (std::size_t i = 0; i < rows; ++i) {
      for (std::size_t j = 0; j < cols; j += 16) {
        const __mmask16 k = tail(cols - j);
        const __m512 s = _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), k, scale + j);
        _mm_mask_storeu_epi8(q + i * cols + j, k, quantize_operand_16(_mm512_maskz_loadu_ps(k, src + i * row_stride + j), s));
      }
    }
  }
}
QSPARSE_SIMD_DIAGNOSTICS_END
#endif

/// quantize_operand_scalar on the best code for `isa` (AVX-512 when isa is avx512 or avx512_vnni).
inline void quantize_operand(qsparse::isa_level isa, const float* src, std::size_t row_stride, std::size_t rows,
                             std::size_t cols, bool transposed, float* scale, float* column_max, std::int8_t* q) {
#if QSPARSE_X86
  if (qsparse::isa_runs(isa, qsparse::isa_level::avx512)) {
    quantize_operand_avx512(src, row_stride, rows, cols, transposed, scale, column_max, q);
    return;
  }
#endif
  static_cast<void>(isa);
  quantize_operand_scalar(src, row_stride, rows, cols, transposed, scale, column_max, q);
}

/// attention_head_int8's buffers (one per thread, grown to the largest head and kept).
struct attention_head_scratch {
  std::vector<float> kscale, vscale, column_max, scores;
  std::vector<std::int8_t> row;
  std::vector<std::int32_t> ksum, vsum;
  std::vector<std::int8_t> kpacked, vpacked;
  std::vector<std::uint8_t> urow, uq;
  std::vector<qsparse::hybrid_row_quantization> rq;
};

/// The definition (see the top of this header) in plain loops, int64 sums.
inline void attention_head_reference(const float* q, const float* k, const float* v, std::size_t ld, std::size_t n,
                                     std::size_t dh, float scale, float* out, std::size_t out_ld) {
  std::vector<float> kscale(n), vscale(dh), column_max(std::max(n, dh)), s(n);
  std::vector<std::int8_t> kq(dh * n), vq(n * dh), qq(dh), pq(n);
  quantize_operand_scalar(k, ld, dh, n, /*transposed=*/true, kscale.data(), column_max.data(), kq.data());
  quantize_operand_scalar(v, ld, n, dh, /*transposed=*/false, vscale.data(), column_max.data(), vq.data());
  const float inf = std::numeric_limits<float>::infinity();
  const auto di = static_cast<std::ptrdiff_t>(dh), ni = static_cast<std::ptrdiff_t>(n);
  for (std::size_t i = 0; i < n; ++i) {
    const qsparse::hybrid_row_quantization rq = qsparse::quantize_row_asymmetric(q + i * ld, di, qq.data());
    for (std::size_t j = 0; j < n; ++j) {
      std::int64_t acc = 0;
      for (std::size_t d = 0; d < dh; ++d) acc += (std::int64_t{qq[d]} - rq.zero_point) * std::int64_t{kq[d * n + j]};
      s[j] = qsparse::detail::hybrid_output(static_cast<std::int32_t>(acc), rq.scale, kscale[j], nullptr, 0, -inf, inf);
    }
    qsparse::softmax_row(s.data(), ni, scale);
    const qsparse::hybrid_row_quantization rp = qsparse::quantize_row_asymmetric(s.data(), ni, pq.data());
    for (std::size_t d = 0; d < dh; ++d) {
      std::int64_t acc = 0;
      for (std::size_t j = 0; j < n; ++j) acc += (std::int64_t{pq[j]} - rp.zero_point) * std::int64_t{vq[j * dh + d]};
      out[i * out_ld + d] = qsparse::detail::hybrid_output(static_cast<std::int32_t>(acc), rp.scale, vscale[d], nullptr, 0, -inf, inf);
    }
  }
}

#if QSPARSE_X86
QSPARSE_SIMD_DIAGNOSTICS_BEGIN
/// qsparse::quantize_row_asymmetric of a row of k values (the same values: the row's min and max by
/// AVX-512, its parameters and rounding as the library computes them), as bytes q + 128 into u, zero from k
/// to the next multiple of 64. A non-finite value is qsparse::quantize_row_dynamic's error.
QSPARSE_TARGET_AVX512_VNNI inline qsparse::hybrid_row_quantization attention_row(const float* x, std::size_t k, std::int8_t* q,
                                                                                std::uint8_t* u) {
  // (q: k bytes of scratch, written only on the error path.)
  __m512 lo = _mm512_set1_ps(std::numeric_limits<float>::infinity()), hi = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __mmask16 finite = 0xffff;
  for (std::size_t i = 0; i < k; i += 16) {
    const __mmask16 m = k - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (k - i)) - 1u);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    finite = static_cast<__mmask16>(finite & _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), _mm512_setzero_ps(), _CMP_EQ_OQ));
    lo = _mm512_mask_min_ps(lo, m, lo, v);
    hi = _mm512_mask_max_ps(hi, m, hi, v);
  }
  if (finite != 0xffff) {
    return qsparse::quantize_row_dynamic(qsparse::isa_level::avx512_vnni, qsparse::hybrid_quantization::asymmetric, x,
                                         static_cast<std::ptrdiff_t>(k), q, "minilm::detail::attention_head_int8");
  }
  // The library's scale and zero point, the rounding of every value by its AVX-512 kernel's 16 lanes,
  // q + 128 kept as bytes.
  const qsparse::hybrid_row_quantization r =
      qsparse::detail::asymmetric_row_parameters(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi));
  const __m512 inverse = _mm512_set1_ps(static_cast<float>(1.0 / static_cast<double>(r.scale)));
  const __m512 offset = _mm512_set1_ps(static_cast<float>(r.zero_point));
  const __m512i qmin = _mm512_set1_epi32(-128), qmax = _mm512_set1_epi32(127);
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  const std::size_t padded = (k + 63) / 64 * 64;
  for (std::size_t i = 0; i < padded; i += 16) {
    if (i >= k) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(u + i), _mm_setzero_si128());
      continue;
    }
    const __mmask16 m = k - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (k - i)) - 1u);
    const __m128i b = qsparse::kernels::avx512::quantize_row16(_mm512_maskz_loadu_ps(m, x + i), inverse, offset, true, qmin, qmax);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(u + i), _mm_maskz_mov_epi8(m, _mm_xor_si128(b, flip)));
  }
  return r;
}
QSPARSE_SIMD_DIAGNOSTICS_END
#endif

/// The sizes of attention_head_avx512_vnni's packed operands: the reduced dimension in groups of 4 bytes,
/// the other padded to whole blocks of 64 key tokens (k) or 32 features (v); padding bytes are 0.
inline std::size_t attention_groups(std::size_t depth) { return (depth + 3) / 4; }
inline std::size_t attention_round_up(std::size_t x, std::size_t to) { return (x + to - 1) / to * to; }

#if QSPARSE_X86
QSPARSE_SIMD_DIAGNOSTICS_BEGIN
/// hybrid_output of 16 sums of vpdpbusd over rows entered as q + 128: float(acc - corr * column_sums) *
/// (row_scale * column_scales), corr = 128 + the row's zero point.
QSPARSE_TARGET_AVX512_VNNI inline __m512 attention_output16(__m512i acc, __m512i corr, const std::int32_t* column_sums,
                                                            __m512 row_scale, const float* column_scales) {
  const __m512i corrected = _mm512_sub_epi32(acc, _mm512_mullo_epi32(corr, _mm512_loadu_si512(column_sums)));
  const __m512 cs = _mm512_mul_ps(row_scale, _mm512_loadu_ps(column_scales));
  return _mm512_mul_ps(_mm512_cvtepi32_ps(corrected), cs);
}

/// The probability row of the fused attention, its softmax and quantization in two passes over the
/// row's scaled scores x (softmax_row's first pass done by the caller, max: its maximum): e = exp(x - max)
/// and their sum as qsparse::softmax_row, then p = e / sum quantized as attention_row quantizes it. The
/// row's range needs no pass of its own: a correctly rounded division by sum > 0 keeps the order, so
/// min p = (min e) / sum and max p = (max e) / sum. When the sum is not finite: false, x holds p and
/// nothing is quantized (the caller's attention_row then reports the error).
QSPARSE_TARGET_AVX512_VNNI inline bool attention_probabilities(float* x, std::size_t n, float max,
                                                               qsparse::hybrid_row_quantization& r, std::uint8_t* u) {
  namespace k5 = qsparse::kernels::avx512;
  const auto tail = [](std::size_t left) {
    return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
  };
  const __m512 vmx = _mm512_set1_ps(max);
  __m512 sum = _mm512_setzero_ps();
  __m512 lo = _mm512_set1_ps(std::numeric_limits<float>::infinity()), hi = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (std::size_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail(n - j);
    const __m512 e = k5::softmax_exp16(_mm512_maskz_loadu_ps(m, x + j), vmx);
    _mm512_mask_storeu_ps(x + j, m, e);
    sum = _mm512_mask_add_ps(sum, m, sum, e);
    lo = _mm512_mask_min_ps(lo, m, lo, e);
    hi = _mm512_mask_max_ps(hi, m, hi, e);
  }
  const float total = k5::softmax_sum16(sum);
  const __m512 vtotal = _mm512_set1_ps(total);
  if (!(total - total == 0.0f)) {
    for (std::size_t j = 0; j < n; j += 16) {
      _mm512_mask_storeu_ps(x + j, tail(n - j), _mm512_div_ps(_mm512_maskz_loadu_ps(tail(n - j), x + j), vtotal));
    }
    return false;
  }
  const __m128 range = _mm_div_ps(_mm_set_ps(0.0f, 0.0f, _mm512_reduce_max_ps(hi), _mm512_reduce_min_ps(lo)),
                                  _mm512_castps512_ps128(vtotal));
  r = qsparse::detail::asymmetric_row_parameters(_mm_cvtss_f32(range), _mm_cvtss_f32(_mm_shuffle_ps(range, range, 1)));
  const __m512 inverse = _mm512_set1_ps(static_cast<float>(1.0 / static_cast<double>(r.scale)));
  const __m512 offset = _mm512_set1_ps(static_cast<float>(r.zero_point));
  const __m512i qmin = _mm512_set1_epi32(-128), qmax = _mm512_set1_epi32(127);
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  const std::size_t padded = (n + 63) / 64 * 64;
  for (std::size_t j = 0; j < padded; j += 16) {
    if (j >= n) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(u + j), _mm_setzero_si128());
      continue;
    }
    const __mmask16 m = tail(n - j);
    const __m512 p = _mm512_div_ps(_mm512_maskz_loadu_ps(m, x + j), vtotal);
    const __m128i b = k5::quantize_row16(p, inverse, offset, true, qmin, qmax);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(u + j), _mm_maskz_mov_epi8(m, _mm_xor_si128(b, flip)));
  }
  return true;
}

/// The definition on AVX-512 VNNI (the caller checks the CPU), the same bits as attention_head_reference
/// for finite q, k, v; a non-finite row of q is a qsparse::error (quantize_row_dynamic).
QSPARSE_TARGET_AVX512_VNNI inline void attention_head_avx512_vnni(const float* q, const float* k, const float* v,
                                                                   std::size_t ld, std::size_t n, std::size_t dh,
                                                                   float scale, float* out, std::size_t out_ld,
                                                                   attention_head_scratch& w) {
  const std::size_t kgroups = attention_groups(dh), npad = attention_round_up(n, 64);
  const std::size_t vgroups = attention_groups(n), dpad = attention_round_up(dh, 32);
  const auto tail = [](std::size_t left) {
    return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
  };
  w.kscale.assign(npad, 1.0f);
  w.vscale.assign(dpad, 1.0f);
  w.column_max.resize(dpad);
  w.scores.resize(npad);
  w.row.resize(4 * std::max(kgroups, vgroups) + 64);
  w.urow.resize(4 * std::max(kgroups, vgroups) + 64);
  w.ksum.assign(npad, 0);
  w.vsum.assign(dpad, 0);
  w.kpacked.assign(kgroups * npad * 4, 0);
  w.vpacked.resize(vgroups * dpad * 4);
  // k^T straight into its packed form: key token j's dh values are contiguous, quantized 16 at a time
  // (quantize_operand_scalar's values), and dims 4c..4c+3 of token j are the 4 bytes at (c * npad + j) * 4.
  for (std::size_t j = 0; j < n; ++j) {
    const float* col = k + j * ld;
    __m512 m = _mm512_setzero_ps();
    for (std::size_t d = 0; d < dh; d += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(tail(dh - d), col + d)));
    const float mx = _mm512_reduce_max_ps(m);
    const float sj = mx > 0.0f ? mx / 127.0f : 1.0f;
    w.kscale[j] = sj;
    const __m512 sv = _mm512_set1_ps(sj);
    std::int8_t* qrow = w.row.data();
    __m512i sum = _mm512_setzero_si512();
    for (std::size_t d = 0; d < dh; d += 16) {
      const __m128i b = quantize_operand_16(_mm512_maskz_loadu_ps(tail(dh - d), col + d), sv);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qrow + d), _mm_maskz_mov_epi8(tail(dh - d), b));
      sum = _mm512_add_epi32(sum, _mm512_cvtepi8_epi32(_mm_maskz_mov_epi8(tail(dh - d), b)));
    }
    w.ksum[j] = _mm512_reduce_add_epi32(sum);
    for (std::size_t d = dh; d < 4 * kgroups; ++d) qrow[d] = 0;
    for (std::size_t c = 0; c < kgroups; ++c) std::memcpy(w.kpacked.data() + (c * npad + j) * 4, qrow + 4 * c, 4);
  }
  // v into its packed form: per feature d the scale of its n values; four token rows' int8 values of 16
  // features become 16 lanes of 4 bytes (token 4g + t in byte t), the 64 bytes at (g * dpad + d) * 4.
  for (std::size_t d = 0; d < dpad; d += 16) {
    const __mmask16 km = tail(dh > d ? dh - d : 0);
    __m512 m = _mm512_setzero_ps();
    for (std::size_t j = 0; j < n; ++j) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(km, v + j * ld + d)));
    _mm512_storeu_ps(w.column_max.data() + d, m);
  }
  for (std::size_t d = 0; d < dh; ++d) w.vscale[d] = w.column_max[d] > 0.0f ? w.column_max[d] / 127.0f : 1.0f;
  const __m512i low_byte = _mm512_set1_epi32(0xff);
  for (std::size_t d = 0; d < dpad; d += 16) {
    const __mmask16 km = tail(dh > d ? dh - d : 0);
    const __m512 sv = _mm512_loadu_ps(w.vscale.data() + d);
    __m512i sums = _mm512_setzero_si512();
    for (std::size_t g = 0; g < vgroups; ++g) {
      __m512i word = _mm512_setzero_si512();
      for (std::size_t t = 0; t < 4 && 4 * g + t < n; ++t) {
        const __m512i qi = _mm512_cvtepi8_epi32(quantize_operand_16(_mm512_maskz_loadu_ps(km, v + (4 * g + t) * ld + d), sv));
        sums = _mm512_add_epi32(sums, qi);
        word = _mm512_or_si512(word, _mm512_slli_epi32(_mm512_and_si512(qi, low_byte), static_cast<unsigned>(8 * t)));
      }
      _mm512_storeu_si512(w.vpacked.data() + (g * dpad + d) * 4, word);
    }
    _mm512_storeu_si512(w.vsum.data() + d, sums);
  }
  const __m512 sm_scale = _mm512_set1_ps(scale);
  const __m512i bias = _mm512_set1_epi32(128);
  std::int8_t* row = w.row.data();
  std::uint8_t* urow = w.urow.data();
  float* s = w.scores.data();
  // Every query row quantized first: the rows' parameters (double divisions) then overlap in the CPU.
  const std::size_t ustride = attention_round_up(dh, 64);
  w.uq.resize(n * ustride);
  w.rq.resize(n);
  for (std::size_t i = 0; i < n; ++i) w.rq[i] = attention_row(q + i * ld, dh, row, w.uq.data() + i * ustride);
  for (std::size_t i = 0; i < n; ++i) {
    // q k^T: row i of q against every key token, 64 at a time.
    const qsparse::hybrid_row_quantization rq = w.rq[i];
    const std::uint8_t* uqi = w.uq.data() + i * ustride;
    const __m512i qcorr = _mm512_add_epi32(bias, _mm512_set1_epi32(rq.zero_point));
    const __m512 qs = _mm512_set1_ps(rq.scale);
    __m512 mx = _mm512_setzero_ps();
    for (std::size_t j0 = 0; j0 < n; j0 += 64) {
      __m512i acc0 = _mm512_setzero_si512(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
      const std::int8_t* kp = w.kpacked.data() + j0 * 4;
      for (std::size_t c = 0; c < kgroups; ++c, kp += npad * 4) {
        std::int32_t word;
        std::memcpy(&word, uqi + 4 * c, 4);
        const __m512i u = _mm512_set1_epi32(word);
        acc0 = _mm512_dpbusd_epi32(acc0, u, _mm512_loadu_si512(kp));
        acc1 = _mm512_dpbusd_epi32(acc1, u, _mm512_loadu_si512(kp + 64));
        acc2 = _mm512_dpbusd_epi32(acc2, u, _mm512_loadu_si512(kp + 128));
        acc3 = _mm512_dpbusd_epi32(acc3, u, _mm512_loadu_si512(kp + 192));
      }
      const __m512i acc[4] = {acc0, acc1, acc2, acc3};
      for (std::size_t b = 0; b < 4; ++b) {
        const std::size_t j = j0 + 16 * b;
        if (j >= n) break;
        // The score, then softmax_row's first pass on it: scaled, stored, the running maximum (which
        // starts from the first scaled score, as softmax_row's does).
        __m512 score = attention_output16(acc[b], qcorr, w.ksum.data() + j, qs, w.kscale.data() + j);
        QSPARSE_KEEP_ROUNDED(score);
        const __m512 scaled = qsparse::kernels::avx512::softmax_scaled16(score, sm_scale);
        const __mmask16 m = tail(n - j);
        _mm512_mask_storeu_ps(s + j, m, scaled);
        if (j == 0) mx = _mm512_broadcastss_ps(_mm512_castps512_ps128(scaled));
        mx = _mm512_mask_max_ps(mx, m, scaled, mx);
      }
    }
    // The rest of qsparse::softmax_row and the probabilities' quantization (attention_row's values) in two passes.
    qsparse::hybrid_row_quantization rp{};
    if (!attention_probabilities(s, n, _mm512_reduce_max_ps(mx), rp, urow)) {
      rp = attention_row(s, n, row, urow);  // a non-finite probability: quantize_row_dynamic's error
    }
    // p v: the probabilities' int8 row against v, 32 features at a time (two chains per 16 features).
    const __m512i pcorr = _mm512_add_epi32(bias, _mm512_set1_epi32(rp.zero_point));
    const __m512 ps = _mm512_set1_ps(rp.scale);
    for (std::size_t d0 = 0; d0 < dh; d0 += 32) {
      __m512i a0 = _mm512_setzero_si512(), a1 = a0, b0 = a0, b1 = a0;
      const std::int8_t* vp = w.vpacked.data() + d0 * 4;
      std::size_t g = 0;
      for (; g + 2 <= vgroups; g += 2, vp += 2 * dpad * 4) {
        std::int32_t w0, w1;
        std::memcpy(&w0, urow + 4 * g, 4);
        std::memcpy(&w1, urow + 4 * g + 4, 4);
        const __m512i u0 = _mm512_set1_epi32(w0), u1 = _mm512_set1_epi32(w1);
        a0 = _mm512_dpbusd_epi32(a0, u0, _mm512_loadu_si512(vp));
        a1 = _mm512_dpbusd_epi32(a1, u0, _mm512_loadu_si512(vp + 64));
        b0 = _mm512_dpbusd_epi32(b0, u1, _mm512_loadu_si512(vp + dpad * 4));
        b1 = _mm512_dpbusd_epi32(b1, u1, _mm512_loadu_si512(vp + dpad * 4 + 64));
      }
      if (g < vgroups) {
        std::int32_t w0;
        std::memcpy(&w0, urow + 4 * g, 4);
        const __m512i u0 = _mm512_set1_epi32(w0);
        a0 = _mm512_dpbusd_epi32(a0, u0, _mm512_loadu_si512(vp));
        a1 = _mm512_dpbusd_epi32(a1, u0, _mm512_loadu_si512(vp + 64));
      }
      const __m512i acc[2] = {_mm512_add_epi32(a0, b0), _mm512_add_epi32(a1, b1)};
      for (std::size_t b = 0; b < 2; ++b) {
        const std::size_t d = d0 + 16 * b;
        if (d >= dh) break;
        _mm512_mask_storeu_ps(out + i * out_ld + d, tail(dh - d),
                              attention_output16(acc[b], pcorr, w.vsum.data() + d, ps, w.vscale.data() + d));
      }
    }
  }
}
QSPARSE_SIMD_DIAGNOSTICS_END
#endif

/// Whether attention_head_int8 has a fused kernel for `isa` (else the caller keeps the two hybrid_gemm calls).
inline bool has_fused_attention(qsparse::isa_level isa) {
#if QSPARSE_X86
  return qsparse::isa_runs(isa, qsparse::isa_level::avx512_vnni);
#else
  static_cast<void>(isa);
  return false;
#endif
}

/// One head of the int8 attention (the definition at the top of this header) on `isa`'s fused kernel
/// (has_fused_attention(isa)) or in the reference's plain loops. n >= 1, dh >= 1.
inline void attention_head_int8(qsparse::isa_level isa, const float* q, const float* k, const float* v, std::size_t ld,
                                std::size_t n, std::size_t dh, float scale, float* out, std::size_t out_ld,
                                attention_head_scratch& w) {
#if QSPARSE_X86
  if (qsparse::isa_runs(isa, qsparse::isa_level::avx512_vnni)) {
    attention_head_avx512_vnni(q, k, v, ld, n, dh, scale, out, out_ld, w);
    return;
  }
#endif
  static_cast<void>(isa);
  static_cast<void>(w);
  attention_head_reference(q, k, v, ld, n, dh, scale, out, out_ld);
}

}  // namespace minilm::detail
