// benchmarks/support/weight_rotation.hpp — weights read from memory rather than from a cache: copies of one
// packed matrix that a benchmark loop takes in turn, one per iteration, enough of them that together they
// exceed the last-level cache (the "dram" rows of gemm_q4, gemm_clustered and sparse_unstructured).
//
//   rotation_count(bytes_each, dram, dram_bytes)
//                                1 when dram is false (one matrix read again and again, from cache), else
//                                dram_bytes / bytes_each + 1: more than dram_bytes of copies in all
//   rotated_copies c(bytes, size, count)
//                                `count` copies of `size` bytes in one 64-byte-aligned allocation, each at a
//                                64-byte boundary, written (so touched) before any timing; c.at(i) is copy
//                                i % count
//   rotated_weights<View> w(view, count)
//                                the same for a packed buffer, each copy opened once with View::from_bytes
//                                (validated before timing); w[i] is the view of copy i % count
//
// The kernels' speed does not depend on the weight values, so byte copies of one matrix serve as well as
// distinct matrices.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "support/benchmark_support.hpp"

namespace qsparse_bench {

/// How many copies of a `bytes_each`-byte matrix to rotate through (see the top of this header).
inline std::size_t rotation_count(std::size_t bytes_each, bool dram, std::size_t dram_bytes) {
  return dram ? std::max<std::size_t>(1, dram_bytes / bytes_each + 1) : 1;
}

/// `count` 64-byte-aligned copies of `size` bytes in one allocation.
class rotated_copies {
 public:
  rotated_copies() = default;
  rotated_copies(const void* bytes, std::size_t size, std::size_t count)
      : stride_((size + 63) / 64 * 64), count_(count), memory_(static_cast<std::ptrdiff_t>(stride_ * count)) {
    for (std::size_t i = 0; i < count; ++i) std::memcpy(memory_.data() + i * stride_, bytes, size);
  }
  std::size_t count() const noexcept { return count_; }
  /// Copy i % count().
  const unsigned char* at(std::size_t i) const noexcept { return memory_.data() + (i % count_) * stride_; }

 private:
  std::size_t stride_ = 0;
  std::size_t count_ = 0;
  aligned_buffer<unsigned char> memory_;
};

/// `count` copies of a packed buffer, each opened as a View (packed_weights_view, packed_weights_q4_view, ...).
template <class View>
class rotated_weights {
 public:
  rotated_weights() = default;
  rotated_weights(const View& packed, std::size_t count) : copies_(packed.bytes(), packed.size_bytes(), count) {
    views_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) views_.push_back(View::from_bytes(copies_.at(i), packed.size_bytes()));
  }
  bool empty() const noexcept { return views_.empty(); }
  std::size_t size() const noexcept { return views_.size(); }
  /// The view of copy i % size().
  const View& operator[](std::size_t i) const { return views_[i % views_.size()]; }
  const View& front() const { return views_.front(); }

 private:
  rotated_copies copies_;
  std::vector<View> views_;
};

}  // namespace qsparse_bench
