#!/usr/bin/env python3
"""Times the peers of qsparse's MiniLM runner: PyTorch and ONNX Runtime, float32 and their own dynamic int8.

  python3 scripts/minilm_peers.py [--model DIR] [--ids FILE] [--out FILE] [--rounds N] [--blas auto|system]

Runs sentence-transformers' all-MiniLM-L6-v2 (the model.safetensors that scripts/fetch_minilm.sh puts in
build/minilm-cache/all-MiniLM-L6-v2) four ways, each computing mean-pooled, L2-normalized embeddings:

  PyTorch fp32          transformers' BertModel (eager, torch.no_grad) with the pooling as a torch module
  PyTorch dynamic int8  the same after torch.ao.quantization.quantize_dynamic on its nn.Linear layers (qint8,
                        per_channel_dynamic_qconfig: a weight scale per output channel)
  ONNX Runtime fp32     that module exported to ONNX by torch.onnx.export (opset 14, dynamic batch and length)
  ONNX Runtime int8     that ONNX file after onnxruntime.quantization.quantize_dynamic (QInt8 weights,
                        per_channel=True; activations uint8, a scale per tensor computed at run time)

Both int8 peers quantize the weights per output channel, as qsparse does: with their default, one scale per
weight tensor, their embeddings of real sentences fall to a mean cosine of 0.93 (PyTorch) and 0.95 (ONNX
Runtime) to float's (measured on the 8 sentences below), so that speed would be bought with unusable quality.

at batch 1 x 128 tokens and batch 32 x 128 tokens, with 1 and 2 threads (torch.set_num_threads; ONNX Runtime
intra_op_num_threads, inter_op_num_threads 1, sequential execution, all graph optimizations). The inputs are
the 32 sequences of exactly 128 token ids in --ids (one per line; the qsparse runner writes them as
latency_ids.txt), the first one for batch 1; without the file they are generated here as the runner generates
them ([CLS], 126 ids 1000 + r mod 29000 for r the successive outputs of std::mt19937 seeded 23, [SEP]; the
standard fixes std::mt19937's outputs, so Python reproduces them). Attention mask all ones, token types 0.

Before timing, each peer's embeddings are compared with the float reference, the same PyTorch model evaluated
in float64: the float32 peers must reach cosine >= 0.9999 on every sequence (or the script fails), the int8
peers' cosines are reported. Random ids are harsh on quantization with one scale per tensor, so each peer is
also compared, one sentence at a time, with the committed sentence-transformers embeddings of the 8 sentences
of tests/data/minilm_reference.inc (real text, 2 to 128 tokens; float32 peers again >= 0.9999). Then, after
a warm-up round, every round times each (peer, batch, threads) configuration once, in a fresh random order,
with a short pause between calls (so that one runtime's spinning threads do not steal the next one's cores);
the result is the median over the rounds, in milliseconds per call. The table is printed, and written as JSON
to --out for `minilm --report --peers FILE`: {"tokens", "torch", "onnxruntime", "rows": [{"peer", "batch",
"threads", "ms", "cosine" (mean over the batch, random ids), "cosine_worst", "cosine_text",
"cosine_text_worst", "ms_min", "ms_max"}], ...} with the BLAS, the quantized engine and the load average.

Environment. Everything runs in a virtual environment outside the repository ($QSPARSE_MINILM_PEERS_VENV, or
~/.cache/qsparse-oracles/minilm-peers-venv) over Debian's python3 with --system-site-packages: Debian's
python3-torch 1.13 and numpy are used as they are, and the pinned packages below come from PyPI (installed
with --no-deps, so that pip never replaces Debian's torch). Without pip or the network the script says so
and exits with status 3; scripts/run_demo.sh then runs the demo without peers.

BLAS. Debian's torch does its float32 matrix products through the system's libblas.so.3, which is the
reference (netlib) BLAS unless an optimized one is installed: about 3 GFLOP/s, some 40 times slower than
an optimized BLAS, which would make "PyTorch fp32" a straw man. With --blas auto (the default), when the
libblas.so.3 found is not OpenBLAS, the script fetches Debian's libopenblas0-openmp with `apt-get download`,
unpacks it inside the environment's folder and runs itself with that library first on LD_LIBRARY_PATH: only
this process uses it, the system's BLAS is left as it is. OpenBLAS 0.3.21 (Debian bookworm) does not know
every recent CPU and falls back to SSE3 kernels ("Prescott"); the script then names the AVX-512 or AVX2
kernels with OPENBLAS_CORETYPE. --blas system times PyTorch with whatever libblas.so.3 the system has.
The JSON records the BLAS and PyTorch's quantized engine (Debian's torch has no FBGEMM: oneDNN here).
OMP_WAIT_POLICY defaults to PASSIVE (see main()): set it to override.
"""
import argparse
import ctypes
import glob
import json
import os
import random
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENS = 128
BATCHES = (1, 32)
THREADS = (1, 2)
PEERS = ("PyTorch fp32", "PyTorch dynamic int8", "ONNX Runtime fp32", "ONNX Runtime int8")
EXIT_NO_ENVIRONMENT = 3

# Installed with --no-deps on Debian bookworm's python3 3.11, numpy 1.24 and python3-torch 1.13.
PINNED = [
    "onnxruntime==1.32.0",
    "onnx==1.23.2",
    "ml_dtypes==0.5.4",  # imported by onnx
    "protobuf==6.33.2",
    "flatbuffers==25.9.23",
    "packaging==25.0",
    "typing_extensions==4.15.0",
    "transformers==4.40.2",
    "tokenizers==0.19.1",  # checked by transformers at import
    "safetensors==0.4.3",
    "huggingface_hub==0.23.4",
    "tqdm==4.70.1",
    "regex==2026.12.2",
    "filelock==4.3.2",
    "fsspec==2026.9.0",
]
SYSTEM_MODULES = ("torch", "numpy", "sympy", "yaml", "requests")  # from Debian: python3-torch pulls them in


def say(msg):
    print("minilm_peers: " + msg, file=sys.stderr, flush=True)


def no_environment(msg):
    say(msg)
    say("the peers (PyTorch, ONNX Runtime) are not timed; the qsparse report runs without them.")
    sys.exit(EXIT_NO_ENVIRONMENT)


# ---------------------------------------------------------------------------------------------------------
# The environment: a venv with the pinned packages, and an optimized BLAS for torch.

def venv_dir():
    return os.environ.get("QSPARSE_MINILM_PEERS_VENV",
                          os.path.expanduser("~/.cache/qsparse-oracles/minilm-peers-venv"))


def ensure_venv():
    """Re-executes this script inside the venv (creating it first), unless it already runs there."""
    env = venv_dir()
    python = os.path.join(env, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(env):
        return
    base = "/usr/bin/python3"
    if not os.path.exists(base):
        no_environment("no %s (the environment is made over Debian's python3 and python3-torch)." % base)
    probe = subprocess.run([base, "-c", "import " + ", ".join(SYSTEM_MODULES)], capture_output=True, text=True)
    if probe.returncode != 0:
        no_environment("Debian's python3 cannot import %s (%s); install them with "
                       "`apt-get install python3-torch python3-yaml python3-requests`."
                       % (", ".join(SYSTEM_MODULES), probe.stderr.strip().splitlines()[-1:]))
    stamp = os.path.join(env, "qsparse-pinned.txt")
    wanted = "\n".join(PINNED) + "\n"
    have = open(stamp).read() if os.path.exists(stamp) else None
    if have != wanted:
        if not os.path.exists(python):
            say("creating the Python environment %s (over Debian's python3-torch)" % env)
            r = subprocess.run([base, "-m", "venv", "--system-site-packages", env])
            if r.returncode != 0:
                no_environment("cannot create a venv in %s (Debian: apt-get install python3-venv)." % env)
        say("installing from PyPI (--no-deps): " + " ".join(PINNED))
        r = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps"]
                           + PINNED)
        if r.returncode != 0:
            no_environment("pip could not install the packages above (no network, or PyPI unreachable: see "
                           "pip's message above).")
        with open(stamp, "w") as f:
            f.write(wanted)
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


def openblas_of_process():
    """The libblas.so.3 this process resolves (as torch will), as a ctypes handle if it is OpenBLAS."""
    try:
        lib = ctypes.CDLL("libblas.so.3")
    except OSError:
        return None
    if not hasattr(lib, "openblas_get_config"):
        return None
    lib.openblas_get_config.restype = ctypes.c_char_p
    lib.openblas_get_corename.restype = ctypes.c_char_p
    return lib


def private_openblas():
    """Debian's libopenblas0-openmp unpacked inside the venv folder; its library folder, or None."""
    root = os.path.join(venv_dir(), "openblas")
    libdir = os.path.join(root, "usr", "lib", "x86_64-linux-gnu", "openblas-openmp")
    if os.path.exists(os.path.join(libdir, "libblas.so.3")):
        return libdir
    os.makedirs(root, exist_ok=True)
    say("the system's libblas.so.3 is not OpenBLAS: fetching Debian's libopenblas0-openmp for this process "
        "only (apt-get download, unpacked in %s)" % root)
    for deb in glob.glob(os.path.join(root, "*.deb")):
        os.remove(deb)
    try:
        r = subprocess.run(["apt-get", "download", "-q", "libopenblas0-openmp"], cwd=root,
                           capture_output=True, text=True)
        if r.returncode != 0 and os.geteuid() == 0:  # no package lists yet (a fresh machine): fetch them once
            say("apt-get download failed; running apt-get update and trying again")
            subprocess.run(["apt-get", "-q", "update"], capture_output=True, text=True)
            r = subprocess.run(["apt-get", "download", "-q", "libopenblas0-openmp"], cwd=root,
                               capture_output=True, text=True)
    except OSError:
        say("no apt-get here")
        return None
    debs = glob.glob(os.path.join(root, "*.deb"))
    if r.returncode != 0 or not debs:
        say("apt-get download libopenblas0-openmp failed: " + (r.stderr.strip() or r.stdout.strip()))
        return None
    r = subprocess.run(["dpkg-deb", "-x", debs[0], root], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(os.path.join(libdir, "libblas.so.3")):
        say("cannot unpack %s: %s" % (debs[0], r.stderr.strip()))
        return None
    return libdir


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def ensure_blas(mode):
    """Makes torch's BLAS an optimized one (see the module's docstring); returns a description of it."""
    lib = openblas_of_process()
    if lib is None and mode == "auto" and os.environ.get("QSPARSE_PEERS_BLAS_SET") != "1":
        libdir = private_openblas()
        if libdir is not None:
            os.environ["LD_LIBRARY_PATH"] = libdir + (":" + os.environ["LD_LIBRARY_PATH"]
                                                      if os.environ.get("LD_LIBRARY_PATH") else "")
            os.environ["QSPARSE_PEERS_BLAS_SET"] = "1"
            os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
    if lib is None:
        if mode == "auto":
            say("WARNING: no OpenBLAS; PyTorch fp32 runs on the system's libblas.so.3 (the reference BLAS?), "
                "far slower than an optimized BLAS: its times are not representative.")
        return "system libblas.so.3 (not OpenBLAS)"
    core = lib.openblas_get_corename().decode()
    fallback = core.lower() in ("prescott", "core2", "nehalem", "katmai", "coppermine", "northwood", "atom")
    if fallback and "OPENBLAS_CORETYPE" not in os.environ and os.environ.get("QSPARSE_PEERS_CORE_SET") != "1":
        flags = cpu_flags()
        target = None
        if {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"} <= flags:
            target = "SkylakeX"
        elif {"avx2", "fma"} <= flags:
            target = "Haswell"
        if target is not None:
            say("OpenBLAS took its %s kernels on this CPU, which has %s: asking for %s's (OPENBLAS_CORETYPE)"
                % (core, "AVX-512" if target == "SkylakeX" else "AVX2", target))
            os.environ["OPENBLAS_CORETYPE"] = target
            os.environ["QSPARSE_PEERS_CORE_SET"] = "1"
            os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
    config = lib.openblas_get_config().decode().split()
    version = " ".join(config[:2]) if len(config) >= 2 else "OpenBLAS"
    threading = "openmp" if "USE_OPENMP" in config else "pthreads"
    private = os.environ.get("QSPARSE_PEERS_BLAS_SET") == "1"
    return "%s (%s, %s kernels%s)" % (version, threading, core,
                                      ", Debian's libopenblas0-openmp for this process only" if private else "")


# ---------------------------------------------------------------------------------------------------------
# Inputs and models.

def model_dir(arg):
    cands = [arg] if arg else [os.path.join(ROOT, "build", "minilm-cache", "all-MiniLM-L6-v2")]
    if arg:
        cands.append(os.path.join(arg, "all-MiniLM-L6-v2"))
    for d in cands:
        if all(os.path.exists(os.path.join(d, f)) for f in ("config.json", "model.safetensors")):
            return d
    say("no config.json and model.safetensors in %s; fetch all-MiniLM-L6-v2 with `bash scripts/fetch_minilm.sh`"
        % " or ".join(cands))
    sys.exit(2)


def load_ids(path, vocab):
    import numpy as np
    if path and os.path.exists(path):
        rows = []
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = [int(t) for t in line.split()]
                except ValueError:
                    say("%s line %d: not a list of integers" % (path, n))
                    sys.exit(2)
                if len(row) != TOKENS:
                    say("%s line %d: %d ids, not %d" % (path, n, len(row), TOKENS))
                    sys.exit(2)
                bad = [t for t in row if not 0 <= t < vocab]
                if bad:
                    say("%s line %d: id %d outside the vocabulary [0, %d)" % (path, n, bad[0], vocab))
                    sys.exit(2)
                rows.append(row)
        if len(rows) < max(BATCHES):
            say("%s has %d sequences, fewer than %d" % (path, len(rows), max(BATCHES)))
            sys.exit(2)
        return np.array(rows[:max(BATCHES)], dtype=np.int64), "the %d sequences of %s" % (max(BATCHES), path)
    if path:
        say("no %s: generating the sequences as the qsparse runner does" % path)
    # As examples/minilm's latency inputs: [CLS], then 1000 + r mod 29000 for r the successive outputs of one
    # std::mt19937 seeded 23 (fully specified by the C++ standard, so reproducible here), then [SEP].
    gen = mt19937(23)
    rows = [[101] + [1000 + next(gen) % 29000 for _ in range(TOKENS - 2)] + [102] for _ in range(max(BATCHES))]
    return np.array(rows, dtype=np.int64), ("%d sequences generated as the runner does: [CLS], %d ids 1000 + r mod "
                                            "29000 from std::mt19937 seeded 23, [SEP]" % (max(BATCHES), TOKENS - 2))


def mt19937(seed):
    """std::mt19937's outputs (MT19937 with init_genrand seeding, as the C++ standard specifies it)."""
    mt = [0] * 624
    mt[0] = seed & 0xFFFFFFFF
    for i in range(1, 624):
        mt[i] = (1812433253 * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i) & 0xFFFFFFFF
    idx = 624
    while True:
        if idx >= 624:
            for i in range(624):
                y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7FFFFFFF)
                mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            idx = 0
        y = mt[idx]
        idx += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        yield y


def build_encoder(directory):
    import torch
    import transformers
    from transformers import BertModel
    transformers.logging.set_verbosity_error()  # "weights not used: pooler.*" (the pooler is not needed)

    class Encoder(torch.nn.Module):
        """BertModel, mean pooling over the attention mask, L2 normalization (sentence-transformers' pipeline)."""

        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            x = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(x.dtype)
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    bert = BertModel.from_pretrained(directory, add_pooling_layer=False)
    return Encoder(bert).eval()


def text_cases():
    """The 8 sentences of tests/data/minilm_reference.inc: (token ids, sentence-transformers' embedding)."""
    import re
    import struct
    path = os.path.join(ROOT, "tests", "data", "minilm_reference.inc")
    if not os.path.exists(path):
        return []
    text = open(path).read()
    start = text.find("minilm_reference_cases[] = {")
    if start < 0:
        return []
    block = text[start:text.index("\n};", start)]
    cases = []
    for ids, emb in re.findall(r'\{std::string_view\(".*?", \d+\),\s*\{([\d,\s]*)\},\s*\{([0-9a-fxu,\s]*)\}\}',
                               block, re.S):
        cases.append(([int(t) for t in ids.replace(",", " ").split()],
                      [struct.unpack("<f", struct.pack("<I", int(t.rstrip("u"), 16)))[0]
                       for t in emb.replace(",", " ").split()]))
    return cases


def cosines(a, b):
    import numpy as np
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))


# ---------------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="all-MiniLM-L6-v2's folder, or the cache folder holding it "
                                    "(default build/minilm-cache/all-MiniLM-L6-v2)")
    ap.add_argument("--ids", help="the input sequences (128 ids per line, 32 lines); generated when absent")
    ap.add_argument("--out", help="write the results as JSON to this file")
    ap.add_argument("--rounds", type=int, default=11, help="timed rounds (default 11, after one warm-up round)")
    ap.add_argument("--blas", choices=("auto", "system"), default="auto",
                    help="auto: run PyTorch on OpenBLAS when the system BLAS is not (default); system: as it is")
    ap.add_argument("--work", help="folder of the exported ONNX files (default: beside --out, or a temporary one)")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1, not %d" % args.rounds)
    directory = model_dir(args.model)

    # libgomp's threads spin while they wait for work: on a machine shared with other work that makes
    # PyTorch's 2-thread runs many times slower than its 1-thread ones (measured at load average 5 on 2 cores:
    # batch 1, 451 ms against 38 ms); waiting passively, 47 ms. Read by libgomp when it loads, so set first.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    ensure_venv()
    blas = ensure_blas(args.blas)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import logging
    import tempfile
    import warnings
    warnings.filterwarnings("ignore", category=UserWarning)
    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime.quantization's advice to pre-process
    import numpy as np
    import torch
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    load = os.getloadavg()
    say("torch %s (quantized engine %s), onnxruntime %s, BLAS: %s; load average %.2f %.2f %.2f"
        % (torch.__version__, torch.backends.quantized.engine, ort.__version__, blas, *load))
    lib = openblas_of_process()

    def set_threads(n):
        torch.set_num_threads(n)
        if lib is not None and hasattr(lib, "openblas_set_num_threads"):
            lib.openblas_set_num_threads(n)

    encoder = build_encoder(directory)
    vocab = encoder.bert.config.vocab_size
    ids, ids_note = load_ids(args.ids, vocab)
    say("inputs: " + ids_note)
    inputs = {}
    for b in BATCHES:
        x = torch.from_numpy(ids[:b].copy())
        inputs[b] = (x, torch.ones_like(x), torch.zeros_like(x))

    # The float reference: the same model in float64.
    set_threads(max(THREADS))
    say("computing the float64 reference")
    with torch.no_grad():
        ref64 = build_encoder(directory).double()
        reference = {b: ref64(*inputs[b]).numpy() for b in BATCHES}
        del ref64

    say("quantizing with torch.ao.quantization.quantize_dynamic (nn.Linear, qint8 per channel, engine %s)"
        % torch.backends.quantized.engine)
    import copy
    qtorch = torch.ao.quantization.quantize_dynamic(
        copy.deepcopy(encoder), {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}, dtype=torch.qint8)

    work = args.work or (os.path.dirname(os.path.abspath(args.out)) if args.out else tempfile.mkdtemp())
    os.makedirs(work, exist_ok=True)
    onnx_fp32 = os.path.join(work, "minilm_fp32.onnx")
    onnx_int8 = os.path.join(work, "minilm_int8.onnx")
    say("exporting to %s (torch.onnx.export, opset 14)" % onnx_fp32)
    with torch.no_grad():
        torch.onnx.export(encoder, inputs[1], onnx_fp32, input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["embedding"], opset_version=14, do_constant_folding=True,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "token_type_ids": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}})
    say("quantizing to %s (onnxruntime.quantization.quantize_dynamic, QInt8 weights per channel)" % onnx_int8)
    quantize_dynamic(onnx_fp32, onnx_int8, weight_type=QuantType.QInt8, per_channel=True)

    def ort_session(path, threads):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])

    def torch_runner(model, threads, b):
        def run():
            set_threads(threads)
            with torch.no_grad():
                return model(*inputs[b]).numpy()
        return run

    def ort_runner(session, b):
        feed = {"input_ids": ids[:b], "attention_mask": np.ones_like(ids[:b]),
                "token_type_ids": np.zeros_like(ids[:b])}

        def run():
            return session.run(None, feed)[0]
        return run

    configs = []  # (peer, batch, threads, callable)
    sessions = {}
    for t in THREADS:
        sessions[("ONNX Runtime fp32", t)] = ort_session(onnx_fp32, t)
        sessions[("ONNX Runtime int8", t)] = ort_session(onnx_int8, t)
    for peer in PEERS:
        for b in BATCHES:
            for t in THREADS:
                if peer == "PyTorch fp32":
                    fn = torch_runner(encoder, t, b)
                elif peer == "PyTorch dynamic int8":
                    fn = torch_runner(qtorch, t, b)
                else:
                    fn = ort_runner(sessions[(peer, t)], b)
                configs.append((peer, b, t, fn))

    # Agreement with the float reference, on the first call of each configuration.
    quality = {}
    failed = []
    for peer, b, t, fn in configs:
        c = cosines(fn(), reference[b])
        quality[(peer, b, t)] = (float(c.mean()), float(c.min()))
        if "fp32" in peer and c.min() < 0.9999:
            failed.append("%s at batch %d, %d thread%s: worst cosine %.6f" % (peer, b, t, "s"[:t > 1], c.min()))
    print("cosine to the float64 reference (mean / worst over the batch's sequences):")
    for peer in PEERS:
        cells = ["b%d %.6f / %.6f" % (b, *quality[(peer, b, 1)]) for b in BATCHES]
        print("  %-22s %s" % (peer, "   ".join(cells)))
    if failed:
        say("a float32 peer does not reproduce the float reference (cosine < 0.9999): " + "; ".join(failed))
        sys.exit(1)

    # On real sentences: the committed sentence-transformers embeddings of tests/data/minilm_reference.inc,
    # each sentence alone (batch 1, no padding), 1 thread. Random ids are harsher on per-tensor int8.
    texts = text_cases()
    text_quality = {}
    if texts:
        set_threads(1)
        for peer in PEERS:
            cs = []
            for tids, emb in texts:
                x = np.array([tids], dtype=np.int64)
                if peer.startswith("PyTorch"):
                    model = encoder if peer == "PyTorch fp32" else qtorch
                    xt = torch.from_numpy(x)
                    with torch.no_grad():
                        got = model(xt, torch.ones_like(xt), torch.zeros_like(xt)).numpy()
                else:
                    got = sessions[(peer, 1)].run(None, {"input_ids": x, "attention_mask": np.ones_like(x),
                                                         "token_type_ids": np.zeros_like(x)})[0]
                cs.append(float(cosines(got, np.array([emb]))[0]))
            text_quality[peer] = (sum(cs) / len(cs), min(cs))
        print("cosine to sentence-transformers on the %d sentences of tests/data/minilm_reference.inc "
              "(2 to 128 tokens; mean / worst):" % len(texts))
        for peer in PEERS:
            print("  %-22s %.6f / %.6f" % (peer, *text_quality[peer]))
        bad = [p for p in PEERS if "fp32" in p and text_quality[p][1] < 0.9999]
        if bad:
            say("%s does not reproduce sentence-transformers' embeddings (cosine < 0.9999)" % ", ".join(bad))
            sys.exit(1)

    # Timing: warm-up, then interleaved rounds in a fresh random order.
    warmup = 1  # after the first call of each configuration above
    times = {(p, b, t): [] for p, b, t, _ in configs}
    rng = random.Random(23)
    total = warmup + args.rounds
    start = time.perf_counter()
    for r in range(total):
        order = list(configs)
        rng.shuffle(order)
        for peer, b, t, fn in order:
            time.sleep(0.02)
            t0 = time.perf_counter()
            fn()
            t1 = time.perf_counter()
            if r >= warmup:
                times[(peer, b, t)].append((t1 - t0) * 1e3)
        elapsed = time.perf_counter() - start
        say("round %d/%d (%s) done, %.0f s, about %.0f s left"
            % (r + 1, total, "warm-up" if r < warmup else "timed", elapsed, elapsed / (r + 1) * (total - r - 1)))
    load_end = os.getloadavg()

    rows = []
    for peer, b, t, _ in configs:
        ms = statistics.median(times[(peer, b, t)])
        mean, worst = quality[(peer, b, t)]
        rows.append({"peer": peer, "batch": b, "threads": t, "ms": round(ms, 3), "cosine": round(mean, 6),
                     "cosine_worst": round(worst, 6),
                     "ms_min": round(min(times[(peer, b, t)]), 3), "ms_max": round(max(times[(peer, b, t)]), 3)})
        if peer in text_quality:
            rows[-1]["cosine_text"] = round(text_quality[peer][0], 6)
            rows[-1]["cosine_text_worst"] = round(text_quality[peer][1], 6)

    print("\nall-MiniLM-L6-v2, %d tokens per sequence, median of %d interleaved rounds (ms per call)"
          % (TOKENS, args.rounds))
    print("torch %s (quantized engine %s, BLAS %s, OMP_WAIT_POLICY=%s), onnxruntime %s"
          % (torch.__version__, torch.backends.quantized.engine, blas, os.environ.get("OMP_WAIT_POLICY"),
             ort.__version__))
    print("load average %.2f %.2f %.2f before, %.2f %.2f %.2f after" % (*load, *load_end))
    head = ("| peer | " + " | ".join("b%d, %dt" % (b, t) for b in BATCHES for t in THREADS)
            + " | cosine b1 | cosine b32 | cosine text |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for peer in PEERS:
        cells = ["%.2f" % next(r["ms"] for r in rows if (r["peer"], r["batch"], r["threads"]) == (peer, b, t))
                 for b in BATCHES for t in THREADS]
        text = "%.6f" % text_quality[peer][0] if peer in text_quality else "-"
        print("| %s | %s | %.6f | %.6f | %s |" % (peer, " | ".join(cells), quality[(peer, 1, 1)][0],
                                                 quality[(peer, 32, 1)][0], text))
    print("(ms per call; cosine: mean to the float64 reference on the random-id inputs, and to "
          "sentence-transformers on %d real sentences)" % len(texts))

    if args.out:
        result = {"tokens": TOKENS, "torch": torch.__version__, "onnxruntime": ort.__version__,
                  "torch_quantized_engine": torch.backends.quantized.engine, "blas": blas,
                  "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                  "int8": "dynamic: int8 weights with a scale per output channel, uint8 activations with a scale "
                          "per tensor computed at run time",
                  "inputs": ids_note, "rounds": args.rounds,
                  "loadavg_before": [round(v, 2) for v in load], "loadavg_after": [round(v, 2) for v in load_end],
                  "reference": "the same PyTorch model in float64; cosine: mean over the batch, cosine_worst: min",
                  "rows": rows}
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        say("wrote " + args.out)


if __name__ == "__main__":
    main()
