#!/usr/bin/env bash
# What attaching a container to a bridge network adds to `docker run`:
# the median wall time of `docker run --rm busybox true` on the default
# bridge and with `--network none`, through the real docker CLI, for berth and
# for a reference dockerd (Debian's docker.io) started in the same run on its
# own socket, root and bridge. The two modes alternate run by run so that the
# machine's load drifts into both alike. These machines are noisy: compare
# the ratios, and the attach cost (bridge - none) against its goal (10 ms).
#
# Usage: bench/network-bench.sh [RUNS]   (default 30; BERTH_BIN=dir for the
#        binaries, default out/bin)
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
BIN=${BERTH_BIN:-$PWD/out/bin}
WORK=$(mktemp -d /tmp/nb.XXXXXX)
chmod 0711 "$WORK"  # the unprivileged daemons reach their directories below
export DOCKER_CONFIG=$WORK/docker-config
mkdir -p "$DOCKER_CONFIG"
# Per-run bridges and subnets (two /24s the host does not route yet), so that
# runs on one host, and other engines, never share one.
BERTH_BRIDGE=nb$$
REF_BRIDGE=nbref$$
for o in $(seq 200 250); do
  ip -4 route show | grep -qE "^10\.$o\.7[67]\." || break
done
BERTH_NET=10.$o.76.1/24
REF_NET=10.$o.77.1/24

cleanup() {
  [ -n "${BERTH_PID:-}" ] && kill -TERM "$BERTH_PID" 2>/dev/null && wait "$BERTH_PID" 2>/dev/null
  [ -n "${DOCKERD_PID:-}" ] && kill -TERM "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
  grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
  ip link del "$REF_BRIDGE" 2>/dev/null
  ip link del "$BERTH_BRIDGE" 2>/dev/null
}
trap cleanup EXIT

run_ms() {  # run_ms HOST ARGS... : wall time in microseconds of one docker run --rm
  local host=$1 start end; shift
  start=$(date +%s%N)
  DOCKER_HOST=$host docker run --rm "$@" busybox true >/dev/null 2>&1 || { echo fail; return; }
  end=$(date +%s%N)
  echo $(((end - start) / 1000))
}

median() {  # median < microseconds, one per line : prints milliseconds
  sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else printf "%.1f\n", a[int((NR+1)/2)]/1000}'
}

measure() {  # measure HOST : prints "none_ms bridge_ms" (medians of RUNS, alternating)
  local host=$1 i t none=() bridge=()
  DOCKER_HOST=$host docker run --rm --network none busybox true >/dev/null 2>&1  # warm up
  DOCKER_HOST=$host docker run --rm busybox true >/dev/null 2>&1
  for ((i = 0; i < RUNS; i++)); do
    t=$(run_ms "$host" --network none)
    [ "$t" = fail ] && { echo "nan nan"; return; }
    none+=("$t")
    t=$(run_ms "$host")
    [ "$t" = fail ] && { echo "nan nan"; return; }
    bridge+=("$t")
  done
  echo "$(printf '%s\n' "${none[@]}" | median) $(printf '%s\n' "${bridge[@]}" | median)"
}

scripts/make-busybox-image.sh "$WORK/busybox.tar" >/dev/null

# berth
BERTH_HOST=unix://$WORK/b/run/docker.sock
printf '{"bridge": "%s", "bip": "%s"}\n' "$BERTH_BRIDGE" "$BERTH_NET" >"$WORK/daemon.json"
chmod 0644 "$WORK/daemon.json"
"$BIN/berth" --root "$WORK/b/root" --exec-root "$WORK/b/run" daemon --cgroup-parent "nb$$" \
  --config-file "$WORK/daemon.json" --log-level warn >"$WORK/berth.log" 2>&1 &
BERTH_PID=$!
for _ in $(seq 100); do grep -q "berth is ready" "$WORK/berth.log" && break; sleep 0.1; done
berth="nan nan"
if DOCKER_HOST=$BERTH_HOST docker load -i "$WORK/busybox.tar" >/dev/null; then
  berth=$(measure "$BERTH_HOST")
else
  echo "berth did not start; see $WORK/berth.log" >&2
fi
kill -TERM "$BERTH_PID" 2>/dev/null && wait "$BERTH_PID" 2>/dev/null
BERTH_PID=

# reference: Debian's dockerd on its own socket, root and bridge (no
# iptables, so that the host's firewall stays untouched)
ref="nan nan"
if command -v dockerd >/dev/null; then
  REF_HOST=unix://$WORK/d/docker.sock
  mkdir -p "$WORK/d"
  ip link add "$REF_BRIDGE" type bridge
  ip addr add "$REF_NET" dev "$REF_BRIDGE"
  ip link set "$REF_BRIDGE" up
  dockerd --data-root "$WORK/d/root" --exec-root "$WORK/d/exec" --pidfile "$WORK/d/docker.pid" \
    -H "$REF_HOST" --bridge="$REF_BRIDGE" --iptables=false --ip-masq=false \
    --containerd-namespace="nb$$" --log-level=error >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 200); do DOCKER_HOST=$REF_HOST docker version >/dev/null 2>&1 && break; sleep 0.1; done
  if DOCKER_HOST=$REF_HOST docker load -i "$WORK/busybox.tar" >/dev/null 2>&1; then
    ref=$(measure "$REF_HOST")
  else
    echo "reference dockerd did not start; see $WORK/dockerd.log" >&2
    tail -5 "$WORK/dockerd.log" >&2
  fi
else
  echo "no reference engine (apt-get install docker.io for one)" >&2
fi

read -r berth_none berth_bridge <<<"$berth"
read -r ref_none ref_bridge <<<"$ref"
calc() { awk -v a="$2" -v b="$3" -v op="$1" 'BEGIN {
  if (a == "nan" || b == "nan" || (op == "/" && b == 0)) { print "n/a"; exit }
  if (op == "-") printf "%.1f\n", a - b; else printf "%.2f\n", a / b }'; }
echo
echo "docker run --rm busybox true, median of $RUNS each (none and bridge alternating):"
echo "             --network none    bridge    attach (bridge - none)    bridge/none"
printf '  berth      %10s ms %7s ms %12s ms %20s\n' "$berth_none" "$berth_bridge" \
  "$(calc - "$berth_bridge" "$berth_none")" "$(calc / "$berth_bridge" "$berth_none")"
printf '  reference  %10s ms %7s ms %12s ms %20s\n' "$ref_none" "$ref_bridge" \
  "$(calc - "$ref_bridge" "$ref_none")" "$(calc / "$ref_bridge" "$ref_none")"
printf '  berth/reference attach cost: %s   (goal: berth attach <= 10 ms)\n' \
  "$(calc / "$(calc - "$berth_bridge" "$berth_none")" "$(calc - "$ref_bridge" "$ref_none")")"
