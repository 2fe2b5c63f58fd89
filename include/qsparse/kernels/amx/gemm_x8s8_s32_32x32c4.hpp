// qsparse/kernels/amx/gemm_x8s8_s32_32x32c4.hpp — int8 GEMM on Intel AMX-INT8 (Sapphire Rapids and
// later): 32 rows x 32 columns per block, K in steps of 64, on the weights layout s8_c4_nr32 of the
// AVX-512 VNNI kernel as it is packed (weights packed for either ISA run on both).
//
// Tiles (one tile configuration per run call: ldtilecfg zeroes every tile, tilerelease at the end):
//   tmm0..3  C: 16 rows x 16 int32, the block's four quarters (rows 0-15 / 16-31 x columns 0-15 / 16-31)
//   tmm4, 5  A: 16 rows x 64 bytes of k (rows 0-15, 16-31 of the block)
//   tmm6, 7  B: 16 groups of 4 k x 16 columns (64 bytes a row): the panel's 128-byte group rows hold
//            columns 0-15 then 16-31, so B is _tile_loadd(panel + 2048 kb [+ 64], stride 128)
// and per 64 k four tile dot products (16 x 16 x 64 multiply-adds each) against four tile loads.
//
// int8 activations go through tdpbssd, uint8 through tdpbusd (unsigned A, signed B): no sign flip. The
// exact result comes from the packed column sums and the rows' sums, as in the VNNI kernel (all modulo
// 2^32, exact because the entry point guarantees the true sum fits int32; the tile dot products wrap):
//   Σ (a - a_zp)(w - w_zp) = Σ a w - a_zp (colsum[n] - K w_zp) - w_zp Σ_k a
// The rows of a group (128, or 256 for weights past 1 MiB) are first packed k block by k block, 16 rows
// x 64 bytes (1 KiB, contiguous: one tile load reads 16 consecutive lines, never 16 lines of one cache
// set as rows read in place at a power-of-two K would: M128 K1024 N1024 1.03-1.13k -> 1.43-1.47k GOPS),
// zero padded past K and past the last row; the weights' last k block (fewer than 16 groups) comes from a
// zero-padded copy of it: nothing is read out of bounds. The C tiles start at the panel's column term (a
// tile load of stride 0 from one row); after the k loop they are stored to an aligned block and the VNNI
// kernel's epilogue runs on it (its prepare_panel_epilogue and store_tile_exact, the same code, so every
// output form that kernel supports comes out the same here). Each weight panel meets every 32-row block
// of the group in turn, its epilogue prepared once per group.
//
// A single row stays on VNNI: a range of fewer than min_rows rows runs the VNNI kernel (a tile of 16 rows
// costs the same for 1 row as for 16; from 2 rows on the tiles win, docs/kernels.md). The registry
// (kernels/gemm_kernels.hpp) keeps the shallow-K VNNI kernel (K <= 32, symmetric weights) ahead of this
// one. Each thread configures its own tiles (one run call per task).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512vnni/gemm_u8s8_s32_8x32c4.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace amx_int8 {

/// The tile configuration of palette 1 (64 bytes, the layout ldtilecfg reads).
struct alignas(64) tile_config {
  std::uint8_t palette;
  std::uint8_t start_row;
  std::uint8_t reserved[14];
  std::uint16_t bytes_per_row[16];
  std::uint8_t rows[16];
};
static_assert(sizeof(tile_config) == 64, "the AMX tile configuration is 64 bytes");

/// 64 bytes, 64-aligned: the unit of the kernel's per-thread scratch (its own type, so its buffer is
/// not the one the VNNI kernel it calls uses).
struct alignas(64) scratch_line {
  std::uint8_t bytes[64];
};

/// The epilogue of `rows` (1..32) rows of a block whose first row is the pipeline's row m0 (c: 32 int32
/// per row, the column term included), 8 rows at a time, through the VNNI kernel's store_tile_exact.
template <class Prepared, class Out>
QSPARSE_TARGET_AMX_INT8 __attribute__((noinline)) inline void finish_block(
    const std::int32_t* c, int rows, const std::int32_t* row_term, avx512_vnni::panel_epilogue<Prepared, Out>& e,
    std::ptrdiff_t m0, Out* dst, std::ptrdiff_t ldd) {
  for (int r0 = 0; r0 < rows; r0 += 8) {
    e.dst = dst + r0 * ldd;
    e.m0 = m0 + r0;  // read by a stage that reads its row (dequantize_rows_float)
    const std::int32_t* rt = row_term != nullptr ? row_term + r0 : nullptr;
    const std::int32_t* cr = c + r0 * 32;
    switch (rows - r0 < 8 ? rows - r0 : 8) {
      case 8: avx512_vnni::store_tile_exact<8>(cr, rt, e); break;
      case 7: avx512_vnni::store_tile_exact<7>(cr, rt, e); break;
      case 6: avx512_vnni::store_tile_exact<6>(cr, rt, e); break;
      case 5: avx512_vnni::store_tile_exact<5>(cr, rt, e); break;
      case 4: avx512_vnni::store_tile_exact<4>(cr, rt, e); break;
      case 3: avx512_vnni::store_tile_exact<3>(cr, rt, e); break;
      case 2: avx512_vnni::store_tile_exact<2>(cr, rt, e); break;
      default: avx512_vnni::store_tile_exact<1>(cr, rt, e); break;
    }
  }
}

/// The k loop of one block: Tiles (1 or 2) row tiles x 32 columns, C into tmm0..3 started at the
/// panel's initial row `init` (32 int32, every row of C; a tile load of stride 0), stored to c (32 int32
/// per row). a: the block's packed rows (packed_tile_bytes per row tile, 1 KiB per k block); b_tail: the
/// panel's last k block zero padded to 16 groups when it is short.
template <bool Signed, int Tiles>
QSPARSE_TARGET_AMX_INT8 __attribute__((noinline)) inline void block_k_loop(const std::uint8_t* a,
                                                                          std::ptrdiff_t packed_tile_bytes,
                                                                          std::ptrdiff_t kblocks,
                                                                          std::ptrdiff_t b_full_blocks,
                                                                          const std::int8_t* panel,
                                                                          const std::int8_t* b_tail,
                                                                          const std::int32_t* init,
                                                                          std::int32_t* c) {
  _tile_loadd(0, init, 0);
  _tile_loadd(1, init + 16, 0);
  if constexpr (Tiles == 2) {
    _tile_loadd(2, init, 0);
    _tile_loadd(3, init + 16, 0);
  }
  const std::uint8_t* a1 = a + packed_tile_bytes;
  for (std::ptrdiff_t kb = 0; kb < kblocks; ++kb) {
    const std::int8_t* b = kb < b_full_blocks ? panel + kb * 2048 : b_tail;
    _tile_loadd(6, b, 128);
    _tile_loadd(7, b + 64, 128);
    _tile_loadd(4, a + kb * 1024, 64);
    if constexpr (Signed) {
      _tile_dpbssd(0, 4, 6);
      _tile_dpbssd(1, 4, 7);
    } else {
      _tile_dpbusd(0, 4, 6);
      _tile_dpbusd(1, 4, 7);
    }
    if constexpr (Tiles == 2) {
      _tile_loadd(5, a1 + kb * 1024, 64);
      if constexpr (Signed) {
        _tile_dpbssd(2, 5, 6);
        _tile_dpbssd(3, 5, 7);
      } else {
        _tile_dpbusd(2, 5, 6);
        _tile_dpbusd(3, 5, 7);
      }
    }
  }
  _tile_stored(0, c, 128);
  _tile_stored(1, c + 16, 128);
  if constexpr (Tiles == 2) {
    _tile_stored(2, c + 16 * 32, 128);
    _tile_stored(3, c + 16 * 32 + 16, 128);
  }
}

/// The kernel: blocks of 32 rows x one 32-column panel.
struct gemm_x8s8_s32_32x32c4 {
  static constexpr int mr = 32;
  static constexpr int nr = 32;
  static constexpr int kr = 4;
  static constexpr isa_level isa = isa_level::amx_int8;
  static constexpr packed_layout layout = packed_layout::s8_c4_nr32;
  static const char* name() { return "gemm_x8s8_s32_32x32c4__amxint8"; }
  /// Its epilogue (the VNNI kernel's) evaluates dequantize_rows_float (qsparse/spec/hybrid_output_stage.hpp).
  static constexpr bool row_output_stage = true;

  /// A range of fewer rows runs the VNNI kernel (measured on Sapphire Rapids: docs/kernels.md).
  static constexpr std::ptrdiff_t min_rows = 2;

  template <class A, class... S>
  QSPARSE_TARGET_AMX_INT8 static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                          const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                          std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    using vnni = avx512_vnni::gemm_u8s8_s32_8x32c4;
    if (m_end - m_begin < min_rows) return vnni::run(g, pipeline, m_begin, m_end, panel_begin, panel_end);
    run_tiles(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }

  /// run without the VNNI fallback: every row on the tiles (the tests and the crossover measurement).
  template <class A, class... S>
  QSPARSE_TARGET_AMX_INT8 static void run_tiles(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                                const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                                std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                                std::ptrdiff_t panel_end) {
    constexpr bool is_signed = std::is_same_v<A, std::int8_t>;
    using out_type = typename output_pipeline<S...>::output_type;
    const std::int32_t w_zp = g.weights.weight_zero_point();
    // No sign flip: the column term is -a_zp (colsum[n] - K w_zp), modulo 2^32.
    const auto column_factor = static_cast<std::int32_t>(0u - static_cast<std::uint32_t>(g.a_zero_point));
    const auto k_wzp = static_cast<std::int32_t>(static_cast<std::uint32_t>(g.k) * static_cast<std::uint32_t>(w_zp));
    const std::int32_t* column_sums = g.weights.column_sums();
    const std::int64_t bound = avx512_vnni::accumulator_bound<A>(g.k, g.a_zero_point, w_zp);
    const avx512::fixed_point_packs_plan plan = avx512_vnni::plan_panel_epilogues(pipeline, bound);

    const std::ptrdiff_t k = g.k;
    const std::ptrdiff_t groups = g.weights.k_padded() / 4;
    const std::ptrdiff_t kblocks = (k + 63) / 64;
    const std::ptrdiff_t k64 = kblocks * 64;
    const std::ptrdiff_t b_full_blocks = groups / 16;  // blocks of 16 whole groups; a last short one is copied
    const std::ptrdiff_t a_full_blocks = k / 64;       // blocks of 64 bytes inside K
    const std::ptrdiff_t packed_tile_bytes = 16 * k64;
    // Rows in groups of 128 (256 when the weights pass 1 MiB and stream from beyond L2, so that they
    // stream fewer times), at most 1 MiB of them: each weight panel meets every block of the group in turn.
    const std::ptrdiff_t group_cap = std::max<std::ptrdiff_t>(32, (1 << 20) / k64 / 32 * 32);
    const std::ptrdiff_t group_rows = std::min<std::ptrdiff_t>(g.weights.size_bytes() > (1 << 20) ? 256 : 128, group_cap);
    const std::ptrdiff_t group_tiles = (std::min(group_rows, m_end - m_begin) + 15) / 16;

    // Scratch: the group's rows packed (per row tile, per k block, 16 rows x 64 bytes: contiguous tile
    // loads, no cache-set conflicts at power-of-two K, zero padded past K and past the last row), the
    // weights' short k block (16 x 128 bytes), C (32 x 32 int32) and the panel's initial row (32 int32).
    const std::ptrdiff_t total_lines = (group_tiles * packed_tile_bytes + 2048 + 4096 + 128) / 64;
    auto* base = reinterpret_cast<std::uint8_t*>(thread_scratch<scratch_line>(static_cast<std::size_t>(total_lines)));
    std::uint8_t* const packed_rows = base;
    auto* const b_tail = reinterpret_cast<std::int8_t*>(base + group_tiles * packed_tile_bytes);
    auto* const c = reinterpret_cast<std::int32_t*>(base + group_tiles * packed_tile_bytes + 2048);
    std::int32_t* const init = c + 32 * 32;
    std::int32_t row_term[256] = {};

    tile_config config{};
    config.palette = 1;
    for (int t = 0; t < 8; ++t) {
      config.rows[t] = 16;
      config.bytes_per_row[t] = 64;
    }
    _tile_loadconfig(&config);

    const auto* a_bytes = reinterpret_cast<const std::uint8_t*>(g.a);
    for (std::ptrdiff_t m_group = m_begin; m_group < m_end; m_group += group_rows) {
      const std::ptrdiff_t group_end = std::min(m_end, m_group + group_rows);
      const int tiles = static_cast<int>((group_end - m_group + 15) / 16);
      for (int t = 0; t < tiles; ++t) {
        const std::ptrdiff_t first_row = m_group + 16 * t;
        const int trows = static_cast<int>(std::min<std::ptrdiff_t>(16, group_end - first_row));
        std::uint8_t* const packed = packed_rows + t * packed_tile_bytes;
        if (trows < 16 || k % 64 != 0) std::memset(packed, 0, static_cast<std::size_t>(packed_tile_bytes));
        for (int r = 0; r < trows; ++r) {
          const std::uint8_t* row = a_bytes + (first_row + r) * g.lda;
          std::ptrdiff_t kb = 0;
          for (; kb < a_full_blocks; ++kb) std::memcpy(packed + kb * 1024 + r * 64, row + kb * 64, 64);
          if (kb < kblocks) std::memcpy(packed + kb * 1024 + r * 64, row + kb * 64, static_cast<std::size_t>(k - kb * 64));
        }
        if (w_zp != 0) {
          for (int r = 0; r < trows; ++r) {
            const A* row = g.a + (first_row + r) * g.lda;
            std::uint32_t sum = 0;
            for (std::ptrdiff_t kk = 0; kk < k; ++kk) sum += static_cast<std::uint32_t>(static_cast<std::int32_t>(row[kk]));
            row_term[16 * t + r] = static_cast<std::int32_t>(0u - sum * static_cast<std::uint32_t>(w_zp));
          }
        }
      }
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto* panel = static_cast<const std::int8_t*>(g.weights.panel(p));
        if (b_full_blocks < kblocks) {  // the weights' last k block has fewer than 16 groups
          std::memset(b_tail, 0, 2048);
          std::memcpy(b_tail, panel + b_full_blocks * 2048, static_cast<std::size_t>((groups - b_full_blocks * 16) * 128));
        }
        auto e = avx512_vnni::prepare_panel_epilogue<out_type>(pipeline, column_sums, k_wzp, column_factor, g.n,
                                                               p * nr, g.ldd, bound, plan);
        _mm512_store_si512(init, e.init[0]);
        _mm512_store_si512(init + 16, e.init[1]);
        for (int t = 0; t < tiles; t += 2) {
          const std::ptrdiff_t m0 = m_group + 16 * t;
          const std::uint8_t* a = packed_rows + t * packed_tile_bytes;
          if (t + 1 < tiles) {
            block_k_loop<is_signed, 2>(a, packed_tile_bytes, kblocks, b_full_blocks, panel, b_tail, init, c);
          } else {
            block_k_loop<is_signed, 1>(a, packed_tile_bytes, kblocks, b_full_blocks, panel, b_tail, init, c);
          }
          finish_block(c, static_cast<int>(std::min<std::ptrdiff_t>(32, group_end - m0)),
                       w_zp != 0 ? row_term + 16 * t : nullptr, e, m0, g.dst + m0 * g.ldd + p * nr, g.ldd);
        }
      }
    }
    _tile_release();
  }
};

}  // namespace amx_int8
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
