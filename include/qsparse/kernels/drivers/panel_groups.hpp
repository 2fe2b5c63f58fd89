// qsparse/kernels/drivers/panel_groups.hpp — the ISA-neutral driver of tiles that span several weight
// panels when they have few rows (the float16-weight GEMM: a float FMA chain per lane needs enough
// independent columns to hide the FMA latency).
//
// The driver owns the loop over tiles of MR rows, the short last tile (a runtime row count reaches the
// instantiation of its height) and the grouping of panels: a tile of R rows takes Tile::panels_for(R)
// panels at a time, the panels left over one at a time. The tile contributes, with its ISA's target
// attribute,
//
//   static constexpr int panels_for(int rows);
//   template <int MR, int P, class G, class Pipeline>
//   static void run_panels(const G&, const Pipeline&, std::ptrdiff_t m0, std::ptrdiff_t first_panel);
//
// (load, multiply-accumulate and the SIMD epilogue of MR rows × P panels), and a `run` with its target
// attribute that calls run_panel_groups, which is always inlined (see kernels/drivers/row_tiles.hpp).
#pragma once

#include <cstddef>

#include "qsparse/core/config.hpp"

namespace qsparse {
namespace kernels {
namespace drivers {

/// Rows [m0, m0 + MR) × panels [panel_begin, panel_end), panels_for(MR) panels at a time.
template <class Tile, int MR, class G, class Pipeline>
QSPARSE_ALWAYS_INLINE void run_panel_group_rows(const G& g, const Pipeline& pipeline, std::ptrdiff_t m0,
                                                std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
  constexpr int P = Tile::panels_for(MR);
  std::ptrdiff_t p = panel_begin;
  if constexpr (P > 1) {
    for (; p + P <= panel_end; p += P) Tile::template run_panels<MR, P>(g, pipeline, m0, p);
  }
  for (; p < panel_end; ++p) Tile::template run_panels<MR, 1>(g, pipeline, m0, p);
}

/// run_panel_group_rows<Tile, R> for R = rows (1 <= rows <= MR).
template <class Tile, int MR = Tile::mr, class G, class Pipeline>
QSPARSE_ALWAYS_INLINE void run_panel_group_rows(int rows, const G& g, const Pipeline& pipeline, std::ptrdiff_t m0,
                                                std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
  if constexpr (MR > 1) {
    if (rows < MR) return run_panel_group_rows<Tile, MR - 1>(rows, g, pipeline, m0, panel_begin, panel_end);
  }
  run_panel_group_rows<Tile, MR>(g, pipeline, m0, panel_begin, panel_end);
}

/// Rows [m_begin, m_end) × panels [panel_begin, panel_end) of g (gemm_panel_args).
template <class Tile, class G, class Pipeline>
QSPARSE_ALWAYS_INLINE void run_panel_groups(const G& g, const Pipeline& pipeline, std::ptrdiff_t m_begin,
                                            std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                            std::ptrdiff_t panel_end) {
  constexpr int mr = Tile::mr;
  for (std::ptrdiff_t m0 = m_begin; m0 < m_end; m0 += mr) {
    const int rows = static_cast<int>(m_end - m0 < mr ? m_end - m0 : mr);
    run_panel_group_rows<Tile>(rows, g, pipeline, m0, panel_begin, panel_end);
  }
}

}  // namespace drivers
}  // namespace kernels
}  // namespace qsparse
