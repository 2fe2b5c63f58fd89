#!/usr/bin/python3
"""Writes the seed corpora fuzz/corpus/{idx,packed_weights,conv_geometry}/ (small valid and hostile inputs).

Run: python3 fuzz/make_api_seed_corpus.py   (from the repository root; the output is committed)
The input formats are described at the top of each fuzz/<name>_fuzz.cpp.
"""
import gzip
import os
import struct

root = os.path.join(os.path.dirname(__file__), "corpus")


def write(corpus, seeds):
    d = os.path.join(root, corpus)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        open(os.path.join(d, name), "wb").write(data)
    print("wrote", len(seeds), "seeds to", d)


# ---- idx: magic 00 00 TT RR, RR big-endian uint32 dimensions, big-endian data ----------------------------
def idx(type_code, dims, data):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


labels = idx(0x08, [5], bytes([0, 1, 2, 9, 7]))
images = idx(0x08, [2, 3, 2], bytes(range(12)))
features = idx(0x0D, [2, 2], struct.pack(">4f", 1.0, -2.5, 0.0, 3.25))
write("idx", {
    "labels_u8": labels,
    "images_u8": images,
    "features_f32": features,
    "i16_rank2": idx(0x0B, [1, 3], struct.pack(">3h", -1, 2, 300)),
    "f64_rank1": idx(0x0E, [1], struct.pack(">d", 0.5)),
    "labels_gz": gzip.compress(labels, mtime=0),
    "images_gz": gzip.compress(images, mtime=0),
    "truncated": idx(0x08, [4, 4], bytes(3)),
    "huge_dims": idx(0x08, [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF], b""),
    "trailing": labels + b"\x00",
    "bad_magic": b"\x01\x02\x08\x01" + bytes(8),
})


# ---- packed_weights: byte 0 = mode (bit 0 sparse, bit 1 "pack from the input, then flip bytes") ----------
def dense_header(layout, isa, k, n, k_padded, n_padded, zp, panel_bytes, total_bytes):
    return struct.pack("<IHBBqqqqiiqq", 0x57505351, 1, layout, isa, k, n, k_padded, n_padded, zp, 0, panel_bytes,
                       total_bytes)


# A valid scalar packing (layout s16_c1_nr16, ISA scalar) of K = 2, N = 1: w = [[3], [-2]], zero point 0.
panel = bytearray(64)  # int16 element (k, j) at k * 16 + j
struct.pack_into("<h", panel, 0, 3)
struct.pack_into("<h", panel, 32, -2)
sums = bytearray(64)
struct.pack_into("<i", sums, 0, 1)
valid_dense = dense_header(4, 0, 2, 1, 2, 16, 0, 64, 192) + bytes(panel) + bytes(sums)
write("packed_weights", {
    "dense_valid_scalar": b"\x00" + valid_dense,
    "dense_wrong_sum": b"\x00" + valid_dense[:128] + b"\x02" + valid_dense[129:],
    "dense_nonzero_padding": b"\x00" + valid_dense[:64 + 2] + b"\x05" + valid_dense[64 + 3:],
    # K = N = 2^31: the sizes overflow int64 (issue 22); the 4 KiB buffer must be refused.
    "dense_overflowing_sizes": b"\x00" + dense_header(4, 0, 2**31, 2**31, 2**31, 2**31, 0, 2**31 * 32,
                                                      2**62) + bytes(4032),
    "dense_truncated": b"\x00" + valid_dense[:100],
    "pack_dense_scalar": b"\x02" + bytes([5, 7, 200, 0, 0]) + bytes(range(1, 120)),
    "pack_dense_avx2_zp": b"\x02" + bytes([17, 3, 255, 1, 0x80, 2]) + bytes(range(200, 255)) * 2,
    "pack_dense_vnni_flip": b"\x02" + bytes([33, 33, 128, 3, 0, 3]) + bytes(range(0, 250, 3)) * 3,
    "pack_sparse_block4": b"\x03" + bytes([16, 20, 60, 2]) + bytes(range(3, 250, 5)) * 2,
    "pack_sparse_2of4": b"\x03" + bytes([8, 16, 255, 1]) + bytes(range(1, 200)),
    "pack_sparse_flip": b"\x03" + bytes([12, 9, 90, 3, 2, 0, 40, 0x11]) + bytes(range(9, 160)),
})

# ---- conv_geometry: byte 0 = op (0 conv, 1 depthwise, 2 max pool, 3 average pool) + 4 * padding kind ----
# Values: a tag byte (tag % 8 >= 4: a small value (int8 % 9) from the next byte; 0, 1: the edges of int64;
# 2: 2^(32 + b % 31) + small; 3: 8 raw bytes).
def small(v):
    return bytes([4, v & 0xFF])


conv = bytes([6, 7, 3, 3, 3]) + small(1) + small(1) + small(1) + small(1)
write("conv_geometry", {
    "conv_valid": bytes([0]) + conv + bytes([5]) + bytes(range(60, 250)),
    "conv_same_stride2": bytes([4, 9, 9, 2, 3, 2]) + small(2) + small(2) + small(1) + small(2) + bytes([0]) +
                         bytes(range(255)),
    "conv_explicit": bytes([8, 8, 8, 4, 3, 3]) + small(1) * 4 + small(1) * 4 + bytes([3]) + bytes(range(255)),
    # dilation 2^62 + 1 with SAME padding (issue 22): (kernel - 1) * dilation overflows.
    "conv_same_dilation_2_62": bytes([4, 7, 7, 1, 3, 3]) + small(1) + small(1) + bytes([2, 30, 1]) + small(1) +
                               bytes([1]) + bytes(50),
    "depthwise_same": bytes([5, 10, 6, 8, 3, 3]) + small(1) * 4 + bytes([2]) + bytes(range(0, 255, 2)),
    "depthwise_dilated": bytes([1, 12, 12, 3, 2, 2]) + small(1) + small(1) + small(3) + small(2) + bytes([0]) +
                         bytes(range(255)),
    "maxpool_same": bytes([6, 8, 8, 4]) + small(3) + small(3) + small(2) + small(2) + bytes(range(255)),
    "avgpool_valid": bytes([3, 6, 5, 2]) + small(2) + small(3) + small(1) + small(2) + bytes(range(60)),
    # filter (2^60 + 1) x 16 (issue 22): filter_h * filter_w overflows.
    "maxpool_filter_2_60": bytes([6, 4, 4, 1, 2, 28, 1]) + small(16) + small(1) + small(1) + bytes(16),
    "avgpool_explicit": bytes([11, 7, 7, 2]) + small(3) + small(3) + small(1) + small(1) + small(1) * 4 +
                        bytes(range(98)),
})
