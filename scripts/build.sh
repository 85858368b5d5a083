#!/usr/bin/env bash
# Builds every target and installs the binaries side by side in out/bin (the
# supervisor finds its daemons beside itself).
#   scripts/build.sh [bazel flags]        build //... and install
#   BERTH_OUT=dir scripts/build.sh --bins  build only the binaries, install into dir
#     (for engineers working in parallel: other folders' tests may be mid-edit)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BERTH_OUT:-out/bin}
binaries=(cli/berth apiserver/berth-apiserver imaged/berth-imaged runtimed/berth-runtimed
          runtimed/berth-shim runtimed/berth-runc stored/berth-stored netd/berth-netd)
if [ "${1:-}" == "--bins" ]; then
  shift
  targets=()
  for b in "${binaries[@]}"; do targets+=("//${b%/*}:${b##*/}"); done
  bazel build "${targets[@]}" "$@"
else
  bazel build //... "$@"
fi
mkdir -p "$out"
for target in "${binaries[@]}"; do
  install -m 0755 "bazel-bin/$target" "$out/$(basename "$target")"
done
echo "binaries in $(cd "$out" && pwd)"
