// qsparse/kernels/drivers/clustered_rows.hpp — the ISA-neutral driver of the clustered GEMM's tiles
// (qsparse/kernels/gemm_clustered_kernels.hpp).
//
// The driver owns what is the same on every ISA: the per-thread copy of a tile's activation rows, zero
// padded to the layout's K step (so a tile reads whole steps with no tail: the padded k have index 0, and
// zero activations make them count for nothing), each row's sum Σ_{k<K} a[m][k] (the lookup tables hold
// codebook + 128, so the tiles' raw sums carry 128 Σ a, which the epilogue takes off), the loop over tiles
// of MR rows and the panels of the task, and the short last tile. A tile contributes, with its ISA's
// target attribute,
//
//   static constexpr int mr;
//   using row_type = std::int8_t or std::int16_t;   // how the rows are copied
//   template <int MR, class G, class Pipeline>
//   static void tile(const G&, const Pipeline&, const row_type* rows, std::ptrdiff_t ld, std::ptrdiff_t kp,
//                    const std::int32_t* row_sums, std::ptrdiff_t m0, std::ptrdiff_t panel);
//
// and a `run` with its target attribute that calls run_clustered_rows, which is always inlined (see
// kernels/drivers/row_tiles.hpp for why).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/scratch.hpp"

namespace qsparse {
namespace kernels {
namespace drivers {

/// Tile::tile<R> for R = rows (1 <= rows <= MR).
template <class Tile, int MR = Tile::mr, class... Args>
QSPARSE_ALWAYS_INLINE void clustered_tile_rows(int rows, Args... args) {
  if constexpr (MR > 1) {
    if (rows < MR) return clustered_tile_rows<Tile, MR - 1>(rows, args...);
  }
  Tile::template tile<MR>(args...);
}

/// Rows [m_begin, m_end) × panels [panel_begin, panel_end) of g (gemm_clustered_args).
template <class Tile, class G, class Pipeline>
QSPARSE_ALWAYS_INLINE void run_clustered_rows(const G& g, const Pipeline& pipeline, std::ptrdiff_t m_begin,
                                              std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                              std::ptrdiff_t panel_end) {
  using row_type = typename Tile::row_type;
  constexpr int mr = Tile::mr;
  const std::ptrdiff_t kp = g.weights.k_padded();
  // Rows 64 bytes more than K apart: rows a multiple of 4 KiB apart fall into one L1 set.
  const std::ptrdiff_t ld = kp + 64 / static_cast<std::ptrdiff_t>(sizeof(row_type));
  row_type* rows = thread_scratch<row_type>(static_cast<std::size_t>(mr * ld));
  std::int32_t row_sums[static_cast<std::size_t>(mr)] = {};
  for (std::ptrdiff_t m0 = m_begin; m0 < m_end; m0 += mr) {
    const int count = static_cast<int>(m_end - m0 < mr ? m_end - m0 : mr);
    for (int r = 0; r < count; ++r) {
      const std::int8_t* src = g.a + (m0 + r) * g.lda;
      row_type* out = rows + r * ld;
      std::int32_t sum = 0;
      for (std::ptrdiff_t k = 0; k < g.k; ++k) {
        out[k] = static_cast<row_type>(src[k]);
        sum += src[k];
      }
      for (std::ptrdiff_t k = g.k; k < kp; ++k) out[k] = 0;
      row_sums[r] = sum;  // |sum| <= 128 K < 2^31 for every K the entry accepts
    }
    for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
      clustered_tile_rows<Tile>(count, g, pipeline, static_cast<const row_type*>(rows), ld, kp,
                                static_cast<const std::int32_t*>(row_sums), m0, p);
    }
  }
}

}  // namespace drivers
}  // namespace kernels
}  // namespace qsparse
