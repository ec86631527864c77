#!/usr/bin/env python3
"""The benchmark's step in PyTorch eager: the design note's model, float32, Adam.

    OPENBLAS_NUM_THREADS=T python3 bench/pytorch/seed_twin.py --size small --threads T [--repeats R]

Prints one JSON object: size, threads, step_ms (median of R steps after warm-up). Set OPENBLAS_NUM_THREADS
as well as --threads: Debian's torch runs its GEMMs on OpenBLAS, whose pool torch.set_num_threads does not
size. bench/pytorch/seed_vs_pytorch.py runs this next to tapegrad_bench and prints the ratios.
"""
import argparse
import json
import statistics
import time

import torch

SIZES = {"tiny": (64, 16, 64, 16), "small": (8192, 256, 1024, 256), "large": (32768, 768, 3072, 512)}
DEFAULT_REPEATS = {"tiny": 2001, "small": 41, "large": 9}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=SIZES, default="small")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w, d, f, n = SIZES[args.size]
    repeats = args.repeats or DEFAULT_REPEATS[args.size]

    g = torch.Generator().manual_seed(1)
    # Same shapes and initialisation scales as tapegrad's SeedLanguageModel: E ~ N(0, 1), W ~ U(±1/√in).
    E = torch.randn(w, d, generator=g).requires_grad_()
    Ws = [((torch.rand(i, o, generator=g) * 2 - 1) / i ** 0.5).requires_grad_() for i, o in ((d, f), (f, d), (d, w))]
    opt = torch.optim.Adam([E] + Ws, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    ids = torch.randint(0, w, (n,), generator=g)
    targets = torch.randint(0, w, (n,), generator=g)

    def step():
        opt.zero_grad()
        h = E[ids]  # embedding gather; its backward is a scatter-add into a dense gradient
        for W in Ws:
            h = h @ W
        loss = torch.nn.functional.cross_entropy(h, targets)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(max(2, repeats // 10)):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({"size": args.size, "threads": args.threads, "step_ms": statistics.median(times),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
