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
source "$(dirname "$0")/lib.sh"
bench_init sb
bench_on_exit 'for h in "${BERTH_HOST:-}" "${REF_HOST:-}"; do [ -n "$h" ] && DOCKER_HOST=$h docker rm -f cpbench; done'

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

start_berth || exit 1
read -r berth_in berth_out < <(measure "$BERTH_HOST" || echo "nan nan")
ref_in=nan
ref_out=nan
if start_reference; then
  read -r ref_in ref_out < <(measure "$REF_HOST" || echo "nan nan")
fi

echo "docker cp of 200 MB in 20,000 files to/from a running container, best of 3, seconds:"
printf '           %8s %8s\n' in out
printf '  berth     %8s %8s\n' "$berth_in" "$berth_out"
printf '  reference %8s %8s\n' "$ref_in" "$ref_out"
printf '  ratio     %8s %8s   (berth/reference; below 1 is faster)\n' \
  "$(ratio "$berth_in" "$ref_in")" "$(ratio "$berth_out" "$ref_out")"
