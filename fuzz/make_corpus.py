#!/usr/bin/python3
"""Writes the fuzzers' seed corpora (checked in under fuzz/corpus/): small valid and near-valid
safetensors files built byte by byte with the standard library only (independently of tapegrad's
writer), and model specs. Run again after editing; the output is deterministic."""
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent


def image(header, data=b"", declared=None, pad=True):
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-(8 + len(text)) % 8)
    size = len(text) if declared is None else declared
    return struct.pack("<Q", size) + text + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def f32(*xs):
    return struct.pack("<%df" % len(xs), *xs)


def f64(*xs):
    return struct.pack("<%dd" % len(xs), *xs)


def safetensors_seeds():
    m23 = f32(1, 2, 3, 4, 5, 6)
    yield "f32_2x3", image({"w": entry("F32", [2, 3], 0, 24)}, m23)
    yield "f64_rank0_rank1", image({"s": entry("F64", [], 0, 8), "v": entry("F64", [3], 8, 32)},
                                   f64(0.5) + f64(1, -2, 3.25))
    yield "rank3", image({"t": entry("F32", [1, 2, 2], 0, 16)}, f32(1, 2, 3, 4))
    yield "metadata", image({"__metadata__": {"model.spec": "embed(2) linear(vocab)", "model.vocab": "3",
                                              "format": "tapegrad-checkpoint-1"},
                             "model.0.weight": entry("F32", [3, 2], 0, 24),
                             "model.1.weight": entry("F32", [2, 3], 24, 48),
                             "model.1.bias": entry("F32", [1, 3], 48, 60)}, f32(*range(15)))
    yield "empty_header", image({})
    yield "zero_size", image({"z": entry("F32", [0, 4], 0, 0)})
    yield "unpadded", image({"w": entry("F32", [1], 0, 4)}, f32(7), pad=False)
    # near-valid: each breaks one rule
    yield "bad_dtype", image({"w": entry("BF16", [2], 0, 4)}, b"\0" * 4)
    yield "overlap", image({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}, f32(1, 2, 3))
    yield "gap", image({"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 8, 12)}, f32(1, 2, 3))
    yield "truncated", image({"w": entry("F32", [2, 3], 0, 24)}, m23)[:-5]
    yield "huge_declared_header", image({"w": entry("F32", [1], 0, 4)}, f32(1), declared=1 << 60)
    yield "huge_shape", image({"w": entry("F32", [1 << 40, 1 << 40], 0, 4)}, f32(1))
    yield "duplicate_key", struct.pack("<Q", 16) + b'{"a":{},"a":{}} '
    yield "not_json", struct.pack("<Q", 8) + b"{[}]:,\"\\"


def checkpoint(spec="embed(2) linear(vocab)", vocab=3, d=2, extra_meta=None, with_adam=True):
    """A train_lm-style checkpoint of spec (an embed(d) linear(vocab) model): parameters, Adam state,
    schedule and train metadata, the key names of nn/checkpoint.hpp and optim/."""
    meta = {"format": "tapegrad-checkpoint-1", "model.dtype": "F32", "model.spec": spec, "model.vocab": str(vocab),
            "train.step": "2", "train.seed": "1", "train.batch": "4"}
    shapes = [("0.weight", [vocab, d]), ("1.weight", [d, vocab]), ("1.bias", [1, vocab])]
    tensors = [("model." + name, shape) for name, shape in shapes]
    if with_adam:
        meta.update({"optim.kind": "Adam", "optim.lr": "0.003", "optim.beta1": "0.9", "optim.beta2": "0.999",
                     "optim.eps": "1e-08", "optim.weight_decay": "0", "optim.amsgrad": "false", "optim.step_count": "2"})
        for name, shape in shapes:
            meta["optim.step." + name] = "2"
            tensors += [("optim.m." + name, shape), ("optim.v." + name, shape)]
    meta.update(extra_meta or {})
    header, data, offset = {"__metadata__": meta}, b"", 0
    for i, (name, shape) in enumerate(tensors):
        n = shape[0] * shape[1]
        values = [0.25 * ((i + j) % 7) - 0.5 for j in range(n)]
        if name.startswith("optim.v."):
            values = [abs(v) for v in values]
        header[name] = entry("F32", shape, offset, offset + 4 * n)
        data += f32(*values)
        offset += 4 * n
    return image(header, data)


def checkpoint_seeds():
    yield "train_lm", checkpoint()
    yield "model_only", checkpoint(with_adam=False)
    yield "wrong_vocab", checkpoint(extra_meta={"model.vocab": "4"})
    yield "huge_spec", checkpoint(extra_meta={"model.spec": "embed(8000) linear(vocab)", "model.vocab": "8000"})
    yield "other_format", checkpoint(extra_meta={"format": "x"})
    yield "bad_adam", checkpoint(extra_meta={"optim.beta1": "1.5"})


SPECS = {
    "default": "context(8, 24) linear(384) tanh linear(vocab)",
    "seed": "embed(5) linear(5, bias=false) linear(5, bias=false) linear(vocab, bias=false)",
    "all_layers": "context(2, 3) linear(6, 8) gelu dropout(0.25) layernorm(eps=1e-6) relu sigmoid linear(vocab)",
    "embed_only": "embed(vocab)",
    "chain_error": "embed(4) linear(3, 7) linear(vocab)",
    "unclosed": "embed(4 linear(vocab)",
    "bad_number": "embed(4) dropout(1.5) layernorm(eps=-1) linear(vocab)",
    "unknown": "embed(4) conv(3) linear(vocab)",
}


def main():
    st = HERE / "corpus" / "safetensors"
    sp = HERE / "corpus" / "spec"
    ck = HERE / "corpus" / "checkpoint"
    ck.mkdir(parents=True, exist_ok=True)
    for name, data in checkpoint_seeds():
        (ck / (name + ".safetensors")).write_bytes(data)
    st.mkdir(parents=True, exist_ok=True)
    sp.mkdir(parents=True, exist_ok=True)
    for name, data in safetensors_seeds():
        (st / (name + ".safetensors")).write_bytes(data)
    for name, text in SPECS.items():
        (sp / (name + ".txt")).write_text(text)


if __name__ == "__main__":
    main()
