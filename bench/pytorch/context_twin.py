#!/usr/bin/env python3
"""train_lm's default run in PyTorch eager: the twin of `train_lm` (no flags) for the side-by-side bench.

    OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=T /usr/bin/python3 bench/pytorch/context_twin.py --threads T

The same corpus (Debian's fortunes, bytes as tokens, the last 10% for validation), the same model
(context(8, 24) linear(384) tanh linear(vocab): a padded context embedding E (w+1)×24 ~ N(0, 1), nn.Linear's
own initialisation, which tapegrad's Linear copies), the same batches' distribution (256 positions drawn
uniformly with replacement), Adam lr 3e-3 with 100 linear warm-up steps and cosine to 3e-4 over 4,000 steps,
gradient-norm clip 1.0. Timed like train_lm: a step's batch assembly, forward, backward, clip and update;
then the mean cross-entropy over every position of both splits, in no-grad chunks of 4096, timed apart.
Prints one JSON object. Set OPENBLAS_NUM_THREADS as well as --threads: Debian's torch runs its GEMMs on
OpenBLAS, whose pool torch.set_num_threads does not size.
"""
import argparse
import json
import math
import os
import pathlib
import time

import torch

from twin_common import fortunes, lr_at






class ContextMlp(torch.nn.Module):
    def __init__(self, vocab, k, d, h):
        super().__init__()
        self.k = k
        self.E = torch.nn.Parameter(torch.randn(vocab + 1, d))  # id `vocab` pads before the start
        self.hidden = torch.nn.Linear(k * d, h)
        self.out = torch.nn.Linear(h, vocab)

    def forward(self, contexts):  # contexts: n×k ids, oldest first
        x = self.E[contexts].reshape(contexts.shape[0], -1)
        return self.out(torch.tanh(self.hidden(x)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--context", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-eval", action="store_true", help="training speed only (bench/pytorch/sweep.py)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    text = fortunes()
    alphabet = sorted(set(text))
    lookup = torch.full((256,), -1, dtype=torch.long)
    lookup[torch.tensor(alphabet)] = torch.arange(len(alphabet))
    ids = lookup[torch.frombuffer(bytearray(text), dtype=torch.uint8).long()]
    n_val = int(len(ids) * 0.1)
    train, val = ids[: len(ids) - n_val], ids[len(ids) - n_val:]
    vocab, k = len(alphabet), args.context

    def padded(split):  # k padding ids, then the split: the context of position p is padded[p+1 : p+1+k]
        return torch.cat([torch.full((k,), vocab, dtype=torch.long), split])

    train_pad, offsets = padded(train), torch.arange(1, k + 1)
    model = ContextMlp(vocab, k, 24, 384)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    steps, warmup = args.steps, min(args.warmup, args.steps)

    seconds = 0.0
    for step in range(steps):
        t0 = time.perf_counter()
        pos = torch.randint(0, len(train) - 1, (args.batch,))
        contexts, targets = train_pad[pos[:, None] + offsets], train[pos + 1]
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.lr, warmup, steps, args.lr * 0.1)
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(contexts), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        loss.item()
        seconds += time.perf_counter() - t0

    def evaluate(split):
        pad = padded(split)
        total, n = 0.0, len(split) - 1
        with torch.no_grad():
            for start in range(0, n, 4096):
                pos = torch.arange(start, min(n, start + 4096))
                logits = model(pad[pos[:, None] + offsets])
                total += float(torch.nn.functional.cross_entropy(logits, split[pos + 1], reduction="sum"))
        return total / n

    if args.skip_eval:
        print(json.dumps({"threads": args.threads, "steps": steps, "tokens_per_s": steps * args.batch / seconds,
                          "torch": torch.__version__}))
        return
    t0 = time.perf_counter()
    train_loss, val_loss = evaluate(train), evaluate(val)
    eval_seconds = time.perf_counter() - t0
    print(json.dumps({"threads": args.threads, "steps": steps, "tokens_per_s": steps * args.batch / seconds,
                      "train_loss": train_loss, "val_loss": val_loss,
                      "eval_positions_per_s": (len(train) + len(val) - 2) / eval_seconds,
                      "torch": torch.__version__, "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "")}))


if __name__ == "__main__":
    main()
