#!/usr/bin/python3
"""Crash safety: train_lm killed with SIGKILL at random moments resumes to exactly the uninterrupted result.

usage: crash_resume_test.py TRAIN_LM WORK_DIR [--kills N] [--seed S]

1. An uninterrupted reference run writes ref/checkpoint.safetensors.
2. The same run in crash/ is started (resuming from crash/checkpoint.safetensors when there is one) and
   killed with SIGKILL, again and again: half of the kills at a random moment of the run, half right
   after a temporary checkpoint file "checkpoint.safetensors.tmp.*" appears, i.e. while a checkpoint is
   being written. After every kill the checkpoint on disk must load (`train_lm generate` reads it).
3. The last start runs to the end; its checkpoint must be bitwise identical to the reference's, and no
   temporary file of a killed save may be left (train_lm removes those of dead processes when it starts).
"""
import argparse
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import train_lm_common as common  # noqa: E402

STEPS = 600


def loadable(train_lm, ckpt):
    r = subprocess.run([train_lm, "generate", "--checkpoint", str(ckpt), "--length", "5"], env=common.env(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.returncode == 0, r.stdout


def start(train_lm, data, out):
    ckpt = out / "checkpoint.safetensors"
    extra = ["--resume", str(ckpt)] if ckpt.exists() else []
    args = common.train_args(train_lm, data, out, STEPS, extra=extra)
    return subprocess.Popen(args, env=common.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_at_random(proc, duration, rng):
    """SIGKILL after a random fraction of a run's duration; False if the run ended first."""
    deadline = time.monotonic() + rng.uniform(0.05, 0.9) * duration
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def kill_while_saving(proc, out, pid_tmp_prefix, timeout):
    """SIGKILL as soon as this process's temporary checkpoint file exists; False if it never showed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if any(name.startswith(pid_tmp_prefix) for name in os.listdir(out)):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train_lm")
    ap.add_argument("work")
    ap.add_argument("--kills", type=int, default=8)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()
    rng = random.Random(a.seed)
    print("crash_resume: random seed %d" % a.seed)
    work = pathlib.Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    data = common.write_corpus(work / "corpus.txt")

    t0 = time.monotonic()
    common.run(common.train_args(a.train_lm, data, work / "ref", STEPS))
    duration = time.monotonic() - t0
    reference = common.checkpoint_bytes(work / "ref")
    print("reference run: %d steps in %.2f s" % (STEPS, duration))

    out = work / "crash"
    out.mkdir()
    kills = mid_save = starts = 0
    while kills < a.kills:
        starts += 1
        if starts > 20 * a.kills:
            sys.exit("crash_resume: FAIL: could not land %d kills in %d starts" % (a.kills, starts))
        proc = start(a.train_lm, data, out)
        prefix = "checkpoint.safetensors.tmp.%d." % proc.pid
        during_save = kills % 2 == 1
        killed = (kill_while_saving(proc, out, prefix, duration * 2) if during_save
                  else kill_at_random(proc, duration, rng))
        if not killed:
            if proc.returncode not in (0, -signal.SIGKILL):
                sys.exit("crash_resume: FAIL: train_lm exited with %s: %s" % (proc.returncode, proc.stderr.read().decode()))
            if proc.returncode == 0:
                # the run finished before the kill: start over from scratch to keep killing
                shutil.rmtree(out)
                out.mkdir()
            continue
        kills += 1
        left_tmp = any(name.startswith(prefix) for name in os.listdir(out))
        mid_save += left_tmp
        ckpt = out / "checkpoint.safetensors"
        state = "no checkpoint yet"
        if ckpt.exists():
            ok, text = loadable(a.train_lm, ckpt)
            if not ok:
                sys.exit("crash_resume: FAIL: after kill %d the checkpoint does not load:\n%s" % (kills, text))
            state = "checkpoint of step %d loads" % common.checkpoint_step(ckpt)
        print("kill %d (%s): %s%s" % (kills, "while saving" if during_save else "random moment", state,
                                      ", a temporary file was left mid-write" if left_tmp else ""))

    proc = start(a.train_lm, data, out)
    _, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit("crash_resume: FAIL: the last resume exited with %d: %s" % (proc.returncode, err.decode()))
    leftovers = [n for n in os.listdir(out) if n.startswith("checkpoint.safetensors.tmp.")]
    if leftovers:
        sys.exit("crash_resume: FAIL: temporary files of killed saves were not cleaned up: %s" % leftovers)
    final = common.checkpoint_bytes(out)
    diff = common.first_difference(final, reference)
    if diff is not None:
        sys.exit("crash_resume: FAIL: the final checkpoint differs from the uninterrupted run's at byte %d" % diff)
    print("crash_resume: PASS: %d kills survived (%d while a checkpoint was being written), %d starts, "
          "final checkpoint bitwise identical to the uninterrupted run's (%d bytes)" % (kills, mid_save, starts + 1, len(final)))


if __name__ == "__main__":
    main()
