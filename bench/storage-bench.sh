#!/usr/bin/env bash
# docker cp speed: 200 MB in 20,000 files of 10 KiB (200 directories) copied
# into and out of a running container, best of three, for berth and for a
# reference dockerd (Debian's docker.io) started in the same run on its own
# socket and root. These machines are noisy: compare the ratios.
#
#   cp in:  docker cp <dir> c:/srcN        (a fresh destination each run)
#   cp out: docker cp c:/src1 - >/dev/null (the tar only: writing 20,000
#           files is the CLI's and the disk's work, the same for both)
#
# Usage: bench/storage-bench.sh     (BERTH_BIN=dir for the binaries, default out/bin)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BERTH_BIN:-$PWD/out/bin}
WORK=$(mktemp -d /tmp/sb.XXXXXX)
chmod 0711 "$WORK"  # the unprivileged daemons reach their directories below
export DOCKER_CONFIG=$WORK/docker-config
mkdir -p "$DOCKER_CONFIG"

cleanup() {
  for h in "${BERTH_HOST:-}" "${REF_HOST:-}"; do
    [ -n "$h" ] && DOCKER_HOST=$h docker rm -f cpbench >/dev/null 2>&1
  done
  [ -n "${BERTH_PID:-}" ] && kill -TERM "$BERTH_PID" 2>/dev/null && wait "$BERTH_PID" 2>/dev/null
  [ -n "${DOCKERD_PID:-}" ] && kill -TERM "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
  grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

seconds() {  # seconds CMD... : wall time in seconds of CMD
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.2f\n", ns / 1e9 }'
}

best() {  # best CMD... : the best of three runs; $RUN is 1, 2, 3 in CMD
  local b="" t
  for RUN in 1 2 3; do
    export RUN
    sync
    t=$(seconds "$@") || return 1
    if [ -z "$b" ] || awk -v t="$t" -v b="$b" 'BEGIN { exit !(t < b) }'; then b=$t; fi
  done
  echo "$b"
}

measure() {  # measure HOST : prints "in out" for the engine at HOST
  local host=$1
  export DOCKER_HOST=$host
  docker load -i "$WORK/busybox.tar" >/dev/null || return 1
  docker run -d --network none --name cpbench busybox sleep 600 >/dev/null || return 1
  local t_in t_out
  t_in=$(best sh -c "docker cp '$WORK/src' cpbench:/src\$RUN") || return 1
  t_out=$(best sh -c "docker cp cpbench:/src1 - >/dev/null") || return 1
  local copied
  copied=$(docker exec cpbench sh -c 'find /src1 -type f | wc -l')
  docker rm -f cpbench >/dev/null
  unset DOCKER_HOST
  if [ "$copied" != 20000 ]; then
    echo "only $copied of 20000 files arrived" >&2
    return 1
  fi
  echo "$t_in $t_out"
}

scripts/make-busybox-image.sh "$WORK/busybox.tar" >/dev/null
python3 - "$WORK/src" <<'PY'
import os, sys
blob = os.urandom(10240)
for i in range(200):
    sub = os.path.join(sys.argv[1], f"d{i}")
    os.makedirs(sub)
    for j in range(100):
        with open(os.path.join(sub, f"f{j}"), "wb") as f:
            f.write(blob)
PY

BERTH_HOST=unix://$WORK/b/run/docker.sock
"$BIN/berth" --root "$WORK/b/root" --exec-root "$WORK/b/run" daemon --cgroup-parent berth-sbench \
  --log-level warn >"$WORK/berth.log" 2>&1 &
BERTH_PID=$!
for _ in $(seq 100); do grep -q "berth is ready" "$WORK/berth.log" && break; sleep 0.1; done
read -r berth_in berth_out < <(measure "$BERTH_HOST" || echo "nan nan")

ref_in=nan
ref_out=nan
if command -v dockerd >/dev/null; then
  REF_HOST=unix://$WORK/d/docker.sock
  mkdir -p "$WORK/d"
  dockerd --data-root "$WORK/d/root" --exec-root "$WORK/d/exec" --pidfile "$WORK/d/docker.pid" \
    -H "$REF_HOST" --bridge=none --iptables=false --ip-masq=false \
    --containerd-namespace=sbench --containerd-plugins-namespace=sbench-p \
    --log-level=error >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 200); do DOCKER_HOST=$REF_HOST docker version >/dev/null 2>&1 && break; sleep 0.1; done
  read -r ref_in ref_out < <(measure "$REF_HOST" || echo "nan nan")
else
  echo "no reference engine (apt-get install docker.io for one)" >&2
fi

ratio() {
  awk -v a="$1" -v b="$2" \
    'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "n/a"; else printf "%.2f\n", a / b }'
}
echo "docker cp of 200 MB in 20,000 files to/from a running container, best of 3, seconds:"
printf '           %8s %8s\n' in out
printf '  berth     %8s %8s\n' "$berth_in" "$berth_out"
printf '  reference %8s %8s\n' "$ref_in" "$ref_out"
printf '  ratio     %8s %8s   (berth/reference; below 1 is faster)\n' \
  "$(ratio "$berth_in" "$ref_in")" "$(ratio "$berth_out" "$ref_out")"
