#!/usr/bin/env python3
"""tapegrad against PyTorch eager on the benchmark's step, in one run.

    python3 bench/compare_pytorch.py --bench build/bench/tapegrad_bench [--sizes tiny small large]
                                     [--threads 1 2] [--rounds 3]

For every size and thread count, runs tapegrad_bench --json and bench/pytorch_step.py alternately for
--rounds rounds (OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set for both), PyTorch twice per round: as shipped
and with glibc malloc told to keep freed memory (MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_ huge), which
removes the page faults that dominate its large steps (../shared/docs/performance-notes.md). Prints a
Markdown table of medians and the ratios ours/theirs (below 1: tapegrad is faster).
Needs Debian's python3-torch; exits with a message when it is missing.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEEP_MEMORY = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40), "MALLOC_TOP_PAD_": str(1 << 30)}


def last_json(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=str(HERE.parent / "build" / "bench" / "tapegrad_bench"))
    ap.add_argument("--sizes", nargs="+", default=["tiny", "small", "large"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--python", default="/usr/bin/python3", help="a Python that has torch (Debian's)")
    args = ap.parse_args()
    probe = subprocess.run([args.python, "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        sys.exit("compare_pytorch: PyTorch is not installed for " + args.python +
                 " (apt-get install python3-torch); nothing to compare")

    print("| size | threads | tapegrad ms | floor ms | tapegrad/floor | torch ms | torch kept-memory ms |"
          " tapegrad/torch | tapegrad/torch kept-memory |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        for threads in args.threads:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                       OMP_WAIT_POLICY="passive")
            ours, floor, ratio, torch_plain, torch_kept = [], [], [], [], []
            for _ in range(args.rounds):
                r = last_json([args.bench, "--size", size, "--threads", str(threads), "--json"], env)
                ours.append(r["step_ms"])
                floor.append(r["floor_ms"])
                ratio.append(r["ratio"])
                torch_cmd = [args.python, str(HERE / "pytorch_step.py"), "--size", size, "--threads", str(threads)]
                torch_plain.append(last_json(torch_cmd, env)["step_ms"])
                torch_kept.append(last_json(torch_cmd, dict(env, **KEEP_MEMORY))["step_ms"])
            m = statistics.median
            print(f"| {size} | {threads} | {m(ours):.4g} | {m(floor):.4g} | {m(ratio):.3f} | {m(torch_plain):.4g} |"
                  f" {m(torch_kept):.4g} | {m(ours) / m(torch_plain):.3f} | {m(ours) / m(torch_kept):.3f} |",
                  flush=True)


if __name__ == "__main__":
    main()
