#!/usr/bin/env python3
"""scripts/mca_arm_tiles.py — the predicted throughput of qsparse's aarch64 int8 GEMM tiles, on paper.

No ARM machine is at hand, so this asks LLVM's scheduling models instead: it compiles the tiles'
`multiply<4>` (the full 4-row tile) for aarch64 with each cross compiler at -O2, cuts the k loop out of the
assembly (the loop with the most sdot / smmla), and runs `llvm-mca-16` on it for each core. The peak is what
the same tool predicts for a block of independent sdot (or smmla) on that core, so the percentage compares
the loop with the core's own multiply-add limit as the model sees it:

    MACs/cycle = (16 per sdot, 32 per smmla) x instructions per iteration / predicted cycles per iteration

    scripts/mca_arm_tiles.py                      the table (Markdown) for the default cores
    scripts/mca_arm_tiles.py --cores neoverse-n2  one core
    scripts/mca_arm_tiles.py --show-loops         also print each extracted loop
    scripts/mca_arm_tiles.py --asm NAME=FILE.s    add any other loop to compare (an assembly file, e.g. a
                                                  peer's kernel: the loop with the most MACs in it is taken)
    scripts/mca_arm_tiles.py --xnnpack DIR        add XNNPACK's hand-written aarch64 4x16c4 sdot kernels
                                                  (the k loop of its .S files read as text from a checkout)

Needs (Debian): llvm-16 (llvm-mca-16; LLVM 14's llvm-mca has one generic AArch64 model and predicts the
same cycles for every core), g++-aarch64-linux-gnu, clang. A compiler that is missing is skipped.
Only Cortex-A55 has its own model among the little cores; cortex-a76 uses LLVM 16's Neoverse N1 model.
Prints the table to stdout; exits non-zero when llvm-mca-16 or both compilers are missing.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MCA = "llvm-mca-16"
ITERATIONS = 200

# The cores of the issue: the in-order little core, the dot-product big cores, the i8mm server cores.
DEFAULT_CORES = ["cortex-a55", "cortex-a76", "neoverse-n1", "neoverse-n2", "neoverse-v1"]
I8MM_CORES = {"neoverse-n2", "neoverse-v1", "neoverse-v2", "cortex-a510", "cortex-a710", "cortex-x2"}

MACS = {"sdot": 16, "udot": 16, "usdot": 16, "smmla": 32, "ummla": 32, "usmmla": 32, "smlal": 4, "smlal2": 4, "smull": 4, "smull2": 4}  # smull / smlal: 4 int32 lanes (see macs_of_line)

# (row label, fragments of the function names that may hold the loop (the first one found with a multiply-add
# loop is taken: a compiler may or may not inline a helper), ISA feature its instructions need)
TILES = [
    ("gemm_x8s8_s32_4x16c4__neondotprod", ["gemm_4x16c4_k16_blocks", "neon_dotprod20gemm_x8s8_s32_4x16c48multiplyILi4E"],
     "dotprod"),
    ("gemm_x8s8_s32_4x16c8__neoni8mm", ["neon_i8mm20gemm_x8s8_s32_4x16c88multiplyILi4E"], "i8mm"),
    ("gemm_x8s8_s32_4x8c4__neondotprod (K = 27)", ["qsparse_mca_shallow"], "dotprod"),
    ("spgemm_block4_x8s8_s32_4x16c4__neondotprod", ["spgemm_block_tile_4x16ILi4E"], "dotprod"),
    ("spgemm_2of4_x8s8_s32_4x16c4__neondotprod", ["spgemm_2of4_tile_4x16ILi4E"], "dotprod"),
    ("dwconv_s8s8_s32_c16__neon (3x3, 4 pixels x 8 channels)", ["dwconv3x3_c8x4_a55", "dwconv_s8s8_s32_c166block9", "qsparse_mca_dwconv"], ""),
    ("gemm_s16s8_s64_4x16c1__neon (16x8)", ["gemm_s16s8_s64_4x16c14tileILi4E"], ""),
]

# Loops without multiply-adds whose cost the MAC loops leave out: (row label, function-name fragments, a
# mnemonic that identifies the loop). Printed as cycles per iteration in a second table.
EPILOGUES = [
    ("dwconv_s8s8_s32_c16__neon 3x3 output stages (4 channels of one pixel)", ["dwconv_s8s8_s32_c166block9", "qsparse_mca_dwconv"],
     "sqrdmulh"),
]

TRANSLATION_UNIT = """\
#include "qsparse/kernels/neon/dwconv_s8s8_s32_c16.hpp"
#include "qsparse/kernels/neon/gemm_s16s8_s64_4x16c1.hpp"
#include "qsparse/kernels/neondotprod/gemm_x8s8_s32_4x16c4.hpp"
#include "qsparse/kernels/neondotprod/gemm_x8s8_s32_4x8c4.hpp"
#include "qsparse/kernels/neondotprod/spgemm_2of4_x8s8_s32_4x16c4.hpp"
#include "qsparse/kernels/neondotprod/spgemm_block4_x8s8_s32_4x16c4.hpp"
#include "qsparse/kernels/neoni8mm/gemm_x8s8_s32_4x16c8.hpp"
template void qsparse::kernels::neon_dotprod::gemm_x8s8_s32_4x16c4::multiply<4>(
    const std::int8_t*, std::ptrdiff_t, std::ptrdiff_t, const void*, std::int32_t*);
template void qsparse::kernels::neon_i8mm::gemm_x8s8_s32_4x16c8::multiply<4>(
    const std::int8_t*, std::ptrdiff_t, std::ptrdiff_t, const void*, std::int32_t*);
template void qsparse::kernels::neon_dotprod::spgemm_block_tile_4x16<4>(
    const std::int8_t*, std::ptrdiff_t, const std::uint32_t*, const std::int8_t*, std::int64_t, std::ptrdiff_t,
    std::int32_t*);
template void qsparse::kernels::neon_dotprod::spgemm_2of4_tile_4x16<4>(
    const std::int8_t*, std::ptrdiff_t, const std::uint8_t*, const std::int8_t*, std::ptrdiff_t, std::int32_t*);
// The shallow tile at K = 27 (7 k groups), int8 rows: its loop over the tiles of 4 rows of a half panel,
// without the epilogue (as for the other tiles: the multiply-adds and their loads).
extern "C" QSPARSE_TARGET_NEON_DOTPROD void qsparse_mca_shallow(const std::int8_t* a, std::ptrdiff_t lda,
                                                                std::ptrdiff_t m, const std::int8_t* panel,
                                                                std::int32_t* sums) {
  using tile = qsparse::kernels::neon_dotprod::gemm_x8s8_s32_4x8c4;
  int8x16_t w[7][2];
  for (int g = 0; g < 7; ++g) {
    w[g][0] = vld1q_s8(panel + 64 * g);
    w[g][1] = vld1q_s8(panel + 64 * g + 16);
  }
  for (std::ptrdiff_t r = 0; r + 4 <= m; r += 4)
    tile::tile<7, false, 4>(a + r * lda, lda, w, sums + 32 * (r & 1), std::make_integer_sequence<int, 7>{});
}
template void qsparse::kernels::neon::gemm_s16s8_s64_4x16c1::tile<4>(
    const std::int16_t*, std::ptrdiff_t, std::ptrdiff_t, const std::int16_t*, std::int64_t*);
// The depthwise kernel with TFLite's per-channel int8 epilogue: its 3x3 per-pixel loop includes the epilogue.
using dw_pipeline = qsparse::output_pipeline<qsparse::requantize_fixed_point_per_channel<qsparse::double_rounding>,
                                             qsparse::add_zero_point, qsparse::clamp, qsparse::saturating_cast<std::int8_t>>;
extern "C" void qsparse_mca_dwconv(const qsparse::kernels::dwconv_args<std::int8_t>& g, const dw_pipeline& p) {
  qsparse::kernels::neon::dwconv_s8s8_s32_c16::run(g, p);
}
"""

COMPILERS = [
    ("GCC 12", ["aarch64-linux-gnu-g++"]),
    ("Clang 14", ["clang++", "--target=aarch64-linux-gnu", "--sysroot=/usr/aarch64-linux-gnu"]),
]

# XNNPACK's hand-written 4x16c4 sdot kernels (the inner loops are the same for qs8 and qs8-qc8w).
XNNPACK_KERNELS = [
    ("XNNPACK 4x16c4 neondot ld128 (asm)",
     "src/qs8-qc8w-gemm/gen/qs8-qc8w-gemm-4x16c4-minmax-fp32-asm-aarch64-neondot-ld128.S"),
    ("XNNPACK 4x16c4 neondot cortex-a55 (asm)",
     "src/qs8-qc8w-gemm/gen/qs8-qc8w-gemm-4x16c4-minmax-fp32-asm-aarch64-neondot-cortex-a55.S"),
]


def mnemonic(line):
    m = re.match(r"\s*([A-Za-z][\w.]*)", line)
    return m.group(1).lower() if m else ""


def macs_of_line(line):
    """MACs of one instruction: a widening multiply into 8 int16 lanes (int8 x int8, as XNNPACK's mla8 / mul8
    depthwise kernels use) does 8, into 4 int32 lanes 4."""
    n = MACS.get(mnemonic(line), 0)
    if n == 4 and re.match(r"\s*[a-z0-9]+\s+v\d+\.8h\s*,", line, re.IGNORECASE):  # the destination
        n = 8
    return n


def macs_of(lines):
    return sum(macs_of_line(l) for l in lines)


def clean(line):
    """An assembly line without comments; '' for directives, labels, markers."""
    line = re.sub(r"//.*", "", line)
    line = re.sub(r"(^|\s)#(?![\d-]).*", "", line)  # '#' comments, not immediates like #16 or #-32
    s = line.strip()
    if not s or s.startswith(".") or s.endswith(":") or s.startswith("#"):
        return ""
    return s


def loops_in(lines):
    """Every backward branch to a local label: (label line, branch line, [instructions from one to the other])."""
    label_at = {}
    for i, raw in enumerate(lines):
        m = re.match(r"\s*([.\w$]+):", raw)
        if m:
            label_at[m.group(1)] = i
    found = []
    for i, raw in enumerate(lines):
        s = clean(raw)
        if not s:
            continue
        m = re.match(r"(b\.?(?:eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le)|b|cbnz|cbz|tbnz|tbz)\s+"
                     r"(?:[^,]+,\s*)*([.\w$]+)\s*$", s, re.IGNORECASE)  # GCC writes bne, Clang b.ne
        if not m:
            continue
        target = m.group(2)
        numeric = re.fullmatch(r"(\d+)b", target)  # GNU local labels: "1b" is the last "1:" before
        start = None
        if numeric:
            for j in range(i - 1, -1, -1):
                if re.match(r"\s*%s:" % numeric.group(1), lines[j]):
                    start = j
                    break
        elif target in label_at and label_at[target] < i:
            start = label_at[target]
        if start is None:
            continue
        body = [clean(l) for l in lines[start:i + 1]]
        body = [l for l in body if l]
        body[-1] = re.sub(r"\b\d+b\s*$", ".Lk_loop", body[-1])  # "b.hs 1b": a label llvm-mca can resolve
        found.append((start, i, body))
    return found


def hottest_loop(lines):
    """The innermost loop (no other loop inside it) with the most multiply-adds: the k loop. An outer
    loop around it (over columns, or a hand-written kernel's loop over tiles) would count its epilogue."""
    loops = loops_in(lines)
    inner = [lp for lp in loops
             if not any(o is not lp and lp[0] <= o[0] and o[1] <= lp[1] and (o[0], o[1]) != (lp[0], lp[1])
                        for o in loops)]
    if not inner:
        return None
    return max(inner, key=lambda lp: (macs_of(lp[2]), -len(lp[2])))[2]


def function_lines(asm, fragment):
    lines = asm.splitlines()
    start = next((i for i, l in enumerate(lines) if re.match(r"\S*%s\S*:" % re.escape(fragment), l)), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip().startswith(".size")), len(lines))
    return lines[start:end]


def mca_run(loop, core, attrs):
    cmd = [MCA, "-mtriple=aarch64-linux-gnu", "-mcpu=" + core, "-iterations=%d" % ITERATIONS]
    if attrs:
        cmd.append("-mattr=" + ",".join("+" + a for a in attrs))
    out = subprocess.run(cmd, input="\n".join(loop) + "\n", capture_output=True, text=True)
    if out.returncode != 0 or "error:" in out.stderr:
        raise RuntimeError("%s failed on %s: %s" % (MCA, core, out.stderr.strip().splitlines()[:3]))
    return out.stdout


def mca_cycles(loop, core, attrs):
    """Predicted cycles per iteration of `loop` on `core` (steady state over ITERATIONS iterations)."""
    report = mca_run(loop, core, attrs)
    iterations = int(re.search(r"Iterations:\s+(\d+)", report).group(1))
    cycles = int(re.search(r"Total Cycles:\s+(\d+)", report).group(1))
    return cycles / iterations


def model_of(core):
    """The scheduling model llvm-mca uses for `core`, from its resource names (e.g. N2UnitV0 -> N2): several
    cores share another's model (LLVM 16: cortex-a76 and neoverse-n1 use Cortex-A57's, neoverse-v1 N2's)."""
    report = mca_run(["add x0, x0, #1"], core, [])
    m = re.search(r"Resources:\s*\n\[[\d.]+\]\s+-\s+(\w+?)Unit", report)
    return m.group(1) if m else "?"


def peak_loop(kind):
    """24 independent multiply-adds (accumulators v8..v31, sources v0..v7): the core's MAC limit."""
    lines = []
    for i in range(24):
        acc, x, y = 8 + i, i % 8, (i + 3) % 8
        if kind == "smlal":
            lines.append(("smlal v%d.4s, v%d.4h, v%d.4h" if i % 2 == 0 else "smlal2 v%d.4s, v%d.8h, v%d.8h") % (acc, x, y))
        elif kind == "smmla":
            lines.append("smmla v%d.4s, v%d.16b, v%d.16b" % (acc, x, y))
        else:
            lines.append("sdot v%d.4s, v%d.16b, v%d.4b[%d]" % (acc, x, y, i % 4))
    return lines


def compile_tiles(workdir, compiler_cmd):
    src = os.path.join(workdir, "tiles.cpp")
    with open(src, "w") as f:
        f.write(TRANSLATION_UNIT)
    out = os.path.join(workdir, "tiles.s")
    cmd = compiler_cmd + ["-std=c++17", "-O2", "-S", "-I", os.path.join(REPO, "include"), src, "-o", out]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    with open(out) as f:
        return f.read()


def xnnpack_loop(path):
    with open(path) as f:
        lines = f.read().splitlines()
    return hottest_loop(lines)


def main():
    global MCA
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cores", nargs="+", default=DEFAULT_CORES)
    ap.add_argument("--asm", action="append", default=[], metavar="NAME=FILE.s",
                    help="another loop to compare: the loop with the most MACs in FILE.s")
    ap.add_argument("--xnnpack", metavar="DIR", help="an XNNPACK checkout: add its aarch64 4x16c4 sdot kernels")
    ap.add_argument("--show-loops", action="store_true")
    ap.add_argument("--mca", default=MCA, help="the llvm-mca to run (default %(default)s)")
    args = ap.parse_args()
    MCA = args.mca

    if shutil.which(MCA) is None:
        print("mca_arm_tiles: %s not found (Debian: apt-get install llvm-16)" % MCA, file=sys.stderr)
        return 1

    loops = []  # (name, compiler, instructions)
    epilogues = []  # the same for EPILOGUES
    with tempfile.TemporaryDirectory() as work:
        for label, cmd in COMPILERS:
            if shutil.which(cmd[0]) is None:
                print("mca_arm_tiles: %s (%s) not found: skipped" % (label, cmd[0]), file=sys.stderr)
                continue
            asm = compile_tiles(work, cmd)
            for name, fragments, _ in TILES:
                loop = None
                for fragment in fragments:
                    body = function_lines(asm, fragment)
                    loop = hottest_loop(body) if body else None
                    if loop and macs_of(loop) > 0:
                        break
                if not loop or macs_of(loop) == 0:
                    raise RuntimeError("no multiply-add loop found for %s in %s's assembly" % (name, label))
                loops.append((name, label, loop))
            for name, fragments, marker in EPILOGUES:
                for fragment in fragments:
                    body = function_lines(asm, fragment)
                    every = loops_in(body or [])
                    innermost = [lp for lp in every if not any(o is not lp and lp[0] <= o[0] and o[1] <= lp[1]
                                                                 for o in every)]
                    found = [lp[2] for lp in innermost if marker in (mnemonic(l) for l in lp[2])]
                    if found:  # the loop with the most of them (an unrolled one), per marker instruction
                        loop = max(found, key=lambda lp: (sum(mnemonic(l) == marker for l in lp), -len(lp)))
                        epilogues.append((name, label, loop, sum(mnemonic(l) == marker for l in loop)))
                        break
    if not loops:
        print("mca_arm_tiles: no compiler for aarch64 found", file=sys.stderr)
        return 1
    if args.xnnpack:
        for name, rel in XNNPACK_KERNELS:
            path = os.path.join(args.xnnpack, rel)
            if not os.path.exists(path):
                print("mca_arm_tiles: %s not found: skipped" % path, file=sys.stderr)
                continue
            loops.append((name, "hand-written", xnnpack_loop(path)))
    for spec in args.asm:
        name, _, path = spec.partition("=")
        with open(path) as f:
            loop = hottest_loop(f.read().splitlines())
        if not loop or macs_of(loop) == 0:
            raise RuntimeError("no multiply-add loop found in " + path)
        loops.append((name, "--asm", loop))

    peaks = {}
    version = subprocess.run([MCA, "--version"], capture_output=True, text=True).stdout
    version = re.search(r"LLVM version ([\d.]+)", version)
    print("%s (LLVM %s), %d iterations; peak = 24 independent sdot / smmla / smlal on the same model\n"
          % (os.path.basename(MCA), version.group(1) if version else "?", ITERATIONS))
    print("| core (model) | kernel | compiled by | instructions / iteration | MACs / iteration | cycles / iteration "
          "| MACs / cycle | peak MACs / cycle | of peak |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for core in args.cores:
        model = model_of(core)
        for name, compiler, loop in loops:
            names = [mnemonic(l) for l in loop]
            kind = ("smmla" if any(n.endswith("mmla") for n in names)
                    else "sdot" if any(n.endswith("dot") for n in names) else "smlal")
            if kind == "smmla" and core not in I8MM_CORES:
                continue  # the core has no i8mm
            attrs = ["dotprod"] + (["i8mm"] if kind == "smmla" else [])
            if (core, kind) not in peaks:
                peak_cycles = mca_cycles(peak_loop(kind), core, attrs)
                peaks[(core, kind)] = MACS[kind] * 24 / peak_cycles
            cycles = mca_cycles(loop, core, attrs)
            macs = macs_of(loop)
            rate = macs / cycles
            print("| %s (%s) | %s | %s | %d | %d | %.1f | %.1f | %.1f | %.0f %% |"
                  % (core, model, name, compiler, len(loop), macs, cycles, rate, peaks[(core, kind)],
                     100.0 * rate / peaks[(core, kind)]))
    if epilogues:
        print("\n| core (model) | loop | compiled by | instructions / 4 channels | cycles / 4 channels |")
        print("| --- | --- | --- | ---: | ---: |")
        for core in args.cores:
            model = model_of(core)
            for name, compiler, loop, per in epilogues:
                print("| %s (%s) | %s | %s | %d | %.1f |" % (core, model, name, compiler, len(loop) // per,
                                                           mca_cycles(loop, core, ["dotprod"]) / per))
    if args.show_loops:
        for name, compiler, loop in loops + [e[:3] for e in epilogues]:
            print("\n%s (%s), %d instructions:" % (name, compiler, len(loop)))
            print("\n".join("    " + l for l in loop))
    return 0


if __name__ == "__main__":
    sys.exit(main())
