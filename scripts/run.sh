#!/usr/bin/env bash
# Runs the whole system on a self-contained local setup: a SeaweedFS S3 server with a bucket, the
# reference backend (uploader-backend) holding the S3 keys, and the app in backend mode with a
# fresh workstation token and no AWS keys. Data is kept in .local/.
# CATALOG_UPLOADER_MODE=direct scripts/run.sh runs the app in direct mode instead.
# Usage: scripts/run.sh [PHOTO_OR_FOLDER...]   (paths given are queued as if dropped)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run: there is no display (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open." >&2
  echo "     Run this from a desktop session, or under a virtual display: xvfb-run -a scripts/run.sh" >&2
  exit 1
fi

bash scripts/setup.sh
(cd ui && npm run --silent build)
cargo build --workspace --bins

LOCAL="$PWD/.local"
mkdir -p "$LOCAL/s3/data" "$LOCAL/app" "$LOCAL/backend"
BUCKET=catalog-local
# Keys for the local server only; generated once, never used anywhere else.
if [ ! -f "$LOCAL/s3/identities.json" ]; then
  KEY="local-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  SECRET="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  printf '{"identities":[{"name":"local","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
    "$KEY" "$SECRET" > "$LOCAL/s3/identities.json"
  chmod 600 "$LOCAL/s3/identities.json"
fi
KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["identities"][0]["credentials"][0]["accessKey"])' "$LOCAL/s3/identities.json")
SECRET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["identities"][0]["credentials"][0]["secretKey"])' "$LOCAL/s3/identities.json")

# Thirteen free loopback ports: twelve for SeaweedFS's servers, one for the backend.
read -r -a P <<< "$(python3 -c '
import socket
socks = [socket.socket() for _ in range(13)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')"

weed mini -dir="$LOCAL/s3/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
  -admin.ui=false -s3.autoCreateBucket=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 -bucket="$BUCKET" \
  -s3.config="$LOCAL/s3/identities.json" -s3.port="${P[0]}" -s3.port.grpc="${P[1]}" \
  -master.port="${P[2]}" -master.port.grpc="${P[3]}" -volume.port="${P[4]}" -volume.port.grpc="${P[5]}" \
  -filer.port="${P[6]}" -filer.port.grpc="${P[7]}" -admin.port="${P[8]}" -admin.port.grpc="${P[9]}" \
  -webdav.port="${P[10]}" -metricsPort="${P[11]}" > "$LOCAL/s3/weed.log" 2>&1 &
WEED=$!
BACKEND_PID=
trap 'kill $WEED $BACKEND_PID 2>/dev/null || true; wait $WEED $BACKEND_PID 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:${P[0]}/" && break
  kill -0 $WEED 2>/dev/null || { echo "run: SeaweedFS did not start; see $LOCAL/s3/weed.log" >&2; exit 1; }
  sleep 0.2
done

export AWS_REGION=us-east-1 AWS_S3_BUCKET_NAME="$BUCKET" AWS_ENDPOINT_URL="http://127.0.0.1:${P[0]}"
export CATALOG_UPLOADER_DATA_DIR="$LOCAL/app"
# The local setup never needs the EC2 instance-metadata endpoint; don't let the AWS chain probe it.
export AWS_EC2_METADATA_DISABLED=true
# An empty config file here keeps a developer's own config out of the local setup.
touch "$LOCAL/config.toml"
export CATALOG_UPLOADER_CONFIG="$LOCAL/config.toml"
MODE="${CATALOG_UPLOADER_MODE:-backend}"

if [ "$MODE" = direct ]; then
  export AWS_ACCESS_KEY_ID="$KEY" AWS_SECRET_ACCESS_KEY="$SECRET"
  echo "Local S3 at $AWS_ENDPOINT_URL, bucket $BUCKET (data in .local/s3); app data in .local/app; direct mode."
  exec ./target/debug/catalog-uploader "$@"
fi

# The backend holds the S3 keys; the app gets only a workstation token, made afresh for this
# run (the last one revoked) and kept in memory, never on disk.
BACKEND_DB="$LOCAL/backend/backend.sqlite3"
./target/debug/uploader-backend --database "$BACKEND_DB" token revoke --name local-workstation 2>/dev/null || true
TOKEN=$(./target/debug/uploader-backend --database "$BACKEND_DB" token create --name local-workstation)
AWS_ACCESS_KEY_ID="$KEY" AWS_SECRET_ACCESS_KEY="$SECRET" \
  ./target/debug/uploader-backend --database "$BACKEND_DB" serve --worker --listen "127.0.0.1:${P[12]}" \
  > "$LOCAL/backend/backend.log" 2>&1 &
BACKEND_PID=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:${P[12]}/v1/health" && break
  kill -0 $BACKEND_PID 2>/dev/null || { echo "run: the backend did not start; see $LOCAL/backend/backend.log" >&2; exit 1; }
  sleep 0.1
done

export CATALOG_UPLOADER_MODE=backend CATALOG_UPLOADER_BACKEND_URL="http://127.0.0.1:${P[12]}"
echo "Local S3 at $AWS_ENDPOINT_URL, bucket $BUCKET (data in .local/s3)."
echo "Backend at $CATALOG_UPLOADER_BACKEND_URL (log in .local/backend/backend.log); app data in .local/app."
CATALOG_UPLOADER_BACKEND_TOKEN="$TOKEN" ./target/debug/catalog-uploader "$@"
