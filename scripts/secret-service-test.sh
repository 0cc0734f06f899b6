#!/usr/bin/env bash
# The keyring test against a real Secret Service: GNOME Keyring on a private D-Bus session,
# unlocked with a throwaway password, its files and socket in a throwaway folder (never the
# developer's own keyring). scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Cargo and rustup stay where they are when HOME moves.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$scratch" XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
dbus-run-session -- bash -c '
  printf "throwaway" | gnome-keyring-daemon --unlock --components=secrets > /dev/null
  cargo test --locked --test keyring_credentials -- --ignored with_a_secret_service
' 2> >(grep -v "Failed to set fd limit" >&2)
