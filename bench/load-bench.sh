#!/usr/bin/env bash
# docker load speed: a docker-archive of about 200 MB in 20,000 files (two
# layers of 10,000 files of 10 KiB, 100 directories each, on a busybox layer),
# loaded into berth and into a reference dockerd (Debian's docker.io) started
# in the same run on its own socket and root. Best of three; the image is
# removed between runs so that each load unpacks every layer; the engines take
# turns. These machines are noisy: compare the ratio.
#
# Usage: [BENCH_DATA_FS=ext4|xfs|host] bench/load-bench.sh     (BERTH_BIN=dir for the binaries, default out/bin)
#   LOAD_BENCH_LOG=file: berth runs at debug level and imaged's and stored's logs
#   are kept in file (imaged logs when a load's archive was read, each layer
#   applied and the image committed).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
# Each engine's data root on a file system made for this run (see bench_data_fs).
BENCH_DATA_FS=${BENCH_DATA_FS:-ext4}
bench_init lb
bench_on_exit '[ -n "${LOAD_BENCH_LOG:-}" ] && cat "$WORK/b/root/logs/imaged.log" "$WORK/b/root/logs/stored.log" >"$LOAD_BENCH_LOG"'

load_once() {  # load_once HOST : prints the seconds one load takes at HOST
  local host=$1 t
  t=$(DOCKER_HOST=$host seconds docker load -i "$WORK/image.tar") || return 1
  if [ "$(DOCKER_HOST=$host docker run --rm --network none loadbench:1 \
    sh -c 'set -- /a/*/* /b/*/*; echo $#')" != 20000 ]; then
    echo "the loaded image lacks files" >&2
    return 1
  fi
  DOCKER_HOST=$host docker rmi loadbench:1 >/dev/null || return 1
  echo "$t"
}

make_many_files_image "$WORK/image.tar" loadbench:1
size_mb=$(($(stat -c %s "$WORK/image.tar") / 1000000))

start_berth $([ -n "${LOAD_BENCH_LOG:-}" ] && echo --log-level debug) || exit 1
start_reference

# Both engines run side by side and take turns, so that the load other work
# puts on the machine weighs on both alike; the best of three of each counts.
berth=nan
ref=nan
for run in 1 2 3; do
  sync
  berth=$(minimum "$berth" "$(load_once "$BERTH_HOST" || echo nan)")
  if [ -n "$REF_HOST" ]; then
    sync
    ref=$(minimum "$ref" "$(load_once "$REF_HOST" || echo nan)")
  fi
done

echo "docker load of a ${size_mb} MB archive (20,000 files of 10 KiB in two layers), best of 3, seconds:"
printf '  berth      %8s\n' "$berth"
printf '  reference  %8s\n' "$ref"
awk -v a="$berth" -v b="$ref" 'BEGIN {
  if (a == "nan" || b == "nan" || a == 0) print "  ratio           n/a";
  else printf "  ratio      %8.2f   (reference/berth: how many times faster berth is; goal >= 1.5)\n", b / a }'
