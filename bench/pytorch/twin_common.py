"""What the PyTorch twins (context_twin.py, gpt_twin.py) share with train_lm: its default corpus and
its learning-rate schedule."""
import math
import pathlib


def fortunes():
    """samples/train_lm's default corpus: the regular, non-symlink files without an extension, in name order."""
    d = pathlib.Path("/usr/share/games/fortunes")
    files = sorted(p for p in d.iterdir() if p.is_file() and not p.is_symlink() and p.suffix == "")
    return b"".join(p.read_bytes() for p in files)


def lr_at(step, base, warmup, total, floor):
    """tapegrad's WarmupCosineLR::lr_at (tapegrad/optim/schedule.hpp): linear warm-up, then cosine to floor."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = 1.0 if total == warmup else min(1.0, (step - warmup) / (total - warmup))
    return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * progress))
