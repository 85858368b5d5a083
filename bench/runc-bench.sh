#!/usr/bin/env bash
# `<runtime> run` of a busybox bundle running `true`: berth-runc against runc
# and crun on the same bundle, medians and ratios measured in the same run.
#
# crun 1.8 refuses a hybrid cgroup host as installed ("cgroups in hybrid mode
# not supported, drop all controllers from cgroupv2": the unified hierarchy
# has hugetlb enabled), with or without --cgroup-manager=disabled. All three
# runtimes therefore run in one private mount namespace in which
# /sys/fs/cgroup/unified is unmounted, so each sees the same plain cgroup v1
# host and sets up the same cgroups; berth-runc is also timed on the host as
# installed, for reference.
#
# Usage: bench/runc-bench.sh [runs]   (BERTH_BIN: where berth-runc is)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-${BENCH_N:-40}}
berth=${BERTH_BIN:-$repo/bazel-bin/runtimed}/berth-runc
runc=${RUNC:-/usr/sbin/runc}
crun=${CRUN:-$(command -v crun || true)}

work=$(mktemp -d /tmp/rbXXXXXX)
trap 'rm -rf "$work"' EXIT
bundle=$work/bundle
mkdir -p "$bundle/rootfs"/{bin,proc,sys,dev,etc,tmp}
cp /bin/busybox "$bundle/rootfs/bin/"
ln -s busybox "$bundle/rootfs/bin/sh"
ln -s busybox "$bundle/rootfs/bin/true"
(cd "$bundle" && "$berth" spec)
python3 - "$bundle/config.json" "$$" <<'PY'
import json, sys
path, tag = sys.argv[1:3]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
c["linux"]["cgroupsPath"] = "/runc-bench-%s/c" % tag
json.dump(c, open(path, "w"), indent=1)
PY

timer=$work/timer.py
cat >"$timer" <<'PY'
import os, statistics, subprocess, sys, time
runs, work, bundle = int(sys.argv[1]), sys.argv[2], sys.argv[3]
runtimes = [a.split("=", 1) for a in sys.argv[4:]]
def one(name, binary, i):
    argv = [binary, "--root", "%s/state-%s" % (work, name), "run", "--bundle", bundle,
            "b%d" % i]
    start = time.perf_counter()
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit("%s failed: %s" % (name, done.stderr.decode()[:300]))
    return elapsed * 1000
times = {name: [] for name, _ in runtimes}
for name, binary in runtimes:  # warm the page cache and the seccomp cache
    one(name, binary, 0)
for i in range(1, runs + 1):  # interleaved, so that noise hits all alike
    for name, binary in runtimes:
        times[name].append(one(name, binary, i))
for name, _ in runtimes:
    print("%-24s median %6.1f ms  (min %5.1f, max %5.1f, n=%d)" % (
        name, statistics.median(times[name]), min(times[name]), max(times[name]), runs))
base = statistics.median(times[runtimes[0][0]])
for name, _ in runtimes[1:]:
    print("ratio %s / %s: %.2f (below 1: %s is faster)" % (
        runtimes[0][0], name, base / statistics.median(times[name]), runtimes[0][0]))
PY

echo "== berth-runc on the host as installed (hybrid cgroups)"
python3 "$timer" "$runs" "$work" "$bundle" "berth-runc=$berth" "runc=$runc"
echo "== all three on plain cgroup v1 (unified hierarchy unmounted in a private mount ns)"
set -- "berth-runc=$berth" "runc=$runc"
[[ -n $crun ]] && set -- "$@" "crun=$crun"
# Without the unified mount, crun (which still finds the "0::" line in
# /proc/self/cgroup) makes its directories in the cgroup tmpfs below the mount
# point, seen only from this namespace: remove them from here.
unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; python3 "$@"; rc=$?
  rm -rf "/sys/fs/cgroup/unified/runc-bench-'$$'" 2>/dev/null; exit $rc' sh \
  "$timer" "$runs" "$work" "$bundle" "$@"
for c in /sys/fs/cgroup/*/runc-bench-$$ /sys/fs/cgroup/unified/runc-bench-$$; do
  [[ -d $c ]] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
done
true
