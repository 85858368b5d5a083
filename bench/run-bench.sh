#!/usr/bin/env bash
# berth's speed and memory benchmark, with a reference engine measured in the
# same run (these machines are noisy: compare ratios, not absolute numbers).
#
#   - median wall time of `docker run --rm --network none busybox true`
#     through the real docker CLI, for berth and for Debian's docker.io dockerd
#     (started on its own socket and root) when it is installed
#   - the docker CLI alone (`docker version`), the floor both share
#   - resident memory of the idle engine: berth's five daemons vs dockerd +
#     containerd
#
# Usage: bench/run-bench.sh [RUNS]    (default 30)
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
scripts/install-deps.sh --bench
BIN=${BERTH_BIN:-$PWD/out/bin}
WORK=$(mktemp -d /tmp/bb.XXXXXX)
chmod 0711 "$WORK"  # the unprivileged daemons reach their directories below
export DOCKER_CONFIG=$WORK/docker-config
mkdir -p "$DOCKER_CONFIG"
# Bridges and subnets of this run's own (two /24s the host does not route yet):
# the host may run other engines, whose default bridges this run must not touch.
BERTH_BRIDGE=bb$$
REF_BRIDGE=bbref$$
for o in $(seq 200 250); do
  ip -4 route show | grep -qE "^10\.$o\.7[89]\." || break
done
BERTH_NET=10.$o.78.1/24
REF_NET=10.$o.79.1/24

median_ms() {  # median_ms HOST CMD... : prints the median wall time in ms
  local host=$1; shift
  local times=() i start end
  for ((i = 0; i < RUNS; i++)); do
    start=$(date +%s%N)
    DOCKER_HOST=$host "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; echo nan; return; }
    end=$(date +%s%N)
    times+=($(((end - start) / 1000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f\n", a[int((NR+1)/2)]/1000}'
}

rss_kb() {  # total resident KiB of the given pids (shared pages counted once per process)
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# Proportional set size: a page shared by N processes counts 1/N in each, so
# the sum is what the group really keeps resident. berth's daemons share their
# C++ libraries (gRPC, protobuf, libstdc++), which RSS counts five times;
# dockerd and containerd are static binaries, for which RSS and PSS agree.
# Per-container overhead with 10 idle containers: the shims' PSS (what they
# keep resident together, shared code counted once) and USS (private pages
# only: what one more container costs), each divided by 10.
shim_memory() {  # shim_memory HOST PGREP-PATTERN : prints "pss_kb uss_kb" per shim
  local host=$1 pattern=$2 ids pids pss=0 uss=0 pid
  ids=$(for _ in $(seq 10); do DOCKER_HOST=$host docker run -d --network none busybox sleep 600; done)
  sleep 2
  pids=$(pgrep -f "$pattern")
  for pid in $pids; do
    pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
    uss=$((uss + $(awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s+0}' \
                   "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
  done
  DOCKER_HOST=$host docker rm -f $ids >/dev/null 2>&1
  echo "$((pss / 10)) $((uss / 10))"
}

pss_kb() {
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

cleanup() {
  [ -n "${BERTH_PID:-}" ] && kill -TERM "$BERTH_PID" 2>/dev/null && wait "$BERTH_PID" 2>/dev/null
  [ -n "${DOCKERD_PID:-}" ] && kill -TERM "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
  grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
  ip link del "$REF_BRIDGE" 2>/dev/null
}
trap cleanup EXIT

scripts/make-busybox-image.sh "$WORK/busybox.tar" >/dev/null

# berth
BERTH_HOST=unix://$WORK/b/run/docker.sock
printf '{"bridge": "%s", "bip": "%s"}\n' "$BERTH_BRIDGE" "$BERTH_NET" >"$WORK/daemon.json"
chmod 0644 "$WORK/daemon.json"
"$BIN/berth" --root "$WORK/b/root" --exec-root "$WORK/b/run" daemon --cgroup-parent berth-bench \
  --config-file "$WORK/daemon.json" --log-level warn >"$WORK/berth.log" 2>&1 &
BERTH_PID=$!
for _ in $(seq 100); do grep -q "berth is ready" "$WORK/berth.log" && break; sleep 0.1; done
DOCKER_HOST=$BERTH_HOST docker load -i "$WORK/busybox.tar" >/dev/null
DOCKER_HOST=$BERTH_HOST docker run --rm --network none busybox true  # warm up
sleep 2
berth_pids=$(pgrep -P "$BERTH_PID" | tr '\n' ' ')
berth_rss=$(rss_kb $berth_pids)
berth_pss=$(pss_kb $berth_pids)
berth_run=$(median_ms "$BERTH_HOST" docker run --rm --network none busybox true)
cli_only=$(median_ms "$BERTH_HOST" docker version)
berth_shim=$(shim_memory "$BERTH_HOST" "berth-shim.*$WORK/b/run")

# reference: Debian's dockerd 20.10 on its own socket and root
ref_run=nan; ref_rss=0; ref_pss=0; ref_shim="0 0"
if command -v dockerd >/dev/null; then
  REF_HOST=unix://$WORK/d/docker.sock
  mkdir -p "$WORK/d"
  # A bridge of its own, so that attaching a container costs what it costs
  # Docker (veth, addresses), without touching the host's firewall.
  ip link add "$REF_BRIDGE" type bridge 2>/dev/null
  ip addr add "$REF_NET" dev "$REF_BRIDGE" 2>/dev/null
  ip link set "$REF_BRIDGE" up
  dockerd --data-root "$WORK/d/root" --exec-root "$WORK/d/exec" --pidfile "$WORK/d/docker.pid" \
    -H "$REF_HOST" --bridge="$REF_BRIDGE" --iptables=false --ip-masq=false \
    --containerd-namespace=bench --log-level=error >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 200); do DOCKER_HOST=$REF_HOST docker version >/dev/null 2>&1 && break; sleep 0.1; done
  if DOCKER_HOST=$REF_HOST docker load -i "$WORK/busybox.tar" >/dev/null 2>&1; then
    DOCKER_HOST=$REF_HOST docker run --rm --network none busybox true >/dev/null 2>&1
    sleep 2
    ref_pids="$DOCKERD_PID $(pgrep -P "$DOCKERD_PID" | tr '\n' ' ')"
    ref_rss=$(rss_kb $ref_pids)
    ref_pss=$(pss_kb $ref_pids)
    ref_run=$(median_ms "$REF_HOST" docker run --rm --network none busybox true)
    ref_shim=$(shim_memory "$REF_HOST" "containerd-shim.*bench")
  else
    echo "reference dockerd did not start; see $WORK/dockerd.log" >&2
    tail -5 "$WORK/dockerd.log" >&2
  fi
else
  echo "no reference engine (apt-get install docker.io for one)" >&2
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "nan" || b == 0 || a == "nan") print "n/a"; else printf "%.2f\n", a / b }'; }
echo
echo "docker run --rm --network none busybox true, median of $RUNS:"
printf '  berth      %8s ms\n' "$berth_run"
printf '  reference  %8s ms   (berth/reference = %s)\n' "$ref_run" "$(ratio "$berth_run" "$ref_run")"
printf '  CLI alone  %8s ms   (docker version)\n' "$cli_only"
read -r berth_shim_pss berth_shim_uss <<<"$berth_shim"
read -r ref_shim_pss ref_shim_uss <<<"$ref_shim"
echo "per-container shim with 10 idle containers, KiB      PSS        USS (private)"
printf '  berth-shim                                     %8d   %8d\n' "$berth_shim_pss" "$berth_shim_uss"
printf '  containerd-shim-runc-v2 (reference)            %8d   %8d\n' "$ref_shim_pss" "$ref_shim_uss"
printf '  berth/reference                                %8s   %8s\n' "$(ratio "$berth_shim_pss" "$ref_shim_pss")" "$(ratio "$berth_shim_uss" "$ref_shim_uss")"
echo "idle memory, KiB              PSS (resident together)      RSS (summed per process)"
printf '  berth (5 daemons)          %8d                     %8d\n' "$berth_pss" "$berth_rss"
printf '  reference (dockerd+containerd) %4d                     %8d\n' "$ref_pss" "$ref_rss"
printf '  berth/reference            %8s                     %8s\n' "$(ratio "$berth_pss" "$ref_pss")" "$(ratio "$berth_rss" "$ref_rss")"
# The cost of attaching to a bridge network: its own engines, none and bridge alternating.
bench/network-bench.sh "$RUNS"
