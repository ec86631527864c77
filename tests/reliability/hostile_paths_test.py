#!/usr/bin/python3
"""No user-supplied string reaches a shell: train_lm trains into output directories whose names hold
quotes, ';', '$( )', backquotes, spaces and a newline, draws its loss.png there, and no injected command
runs (no PWNED* file appears anywhere under the work directory, which is also the working directory).

usage: hostile_paths_test.py TRAIN_LM WORK_DIR
"""
import pathlib
import shutil
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import train_lm_common as common  # noqa: E402

NAMES = [
    "bob's run",
    "run'; touch PWNED1; echo '",
    "$(touch PWNED2)",
    "`touch PWNED3`",
    'dq"; touch PWNED4; echo "',
    "semi;colon && touch PWNED5 | cat",
    "spaces  and\ttab",
    "line\nbreak; touch PWNED6",
    "--overwrite",  # looks like a flag: must still be taken as a path
]


def main():
    train_lm, work = sys.argv[1], pathlib.Path(sys.argv[2]).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if shutil.which("gnuplot") is None:
        common.fail("hostile_paths", "gnuplot is not installed (scripts/setup.sh installs gnuplot-nox)")
    data = common.write_corpus(work / "corpus.txt", n_words=1500)
    for name in NAMES:
        out = work / name
        args = [train_lm, "--data", str(data), "--model", "context(2, 8) linear(16) tanh linear(vocab)", "--steps", "20",
                "--batch", "16", "--eval-every", "10", "--sample-length", "10", "--threads", "1", "--out=" + str(out)]
        r = common.Running(args, cwd=work)
        rc, _ = r.finish(300)
        if rc != 0:
            common.fail("hostile_paths", "exit %s for --out %r" % (rc, name), r)
        png = out / "loss.png"
        if not png.is_file() or png.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
            common.fail("hostile_paths", "no loss.png drawn in %r" % name, r)
        if "loss curve: " not in r.text():
            common.fail("hostile_paths", "train_lm did not report the loss curve for %r" % name, r)
        print("hostile_paths: --out %r: trained, loss.png drawn" % name)
    pwned = [str(p) for p in work.rglob("PWNED*")] + [str(p) for p in pathlib.Path.cwd().glob("PWNED*")]
    if pwned:
        common.fail("hostile_paths", "an injected command ran: %s" % pwned)
    print("hostile_paths: %d hostile directory names, no injected command ran" % len(NAMES))
    print("hostile_paths: PASS")


if __name__ == "__main__":
    main()
