#!/usr/bin/env bash
# The window's figures, measured in the e2e harness (tests/e2e_window.rs, `ui_figures`) on the
# real app under Xvfb, against SeaweedFS: 10,000 queued jobs loaded and painted (goal: first
# paint of the list within 100 ms), 1,000 progress events a second for 5 s through Tauri's event
# bus (none may be left behind), launch to ready (goal: 1 s), and idle memory (goal: 120 MB).
# The peer, measured the same way in the same run: an empty Tauri 2 window answering one command
# (bench/window-baseline), so the ratio says what the app adds to what the platform costs.
# The app measured is the release build (what staff run); the harness itself is a debug test.
# Run by hand, not in CI: bench/ui.sh. Results go in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
(cd ui && npm run --silent build)
cargo build --release --locked -p catalog-uploader -p window-baseline
CATALOG_UPLOADER_APP=$PWD/target/release/catalog-uploader \
  CATALOG_UPLOADER_BASELINE=$PWD/target/release/window-baseline \
  cargo test --locked --test e2e_window -- --ignored --exact ui_figures --nocapture 2>&1 |
  sed -n '/^UI FIGURES/,/idle RSS/p; /^BASELINE/,/at each launch/p'
