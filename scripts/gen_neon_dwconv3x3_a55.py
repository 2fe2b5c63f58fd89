#!/usr/bin/env python3
"""scripts/gen_neon_dwconv3x3_a55.py — writes the inline-asm loop of dwconv3x3_c8x4_a55
(include/qsparse/kernels/neon/dwconv_s8s8_s32_c16.hpp): 3x3 depthwise, 4 pixels x 8 channels per group.

    scripts/gen_neon_dwconv3x3_a55.py 4 4 4 4 asm 4 10 4 0     the committed loop (prologue, then the body)
    scripts/gen_neon_dwconv3x3_a55.py 4 4 4 4 mca 4 10 4 0     the body as a loop for llvm-mca

Arguments: DL (input load, SIMD ops before its zip1), DP (pointer load before the input load), DS (zip1
ahead of its column's first multiply, as a priority), K (rotation: the next group's first K SIMD ops run at
the end of an iteration), mode, LAT (slots a multiply waits for its accumulator and its zip1), WIN (list
scheduler window), SD (store delay after a pixel's last multiply), SU (subs offset). The parameters were
chosen by sweeping them and keeping the fewest cycles llvm-mca-19 -mcpu=cortex-a55 predicts (99 per
iteration). The script checks the schedule by a symbolic run of the prologue and 4 iterations (every
register read sees the value of the right column and group, every accumulator is stored after its 9
products) and exits 1 otherwise.
"""
import sys, collections
WIN = 10
# Modulo-scheduled 3x3 depthwise, 4 pixels x 8 channels per group. Args: DL DP DS K [mode]
DL, DP, DS, K = (int(a) for a in sys.argv[1:5]); MODE = sys.argv[5] if len(sys.argv) > 5 else "mca"
if len(sys.argv) > 7: WIN = int(sys.argv[7])
BASES = ["x0", "x1", "x2"]; OFFS = ["xzr", "x6", "x7", "x8", "x9", "x10"]
PR = ["x11", "x12", "x13", "x14", "x15", "x16"]; XR = [25, 26, 27, 28, 8, 9]; WR = [29, 30, 31, 10, 11, 12]
cols = [(ky, c, [(j, 3 * ky + c - j) for j in range(4) if 0 <= c - j <= 2]) for ky in range(3) for c in range(6)]
N = len(cols)
macs = [(ci, j, t, h) for ci, (ky, c, uses) in enumerate(cols) for (j, t) in uses for h in range(2)]
firstmac = {}
for i, m in enumerate(macs): firstmac.setdefault(m[0], i)
# list-schedule the Q-ops: a mac waits 4 slots for its accumulator's previous mac and for its column's zip;
# a zip of column c waits for the last mac of column c-6 (same widened register); priority: original order
# with each zip moved DS macs ahead of its column's first mac.
prio = []
for i, m in enumerate(macs): prio.append((i, 1, ("mac",) + m))
for c in range(N): prio.append((firstmac[c] - DS, 0, ("zip", c)))
prio.sort(key=lambda x: (x[0], x[1]))
todo = [p[2] for p in prio]
LAT = int(sys.argv[6]) if len(sys.argv) > 6 else 4
qs = []; acc_at = {}; zip_at = {}; macs_left = collections.Counter(m[0] for m in macs)
while todo:
    s_ = len(qs); pick = None
    for idx, op in enumerate(todo[:WIN]):
        if op[0] == "zip":
            c = op[1]
            if c >= 6 and macs_left[c - 6] > 0: continue
            pick = idx; break
        _, ci, j, t, h = op; a = 2 * j + h
        if ci not in zip_at: continue
        if s_ - zip_at[ci] < LAT or (a in acc_at and s_ - acc_at[a] < LAT): continue
        pick = idx; break
    if pick is None:
        pick = next(i for i, op in enumerate(todo) if op[0] != "zip" or op[1] < 6 or macs_left[op[1] - 6] == 0)
    op = todo.pop(pick); qs.append(op)
    if op[0] == "zip": zip_at[op[1]] = s_
    else: acc_at[2 * op[2] + op[4]] = s_; macs_left[op[1]] -= 1
L = len(qs)
# side ops: (slot as float: placed just before Q-op at int slot), op
side = []
zpos = {op[1]: i for i, op in enumerate(qs) if op[0] == "zip"}
for c in range(N):
    side.append((zpos[c] - DL - 0.5, ("ld", c)))
    side.append((zpos[c] - DL - DP - 0.6, ("ptr", c)))
seen = set(); lastmac = {}
for i, op in enumerate(qs):
    if op[0] == "mac": lastmac[op[2]] = i
SD = int(sys.argv[8]) if len(sys.argv) > 8 else 0
for j in range(4): side.append((lastmac[j] + SD + 0.5, ("st", j)))
for b in range(3):
    lastptr = max(s for s, op in side if op[0] == "ptr" and cols[op[1]][0] == b)
    side.append((lastptr + 0.05, ("add", b)))
side.append((L - 3 + 0.5 + (int(sys.argv[9]) if len(sys.argv) > 9 else 0), ("subs",)))
# Q-op text with smull for the first write of each acc
first = set(); qtext = []
for op in qs:
    if op[0] == "zip":
        qtext.append("zip1 v%d.16b, v13.16b, v%d.16b" % (WR[op[1] % 6], XR[op[1] % 6]))
    else:
        _, ci, j, t, h = op; a = 2 * j + h
        m = ("smull" if a not in first else "smlal") + ("2" if h else ""); first.add(a); s = "8h" if h else "4h"
        qtext.append("%s v%d.4s, v%d.%s, v%d.%s" % (m, a, WR[ci % 6], s, 16 + t, s))
def stext(op):
    k = op[0]
    if k == "ptr": ky, c, _ = cols[op[1]]; return "ldr %s, [%s, %s]" % (PR[op[1] % 6], BASES[ky], OFFS[c])
    if k == "ld": return "ldr d%d, [%s, x3]" % (XR[op[1] % 6], PR[op[1] % 6])
    if k == "st": j = op[1]; return "stp q%d, q%d, [x4], #256" % (2*j, 2*j+1) if j == 3 else "stp q%d, q%d, [x4, #%d]" % (2*j, 2*j+1, 64*j - 192)
    if k == "add": return "add %s, %s, #288" % (BASES[op[1]], BASES[op[1]])
    if k == "subs": return "subs x5, x5, #1"
# all ops of one group with slots; body = slots in [K, K+L)
allops = [(float(i), ("q", i)) for i in range(L)] + side
allops.sort(key=lambda x: x[0])
body = []; pro = []
for s, op in allops:
    rel = s - K
    g = int(rel // L)  # 0: this group; -1: belongs to the next group's work done in this body
    pos = rel - g * L
    if g == 0: body.append((pos, 0, op))
    elif g == -1: body.append((pos, 1, op)); pro.append((s, op))
    else: sys.stderr.write("slot beyond body %s\n" % (op,)); sys.exit(1)
body.sort(key=lambda x: x[0])
# A greedy pass: emit side ops one per Q slot where possible is implicit in slot order.
def text(op): return qtext[op[1]] if op[0] == "q" else stext(op)
# --- verify by symbolic simulation: prologue (group 0 parts), then body for groups 0..3
import collections
state = {}; base = {0: 0, 1: 0, 2: 0}; bad = []
def regs_of(op):
    """(reads, writes) as (reg, kind, col)"""
    k = op[0]
    if k == "q":
        q = qs[op[1]]
        if q[0] == "zip": return [("X%d" % XR[q[1] % 6], ("X", q[1]))], [("W%d" % WR[q[1] % 6], ("W", q[1]))]
        _, ci, j, t, h = q; a = 2 * j + h
        r = [("W%d" % WR[ci % 6], ("W", ci))]
        return r, [("A%d" % a, ("A", a))]
    if k == "ptr": return [], [(PR[op[1] % 6], ("P", op[1]))]
    if k == "ld": return [(PR[op[1] % 6], ("P", op[1]))], [("X%d" % XR[op[1] % 6], ("X", op[1]))]
    return [], []
acc_count = collections.Counter()
def run(op, grp):
    r, w = regs_of(op)
    for reg, tag in r:
        if state.get(reg) != tag + (grp,): bad.append((op, grp, reg, state.get(reg)))
    if op[0] == "ptr":
        ky = cols[op[1]][0]
        if base[ky] != grp: bad.append(("base", op, grp, base[ky]))
    if op[0] == "add": base[op[1]] += 1
    if op[0] == "q" and qs[op[1]][0] == "mac":
        _, ci, j, t, h = qs[op[1]]; a = 2 * j + h
        key = (a, grp); acc_count[key] += 1
        if acc_count[key] > 1 and state.get("A%d" % a) != ("A", a, grp): bad.append(("acc", op, grp))
    if op[0] == "st":
        j = op[1]
        for a in (2 * j, 2 * j + 1):
            if state.get("A%d" % a) != ("A", a, grp) or acc_count[(a, grp)] != 9: bad.append(("store", op, grp, state.get("A%d" % a), acc_count[(a, grp)]))
    for reg, tag in w: state[reg] = tag + (grp,)
for s, op in pro: run(op, 0)
for it in range(4):
    for pos, nxt, op in body: run(op, it + nxt)
if bad:
    sys.stderr.write("BAD %s\n" % (bad[:3],)); sys.exit(1)
if MODE == "mca":
    print(".Lk_loop:"); print("\n".join(text(op) for _, _, op in body)); print("b.ne .Lk_loop")
else:
    print("PRO"); print("\n".join(text(op) for _, op in pro)); print("LOOP"); print("\n".join(text(op) for _, _, op in body))
