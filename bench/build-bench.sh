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
cd "$(dirname "$0")/.."
RUNS=${1:-5}
scripts/install-deps.sh --bench >/dev/null
BIN=${BERTH_BIN:-$PWD/out/bin}
WORK=$(mktemp -d /tmp/bbb.XXXXXX)
chmod 0711 "$WORK"  # the unprivileged daemons reach their directories below
export DOCKER_CONFIG=$WORK/docker-config
export DOCKER_BUILDKIT=0
mkdir -p "$DOCKER_CONFIG"
# Bridges and subnets of this run's own: parallel runs never share one.
BR_BERTH=bbb$$
BR_REF=bbr$$
OCTET=$(($$ % 200 + 20))

cleanup() {
  [ -n "${BERTH_PID:-}" ] && kill -TERM "$BERTH_PID" 2>/dev/null && wait "$BERTH_PID" 2>/dev/null
  [ -n "${DOCKERD_PID:-}" ] && kill -TERM "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
  grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  nft delete table ip "berth_$(printf '%s' "$WORK/b/run" | sha256sum | cut -c1-12)" 2>/dev/null
  ip link del "$BR_BERTH" 2>/dev/null
  ip link del "$BR_REF" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

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

median_ms() {  # median_ms HOST BUILD-ARGS... : median wall time of RUNS builds, in ms
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
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f\n", a[int((NR+1)/2)]/1000}'
}

scripts/make-busybox-image.sh "$WORK/busybox.tar" >/dev/null

# berth
mkdir -p "$WORK/b"
printf '{"bridge": "%s", "bip": "10.%d.10.1/24"}\n' "$BR_BERTH" "$OCTET" >"$WORK/b/daemon.json"
chmod 0644 "$WORK/b/daemon.json"
BERTH_HOST=unix://$WORK/b/run/docker.sock
"$BIN/berth" --root "$WORK/b/root" --exec-root "$WORK/b/run" daemon \
  --config-file "$WORK/b/daemon.json" --cgroup-parent "berth-bbench-$$" \
  --log-level warn >"$WORK/berth.log" 2>&1 &
BERTH_PID=$!
for _ in $(seq 200); do grep -q "berth is ready" "$WORK/berth.log" && break; sleep 0.1; done
DOCKER_HOST=$BERTH_HOST docker load -i "$WORK/busybox.tar" >/dev/null
DOCKER_HOST=$BERTH_HOST docker build -q "$CTX" >/dev/null 2>&1  # fills the cache
berth_cached=$(median_ms "$BERTH_HOST")
cli_floor=$(for ((i = 0; i < RUNS; i++)); do
  start=$(date +%s%N); DOCKER_HOST=$BERTH_HOST docker version >/dev/null 2>&1; end=$(date +%s%N)
  echo $(((end - start) / 1000))
done | sort -n | awk '{a[NR]=$1} END {printf "%.1f\n", a[int((NR+1)/2)]/1000}')
berth_uncached=$(median_ms "$BERTH_HOST" --no-cache)

# reference: Debian's dockerd on its own socket, root and bridge
ref_cached=nan
ref_uncached=nan
if command -v dockerd >/dev/null; then
  REF_HOST=unix://$WORK/d/docker.sock
  mkdir -p "$WORK/d"
  ip link add "$BR_REF" type bridge 2>/dev/null
  ip addr add "10.$OCTET.20.1/24" dev "$BR_REF" 2>/dev/null
  ip link set "$BR_REF" up
  dockerd --data-root "$WORK/d/root" --exec-root "$WORK/d/exec" --pidfile "$WORK/d/docker.pid" \
    -H "$REF_HOST" --bridge="$BR_REF" --iptables=false --ip-masq=false \
    --containerd-namespace="bbench$$" --log-level=error >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 200); do DOCKER_HOST=$REF_HOST docker version >/dev/null 2>&1 && break; sleep 0.1; done
  if DOCKER_HOST=$REF_HOST docker load -i "$WORK/busybox.tar" >/dev/null 2>&1; then
    DOCKER_HOST=$REF_HOST docker build -q "$CTX" >/dev/null 2>&1
    ref_cached=$(median_ms "$REF_HOST")
    ref_uncached=$(median_ms "$REF_HOST" --no-cache)
  else
    echo "reference dockerd did not start; see $WORK/dockerd.log" >&2
    tail -5 "$WORK/dockerd.log" >&2
  fi
else
  echo "no reference engine (scripts/install-deps.sh --bench installs docker.io)" >&2
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "nan" || b == 0 || a == "nan") print "n/a"; else printf "%.2f\n", a / b }'; }
echo
echo "docker build (legacy builder) of a 10-step Dockerfile, median of $RUNS:"
echo "                     berth ms   reference ms   berth/reference   goal"
printf '  cached rebuild   %10s   %12s   %15s   <= 0.30\n' "$berth_cached" "$ref_cached" \
  "$(ratio "$berth_cached" "$ref_cached")"
printf '  --no-cache       %10s   %12s   %15s   <= 0.70\n' "$berth_uncached" "$ref_uncached" \
  "$(ratio "$berth_uncached" "$ref_uncached")"
printf '  CLI alone        %10s                                     (docker version: both pay it)\n' \
  "$cli_floor"
