#!/usr/bin/env bash
# Benchmark of the image pipeline against its peers, in one run on the same 24 MP JPEGs:
# vipsthumbnail (one run per size, as users script it), sharp (one decode, the 400 from the 2048:
# its best case) and ImageMagick (one decode, the 400 from the 2048). Every tool makes the same two
# variants: 2048 px and 400 px, JPEG q85, stripped, oriented, never upscaled.
# Each measurement is repeated R times, because this machine's speed drifts between runs. For each
# thread count (1, 2) the tools run interleaved, one round after another (round 1: ours, vips,
# sharp, magick, pipeline_speed; round 2: the same ...), so drift hits every tool alike.
# Prints, per tool: median images/s, min–max and spread, median peak RSS, our ratio to it (ratio of
# the medians, and the median of the per-round ratios: the most drift-robust figure); decode-alone
# and in-memory render speed (example pipeline_speed), median of R; then DSSIM of the 2048s
# against a high-quality reference and total output bytes, once, from the last 2-thread outputs.
# Run by hand (not in CI): bench/pipeline.sh [N_IMAGES [R]]   Results go in docs/benchmarks.md.
#   R (default: env REPEAT, else 5): rounds per thread count.
#   env MAGICK_REPEAT (default 1, 0..R): ImageMagick (~0.7 img/s) runs in the first MAGICK_REPEAT
#   rounds only; the output says so.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
R=${2:-${REPEAT:-5}}
MAGICK_R=${MAGICK_REPEAT:-1}
WORK=$PWD/target/bench
IMAGES=$WORK/images-$N
SHARED=../shared/images
is_count() { [[ $1 =~ ^[0-9]+$ ]]; }
if (($# > 2)) || ! is_count "$N" || ((N < 1)) || ! is_count "$R" || ((R < 1)) || ! is_count "$MAGICK_R" || ((MAGICK_R > R)); then
  echo "usage: [REPEAT=R] [MAGICK_REPEAT=M] bench/pipeline.sh [N_IMAGES [R]]  (N, R >= 1; 0 <= M <= R)" >&2
  exit 2
fi
cmdline="bench/pipeline.sh${*:+ $*}"
[ -n "${MAGICK_REPEAT:-}" ] && cmdline="MAGICK_REPEAT=$MAGICK_REPEAT $cmdline"
[ -z "${2:-}" ] && [ -n "${REPEAT:-}" ] && cmdline="REPEAT=$REPEAT $cmdline"

# Peers and tools: Debian's libvips-tools, exiftool (for make-24mp.sh), sharp from npm, dssim.
need=()
command -v vipsthumbnail >/dev/null || need+=(libvips-tools)
command -v exiftool >/dev/null || need+=(libimage-exiftool-perl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v dssim >/dev/null || cargo install dssim --locked -q
[ -d bench/node_modules/sharp ] || (cd bench && npm ci --no-audit --no-fund --loglevel=error)
cargo build --release -q -p uploader-cli --bin uploader -p uploader-core --example pipeline_speed

if [ ! -f "$IMAGES/photo24_$(printf %02d "$N").jpg" ]; then
  bash "$SHARED/tools/make-24mp.sh" "$IMAGES" "$N" >/dev/null
fi
setup=$SECONDS
LIST=$WORK/images-$N.txt
printf '%s\n' "$IMAGES"/*.jpg > "$LIST"
cat "$IMAGES"/*.jpg > /dev/null # into the page cache, so round 1 does not pay for the disk

# Runs a command; leaves "seconds peak_rss_kb" in $WORK/time.txt (RSS: the largest single process).
timed() { /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null; }

vips_one() { # FILE OUT_DIR: two runs, one per size, as a user's script does
  local stem; stem=$(basename "$1" .jpg)
  vipsthumbnail "$1" --size "2048x2048>" -o "$2/$stem-2048.jpg[Q=85,strip]"
  vipsthumbnail "$1" --size "400x400>" -o "$2/$stem-400.jpg[Q=85,strip]"
}
magick_one() { # FILE OUT_DIR
  local stem; stem=$(basename "$1" .jpg)
  convert "$1" -auto-orient -strip -resize "2048x2048>" -quality 85 -sampling-factor 2x2 -write "$2/$stem-2048.jpg" \
    -resize "400x400>" -quality 85 -sampling-factor 2x2 "$2/$stem-400.jpg"
}
export -f vips_one magick_one
export VIPS_CONCURRENCY=1 MAGICK_THREAD_LIMIT=1

# One timed run of TOOL on T threads into an emptied OUT_DIR; prints "images/s peak_rss_kb".
# shellcheck disable=SC2016 # the bash -c scripts get their "$1" "$2" from xargs, unexpanded here
run_tool() { # TOOL T OUT_DIR
  local tool=$1 t=$2 dir=$3 s rss
  rm -rf "$dir"; mkdir -p "$dir"
  case $tool in
    ours) timed target/release/uploader --data-dir "$WORK/data" --config bench/config.toml \
      process --jobs "$t" --sku bench --out "$dir" "$IMAGES" ;;
    vips) timed xargs -a "$LIST" -P "$t" -I{} bash -c 'vips_one "$1" "$2"' _ {} "$dir" ;;
    sharp) timed node bench/sharp-bench.mjs "$IMAGES" "$dir" "$t" ;;
    magick) timed xargs -a "$LIST" -P "$t" -I{} bash -c 'magick_one "$1" "$2"' _ {} "$dir" ;;
  esac
  read -r s rss < "$WORK/time.txt"
  awk -v n="$N" -v s="$s" -v rss="$rss" 'BEGIN {printf "%.4f %d\n", n / s, rss}'
}

if ((MAGICK_R == R)); then magick_note="in every round"
elif ((MAGICK_R == 0)); then magick_note="not run (MAGICK_REPEAT=0)"
else magick_note="in the first $MAGICK_R round(s) only (MAGICK_REPEAT)"; fi
echo "command: $cmdline"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $(git describe --always --dirty 2>/dev/null || echo unknown)"
echo "repeats: R=$R rounds per thread count, tools interleaved in each round (ours, vips, sharp, magick, pipeline_speed); ImageMagick $magick_note"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "images: $N × 24 MP JPEG Q92 (every fifth stored sideways, orientation 6) from make-24mp.sh"
echo "versions: $(vipsthumbnail --version 2>&1 | head -1); sharp $(node -p "require('./bench/node_modules/sharp/package.json').version"); $(convert -version | head -1 | cut -d' ' -f2-3)"

declare -A got=()
RUNS=$WORK/runs.tsv # threads round tool images/s peak_rss_kb (decode/render: from pipeline_speed, no RSS)
: > "$RUNS"
for T in 1 2; do
  out=$WORK/out-$T; rm -rf "$out"; mkdir -p "$out"/{ours,vips,sharp,magick}
  echo
  echo "threads $T, images/s per round:"
  printf '  %-6s %8s %8s %8s %8s %8s %8s\n' round ours vips sharp magick decode render
  for ((round = 1; round <= R; round++)); do
    got=([magick]=-) # this round's images/s, for the per-round line
    for tool in ours vips sharp magick; do
      [ "$tool" = magick ] && ((round > MAGICK_R)) && continue
      result=$(run_tool "$tool" "$T" "$out/$tool")
      read -r rate rss <<< "$result"
      printf '%s\t%s\t%s\t%s\t%s\n' "$T" "$round" "$tool" "$rate" "$rss" >> "$RUNS"
      got[$tool]=$(printf '%.2f' "$rate")
    done
    line=$(target/release/examples/pipeline_speed "$IMAGES" --threads "$T" --largest 2048)
    got[decode]=$(sed -n 's/.*decode_only_images_per_s=\([0-9.]*\).*/\1/p' <<< "$line")
    got[render]=$(sed -n 's/.*render_images_per_s=\([0-9.]*\).*/\1/p' <<< "$line")
    printf '%s\t%s\t%s\t%s\t-\n' "$T" "$round" decode "${got[decode]}" "$T" "$round" render "${got[render]}" >> "$RUNS"
    printf '  %-6s %8s %8s %8s %8s %8s %8s\n' "$round" "${got[ours]}" "${got[vips]}" "${got[sharp]}" \
      "${got[magick]}" "${got[decode]}" "${got[render]}"
  done
done

# Medians over the rounds. "ours ÷ tool": ratio of the medians; "per round": median over the
# rounds of ours ÷ tool within the same round, which cancels drift between rounds.
echo
python3 - "$RUNS" <<'PY'
import sys
from collections import defaultdict
from statistics import median

runs = defaultdict(dict)  # (threads, tool) -> {round: (images/s, rss_kb or None)}
for line in open(sys.argv[1]):
    t, rnd, tool, rate, rss = line.split()
    runs[int(t), tool][int(rnd)] = (float(rate), None if rss == "-" else int(rss))

def stats(t, tool):
    rates = [r for r, _ in runs[t, tool].values()]
    m = median(rates)
    if len(rates) == 1:
        return m, "-", "-"
    return m, f"{min(rates):.2f}–{max(rates):.2f}", f"±{(max(rates) - min(rates)) / 2 / m * 100:.0f}%"

def per_round(t, num, den):
    """Median, over the rounds where both ran, of num's images/s ÷ den's images/s."""
    both = runs[t, num].keys() & runs[t, den].keys()
    return median(runs[t, num][k][0] / runs[t, den][k][0] for k in both)

threads = sorted({t for t, _ in runs})
head = ("threads", "tool", "runs", "median img/s", "min–max", "spread", "peak RSS MB", "ours÷tool", "per round")
fmt = "{:<8} {:<7} {:>4} {:>12} {:>12} {:>6} {:>11} {:>9} {:>9}"
print("medians (spread = half of max−min, relative to the median; ours÷tool = ratio of medians; "
      "per round = median of the per-round ratios)")
print(fmt.format(*head))
for t in threads:
    ours = median(r for r, _ in runs[t, "ours"].values())
    for tool in ("ours", "vips", "sharp", "magick"):
        if not runs[t, tool]:
            continue
        m, span, spread = stats(t, tool)
        rss = median(kb for _, kb in runs[t, tool].values()) / 1024
        print(fmt.format(t, tool, len(runs[t, tool]), f"{m:.2f}", span, spread, f"{rss:.0f}",
                         f"{ours / m:.2f}", f"{per_round(t, 'ours', tool):.2f}"))
print()
print("pipeline_speed, in memory, no file writes (render÷decode and ours÷decode: time ratios, "
      "median of the per-round ratios)")
fmt = "{:<8} {:>16} {:>12} {:>6} {:>16} {:>12} {:>6} {:>13} {:>11}"
print(fmt.format("threads", "decode only img/s", "min–max", "spread", "render img/s", "min–max",
                 "spread", "render÷decode", "ours÷decode"))
for t in threads:
    d, d_span, d_spread = stats(t, "decode")
    r, r_span, r_spread = stats(t, "render")
    print(fmt.format(t, f"{d:.2f}", d_span, d_spread, f"{r:.2f}", r_span, r_spread,
                     f"{per_round(t, 'decode', 'render'):.2f}×", f"{per_round(t, 'decode', 'ours'):.2f}×"))
PY

# Quality and size, from the last 2-thread outputs: DSSIM of each 2048 against ImageMagick's Lanczos
# resize of the full-resolution original to the same size, in 16-bit, saved losslessly.
echo
out=$WORK/out-2; q=$WORK/quality; rm -rf "$q"; mkdir -p "$q"
declare -A total=()
for tool in ours vips sharp magick; do
  total[$tool]=$(find "$out/$tool" -name '*.jpg' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
done
for f in "$IMAGES"/*.jpg; do
  stem=$(basename "$f" .jpg)
  for tool in ours vips; do
    made=$(find "$out/$tool" -name "$stem-2048.jpg" | head -1)
    size=$(identify -format '%wx%h' "$made")
    convert "$f" -auto-orient -depth 16 -filter Lanczos -resize "$size!" -depth 8 "$q/$stem-ref-$size.png"
    convert "$made" "$q/$stem-$tool.png"
    dssim "$q/$stem-ref-$size.png" "$q/$stem-$tool.png" | awk -v t="$tool" '{print t, $1}' >> "$q/dssim.txt"
  done
done
printf '%-8s %14s %16s\n' tool mean_DSSIM output_MB
for tool in ours vips sharp magick; do
  d=$(awk -v t="$tool" '$1 == t {s += $2; n++} END {if (n) printf "%.5f", s / n; else print "-"}' "$q/dssim.txt")
  printf '%-8s %14s %16s\n' "$tool" "$d" "$(python3 -c "print(f'{${total[$tool]} / 1e6:.2f}')")"
done
echo
echo "took $((SECONDS / 60)) min $((SECONDS % 60)) s, of which ${setup} s installing, building and making images"
