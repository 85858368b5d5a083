#!/usr/bin/env bash
# docker build speed: a 10-step Dockerfile (FROM a local busybox, RUN, COPY,
# ENV, WORKDIR, ...) built through the real docker CLI by berth and by a
# reference dockerd's legacy builder (DOCKER_BUILDKIT=0), in the same run:
#   - a fully cached rebuild (every step "Using cache")
#   - an uncached build (--no-cache)
# medians of RUNS builds each, and berth/reference ratios. Issue 7's goals:
# cached <= 0.3, uncached <= 0.7. Timings on a busy machine are noisy:
# compare the ratios, measured side by side.
#
# Usage: bench/build-bench.sh [RUNS]    (default 5)
#   BERTH_BIN: berth's binaries (default out/bin)
set -uo pipefail
source "$(dirname "$0")/lib.sh"
RUNS=${1:-5}
scripts/install-deps.sh --bench >/dev/null
bench_init bbb
export DOCKER_BUILDKIT=0

# The context: a few files, one directory of 50 small ones.
CTX=$WORK/ctx
mkdir -p "$CTX/src"
for i in $(seq 50); do echo "file $i" >"$CTX/src/f$i.txt"; done
head -c 262144 /dev/urandom >"$CTX/blob.bin"
echo '#!/bin/sh' >"$CTX/entry.sh"
cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
ENV APP_HOME=/app MODE=bench
WORKDIR /app
COPY src/ ./src/
RUN mkdir -p /app/data && echo built > /app/data/stamp
COPY blob.bin entry.sh ./
ARG VERSION=1
RUN cat src/*.txt | wc -l > /app/data/count && chmod +x entry.sh
LABEL org.example.bench=yes
CMD ["sh", "-c", "cat /app/data/stamp"]
DF

build_ms() {  # build_ms HOST BUILD-ARGS... : median wall time of RUNS builds, in ms
  local host=$1; shift
  local times=() i start end
  for ((i = 0; i < RUNS; i++)); do
    start=$(date +%s%N)
    if ! DOCKER_HOST=$host docker build -q "$@" "$CTX" >"$WORK/out" 2>&1; then
      echo "build failed on $host: $(tail -3 "$WORK/out")" >&2
      echo nan
      return
    fi
    end=$(date +%s%N)
    times+=($(((end - start) / 1000)))
  done
  printf '%s\n' "${times[@]}" | median_ms
}

scripts/make-busybox-image.sh "$WORK/busybox.tar" >/dev/null

start_berth || exit 1
DOCKER_HOST=$BERTH_HOST docker load -i "$WORK/busybox.tar" >/dev/null
DOCKER_HOST=$BERTH_HOST docker build -q "$CTX" >/dev/null 2>&1  # fills the cache
berth_cached=$(build_ms "$BERTH_HOST")
cli_floor=$(for ((i = 0; i < RUNS; i++)); do DOCKER_HOST=$BERTH_HOST micros docker version; done |
  median_ms)
berth_uncached=$(build_ms "$BERTH_HOST" --no-cache)

ref_cached=nan
ref_uncached=nan
if start_reference && DOCKER_HOST=$REF_HOST docker load -i "$WORK/busybox.tar" >/dev/null 2>&1; then
  DOCKER_HOST=$REF_HOST docker build -q "$CTX" >/dev/null 2>&1
  ref_cached=$(build_ms "$REF_HOST")
  ref_uncached=$(build_ms "$REF_HOST" --no-cache)
fi

echo
echo "docker build (legacy builder) of a 10-step Dockerfile, median of $RUNS:"
echo "                     berth ms   reference ms   berth/reference   goal"
printf '  cached rebuild   %10s   %12s   %15s   <= 0.30\n' "$berth_cached" "$ref_cached" \
  "$(ratio "$berth_cached" "$ref_cached")"
printf '  --no-cache       %10s   %12s   %15s   <= 0.70\n' "$berth_uncached" "$ref_uncached" \
  "$(ratio "$berth_uncached" "$ref_uncached")"
printf '  CLI alone        %10s                                     (docker version: both pay it)\n' \
  "$cli_floor"
