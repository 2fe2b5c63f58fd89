// qsparse/quant/elementwise.hpp — how the element-wise entry points walk two views of equal shape.
//
// An element-wise operation (quantize, dequantize, requantize) is given two views of the same extents,
// any layouts, and a per-tensor or per-channel parameter set. for_each_run() cuts the pair into the
// longest runs a kernel can take as plain arrays and calls, for each run,
//
//   uniform(in_offset, out_offset, length, channel)      every element of the run has channel `channel`
//   channelwise(in_offset, out_offset, length)           element j of the run has channel j (innermost axis)
//   strided(in_offset, out_offset, length, in_stride, out_stride, channel_or_minus_one)
//
// Offsets and strides are in elements. Channel is -1 for per-tensor parameters.
//
// Aliasing (check_elementwise_aliasing): the output may be the input itself when their elements have one
// size (in place), otherwise it must not share memory with it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "qsparse/core/error.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"

namespace qsparse::detail {

template <class InView, class OutView>
void check_same_extents(const char* function, const InView& in, const OutView& out) {
  static_assert(InView::rank() == OutView::rank(), "qsparse: input and output views must have the same rank.");
  for (std::size_t r = 0; r < InView::rank(); ++r) {
    if (in.extent(r) != out.extent(r)) {
      raise(concat(function, ": input and output shapes differ: extent(", r, ") is ", in.extent(r), " vs ",
                   out.extent(r)));
    }
  }
}

/// The aliasing rule of the element-wise operations: `out` is `in` itself when their elements have one size
/// (the in-place mode: every element is read before it is written, on every ISA), otherwise `out` and
/// `in` are disjoint; a partial overlap is a qsparse::error.
template <class InView, class OutView>
void check_elementwise_aliasing(const char* function, const char* in_name, const InView& in, const char* out_name,
                                const OutView& out) {
  if constexpr (sizeof(typename InView::value_type) == sizeof(typename OutView::value_type)) {
    check_in_place_or_disjoint(function, out_name, out, in_name, in);
  } else {
    check_no_overlap(function, out_name, out, in_name, in);
  }
}

/// `axis` < 0 means per-tensor.
template <class InView, class OutView, class Uniform, class Channelwise, class Strided>
void for_each_run(const InView& in, const OutView& out, std::ptrdiff_t axis, Uniform&& uniform,
                  Channelwise&& channelwise, Strided&& strided) {
  constexpr std::size_t rank = InView::rank();
  if (in.size() == 0) return;
  if constexpr (rank == 0) {
    uniform(index_t{0}, index_t{0}, index_t{1}, axis < 0 ? index_t{-1} : index_t{0});
  } else {
    std::array<index_t, rank> extent{};
    for (std::size_t r = 0; r < rank; ++r) extent[r] = in.extent(r);
    if (in.is_row_major_contiguous() && out.is_row_major_contiguous()) {
      const index_t n = in.size();
      if (axis < 0) {
        uniform(index_t{0}, index_t{0}, n, index_t{-1});
        return;
      }
      index_t outer = 1, inner = 1;
      for (std::size_t r = 0; r < static_cast<std::size_t>(axis); ++r) outer *= extent[r];
      for (std::size_t r = static_cast<std::size_t>(axis) + 1; r < rank; ++r) inner *= extent[r];
      const index_t channels = extent[static_cast<std::size_t>(axis)];
      if (inner == 1) {
        for (index_t o = 0; o < outer; ++o) channelwise(o * channels, o * channels, channels);
      } else {
        for (index_t o = 0; o < outer; ++o)
          for (index_t c = 0; c < channels; ++c) {
            const index_t offset = (o * channels + c) * inner;
            uniform(offset, offset, inner, c);
          }
      }
      return;
    }
    // General layouts: walk every index of the leading rank-1 axes; a run is one line along the last axis.
    const index_t length = extent[rank - 1];
    const index_t in_step = in.stride(rank - 1), out_step = out.stride(rank - 1);
    const bool last_is_channel = axis == static_cast<std::ptrdiff_t>(rank) - 1;
    std::array<index_t, rank> index{};
    for (;;) {
      index_t in_offset = 0, out_offset = 0;
      for (std::size_t r = 0; r + 1 < rank; ++r) {
        in_offset += index[r] * in.stride(r);
        out_offset += index[r] * out.stride(r);
      }
      const index_t channel = axis < 0 || last_is_channel ? index_t{-1} : index[static_cast<std::size_t>(axis)];
      if (in_step == 1 && out_step == 1) {
        if (last_is_channel) {
          channelwise(in_offset, out_offset, length);
        } else {
          uniform(in_offset, out_offset, length, channel);
        }
      } else {
        strided(in_offset, out_offset, length, in_step, out_step, last_is_channel ? index_t{-2} : channel);
      }
      std::size_t r = rank - 1;  // advance the odometer over axes [0, rank-1)
      for (;;) {
        if (r == 0) return;
        --r;
        if (++index[r] < extent[r]) break;
        index[r] = 0;
      }
    }
  }
}

}  // namespace qsparse::detail
