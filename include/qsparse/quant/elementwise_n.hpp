// qsparse/quant/elementwise_n.hpp — how element-wise operations walk N views of equal shape at once.
//
// The N-view form of qsparse/quant/elementwise.hpp, for operations with more than one input or output
// (fake quantization with a mask, its backward pass, observers that read one view). All views have the
// same extents, any layouts. for_each_run_n() cuts them into the longest runs a kernel can take as plain
// arrays and calls, for each run,
//
//   uniform(offsets, length, channel)        every element of the run has channel `channel`
//   channelwise(offsets, length)             element j of the run has channel j (the innermost axis)
//   strided(offsets, length, strides, channel)   a run whose elements are `strides[k]` apart in view k;
//                                            channel is the channel of every element, or -2 when element
//                                            j has channel j
//
// offsets and strides are std::array<index_t, N>, in elements, in the order the views were given.
// `axis` < 0 means per-tensor, and channel is then -1. An empty view calls nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"

namespace qsparse::detail {

/// Checks that every view has the extents of the first; names `function` and the axis that differs.
template <class First, class... Views>
void check_all_same_extents(const char* function, const First& first, const Views&... views) {
  (
      [&](const auto& v) {
        static_assert(std::decay_t<decltype(v)>::rank() == First::rank(),
                      "qsparse: every view of an element-wise operation must have the same rank.");
        for (std::size_t r = 0; r < First::rank(); ++r) {
          if (v.extent(r) != first.extent(r)) {
            raise(concat(function, ": the views' shapes differ: extent(", r, ") is ", first.extent(r), " vs ",
                         v.extent(r)));
          }
        }
      }(views),
      ...);
}

template <class Uniform, class Channelwise, class Strided, class First, class... Views>
void for_each_run_n(std::ptrdiff_t axis, Uniform&& uniform, Channelwise&& channelwise, Strided&& strided,
                    const First& first, const Views&... views) {
  constexpr std::size_t rank = First::rank();
  constexpr std::size_t count = 1 + sizeof...(Views);
  using offsets_t = std::array<index_t, count>;
  if (first.size() == 0) return;
  if constexpr (rank == 0) {
    uniform(offsets_t{}, index_t{1}, axis < 0 ? index_t{-1} : index_t{0});
  } else {
    std::array<index_t, rank> extent{};
    for (std::size_t r = 0; r < rank; ++r) extent[r] = first.extent(r);
    const bool all_row_major = first.is_row_major_contiguous() && (views.is_row_major_contiguous() && ...);
    if (all_row_major) {
      const index_t n = first.size();
      if (axis < 0) {
        uniform(offsets_t{}, n, index_t{-1});
        return;
      }
      index_t outer = 1, inner = 1;
      for (std::size_t r = 0; r < static_cast<std::size_t>(axis); ++r) outer *= extent[r];
      for (std::size_t r = static_cast<std::size_t>(axis) + 1; r < rank; ++r) inner *= extent[r];
      const index_t channels = extent[static_cast<std::size_t>(axis)];
      offsets_t offsets{};
      if (inner == 1) {
        for (index_t o = 0; o < outer; ++o) {
          offsets.fill(o * channels);
          channelwise(offsets, channels);
        }
      } else {
        for (index_t o = 0; o < outer; ++o) {
          for (index_t c = 0; c < channels; ++c) {
            offsets.fill((o * channels + c) * inner);
            uniform(offsets, inner, c);
          }
        }
      }
      return;
    }
    // General layouts: one run per line along the last axis.
    const index_t length = extent[rank - 1];
    const offsets_t steps{first.stride(rank - 1), views.stride(rank - 1)...};
    bool unit = true;
    for (index_t s : steps) unit = unit && s == 1;
    const bool last_is_channel = axis == static_cast<std::ptrdiff_t>(rank) - 1;
    std::array<index_t, rank> index{};
    for (;;) {
      offsets_t offsets{};
      for (std::size_t r = 0; r + 1 < rank; ++r) {
        const offsets_t strides{first.stride(r), views.stride(r)...};
        for (std::size_t k = 0; k < count; ++k) offsets[k] += index[r] * strides[k];
      }
      const index_t channel = axis < 0 || last_is_channel ? index_t{-1} : index[static_cast<std::size_t>(axis)];
      if (unit) {
        if (last_is_channel) {
          channelwise(offsets, length);
        } else {
          uniform(offsets, length, channel);
        }
      } else {
        strided(offsets, length, steps, last_is_channel ? index_t{-2} : channel);
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
