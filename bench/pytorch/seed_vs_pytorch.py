#!/usr/bin/env python3
"""The benchmark's results table: tapegrad against its floor and against PyTorch eager, in one run.

    /usr/bin/python3 bench/pytorch/seed_vs_pytorch.py [--bench build/bench/tapegrad_bench] [--sizes tiny small large]
                                     [--threads 1 2] [--rounds 3]

For every size and thread count, runs tapegrad_bench --json and bench/pytorch/seed_twin.py alternately for
--rounds rounds (OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set for both), PyTorch twice per round: as shipped
and with glibc malloc told to keep freed memory (MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_ huge), which
removes the page faults that dominate its large steps (docs/performance.md). Prints a
Markdown table of medians: the step against the floor (the ratio is the median of pair ratios measured in
one process), GFLOP/s, tape overhead, allocations, peak heap against theory, and the ratios tapegrad/PyTorch
(below 1: tapegrad is faster). Without Debian's python3-torch the PyTorch columns say n/a.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]  # the repository: bench/pytorch/../..
KEEP_MEMORY = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40), "MALLOC_TOP_PAD_": str(1 << 30)}


def last_json(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=str(ROOT / "build" / "bench" / "tapegrad_bench"))
    ap.add_argument("--sizes", nargs="+", default=["tiny", "small", "large"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--python", default="/usr/bin/python3", help="a Python that has torch (Debian's)")
    args = ap.parse_args()
    probe = subprocess.run([args.python, "-c", "import torch"], capture_output=True)
    have_torch = probe.returncode == 0
    if not have_torch:
        print("report: PyTorch is not installed for " + args.python + " (apt-get install python3-torch);"
              " its columns are n/a", file=sys.stderr)

    print("| size | threads | step ms | floor ms | step/floor | GFLOP/s | µs/node | allocs/step | peak/theory |"
          " torch ms | torch kept-mem ms | tapegrad/torch | tapegrad/torch kept-mem |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    m = statistics.median
    for size in args.sizes:
        for threads in args.threads:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                       OMP_WAIT_POLICY="passive")
            runs, torch_plain, torch_kept = [], [], []
            for _ in range(args.rounds):
                runs.append(last_json([args.bench, "--size", size, "--threads", str(threads), "--json"], env))
                if have_torch:
                    torch_cmd = [args.python, str(HERE / "seed_twin.py"), "--size", size, "--threads", str(threads)]
                    torch_plain.append(last_json(torch_cmd, env)["step_ms"])
                    torch_kept.append(last_json(torch_cmd, dict(env, **KEEP_MEMORY))["step_ms"])
            ours = m([r["step_ms"] for r in runs])
            cols = [size, str(threads), f"{ours:.4g}", f"{m([r['floor_ms'] for r in runs]):.4g}",
                    f"{m([r['ratio'] for r in runs]):.3f}", f"{m([r['gflops'] for r in runs]):.1f}",
                    f"{m([r['node_overhead_us'] for r in runs]):.3f}", f"{max(r['allocs_per_step'] for r in runs):g}",
                    f"{m([r['peak_bytes'] / r['theory_bytes'] for r in runs]):.3f}"]
            if have_torch:
                cols += [f"{m(torch_plain):.4g}", f"{m(torch_kept):.4g}", f"{ours / m(torch_plain):.3f}",
                         f"{ours / m(torch_kept):.3f}"]
            else:
                cols += ["n/a"] * 4
            print("| " + " | ".join(cols) + " |", flush=True)


if __name__ == "__main__":
    main()
