"""Shared by the crash-safety and determinism tests: a deterministic text corpus, the train_lm command
line of a small, fast run that checkpoints often, and byte comparison of checkpoints."""
import json
import os
import pathlib
import struct
import random
import subprocess

WORDS = ("the of and to in is was for on that with as by at from his her it an be this which "
         "fox dog cat bird tree river stone light house window garden morning evening winter").split()


def write_corpus(path, n_words=6000, seed=11):
    """Pseudo-random words and line breaks, the same bytes on every run."""
    rng = random.Random(seed)
    lines, line = [], []
    for _ in range(n_words):
        line.append(rng.choice(WORDS))
        if len(line) >= rng.randint(5, 12):
            lines.append(" ".join(line).capitalize() + ".")
            line = []
    pathlib.Path(path).write_text("\n".join(lines) + "\n")
    return path


def train_args(train_lm, data, out, steps, threads=1, seed=7, checkpoint_every=3, batch=64, hidden=96, extra=()):
    return [train_lm, "--data", str(data), "--out", str(out), "--model", "context(4, 16) linear(%d) tanh linear(vocab)" % hidden,
            "--steps", str(steps), "--batch", str(batch), "--checkpoint-every", str(checkpoint_every), "--eval-every", "100000",
            "--sample-length", "20", "--seed", str(seed), "--threads", str(threads), *extra]


def env(threads=1):
    e = dict(os.environ)
    e["OPENBLAS_NUM_THREADS"] = str(threads)
    return e


def run(args, threads=1):
    """Runs to completion; raises with the output when train_lm fails."""
    r = subprocess.run(args, env=env(threads), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise AssertionError("train_lm failed (%d):\n%s" % (r.returncode, r.stdout))
    return r.stdout


def checkpoint_bytes(out_dir):
    return (pathlib.Path(out_dir) / "checkpoint.safetensors").read_bytes()


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b)) if len(a) != len(b) else None


def checkpoint_step(path):
    """The train.step metadata of a safetensors checkpoint, read with json alone."""
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return int(json.loads(raw[8:8 + n])["__metadata__"]["train.step"])
