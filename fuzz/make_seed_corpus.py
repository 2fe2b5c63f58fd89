#!/usr/bin/python3
"""Writes the seed corpus fuzz/corpus/safetensors/ (small valid and invalid files).

Run: python3 fuzz/make_seed_corpus.py   (from the repository root; the output is committed)
The valid seeds are the reference writer's golden files of tests/data/safetensors_golden.inc plus a few
hand-made ones covering raw dtypes, metadata only, unaligned headers and reordered offsets.
"""
import os
import re
import struct

out_dir = os.path.join(os.path.dirname(__file__), "corpus", "safetensors")
os.makedirs(out_dir, exist_ok=True)

inc = open(os.path.join(os.path.dirname(__file__), "..", "tests", "data", "safetensors_golden.inc")).read()
for name, body in re.findall(r"inline const unsigned char (\w+)\[\d+\] = \{(.*?)\};", inc, re.S):
    data = bytes(int(x, 16) for x in re.findall(r"0x[0-9a-f]{2}", body))
    open(os.path.join(out_dir, name.replace("safetensors_", "")), "wb").write(data)

def file(header, data=b""):
    h = header.encode()
    return struct.pack("<Q", len(h)) + h + data

seeds = {
    "raw_dtypes": file('{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},'
                       '"b":{"dtype":"F8_E4M3","shape":[2,2],"data_offsets":[4,8]},'
                       '"c":{"dtype":"C64","shape":[1],"data_offsets":[8,16]}}', bytes(range(16))),
    "metadata_only": file('{"__metadata__":{"scheme":"int8","graph":"[\\"fc1\\",\\"fc2\\"]"}}'),
    "unaligned_reordered": file(' {"b":{"data_offsets":[0,2],"shape":[1],"dtype":"I16"},'
                                '"a":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}} ', b"\x01\x00\x00\x00\x80\x3f"),
    "bool_and_empty": file('{"m":{"dtype":"BOOL","shape":[2,2],"data_offsets":[0,4]},'
                           '"z":{"dtype":"U64","shape":[0,3],"data_offsets":[4,4]}}', b"\x01\x00\x00\x01"),
    "rank5": file('{"r":{"dtype":"U8","shape":[1,1,1,1,2],"data_offsets":[0,2]}}', b"\x07\x08"),
    "bad_overlap": file('{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
                        '"y":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', b"abc"),
    "bad_json": file('{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]', b"ab"),
    "bad_length": b"\xff" * 8 + b"{}",
}
for name, data in seeds.items():
    open(os.path.join(out_dir, name), "wb").write(data)
print("wrote", len(os.listdir(out_dir)), "seeds to", out_dir)
