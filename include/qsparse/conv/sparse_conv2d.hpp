// qsparse/conv/sparse_conv2d.hpp — int8 2-D convolution on pruned weights, through the sparse GEMM kernels.
//
//   auto packed = qsparse::pack_sparse_conv2d_weights(filter_ohwi, qsparse::sparse_format::block_4x16);  // once
//   qsparse::conv2d(ctx, qsparse::quantized(input_nhwc, in_zp), packed, output_nhwc, params, pipeline);
//
// computes the same bits as the dense conv2d (qsparse/conv/conv2d.hpp) and reference_conv2d
// (qsparse/conv/reference.hpp) on the same masked filter with weight zero point 0:
//   out[b][y][x][o] = evaluate(pipeline, Σ_{ky,kx,c} (in[b][iy][ix][g*Cg + c] - in_zp) * w[o][ky][kx][c], m, o)
// with the dense conv2d's input, output, padding, stride, dilation and group rules.
//   * filter: [C_out][kh][kw][C_in / groups] int8, symmetric (zero point 0), pruned: each group's K×N
//     matrix (k = (ky*kw + kx)*Cg + c, N = C_out / groups) is packed by pack_sparse_weights
//     (qsparse/spec/packed_sparse_weights.hpp) in one of block_4x16, block_4x32 (4 consecutive k × 16 or
//     32 output channels), two_of_four (2 of each 4 consecutive k) or bitmask; the masks are on that
//     matrix, the layout Keras and the demo prune;
//   * the kernel is the sparse GEMM's for the format on the best ISA under the ceiling
//     (selected_kernel_name(packed) = selected_sparse_kernel_name(format, best_isa())); the packed
//     buffer is ISA-independent.
//
// Driver (the dense conv2d's structure, with the sparse kernels of qsparse/kernels/
// sparse_gemm_kernels.hpp as the tile): a 1×1, stride-1, unpadded convolution runs the sparse GEMM on
// the input itself (rows = pixels, row stride C_in). The block formats on AVX-512 VNNI with C_in/groups a
// multiple of 4 read the taps in place (detail::sparse_conv2d_gather): a stored block's 4 consecutive k
// are 4 consecutive channels of one tap, so the kernel reads them at the pixel's first tap in a padded
// copy of the input rows plus a byte offset computed once per call from the block's k; no im2col.
// Any other shape copies the im2col rows of a chunk of
// output pixels (zero-point padded, ~96 KiB) into a per-thread scratch and runs the sparse kernel on all
// of the group's panels for that chunk; for the VNNI kernels the rows are written as the unsigned bytes
// they multiply (int8 + 128), padded to the packed K, and read in place (sparse_gemm_args::a_padded). Tasks are (chunk × group); they write disjoint outputs and never
// combine partial sums, so every thread count gives the same bits.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "qsparse/conv/conv2d.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/scalar_epilogue.hpp"
#include "qsparse/gemm/sparse_gemm.hpp"
#include "qsparse/spec/conv_params.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_sparse_weights.hpp"
#include "qsparse/spec/sparse_gemm_args.hpp"

namespace qsparse {

/// OHWI convolution weights packed once for the sparse GEMM kernels: one packed sparse K×N matrix per group.
class packed_sparse_conv2d_weights {
 public:
  packed_sparse_conv2d_weights() = default;

  /// Packs the pruned filter [C_out][kh][kw][C_in/groups] (any layout, zero point 0) in `format`.
  template <class W, class L, class Acc>
  packed_sparse_conv2d_weights(const tensor_view<W, 4, L, Acc>& filter, sparse_format format, index_t groups) {
    static_assert(std::is_same_v<std::remove_const_t<W>, std::int8_t>,
                  "qsparse::pack_sparse_conv2d_weights: the filter must be a 4-D OHWI view of std::int8_t.");
    const char* fn = "qsparse::pack_sparse_conv2d_weights";
    c_out_ = filter.extent(0);
    k_h_ = filter.extent(1);
    k_w_ = filter.extent(2);
    c_in_group_ = filter.extent(3);
    detail::check(c_out_ >= 1 && k_h_ >= 1 && k_w_ >= 1 && c_in_group_ >= 1, fn,
                  ": the filter must be C_out x kh x kw x C_in/groups with every extent >= 1, got ", c_out_, " x ", k_h_,
                  " x ", k_w_, " x ", c_in_group_);
    detail::check(groups >= 1, fn, ": groups must be >= 1, got groups = ", groups);
    detail::check(c_out_ % groups == 0, fn, ": C_out = ", c_out_, " is not divisible by groups = ", groups);
    groups_ = groups;
    format_ = format;
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
      packed_.emplace_back(make_strided_view(static_cast<const std::int8_t*>(dense.data()), {k, n}, {1, k}), 0, format);
      views_.push_back(packed_.back().view());
    }
  }

  /// Weights already packed elsewhere (e.g. read from a file with packed_sparse_weights_view::from_bytes):
  /// one K×N view per group, K = kh * kw * C_in/groups in (ky, kx, c) order, all of one format and N. The
  /// buffers are not copied: the caller keeps them alive while these weights are used.
  static packed_sparse_conv2d_weights from_group_views(index_t kernel_h, index_t kernel_w, index_t input_channels_per_group,
                                                       const std::vector<packed_sparse_weights_view>& groups) {
    const char* fn = "qsparse::packed_sparse_conv2d_weights::from_group_views";
    detail::check(kernel_h >= 1 && kernel_w >= 1 && input_channels_per_group >= 1, fn,
                  ": kernel_h, kernel_w and input_channels_per_group must be >= 1, got ", kernel_h, ", ", kernel_w, ", ",
                  input_channels_per_group);
    detail::check(!groups.empty(), fn, ": needs at least one group's packed weights");
    packed_sparse_conv2d_weights w;
    w.k_h_ = kernel_h;
    w.k_w_ = kernel_w;
    w.c_in_group_ = input_channels_per_group;
    w.groups_ = static_cast<index_t>(groups.size());
    w.format_ = groups.front().empty() ? sparse_format::block_4x16 : groups.front().format();
    const index_t k = kernel_h * kernel_w * input_channels_per_group;
    const std::int64_t n = groups.front().empty() ? 0 : groups.front().n();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const packed_sparse_weights_view& v = groups[g];
      detail::check(!v.empty(), fn, ": the packed weights of group ", g, " are empty");
      detail::check(v.k() == k, fn, ": group ", g, " was packed with K = ", v.k(), " but kh * kw * C_in/groups = ",
                    kernel_h, " * ", kernel_w, " * ", input_channels_per_group, " = ", k);
      detail::check(v.n() == n && v.format() == w.format_, fn, ": group ", g, " is ", v.k(), " x ", v.n(), " in ",
                    to_string(v.format()), ", group 0 ", k, " x ", n, " in ", to_string(w.format_));
    }
    w.c_out_ = static_cast<index_t>(n) * w.groups_;
    w.views_ = groups;
    return w;
  }

  index_t output_channels() const noexcept { return c_out_; }
  index_t kernel_h() const noexcept { return k_h_; }
  index_t kernel_w() const noexcept { return k_w_; }
  /// Input channels each output channel reads (C_in / groups).
  index_t input_channels_per_group() const noexcept { return c_in_group_; }
  index_t groups() const noexcept { return groups_; }
  bool empty() const noexcept { return views_.empty(); }
  sparse_format format() const noexcept { return format_; }
  /// Always 0 (sparse weights are symmetric).
  std::int32_t weight_zero_point() const noexcept { return 0; }
  /// The packed sparse K×N weights of group g.
  const packed_sparse_weights_view& group(index_t g) const noexcept { return views_[static_cast<std::size_t>(g)]; }
  /// Bytes of weights the kernels read (all groups): what pruning saves.
  std::int64_t stored_weight_bytes() const noexcept {
    std::int64_t bytes = 0;
    for (const packed_sparse_weights_view& v : views_) bytes += v.stored_weight_bytes();
    return bytes;
  }

 private:
  index_t c_out_ = 0, k_h_ = 0, k_w_ = 0, c_in_group_ = 0, groups_ = 0;
  sparse_format format_ = sparse_format::block_4x16;
  std::vector<packed_sparse_weights> packed_;   // the buffers, when packed from a filter
  std::vector<packed_sparse_weights_view> views_;  // one per group
};

/// Packs a pruned OHWI filter (zero point 0) for the sparse conv2d in `format`.
template <class W, class L, class Acc>
packed_sparse_conv2d_weights pack_sparse_conv2d_weights(const tensor_view<W, 4, L, Acc>& filter, sparse_format format,
                                                        index_t groups = 1) {
  return packed_sparse_conv2d_weights(filter, format, groups);
}

/// The kernel conv2d runs for these sparse weights: the sparse GEMM's kernel for their format on the best
/// ISA under the ceiling ("none" for empty weights).
inline const char* selected_kernel_name(const packed_sparse_conv2d_weights& weights) {
  return weights.empty() ? "none" : selected_sparse_kernel_name(weights.format(), best_isa());
}

namespace detail {
struct sparse_im2col_scratch_tag {};

#if QSPARSE_X86
template <class Kernel>
inline constexpr bool is_sparse_block_vnni_kernel_v =
    std::is_same_v<Kernel, kernels::avx512_vnni::spgemm_block4_u8s8_s32_8xNc4<16>> ||
    std::is_same_v<Kernel, kernels::avx512_vnni::spgemm_block4_u8s8_s32_8xNc4<32>>;

struct sparse_band_scratch_tag {};
struct sparse_gather_offsets_tag {};

/// The band pitch of sparse_conv2d_gather: the bytes of a padded input row, rounded up to 64.
inline index_t sparse_gather_pitch(index_t in_w, index_t c_in, const conv2d_params& p, const conv_geometry& g,
                                   index_t k_w) {
  const index_t tap_span = ((k_w - 1) * p.dilation_w + 1) * c_in;  // the bytes one kernel row of a pixel spans
  const index_t used = std::max((g.pad_left + in_w) * c_in, (g.out_w - 1) * p.stride_w * c_in + tap_span);
  return (used + 63) / 64 * 64;
}

/// Whether the block kernels may read the taps in place (sparse_conv2d_gather): each stored block's 4
/// consecutive k are 4 consecutive channels of one tap (C_in/groups a multiple of 4), the rows one output
/// row reads stay below 4096 (as for the dense paths that copy input rows) and every tap's offset from a
/// pixel's first one fits 31 bits.
inline bool sparse_conv_gather_eligible(const packed_sparse_conv2d_weights& w, const conv2d_params& p, index_t in_w,
                                        index_t c_in, const conv_geometry& g) {
  if (w.input_channels_per_group() % 4 != 0 || p.dilation_h >= 4096 || (w.kernel_h() - 1) * p.dilation_h >= 4096)
    return false;
  const index_t pitch = sparse_gather_pitch(in_w, c_in, p, g, w.kernel_w());
  return static_cast<std::int64_t>((w.kernel_h() - 1) * p.dilation_h + 1) * pitch < (std::int64_t{1} << 31);
}

/// The sparse conv2d without im2col (block formats on VNNI, sparse_conv_gather_eligible): tasks are bands
/// of output rows of one image; a task copies the input rows its band reads as unsigned bytes, zero-point
/// padded (copy_band_rows, as the dense gather path), and runs the block kernel's run_gather on every
/// group, each stored block of k = (ky*kw + kx)*Cg + c read at the pixel's first tap + ky*dilation_h*pitch
/// + kx*dilation_w*C_in + g*Cg + c.
template <class Kernel, class A, class Out, class... S>
void sparse_conv2d_gather(const context& ctx, const A* in, index_t batch, index_t in_h, index_t in_w, index_t c_in,
                          std::int32_t in_zp, const packed_sparse_conv2d_weights& weights, const conv2d_params& p,
                          const conv_geometry& g, Out* out, const output_pipeline<S...>& pipeline) {
  constexpr bool flip = std::is_same_v<A, std::int8_t>;
  const auto u_zp = static_cast<std::uint8_t>(flip ? in_zp + 128 : in_zp);
  const index_t k_h = weights.kernel_h(), k_w = weights.kernel_w(), c_group = weights.input_channels_per_group();
  const index_t groups = weights.groups(), c_out = weights.output_channels(), n = c_out / groups;
  const index_t k = k_h * k_w * c_group;
  const index_t pitch = sparse_gather_pitch(in_w, c_in, p, g, k_w);
  // Every group's stored blocks, their k turned into byte offsets from a pixel's first tap.
  std::vector<std::size_t> first_offset(static_cast<std::size_t>(groups) + 1, 0);
  for (index_t grp = 0; grp < groups; ++grp) {
    const packed_sparse_weights_view& w = weights.group(grp);
    first_offset[static_cast<std::size_t>(grp) + 1] =
        first_offset[static_cast<std::size_t>(grp)] + static_cast<std::size_t>(w.panel_start()[w.panels()]);
  }
  // The offset of each group of 4 k, in k order without a division (a division per block cost more
  // than the whole 5x5x64 layer at batch 1), then each block's from its k / 4.
  // (A block past K, which a buffer read from bytes may hold within the padded K, has zero weights:
  // offset 0 reads a valid tap.)
  const auto k_groups = static_cast<std::size_t>(weights.group(0).k_padded() / 4);
  std::uint32_t* offsets = conv_scratch<std::uint32_t, sparse_gather_offsets_tag>(first_offset.back() + k_groups);
  std::uint32_t* group_offset = offsets + first_offset.back();
  std::fill(group_offset, group_offset + k_groups, std::uint32_t{0});
  {
    std::size_t i = 0;
    for (index_t ky = 0; ky < k_h; ++ky)
      for (index_t kx = 0; kx < k_w; ++kx)
        for (index_t c = 0; c < c_group; c += 4)
          group_offset[i++] = static_cast<std::uint32_t>(ky * p.dilation_h * pitch + kx * p.dilation_w * c_in + c);
  }
  for (index_t grp = 0; grp < groups; ++grp) {
    const packed_sparse_weights_view& w = weights.group(grp);
    const std::uint32_t* block_k = w.block_k();
    std::uint32_t* o = offsets + first_offset[static_cast<std::size_t>(grp)];
    const auto blocks = static_cast<std::size_t>(w.panel_start()[w.panels()]);
    const auto group_base = static_cast<std::uint32_t>(grp * c_group);
    for (std::size_t b = 0; b < blocks; ++b) o[b] = group_offset[block_k[b] / 4] + group_base;
  }
  const std::int64_t bound = kernels::avx512_vnni::accumulator_bound<A>(k, in_zp, 0);
  const band_plan plan = plan_bands(ctx, g, p, k_h, pitch);  // as the dense gather path
  const index_t span = plan.span, band = plan.band, bands = plan.bands, max_rows = plan.max_rows;
  auto task = [&](std::ptrdiff_t t) {
    const index_t b = t / bands;
    const index_t y0 = (t % bands) * band;
    const index_t y1 = std::min(g.out_h, y0 + band);
    const index_t rows = (y1 - 1 - y0) * p.stride_h + span;
    std::uint8_t* scratch =
        conv_scratch<std::uint8_t, sparse_band_scratch_tag>(static_cast<std::size_t>(max_rows * pitch));
    copy_band_rows(in + b * in_h * in_w * c_in, in_h, in_w * c_in, g.pad_left * c_in, y0 * p.stride_h - g.pad_top,
                   rows, u_zp, scratch, pitch);
    const index_t m0 = (b * g.out_h + y0) * g.out_w;
    for (index_t grp = 0; grp < groups; ++grp) {
      const kernels::avx512_vnni::spgemm_gather_args<Out> args{
          scratch,
          p.stride_w * c_in,
          p.stride_h * pitch,
          g.out_w,
          y1 - y0,
          offsets + first_offset[static_cast<std::size_t>(grp)],
          u_zp,
          bound,
          weights.group(grp),
          out + m0 * c_out + grp * n,
          c_out};
      Kernel::run_gather(args, offset_pipeline(pipeline, grp * n));
    }
  };
  ctx.run_tasks(batch * bands, task);
}
#endif
}  // namespace detail

/// out = pipeline(conv(in - in_zp, w)) in NHWC with pruned weights. See the top of this header.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void conv2d(const context& ctx, const quantized_operand<tensor_view<A, 4, LA, AA>>& input,
            const packed_sparse_conv2d_weights& weights, const tensor_view<D, 4, LD, AD>& output,
            const conv2d_params& params, const output_pipeline<S...>& pipeline) {
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
  const index_t in_h = in.extent(1), in_w = in.extent(2), c_in = in.extent(3);
  const index_t groups = weights.groups();
  const index_t c_group = weights.input_channels_per_group();
  const index_t c_out = weights.output_channels();
  const index_t k_h = weights.kernel_h(), k_w = weights.kernel_w();
  const index_t k = k_h * k_w * c_group;
  const index_t n = c_out / groups;
  validate(pipeline, c_out, fn);
  if constexpr (detail::pipeline_has_custom_stage_v<output_pipeline<S...>>) {
    // A stage of the caller's own: the kernels write raw accumulators, its scalar definition the output.
    detail::run_with_scalar_epilogue<std::int32_t>(output, pipeline, [&](const auto& raw) {
      conv2d(ctx, input, weights, raw, params, output_pipeline<>{});
    });
  } else {
    const a_t* in_data = &in(0, 0, 0, 0);
    out_t* out_data = &output(0, 0, 0, 0);
    const index_t m_total = in.extent(0) * g.out_h * g.out_w;
    const bool direct = k_h == 1 && k_w == 1 && params.stride_h == 1 && params.stride_w == 1 && g.pad_top == 0 &&
                        g.pad_left == 0 && g.out_h == in_h && g.out_w == in_w;
    detail::with_sparse_kernel(weights.format(), best_isa(), [&](auto kernel) {
      using kernel_t = decltype(kernel);
      if (direct) {
        // The input is already the (N*H*W) × C_in matrix; group grp reads its columns [grp*Cg, (grp+1)*Cg).
        for (index_t grp = 0; grp < groups; ++grp) {
          const kernels::sparse_gemm_args<a_t, out_t> args{in_data + grp * c_group, c_in, input.zero_point, m_total,
                                                           k, n, weights.group(grp), out_data + grp * n, c_out, false};
          detail::run_sparse_gemm_tasks<kernel_t>(ctx, args, detail::offset_pipeline(pipeline, grp * n));
        }
        return;
      }
#if QSPARSE_X86
      if constexpr (detail::is_sparse_block_vnni_kernel_v<kernel_t>) {
        if (detail::sparse_conv_gather_eligible(weights, params, in_w, c_in, g)) {
          detail::sparse_conv2d_gather<kernel_t>(ctx, in_data, in.extent(0), in_h, in_w, c_in, input.zero_point,
                                                 weights, params, g, out_data, pipeline);
          return;
        }
      }
#endif
      // im2col chunks: ~96 KiB of rows (a multiple of the kernel's rows per tile), at least 64 rows.
      const index_t chunk = std::max<index_t>(64, (96 * 1024 / k) / 64 * 64);
      const index_t chunks = (m_total + chunk - 1) / chunk;
      if constexpr (kernel_t::isa == isa_level::avx512_vnni) {
        // The VNNI kernels multiply unsigned bytes: im2col writes them so (int8 + 128, zero point + 128),
        // each row padded to the weights' k_padded, and the kernel reads the rows in place (a_padded).
        constexpr bool flip = std::is_same_v<a_t, std::int8_t>;
        const std::int32_t u_zp = input.zero_point + (flip ? 128 : 0);
        // Row stride: the packed K, or more when a kernel row's taps are few contiguous bytes, so that
        // im2col moves each as one 16-byte word (a 1-channel 3x3 stem: 24 instead of 12 bytes a row).
        const index_t tap_row = k_w * c_group;
        index_t kp = static_cast<index_t>(weights.group(0).k_padded());  // the same for every group
        if (params.dilation_w == 1 && c_group == c_in && tap_row <= 16)
          kp = std::max(kp, ((k_h - 1) * tap_row + 16 + 3) / 4 * 4);
        auto unsigned_task = [&](std::ptrdiff_t t) {
          const index_t grp = t % groups;
          const index_t m_begin = (t / groups) * chunk;
          const index_t m_end = std::min(m_total, m_begin + chunk);
          std::uint8_t* rows =
              detail::conv_scratch<std::uint8_t, detail::sparse_im2col_scratch_tag>(static_cast<std::size_t>(chunk * kp));
          detail::im2col_rows<flip>(in_data, in_h, in_w, c_in, c_group, grp, params, g, k_h, k_w,
                                    static_cast<std::uint8_t>(u_zp), m_begin, m_end, rows, kp);
          const packed_sparse_weights_view& w = weights.group(grp);
          const kernels::sparse_gemm_args<std::uint8_t, out_t> args{
              rows, kp, u_zp, m_end - m_begin, k, n, w, out_data + m_begin * c_out + grp * n, c_out, true};
          kernel_t::run(args, detail::offset_pipeline(pipeline, grp * n), 0, m_end - m_begin, 0,
                        static_cast<std::ptrdiff_t>(w.panels()));
        };
        ctx.run_tasks(chunks * groups, unsigned_task);
        return;
      }
      const auto pad_value = static_cast<a_t>(input.zero_point);
      auto task = [&](std::ptrdiff_t t) {
        const index_t grp = t % groups;
        const index_t m_begin = (t / groups) * chunk;
        const index_t m_end = std::min(m_total, m_begin + chunk);
        // A scratch of its own, so it never aliases the kernels' per-thread scratch.
        a_t* rows = detail::conv_scratch<a_t, detail::sparse_im2col_scratch_tag>(static_cast<std::size_t>(chunk * k));
        detail::im2col_rows(in_data, in_h, in_w, c_in, c_group, grp, params, g, k_h, k_w, pad_value, m_begin, m_end,
                            rows, k);
        const packed_sparse_weights_view& w = weights.group(grp);
        const kernels::sparse_gemm_args<a_t, out_t> args{rows, k, input.zero_point, m_end - m_begin, k, n, w,
                                                         out_data + m_begin * c_out + grp * n, c_out, false};
        kernel_t::run(args, detail::offset_pipeline(pipeline, grp * n), 0, m_end - m_begin, 0,
                      static_cast<std::ptrdiff_t>(w.panels()));
      };
      ctx.run_tasks(chunks * groups, task);
    });
  }
}

/// The same with an input whose zero point is 0.
template <class A, class LA, class AA, class D, class LD, class AD, class... S>
void conv2d(const context& ctx, const tensor_view<A, 4, LA, AA>& input, const packed_sparse_conv2d_weights& weights,
            const tensor_view<D, 4, LD, AD>& output, const conv2d_params& params, const output_pipeline<S...>& pipeline) {
  conv2d(ctx, quantized(input, 0), weights, output, params, pipeline);
}

/// Rank check of conv2d(ctx, quantized(input, in_zp), sparse packed, output, params, pipeline) (as for the dense
/// conv2d: never chosen for a call that compiles).
template <class A, std::size_t RA, class LA, class AA, class D, std::size_t RD, class LD, class AD, class... S>
void conv2d(const context&, const quantized_operand<tensor_view<A, RA, LA, AA>>&, const packed_sparse_conv2d_weights&,
            const tensor_view<D, RD, LD, AD>&, const conv2d_params&, const output_pipeline<S...>&) {
  static_assert(RA == 4 && RD == 4,
                "qsparse::conv2d: the input and the output must be 4-D NHWC views ([N][H][W][C]; a single image "
                "is N = 1).");
}

/// Rank check of conv2d(ctx, input, sparse packed, output, params, pipeline).
template <class A, std::size_t RA, class LA, class AA, class D, std::size_t RD, class LD, class AD, class... S>
void conv2d(const context&, const tensor_view<A, RA, LA, AA>&, const packed_sparse_conv2d_weights&,
            const tensor_view<D, RD, LD, AD>&, const conv2d_params&, const output_pipeline<S...>&) {
  static_assert(RA == 4 && RD == 4,
                "qsparse::conv2d: the input and the output must be 4-D NHWC views ([N][H][W][C]; a single image "
                "is N = 1).");
}

}  // namespace qsparse
