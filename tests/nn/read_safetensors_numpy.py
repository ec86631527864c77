#!/usr/bin/env python3
"""Reads a safetensors file with plain numpy + json (not the safetensors package) and prints its tensors.

    read_safetensors_numpy.py FILE                  print metadata and tensors
    read_safetensors_numpy.py --check-fixture FILE  also assert the values written by nn_tests' hidden
                                                    "[.write_fixture]" test (exit status 1 on mismatch)

An independent reader for tapegrad's writer: it checks the layout itself (little-endian u64 header length,
space padding to an 8-byte boundary, contiguous data offsets) rather than trusting tapegrad's parser.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header_bytes = raw[8 : 8 + n]
    assert len(header_bytes) == n, f"header length {n} larger than the file"
    assert (8 + n) % 8 == 0, f"8 + header length {n} is not a multiple of 8"
    text = header_bytes.decode("utf-8")
    stripped = text.rstrip(" ")
    assert stripped.endswith("}") and len(text) - len(stripped) < 8, "header padding must be fewer than 8 spaces"
    header = json.loads(text)
    data = raw[8 + n :]

    metadata = header.pop("__metadata__", {})
    tensors = {}
    end_of_previous = 0
    # json.loads keeps the file's key order, which for tapegrad's writer is the data order.
    for name, info in header.items():
        begin, end = info["data_offsets"]
        assert begin == end_of_previous, f"{name}: begins at {begin}, previous tensor ended at {end_of_previous}"
        dtype = DTYPES[info["dtype"]]
        count = int(np.prod(info["shape"], dtype=np.int64))
        assert end - begin == count * dtype.itemsize, f"{name}: {end - begin} bytes for shape {info['shape']}"
        tensors[name] = np.frombuffer(data, dtype=dtype, count=count, offset=begin).reshape(info["shape"])
        end_of_previous = end
    assert end_of_previous == len(data), f"data section has {len(data)} bytes, tensors cover {end_of_previous}"
    return metadata, tensors


def check_fixture(metadata, tensors):
    assert metadata == {"producer": "tapegrad nn_tests", "note": "arange"}, metadata
    assert list(tensors) == ["arange_f32", "arange_f64", "specials_f64"], list(tensors)

    a = tensors["arange_f32"]
    assert a.dtype == np.float32 and a.shape == (3, 4), (a.dtype, a.shape)
    assert np.array_equal(a, (np.arange(12, dtype=np.float32) / 2 - 1).reshape(3, 4)), a

    b = tensors["arange_f64"]
    assert b.dtype == np.float64 and b.shape == (2, 5), (b.dtype, b.shape)
    assert np.array_equal(b, (np.arange(10) / 8).reshape(2, 5)), b

    s = tensors["specials_f64"]
    assert s.dtype == np.float64 and s.shape == (1, 4), (s.dtype, s.shape)
    assert s[0, 0] == 0.0 and np.signbit(s[0, 0]), "expected -0.0"
    assert s[0, 1] == np.inf and s[0, 2] == -np.inf, s
    assert s[0, 3] == 5e-324, "expected the smallest denormal"


def main(argv):
    check = "--check-fixture" in argv
    paths = [a for a in argv if a != "--check-fixture"]
    if len(paths) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    metadata, tensors = read(paths[0])
    print("metadata:", metadata)
    for name, t in tensors.items():
        print(f"{name}: {t.dtype} {list(t.shape)}")
        print(t)
    if check:
        check_fixture(metadata, tensors)
        print("fixture values as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
