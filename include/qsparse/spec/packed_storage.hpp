// qsparse/spec/packed_storage.hpp — what every owning packed-weights type is: a 64-byte aligned buffer
// and the validated view of it that the packing function returned.
//
//   class packed_weights : public packed_storage<packed_weights_view> { ... };
//   packed_storage<View>(bytes, [&](void* buffer, std::size_t bytes) { return pack(..., buffer, bytes); })
//
// The view converts implicitly, so an owning object goes wherever its view does.
#pragma once

#include <cstddef>
#include <memory>
#include <new>

namespace qsparse {

/// A 64-byte aligned buffer of packed weights and its view (View: packed_weights_view,
/// packed_sparse_weights_view, packed_panels_view<...>). Moves, does not copy.
template <class View>
class packed_storage {
 public:
  packed_storage() = default;

  /// Allocates `bytes` (64-byte aligned) and fills them with fill(buffer, bytes), which returns the view.
  template <class Fill>
  packed_storage(std::size_t bytes, const Fill& fill)
      : storage_(static_cast<unsigned char*>(::operator new(bytes, std::align_val_t{64}))), bytes_(bytes) {
    view_ = fill(static_cast<void*>(storage_.get()), bytes_);
  }

  const View& view() const noexcept { return view_; }
  operator const View&() const noexcept { return view_; }  // NOLINT: implicit on purpose
  std::size_t size_bytes() const noexcept { return bytes_; }

 private:
  struct aligned_delete {
    void operator()(unsigned char* p) const noexcept { ::operator delete(p, std::align_val_t{64}); }
  };
  std::unique_ptr<unsigned char, aligned_delete> storage_;
  std::size_t bytes_ = 0;
  View view_;
};

}  // namespace qsparse
