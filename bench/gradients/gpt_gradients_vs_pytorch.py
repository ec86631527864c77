#!/usr/bin/env python3
"""tapegrad's GPT gradients against PyTorch float64: make_gpt<double> (via gpt_gradients) and its twin
bench/pytorch/gpt_twin.py:GPT, at the same parameters, on the same batch.

    cmake --build build --target gpt_gradients
    /usr/bin/python3 bench/gradients/gpt_gradients_vs_pytorch.py                 # the suite of configurations
    /usr/bin/python3 bench/gradients/gpt_gradients_vs_pytorch.py -- --heads 1 --untied   # one, gpt_gradients' flags

For each configuration: runs gpt_gradients (its loss and every parameter's gradient, one safetensors file),
loads tapegrad's parameter values into the twin (Linear weights transposed: tapegrad stores W in×out),
recomputes the loss and the gradients in float64 and prints, per parameter,
    rel = ‖g_tapegrad − g_torch‖∞ / ‖g_torch‖∞     (the max-norm-wise relative error; 0 when both are 0)
and, for information, the worst element-wise |a − b| / max(|b|, 1e-300) ("elem"), which is large only for
elements that are tiny against the rest of their tensor (cancellation). Fails (exit 1) if any parameter's rel
exceeds --tol (1e-10), the losses differ by more than --loss-tol (1e-12 relative), or the parameter names
or shapes disagree. PyTorch is no test dependency: nothing runs this from CTest.
"""
import argparse
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "pytorch"))  # bench/pytorch/, for gpt_twin
sys.dont_write_bytecode = True  # no bench/__pycache__ left behind

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from gpt_twin import GPT, from_tapegrad, tapegrad_layout, to_tapegrad  # noqa: E402
from safetensors_f64 import read_safetensors  # noqa: E402

SUITE = [
    ("default (V11 T8 N2 H2 d16 B3)", []),
    ("untied", ["--untied"]),
    ("perturbed 0.5 (peaked attention, γ≠1, β≠0)", ["--perturb", "0.5"]),
    ("perturbed, untied", ["--perturb", "0.5", "--untied", "--seed", "7"]),
    ("H=1", ["--heads", "1", "--perturb", "0.3"]),
    ("H=d=16 (head width 1)", ["--heads", "16", "--perturb", "0.3"]),
    ("H=8, hd=2", ["--heads", "8", "--perturb", "0.3", "--untied"]),
    ("T=1 (block 1, B4)", ["--block", "1", "--windows", "4", "--perturb", "0.3"]),
    ("T=1 untied, 1 window", ["--block", "1", "--windows", "1", "--untied", "--perturb", "0.3"]),
    ("short sequence (block 8, time 5, B1)", ["--time", "5", "--windows", "1", "--perturb", "0.3"]),
    ("V2, N1, d4, H2", ["--vocab", "2", "--layers", "1", "--width", "4", "--heads", "2", "--perturb", "0.5"]),
    ("N4 H4 d32 V40 T16 B2", ["--vocab", "40", "--block", "16", "--layers", "4", "--heads", "4", "--width", "32",
                               "--windows", "2", "--perturb", "0.2"]),
    ("from the spec (build_model), perturbed", ["--from-spec", "--perturb", "0.5"]),
    ("from the spec, untied", ["--from-spec", "--untied", "--perturb", "0.3", "--heads", "4"]),
    ("train_lm's size: V114 T64 N4 H4 d128 B2", ["--vocab", "114", "--block", "64", "--layers", "4", "--heads", "4",
                                                 "--width", "128", "--windows", "2"]),
]


def ints(text):
    return [int(x) for x in text.split(",")] if text else []


def check(exe, flags, tol, loss_tol, tmp):
    """(problems, None) when the files cannot be compared, else (problems, {loss, loss_rel, rows}), a row per
    parameter: (name, shape, ‖g_torch‖∞, rel, elem)."""
    out = pathlib.Path(tmp) / "gpt_gradients.safetensors"
    run = subprocess.run([str(exe), "--out", str(out)] + flags, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if run.returncode != 0:
        return ["gpt_gradients %s exited with %d: %s" % (" ".join(flags), run.returncode, run.stderr.strip())], None
    tensors, meta = read_safetensors(out)
    cfg = {k: int(meta["config." + k]) for k in ("vocab", "block", "layers", "heads", "width")}
    B, T = int(meta["batch.windows"]), int(meta["batch.time"])
    model = GPT(cfg["vocab"], cfg["block"], cfg["layers"], cfg["heads"], cfg["width"],
                tied=meta["config.tied"] == "true").double()
    layout = tapegrad_layout(model)
    problems = []
    names = meta["names"].split(",")
    if names != [name for name, _, _ in layout]:
        problems.append("parameter names differ: tapegrad %s, twin %s" % (names, [n for n, _, _ in layout]))
        return problems, None
    with torch.no_grad():
        for name, p, kind in layout:
            value = torch.from_numpy(tensors["param." + name])
            if tuple(to_tapegrad(p, kind).shape) != tuple(value.shape):
                problems.append("%s: tapegrad %s, twin %s" % (name, tuple(value.shape), tuple(to_tapegrad(p, kind).shape)))
                return problems, None
            p.copy_(from_tapegrad(value, kind))
    ids = torch.tensor(ints(meta["ids"]), dtype=torch.long).view(B, T)
    targets = torch.tensor(ints(meta["targets"]), dtype=torch.long)
    loss = F.cross_entropy(model(ids).reshape(B * T, -1), targets)
    loss.backward()
    ours_loss = float(meta["loss"])
    loss_rel = abs(ours_loss - loss.item()) / abs(loss.item())
    if not loss_rel <= loss_tol:
        problems.append("loss: tapegrad %.17g, torch %.17g (relative %.3g)" % (ours_loss, loss.item(), loss_rel))
    rows = []
    for name, p, kind in layout:
        a = tensors["grad." + name]
        b = to_tapegrad(p.grad, kind).numpy()
        diff = np.abs(a - b)
        scale = np.abs(b).max()
        rel = 0.0 if diff.max() == 0 else diff.max() / max(scale, 1e-300)
        elem = (diff / np.maximum(np.abs(b), 1e-300)).max()
        rows.append((name, a.shape, scale, rel, elem))
        if not rel <= tol:
            problems.append("%s: relative error %.3g > %g" % (name, rel, tol))
    return problems, {"loss": loss.item(), "loss_rel": loss_rel, "rows": rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default=str(HERE.parents[1] / "build/bench/gradients/gpt_gradients"))
    ap.add_argument("--tol", type=float, default=1e-10)
    ap.add_argument("--loss-tol", type=float, default=1e-12)
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per parameter")
    ap.add_argument("flags", nargs="*", help="after --: gpt_gradients' flags for one configuration (default: the suite)")
    a = ap.parse_args()
    if not pathlib.Path(a.exe).is_file():
        sys.exit("%s: not found; build it: cmake --build build -j2 --target gpt_gradients" % a.exe)
    torch.set_num_threads(1)
    suite = [(" ".join(a.flags), a.flags)] if a.flags else SUITE
    failed = 0
    print("| configuration | loss (torch) | loss rel. diff | worst parameter rel. error | worst element-wise | result |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, flags in suite:
            problems, r = check(a.exe, flags, a.tol, a.loss_tol, tmp)
            failed += bool(problems)
            if r is None:
                print("| %s | | | | | FAIL: %s |" % (label, "; ".join(problems)))
                continue
            worst = max(r["rows"], key=lambda row: row[3])
            print("| %s | %.6f | %.1e | %.1e (%s) | %.1e | %s |" % (
                label, r["loss"], r["loss_rel"], worst[3], worst[0], max(row[4] for row in r["rows"]),
                "ok" if not problems else "FAIL"))
            for p in problems:
                print("    " + p)
            if a.verbose:
                for name, shape, scale, rel, elem in r["rows"]:
                    print("    %-22s %-8s max|g| %.3e  rel %.2e  elem %.2e" % (
                        name, "x".join(map(str, shape)), scale, rel, elem))
    print("%d of %d configurations %s" % (len(suite) - failed, len(suite), "agree" if not failed else "agree; FAILED"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
