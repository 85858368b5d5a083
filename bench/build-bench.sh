#!/usr/bin/env bash
# docker build speed: a 10-step Dockerfile (FROM a local busybox, RUN, COPY,
# ENV, WORKDIR, ...) built through the real docker CLI by berth and by a
# reference dockerd's legacy builder (DOCKER_BUILDKIT=0), in the same run:
#   - a fully cached rebuild (every step "Using cache")
#   - an uncached build (--no-cache)
# medians of RUNS builds each, and berth/reference ratios. Issue 7's goals:
# cached <= 0.3, uncached <= 0.7. Timings on a busy machine are noisy:
# compare the ratios, measured side by side.
# Also the floor both engines pay: the same cached build against a stub
# engine that answers at once (the docker CLI's own time: walking and
# sending the context, two requests), and what each engine adds to it.
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

build_us() {  # build_us HOST BUILD-ARGS... : wall time of one build in microseconds, or nan
  local host=$1; shift
  local start end
  start=$(date +%s%N)
  if ! DOCKER_HOST=$host docker build -q "$@" "$CTX" >"$WORK/out" 2>&1; then
    echo "build failed on $host: $(tail -3 "$WORK/out")" >&2
    echo nan
    return
  fi
  end=$(date +%s%N)
  echo $(((end - start) / 1000))
}

build_ms() {  # build_ms HOST BUILD-ARGS... : median wall time of RUNS builds, in ms
  local times=() i t
  for ((i = 0; i < RUNS; i++)); do
    t=$(build_us "$@")
    [ "$t" == nan ] && { echo nan; return; }
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | median_ms
}

# Cached builds by HOST and by the stub, alternated so that both see the
# same load; sets CACHED_MS and FLOOR_MS.
cached_and_floor_ms() {
  local host=$1 times=() floors=() i t
  for ((i = 0; i < RUNS; i++)); do
    t=$(build_us "$host")
    [ "$t" == nan ] && { CACHED_MS=nan; FLOOR_MS=nan; return; }
    times+=("$t")
    floors+=("$(build_us "$STUB_HOST")")
  done
  CACHED_MS=$(printf '%s\n' "${times[@]}" | median_ms)
  FLOOR_MS=$(printf '%s\n' "${floors[@]}" | grep -v nan | median_ms)
}

# The stub engine: /_ping, and POST /build answered as a cached -q build
# is, once the whole (chunked) context is read.
cat >"$WORK/stub.py" <<'PY'
import os, socket, sys, threading
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(16)
HEAD = b"Api-Version: 1.50\r\nOstype: linux\r\nServer: Docker/28.0.0 (linux)\r\n"
def serve(conn):
    f = conn.makefile("rb", buffering=65536)
    while True:
        line = f.readline()
        if not line:
            return
        method, target = line.decode().split(" ")[:2]
        headers = {}
        while True:
            h = f.readline()
            if h in (b"\r\n", b""):
                break
            k, v = h.decode().split(":", 1)
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding") == "chunked":
            while True:
                n = int(f.readline().split(b";")[0], 16)
                if n == 0:
                    f.readline()
                    break
                f.read(n)
                f.readline()
        elif "content-length" in headers:
            f.read(int(headers["content-length"]))
        if "/build" in target:
            body = b'{"stream":"sha256:' + b"0" * 64 + b'\\n"}\r\n'
            conn.sendall(b"HTTP/1.1 200 OK\r\n" + HEAD + b"Content-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
                         % (len(body), body))
        else:
            body = b"" if method == "HEAD" else b"OK"
            conn.sendall(b"HTTP/1.1 200 OK\r\n" + HEAD + b"Content-Type: text/plain\r\n"
                         b"Content-Length: 2\r\n\r\n" + body)
while True:
    threading.Thread(target=serve, args=(server.accept()[0],), daemon=True).start()
PY
python3 "$WORK/stub.py" "$WORK/stub.sock" &
STUB_PID=$!
bench_on_exit 'kill $STUB_PID'
STUB_HOST=unix://$WORK/stub.sock

scripts/make-busybox-image.sh "$WORK/busybox.tar" >/dev/null

start_berth || exit 1
DOCKER_HOST=$BERTH_HOST docker load -i "$WORK/busybox.tar" >/dev/null
DOCKER_HOST=$BERTH_HOST docker build -q "$CTX" >/dev/null 2>&1  # fills the cache
load_before=$(cut -d' ' -f1 /proc/loadavg)
cached_and_floor_ms "$BERTH_HOST"
berth_cached=$CACHED_MS
berth_floor=$FLOOR_MS
cli_floor=$(for ((i = 0; i < RUNS; i++)); do DOCKER_HOST=$BERTH_HOST micros docker version; done |
  median_ms)
berth_uncached=$(build_ms "$BERTH_HOST" --no-cache)

ref_cached=nan
ref_floor=nan
ref_uncached=nan
if start_reference && DOCKER_HOST=$REF_HOST docker load -i "$WORK/busybox.tar" >/dev/null 2>&1; then
  DOCKER_HOST=$REF_HOST docker build -q "$CTX" >/dev/null 2>&1
  cached_and_floor_ms "$REF_HOST"
  ref_cached=$CACHED_MS
  ref_floor=$FLOOR_MS
  ref_uncached=$(build_ms "$REF_HOST" --no-cache)
fi

load_after=$(cut -d' ' -f1 /proc/loadavg)

echo
echo "docker build (legacy builder) of a 10-step Dockerfile, median of $RUNS"
echo "(load average $load_before before berth's runs, $load_after after the reference's; 2 cores: quiet is < 0.5):"
echo "                     berth ms   reference ms   berth/reference   goal"
printf '  cached rebuild   %10s   %12s   %15s   <= 0.30\n' "$berth_cached" "$ref_cached" \
  "$(ratio "$berth_cached" "$ref_cached")"
printf '  --no-cache       %10s   %12s   %15s   <= 0.70\n' "$berth_uncached" "$ref_uncached" \
  "$(ratio "$berth_uncached" "$ref_uncached")"
printf '  CLI alone        %10s                                     (docker version: both pay it)\n' \
  "$cli_floor"
minus() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan") print "n/a"; else printf "%.1f", a - b }'; }
printf '  stub engine      %10s   %12s                      (measured alternately with each engine'"'"'s\n' \
  "$berth_floor" "$ref_floor"
echo "                                                       cached builds; it answers at once: the CLI's own time)"
printf '  cached - stub    %10s   %12s   %15s   (what each engine adds)\n' \
  "$(minus "$berth_cached" "$berth_floor")" "$(minus "$ref_cached" "$ref_floor")" \
  "$(ratio "$(minus "$berth_cached" "$berth_floor")" "$(minus "$ref_cached" "$ref_floor")")"
