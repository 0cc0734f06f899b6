# Shared by the benchmarks (sourced, not run): a SeaweedFS of their own on free loopback ports,
# credentials and settings for the AWS CLI and rclone that ignore the user's, and small helpers.
# Needs: WORK (a folder for the server's files), BENCH (the script's name, for messages), AWS.

# The binary itself, not a pyenv shim: a shim costs ~0.2 s a start, inside the timed run.
resolve() {
  local p
  p=$(command -v "$1") || { echo "$BENCH: $1 not found${2:+ ($2)}" >&2; exit 1; }
  if [[ $p == */shims/* ]] && command -v pyenv >/dev/null; then p=$(pyenv which "$1"); fi
  printf '%s\n' "$p"
}

stop_server() {
  if [ -n "$WEED_PID" ]; then
    kill "$WEED_PID" 2>/dev/null || true
    wait "$WEED_PID" 2>/dev/null || true
    WEED_PID=
  fi
}
cleanup() { stop_server; rm -rf "$SRV"; }
start_server() { # returns 1 if weed did not answer on its S3 port within 30 s
  local ports i
  rm -rf "$SRV/weed"; mkdir -p "$SRV/weed"
  # Twelve distinct free loopback ports, all held until all are chosen.
  read -r -a ports < <(python3 -c '
import socket
held = [socket.socket() for _ in range(12)]
for s in held: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in held))')
  "$WEED" mini -dir="$SRV/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -admin.ui=false -s3.autoCreateBucket=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.config="$SRV/identities.json" -s3.port="${ports[0]}" -s3.port.grpc="${ports[1]}" \
    -master.port="${ports[2]}" -master.port.grpc="${ports[3]}" -volume.port="${ports[4]}" \
    -volume.port.grpc="${ports[5]}" -filer.port="${ports[6]}" -filer.port.grpc="${ports[7]}" \
    -admin.port="${ports[8]}" -admin.port.grpc="${ports[9]}" -webdav.port="${ports[10]}" \
    -metricsPort="${ports[11]}" < /dev/null > "$SRV/weed.log" 2>&1 &
  WEED_PID=$!
  ENDPOINT=http://127.0.0.1:${ports[0]}
  for ((i = 0; i < 300; i++)); do # SeaweedFS opens the S3 port last
    kill -0 "$WEED_PID" 2>/dev/null || break
    curl -s -o /dev/null --max-time 1 "$ENDPOINT/" && return 0
    sleep 0.1
  done
  stop_server
  return 1
}

# Starts the server (three tries) with its own credentials; exports ENDPOINT, WEED_PID, SRV and
# the AWS CLI's and rclone's settings (remote `bench:`), and removes it all on exit.
start_seaweed() {
  # The server: its own temp dir, credentials and ports; gone on exit.
  SRV=$(mktemp -d "$WORK/server.XXXXXX")
  WEED_PID=
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  ACCESS_KEY=bench-access-key
  SECRET_KEY=bench-secret-key-0123456789
  printf '{"identities":[{"name":"bench","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
    "$ACCESS_KEY" "$SECRET_KEY" > "$SRV/identities.json"

  # Credentials and settings of our own only: nothing from the user's environment or config files.
  while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(AWS_|RCLONE_|CATALOG_UPLOADER_)' || true)
  export AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY AWS_REGION=us-east-1
  export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
  export AWS_SHARED_CREDENTIALS_FILE=$SRV/aws-credentials AWS_CONFIG_FILE=$SRV/aws-default.cfg
  : > "$AWS_SHARED_CREDENTIALS_FILE"
  : > "$AWS_CONFIG_FILE" # the AWS CLI's defaults
  AWS_CONFIG_8=$SRV/aws-8.cfg
  AWS_CONFIG_FILE=$AWS_CONFIG_8 "$AWS" configure set default.s3.max_concurrent_requests 8
  export RCLONE_CONFIG=$SRV/rclone.conf # empty: the remote comes from the variables below
  : > "$RCLONE_CONFIG"
  export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=SeaweedFS
  export RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$ACCESS_KEY RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$SECRET_KEY
  export RCLONE_CONFIG_BENCH_REGION=us-east-1 RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true

  started=0
  for _ in 1 2 3; do start_server && { started=1; break; }; done
  if [ "$started" = 0 ]; then
    echo "$BENCH: SeaweedFS did not start; its log:" >&2
    cat "$SRV/weed.log" >&2
    exit 1
  fi
  export RCLONE_CONFIG_BENCH_ENDPOINT=$ENDPOINT
}

s3() { "$AWS" --endpoint-url "$ENDPOINT" "$@"; }
make_bucket() { # the filer can lag the S3 port by a moment after start
  local t
  for ((t = 0; t < 100; t++)); do
    s3 s3 mb "s3://$1" > /dev/null 2>&1 && return 0
    sleep 0.2
  done
  s3 s3 mb "s3://$1" # once more, to show the error
}
drop_bucket() { # SeaweedFS drops a bucket with its objects; S3 proper would need them deleted first
  s3 s3api delete-bucket --bucket "$1" > /dev/null 2>&1 || s3 s3 rb --force "s3://$1" > /dev/null
}

# CPU seconds the server has used so far (user + system; clock ticks of 1/100 s).
server_cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$WEED_PID/stat"; }
