#!/usr/bin/env bash
# Installs what berth needs, builds it, starts the engine (if it is not running
# yet), makes a busybox image when there is none, and runs a container.
# The engine keeps running afterwards; its logs are in /var/lib/berth/logs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${BERTH_ROOT:-/var/lib/berth}
EXEC_ROOT=${BERTH_EXEC_ROOT:-/run/berth}
export DOCKER_HOST=unix://$EXEC_ROOT/docker.sock

scripts/install-deps.sh
scripts/build.sh

if ! out/bin/berth --exec-root "$EXEC_ROOT" status >/dev/null 2>&1; then
  mkdir -p "$ROOT/logs"
  nohup out/bin/berth --root "$ROOT" --exec-root "$EXEC_ROOT" daemon \
    >>"$ROOT/logs/berth.log" 2>&1 </dev/null &
  for _ in $(seq 100); do
    out/bin/berth --exec-root "$EXEC_ROOT" status >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
out/bin/berth --exec-root "$EXEC_ROOT" status

if ! docker image inspect busybox:latest >/dev/null 2>&1; then
  tarball=$(mktemp --suffix=.tar)
  scripts/make-busybox-image.sh "$tarball" busybox:latest
  docker load -i "$tarball"
  rm -f "$tarball"
fi
docker run --rm busybox echo hello from berth
echo
echo "berth is running. Use it with:"
echo "  export DOCKER_HOST=$DOCKER_HOST"
