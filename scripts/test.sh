#!/usr/bin/env bash
# Every test: formatting, lints, UI checks and unit tests, Rust tests against a real SeaweedFS,
# the real app window driven through WebDriver under Xvfb, and a minute of fuzzing the image
# pipeline. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# A clean clone gains nothing from incremental artefacts, and they double the target dir's size
# (a CI run once ran out of disk).
if [[ -n "${CI:-}" ]]; then export CARGO_INCREMENTAL=0; fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "UI: type check, unit tests, build"
(cd ui && npm run --silent check && npm test --silent && npm run --silent build)

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests (real SeaweedFS, real SQLite files)"
cargo test --workspace --locked

step "credentials in a real Secret Service (GNOME Keyring on a private D-Bus)"
bash scripts/secret-service-test.sh

step "window e2e (tauri-driver + WebKitWebDriver under Xvfb)"
cargo test --workspace --locked --test e2e_window -- --ignored --skip ui_figures

step "fuzz the image pipeline for 60 s (cargo-fuzz, libFuzzer; scripts/fuzz.sh 3600 for longer)"
bash scripts/fuzz.sh 60
