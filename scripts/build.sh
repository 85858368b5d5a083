#!/usr/bin/env bash
# Builds every target and installs the binaries side by side in out/bin (the
# supervisor finds its daemons beside itself).
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build //... "$@"
mkdir -p out/bin
for target in cli/berth apiserver/berth-apiserver imaged/berth-imaged runtimed/berth-runtimed \
              runtimed/berth-shim runtimed/berth-runc stored/berth-stored netd/berth-netd; do
  install -m 0755 "bazel-bin/$target" "out/bin/$(basename "$target")"
done
echo "binaries in $(pwd)/out/bin"
