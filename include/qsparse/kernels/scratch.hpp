// qsparse/kernels/scratch.hpp — per-thread scratch memory for kernels and their drivers.
#pragma once

#include <cstddef>
#include <vector>

namespace qsparse {
namespace kernels {

/// A per-thread scratch buffer of at least `count` elements of T (grows, never shrinks).
template <class T>
inline T* thread_scratch(std::size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

}  // namespace kernels
}  // namespace qsparse
