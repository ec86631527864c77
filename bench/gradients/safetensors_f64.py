"""Reads a float64 safetensors file written by the bench programs, without the safetensors package."""
import json
import pathlib
import struct

import numpy as np


def read_safetensors(path):
    """{name: float64 array}, metadata: the format by hand (8-byte LE header length, JSON, data)."""
    blob = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F64":
            raise ValueError("%s: %s is %s, expected F64" % (path, name, entry["dtype"]))
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f8").reshape(entry["shape"]).copy()
    return tensors, meta
