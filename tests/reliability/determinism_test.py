#!/usr/bin/python3
"""Determinism: two train_lm runs with the same seed write bitwise-identical checkpoints, at 1 and at 2
BLAS threads (--threads and OPENBLAS_NUM_THREADS). The matrices (batch 256, hidden 256) are large enough
for OpenBLAS to split its products between threads.

usage: determinism_test.py TRAIN_LM WORK_DIR
"""
import pathlib
import shutil
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import train_lm_common as common  # noqa: E402

STEPS = 60


def main():
    train_lm, work = sys.argv[1], pathlib.Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    data = common.write_corpus(work / "corpus.txt")
    first = {}
    for threads in (1, 2):
        images = []
        for run in ("a", "b"):
            out = work / ("threads%d_%s" % (threads, run))
            common.run(common.train_args(train_lm, data, out, STEPS, threads=threads, checkpoint_every=1000,
                                             batch=256, hidden=256), threads)
            images.append(common.checkpoint_bytes(out))
        diff = common.first_difference(*images)
        if diff is not None:
            sys.exit("determinism: FAIL: at %d threads the two checkpoints differ at byte %d" % (threads, diff))
        print("determinism: %d thread(s): two runs, identical checkpoints (%d bytes)" % (threads, len(images[0])))
        first[threads] = images[0]
    # Not required (BLAS may split sums differently with more threads); reported for the record.
    across = common.first_difference(first[1], first[2])
    print("determinism: 1 vs 2 threads: %s" % ("identical too" if across is None else "differ from byte %d (allowed)" % across))
    print("determinism: PASS")


if __name__ == "__main__":
    main()
