#!/usr/bin/env bash
# Fuzzes the image pipeline (any bytes → decode → variants) with cargo-fuzz and libFuzzer for a
# bounded time: `scripts/fuzz.sh [SECONDS]` (default 60; CI runs 60, run 3600 by hand for more).
# The corpus is seeded from ../shared/images. Exits non-zero on a panic, crash, hang or runaway
# memory, and names the reproducer. Works on the stable toolchain: see "Sanitizer" below.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[fuzz]\033[0m %s\n' "$*"; }
die() { printf '\033[1m[fuzz]\033[0m %s\n' "$*" >&2; exit 1; }

SECONDS_TO_RUN=${1:-60}
[[ "$SECONDS_TO_RUN" =~ ^[1-9][0-9]*$ ]] || die "usage: scripts/fuzz.sh [SECONDS], a whole number"

TARGET=render
CARGO_FUZZ_VERSION=0.13.2
SEEDS=${FUZZ_SEEDS:-../shared/images}
CORPUS=fuzz/corpus/$TARGET
ARTIFACTS=fuzz/artifacts/$TARGET
# Inputs up to 2 MB, the target's max_file_mb: every file of orientation/, derived/ and hostile/
# but the 5 and 12 MB PNGs, and the three smaller real photos. The larger ones (the 16 MB photo,
# the Nokia JPEG, the phone HEICs: all over the target's 4 MP anyway) would make each execution
# and mutation slow for no coverage, and libFuzzer would cut them to -max_len: left out.
MAX_LEN=2000000

# Sanitizer: none, so that it builds on stable rustc as is. cargo-fuzz's coverage
# instrumentation (-Cpasses=sancov-module, -Cllvm-args=...) is stable; only a sanitizer needs
# -Zsanitizer, i.e. nightly or RUSTC_BOOTSTRAP=1. ASan does build that way on 1.95 (measured:
# cold build 1600 s of CPU against 1160, 14 runs/s against 36, twice the memory), but it only
# instruments Rust code, where the unsafe parts are SIMD and FFI wrappers: the C decoders
# (libjpeg-turbo, libheif, libwebp, built by cmake/cc with gcc, and Debian's libde265) stay
# uninstrumented either way. What this target looks for needs no sanitizer: panics, overflow
# checks and debug assertions (--debug-assertions, in the optimised build), segfaults and aborts
# in the C code, hangs (-timeout) and runaway memory (-rss_limit_mb).
FUZZ_FLAGS=(--sanitizer none --debug-assertions)

# libFuzzer: whole-run time, per-input time, memory, input size. Under the target's 4 MP limit
# one input takes a few hundred MB at most, but the RSS limit also counts the corpus libFuzzer
# holds in memory (650 MB after 10 minutes from these seeds, about 1 GB after an hour): 4 GB.
LIBFUZZER_ARGS=(
  -max_total_time="$SECONDS_TO_RUN"
  -timeout=10
  -rss_limit_mb=4096
  -max_len="$MAX_LEN"
  -print_final_stats=1
)

# The pipeline's C libraries build with cmake, nasm and libde265 (setup.sh; quick when present).
# cargo-fuzz, pinned, needs nothing more: libFuzzer is built by the C++ compiler setup.sh brings.
bash scripts/setup.sh
installed=$(cargo fuzz --version 2>/dev/null || true)
if [ "$installed" != "cargo-fuzz ${CARGO_FUZZ_VERSION}" ]; then
  log "installing cargo-fuzz ${CARGO_FUZZ_VERSION}"
  cargo install cargo-fuzz --locked --version "${CARGO_FUZZ_VERSION}" -q
fi

# cargo-fuzz has no --locked: check fuzz/Cargo.lock here, so that the build cannot change it.
# It holds the root Cargo.lock's versions (the ones the app ships) plus libFuzzer's.
if ! cargo fetch --locked --manifest-path fuzz/Cargo.toml -q; then
  die "fuzz/Cargo.lock is out of date (uploader-core's dependencies changed?). Refresh it from
the app's lock and commit it:
  cp Cargo.lock fuzz/Cargo.lock && cargo fetch --manifest-path fuzz/Cargo.toml"
fi

# Seeds: every file of shared/images up to MAX_LEN, all subfolders (the README and tools/ too:
# text is one more thing to refuse). Copied, named after their path, so reruns overwrite them.
[ -d "$SEEDS" ] || die "no seed images at $SEEDS (shared/images must be beside the repository)"
mkdir -p "$CORPUS" "$ARTIFACTS"
seeded=0
skipped=0
while IFS= read -r -d '' f; do
  rel=${f#"$SEEDS"/}
  if [ "$(wc -c < "$f")" -gt "$MAX_LEN" ]; then
    skipped=$((skipped + 1))
    continue
  fi
  dest="$CORPUS/seed-${rel//\//_}"
  cp -f "$f" "$dest"
  chmod 644 "$dest"
  seeded=$((seeded + 1))
done < <(find "$SEEDS" -type f -print0)
inputs=$(find "$CORPUS" -type f | wc -l | tr -d ' ')
log "seeded $CORPUS: $seeded files of $SEEDS, $skipped over $MAX_LEN bytes left out; $inputs in all"

# Inputs that once failed stay in the run: libFuzzer executes every file of every corpus folder
# before it mutates, and only the first folder (the corpus) is written to.
extra=()
if [ -d fuzz/regressions ] && [ -n "$(ls -A fuzz/regressions)" ]; then
  extra+=(fuzz/regressions)
fi

log "building the $TARGET target"
start=$(date +%s)
cargo fuzz build "${FUZZ_FLAGS[@]}" "$TARGET"
log "built in $(($(date +%s) - start)) s"
triple=$(rustc -vV | sed -n 's/^host: //p')
binary=fuzz/target/$triple/release/$TARGET
[ -x "$binary" ] || die "no fuzz target at $binary after the build"

# The binary itself rather than `cargo fuzz run`, which after a failure prints the input's
# Debug form: megabytes of numbers for an image.
marker=$(mktemp)
trap 'rm -f "$marker"' EXIT
log "fuzzing $TARGET for $SECONDS_TO_RUN s"
status=0
"$binary" -artifact_prefix="$ARTIFACTS/" "${LIBFUZZER_ARGS[@]}" \
  "$CORPUS" ${extra[@]+"${extra[@]}"} || status=$?

if [ "$status" -ne 0 ]; then
  printf '\n' >&2
  log "FAILED (exit $status): the pipeline panicked, crashed, hung or ran out of memory (above)" >&2
  found=$(find "$ARTIFACTS" -type f -newer "$marker" 2>/dev/null || true)
  while IFS= read -r a; do
    [ -n "$a" ] || continue
    size=$(wc -c < "$a" | tr -d ' ')
    log "reproducer: $a ($size bytes)" >&2
    log "  replay:   cargo fuzz run ${FUZZ_FLAGS[*]} $TARGET $a" >&2
    log "  minimise: cargo fuzz tmin ${FUZZ_FLAGS[*]} $TARGET $a" >&2
    # CI's clone goes away with the file: keep a small one in the log (base64 -d gives it back).
    if [ "$size" -le 65536 ]; then
      log "  base64:" >&2
      base64 < "$a" >&2
    fi
  done <<< "$found"
  log "once fixed, keep a small copy in fuzz/regressions/: every run replays that folder" >&2
  exit "$status"
fi
log "no failure in $SECONDS_TO_RUN s; corpus: $(find "$CORPUS" -type f | wc -l | tr -d ' ') inputs"
