#!/usr/bin/env bash
# docker pull and docker push speed against Debian's docker-registry on
# 127.0.0.1: an image of about 200 MB in 20,000 files (two layers of 10,000
# files of 10 KiB on a busybox layer), for berth and for a reference dockerd
# (Debian's docker.io) started in the same run on its own socket and root.
#
#   push: each engine loads the image, then pushes it three times, each time
#         into an empty registry (restarted on a fresh storage directory, so no
#         blob is skipped or mounted).
#   pull: the registry holds the image as the reference pushed it (gzip layers,
#         as on Docker Hub); each engine pulls it three times, the image and
#         its layers removed before each pull.
# Prints best and median of three, and the ratio reference/berth of the
# medians (goal: berth at least 1.5 times faster). These machines are noisy:
# compare the ratio.
#
# Usage: [BENCH_DATA_FS=ext4|xfs|host] bench/pull-bench.sh     (BERTH_BIN=dir for the binaries, default out/bin)
#   PULL_BENCH_LOG=file: berth runs at debug level and imaged's and stored's logs
#   are kept in file (imaged logs when each layer of a pull was verified and applied).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
# Each engine's data root on a file system made for this run (see bench_data_fs).
BENCH_DATA_FS=${BENCH_DATA_FS:-ext4}
command -v docker-registry >/dev/null || { echo "docker-registry is required" >&2; exit 1; }
bench_init pb
bench_on_exit '[ -n "${PULL_BENCH_LOG:-}" ] && cat "$WORK/b/root/logs/imaged.log" "$WORK/b/root/logs/stored.log" >"$PULL_BENCH_LOG"'
# Registries are restarted inside $(...) subshells too, so they are found by their config.
bench_on_exit 'pkill -f "docker-registry serve $WORK/registry/config.yml"; sleep 0.2'

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT

# registry_fresh: (re)starts the registry on an empty storage directory.
registry_fresh() {
  if [ -n "${REGISTRY_PID:-}" ]; then
    kill "$REGISTRY_PID" 2>/dev/null
    wait "$REGISTRY_PID" 2>/dev/null
  fi
  rm -rf "$WORK/registry"
  mkdir -p "$WORK/registry/data"
  printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
    "$WORK/registry/data" "$REG" >"$WORK/registry/config.yml"
  docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry/log" 2>&1 &
  REGISTRY_PID=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://$REG/v2/" && return 0; sleep 0.1; done
  echo "the registry did not start" >&2
  return 1
}

best_median() {  # best_median T1 T2 T3 : "best median"
  printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%s %s\n", a[1], a[int((NR+1)/2)]}'
}

# push_runs HOST : "best median" of three pushes of pullbench:1 into an empty registry.
push_runs() {
  local host=$1 times=() t run
  export DOCKER_HOST=$host
  docker tag pullbench:1 "$REG/bench/push:1" || return 1
  for run in 1 2 3; do
    registry_fresh || return 1
    t=$(seconds docker push "$REG/bench/push:1") || return 1
    times+=("$t")
  done
  docker rmi "$REG/bench/push:1" >/dev/null
  unset DOCKER_HOST
  best_median "${times[@]}"
}

# pull_runs HOST : "best median" of three pulls of $REG/bench/pull:1, removed before each.
pull_runs() {
  local host=$1 times=() t run
  export DOCKER_HOST=$host
  for run in 1 2 3; do
    docker rmi "$REG/bench/pull:1" >/dev/null 2>&1
    sync
    t=$(seconds docker pull "$REG/bench/pull:1") || return 1
    if [ "$(docker run --rm --network none "$REG/bench/pull:1" sh -c 'set -- /a/*/* /b/*/*; echo $#')" \
      != 20000 ]; then
      echo "the pulled image lacks files" >&2
      return 1
    fi
    times+=("$t")
  done
  docker rmi "$REG/bench/pull:1" >/dev/null 2>&1
  unset DOCKER_HOST
  best_median "${times[@]}"
}

make_many_files_image "$WORK/image.tar" pullbench:1
size_mb=$(($(stat -c %s "$WORK/image.tar") / 1000000))

start_berth $([ -n "${PULL_BENCH_LOG:-}" ] && echo --log-level debug) || exit 1
DOCKER_HOST=$BERTH_HOST docker load -i "$WORK/image.tar" >/dev/null || echo "berth: load failed" >&2
berth_push=$(push_runs "$BERTH_HOST" || echo "nan nan")

ref_push="nan nan"
ref_pull="nan nan"
have_ref=0
if start_reference; then
  DOCKER_HOST=$REF_HOST docker load -i "$WORK/image.tar" >/dev/null || echo "reference: load failed" >&2
  ref_push=$(push_runs "$REF_HOST" || echo "nan nan")
  have_ref=1
fi

# The image to pull, as the reference pushes it (gzip layers); berth's push
# when there is no reference.
registry_fresh
if ((have_ref)); then
  DOCKER_HOST=$REF_HOST docker tag pullbench:1 "$REG/bench/pull:1"
  DOCKER_HOST=$REF_HOST docker push "$REG/bench/pull:1" >/dev/null
  DOCKER_HOST=$REF_HOST docker rmi "$REG/bench/pull:1" pullbench:1 >/dev/null
  ref_pull=$(pull_runs "$REF_HOST" || echo "nan nan")
else
  DOCKER_HOST=$BERTH_HOST docker tag pullbench:1 "$REG/bench/pull:1"
  DOCKER_HOST=$BERTH_HOST docker push "$REG/bench/pull:1" >/dev/null
fi
DOCKER_HOST=$BERTH_HOST docker rmi pullbench:1 >/dev/null 2>&1
berth_pull=$(pull_runs "$BERTH_HOST" || echo "nan nan")

pushed_mb=$(du -sm "$WORK/registry/data" | awk '{print $1}')
report() {  # report TITLE "best median" "best median"
  echo "$1, seconds (best / median of 3):"
  printf '  berth      %8s %8s\n' $2
  printf '  reference  %8s %8s\n' $3
  awk -v a="${2#* }" -v b="${3#* }" 'BEGIN {
    if (a == "nan" || b == "nan" || a == 0) print "  ratio           n/a";
    else printf "  ratio      %8.2f   (reference/berth medians: how many times faster berth is; goal >= 1.5)\n", b / a }'
}
report "docker pull of a ${size_mb} MB image (20,000 files of 10 KiB in two layers; ${pushed_mb} MB in the registry)" \
  "$berth_pull" "$ref_pull"
report "docker push of the same image into an empty registry" "$berth_push" "$ref_push"
