#!/usr/bin/env python3
"""train_lm's default run against its PyTorch twin (bench/pytorch/context_twin.py), in one run, side by side.

    /usr/bin/python3 bench/pytorch/context_vs_pytorch.py [--train-lm build/samples/train_lm/train_lm] [--threads 1 2]
                                                    [--steps 4000] [--rounds 1]

For each thread count: train_lm (its --summary-json), the twin as it runs by default, and the twin with
OPENBLAS_CORETYPE set to the kernel train_lm reports (when that differs from what the twin would get
alone), so the table shows what comes from the GEMM kernel and what from the library. Every process runs
with OMP_WAIT_POLICY=passive and OPENBLAS_NUM_THREADS = the thread count. Rounds alternate the order; the
table has the medians. Prints a Markdown table and, last, one JSON line.
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
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-lm", default=str(ROOT / "build/samples/train_lm/train_lm"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for t in a.threads:
            env = dict(os.environ, OMP_WAIT_POLICY="passive", OPENBLAS_NUM_THREADS=str(t))
            ours, torch_default, torch_kernel = [], [], []
            for r in range(a.rounds):
                def tapegrad_run():
                    ours.append(run_json([a.train_lm, "--threads", str(t), "--steps", str(a.steps), "--summary-json",
                                          "--sample-length", "0", "--out", str(pathlib.Path(tmp) / ("run%d" % t)),
                                          "--overwrite"], env))
                twin = [a.python, str(HERE / "context_twin.py"), "--threads", str(t), "--steps", str(a.steps)]
                order = [tapegrad_run, lambda: torch_default.append(run_json(twin, env))]
                for f in (order if r % 2 == 0 else order[::-1]):
                    f()
                kernel = ours[-1].get("blas_kernel", "")
                if kernel and "OPENBLAS_CORETYPE" not in os.environ:
                    torch_kernel.append(run_json(twin, dict(env, OPENBLAS_CORETYPE=kernel)))

            def med(runs, key):
                return statistics.median(x[key] for x in runs) if runs else float("nan")

            rows.append({"threads": t, "blas_kernel": ours[-1].get("blas_kernel", ""),
                         "tapegrad_tokens_per_s": med(ours, "tokens_per_s"),
                         "torch_tokens_per_s": med(torch_default, "tokens_per_s"),
                         "torch_same_kernel_tokens_per_s": med(torch_kernel, "tokens_per_s"),
                         "tapegrad_eval_positions_per_s": med(ours, "eval_positions_per_s"),
                         "torch_eval_positions_per_s": med(torch_default, "eval_positions_per_s"),
                         "torch_same_kernel_eval_positions_per_s": med(torch_kernel, "eval_positions_per_s"),
                         "tapegrad_val_loss": med(ours, "val_loss"), "torch_val_loss": med(torch_default, "val_loss")})
    print("| threads | kernel | tapegrad tok/s | torch tok/s | torch tok/s, same kernel | ratio | ratio, same kernel |"
          " tapegrad eval pos/s | torch eval pos/s (same kernel) | eval ratio | val loss tapegrad / torch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        same = r["torch_same_kernel_tokens_per_s"]
        same_eval = r["torch_same_kernel_eval_positions_per_s"]
        print("| %d | %s | %.0f | %.0f | %.0f | %.2f | %.2f | %.0f | %.0f (%.0f) | %.2f | %.4f / %.4f |" % (
            r["threads"], r["blas_kernel"], r["tapegrad_tokens_per_s"], r["torch_tokens_per_s"], same,
            r["tapegrad_tokens_per_s"] / r["torch_tokens_per_s"], r["tapegrad_tokens_per_s"] / same,
            r["tapegrad_eval_positions_per_s"], r["torch_eval_positions_per_s"], same_eval,
            r["tapegrad_eval_positions_per_s"] / max(r["torch_eval_positions_per_s"], same_eval),
            r["tapegrad_val_loss"], r["torch_val_loss"]))
    print(json.dumps(rows))


if __name__ == "__main__":
    sys.exit(main())
