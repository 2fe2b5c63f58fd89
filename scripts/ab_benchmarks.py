#!/usr/bin/env python3
"""Alternating A/B of benchmark binaries from two builds, and a count of the hot instructions they contain.

  python3 scripts/ab_benchmarks.py time BASE_BUILD HEAD_BUILD [--rounds 3] [--min-time 0.3] \
      --run gemm_benchmark 'BM_gemm_x8s8.*' [--run conv_benchmark 'conv/qsparse/dw' QSPARSE_ISA_CEILING=avx512]
  python3 scripts/ab_benchmarks.py code BASE_BUILD HEAD_BUILD --run gemm_variants_benchmark 's16s8_s64|f32f16'

BASE_BUILD / HEAD_BUILD are build folders made with -DQSPARSE_BUILD_BENCHMARKS=ON (Release); binaries are read
from <build>/benchmarks/. `time` runs every (binary, filter) of base then head, round after round, and prints a
Markdown table of medians and head/base ratios: interleaving spreads the machine's load over both sides.
`code` disassembles both binaries (objdump) and, over every function whose name matches the pattern, counts
the multiply-add, conversion and streaming instructions and the calls: equal counts mean the hot loops are the
same whatever a noisy timing says.
"""
import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["time", "code"])
    p.add_argument("base")
    p.add_argument("head")
    p.add_argument("--run", nargs="+", action="append", metavar="BINARY PATTERN [NAME=VALUE ...]", required=True,
                   help="a benchmark binary, a --benchmark_filter (time) or function-name regex (code), then "
                        "environment variables for that run (time mode)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--min-time", type=float, default=0.3)
    return p.parse_args()


def run_time(args):
    results = collections.OrderedDict()
    for r in range(args.rounds):
        for side, build in (("base", args.base), ("head", args.head)):
            for binary, pattern, *assignments in args.run:
                env = dict(os.environ)
                tag = ""
                for e in assignments:
                    k, v = e.split("=", 1)
                    env[k] = v
                    tag += f"[{e}] "
                out = subprocess.run([os.path.join(build, "benchmarks", binary), f"--benchmark_filter={pattern}",
                                      f"--benchmark_min_time={args.min_time}", "--benchmark_format=json"],
                                     capture_output=True, text=True, env=env, check=True).stdout
                for b in json.loads(out[out.index("{"):])["benchmarks"]:
                    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
                    results.setdefault(tag + b["name"], {}).setdefault(side, []).append(b["real_time"] * scale)
        print(f"round {r + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    print(f"| benchmark | base µs (median of {args.rounds}) | head µs | head/base |")
    print("|---|---:|---:|---:|")
    for name, v in results.items():
        if "base" in v and "head" in v:
            b, h = statistics.median(v["base"]), statistics.median(v["head"])
            print(f"| {name.replace('/real_time', '')} | {b:.1f} | {h:.1f} | {h / b:.3f} |")


HOT = re.compile(r"^v(pdp|pmadd|fmadd|fmla|cvtph|cvtps|cvtdq|movnt|pmovsx|paddd|paddq)|^(sdot|udot|smmla|usmmla)")


def functions(path, pattern):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", path], capture_output=True, text=True,
                         check=True).stdout
    counts, current = collections.Counter(), False
    names = 0
    for line in out.split("\n"):
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            current = bool(re.search(pattern, m.group(1)))
            names += current
            continue
        if current and "\t" in line:
            fields = line.split("\t")
            if len(fields) > 1 and fields[1].split():
                mnemonic = fields[1].split()[0]
                counts[mnemonic] += 1
                counts["(all)"] += 1
    return names, counts


def run_code(args):
    for binary, pattern, *_ in args.run:
        nb, b = functions(os.path.join(args.base, "benchmarks", binary), pattern)
        nh, h = functions(os.path.join(args.head, "benchmarks", binary), pattern)
        print(f"{binary} /{pattern}/: functions {nb} -> {nh}, instructions {b['(all)']} -> {h['(all)']}, "
              f"calls {b['call'] + b['bl']} -> {h['call'] + h['bl']}")
        for k in sorted(k for k in set(b) | set(h) if HOT.match(k)):
            print(f"  {k}: {b[k]} -> {h[k]}{'' if b[k] == h[k] else '   (differs)'}")


if __name__ == "__main__":
    a = parse()
    if any(len(r) < 2 for r in a.run):
        sys.exit("ab_benchmarks: --run needs a binary and a pattern")
    run_time(a) if a.mode == "time" else run_code(a)
