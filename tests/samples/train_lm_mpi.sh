#!/bin/sh
# train_lm data-parallel, end to end: 2 ranks with the global batch 32 (16 rows each) against one process
# with batch 32; then 2 ranks stopped after 15 steps and resumed, against the straight 2-rank run. The same
# for a small GPT (8 windows per step, 4 per rank).
#   usage: train_lm_mpi.sh "<mpirun command>" <train_lm> <work dir>
# Expected: only rank 0 prints (one "final loss" line); final losses of 1 and 2 ranks agree to 1e-4
# relative (float sums in another order: see tests/distributed/equivalence_test.cpp for the tight check);
# the resumed 2-rank run ends bit for bit where the straight one ends (same ranks, same order of sums).
set -u
launch=$1; exe=$2; dir=$3
rm -rf "$dir"; mkdir -p "$dir"
model="context(3, 8) linear(32) tanh linear(vocab)"; batch=32; share="16 positions"; extra=""
run() {  # run <name> <out dir> <launcher or ''> [extra args]: log to <name>.log, summary JSON to <name>.json
  name=$1; out=$2; pre=$3; shift 3
  $pre "$exe" --data /usr/share/common-licenses/GPL-3 --model "$model" \
    --steps 40 --batch $batch --warmup 10 --eval-every 20 --checkpoint-every 20 --sample-length 20 --summary-json \
    --out "$dir/$out" $extra "$@" > "$dir/$name.log" 2>&1
  rc=$?; tail -n 1 "$dir/$name.log" > "$dir/$name.json"; return $rc
}
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do echo "== $f"; cat "$f"; done; exit 1; }

check_model() {
run one one "" || fail "1 process"
run two two "$launch -np 2" || fail "2 ranks"
[ "$(grep -c '^final loss' "$dir/two.log")" = 1 ] || fail "expected exactly one 'final loss' line (rank 0 only)"
grep -q "data-parallel: 2 ranks, $share each per step" "$dir/two.log" || fail "no data-parallel line"
run stopped resumed "$launch -np 2" --stop-after 15
grep -q "interrupted: checkpoint: .* (step 15)" "$dir/stopped.log" || fail "--stop-after 15 did not stop at step 15"
[ -f "$dir/resumed/checkpoint.safetensors" ] || fail "no checkpoint after --stop-after 15"
run resumed resumed "$launch -np 2" --resume "$dir/resumed/checkpoint.safetensors" || fail "resume"
python3 - "$dir" <<'PY' || fail "comparison"
import json, sys
d = sys.argv[1]
one, two, res = (json.load(open(f"{d}/{n}.json")) for n in ("one", "two", "resumed"))
for key in ("train_loss", "val_loss"):
    rel = abs(one[key] - two[key]) / abs(one[key])
    print(f"{key}: 1 process {one[key]:.8f}, 2 ranks {two[key]:.8f} (relative difference {rel:.2e}), "
          f"2 ranks resumed {res[key]:.8f}")
    assert rel <= 1e-4, key
    assert res[key] == two[key], key
assert two["steps"] == res["steps"] == 40
PY
}

check_model
# A windowed model (a small GPT, AdamW with decay on matrices): 8 windows of 8 tokens, 4 per rank.
rm -rf "$dir"/one "$dir"/two "$dir"/resumed
model="embed(16, std=0.02) position(8, std=0.02) repeat(2, residual(layernorm attention(2)) residual(layernorm linear(64, bias=false) gelu linear(16, bias=false))) layernorm tied"
batch=8; share="4 windows"; extra="--weight-decay 0.1"
check_model
echo "train_lm data-parallel: OK"
