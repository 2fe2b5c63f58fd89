// qsparse/kernels/drivers/row_tiles.hpp — the ISA-neutral driver of the GEMM tiles that read their
// activation rows from a per-thread copy (int16 rows: the int8 GEMM on AVX2 / AVX-512BW and the 16x8 GEMM
// on every SIMD ISA), and the row-count dispatch every tile family shares.
//
// The driver owns what is the same on every ISA: the scratch, the loop over tiles of MR rows and panels
// of NR columns, the short last tile (a runtime row count reaches the MR instantiation that fits), the
// blocking of exact int32 sums into int64 ones (16x8) and the scalar epilogue. A tile contributes only
// what needs its instruction set:
//
//   struct Tile {
//     static constexpr int mr, nr;
//     using row_type = ...;                       // the scratch rows' element type
//     using sum_type = std::int32_t or int64_t;   // the tile's sums handed to store()
//     template <int MR> static void multiply(const row_type* rows, std::ptrdiff_t ld, std::ptrdiff_t k_padded,
//                                            const void* panel, sum_type* sums);   // MR x NR, row stride NR
//     template <class G> static void load_row(const G&, std::ptrdiff_t m, row_type* out);  // padded to k_padded
//     template <class G, class Pipeline> static void store(const G&, const Pipeline&, const sum_type* sums,
//                                                          int rows, std::ptrdiff_t m0, std::ptrdiff_t n0);
//   };
//
// A tile whose sums still need a per-row term (raw int8 weights with a zero point: - w_zp Σ_k a[m][k])
// declares `static constexpr bool row_sums = true;`; its load_row then also returns the row's int32 sum,
// load_row(g, m, out) -> std::int32_t, and its store receives them after `sums` (const std::int32_t*
// row_sums, one per row of the tile).
//
// A tile that lays its rows out other than one after the other (the i8mm tile interleaves row pairs)
// declares `static constexpr bool loads_tile_rows = true;` and replaces load_row by
// load_rows(g, m0, rows, out, row_sums): rows m0 .. m0 + rows - 1 into the scratch of MR x k_padded
// elements at `out`, their sums (when row_sums) into row_sums[0 .. rows - 1]. Its multiply then receives
// that scratch with ld = k_padded.
//
// Target attributes: the tile's functions carry its ISA's attribute; the kernel's `run`, also carrying it,
// calls run_row_tiles, which is always inlined, so the loops compile for the tile's ISA and its calls stay
// calls between functions of one target (no vector type ever crosses an ISA-neutral signature, which GCC
// and Clang reject). The drivers include nothing ISA-specific.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {
namespace kernels {
namespace drivers {

/// True when Tile declares `static constexpr bool row_sums = true` (see the top of this header).
template <class Tile, class = void>
struct tile_has_row_sums : std::false_type {};
template <class Tile>
struct tile_has_row_sums<Tile, std::enable_if_t<Tile::row_sums>> : std::true_type {};

/// True when Tile declares `static constexpr bool loads_tile_rows = true` (see the top of this header).
template <class Tile, class = void>
struct tile_loads_rows : std::false_type {};
template <class Tile>
struct tile_loads_rows<Tile, std::enable_if_t<Tile::loads_tile_rows>> : std::true_type {};

/// Calls Tile::multiply<R> with R = rows (1 <= rows <= MR): the short last tile of a block reaches the
/// instantiation of its own height, so no tile computes rows it does not store.
template <class Tile, int MR = Tile::mr, class... Args>
QSPARSE_ALWAYS_INLINE void multiply_rows(int rows, Args... args) {
  if constexpr (MR > 1) {
    if (rows < MR) return multiply_rows<Tile, MR - 1>(rows, args...);
  }
  Tile::template multiply<MR>(args...);
}

/// Exact int64 sums of MR rows of int16 pairs: Tile::block<MR> sums at most Tile::block_pairs pairs
/// exactly in int32 (stored to `part`, MR x NR), each block is then added into the int64 sums.
template <class Tile, int MR>
QSPARSE_ALWAYS_INLINE void multiply_in_blocks(const std::int16_t* rows, std::ptrdiff_t ld, std::ptrdiff_t k_padded,
                                              const std::int16_t* panel, std::int64_t* sums) {
  constexpr int nr = Tile::nr;
  const std::ptrdiff_t pairs = k_padded / 2;
  for (int i = 0; i < MR * nr; ++i) sums[i] = 0;
  alignas(64) std::int32_t part[std::size_t{MR * nr}];
  for (std::ptrdiff_t q0 = 0; q0 < pairs; q0 += Tile::block_pairs) {
    const std::ptrdiff_t q1 = pairs - q0 < Tile::block_pairs ? pairs : q0 + Tile::block_pairs;
    Tile::template block<MR>(rows, ld, q0, q1, panel + q0 * 2 * nr, part);
    for (int i = 0; i < MR * nr; ++i) sums[i] += part[i];  // sign-extended into the int64 sums
  }
}

/// Row m of g's activations copied to `out` and zero padded to k_padded.
template <class G, class Row>
QSPARSE_ALWAYS_INLINE void copy_row(const G& g, std::ptrdiff_t m, Row* out) {
  const std::ptrdiff_t kp = g.weights.k_padded();
  std::memcpy(out, g.a + m * g.lda, static_cast<std::size_t>(g.k) * sizeof(Row));
  for (std::ptrdiff_t kk = g.k; kk < kp; ++kk) out[kk] = 0;
}

/// The scalar epilogue: dst[m0 + r][n0 + j] = evaluate(pipeline, sums[r][j], m0 + r, n0 + j).
template <int NR, class G, class Pipeline, class Sum>
QSPARSE_ALWAYS_INLINE void store_evaluated(const G& g, const Pipeline& pipeline, const Sum* sums, int rows,
                                           std::ptrdiff_t m0, std::ptrdiff_t n0) {
  const std::ptrdiff_t columns = g.n - n0 < NR ? g.n - n0 : NR;
  for (int r = 0; r < rows; ++r) {
    auto* dst = g.dst + (m0 + r) * g.ldd + n0;
    for (std::ptrdiff_t j = 0; j < columns; ++j) dst[j] = evaluate(pipeline, sums[r * NR + j], m0 + r, n0 + j);
  }
}

/// What every 16x8 tile (int16 rows x int16-packed int8 weights, exact int64 sums) shares; the tile
/// (CRTP: Self) adds its mr, nr, kr, isa, name() and block<MR>, the exact int32 pair sums of at most
/// block_pairs pairs (255 * 2 * 32768 * 128 < 2^31), and a `run` with its target attribute.
template <class Self>
struct s16s8_s64_tile {
  using row_type = std::int16_t;
  using sum_type = std::int64_t;
  static constexpr std::ptrdiff_t block_pairs = 255;

  template <int MR>
  QSPARSE_ALWAYS_INLINE static void multiply(const std::int16_t* rows, std::ptrdiff_t ld, std::ptrdiff_t k_padded,
                                             const void* panel, std::int64_t* sums) {
    multiply_in_blocks<Self, MR>(rows, ld, k_padded, static_cast<const std::int16_t*>(panel), sums);
  }
  template <class G>
  QSPARSE_ALWAYS_INLINE static void load_row(const G& g, std::ptrdiff_t m, std::int16_t* out) {
    copy_row(g, m, out);
  }
  template <class G, class Pipeline>
  QSPARSE_ALWAYS_INLINE static void store(const G& g, const Pipeline& pipeline, const std::int64_t* sums, int rows,
                                          std::ptrdiff_t m0, std::ptrdiff_t n0) {
    store_evaluated<Self::nr>(g, pipeline, sums, rows, m0, n0);
  }
};

/// What the tiles that multiply signed bytes by raw int8 weights with int32 sums share (NEON sdot and
/// smmla): rows copied as int8 a_s = a - o (o = 0 for int8, 128 for uint8: the sign bit flipped) and zero
/// padded, their sums returned for the zero-point terms (row_sums), and a store that adds those terms
/// (modulo 2^32: exact, because the entry point guarantees the true sum fits int32) before the scalar
/// epilogue:
///   Σ_k (a - a_zp)(w - w_zp) = Σ_k a_s w - (a_zp - o)(colsum[n] - K w_zp) - w_zp Σ_k a_s.
/// The tile (CRTP: Self) adds mr, nr, kr, isa, layout, name(), multiply<MR> (sums[r][n] = Σ_k a_s[r][k]
/// w[k][n] over the padded K, modulo 2^32) and a `run` with its target attribute.
template <class Self>
struct s8s8_s32_tile {
  using row_type = std::int8_t;
  using sum_type = std::int32_t;
  static constexpr bool row_sums = true;

  /// Row m as int8 a_s = a - o, zero padded to the padded K; returns Σ_k a_s.
  template <class G>
  static std::int32_t load_row(const G& g, std::ptrdiff_t m, std::int8_t* out) {
    return load_row_chunks<1, 1>(g, m, out);
  }

  /// Row m as load_row, its k in chunks of Chunk elements placed Stride elements apart: element k at
  /// out[k / Chunk * Stride + k % Chunk] (Stride = 2 Chunk interleaves two rows chunk by chunk).
  template <int Chunk, int Stride, class G>
  static std::int32_t load_row_chunks(const G& g, std::ptrdiff_t m, std::int8_t* out) {
    using A = std::remove_const_t<std::remove_pointer_t<decltype(g.a)>>;
    static_assert(std::is_same_v<A, std::int8_t> || std::is_same_v<A, std::uint8_t>,
                  "qsparse: the signed-byte GEMM tiles read int8 or uint8 activations.");
    constexpr unsigned flip = std::is_same_v<A, std::uint8_t> ? 0x80u : 0u;
    const A* src = g.a + m * g.lda;
    const std::ptrdiff_t kp = g.weights.k_padded();
    std::int32_t sum = 0;
    for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) {
      const auto v = static_cast<std::int8_t>(static_cast<std::uint8_t>(static_cast<std::uint8_t>(src[kk]) ^ flip));
      out[kk / Chunk * Stride + kk % Chunk] = v;
      sum += v;
    }
    for (std::ptrdiff_t kk = g.k; kk < kp; ++kk) out[kk / Chunk * Stride + kk % Chunk] = 0;
    return sum;
  }

  /// The zero-point terms added to the sums (modulo 2^32), then the scalar epilogue.
  template <class G, class Pipeline>
  static void store(const G& g, const Pipeline& pipeline, const std::int32_t* sums, const std::int32_t* row_sums_of_tile,
                    int rows, std::ptrdiff_t m0, std::ptrdiff_t n0) {
    using A = std::remove_const_t<std::remove_pointer_t<decltype(g.a)>>;
    constexpr int nr = Self::nr;
    constexpr std::int32_t offset = std::is_same_v<A, std::uint8_t> ? 128 : 0;
    const auto a_zp = static_cast<std::uint32_t>(g.a_zero_point - offset);
    const auto w_zp = static_cast<std::uint32_t>(g.weights.weight_zero_point());
    const std::uint32_t k_wzp = static_cast<std::uint32_t>(g.k) * w_zp;
    const std::int32_t* column_sums = g.weights.column_sums() + n0;  // padded to NR: in bounds
    alignas(16) std::int32_t exact[std::size_t{Self::mr * nr}];
    for (int r = 0; r < rows; ++r) {
      const std::uint32_t row_term = w_zp * static_cast<std::uint32_t>(row_sums_of_tile[r]);
      for (int j = 0; j < nr; ++j) {
        const std::uint32_t column_term = a_zp * (static_cast<std::uint32_t>(column_sums[j]) - k_wzp);
        exact[r * nr + j] =
            static_cast<std::int32_t>(static_cast<std::uint32_t>(sums[r * nr + j]) - column_term - row_term);
      }
    }
    store_evaluated<nr>(g, pipeline, static_cast<const std::int32_t*>(exact), rows, m0, n0);
  }
};

/// Rows [m_begin, m_end) x panels [panel_begin, panel_end) of g (gemm_args or gemm_panel_args): each tile's
/// rows are loaded once into the scratch, then meet every panel.
template <class Tile, class G, class Pipeline>
QSPARSE_ALWAYS_INLINE void run_row_tiles(const G& g, const Pipeline& pipeline, std::ptrdiff_t m_begin,
                                         std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
  using row_type = typename Tile::row_type;
  constexpr int mr = Tile::mr;
  constexpr int nr = Tile::nr;
  const std::ptrdiff_t kp = g.weights.k_padded();
  row_type* rows_copy = thread_scratch<row_type>(static_cast<std::size_t>(mr * kp));
  alignas(64) typename Tile::sum_type sums[std::size_t{mr * nr}];
  std::int32_t row_sums[std::size_t{mr}] = {};
  for (std::ptrdiff_t m0 = m_begin; m0 < m_end; m0 += mr) {
    const int rows = static_cast<int>(m_end - m0 < mr ? m_end - m0 : mr);
    if constexpr (tile_loads_rows<Tile>::value) {
      Tile::load_rows(g, m0, rows, rows_copy, static_cast<std::int32_t*>(row_sums));
    } else {
      for (int r = 0; r < rows; ++r) {
        if constexpr (tile_has_row_sums<Tile>::value) {
          row_sums[r] = Tile::load_row(g, m0 + r, rows_copy + r * kp);
        } else {
          Tile::load_row(g, m0 + r, rows_copy + r * kp);
        }
      }
    }
    for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
      multiply_rows<Tile>(rows, static_cast<const row_type*>(rows_copy), kp, kp, g.weights.panel(p),
                          static_cast<typename Tile::sum_type*>(sums));
      if constexpr (tile_has_row_sums<Tile>::value) {
        Tile::store(g, pipeline, static_cast<const typename Tile::sum_type*>(sums),
                    static_cast<const std::int32_t*>(row_sums), rows, m0, p * nr);
      } else {
        Tile::store(g, pipeline, static_cast<const typename Tile::sum_type*>(sums), rows, m0, p * nr);
      }
    }
  }
}

}  // namespace drivers
}  // namespace kernels
}  // namespace qsparse
