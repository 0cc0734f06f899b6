#!/usr/bin/env bash
# Benchmark of the image pipeline against its peers, in one run on the same 24 MP JPEGs:
# vipsthumbnail (one run per size, as users script it), sharp (one decode, the 400 from the 2048:
# its best case) and ImageMagick (one decode, the 400 from the 2048). Every tool makes the same two
# variants: 2048 px and 400 px, JPEG q85, stripped, oriented, never upscaled.
# Prints images/s and our ratio to each peer on 1 and 2 threads, peak RSS, decode-alone speed,
# DSSIM of the 2048s against a high-quality reference, and total output bytes.
# Run by hand (not in CI): bench/pipeline.sh [N_IMAGES]   Results go in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
WORK=$PWD/target/bench
IMAGES=$WORK/images-$N
SHARED=../shared/images

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

# Runs a command, prints "seconds peak_rss_kb" (RSS: the largest single process).
timed() { /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null; cat "$WORK/time.txt"; }
rate() { python3 -c "import sys; print(f'{$N / float(sys.argv[1]):.2f}')" "$1"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }

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

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "images: $N × 24 MP JPEG Q92 (every fifth stored sideways, orientation 6) from make-24mp.sh"
echo "versions: $(vipsthumbnail --version 2>&1 | head -1); sharp $(node -p "require('./bench/node_modules/sharp/package.json').version"); $(convert -version | head -1 | cut -d' ' -f2-3)"
echo
printf '%-8s %-14s %10s %12s %14s\n' threads tool images/s peak_RSS_MB ours/tool
for T in 1 2; do
  out=$WORK/out-$T; rm -rf "$out"; mkdir -p "$out"/{ours,vips,sharp,magick}
  read -r s_ours rss_ours < <(timed target/release/uploader --data-dir "$WORK/data" --config bench/config.toml \
    process --jobs "$T" --sku bench --out "$out/ours" "$IMAGES")
  read -r s_vips rss_vips < <(timed bash -c "ls $IMAGES/*.jpg | xargs -P $T -I{} bash -c 'vips_one {} $out/vips'")
  read -r s_sharp rss_sharp < <(timed node bench/sharp-bench.mjs "$IMAGES" "$out/sharp" "$T")
  read -r s_magick rss_magick < <(timed bash -c "ls $IMAGES/*.jpg | xargs -P $T -I{} bash -c 'magick_one {} $out/magick'")
  r_ours=$(rate "$s_ours")
  for tool in ours vips sharp magick; do
    s=s_$tool; rss=rss_$tool; r=$(rate "${!s}")
    printf '%-8s %-14s %10s %12s %14s\n' "$T" "$tool" "$r" "$(( ${!rss} / 1024 ))" "$(ratio "$r_ours" "$r")"
  done
  target/release/examples/pipeline_speed "$IMAGES" --threads "$T" --largest 2048 | sed 's/^/         /'
done

# Quality and size, from the 2-thread outputs: DSSIM of each 2048 against ImageMagick's Lanczos
# resize of the full-resolution original to the same size, in 16-bit, saved losslessly.
echo
out=$WORK/out-2; q=$WORK/quality; rm -rf "$q"; mkdir -p "$q"
declare -A total=()
for tool in ours vips sharp magick; do
  total[$tool]=$(find "$out/$tool" -name '*.jpg' -printf '%s\n' | awk '{s+=$1} END {print s}')
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
