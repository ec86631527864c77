#!/usr/bin/env python3
"""`train_lm --model gpt` against its PyTorch twin (bench/pytorch/gpt_twin.py), in one run, side by side.

    /usr/bin/python3 bench/pytorch/gpt_vs_pytorch.py [--steps 2000] [--threads 1 2] [--rounds 1]
                                             [--train-lm build/samples/train_lm/train_lm] [--train-loss]
    /usr/bin/python3 bench/pytorch/gpt_vs_pytorch.py --bench-only [--bench-steps 41]
                                             [--tapegrad-bench build/bench/tapegrad_bench]

Full runs: for each thread count, train_lm --model gpt --threads T --summary-json (its reference
configuration: 2,000 steps of 12 windows of 64 tokens, AdamW, then the loss over every position of both
splits) and the twin with the same threads and steps; the table has training tokens/s, the validation loss of
both and their difference. The twin skips its train-split loss unless --train-loss (it takes minutes).
--bench-only: tapegrad_bench --size gpt --threads T --repeats N --json and the twin's --bench N (steady
steps only, no evaluation; tokens/s of the median step for both), tokens/s only, and the step's GEMMs alone
(tapegrad_bench's "gemms_alone_ms": every product of the step as raw cblas_sgemm calls, nothing else): the
twin's step over that time is the most any library running these products on OpenBLAS could be faster than
the twin ("bound" column).

Both run the same OpenBLAS kernels: every process gets OMP_WAIT_POLICY=passive and OPENBLAS_NUM_THREADS = the
thread count, and the twin OPENBLAS_CORETYPE = the kernel tapegrad reports ("blas_kernel" in its JSON; train_lm
picks a better kernel itself when OpenBLAS falls back to a generic one), unless OPENBLAS_CORETYPE is set
already, which then holds for both. Rounds alternate the order (tapegrad first in the first round, so that its
kernel is known); the table has medians. Prints a Markdown table and, last, one JSON line.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]  # the repository: bench/pytorch/../..


def run_json(cmd, env):
    """The last line of cmd's stdout as JSON; exits with the command's stderr when it fails."""
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("gpt_vs_pytorch.py: %s exited with %d:\n%s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    lines = p.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        sys.exit("gpt_vs_pytorch.py: %s printed no JSON last line:\n%s" % (" ".join(cmd), p.stdout[-2000:]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-lm", default=str(ROOT / "build/samples/train_lm/train_lm"))
    ap.add_argument("--tapegrad-bench", default=str(ROOT / "build/bench/tapegrad_bench"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--train-loss", action="store_true", help="the twin evaluates the train split too (minutes)")
    ap.add_argument("--bench-only", action="store_true", help="steady-step tokens/s of both, no training run")
    ap.add_argument("--bench-steps", type=int, default=41,
                    help="timed steps in --bench-only (tapegrad_bench --repeats and the twin's --bench; both report the median step)")
    a = ap.parse_args()
    ours_exe = a.tapegrad_bench if a.bench_only else a.train_lm
    if not pathlib.Path(ours_exe).is_file():
        sys.exit("gpt_vs_pytorch.py: %s not found (build it: cmake --build build -j2 --target %s)"
                 % (ours_exe, pathlib.Path(ours_exe).name))
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for t in a.threads:
            env = dict(os.environ, OMP_WAIT_POLICY="passive", OPENBLAS_NUM_THREADS=str(t))
            ours, twins = [], []
            kernel = pinned

            def tapegrad_run():
                nonlocal kernel
                if a.bench_only:
                    cmd = [a.tapegrad_bench, "--size", "gpt", "--threads", str(t), "--repeats", str(a.bench_steps), "--json"]
                else:
                    cmd = [a.train_lm, "--model", "gpt", "--threads", str(t), "--steps", str(a.steps), "--seed",
                           str(a.seed), "--summary-json", "--sample-length", "0",
                           "--out", str(pathlib.Path(tmp) / ("run%d" % t)), "--overwrite"]
                ours.append(run_json(cmd, env))
                if not pinned and ours[-1].get("blas_kernel"):
                    kernel = ours[-1]["blas_kernel"]

            def twin_run():
                cmd = [a.python, str(HERE / "gpt_twin.py"), "--threads", str(t), "--seed", str(a.seed)]
                cmd += ["--bench", str(a.bench_steps)] if a.bench_only else ["--steps", str(a.steps)]
                if not a.bench_only and not a.train_loss:
                    cmd.append("--skip-train-loss")
                twins.append(run_json(cmd, dict(env, OPENBLAS_CORETYPE=kernel) if kernel else env))

            for r in range(a.rounds):
                order = [tapegrad_run, twin_run]
                for f in (order if r % 2 == 0 else order[::-1]):
                    f()

            def med(runs, key):  # None when no run reported the key (e.g. the twin's skipped train loss)
                values = [x[key] for x in runs if isinstance(x.get(key), (int, float))]
                return statistics.median(values) if values else None

            rows.append({"threads": t, "tapegrad_kernel": ours[-1].get("blas_kernel", ""),
                         "torch_kernel": twins[-1].get("openblas_core", ""),
                         "tapegrad_tokens_per_s": med(ours, "tokens_per_s"), "torch_tokens_per_s": med(twins, "tokens_per_s"),
                         "gemms_alone_ms": med(ours, "gemms_alone_ms"), "torch_step_ms": med(twins, "step_ms"),
                         "tapegrad_val_loss": med(ours, "val_loss"), "torch_val_loss": med(twins, "val_loss"),
                         "tapegrad_train_loss": med(ours, "train_loss"), "torch_train_loss": med(twins, "train_loss"),
                         "rounds": a.rounds, "steps": None if a.bench_only else a.steps,
                         "mode": "bench" if a.bench_only else "train"})
    head = "| threads | kernel tapegrad / torch | tapegrad tok/s | PyTorch tok/s | ratio tapegrad/PyTorch |"
    if a.bench_only:
        print(head + " GEMMs alone | bound: PyTorch step / GEMMs alone |")
        print("|---|---|---|---|---|---|---|")
    else:
        print(head + " val loss tapegrad | val loss PyTorch | difference |" + (" train loss tapegrad / PyTorch |" if a.train_loss else ""))
        print("|---|---|---|---|---|---|---|---|" + ("---|" if a.train_loss else ""))
    def f(fmt, x):
        return "n/a" if x is None else fmt % x

    for r in rows:
        ours_tps, torch_tps = r["tapegrad_tokens_per_s"], r["torch_tokens_per_s"]
        line = "| %d | %s / %s | %s | %s | %s |" % (
            r["threads"], r["tapegrad_kernel"] or "?", r["torch_kernel"] or "?", f("%.0f", ours_tps), f("%.0f", torch_tps),
            f("%.2f", ours_tps / torch_tps if ours_tps and torch_tps else None))
        if a.bench_only:
            gemms, torch_ms = r["gemms_alone_ms"], r["torch_step_ms"]
            line += " %s | %s |" % (f("%.1f ms", gemms), f("%.2f", torch_ms / gemms if gemms and torch_ms else None))
        else:
            ours_val, torch_val = r["tapegrad_val_loss"], r["torch_val_loss"]
            line += " %s | %s | %s |" % (f("%.4f", ours_val), f("%.4f", torch_val),
                                         f("%+.4f", None if ours_val is None or torch_val is None else ours_val - torch_val))
            if a.train_loss:
                line += " %s / %s |" % (f("%.4f", r["tapegrad_train_loss"]), f("%.4f", r["torch_train_loss"]))
        print(line)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
