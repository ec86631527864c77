#!/usr/bin/env python3
"""How fast at every shape users train: tapegrad against its PyTorch twin, shape by shape, at 1 and 2 threads.

    /usr/bin/python3 bench/pytorch/sweep.py [--threads 1 2] [--points baby char6 ...] [--out build/sweep]

Each point is one model at one shape, trained step by step by tapegrad_bench (--size gpt with the shape,
--size context, --size small) and by its PyTorch twin (gpt_twin.py --bench, context_twin.py
--skip-eval, seed_twin.py), back to back in one run: the ratio of the two is what to read, absolute
figures drift with the machine. Columns:

  tokens/s       training tokens per second of the median steady step, tapegrad and the twin
  ratio          tapegrad / twin
  step / floor   tapegrad's step over its floor: for a GPT the step's GEMMs alone (every product as a raw
                 cblas_sgemm call, gpt_floor.hpp), for the others the hand-written step (seed_floor.cpp,
                 context_floor.cpp)
  peak / keep    tapegrad's peak heap during a step over what backward must keep (GPT and the note's model)
  bound          for a GPT, the twin's step over tapegrad's GEMMs alone: the most any library running these
                 products on OpenBLAS could lead the twin by (tapegrad / PyTorch can only exceed it by running
                 its products faster than OpenBLAS)

Both sides run the same OpenBLAS kernels with both pools pinned: every process gets OMP_WAIT_POLICY=passive
and OPENBLAS_NUM_THREADS = the thread count, and the twins OPENBLAS_CORETYPE = the kernel tapegrad reports,
unless OPENBLAS_CORETYPE is set already. Prints a Markdown table, writes it with a JSON file of every figure
and a PNG (tokens/s per point, both libraries, both thread counts; gnuplot) to --out.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]  # the repository: bench/pytorch/../..

# The GPT points: name → (what it is, (T, d, layers, heads, windows)); the others run fixed shapes.
GPT_SHAPES = {
    "baby": ("train_lm --model gpt: T 64, d 128, 4 layers, 4 heads, 12 windows", (64, 128, 4, 4, 12)),
    "char6": ("nanoGPT shakespeare-char: T 256, d 384, 6 layers, 6 heads, 4 windows", (256, 384, 6, 6, 4)),
    "gpt2body": ("GPT-2 small's body: T 64, d 768, 12 layers, 12 heads, 4 windows", (64, 768, 12, 12, 4)),
    "long": ("long window: T 1024, d 128, 4 layers, 4 heads, 4 windows", (1024, 128, 4, 4, 4)),
}
OTHER = {
    "context": "train_lm's default: context(8, 24) linear(384) tanh linear(vocab), batch 256",
    "seed": "the note's small model: w 8192, d 256, f 1024, n 256",
}
ALL_POINTS = list(GPT_SHAPES) + list(OTHER)


def run_json(cmd, env):
    """The last line of cmd's stdout as JSON; exits with the command's stderr when it fails."""
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("sweep.py: %s exited with %d:\n%s" % (" ".join(cmd), p.returncode, p.stderr.strip()[-3000:]))
    lines = p.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        sys.exit("sweep.py: %s printed no JSON last line:\n%s" % (" ".join(cmd), p.stdout[-2000:]))


def gpt_repeats(shape):
    """Timed steps: fewer for the large shapes (a step of GPT-2 small's body takes seconds)."""
    T, d, layers, _, windows = shape
    work = T * windows * d * d * layers
    return 5 if work > 5e8 else 11 if work > 5e7 else 31


def measure(point, threads, a, kernel):
    env = dict(os.environ, OMP_WAIT_POLICY="passive", OPENBLAS_NUM_THREADS=str(threads))
    twin_env = dict(env)
    if kernel and "OPENBLAS_CORETYPE" not in os.environ:
        twin_env["OPENBLAS_CORETYPE"] = kernel
    t = str(threads)
    if point in GPT_SHAPES:
        T, d, layers, heads, windows = GPT_SHAPES[point][1]
        shape = ["--block", str(T), "--width", str(d), "--layers", str(layers), "--heads", str(heads)]
        reps = str(gpt_repeats(GPT_SHAPES[point][1]))
        ours = run_json([a.tapegrad_bench, "--size", "gpt", *shape, "--windows", str(windows), "--threads", t,
                         "--repeats", reps, "--json"], env)
        twin = run_json([a.python, str(HERE / "gpt_twin.py"), *shape, "--batch", str(windows), "--threads", t,
                         "--bench", reps, "--bench-warmup", "2"], twin_env)
        return {"tapegrad": ours["tokens_per_s"], "torch": twin["tokens_per_s"], "floor": ours["step_over_gemms"],
                "peak": ours["peak_ratio"], "kernel": ours["blas_kernel"]}
    if point == "context":
        ours = run_json([a.tapegrad_bench, "--size", "context", "--threads", t, "--json"], env)
        twin = run_json([a.python, str(HERE / "context_twin.py"), "--threads", t, "--steps", "400", "--skip-eval"],
                        twin_env)
        return {"tapegrad": ours["tokens_per_s"], "torch": twin["tokens_per_s"], "floor": ours["ratio"], "peak": None,
                "kernel": ours["blas_kernel"]}
    n = 256  # the note's small model: 256 positions per step
    ours = run_json([a.tapegrad_bench, "--size", "small", "--threads", t, "--json"], env)
    twin = run_json([a.python, str(HERE / "seed_twin.py"), "--size", "small", "--threads", t], twin_env)
    return {"tapegrad": n / (ours["step_ms"] * 1e-3), "torch": n / (twin["step_ms"] * 1e-3), "floor": ours["ratio"],
            "peak": ours["peak_bytes"] / ours["theory_bytes"], "kernel": ours["blas_kernel"]}


def label(point):
    return GPT_SHAPES[point][0] if point in GPT_SHAPES else OTHER[point]


def table(rows):
    out = ["| point | shape | threads | tapegrad tok/s | PyTorch tok/s | tapegrad / PyTorch | step / floor | "
           "bound | peak / keep | 2 threads / 1 |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    one = {r["point"]: r["tapegrad"] for r in rows if r["threads"] == 1}
    for r in rows:
        scale = "%.2f×" % (r["tapegrad"] / one[r["point"]]) if r["threads"] == 2 and r["point"] in one else ""
        peak = "%.2f×" % r["peak"] if r["peak"] is not None else "–"
        # GEMMs alone run at tapegrad's tokens/s × step/floor; over the twin's: the bound
        bound = "%.2f×" % (r["tapegrad"] * r["floor"] / r["torch"]) if r["point"] in GPT_SHAPES else "–"
        out.append("| %s | %s | %d | %.0f | %.0f | **%.2f×** | %.2f× | %s | %s | %s |" % (
            r["point"], label(r["point"]), r["threads"], r["tapegrad"], r["torch"], r["tapegrad"] / r["torch"],
            r["floor"], bound, peak, scale))
    return "\n".join(out)


def gnuplot_quoted(text):
    """text as a gnuplot single-quoted string: a quote is doubled, so a path cannot end the string and add commands."""
    return "'" + str(text).replace("'", "''") + "'"


def plot(rows, out_dir, title):
    """tokens/s per point (log scale), tapegrad and PyTorch at each thread count, as grouped bars (gnuplot)."""
    points = list(dict.fromkeys(r["point"] for r in rows))
    threads = sorted({r["threads"] for r in rows})
    data = out_dir / "sweep.dat"
    columns = [(lib, t) for t in threads for lib in ("tapegrad", "torch")]
    with open(data, "w") as f:
        f.write("# point " + " ".join("%s_%d" % c for c in columns) + "\n")
        for p in points:
            vals = []
            for lib, t in columns:
                match = [r[lib] for r in rows if r["point"] == p and r["threads"] == t]
                vals.append("%.1f" % match[0] if match else "NaN")
            f.write(p + " " + " ".join(vals) + "\n")
    names = {"tapegrad": "tapegrad", "torch": "PyTorch"}
    plots = ", ".join("%s using %d:xtic(1) title '%s, %d thread%s'" % (
        gnuplot_quoted(data), k + 2, names[lib], t, "" if t == 1 else "s") for k, (lib, t) in enumerate(columns))
    script = "\n".join([
        "set terminal pngcairo size 1100,560 noenhanced" if has_pngcairo() else "set terminal png size 1100,560",
        "set output %s" % gnuplot_quoted(out_dir / "sweep.png"),
        "set title %s" % gnuplot_quoted(title),
        "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.85 border -1",
        "set logscale y", "set ylabel 'training tokens/s (log scale)'", "set key outside right top",
        "set grid ytics", "set yrange [10:*]",
        "plot " + plots, ""])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def has_pngcairo():
    p = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (p.stdout + p.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tapegrad-bench", default=str(ROOT / "build/bench/tapegrad_bench"))
    ap.add_argument("--python", default="/usr/bin/python3", help="a Python that has torch (Debian's python3-torch)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--points", nargs="+", default=ALL_POINTS, choices=ALL_POINTS)
    ap.add_argument("--out", default=str(ROOT / "build/sweep"))
    ap.add_argument("--from-json", metavar="FILE", help="print the table and draw the plot of an earlier sweep.json")
    a = ap.parse_args()
    if a.from_json:
        saved = json.loads(pathlib.Path(a.from_json).read_text())
        out_dir = pathlib.Path(a.out)
        out_dir.mkdir(parents=True, exist_ok=True)
        print("Sweep of %s on %s:\n\n%s" % (saved["date"], saved["machine"], table(saved["rows"])))
        plot(saved["rows"], out_dir, "tapegrad vs PyTorch, training tokens/s (%s)" % saved["date"])
        return
    if not pathlib.Path(a.tapegrad_bench).is_file():
        sys.exit("sweep.py: %s not found (build it: cmake --build build -j2 --target tapegrad_bench)" % a.tapegrad_bench)
    if subprocess.run([a.python, "-c", "import torch"], capture_output=True).returncode != 0:
        sys.exit("sweep.py: %s cannot import torch (Debian: apt-get install python3-torch)" % a.python)
    out_dir = pathlib.Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    kernel = os.environ.get("OPENBLAS_CORETYPE", "")
    rows = []
    for point in a.points:
        for t in a.threads:
            r = measure(point, t, a, kernel)
            kernel = kernel or r["kernel"]
            rows.append({"point": point, "threads": t, **r})
            print("sweep: %-8s %d thread(s): tapegrad %.0f tok/s, PyTorch %.0f tok/s (%.2f×)" % (
                point, t, r["tapegrad"], r["torch"], r["tapegrad"] / r["torch"]), file=sys.stderr, flush=True)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = "%s, %d cores, OpenBLAS %s" % (platform.processor() or platform.machine(), os.cpu_count(), kernel)
    md = "Sweep of %s on %s:\n\n%s\n" % (when, machine, table(rows))
    print(md)
    (out_dir / "sweep.md").write_text(md)
    (out_dir / "sweep.json").write_text(json.dumps({"date": when, "machine": machine, "rows": rows}, indent=1))
    plot(rows, out_dir, "tapegrad vs PyTorch, training tokens/s (%s)" % when)
    print("sweep: table, figures and plot in %s (sweep.md, sweep.json, sweep.png)" % out_dir, file=sys.stderr)


if __name__ == "__main__":
    main()
