// qsparse/conv/conv2d.hpp — int8 2-D convolution on NHWC activations and OHWI weights, on the GEMM engine.
//
//   auto packed = qsparse::pack_conv2d_weights(filter_ohwi, w_zero_point, groups);   // once per layer
//   qsparse::conv2d(ctx, qsparse::quantized(input_nhwc, in_zp), packed, output_nhwc, params, pipeline);
//
// computes, bit for bit as reference_conv2d (qsparse/conv/reference.hpp, TFLite's ConvPerChannel):
//   out[b][y][x][o] = evaluate(pipeline, Σ_{ky,kx,c} (in[b][iy][ix][g*Cg + c] - in_zp) * (w[o][ky][kx][c] - w_zp),
//                              m = (b*OH + y)*OW + x, o)
// with iy = y*stride_h - pad_top + ky*dilation_h (same for x), taps outside the image skipped (padding
// behaves as the input zero point), g = o / (C_out / groups), Cg = C_in / groups.
//   * input: [N][H][W][C_in] int8 (in_zp in [-128, 127]) or uint8 (in_zp in [0, 255]), dense NHWC;
//   * filter: [C_out][kh][kw][C_in / groups] int8 with one zero point (per-channel scales are a
//     per-channel requantization stage of the pipeline, as in TFLite: weights symmetric, w_zp = 0);
//   * output: [N][OH][OW][C_out] of the pipeline's output type, dense NHWC; OH, OW from
//     conv_output_geometry (qsparse/spec/conv_params.hpp); the pipeline's per-channel arrays are indexed
//     by output channel o.
//
// How it maps onto the GEMM (docs/conv.md): each group is one GEMM with K = kh*kw*Cg, N = C_out/groups,
// weights packed once as the K×N matrix w[g*N + n][ky][kx][c] at k = (ky*kw + kx)*Cg + c. A 1×1, stride-1,
// unpadded convolution is a GEMM on the input itself (rows = pixels, row stride C_in), no copy. On
// AVX-512 VNNI, a 3-channel stem runs a direct kernel and a deeper ungrouped, symmetric filter whose
// kernel rows are whole 4-byte groups (kw*C_in % 4 == 0, dilation_w 1) runs the GEMM on rows gathered
// from a zero-point padded copy of the input band (each pixel's kernel row is one contiguous run there).
// Any other shape copies the im2col rows of a chunk of output pixels (zero-point padded, ~96 KiB so it
// stays in L2) into a per-thread scratch and runs the GEMM kernel on the chunk. Tasks are (chunk × group)
// or bands of output rows; they write disjoint outputs, so every thread count gives the same bits.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/scalar_epilogue.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "qsparse/kernels/avx512/copy_flip.hpp"
#include "qsparse/kernels/avx512vnni/gemm_u8s8_s32_4x32c4.hpp"
#include "qsparse/kernels/avx512vnni/gemm_u8s8_s32_8x32c4.hpp"
#include "qsparse/spec/conv_params.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

/// OHWI convolution weights packed once for the GEMM kernels of one ISA: one packed K×N matrix per group.
class packed_conv2d_weights {
 public:
  packed_conv2d_weights() = default;

  /// Packs filter [C_out][kh][kw][C_in/groups] (any layout) with zero point w_zero_point for `isa`.
  template <class W, class L, class Acc>
  packed_conv2d_weights(const tensor_view<W, 4, L, Acc>& filter, std::int32_t weight_zero_point, index_t groups,
                        isa_level isa) {
    static_assert(std::is_same_v<std::remove_const_t<W>, std::int8_t>,
                  "qsparse::pack_conv2d_weights: the filter must be a 4-D OHWI view of std::int8_t.");
    const char* fn = "qsparse::pack_conv2d_weights";
    c_out_ = filter.extent(0);
    k_h_ = filter.extent(1);
    k_w_ = filter.extent(2);
    c_in_group_ = filter.extent(3);
    detail::check(c_out_ >= 1 && k_h_ >= 1 && k_w_ >= 1 && c_in_group_ >= 1, fn,
                  ": the filter must be C_out x kh x kw x C_in/groups with every extent >= 1, got ", c_out_, " x ", k_h_,
                  " x ", k_w_, " x ", c_in_group_);
    detail::check(groups >= 1, fn, ": groups must be >= 1, got groups = ", groups);
    detail::check(c_out_ % groups == 0, fn, ": C_out = ", c_out_, " is not divisible by groups = ", groups);
    detail::check(weight_zero_point >= -128 && weight_zero_point <= 127, fn,
                  ": weight_zero_point must be in [-128, 127], got weight_zero_point = ", weight_zero_point);
    groups_ = groups;
    const index_t k = k_h_ * k_w_ * c_in_group_;
    const index_t n = c_out_ / groups;
    std::vector<std::int8_t> dense(static_cast<std::size_t>(n * k));
    packed_.reserve(static_cast<std::size_t>(groups));
    for (index_t g = 0; g < groups; ++g) {
      // Group g's N rows of the filter, dense [n][k]; the K×N matrix is its column-major view.
      for (index_t o = 0; o < n; ++o)
        for (index_t ky = 0; ky < k_h_; ++ky)
          for (index_t kx = 0; kx < k_w_; ++kx)
            for (index_t c = 0; c < c_in_group_; ++c)
              dense[static_cast<std::size_t>(o * k + (ky * k_w_ + kx) * c_in_group_ + c)] =
                  filter(g * n + o, ky, kx, c);
      packed_.push_back(pack_weights(make_strided_view(static_cast<const std::int8_t*>(dense.data()), {k, n}, {1, k}),
                                     weight_zero_point, isa));
    }
    pack_direct(filter, weight_zero_point, isa);
  }

  index_t output_channels() const noexcept { return c_out_; }
  index_t kernel_h() const noexcept { return k_h_; }
  index_t kernel_w() const noexcept { return k_w_; }
  /// Input channels each output channel reads (C_in / groups).
  index_t input_channels_per_group() const noexcept { return c_in_group_; }
  index_t groups() const noexcept { return groups_; }
  bool empty() const noexcept { return packed_.empty(); }
  isa_level isa() const noexcept { return packed_.empty() ? isa_level::scalar : packed_.front().view().isa(); }
  std::int32_t weight_zero_point() const noexcept { return packed_.empty() ? 0 : packed_.front().view().weight_zero_point(); }
  /// The packed K×N weights of group g.
  const packed_weights_view& group(index_t g) const noexcept { return packed_[static_cast<std::size_t>(g)].view(); }

  /// Whether the weights are also packed for the direct shallow kernel (gemm_u8s8_s32_4x32c4 reading the
  /// input rows in place): AVX-512 VNNI, one group, symmetric weights, kh <= 3 and kw*C_in <= 12 (a
  /// 3-channel 3x3 stem). conv2d takes that path when dilation_w is 1 and (kh - 1) * dilation_h < 4096.
  bool has_direct() const noexcept { return direct_row_groups_ > 0; }
  /// 4-byte groups per kernel row in the direct layout: ceil(kw*C_in / 4).
  index_t direct_row_groups() const noexcept { return direct_row_groups_; }
  /// The direct layout: the K'×N matrix with K' = kh * 4*direct_row_groups(), kernel row ky at
  /// k' = 4*direct_row_groups()*ky + kx*C_in + c, zeros after each row's kw*C_in taps.
  const packed_weights_view& direct() const noexcept { return direct_.view(); }

  /// Largest kernel height and 4-byte groups per kernel row of the direct layout.
  static constexpr index_t direct_max_rows = 3;
  static constexpr index_t direct_max_row_groups = 3;

 private:
  template <class W, class L, class Acc>
  void pack_direct(const tensor_view<W, 4, L, Acc>& filter, std::int32_t weight_zero_point, isa_level isa) {
    const index_t row = k_w_ * c_in_group_;
    const index_t row_groups = (row + 3) / 4;
    if (!isa_runs(isa, isa_level::avx512_vnni) || groups_ != 1 || weight_zero_point != 0 || k_h_ > direct_max_rows ||
        row_groups > direct_max_row_groups)
      return;
    const index_t pitch = 4 * row_groups;
    const index_t k = k_h_ * pitch;
    std::vector<std::int8_t> dense(static_cast<std::size_t>(c_out_ * k), 0);
    for (index_t o = 0; o < c_out_; ++o)
      for (index_t ky = 0; ky < k_h_; ++ky)
        for (index_t kx = 0; kx < k_w_; ++kx)
          for (index_t c = 0; c < c_in_group_; ++c)
            dense[static_cast<std::size_t>(o * k + ky * pitch + kx * c_in_group_ + c)] = filter(o, ky, kx, c);
    direct_ = pack_weights(make_strided_view(static_cast<const std::int8_t*>(dense.data()), {k, c_out_}, {1, k}), 0, isa);
    direct_row_groups_ = row_groups;
  }

  index_t c_out_ = 0, k_h_ = 0, k_w_ = 0, c_in_group_ = 0, groups_ = 0;
  std::vector<packed_weights> packed_;
  packed_weights direct_;
  index_t direct_row_groups_ = 0;
};

/// Packs an OHWI filter for conv2d (default: the best ISA this CPU runs).
template <class W, class L, class Acc>
packed_conv2d_weights pack_conv2d_weights(const tensor_view<W, 4, L, Acc>& filter, std::int32_t weight_zero_point = 0,
                                          index_t groups = 1, isa_level isa = best_isa()) {
  return packed_conv2d_weights(filter, weight_zero_point, groups, isa);
}

namespace detail {

/// Whether conv2d gathers the GEMM rows from a padded copy of the input instead of writing im2col rows:
/// VNNI weights of an ungrouped, symmetric filter with K = kh*kw*C_in > 32, kw*C_in a multiple of 4 and
/// dilation_w == 1 (a kernel row's taps are then one contiguous run of whole 4-byte groups), not the
/// direct shallow layout, not the copy-free 1x1 case.
/// Whether the paths that copy the input rows an output row reads (direct shallow, gather) may run: the
/// rows one output row reads, (kh - 1) * dilation_h + 1, must stay below 4096, so that their scratch
/// grows with the image, not with a hostile dilation (the im2col path, whose scratch does not depend on
/// the dilation, takes the others).
inline bool conv_copy_rows_eligible(const packed_conv2d_weights& weights, const conv2d_params& params) {
  return params.dilation_w == 1 && params.dilation_h < 4096 && (weights.kernel_h() - 1) * params.dilation_h < 4096;
}

inline bool conv_gather_eligible(const packed_conv2d_weights& weights, const conv2d_params& params) {
  if (weights.empty() || weights.has_direct() || weights.groups() != 1 || weights.weight_zero_point() != 0 ||
      weights.group(0).layout() != packed_layout::s8_c4_nr32 || !isa_runs(weights.group(0).isa(), isa_level::avx512_vnni) ||
      !conv_copy_rows_eligible(weights, params))
    return false;  // (the avx_vnni rung reads s8_c4_nr32 too, but through the GEMM's 256-bit kernel)
  const index_t row = weights.kernel_w() * weights.input_channels_per_group();
  if (row % 4 != 0 || weights.kernel_h() * row <= 32) return false;
  // conv2d's copy-free 1x1 case: stride 1 and no padding (VALID, SAME or zero explicit pads).
  const padding& pad = params.pad;
  const bool one_by_one = weights.kernel_h() == 1 && weights.kernel_w() == 1 && params.stride_h == 1 &&
                          params.stride_w == 1 &&
                          (pad.kind != padding_kind::explicit_pads ||
                           (pad.top == 0 && pad.bottom == 0 && pad.left == 0 && pad.right == 0));
  return !one_by_one;
}

}  // namespace detail

/// The kernel conv2d runs for these weights and params: the direct shallow kernel (packed_conv2d_weights::
/// has_direct(), dilation_w == 1), the gathering GEMM kernel (detail::conv_gather_eligible: deep VNNI
/// filters), or the GEMM's kernel for one group's packed weights behind im2col or the direct 1×1 path
/// (selected_kernel_name(packed_weights_view): the shallow kernel for symmetric VNNI weights with
/// K = kh*kw*C_in/groups <= 32).
inline const char* selected_kernel_name(const packed_conv2d_weights& weights, const conv2d_params& params) {
#if QSPARSE_X86
  if (!weights.empty() && weights.has_direct() && detail::conv_copy_rows_eligible(weights, params))
    return kernels::avx512_vnni::gemm_u8s8_s32_4x32c4::direct_name();
  if (detail::conv_gather_eligible(weights, params)) return kernels::avx512_vnni::gemm_u8s8_s32_8x32c4::gather_name();
#else
  (void)params;
#endif
  return weights.empty() ? selected_kernel_name(weights.isa()) : selected_kernel_name(weights.group(0));
}

/// As above for undilated params (dilation 1).
inline const char* selected_kernel_name(const packed_conv2d_weights& weights) {
  return selected_kernel_name(weights, conv2d_params{});
}

namespace detail {

struct im2col_scratch_tag {};

/// A per-thread scratch of at least `count` elements of T, one buffer per (T, Tag) (grows, never shrinks).
template <class T, class Tag>
inline T* conv_scratch(std::size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

/// Checks that a 4-D view is dense NHWC (channels contiguous, then width, height, batch).
template <class V>
void check_dense_nhwc(const V& v, const char* fn, const char* what) {
  const index_t c = v.extent(3), w = v.extent(2), h = v.extent(1);
  const bool dense = (v.stride(3) == 1 || c == 1) && (v.stride(2) == c || w == 1) && (v.stride(1) == c * w || h == 1) &&
                     (v.stride(0) == c * w * h || v.extent(0) == 1);
  check(dense, fn, ": ", what, " must be dense NHWC (strides C*W*H, C*W, C, 1), got strides ", v.stride(0), ", ",
        v.stride(1), ", ", v.stride(2), ", ", v.stride(3));
}

/// Validates conv2d's operands (`weights`: packed_conv2d_weights or packed_sparse_conv2d_weights) and
/// returns the output geometry; throws qsparse::error. One list of checks for the dense and sparse conv2d.
template <class A, class LA, class AA, class Weights, class D, class LD, class AD>
conv_geometry check_conv2d_operands(const char* fn, const quantized_operand<tensor_view<A, 4, LA, AA>>& input,
                                    const Weights& weights, const tensor_view<D, 4, LD, AD>& output,
                                    const conv2d_params& params) {
  using a_t = std::remove_const_t<A>;
  const auto& in = input.view;
  check(!weights.empty(), fn, ": the packed weights are empty");
  const index_t batch = in.extent(0), in_h = in.extent(1), in_w = in.extent(2), c_in = in.extent(3);
  const index_t groups = weights.groups();
  const index_t c_group = weights.input_channels_per_group();
  const index_t c_out = weights.output_channels();
  const index_t k_h = weights.kernel_h(), k_w = weights.kernel_w();
  check(c_in == c_group * groups, fn, ": input has C_in = ", c_in,
        " channels but the weights expect groups * C_in/groups = ", groups, " * ", c_group, " = ", groups * c_group);
  check(batch >= 1, fn, ": batch must be >= 1, got batch = ", batch);
  const conv_geometry g = conv_output_geometry(params, in_h, in_w, k_h, k_w, fn);
  check(output.extent(0) == batch && output.extent(1) == g.out_h && output.extent(2) == g.out_w &&
            output.extent(3) == c_out,
        fn, ": output is ", output.extent(0), " x ", output.extent(1), " x ", output.extent(2), " x ",
        output.extent(3), ", expected N x OH x OW x C_out = ", batch, " x ", g.out_h, " x ", g.out_w, " x ", c_out);
  check_dense_nhwc(in, fn, "input");
  check_dense_nhwc(output, fn, "output");
  check_no_overlap(fn, "output", output, "input", in);
  constexpr std::int32_t lo = std::numeric_limits<a_t>::min();
  constexpr std::int32_t hi = std::numeric_limits<a_t>::max();
  check(input.zero_point >= lo && input.zero_point <= hi, fn, ": input zero point must be in [", lo, ", ", hi,
        "], got ", input.zero_point);
  const index_t k = k_h * k_w * c_group;
  const std::int64_t bound = static_cast<std::int64_t>(k) * max_distance<a_t>(input.zero_point) *
                             max_distance<std::int8_t>(weights.weight_zero_point());
  check(bound <= std::numeric_limits<std::int32_t>::max(), fn, ": kh * kw * C_in/groups = ", k,
        " is too deep for an exact int32 accumulator with these zero points");
  return g;
}

/// dst[0, n) = src[0, n), as uint8 with the sign bit flipped (x + 128) when Flip. Short runs (the
/// 3-channel stem copies 9 bytes per kernel row) use two overlapping fixed-size moves instead of a call
/// (GCC turns a byte loop back into memcpy); long flipped runs use 64-byte AVX-512 steps (Flip is only
/// asked for on CPUs with AVX-512 VNNI).
template <bool Flip, class D, class S>
inline void copy_run(D* dst, const S* src, index_t n) {
  static_assert(sizeof(D) == 1 && sizeof(S) == 1, "im2col copies bytes");
  const auto move = [&](auto word, index_t at) {
    std::memcpy(&word, src + at, sizeof word);
    if constexpr (Flip) {
      using word_t = decltype(word);
      if constexpr (std::is_integral_v<word_t>) {
        word ^= static_cast<word_t>(0x8080808080808080ull);
      } else {
        for (auto& part : word) part ^= 0x8080808080808080ull;
      }
    }
    std::memcpy(dst + at, &word, sizeof word);
  };
  if (n >= 32) {
#if QSPARSE_X86
    if constexpr (Flip) {
      kernels::avx512::copy_flip_s8_u8(reinterpret_cast<std::uint8_t*>(dst), reinterpret_cast<const std::int8_t*>(src), n);
      return;
    }
#endif
    std::memcpy(dst, src, static_cast<std::size_t>(n));
  } else if (n >= 16) {
    move(std::array<std::uint64_t, 2>{}, 0);
    move(std::array<std::uint64_t, 2>{}, n - 16);
  } else if (n >= 8) {
    move(std::uint64_t{}, 0);
    move(std::uint64_t{}, n - 8);
  } else if (n >= 4) {
    move(std::uint32_t{}, 0);
    move(std::uint32_t{}, n - 4);
  } else {
    for (index_t i = 0; i < n; ++i) dst[i] = static_cast<D>(static_cast<unsigned char>(src[i]) ^ (Flip ? 0x80u : 0u));
  }
}

template <class A>
inline void fill_run(A* dst, A value, index_t n) {
  std::memset(dst, static_cast<unsigned char>(value), static_cast<std::size_t>(n));
}

/// Writes the im2col rows of output pixels [m_begin, m_end) for group `group` into rows (row stride k),
/// flipped to uint8 when Flip (pad_value is then already flipped).
/// Walks runs of pixels along an output row, one kernel row at a time: the input row pointer is computed
/// once per run, and interior pixels copy their kw adjacent taps as one run.
template <bool Flip = false, class A, class D>
void im2col_rows(const A* in, index_t in_h, index_t in_w, index_t c_in, index_t c_group, index_t group,
                 const conv2d_params& p, const conv_geometry& g, index_t k_h, index_t k_w, D pad_value,
                 index_t m_begin, index_t m_end, D* rows, index_t k) {
  const index_t pixels = g.out_h * g.out_w;
  const bool contiguous_taps = p.dilation_w == 1 && c_group == c_in;  // kw taps of a row are adjacent in memory
  const index_t tap_row = k_w * c_group;
  const index_t x_step = p.stride_w * c_in;
  index_t b = m_begin / pixels;
  index_t y = (m_begin % pixels) / g.out_w;
  index_t x = m_begin % g.out_w;
  index_t m = m_begin;
  while (m < m_end) {
    const index_t x_end = std::min(g.out_w, x + (m_end - m));
    for (index_t ky = 0; ky < k_h; ++ky) {
      const index_t iy = y * p.stride_h - g.pad_top + ky * p.dilation_h;
      D* dst = rows + (m - m_begin) * k + ky * tap_row;
      if (iy < 0 || iy >= in_h) {
        for (index_t xx = x; xx < x_end; ++xx, dst += k) fill_run(dst, pad_value, tap_row);
        continue;
      }
      const A* row = in + ((b * in_h + iy) * in_w) * c_in + group * c_group;
      // Short tap rows (a 3-channel stem: 9 bytes) are moved as one 16-byte word (sign bits flipped when
      // Flip) when the word stays in this image and in this im2col row; the bytes past tap_row land where
      // the next ky's run (written later) or the row's padding goes.
      const bool short_run = contiguous_taps && tap_row <= 16 && ky * tap_row + 16 <= k;
      const index_t image_left = (in_h - iy) * in_w * c_in - group * c_group;  // bytes from `row` to the image's end
      index_t x0 = x * p.stride_w - g.pad_left;
      index_t offset = x0 * c_in;  // of the first tap; negative left of the image (no pointer formed then)
      for (index_t xx = x; xx < x_end; ++xx, dst += k, x0 += p.stride_w, offset += x_step) {
        if (contiguous_taps && x0 >= 0 && x0 + k_w <= in_w) {
          if (short_run && offset + 16 <= image_left) {
            if constexpr (Flip) {
              std::uint64_t word[2];
              std::memcpy(word, row + offset, 16);
              word[0] ^= 0x8080808080808080ull;
              word[1] ^= 0x8080808080808080ull;
              std::memcpy(dst, word, 16);
            } else {
              std::memcpy(dst, row + offset, 16);
            }
          } else {
            copy_run<Flip>(dst, row + offset, tap_row);
          }
          continue;
        }
        for (index_t kx = 0; kx < k_w; ++kx) {
          const index_t ix = x0 + kx * p.dilation_w;
          if (ix < 0 || ix >= in_w) {
            fill_run(dst + kx * c_group, pad_value, c_group);
          } else {
            copy_run<Flip>(dst + kx * c_group, row + ix * c_in, c_group);
          }
        }
      }
    }
    m += x_end - x;
    x = x_end;
    if (x == g.out_w) {
      x = 0;
      if (++y == g.out_h) {
        y = 0;
        ++b;
      }
    }
  }
}

#if QSPARSE_X86
/// How the gathering paths cut an image's output rows into bands: `band` output rows per task (input rows
/// of at most ~64 KiB, L2-resident next to the weights, and at least two bands per thread when the image
/// allows it), `bands` per image, and `max_rows`, the input rows of the largest band.
struct band_plan {
  index_t span, band, bands, max_rows;
};
inline band_plan plan_bands(const context& ctx, const conv_geometry& g, const conv2d_params& p, index_t k_h,
                            index_t pitch) {
  const index_t span = (k_h - 1) * p.dilation_h + 1;
  index_t band = g.out_h;
  while (band > 1 && ((band - 1) * p.stride_h + span) * pitch > 64 * 1024) --band;
  const index_t min_bands = std::min<index_t>(g.out_h, ctx.concurrency() > 1 ? 2 * ctx.concurrency() : 1);
  band = std::min(band, (g.out_h + min_bands - 1) / min_bands);
  return {span, band, (g.out_h + band - 1) / band, (band - 1) * p.stride_h + span};
}

struct direct_band_scratch_tag {};

/// Input rows iy0 .. iy0 + rows - 1 of one image (`bytes` per row) as unsigned bytes (int8 + 128) into
/// dst (row stride pitch), each row after `left` bytes of the zero point u_zp and followed by it up to the
/// pitch; rows outside [0, in_h) all u_zp.
template <class A>
void copy_band_rows(const A* image, index_t in_h, index_t bytes, index_t left, index_t iy0, index_t rows,
                    std::uint8_t u_zp, std::uint8_t* dst, index_t pitch) {
  for (index_t i = 0; i < rows; ++i, dst += pitch) {
    const index_t iy = iy0 + i;
    if (iy < 0 || iy >= in_h) {
      std::memset(dst, u_zp, static_cast<std::size_t>(pitch));
      continue;
    }
    const A* src = image + iy * bytes;
    std::memset(dst, u_zp, static_cast<std::size_t>(left));
    if constexpr (std::is_same_v<A, std::int8_t>) {
      kernels::avx512::copy_flip_s8_u8(dst + left, src, bytes);
    } else {
      std::memcpy(dst + left, src, static_cast<std::size_t>(bytes));
    }
    std::memset(dst + left + bytes, u_zp, static_cast<std::size_t>(pitch - left - bytes));
  }
}

/// conv2d through the direct shallow kernel (packed_conv2d_weights::has_direct(), dilation_w == 1, checked
/// inputs). Tasks are bands of output rows of one image; a task copies the input rows its band reads into
/// a per-thread scratch as unsigned bytes (int8 + 128), each row padded with the zero point on the left
/// (pad_left pixels) and on the right (to the pitch), rows outside the image all zero point, so the
/// kernel reads every tap in place, the padding included.
template <class A, class Out, class... S>
void conv2d_direct_shallow(const context& ctx, const A* in, index_t batch, index_t in_h, index_t in_w, index_t c_in,
                           std::int32_t in_zp, const packed_conv2d_weights& weights, const conv2d_params& p,
                           const conv_geometry& g, Out* out, const output_pipeline<S...>& pipeline) {
  using kernel = kernels::avx512_vnni::gemm_u8s8_s32_4x32c4;
  constexpr bool flip = std::is_same_v<A, std::int8_t>;
  const auto u_zp = static_cast<std::uint8_t>(flip ? in_zp + 128 : in_zp);
  const index_t k_h = weights.kernel_h(), row_groups = weights.direct_row_groups(), c_out = weights.output_channels();
  const index_t row_step = p.stride_w * c_in;
  // Bytes a line needs: the image with its left padding, and the last pixel's groups.
  const index_t used = std::max((g.pad_left + in_w) * c_in, (g.out_w - 1) * row_step + 4 * row_groups);
  const index_t pitch = (used + 15) / 16 * 16;
  // Bands of about 1024 output pixels whose input rows fit 64 KiB.
  const index_t span = (k_h - 1) * p.dilation_h + 1;  // input rows one output row reads
  index_t band = std::max<index_t>(1, std::min<index_t>(g.out_h, (1024 + g.out_w - 1) / g.out_w));
  while (band > 1 && ((band - 1) * p.stride_h + span) * pitch > 64 * 1024) --band;
  const index_t bands = (g.out_h + band - 1) / band;
  const index_t tasks = batch * bands;
  const index_t max_rows = (band - 1) * p.stride_h + span;
  auto task = [&](std::ptrdiff_t t) {
    const index_t b = t / bands;
    const index_t y0 = (t % bands) * band;
    const index_t y1 = std::min(g.out_h, y0 + band);
    const index_t iy0 = y0 * p.stride_h - g.pad_top;
    const index_t rows = (y1 - 1 - y0) * p.stride_h + span;
    std::uint8_t* scratch =
        conv_scratch<std::uint8_t, direct_band_scratch_tag>(static_cast<std::size_t>(max_rows * pitch));
    copy_band_rows(in + b * in_h * in_w * c_in, in_h, in_w * c_in, g.pad_left * c_in, iy0, rows, u_zp, scratch, pitch);
    const index_t m0 = (b * g.out_h + y0) * g.out_w;
    const kernels::shallow_gemm_args<Out> args{scratch, row_step, p.dilation_h * pitch, g.out_w, y1 - y0,
                                               p.stride_h * pitch, u_zp, weights.direct(), c_out, m0,
                                               out + m0 * c_out, c_out};
    kernel::run_direct(args, static_cast<int>(k_h), static_cast<int>(row_groups), pipeline);
  };
  ctx.run_tasks(tasks, task);
}

struct gather_rows_scratch_tag {};

/// conv2d through the gathering GEMM kernel (conv_gather_eligible, checked inputs): tasks are bands of
/// output rows of one image; a task copies the input rows its band reads, zero-point padded as in
/// conv2d_direct_shallow, points each output pixel at its first tap in that copy and runs the GEMM on
/// those rows, kernel row ky of a pixel dilation_h input rows below the previous one.
template <class A, class Out, class... S>
void conv2d_gather(const context& ctx, const A* in, index_t batch, index_t in_h, index_t in_w, index_t c_in,
                   std::int32_t in_zp, const packed_conv2d_weights& weights, const conv2d_params& p,
                   const conv_geometry& g, Out* out, const output_pipeline<S...>& pipeline) {
  using kernel = kernels::avx512_vnni::gemm_u8s8_s32_8x32c4;
  constexpr bool flip = std::is_same_v<A, std::int8_t>;
  const auto u_zp = static_cast<std::uint8_t>(flip ? in_zp + 128 : in_zp);
  const index_t k_h = weights.kernel_h(), c_out = weights.output_channels();
  const index_t tap_row = weights.kernel_w() * c_in;  // one kernel row's taps, contiguous
  const index_t pixel_step = p.stride_w * c_in;
  const index_t used = std::max((g.pad_left + in_w) * c_in, (g.out_w - 1) * pixel_step + tap_row);
  const index_t pitch = (used + 63) / 64 * 64;
  const band_plan plan = plan_bands(ctx, g, p, k_h, pitch);
  const index_t span = plan.span, band = plan.band, bands = plan.bands, max_rows = plan.max_rows;
  const index_t tasks = batch * bands;
  auto task = [&](std::ptrdiff_t t) {
    const index_t b = t / bands;
    const index_t y0 = (t % bands) * band;
    const index_t y1 = std::min(g.out_h, y0 + band);
    const index_t rows = (y1 - 1 - y0) * p.stride_h + span;
    std::uint8_t* scratch =
        conv_scratch<std::uint8_t, direct_band_scratch_tag>(static_cast<std::size_t>(max_rows * pitch));
    copy_band_rows(in + b * in_h * in_w * c_in, in_h, in_w * c_in, g.pad_left * c_in, y0 * p.stride_h - g.pad_top,
                   rows, u_zp, scratch, pitch);
    const index_t m = (y1 - y0) * g.out_w;
    const std::uint8_t** starts =
        conv_scratch<const std::uint8_t*, gather_rows_scratch_tag>(static_cast<std::size_t>(band * g.out_w));
    for (index_t y = y0; y < y1; ++y) {
      const std::uint8_t* line = scratch + (y - y0) * p.stride_h * pitch;
      const std::uint8_t** line_starts = starts + (y - y0) * g.out_w;
      for (index_t x = 0; x < g.out_w; ++x) line_starts[x] = line + x * pixel_step;
    }
    const index_t m0 = (b * g.out_h + y0) * g.out_w;
    const kernels::gather_gemm_args<Out> args{starts, m, k_h, p.dilation_h * pitch, tap_row, u_zp,
                                              weights.group(0), out + m0 * c_out, c_out};
    kernel::run_gather(args, pipeline);
  };
  ctx.run_tasks(tasks, task);
}
#endif

}  // namespace detail

/// out = pipeline(conv(in - in_zp, w - w_zp)) in NHWC. See the top of this header.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void conv2d(const context& ctx, const quantized_operand<tensor_view<A, 4, LA, AA>>& input,
            const packed_conv2d_weights& weights, const tensor_view<D, 4, LD, AD>& output, const conv2d_params& params,
            const output_pipeline<S...>& pipeline) {
  static_assert(detail::is_gemm_activation_v<A>,
                "qsparse::conv2d: the input must be a 4-D NHWC view of std::int8_t or std::uint8_t.");
  static_assert(std::is_same_v<typename output_pipeline<S...>::accumulator_type, std::int32_t>,
                "qsparse::conv2d: the int8 convolution accumulates in int32, so its pipeline must start with an int32 "
                "stage.");
  using out_t = typename output_pipeline<S...>::output_type;
  static_assert(std::is_same_v<D, out_t>,
                "qsparse::conv2d: the output pipeline does not produce the output's element type: end the pipeline "
                "with saturating_cast<T> for an int8/uint8/int16 output, dequantize_float for float, or use an int32 "
                "output for the empty pipeline.");
  using a_t = std::remove_const_t<A>;
  const char* fn = "qsparse::conv2d";
  const auto& in = input.view;
  const conv_geometry g = detail::check_conv2d_operands(fn, input, weights, output, params);
  const index_t batch = in.extent(0), in_h = in.extent(1), in_w = in.extent(2), c_in = in.extent(3);
  const index_t groups = weights.groups();
  const index_t c_group = weights.input_channels_per_group();
  const index_t c_out = weights.output_channels();
  const index_t k_h = weights.kernel_h(), k_w = weights.kernel_w();
  const index_t k = k_h * k_w * c_group;
  const index_t n = c_out / groups;
  const isa_level allowed = best_isa();
  detail::check(isa_runs(allowed, weights.isa()), fn, ": the weights were packed for ",
                to_string(weights.isa()), " but this CPU (or the ISA ceiling) allows at most ", to_string(allowed));
  validate(pipeline, c_out, fn);
  if constexpr (detail::pipeline_has_custom_stage_v<output_pipeline<S...>>) {
    // A stage of the caller's own: the kernels write raw accumulators, its scalar definition the output.
    detail::run_with_scalar_epilogue<std::int32_t>(output, pipeline, [&](const auto& raw) {
      conv2d(ctx, input, weights, raw, params, output_pipeline<>{});
    });
  } else {

    const a_t* in_data = &in(0, 0, 0, 0);
    out_t* out_data = &output(0, 0, 0, 0);
    const index_t m_total = batch * g.out_h * g.out_w;
    const bool direct = k_h == 1 && k_w == 1 && params.stride_h == 1 && params.stride_w == 1 && g.pad_top == 0 &&
                        g.pad_left == 0 && g.out_h == in_h && g.out_w == in_w;
    const context serial{};
    if (direct) {
      // The input is already the (N*H*W) × C_in matrix; group g reads its columns [g*Cg, (g+1)*Cg).
      for (index_t grp = 0; grp < groups; ++grp) {
        kernels::gemm_args<a_t, out_t> args{in_data + grp * c_group, c_in, input.zero_point, m_total, k, n,
                                            weights.group(grp), out_data + grp * n, c_out};
        detail::dispatch_gemm(ctx, args, detail::offset_pipeline(pipeline, grp * n));
      }
      return;
    }
    const auto pad_value = static_cast<a_t>(input.zero_point);
  #if QSPARSE_X86
    // A shallow filter packed for the direct kernel: it reads a zero-point padded copy of the input rows.
    if (weights.has_direct() && detail::conv_copy_rows_eligible(weights, params)) {
      detail::conv2d_direct_shallow(ctx, in_data, batch, in_h, in_w, c_in, input.zero_point, weights, params, g, out_data,
                                    pipeline);
      return;
    }
    // A deep VNNI filter whose kernel rows are whole 4-byte groups: the GEMM reads its rows in place.
    if (detail::conv_gather_eligible(weights, params)) {
      detail::conv2d_gather(ctx, in_data, batch, in_h, in_w, c_in, input.zero_point, weights, params, g, out_data,
                            pipeline);
      return;
    }
    // Shallow K (a 3-channel stem): its own VNNI kernel keeps the panel's whole K in registers.
    if constexpr (std::is_same_v<a_t, std::int8_t>) {
      const packed_weights_view& w0 = weights.group(0);
      if (groups == 1 && w0.layout() == packed_layout::s8_c4_nr32 && isa_runs(w0.isa(), isa_level::avx512_vnni) &&
          w0.weight_zero_point() == 0 && w0.k_padded() <= kernels::avx512_vnni::gemm_u8s8_s32_4x32c4::max_k) {
        const index_t kp = w0.k_padded();
        constexpr index_t rows_per_task = 256;
        const index_t shallow_tasks = (m_total + rows_per_task - 1) / rows_per_task;
        auto shallow = [&](std::ptrdiff_t t) {
          const index_t m_begin = t * rows_per_task;
          const index_t m_end = std::min(m_total, m_begin + rows_per_task);
          a_t* rows = detail::conv_scratch<a_t, detail::im2col_scratch_tag>(static_cast<std::size_t>(rows_per_task * kp));
          detail::im2col_rows(in_data, in_h, in_w, c_in, c_group, 0, params, g, k_h, k_w, pad_value, m_begin, m_end, rows, kp);
          const kernels::shallow_gemm_args<out_t> args{rows, kp, 0, m_end - m_begin, 1, 0, input.zero_point + 128, w0, n,
                                                       m_begin, out_data + m_begin * c_out, c_out};
          kernels::avx512_vnni::gemm_u8s8_s32_4x32c4::run_rows(args, pipeline);
        };
        ctx.run_tasks(shallow_tasks, shallow);
        return;
      }
    }
  #endif
    // im2col chunks: ~96 KiB of rows (a multiple of 32 rows), at least 32 rows.
    const index_t chunk = std::max<index_t>(32, (96 * 1024 / k) / 32 * 32);
    const index_t chunks = (m_total + chunk - 1) / chunk;
    const index_t tasks = chunks * groups;
  #if QSPARSE_X86
    // VNNI weights without a zero point: hand the GEMM uint8 rows (x + 128, zero point in_zp + 128: the
    // same reals), which it reads in place instead of copying and flipping them again.
    if constexpr (std::is_same_v<a_t, std::int8_t>) {
      if (weights.group(0).layout() == packed_layout::s8_c4_nr32 && weights.weight_zero_point() == 0) {
        const auto pad_u8 = static_cast<std::uint8_t>(input.zero_point + 128);
        auto flipped = [&](std::ptrdiff_t t) {
          const index_t grp = t % groups;
          const index_t m_begin = (t / groups) * chunk;
          const index_t m_end = std::min(m_total, m_begin + chunk);
          std::uint8_t* rows =
              detail::conv_scratch<std::uint8_t, detail::im2col_scratch_tag>(static_cast<std::size_t>(chunk * k));
          detail::im2col_rows<true>(in_data, in_h, in_w, c_in, c_group, grp, params, g, k_h, k_w, pad_u8, m_begin, m_end,
                                    rows, k);
          kernels::gemm_args<std::uint8_t, out_t> args{rows, k, input.zero_point + 128, m_end - m_begin, k, n,
                                                       weights.group(grp), out_data + m_begin * c_out + grp * n, c_out};
          detail::dispatch_gemm(serial, args, detail::offset_pipeline(pipeline, grp * n));
        };
        ctx.run_tasks(tasks, flipped);
        return;
      }
    }
  #endif
    auto task = [&](std::ptrdiff_t t) {
      const index_t grp = t % groups;
      const index_t m_begin = (t / groups) * chunk;
      const index_t m_end = std::min(m_total, m_begin + chunk);
      // A scratch of its own, so it never aliases the GEMM kernels' per-thread scratch.
      a_t* rows = detail::conv_scratch<a_t, detail::im2col_scratch_tag>(static_cast<std::size_t>(chunk * k));
      detail::im2col_rows(in_data, in_h, in_w, c_in, c_group, grp, params, g, k_h, k_w, pad_value, m_begin, m_end, rows, k);
      kernels::gemm_args<a_t, out_t> args{rows, k, input.zero_point, m_end - m_begin, k, n, weights.group(grp),
                                          out_data + m_begin * c_out + grp * n, c_out};
      detail::dispatch_gemm(serial, args, detail::offset_pipeline(pipeline, grp * n));
    };
    ctx.run_tasks(tasks, task);
  }
}

/// The same with an input whose zero point is 0.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void conv2d(const context& ctx, const tensor_view<A, 4, LA, AA>& input, const packed_conv2d_weights& weights,
            const tensor_view<D, 4, LD, AD>& output, const conv2d_params& params, const output_pipeline<S...>& pipeline) {
  conv2d(ctx, quantized(input, 0), weights, output, params, pipeline);
}

// A view of another rank: these take views of any rank, so a call with a 2-D or 3-D view meets one
// sentence instead of the list of candidates. For 4-D views the overloads above are more specialised and
// always win; these are never chosen for a call that compiles.

/// Rank check of conv2d(ctx, quantized(input, in_zp), packed, output, params, pipeline).
template <class A, std::size_t RA, class LA, class AA, class D, std::size_t RD, class LD, class AD, class... S>
void conv2d(const context&, const quantized_operand<tensor_view<A, RA, LA, AA>>&, const packed_conv2d_weights&,
            const tensor_view<D, RD, LD, AD>&, const conv2d_params&, const output_pipeline<S...>&) {
  static_assert(RA == 4 && RD == 4,
                "qsparse::conv2d: the input and the output must be 4-D NHWC views ([N][H][W][C]; a single image "
                "is N = 1).");
}

/// Rank check of conv2d(ctx, input, packed, output, params, pipeline).
template <class A, std::size_t RA, class LA, class AA, class D, std::size_t RD, class LD, class AD, class... S>
void conv2d(const context&, const tensor_view<A, RA, LA, AA>&, const packed_conv2d_weights&,
            const tensor_view<D, RD, LD, AD>&, const conv2d_params&, const output_pipeline<S...>&) {
  static_assert(RA == 4 && RD == 4,
                "qsparse::conv2d: the input and the output must be 4-D NHWC views ([N][H][W][C]; a single image "
                "is N = 1).");
}

}  // namespace qsparse
