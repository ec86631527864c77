"""Shared by the reliability tests that drive the train_lm binary: a deterministic text corpus, the command
line of a small, fast run that checkpoints often, byte comparison of checkpoints, and a running process
whose output a test can wait on."""
import json
import os
import pathlib
import struct
import random
import subprocess
import sys

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


class Running:
    """A train_lm process whose stdout and stderr are collected as they come (reader threads), so that a
    test can wait for a phase to begin ("evaluating", "sample (") before it sends a signal."""

    def __init__(self, args, threads=1, cwd=None):
        import threading
        self.proc = subprocess.Popen(args, env=env(threads), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=cwd)
        self.out, self.err = bytearray(), bytearray()
        self._threads = [threading.Thread(target=self._pump, args=(s, b), daemon=True)
                         for s, b in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(stream, buf):
        while True:
            chunk = stream.read1(4096) if hasattr(stream, "read1") else stream.read(1)
            if not chunk:
                return
            buf.extend(chunk)

    def text(self):
        return self.out.decode("utf-8", "replace")

    def wait_for(self, pattern, timeout):
        """Waits until stdout holds `pattern`; AssertionError (with the output) when the process ends or the
        time runs out first."""
        import time
        deadline = time.monotonic() + timeout
        while pattern.encode() not in self.out:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                self.finish(10)
                raise AssertionError("never saw %r (exit %s):\n%s\n%s" % (pattern, self.proc.returncode, self.text(),
                                                                         self.err.decode("utf-8", "replace")))
            time.sleep(0.01)

    def finish(self, timeout):
        """Waits for the exit (killing it after `timeout` s); returns (exit status, seconds waited)."""
        import time
        t0 = time.monotonic()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            rc = "killed after %.0f s" % timeout
        for t in self._threads:
            t.join(5)
        return rc, time.monotonic() - t0


def fail(test, message, running=None):
    details = ""
    if running is not None:
        details = "\n--- stdout\n%s\n--- stderr\n%s" % (running.text()[-3000:], running.err.decode("utf-8", "replace")[-3000:])
    sys.exit("%s: FAIL: %s%s" % (test, message, details))


def metadata(path):
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n])["__metadata__"]
