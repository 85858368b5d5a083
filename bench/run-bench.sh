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
#   RUN_BENCH_PHASES=1: berth logs at debug level and the medians of runtimed's
#   per-step timings (container start, exit, removal) are printed too
#   (debug logging itself costs a little).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
RUNS=${1:-30}
scripts/install-deps.sh --bench
bench_init bb

runs_ms() {  # runs_ms HOST CMD... : the median wall time of RUNS runs of CMD, in ms
  local host=$1 i t times=(); shift
  for ((i = 0; i < RUNS; i++)); do
    t=$(DOCKER_HOST=$host micros "$@") || { echo "failed: $*" >&2; echo nan; return; }
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | median_ms
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

scripts/make-busybox-image.sh "$WORK/busybox.tar" >/dev/null

# berth
if [ "${RUN_BENCH_PHASES:-0}" == 1 ]; then start_berth --log-level debug || exit 1; else start_berth || exit 1; fi
DOCKER_HOST=$BERTH_HOST docker load -i "$WORK/busybox.tar" >/dev/null
DOCKER_HOST=$BERTH_HOST docker run --rm --network none busybox true  # warm up
sleep 2
berth_pids=$(pgrep -P "$BERTH_PID" | tr '\n' ' ')
berth_rss=$(rss_kb $berth_pids)
berth_pss=$(pss_kb $berth_pids)
load_before=$(cut -d' ' -f1 /proc/loadavg)
berth_run=$(runs_ms "$BERTH_HOST" docker run --rm --network none busybox true)
cli_only=$(runs_ms "$BERTH_HOST" docker version)
berth_shim=$(shim_memory "$BERTH_HOST" "berth-shim.*$WORK/b/run")

# reference: Debian's dockerd 20.10 on its own socket and root
ref_run=nan; ref_rss=0; ref_pss=0; ref_shim="0 0"
if start_reference; then
  if DOCKER_HOST=$REF_HOST docker load -i "$WORK/busybox.tar" >/dev/null 2>&1; then
    DOCKER_HOST=$REF_HOST docker run --rm --network none busybox true >/dev/null 2>&1
    sleep 2
    ref_pids="$DOCKERD_PID $(pgrep -P "$DOCKERD_PID" | tr '\n' ' ')"
    ref_rss=$(rss_kb $ref_pids)
    ref_pss=$(pss_kb $ref_pids)
    ref_run=$(runs_ms "$REF_HOST" docker run --rm --network none busybox true)
    ref_shim=$(shim_memory "$REF_HOST" "containerd-shim.*$BENCH_TAG")
  fi
fi

load_after=$(cut -d' ' -f1 /proc/loadavg)
echo
echo "docker run --rm --network none busybox true, median of $RUNS" \
  "(load average $load_before before berth's runs, $load_after after the reference's; 2 cores: quiet is < 0.5):"
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
if [ "${RUN_BENCH_PHASES:-0}" == 1 ]; then
  echo "runtimed's steps, median ms over this run's containers (debug log):"
  python3 - "$WORK/b/root/logs/runtimed.log" <<'PY'
import re, statistics, sys
steps = {}
for line in open(sys.argv[1]):
    m = re.search(r"container \w+ (start|exit|removal): (.*) \(total ([\d.]+) ms\)", line)
    if not m:
        continue
    op, parts, total = m.groups()
    for part in parts.split(", ") + ["total " + total]:
        name, ms = part.rsplit(" ", 1)
        steps.setdefault((op, name), []).append(float(ms))
for (op, name), values in steps.items():
    print("  %-8s %-16s %6.1f" % (op, name, statistics.median(values)))
PY
fi
# The cost of attaching to a bridge network: its own engines, none and bridge alternating.
bench/network-bench.sh "$RUNS"
