#!/usr/bin/env python3
"""tapegrad's second-order values against PyTorch float64 (torch.autograd.grad with create_graph=True).

    cmake --build build --target second_order
    /usr/bin/python3 bench/gradients/second_order_vs_pytorch.py [--seed 1] [--tol 1e-10]

Runs second_order (bench/gradients/second_order.cpp), which writes each case's inputs, the vectors of its
Hessian-vector product and tapegrad's results, recomputes them with PyTorch and prints, per result,
    rel = ‖tapegrad − torch‖∞ / ‖torch‖∞
Cases: the Hessian-vector product of an MLP's cross-entropy (tanh, biases), of a LayerNorm + GELU + softmax
cross-entropy network (label smoothing 0.1, an ignored target), and the parameter gradient of a WGAN-GP
gradient penalty. Fails (exit 1) when any rel exceeds --tol. PyTorch is no test dependency: nothing runs
this from CTest.
"""
import argparse
import pathlib
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no bench/__pycache__ left behind
from safetensors_f64 import read_safetensors  # noqa: E402  (this folder)

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def hvp(loss_fn, params, vectors):
    params = [p.clone().requires_grad_(True) for p in params]
    g = torch.autograd.grad(loss_fn(*params), params, create_graph=True)
    gv = sum((gi * vi).sum() for gi, vi in zip(g, vectors))
    return torch.autograd.grad(gv, params)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exe", default=str(ROOT / "build/bench/gradients/second_order"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tol", type=float, default=1e-10)
    a = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "second_order.safetensors"
        subprocess.run([a.exe, "--out", str(path), "--seed", str(a.seed)], check=True)
        arrays, meta = read_safetensors(path)
        t = {name: torch.from_numpy(a) for name, a in arrays.items()}

    results = []  # (case, name, torch value, tapegrad value)

    names = ["W1", "b1", "W2", "b2"]
    x, targets = t["mlp.in.x"], torch.tensor([int(v) for v in meta["mlp.targets"].split(",")])

    def mlp(W1, b1, W2, b2):
        return F.cross_entropy(torch.tanh(x @ W1 + b1) @ W2 + b2, targets)

    ref = hvp(mlp, [t["mlp.in." + n] for n in names], [t["mlp.v." + n] for n in names])
    results += [("mlp H·v", n, r, t["mlp.out." + n]) for n, r in zip(names, ref)]

    names = ["W1", "gamma", "beta", "W2"]
    x_ln, t_ln = t["ln_ce.in.x"], torch.tensor([int(v) for v in meta["ln_ce.targets"].split(",")])

    def ln_ce(W1, gamma, beta, W2):
        h = F.gelu(F.layer_norm(x_ln @ W1, (W1.shape[1],), gamma.reshape(-1), beta.reshape(-1), eps=1e-5))
        return F.cross_entropy(h @ W2, t_ln, ignore_index=-100, label_smoothing=0.1)

    ref = hvp(ln_ce, [t["ln_ce.in." + n] for n in names], [t["ln_ce.v." + n] for n in names])
    results += [("ln_ce H·v", n, r, t["ln_ce.out." + n]) for n, r in zip(names, ref)]

    x_gp = t["penalty.in.x"].clone().requires_grad_(True)
    W1 = t["penalty.in.W1"].clone().requires_grad_(True)
    W2 = t["penalty.in.W2"].clone().requires_grad_(True)
    d = (torch.tanh(x_gp @ W1) @ W2).sum()
    (gx,) = torch.autograd.grad(d, x_gp, create_graph=True)
    penalty = ((gx.pow(2).sum(dim=1).sqrt() - 1) ** 2).sum()
    gW1, gW2 = torch.autograd.grad(penalty, [W1, W2])
    results += [("penalty ∇P", "P", penalty.detach().reshape(1, 1), t["penalty.out.P"]),
                ("penalty ∇P", "W1", gW1, t["penalty.out.W1"]), ("penalty ∇P", "W2", gW2, t["penalty.out.W2"])]

    print("| case | result | shape | ‖torch‖∞ | rel |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for case, name, ref_value, ours in results:
        scale = ref_value.abs().max().item()
        rel = (ours - ref_value).abs().max().item() / scale if scale > 0 else (ours - ref_value).abs().max().item()
        worst = max(worst, rel)
        print("| %s | %s | %s | %.3e | %.1e |" % (case, name, "x".join(map(str, ref_value.shape)), scale, rel))
    ok = worst <= a.tol
    print("worst rel %.1e: %s (tolerance %.0e)" % (worst, "agree" if ok else "DISAGREE", a.tol))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
