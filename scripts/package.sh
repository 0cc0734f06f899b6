#!/usr/bin/env bash
# Builds the Linux .deb (the app, and `uploader` in /usr/bin), then checks it: its metadata and
# dependencies, the files staff and admins need, and that both programs find every library they
# link once unpacked. `--appimage` also builds an AppImage (Tauri fetches linuxdeploy from
# GitHub for it). Windows .msi and macOS .dmg are built on those systems: README "Packaging".
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m[package]\033[0m %s\n' "$*"; }

bundles=deb
[[ "${1:-}" == "--appimage" ]] && bundles=deb,appimage

bash scripts/setup.sh
if [ ! -x packaging/node_modules/.bin/tauri ] || [ packaging/package-lock.json -nt packaging/node_modules/.package-lock.json ]; then
  log "installing the Tauri CLI (npm ci)"
  (cd packaging && npm ci --no-audit --no-fund --loglevel=error)
fi

log "building uploader (release)"
cargo build --release --locked -p uploader-cli
log "building the app and its bundles: ${bundles}"
# The UI is built here, not by the CLI: it would run the command in the first folder with a
# package.json it finds (bench/).
(cd ui && npm run --silent build)
packaging/node_modules/.bin/tauri build --ci --bundles "${bundles}"

deb=$(ls -t target/release/bundle/deb/*.deb | head -1)
log "checking ${deb}"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
contents=$(dpkg-deb --contents "$deb")
for wanted in usr/bin/catalog-uploader usr/bin/uploader \
  "usr/share/applications/Catalog Uploader.desktop" \
  usr/share/icons/hicolor/128x128/apps/catalog-uploader.png; do
  grep -qE " (\./)?${wanted}\$" <<< "$contents" || { echo "package: ${wanted} is missing from ${deb}" >&2; exit 1; }
done
depends=$(dpkg-deb --field "$deb" Depends)
grep -q "libwebkit2gtk-4.1-0" <<< "$depends" || { echo "package: Depends lacks WebKitGTK: ${depends}" >&2; exit 1; }

unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb -x "$deb" "$unpacked"
for program in catalog-uploader uploader; do
  if ldd "$unpacked/usr/bin/$program" | grep -q "not found"; then
    ldd "$unpacked/usr/bin/$program" | grep "not found" >&2
    exit 1
  fi
done
"$unpacked/usr/bin/uploader" --version
log "ok: ${deb} ($(du -h "$deb" | cut -f1))"
