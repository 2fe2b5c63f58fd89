#!/usr/bin/python3
"""Writes tests/data/tflite_oracle_vectors.inc from the TensorFlow 2.21 converter and the LiteRT 2.3
interpreter (PyPI).

Run: python3 tests/data/gen_tflite_oracle.py > tests/data/tflite_oracle_vectors.inc
(the first run creates the oracle virtual environment, see oracle_venv.py; a summary of how well each
candidate rule explains the vectors goes to stderr). The output is committed; the C++ tests need neither
Python nor the network.

Interpreter modes: "reference" = OpResolverType.BUILTIN_REF (the reference kernels), "optimized" =
BUILTIN_WITHOUT_DEFAULT_DELEGATES (the optimized kernels, no XNNPACK), "xnnpack" = AUTO (the default:
the XNNPACK delegate takes what it supports). Floats are IEEE-754 bit patterns.

Vector sets:
  tflite_converter_params      activation parameters the converter chose for calibrated ranges: each
                               model input sees a representative data set whose min and max are given
                               (int8: affine; 16x8: symmetric int16). Policy: tflite_converter_choose_params.
  tflite_converter_bias        int32 biases the converter stored for float biases, with the input scale
                               and the per-channel weight scale; biases placed on and near ties of the
                               quotient. Policy: tflite_converter_quantize_bias (measured: the float32
                               reciprocal of float32(s_in * s_w), a float32 product, ties away).
  tflite_quantize_cases        the QUANTIZE op (float -> int8 / int16) per mode, on ties, near ties, random
                               values, +-inf and huge values (+-3e9, +-FLT_MAX). Policies: the TFLite
                               reference scheme (half away, division) and tflite_optimized_* (half even).
  tflite_dequantize_cases      the DEQUANTIZE op (int8 / int16 -> float) per mode.
  tflite_kernel_cases          FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D, int8 and 16x8, per mode:
                               quantized inputs, weights (per-channel or per-tensor), biases, scales and
                               outputs. Scales are set so that the requantization often lands on exact
                               ties (multipliers with few significant bits) plus converter-chosen ones;
                               odd shapes, strides, SAME/VALID padding, extreme inputs (-128 / 127 runs).
                               Kernel-layer output stages (for the lead): reference FC int8 = one rounding
                               ties away; reference FC 16x8 = one rounding ties away with the full 31-bit
                               multiplier; reference conv/depthwise int8 = gemmlowp double rounding;
                               reference conv 16x8 = the 15-bit int64 form; optimized = double rounding whose
                               last shift rounds ties up; xnnpack = float scale, ties to even.
  tflite_f16_fc_cases          FULLY_CONNECTED with float16 weights (converter float16 mode: DEQUANTIZE of
                               the weights then a float FC) per mode: float inputs, the binary16 weights,
                               bias, outputs. The reference adds one rounded product at a time in float32.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_venv  # noqa: E402

oracle_venv.ensure(os.path.abspath(__file__))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402
from tensorflow.lite.tools import flatbuffer_utils as fu  # noqa: E402

F32 = np.float32
MODES = (("reference", OpResolverType.BUILTIN_REF), ("optimized", OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES),
         ("xnnpack", OpResolverType.AUTO))


def bits(v):
    return struct.unpack("<I", struct.pack("<f", float(F32(v))))[0]


def hexf(v):
    return "0x%08xu" % bits(v)


def rows(values, per_line=16):
    values = list(values)
    if not values:
        return "  0,"
    return "\n".join("  " + ", ".join(values[i:i + per_line]) + "," for i in range(0, len(values), per_line))


def log(*a):
    print(*a, file=sys.stderr)


def convert(fn, specs, rep, mode="int8", io_float=False):
    c = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function(*specs)], fn)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "f16":
        c.target_spec.supported_types = [tf.float16]
        return c.convert()
    c.representative_dataset = rep
    if mode == "int8":
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not io_float:
            c.inference_input_type = tf.int8
            c.inference_output_type = tf.int8
    else:
        c.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        if not io_float:
            c.inference_input_type = tf.int16
            c.inference_output_type = tf.int16
    return c.convert()


def interpreter(model, resolver):
    it = Interpreter(model_content=bytes(model), experimental_op_resolver_type=resolver,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    return it


def run(model, resolver, feeds):
    it = interpreter(model, resolver)
    for d, v in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], v)
    it.invoke()
    return it


out = ["// Generated by tests/data/gen_tflite_oracle.py from TensorFlow %s (converter) and LiteRT 2.3.0. Do not edit."
       % tf.__version__, "// Floats are IEEE-754 bit patterns; modes: reference, optimized, xnnpack (see the generator)."]

# ---- converter activation parameters ---------------------------------------------------------------
N_IN = 24
ranges = []
rng = np.random.RandomState(21)
for i in range(N_IN * 3):
    k = i % 8
    a, b = sorted(rng.randn(2) * np.exp(rng.uniform(-6, 4)))
    if k == 0:
        a, b = -abs(a), abs(b)
    elif k == 1:
        a, b = abs(a), abs(a) + abs(b)     # excludes zero
    elif k == 2:
        a, b = -abs(a) - abs(b), -abs(b)   # excludes zero
    elif k == 3:
        a, b = -rng.uniform(0, 1) * 1e-3, rng.uniform(0, 1) * 7
    ranges.append((F32(a), F32(b)))


def params_of_inputs(mode, chunk):
    specs = [tf.TensorSpec([1, 5], tf.float32) for _ in chunk]

    @tf.function
    def f(*xs):
        acc = xs[0] * 0.5
        for x in xs[1:]:
            acc = acc + x * 0.5
        return acc

    def rep():
        r = np.random.RandomState(5)
        for batch in range(4):
            feed = []
            for lo, hi in chunk:
                v = r.uniform(lo, hi, (1, 5)).astype(F32)
                if batch == 1:
                    v[0, 0], v[0, 3] = lo, hi
                feed.append(v)
            yield feed
    m = convert(f, specs, rep, mode, io_float=True)
    it = interpreter(m, OpResolverType.BUILTIN_REF)
    # the tensor each float input is quantized into: output of the QUANTIZE op fed by the input
    details = {d["index"]: d for d in it.get_tensor_details()}
    model = fu.read_model_from_bytearray(m)
    sg = model.subgraphs[0]
    inputs = list(sg.inputs)
    quantized = {}
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) == 114 and op.inputs[0] in inputs:  # QUANTIZE
            quantized[op.inputs[0]] = op.outputs[0]
    res = []
    for pos, idx in enumerate(inputs):
        name = details[idx]["name"]
        q = details[quantized[idx]]["quantization_parameters"]
        res.append((chunk[pos], float(q["scales"][0]), int(q["zero_points"][0]), name))
    return res


param_cases = []
for mode in ("int8", "16x8"):
    for s in range(0, len(ranges), N_IN):
        for (lo, hi), sc, zp, name in params_of_inputs(mode, ranges[s:s + N_IN]):
            param_cases.append((mode, lo, hi, sc, zp))
out.append("struct tflite_converter_params_case { const char* activation; std::uint32_t min_bits, max_bits, scale_bits; "
           "std::int32_t zero_point; };")
out.append("inline const tflite_converter_params_case tflite_converter_params[] = {")
for mode, lo, hi, sc, zp in param_cases:
    out.append('  {"%s", %s, %s, %s, %d},' % (mode, hexf(lo), hexf(hi), hexf(sc), zp))
out.append("};")


def rule_scale_f32(lo, hi):
    lo, hi = min(F32(lo), F32(0)), max(F32(hi), F32(0))
    return F32(float(F32(hi - lo)) / 255.0)


def rule_scale_f64(lo, hi):
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    return F32((hi - lo) / 255.0)


i8 = [c for c in param_cases if c[0] == "int8"]
log("converter params int8: scale = float((float32(rmax-rmin))/255) matches %d/%d, double (rmax-rmin) %d/%d" % (
    sum(rule_scale_f32(c[1], c[2]) == F32(c[3]) for c in i8), len(i8),
    sum(rule_scale_f64(c[1], c[2]) == F32(c[3]) for c in i8), len(i8)))

# ---- converter bias quantization -------------------------------------------------------------------
IN, OUT = 7, 40
wrng = np.random.RandomState(3)
W = (wrng.randn(IN, OUT) * np.exp(wrng.uniform(-3, 1, OUT))).astype(F32)


def fc_model(bias):
    @tf.function
    def f(x):
        return tf.matmul(x, tf.constant(W)) + tf.constant(bias)

    def rep():
        r = np.random.RandomState(9)
        for _ in range(4):
            yield [r.uniform(-3.0, 5.0, (1, IN)).astype(F32)]
    return convert(f, [tf.TensorSpec([1, IN], tf.float32)], rep, "int8")


def fc_tensors(m):
    model = fu.read_model_from_bytearray(m)
    sg = model.subgraphs[0]
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) == 9:
            return model, sg, op
    raise RuntimeError("no FULLY_CONNECTED")


bias_cases = []
first = fc_model(np.ones(OUT, F32))
model, sg, op = fc_tensors(first)
s_in = F32(sg.tensors[op.inputs[0]].quantization.scale[0])
s_w = np.array(sg.tensors[op.inputs[1]].quantization.scale, F32)
bias_scale32 = (s_in * s_w).astype(F32)
brng = np.random.RandomState(4)
for trial in range(6):
    k = brng.randint(-40000, 40000, OUT).astype(np.float64)
    if trial % 3 == 0:
        b = (k * bias_scale32.astype(np.float64) * 1.0003 + brng.randn(OUT) * 1e-3).astype(F32)
    elif trial % 3 == 1:   # float32 quotients on ties (k + 0.5): the double quotient is off the tie
        b = ((k + 0.5) * bias_scale32).astype(F32)
    else:
        b = (k * bias_scale32).astype(F32)   # the exact multiples
    m = fc_model(b)
    model, sg, op = fc_tensors(m)
    assert F32(sg.tensors[op.inputs[0]].quantization.scale[0]) == s_in
    assert np.all(np.array(sg.tensors[op.inputs[1]].quantization.scale, F32) == s_w)
    bt = sg.tensors[op.inputs[2]]
    qb = np.frombuffer(bytes(model.buffers[bt.buffer].data), np.int32)
    for c in range(OUT):
        bias_cases.append((b[c], s_in, s_w[c], int(qb[c])))
out.append("struct tflite_converter_bias_case { std::uint32_t bias_bits, input_scale_bits, weight_scale_bits; std::int32_t q; };")
out.append("inline const tflite_converter_bias_case tflite_converter_bias[] = {")
out.append(rows(("{%s, %s, %s, %d}" % (hexf(b), hexf(si), hexf(sw), q) for b, si, sw, q in bias_cases), 4))
out.append("};")
def away(v):
    return int(np.sign(v) * np.floor(abs(v) + 0.5))


log("converter bias: round_away(float32(b * float32(1 / float32(s_in * s_w)))) matches %d/%d; "
    "round_away(double(b) / (double(s_in) * double(s_w))) %d/%d; float32 division %d/%d" % (
        sum(away(float(F32(b) * (F32(1) / F32(si * sw)))) == q for b, si, sw, q in bias_cases), len(bias_cases),
        sum(away(float(b) / (float(si) * float(sw))) == q for b, si, sw, q in bias_cases), len(bias_cases),
        sum(away(float(F32(b) / F32(si * sw))) == q for b, si, sw, q in bias_cases), len(bias_cases)))


# ---- QUANTIZE / DEQUANTIZE ---------------------------------------------------------------------------
def quant_model(mode, lo, hi):
    @tf.function
    def f(x):
        return tf.nn.relu6(x) * 0.5 + x * 0.25

    def rep():
        r = np.random.RandomState(2)
        for b in range(3):
            v = r.uniform(lo, hi, (1, 64)).astype(F32)
            v[0, 0], v[0, 1] = lo, hi
            yield [v]
    return convert(f, [tf.TensorSpec([1, 64], tf.float32)], rep, mode, io_float=True)


def op_tensors(m, code_wanted):
    model = fu.read_model_from_bytearray(m)
    sg = model.subgraphs[0]
    res = []
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) == code_wanted:
            res.append((list(op.inputs), list(op.outputs)))
    return res


quant_cases, dequant_cases = [], []
qrng = np.random.RandomState(8)
for mode, lo, hi in (("int8", -3.1, 5.3), ("int8", -0.7, 0.02), ("int8", 0.0, 11.0), ("16x8", -4.2, 4.0),
                     ("16x8", -0.01, 0.03)):
    m = quant_model(mode, lo, hi)
    (qin, qout), = op_tensors(m, 114)
    deq = op_tensors(m, 6)
    for rep_i in range(2):
        it0 = interpreter(m, OpResolverType.BUILTIN_REF)
        qp = it0.get_tensor_details()[qout[0]]["quantization_parameters"]
        scale, zp = F32(qp["scales"][0]), int(qp["zero_points"][0])
        qmin, qmax = (-128, 127) if mode == "int8" else (-32768, 32767)
        k = qrng.randint(qmin - zp - 3, qmax - zp + 3, 64).astype(F32)
        if rep_i == 0:
            x = ((k + F32(0.5)) * scale).astype(F32)          # near and on ties of x / scale
            x[:8] = [np.inf, -np.inf, 3e9, -3e9, np.finfo(F32).max, -np.finfo(F32).max, 0.0, -0.0]
        else:
            x = (qrng.randn(64) * (hi - lo) / 3).astype(F32)
            x[:32] = ((k[:32] + F32(0.5)) * scale).astype(F32)
            x[32:40] = np.nextafter(x[:8], np.inf)
        results = {}
        dres = {}
        for name, res in MODES:
            it = run(m, res, [x.reshape(1, 64)])
            results[name] = it.get_tensor(qout[0]).reshape(-1).astype(np.int64)
            if deq:
                (din, dout) = deq[0]
                dq = it.get_tensor_details()[din[0]]["quantization_parameters"]
                dres[name] = (F32(dq["scales"][0]), int(dq["zero_points"][0]),
                              it.get_tensor(din[0]).reshape(-1).astype(np.int64), it.get_tensor(dout[0]).reshape(-1))
        quant_cases.append((mode, scale, zp, x, results))
        if dres:
            dequant_cases.append((mode, dres))
out.append("struct tflite_quantize_case { const char* activation; std::uint32_t scale_bits; std::int32_t zero_point; "
           "std::uint32_t x_bits[64]; std::int32_t reference[64], optimized[64], xnnpack[64]; };")
out.append("inline const tflite_quantize_case tflite_quantize_cases[] = {")
for mode, scale, zp, x, r in quant_cases:
    out.append('  {"%s", %s, %d,\n   {%s},\n   {%s},\n   {%s},\n   {%s}},' % (
        mode, hexf(scale), zp, ", ".join(hexf(v) for v in x), ", ".join(str(v) for v in r["reference"]),
        ", ".join(str(v) for v in r["optimized"]), ", ".join(str(v) for v in r["xnnpack"])))
out.append("};")


def q_rule(x, scale, zp, qmin, qmax, even, divide):
    y = (x / scale).astype(F32) if divide else (x * (F32(1) / scale)).astype(F32)
    r = np.rint(y) if even else np.sign(y) * np.floor(np.abs(y) + F32(0.5))
    with np.errstate(invalid="ignore"):
        return np.clip(r + zp, qmin, qmax)


for name, _ in MODES:
    for even in (False, True):
        for divide in (True, False):
            hit = tot = 0
            for mode, scale, zp, x, r in quant_cases:
                qmin, qmax = (-128, 127) if mode == "int8" else (-32768, 32767)
                fin = np.abs(x) < 1e9
                e = q_rule(x[fin], scale, zp, qmin, qmax, even, divide)
                hit += int(np.sum(e == r[name][fin]))
                tot += int(np.sum(fin))
            log("QUANTIZE %-9s ties %-4s %-8s: %d/%d (finite, in range)" % (
                name, "even" if even else "away", "divide" if divide else "recip", hit, tot))
    log("QUANTIZE %s of inf/huge: %s" % (name, [list(r[name][:6]) for _, _, _, _, r in quant_cases[:1]]))

out.append("struct tflite_dequantize_case { const char* activation; const char* mode; std::uint32_t scale_bits; "
           "std::int32_t zero_point; std::int32_t q[64]; std::uint32_t y_bits[64]; };")
out.append("inline const tflite_dequantize_case tflite_dequantize_cases[] = {")
for mode, d in dequant_cases:
    for name, _ in MODES:
        s, z, q, y = d[name]
        out.append('  {"%s", "%s", %s, %d,\n   {%s},\n   {%s}},' % (
            mode, name, hexf(s), z, ", ".join(str(v) for v in q), ", ".join(hexf(v) for v in y)))
out.append("};")


# ---- FULLY_CONNECTED / CONV_2D / DEPTHWISE_CONV_2D ----------------------------------------------------
def set_quant(t, scales, zps, dim=0):
    t.quantization.scale = np.array(scales, F32)
    t.quantization.zeroPoint = np.array(zps, np.int64)
    t.quantization.quantizedDimension = dim


def set_data(model, t, arr):
    model.buffers[t.buffer].data = np.frombuffer(np.ascontiguousarray(arr).tobytes(), np.uint8).copy()


def kernel_model(op, act, shape):
    r = np.random.RandomState(1)
    if op == "fully_connected":
        batch, cin, cout = shape["batch"], shape["in"], shape["out"]
        W = r.randn(cin, cout).astype(F32)
        B = r.randn(cout).astype(F32)

        @tf.function
        def f(x):
            return tf.matmul(x, tf.constant(W)) + tf.constant(B)
        ishape = [batch, cin]
    elif op == "conv_2d":
        K = r.randn(shape["kh"], shape["kw"], shape["cin"], shape["cout"]).astype(F32)
        B = r.randn(shape["cout"]).astype(F32)

        @tf.function
        def f(x):
            return tf.nn.conv2d(x, tf.constant(K), shape["stride"], shape["padding"]) + tf.constant(B)
        ishape = [1, shape["h"], shape["w"], shape["cin"]]
    else:
        K = r.randn(shape["kh"], shape["kw"], shape["cin"], shape["mult"]).astype(F32)
        B = r.randn(shape["cin"] * shape["mult"]).astype(F32)

        @tf.function
        def f(x):
            s = shape["stride"]
            return tf.nn.depthwise_conv2d(x, tf.constant(K), [1, s, s, 1], shape["padding"]) + tf.constant(B)
        ishape = [1, shape["h"], shape["w"], shape["cin"]]

    def rep():
        rr = np.random.RandomState(3)
        for _ in range(3):
            yield [rr.randn(*ishape).astype(F32)]
    return convert(f, [tf.TensorSpec(ishape, tf.float32)], rep, act), ishape


OPCODE = {"fully_connected": 9, "conv_2d": 3, "depthwise_conv_2d": 4}
kernel_specs = [
    # op, activation, shape, scale design, seed
    ("fully_connected", "int8", dict(batch=8, **{"in": 37, "out": 11}), "ties", 1, "per_channel"),
    ("fully_connected", "int8", dict(batch=8, **{"in": 37, "out": 11}), "ties", 2, "per_tensor"),
    ("fully_connected", "int8", dict(batch=6, **{"in": 16, "out": 10}), "ties", 12, "per_channel"),
    ("fully_connected", "int8", dict(batch=4, **{"in": 64, "out": 9}), "random", 3, "per_channel"),
    ("fully_connected", "int8", dict(batch=2, **{"in": 5, "out": 17}), "ties", 4, "per_tensor"),
    ("fully_connected", "16x8", dict(batch=8, **{"in": 29, "out": 10}), "ties", 5, "per_channel"),
    ("fully_connected", "16x8", dict(batch=6, **{"in": 13, "out": 9}), "ties", 13, "per_tensor"),
    ("fully_connected", "16x8", dict(batch=2, **{"in": 40, "out": 7}), "random", 6, "per_channel"),
    ("conv_2d", "int8", dict(h=7, w=9, cin=5, cout=6, kh=3, kw=3, stride=2, padding="SAME"), "ties", 7, "per_channel"),
    ("conv_2d", "int8", dict(h=6, w=5, cin=3, cout=4, kh=2, kw=3, stride=1, padding="VALID"), "random", 8, "per_channel"),
    ("conv_2d", "int8", dict(h=5, w=5, cin=2, cout=7, kh=3, kw=3, stride=1, padding="SAME"), "ties", 14, "per_channel"),
    ("conv_2d", "16x8", dict(h=5, w=6, cin=4, cout=5, kh=3, kw=3, stride=1, padding="SAME"), "ties", 9, "per_channel"),
    ("depthwise_conv_2d", "int8", dict(h=6, w=7, cin=4, mult=2, kh=3, kw=3, stride=1, padding="SAME"), "ties", 10,
     "per_channel"),
    ("depthwise_conv_2d", "int8", dict(h=9, w=5, cin=3, mult=1, kh=3, kw=2, stride=2, padding="VALID"), "random", 11,
     "per_channel"),
]
TIE_W_SCALES = [0.75, 0.25, 0.375, 0.125, 1.5, 0.3, 0.1, 0.625, 0.5625, 0.21875]
kernel_cases = []
for op, act, shape, design, seed, gran in kernel_specs:
    m, ishape = kernel_model(op, act, shape)
    model = fu.read_model_from_bytearray(m)
    sg = model.subgraphs[0]
    the_op = [o for o in sg.operators
              if max(model.operatorCodes[o.opcodeIndex].builtinCode,
                     model.operatorCodes[o.opcodeIndex].deprecatedBuiltinCode) == OPCODE[op]][0]
    ti, tw, tb = (sg.tensors[i] for i in the_op.inputs[:3])
    to = sg.tensors[the_op.outputs[0]]
    assert list(sg.inputs) == [the_op.inputs[0]] and list(sg.outputs) == [the_op.outputs[0]], "extra ops around " + op
    r = np.random.RandomState(100 + seed)
    wshape = list(tw.shape)
    cout = wshape[0] if op != "depthwise_conv_2d" else wshape[3]
    nsc = cout if gran == "per_channel" else 1
    if design == "ties":
        s_in = F32(0.5) if act == "int8" else F32(0.25)
        s_w = np.array([TIE_W_SCALES[(c + seed) % len(TIE_W_SCALES)] for c in range(nsc)], F32)
        s_out = F32(2.0) if act == "int8" else F32(1.0)
    else:
        s_in = F32(r.uniform(0.005, 0.05))
        s_w = r.uniform(0.002, 0.02, nsc).astype(F32)
        s_out = F32(r.uniform(0.05, 0.3) * (1 if act == "int8" else 2 ** -7))
    if act == "int8":
        zp_in, zp_out, lo, hi = int(r.randint(-20, 21)), int(r.randint(-30, 31)), -128, 127
    else:
        zp_in, zp_out, lo, hi = 0, 0, -32768, 32767
    xt = np.int8 if act == "int8" else np.int16
    btype = np.int32 if act == "int8" or tb.type != 4 else np.int64
    if design == "ties":   # small accumulators: the requantization's fraction bits decide, ties are frequent
        w = r.randint(-9, 10, wshape).astype(np.int8)
        x = np.clip(zp_in + r.randint(-12, 13, ishape), lo, hi).astype(xt)
        bias = r.randint(-60, 61, cout).astype(btype)
    else:                  # full-range data with runs of the extremes, outputs that saturate
        w = r.randint(-127, 128, wshape).astype(np.int8)
        w.reshape(-1)[:3] = [-127, 127, -127]
        x = r.randint(lo, hi + 1, ishape).astype(xt)
        flat = x.reshape(-1)
        flat[: flat.size // 6] = lo
        flat[flat.size // 6: flat.size // 3] = hi
        bias = r.randint(-3000, 3001, cout).astype(btype) if act == "int8" else \
            r.randint(-(1 << 22), (1 << 22) + 1, cout).astype(btype)
    wdim = 3 if op == "depthwise_conv_2d" else 0
    set_quant(ti, [s_in], [zp_in])
    set_quant(to, [s_out], [zp_out])
    set_quant(tw, s_w, [0] * nsc, wdim)
    bscale = (s_in * s_w).astype(F32)   # one bias scale for a per-tensor filter, as the converter writes it
    set_quant(tb, bscale, [0] * nsc)
    set_data(model, tw, w)
    set_data(model, tb, bias)
    patched = fu.convert_object_to_bytearray(model)
    outs = {}
    for name, res in MODES:
        it = run(patched, res, [x])
        outs[name] = it.get_tensor(the_op.outputs[0]).reshape(-1).astype(np.int64)
    kernel_cases.append(dict(op=op, act=act, shape=shape, s_in=s_in, zp_in=zp_in, s_w=s_w, s_out=s_out, zp_out=zp_out,
                             x=x, w=w, bias=bias.astype(np.int64), out=outs, gran=gran, ishape=ishape, wshape=wshape,
                             oshape=list(to.shape)))

# numpy accumulators, to say which output rule each mode follows (stderr)
def accumulators(c):
    x = c["x"].astype(np.int64) - c["zp_in"]
    w = c["w"].astype(np.int64)
    if c["op"] == "fully_connected":
        acc = x @ w.T + c["bias"]
        return acc, np.arange(acc.shape[-1])[None, :].repeat(acc.shape[0], 0)
    sh = c["shape"]
    _, H, Wd, C = c["ishape"]
    s = sh["stride"]
    kh, kw = sh["kh"], sh["kw"]
    if sh["padding"] == "SAME":
        oh, ow = -(-H // s), -(-Wd // s)
        ph = max((oh - 1) * s + kh - H, 0) // 2
        pw = max((ow - 1) * s + kw - Wd, 0) // 2
    else:
        oh, ow = (H - kh) // s + 1, (Wd - kw) // s + 1
        ph = pw = 0
    if c["op"] == "conv_2d":
        co = w.shape[0]
    else:
        co = w.shape[3]
    acc = np.zeros((oh, ow, co), np.int64)
    for oy in range(oh):
        for ox in range(ow):
            for o in range(co):
                t = c["bias"][o]
                for ky in range(kh):
                    for kx in range(kw):
                        iy, ix = oy * s - ph + ky, ox * s - pw + kx
                        if 0 <= iy < H and 0 <= ix < Wd:
                            if c["op"] == "conv_2d":
                                t += int(np.dot(x[0, iy, ix, :], w[o, ky, kx, :]))
                            else:
                                t += int(x[0, iy, ix, o // sh["mult"]] * w[0, ky, kx, o])
                acc[oy, ox, o] = t
    return acc, np.broadcast_to(np.arange(co), acc.shape)


def quantize_multiplier(m):
    if m == 0:
        return 0, 0
    import math
    q, e = math.frexp(m)
    qf = int(math.floor(abs(q) * 2.0 ** 31 + 0.5)) * (1 if q >= 0 else -1)
    if qf == 1 << 31:
        qf //= 2
        e += 1
    if e < -31:
        return 0, 0
    return qf, e


def srdhm(a, b):
    if a == b == -(1 << 31):
        return (1 << 31) - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    return int(v / (1 << 31)) if v >= 0 else -((-v) // (1 << 31))


def rdbpot_away(x, e):
    if e == 0:
        return x
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


def round_away_div(n, d):
    q = (abs(n) * 2 + d) // (2 * d)
    return q if n >= 0 else -q


RULES = {
    "double_away": lambda a, M, s, sc: rdbpot_away(srdhm(a * (1 << max(s, 0)), M), max(-s, 0)),
    "double_up": lambda a, M, s, sc: (lambda v, e: v if e == 0 else (v + (1 << (e - 1))) >> e)(
        srdhm(a * (1 << max(s, 0)), M), max(-s, 0)),
    "single_away": lambda a, M, s, sc: round_away_div(a * M, 1 << (31 - s)),
    "single_up": lambda a, M, s, sc: (a * M + (1 << (30 - s))) >> (31 - s),
    "int64_15bit": lambda a, M, s, sc: (lambda Mp: (a * Mp + (1 << (14 - s))) >> (15 - s))(
        (M + (1 << 15)) >> 16 if M < 0x7FFF0000 else 0x7FFF),
    "float_even": lambda a, M, s, sc: int(np.rint(F32(a) * sc)),
}
for c in kernel_cases:
    acc, ch = accumulators(c)
    acc, ch = acc.reshape(-1), ch.reshape(-1)
    lo, hi = (-128, 127) if c["act"] == "int8" else (-32768, 32767)
    verdict = []
    for name, _ in MODES:
        got = c["out"][name]
        best = []
        for rname, rule in RULES.items():
            ok = 0
            for a, o, g in zip(acc, ch, got):
                sw = c["s_w"][o if len(c["s_w"]) > 1 else 0]
                if len(c["s_w"]) > 1:
                    real = float(c["s_in"]) * float(sw) / float(c["s_out"])
                else:
                    real = float(F32(c["s_in"] * sw)) / float(c["s_out"])
                M, s = quantize_multiplier(real)
                sc = F32(F32(c["s_in"] * sw) / c["s_out"])
                v = min(max(rule(int(a), M, s, sc) + c["zp_out"], lo), hi)
                ok += v == g
            best.append("%s %d" % (rname, ok))
        verdict.append("%s: %s" % (name, ", ".join(best)))
    log("%s %s %s %s (%d outputs)\n   %s" % (c["op"], c["act"], c["gran"], str(c["shape"]), len(acc),
                                         "\n   ".join(verdict)))

out.append("struct tflite_kernel_case {")
out.append("  const char* op;           // fully_connected, conv_2d, depthwise_conv_2d")
out.append("  const char* activation;   // int8 (int8 in/out, int32 bias) or 16x8 (int16 in/out, int64 bias)")
out.append("  int input_shape[4];       // FC: batch, depth, 1, 1; conv: N, H, W, C (NHWC)")
out.append("  int filter_shape[4];      // FC: out, depth, 1, 1; conv: O, KH, KW, I (OHWI); depthwise: 1, KH, KW, C*mult")
out.append("  int output_shape[4];")
out.append("  int stride; bool same_padding; int depth_multiplier;")
out.append("  std::uint32_t input_scale_bits; std::int32_t input_zero_point;")
out.append("  std::uint32_t output_scale_bits; std::int32_t output_zero_point;")
out.append("  int weight_scale_count; int weight_scale_offset;  // into tflite_kernel_weight_scales (1 = per tensor)")
out.append("  int input_offset, filter_offset, bias_offset, output_offset;  // into the arrays below")
out.append("  int input_count, filter_count, bias_count, output_count;")
out.append("};")
scales, ins, filt, biases, o_ref, o_opt, o_xnn, lines = [], [], [], [], [], [], [], []
for c in kernel_cases:
    def pad4(v):
        v = list(v) + [1] * (4 - len(v))
        return "{%s}" % ", ".join(str(int(t)) for t in v)
    sh = c["shape"]
    lines.append('  {"%s", "%s", %s, %s, %s, %d, %s, %d, %s, %d, %s, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d},' % (
        c["op"], c["act"], pad4(c["ishape"]), pad4(c["wshape"]), pad4(c["oshape"]), sh.get("stride", 1),
        "true" if sh.get("padding") == "SAME" else "false", sh.get("mult", 1), hexf(c["s_in"]), c["zp_in"],
        hexf(c["s_out"]), c["zp_out"], len(c["s_w"]), len(scales), len(ins), len(filt), len(biases), len(o_ref),
        c["x"].size, c["w"].size, c["bias"].size, c["out"]["reference"].size))
    scales += [hexf(v) for v in c["s_w"]]
    ins += [str(int(v)) for v in c["x"].reshape(-1)]
    filt += [str(int(v)) for v in c["w"].reshape(-1)]
    biases += [str(int(v)) for v in c["bias"]]
    o_ref += [str(int(v)) for v in c["out"]["reference"]]
    o_opt += [str(int(v)) for v in c["out"]["optimized"]]
    o_xnn += [str(int(v)) for v in c["out"]["xnnpack"]]
out.append("inline const tflite_kernel_case tflite_kernel_cases[] = {")
out += lines
out.append("};")
out.append("inline const std::uint32_t tflite_kernel_weight_scales[] = {\n%s\n};" % rows(scales, 8))
out.append("inline const std::int16_t tflite_kernel_inputs[] = {\n%s\n};" % rows(ins, 24))
out.append("inline const std::int8_t tflite_kernel_filters[] = {\n%s\n};" % rows(filt, 24))
out.append("inline const std::int64_t tflite_kernel_biases[] = {\n%s\n};" % rows(biases, 12))
out.append("inline const std::int16_t tflite_kernel_output_reference[] = {\n%s\n};" % rows(o_ref, 24))
out.append("inline const std::int16_t tflite_kernel_output_optimized[] = {\n%s\n};" % rows(o_opt, 24))
out.append("inline const std::int16_t tflite_kernel_output_xnnpack[] = {\n%s\n};" % rows(o_xnn, 24))

# ---- float16-weight FULLY_CONNECTED -------------------------------------------------------------------
f16_cases = []
for seed, (batch, cin, cout) in enumerate(((3, 33, 7), (2, 64, 5), (4, 9, 12))):
    r = np.random.RandomState(200 + seed)
    W = (r.randn(cin, cout) * np.exp(r.uniform(-4, 4, (cin, cout)))).astype(F32)
    B = r.randn(cout).astype(F32)

    def make(W, B):
        @tf.function
        def f(x):
            return tf.matmul(x, tf.constant(W)) + tf.constant(B)
        return f
    m = convert(make(W, B), [tf.TensorSpec([batch, cin], tf.float32)], None, "f16")
    x = (r.randn(batch, cin) * np.exp(r.uniform(-4, 4, (batch, cin)))).astype(F32)
    model = fu.read_model_from_bytearray(m)
    sg = model.subgraphs[0]
    fc = [o for o in sg.operators if max(model.operatorCodes[o.opcodeIndex].builtinCode,
                                         model.operatorCodes[o.opcodeIndex].deprecatedBuiltinCode) == 9][0]
    outs = {}
    for name, res in MODES:
        it = run(m, res, [x])
        outs[name] = it.get_tensor(fc.outputs[0]).reshape(-1)
        if name == "reference":  # the delegate leaves the dequantized constants unwritten
            wf = it.get_tensor(fc.inputs[1]).copy()   # the dequantized float weights [out, in]
            bf = it.get_tensor(fc.inputs[2]).copy() if fc.inputs[2] >= 0 else np.zeros(cout, F32)
    w16 = wf.astype(np.float16)
    assert np.all(w16.astype(F32) == wf)
    f16_cases.append((batch, cin, cout, x, w16, bf, outs))
    seq = np.zeros((batch, cout), F32)
    fma = np.zeros((batch, cout), F32)
    for bb in range(batch):
        for o in range(cout):
            a = F32(0)
            af = F32(0)
            for k in range(cin):
                a = F32(a + F32(x[bb, k] * wf[o, k]))
                af = F32(float(x[bb, k]) * float(wf[o, k]) + float(af))
            seq[bb, o] = F32(a + bf[o])
            fma[bb, o] = F32(af + bf[o])
    for name, _ in MODES:
        log("f16 FC %dx%dx%d %s: sequential mul-add %d/%d, fma chain %d/%d" % (
            batch, cin, cout, name, np.sum(seq.reshape(-1) == outs[name]), seq.size,
            np.sum(fma.reshape(-1) == outs[name]), fma.size))
out.append("struct tflite_f16_fc_case { int batch, depth, units; int input_offset, weight_offset, bias_offset, "
           "output_offset; };")
out.append("// weights are [units][depth] binary16 bits; outputs [batch][units] per mode")
xs, ws, bs, oref, oopt, oxnn, lines = [], [], [], [], [], [], []
for batch, cin, cout, x, w16, bf, outs in f16_cases:
    lines.append("  {%d, %d, %d, %d, %d, %d, %d}," % (batch, cin, cout, len(xs), len(ws), len(bs), len(oref)))
    xs += [hexf(v) for v in x.reshape(-1)]
    ws += ["0x%04xu" % v for v in w16.reshape(-1).view(np.uint16)]
    bs += [hexf(v) for v in bf]
    oref += [hexf(v) for v in outs["reference"]]
    oopt += [hexf(v) for v in outs["optimized"]]
    oxnn += [hexf(v) for v in outs["xnnpack"]]
out.append("inline const tflite_f16_fc_case tflite_f16_fc_cases[] = {")
out += lines
out.append("};")
out.append("inline const std::uint32_t tflite_f16_fc_inputs[] = {\n%s\n};" % rows(xs, 8))
out.append("inline const std::uint16_t tflite_f16_fc_weights[] = {\n%s\n};" % rows(ws, 12))
out.append("inline const std::uint32_t tflite_f16_fc_biases[] = {\n%s\n};" % rows(bs, 8))
out.append("inline const std::uint32_t tflite_f16_fc_output_reference[] = {\n%s\n};" % rows(oref, 8))
out.append("inline const std::uint32_t tflite_f16_fc_output_optimized[] = {\n%s\n};" % rows(oopt, 8))
out.append("inline const std::uint32_t tflite_f16_fc_output_xnnpack[] = {\n%s\n};" % rows(oxnn, 8))
print("\n".join(out))
