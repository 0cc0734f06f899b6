#!/usr/bin/env bash
# Benchmark of deleting N objects (5,000 by default) with `uploader delete --keys-from` against
# rclone (`rclone delete --files-from`) and the AWS CLI (`aws s3 rm --recursive`), in one run
# against the same local SeaweedFS (bench/server.sh starts it on free loopback ports, stopped on
# exit). Each tool at its own defaults:
#   ours     target/release/uploader in direct mode: records every key in the local outbox (one
#            SQLite transaction), then DeleteObjects of up to 1,000 keys a request, settling each
#            batch's rows in one transaction.
#   rclone   `delete --files-from --no-traverse`: its defaults (--checkers 8), one request per key.
#   aws      AWS CLI v1 `s3 rm --recursive`: lists the prefix, then deletes, 10 requests at once.
# Every run deletes from a fresh bucket that N objects of 1 KB were copied into (rclone copy,
# before the clock starts); afterwards the prefix must be empty, or the benchmark stops.
# Wall time: date +%s.%N around the command. Rounds interleave the tools (ours, rclone, aws, ours…)
# so the machine's drift hits each alike. Prints, per tool, the median seconds and keys/s, and our
# ratio to each peer. Run by hand (not in CI): [N=5000] bench/delete.sh [ROUNDS]  (default 3).
# Results go in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-3}
N=${N:-5000}
if (($# > 1)) || ! [[ $R =~ ^[0-9]+$ ]] || ((R < 1)) || ! [[ $N =~ ^[0-9]+$ ]] || ((N < 1)); then
  echo "usage: [N=5000] bench/delete.sh [ROUNDS]" >&2
  exit 2
fi
WORK=$PWD/target/bench/delete
DATA=$WORK/data-$N
OURS=${UPLOADER_BIN:-$PWD/target/release/uploader}
PREFIX=products/DEL
BENCH=delete.sh
mkdir -p "$WORK"
# shellcheck source=bench/server.sh
source bench/server.sh
RCLONE=$(resolve rclone)
AWS=$(resolve aws)
WEED=$(resolve "${WEED_BIN:-weed}" "run scripts/setup.sh, or set WEED_BIN")
[ -n "${UPLOADER_BIN:-}" ] || cargo build --release -q -p uploader-cli

if [ ! -d "$DATA" ]; then
  rm -rf "$DATA.tmp"
  python3 - "$DATA.tmp" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
for i in range(1, n + 1):
    with open(os.path.join(d, f"f{i:06d}.jpg"), "wb") as f:
        f.write(os.urandom(1024))
PY
  mv "$DATA.tmp" "$DATA"
fi
(cd "$DATA" && ls) > "$WORK/names.txt"
sed "s#^#$PREFIX/#" "$WORK/names.txt" > "$WORK/keys.txt"

start_seaweed
: > "$SRV/ours.toml"
count() { # objects left under the prefix of bucket $1
  s3 s3 ls --recursive --summarize "s3://$1/$PREFIX/" 2>/dev/null |
    sed -n 's/^ *Total Objects: *//p' || true
}
RUNS=$WORK/runs.tsv # round, tool, seconds
: > "$RUNS"
run_tool() { # TOOL ROUND
  local tool=$1 round=$2 bucket t0 t1 rc=0 left cmd=()
  bucket=del-r$round-$tool
  make_bucket "$bucket"
  "$RCLONE" copy -q --transfers 16 "$DATA" "bench:$bucket/$PREFIX"
  left=$(count "$bucket")
  if [ "$left" != "$N" ]; then
    echo "delete.sh: the copy left ${left:-0} objects, not $N" >&2
    exit 1
  fi
  case $tool in
    ours) cmd=("$OURS" --config "$SRV/ours.toml" --data-dir "$SRV/data-$bucket" --endpoint "$ENDPOINT"
      --bucket "$bucket" delete --json --keys-from "$WORK/keys.txt") ;;
    rclone) cmd=("$RCLONE" delete -q --no-traverse --files-from "$WORK/names.txt" "bench:$bucket/$PREFIX") ;;
    aws) cmd=("$AWS" --endpoint-url "$ENDPOINT" s3 rm --recursive --only-show-errors "s3://$bucket/$PREFIX/") ;;
  esac
  t0=$(date +%s.%N)
  "${cmd[@]}" > "$SRV/run.log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  left=$(count "$bucket")
  if ((rc != 0)) || [ "${left:-0}" != 0 ]; then
    echo "delete.sh: $tool, round $round: exit $rc, ${left:-0} objects left; its output:" >&2
    tail -n 20 "$SRV/run.log" >&2
    exit 1
  fi
  drop_bucket "$bucket"
  printf '%s\t%s\t%s\n' "$round" "$tool" "$(echo "$t1 - $t0" | bc -l)" >> "$RUNS"
  printf '  round %s %-7s %6.2f s\n' "$round" "$tool" "$(echo "$t1 - $t0" | bc -l)"
}
echo "deleting $N objects of 1 KB; $R rounds; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= R; round++)); do
  for tool in ours rclone aws; do run_tool "$tool" "$round"; done
done
python3 - "$RUNS" "$N" <<'PY'
import statistics, sys
runs, n = sys.argv[1], int(sys.argv[2])
times = {}
for line in open(runs):
    _, tool, secs = line.split("\t")
    times.setdefault(tool, []).append(float(secs))
med = {t: statistics.median(v) for t, v in times.items()}
print(f"{'tool':<8} {'median s':>9} {'keys/s':>9}  min-max s")
for t, v in times.items():
    print(f"{t:<8} {med[t]:>9.2f} {n / med[t]:>9.0f}  {min(v):.2f}-{max(v):.2f}")
for peer in ("rclone", "aws"):
    print(f"ours vs {peer}: {med[peer] / med['ours']:.1f}x faster")
PY
