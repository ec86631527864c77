#!/usr/bin/python3
"""One run per output directory, and no run silently destroys another's checkpoint.

usage: run_directory_test.py TRAIN_LM WORK_DIR

1. While a run trains into a directory, a second train_lm with the same --out fails at once, naming the
   first run's pid, and touches nothing; after the first one ends, the directory is free again.
2. A fresh run (no --resume) into a directory that holds a checkpoint fails and leaves it byte for byte as
   it was; with --overwrite it replaces it; --resume from that checkpoint needs no --overwrite.
"""
import pathlib
import shutil
import signal
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import train_lm_common as common  # noqa: E402

TEST = "run_directory"


def run_args(train_lm, data, out, steps, seed=7, extra=()):
    return [train_lm, "--data", str(data), "--out", str(out), "--model", "context(4, 16) linear(96) tanh linear(vocab)",
            "--steps", str(steps), "--batch", "64", "--eval-every", "10", "--sample-length", "10", "--threads", "1",
            "--seed", str(seed), *extra]


def main():
    train_lm, work = sys.argv[1], pathlib.Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    data = common.write_corpus(work / "corpus.txt")
    out = work / "shared"

    # 1. the lock
    first = common.Running(run_args(train_lm, data, out, 10 ** 7, seed=1))
    first.wait_for("step 10/", 120)
    second = common.Running(run_args(train_lm, data, out, 20, seed=2, extra=["--overwrite"]))
    rc, waited = second.finish(60)
    err = second.err.decode("utf-8", "replace")
    expected = "is in use by another train_lm run (pid %d)" % first.proc.pid
    if rc == 0 or expected not in err:
        first.proc.kill()
        common.fail(TEST, "a second run into the same --out: exit %s, expected an error with %r" % (rc, expected), second)
    if first.proc.poll() is not None:
        common.fail(TEST, "the first run ended when the second one started", first)
    print("%s: a second run into a busy directory failed after %.2f s: %s" % (TEST, waited, err.strip().splitlines()[-1]))
    first.proc.send_signal(signal.SIGTERM)
    rc, _ = first.finish(60)
    if rc != 143:
        common.fail(TEST, "the first run, stopped by SIGTERM: exit %s" % rc, first)
    ckpt = out / "checkpoint.safetensors"
    step = int(common.metadata(ckpt)["train.step"])
    resumed = common.Running(run_args(train_lm, data, out, step + 2, extra=["--resume", str(ckpt)]))
    rc, _ = resumed.finish(300)
    if rc != 0:
        common.fail(TEST, "resuming once the first run had ended: exit %s (was the lock released?)" % rc, resumed)
    print("%s: after the first run ended, a resume into the same directory ran (step %d -> %d)" % (TEST, step, step + 2))

    # 2. no silent overwrite
    before = ckpt.read_bytes()
    fresh = common.Running(run_args(train_lm, data, out, 5, seed=3))
    rc, _ = fresh.finish(300)
    err = fresh.err.decode("utf-8", "replace")
    if rc == 0 or "already holds a checkpoint of an earlier run" not in err or "--overwrite" not in err:
        common.fail(TEST, "a fresh run into a directory with a checkpoint: exit %s" % rc, fresh)
    if ckpt.read_bytes() != before:
        common.fail(TEST, "the refused fresh run changed the checkpoint")
    print("%s: a fresh run into a directory with a checkpoint was refused, the checkpoint unchanged" % TEST)
    replaced = common.Running(run_args(train_lm, data, out, 5, seed=3, extra=["--overwrite"]))
    rc, _ = replaced.finish(300)
    if rc != 0 or ckpt.read_bytes() == before or common.metadata(ckpt)["train.seed"] != "3":
        common.fail(TEST, "--overwrite: exit %s, the checkpoint was not replaced" % rc, replaced)
    print("%s: with --overwrite the fresh run replaced it" % TEST)
    print("%s: PASS" % TEST)


if __name__ == "__main__":
    main()
