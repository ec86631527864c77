#!/usr/bin/env python3
"""`train_lm --model gpt` in PyTorch eager: the twin of tapegrad's GPT (make_gpt) and of its training run.

    /usr/bin/python3 bench/pytorch/gpt_twin.py --threads T [--steps 2000] [--seed 1] [--skip-train-loss]
    /usr/bin/python3 bench/pytorch/gpt_twin.py --threads T --bench 50      # tokens/s of steady steps only

The model (nn/transformer.cpp, nanoGPT's): token and position embeddings, N pre-LayerNorm blocks
(causal multi-head self-attention, an MLP of width 4d with exact GELU), a final LayerNorm and the output
layer tied to the token embedding; no biases in the linear layers, LayerNorm with γ and β (eps 1e-5), no
dropout. Initialised as nanoGPT: every matrix and embedding N(0, 0.02²), the two projections back into the
residual stream N(0, (0.02/√(2N))²). The class GPT below is also what bench/gradients compares tapegrad's
gradients with (in float64); tapegrad_layout() maps its parameters to tapegrad's names and orientation.

The run: Debian's fortunes (bytes as tokens, the last 10% for validation, as samples/train_lm/corpus.cpp),
4 layers, 4 heads, width 128, block 64, batches of 12 windows whose start is uniform in [0, len(train) − 65],
AdamW lr 1e-3, betas (0.9, 0.99), eps 1e-8, weight decay 0.1 on the matrices and embeddings only (tapegrad's
decay_matrices_only: more than one row and column; none on LayerNorm), 100 linear warm-up steps then cosine
to 1e-4 (tapegrad's WarmupCosineLR), gradient-norm clip 1.0, 2,000 steps. A step is timed as train_lm times
one: batch assembly, forward, backward, clip, update. Then, in no-grad, the mean cross-entropy over every
position p of a split predicting token p+1, in non-overlapping windows of 64 starting at 0, 64, 128, … (the
last one shorter), for the validation split and (unless --skip-train-loss; it takes minutes) the train split.
Prints one JSON object.

Threads: --threads sizes torch's pool (torch.set_num_threads) and, since Debian's torch runs its GEMMs on
OpenBLAS, whose pool torch.set_num_threads does not size, OPENBLAS_NUM_THREADS too: this script sets it
(and OMP_WAIT_POLICY=passive) before torch loads, and refuses an OPENBLAS_NUM_THREADS that disagrees with
--threads. OPENBLAS_CORETYPE, when set, picks OpenBLAS's kernels (bench/pytorch/gpt_vs_pytorch.py sets it to the
one train_lm runs); the JSON reports the kernel OpenBLAS runs.
"""
import argparse
import json
import math
import os
import pathlib
import statistics
import sys
import time


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bench", type=int, default=0, metavar="N",
                    help="time N steady steps (after --bench-warmup steps) and print tokens/s of the median step "
                         "(as tapegrad_bench --size gpt) only, no evaluation")
    ap.add_argument("--bench-warmup", type=int, default=5)
    ap.add_argument("--skip-train-loss", action="store_true", help="evaluate the validation split only")
    ap.add_argument("--batch", type=int, default=12, help="windows per step")
    ap.add_argument("--block", type=int, default=64)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--eval-windows", type=int, default=64, help="windows per no-grad forward in the evaluation")
    a = ap.parse_args(argv)
    if a.threads < 1 or a.steps < 1 or a.bench < 0 or a.batch < 1:
        ap.error("--threads, --steps and --batch must be >= 1, --bench >= 0")
    return a


def set_thread_environment(threads):
    """Before torch loads: OpenBLAS and OpenMP read these once, when their libraries load."""
    have = os.environ.get("OPENBLAS_NUM_THREADS")
    if have is not None and have != str(threads):
        sys.exit("gpt_twin.py: OPENBLAS_NUM_THREADS=%s disagrees with --threads %d (unset it or make them equal)"
                 % (have, threads))
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")


if __name__ == "__main__":
    ARGS = parse_args()
    set_thread_environment(ARGS.threads)

import torch  # noqa: E402  (after the thread environment is set)
import torch.nn.functional as F  # noqa: E402

from twin_common import fortunes, lr_at  # noqa: E402


# ── The model ──
class CausalSelfAttention(torch.nn.Module):
    def __init__(self, d, heads, block):
        super().__init__()
        self.heads = heads
        self.c_attn = torch.nn.Linear(d, 3 * d, bias=False)  # columns of tapegrad's qkv_weight: [q | k | v]
        self.c_proj = torch.nn.Linear(d, d, bias=False)
        self.register_buffer("causal", torch.tril(torch.ones(block, block, dtype=torch.bool)), persistent=False)

    def forward(self, x):  # B×T×d
        B, T, d = x.shape
        hd = d // self.heads
        q, k, v = self.c_attn(x).split(d, dim=2)
        q, k, v = (u.view(B, T, self.heads, hd).transpose(1, 2) for u in (q, k, v))  # B×H×T×hd
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(~self.causal[:T, :T], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, d)  # heads concatenated, head h in columns h·hd …
        return self.c_proj(y)


class MLP(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.c_fc = torch.nn.Linear(d, 4 * d, bias=False)
        self.c_proj = torch.nn.Linear(4 * d, d, bias=False)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))  # exact (erf) GELU, as tapegrad's


class Block(torch.nn.Module):
    def __init__(self, d, heads, block):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(d, eps=1e-5)
        self.attn = CausalSelfAttention(d, heads, block)
        self.ln_2 = torch.nn.LayerNorm(d, eps=1e-5)
        self.mlp = MLP(d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(torch.nn.Module):
    """tapegrad's make_gpt(GPTConfig{vocab, block, layers, heads, width, tied}). forward(idx: B×T ids, T ≤ block)
    → B×T×vocab logits; a T below the block is a shorter sequence (positions 0 … T−1), as in tapegrad."""

    def __init__(self, vocab, block=64, layers=4, heads=4, width=128, tied=True):
        super().__init__()
        if width % heads:
            raise ValueError("width %d is not a multiple of the heads %d" % (width, heads))
        self.block, self.tied = block, tied
        self.wte = torch.nn.Embedding(vocab, width)
        self.wpe = torch.nn.Embedding(block, width)
        self.h = torch.nn.ModuleList(Block(width, heads, block) for _ in range(layers))
        self.ln_f = torch.nn.LayerNorm(width, eps=1e-5)
        self.lm_head = None if tied else torch.nn.Linear(width, vocab, bias=False)
        # nanoGPT's _init_weights, then its special scaled init of the residual projections
        for m in self.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)
        for b in self.h:
            for w in (b.attn.c_proj.weight, b.mlp.c_proj.weight):
                torch.nn.init.normal_(w, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    def forward(self, idx):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for b in self.h:
            x = b(x)
        x = self.ln_f(x)
        return x @ self.wte.weight.t() if self.tied else self.lm_head(x)


def tapegrad_layout(model):
    """[(tapegrad name, torch parameter, kind)] in tapegrad's parameter order (Module::named_parameters):
    kind "same" (V×d, T×d embeddings), "transpose" (a Linear: tapegrad stores W in×out, torch out×in),
    "row" (a LayerNorm vector: tapegrad 1×d, torch d)."""
    out = [("0.weight", model.wte.weight, "same"), ("1.weight", model.wpe.weight, "same")]
    for i, b in enumerate(model.h):
        p = "2.%d." % i
        out += [(p + "0.0.weight", b.ln_1.weight, "row"), (p + "0.0.bias", b.ln_1.bias, "row"),
                (p + "0.1.qkv_weight", b.attn.c_attn.weight, "transpose"),
                (p + "0.1.proj_weight", b.attn.c_proj.weight, "transpose"),
                (p + "1.0.weight", b.ln_2.weight, "row"), (p + "1.0.bias", b.ln_2.bias, "row"),
                (p + "1.1.weight", b.mlp.c_fc.weight, "transpose"),
                (p + "1.3.weight", b.mlp.c_proj.weight, "transpose")]
    out += [("3.weight", model.ln_f.weight, "row"), ("3.bias", model.ln_f.bias, "row")]
    if not model.tied:
        out.append(("4.weight", model.lm_head.weight, "transpose"))
    return out


def to_tapegrad(tensor, kind):
    """A torch parameter (or its gradient) in tapegrad's 2-D orientation."""
    return tensor.t() if kind == "transpose" else tensor.reshape(1, -1) if kind == "row" else tensor


def from_tapegrad(tensor, kind):
    """A tapegrad 2-D tensor in the torch parameter's shape."""
    return tensor.t() if kind == "transpose" else tensor.reshape(-1) if kind == "row" else tensor


def decays(p):
    """tapegrad's decay_matrices_only: more than one row and more than one column (matrices, embeddings),
    the same as nanoGPT's p.dim() >= 2 except for a 1×n or n×1 matrix, which tapegrad does not decay."""
    return p.dim() == 2 and min(p.shape) > 1


# ── The training run ──




def openblas_core():
    """The kernel family the OpenBLAS that torch loaded runs (openblas_get_corename), "" if not detectable."""
    try:
        import ctypes
        with open("/proc/self/maps") as maps:
            path = next((line.split()[-1] for line in maps if "libopenblas" in line), None)
        if path is None:
            return ""
        f = ctypes.CDLL(path).openblas_get_corename
        f.restype = ctypes.c_char_p
        return f().decode()
    except (OSError, AttributeError, StopIteration):
        return ""


def load_corpus():
    text = fortunes()
    alphabet = sorted(set(text))
    lookup = torch.full((256,), -1, dtype=torch.long)
    lookup[torch.tensor(alphabet)] = torch.arange(len(alphabet))
    ids = lookup[torch.frombuffer(bytearray(text), dtype=torch.uint8).long()]
    n_val = int(len(ids) * 0.1)  # corpus.cpp: size_t(double(size) · 0.1)
    return ids[: len(ids) - n_val], ids[len(ids) - n_val:], len(alphabet)


def evaluate(model, split, block, windows_per_forward):
    """Mean cross-entropy over every position p < len(split) − 1 predicting split[p+1], in non-overlapping
    windows of `block` starting at 0, block, 2·block, … (the last one shorter)."""
    n = len(split) - 1
    full, rest = divmod(n, block)
    total = 0.0
    with torch.no_grad():
        inputs, targets = split[: full * block].view(full, block), split[1: full * block + 1].view(full, block)
        for w in range(0, full, windows_per_forward):
            x, y = inputs[w: w + windows_per_forward], targets[w: w + windows_per_forward]
            total += float(F.cross_entropy(model(x).flatten(0, 1), y.flatten(), reduction="sum"))
        if rest:
            x, y = split[full * block: n].view(1, rest), split[full * block + 1: n + 1].view(1, rest)
            total += float(F.cross_entropy(model(x).flatten(0, 1), y.flatten(), reduction="sum"))
    return total / n


def main(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train, val, vocab = load_corpus()
    model = GPT(vocab, a.block, a.layers, a.heads, a.width, tied=True)
    params = list(model.parameters())
    groups = [{"params": [p for p in params if decays(p)], "weight_decay": a.weight_decay},
              {"params": [p for p in params if not decays(p)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.99), eps=1e-8)
    batches = torch.Generator().manual_seed(a.seed)
    offsets = torch.arange(a.block)
    steps = a.bench_warmup + a.bench if a.bench else a.steps
    warmup = min(a.warmup, a.steps)

    def step(i):
        starts = torch.randint(0, len(train) - a.block, (a.batch,), generator=batches)  # [0, len − T − 1]
        pos = starts[:, None] + offsets
        x, y = train[pos], train[pos + 1]
        lr = lr_at(i, a.lr, warmup, a.steps, a.min_lr)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, a.clip)
        opt.step()
        return loss.item()

    times, last = [], float("nan")
    for i in range(steps):
        t0 = time.perf_counter()
        last = step(i)
        if i >= (a.bench_warmup if a.bench else 0):
            times.append(time.perf_counter() - t0)
    seconds, tokens = sum(times), a.batch * a.block
    info = {"threads": a.threads, "torch": torch.__version__, "openblas_core": openblas_core(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""), "torch_threads": torch.get_num_threads()}
    if a.bench:
        # the median step, as tapegrad_bench --size gpt reports its own; the mean alongside
        step_s = statistics.median(times)
        print(json.dumps({"bench_steps": a.bench, "warmup_steps": a.bench_warmup, "step_ms": 1e3 * step_s,
                          "tokens_per_s": tokens / step_s, "tokens_per_s_mean": len(times) * tokens / seconds,
                          "seconds": seconds, **info}))
        return 0
    tokens_per_s = len(times) * tokens / seconds
    model.eval()
    t0 = time.perf_counter()
    val_loss = evaluate(model, val, a.block, a.eval_windows)
    train_loss = None if a.skip_train_loss else evaluate(model, train, a.block, a.eval_windows)
    eval_seconds = time.perf_counter() - t0
    evaluated = len(val) - 1 + (0 if a.skip_train_loss else len(train) - 1)
    print(json.dumps({"steps": steps, "val_loss": val_loss, "train_loss": train_loss, "last_batch_loss": last,
                      "tokens_per_s": tokens_per_s, "seconds": seconds, "eval_seconds": eval_seconds,
                      "eval_positions_per_s": evaluated / eval_seconds,
                      "parameters": sum(p.numel() for p in params), "vocab": vocab, **info}))
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))
