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
source "$(dirname "$0")/lib.sh"
RUNS=${1:-30}
bench_init nb

measure() {  # measure HOST : prints "none_ms bridge_ms" (medians of RUNS, alternating)
  local host=$1 i t none=() bridge=()
  DOCKER_HOST=$host docker run --rm --network none busybox true >/dev/null 2>&1  # warm up
  DOCKER_HOST=$host docker run --rm busybox true >/dev/null 2>&1
  for ((i = 0; i < RUNS; i++)); do
    t=$(DOCKER_HOST=$host micros docker run --rm --network none busybox true) ||
      { echo "nan nan"; return; }
    none+=("$t")
    t=$(DOCKER_HOST=$host micros docker run --rm busybox true) || { echo "nan nan"; return; }
    bridge+=("$t")
  done
  echo "$(printf '%s\n' "${none[@]}" | median_ms) $(printf '%s\n' "${bridge[@]}" | median_ms)"
}

scripts/make-busybox-image.sh "$WORK/busybox.tar" >/dev/null

berth="nan nan"
if start_berth && DOCKER_HOST=$BERTH_HOST docker load -i "$WORK/busybox.tar" >/dev/null; then
  berth=$(measure "$BERTH_HOST")
fi
stop_berth

ref="nan nan"
if start_reference && DOCKER_HOST=$REF_HOST docker load -i "$WORK/busybox.tar" >/dev/null 2>&1; then
  ref=$(measure "$REF_HOST")
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
