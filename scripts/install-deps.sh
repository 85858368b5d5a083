#!/usr/bin/env bash
# Installs everything berth needs to build, run and test on a Debian 12 machine.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap g++ pkg-config protobuf-compiler protobuf-compiler-grpc
  libgrpc++-dev libprotobuf-dev libabsl-dev libssl-dev libspdlog-dev libfmt-dev
  libsqlite3-dev libarchive-dev libcgroup-dev libseccomp-dev libcap-dev
  nlohmann-json3-dev libboost-dev catch2 libcurl4-openssl-dev libmnl-dev libnftables-dev zlib1g-dev
  # run and test: busybox for the test image, tools the tests use
  busybox-static iproute2 procps util-linux python3 curl
  # a test CA and signed tokens for the registry tests
  openssl
  # the real distribution registry for pull/push tests, htpasswd for its auth,
  # nft to inspect the engine's rules, tini for --init
  docker-registry apache2-utils nftables tini
  # other real Docker clients the tests drive
  docker-compose python3-docker
  # image formats: zstd layers, OCI layouts written and read by other tools
  zstd skopeo umoci
  # JSON in the end-to-end checks
  jq
  # the systemd cgroup driver: sd-bus's headers (libsystemd is loaded at run
  # time), and the systemd its e2e test boots in private namespaces
  libsystemd-dev systemd
)
# --bench / --reference: also Debian's docker.io, the reference engine the
# benchmarks measure against and the interoperability tests run beside berth
# (on private sockets and roots; no service of it is started here).
if [ "${1:-}" = "--bench" ] || [ "${1:-}" = "--reference" ]; then PACKAGES+=(docker.io); fi
# crun: the second reference runtime of bench/runc-bench.sh; xfsprogs: BENCH_DATA_FS=xfs.
if [ "${1:-}" = "--bench" ]; then PACKAGES+=(crun xfsprogs); fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The unprivileged daemons (apiserver, imaged) run as this system user.
if ! getent passwd berth >/dev/null; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin berth
fi

if ! command -v docker >/dev/null; then
  echo "note: the docker CLI is not installed; berth serves any Docker API client" >&2
fi
