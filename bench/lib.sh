# Shared by the benchmarks (source it): a private berth and a reference dockerd
# (Debian's docker.io) started in the same run, each on its own socket, root,
# cgroup parent, bridge and subnet, so that a benchmark never touches another
# engine on the host; and the timing and ratio helpers every benchmark prints
# with. These machines are noisy: the benchmarks compare ratios measured side
# by side, never absolute times.
#
#   bench_init TAG       work dir, DOCKER_CONFIG, bridges/subnets, cleanup trap
#   bench_on_exit CMD    run CMD (a string) first at exit, while engines still run
#   start_berth [ARGS]   berth daemon (ARGS appended), sets BERTH_HOST, BERTH_PID
#   start_reference [ARGS]  dockerd (ARGS appended), sets REF_HOST (empty when
#                        there is none), DOCKERD_PID; returns non-zero then
#   stop_berth / stop_reference
#   seconds CMD...       wall time of CMD in seconds (stdout discarded)
#   micros CMD...        wall time of CMD in microseconds, "fail" on failure
#   median_ms            median of microseconds on stdin, in milliseconds
#   ratio A B            A / B with two decimals, n/a when either is missing
#   minimum A B          the smaller, ignoring "nan"

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BERTH_BIN:-$BENCH_ROOT/out/bin}
BENCH_EXIT_HOOKS=()

bench_init() {
  local tag=$1 o
  cd "$BENCH_ROOT" || exit 1
  BENCH_TAG=$tag$$
  WORK=$(mktemp -d "/tmp/$tag.XXXXXX")
  chmod 0711 "$WORK"  # the unprivileged daemons reach their directories below
  export DOCKER_CONFIG=$WORK/docker-config
  mkdir -p "$DOCKER_CONFIG"
  BERTH_BRIDGE=${tag}b$$
  REF_BRIDGE=${tag}r$$
  # Two /24s the host does not route yet (the pid spreads parallel runs).
  for o in $(seq $(($$ % 50 + 200)) 250) $(seq 200 250); do
    ip -4 route show | grep -qE "^10\.$o\." || break
  done
  BERTH_NET=10.$o.1.1/24
  REF_NET=10.$o.2.1/24
  trap bench_cleanup EXIT
}

bench_on_exit() { BENCH_EXIT_HOOKS+=("$1"); }

stop_berth() {
  [ -n "${BERTH_PID:-}" ] && kill -TERM "$BERTH_PID" 2>/dev/null && wait "$BERTH_PID" 2>/dev/null
  BERTH_PID=
}

stop_reference() {
  [ -n "${DOCKERD_PID:-}" ] && kill -TERM "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
  DOCKERD_PID=
  ip link del "$REF_BRIDGE" 2>/dev/null
}

bench_cleanup() {
  local hook
  for hook in "${BENCH_EXIT_HOOKS[@]}"; do eval "$hook" >/dev/null 2>&1; done
  stop_berth
  stop_reference
  grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  ip link del "$BERTH_BRIDGE" 2>/dev/null
  rm -rf "$WORK"
}

# bench_data_fs DIR : when BENCH_DATA_FS is ext4 or xfs, DIR becomes a file
# system of its own, made for this run in a sparse file on a loop device. The
# benchmarks that write many files (pull, load) give each engine one: the
# host's disk carries what earlier runs deleted, and ext4 without a journal
# (this VM's root) skips inodes freed in the last minutes, which decided
# whichever engine ran after a removal. A fresh file system with a journal, as
# hosts have it, measures the engines instead. BENCH_DATA_FS=host (the
# default of the other benchmarks) keeps DIR on the host's file system.
bench_data_fs() {
  local dir=$1 fs=${BENCH_DATA_FS:-host} image
  mkdir -p "$dir"
  [ "$fs" == host ] && return 0
  image=$WORK/$(echo "$dir" | tr / _).img
  truncate -s "${BENCH_DATA_FS_SIZE:-8G}" "$image" || return 1
  case $fs in
    ext4) mkfs.ext4 -q -F "$image" ;;
    xfs) mkfs.xfs -q -f "$image" ;;
    *) echo "BENCH_DATA_FS: ext4, xfs or host, not $fs" >&2; return 1 ;;
  esac || return 1
  mount -o loop "$image" "$dir"
}

start_berth() {
  bench_data_fs "$WORK/b/root" || return 1
  printf '{"bridge": "%s", "bip": "%s"}\n' "$BERTH_BRIDGE" "$BERTH_NET" >"$WORK/daemon.json"
  chmod 0644 "$WORK/daemon.json"
  BERTH_HOST=unix://$WORK/b/run/docker.sock
  "$BIN/berth" --root "$WORK/b/root" --exec-root "$WORK/b/run" daemon \
    --cgroup-parent "bench-$BENCH_TAG" --config-file "$WORK/daemon.json" --log-level warn "$@" \
    >"$WORK/berth.log" 2>&1 &
  BERTH_PID=$!
  for _ in $(seq 200); do grep -q "berth is ready" "$WORK/berth.log" && return 0; sleep 0.1; done
  echo "berth did not start; see $WORK/berth.log" >&2
  return 1
}

# No iptables: the host's firewall stays untouched; its bridge is this run's.
start_reference() {
  REF_HOST=
  if ! command -v dockerd >/dev/null; then
    echo "no reference engine (scripts/install-deps.sh --bench installs docker.io)" >&2
    return 1
  fi
  mkdir -p "$WORK/d"
  bench_data_fs "$WORK/d/root" || return 1
  ip link add "$REF_BRIDGE" type bridge && ip addr add "$REF_NET" dev "$REF_BRIDGE" &&
    ip link set "$REF_BRIDGE" up || return 1
  dockerd --data-root "$WORK/d/root" --exec-root "$WORK/d/exec" --pidfile "$WORK/d/docker.pid" \
    -H "unix://$WORK/d/docker.sock" --bridge="$REF_BRIDGE" --iptables=false --ip-masq=false \
    --containerd-namespace="$BENCH_TAG" --containerd-plugins-namespace="$BENCH_TAG-p" \
    --log-level=error "$@" >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 300); do
    if DOCKER_HOST=unix://$WORK/d/docker.sock docker version >/dev/null 2>&1; then
      REF_HOST=unix://$WORK/d/docker.sock
      return 0
    fi
    sleep 0.1
  done
  echo "reference dockerd did not start; see $WORK/dockerd.log" >&2
  tail -5 "$WORK/dockerd.log" >&2
  return 1
}

micros() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || { echo fail; return 1; }
  end=$(date +%s%N)
  echo $(((end - start) / 1000))
}

seconds() {
  local t
  t=$(micros "$@") || { echo "failed: $*" >&2; return 1; }
  awk -v us="$t" 'BEGIN { printf "%.2f\n", us / 1e6 }'
}

median_ms() {
  sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else printf "%.1f\n", a[int((NR+1)/2)]/1000}'
}

ratio() {
  awk -v a="$1" -v b="$2" \
    'BEGIN { if (a == "nan" || b == "nan" || a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

minimum() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || a == "nan") print b;
    else if (b == "" || b == "nan") print a; else print (b < a ? b : a) }'
}

# make_many_files_image OUT TAG : a docker-archive of about 200 MB in 20,000
# files: busybox, then two layers of 10,000 files of 10 KiB (/a and /b, 100
# directories each), tagged TAG.
make_many_files_image() {
  python3 - "$1" "$2" <<'PY'
import hashlib, json, os, shutil, subprocess, sys
out_path, tag = sys.argv[1:3]
work = os.path.dirname(out_path)
archive = os.path.join(work, "archive")
os.makedirs(archive)
def tar_layer(root, names):
    out = os.path.join(work, "layer.tar")
    subprocess.run(["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
                    "-C", root, "-cf", out] + names, check=True)
    digest = hashlib.sha256()
    with open(out, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    hex_ = digest.hexdigest()
    os.makedirs(os.path.join(archive, hex_))
    shutil.move(out, os.path.join(archive, hex_, "layer.tar"))
    return hex_
base = os.path.join(work, "rootfs0")
os.makedirs(os.path.join(base, "bin"))
shutil.copy("/bin/busybox", os.path.join(base, "bin", "busybox"))
for applet in ("sh",):
    os.symlink("busybox", os.path.join(base, "bin", applet))
layers = [tar_layer(base, ["bin"])]
for name in ("a", "b"):
    root = os.path.join(work, "rootfs-" + name)
    for i in range(100):
        sub = os.path.join(root, name, f"d{i}")
        os.makedirs(sub)
        for j in range(100):
            with open(os.path.join(sub, f"f{j}"), "wb") as f:
                f.write(os.urandom(10240))
    layers.append(tar_layer(root, [name]))
    shutil.rmtree(root)
shutil.rmtree(base)
config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                     "config": {"Cmd": ["sh"]},
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + l for l in layers]}})
config_hex = hashlib.sha256(config.encode()).hexdigest()
with open(os.path.join(archive, config_hex + ".json"), "w") as f:
    f.write(config)
with open(os.path.join(archive, "manifest.json"), "w") as f:
    json.dump([{"Config": config_hex + ".json", "RepoTags": [tag],
                "Layers": [l + "/layer.tar" for l in layers]}], f)
subprocess.run(["tar", "-C", archive, "-cf", out_path, "."], check=True)
shutil.rmtree(archive)
PY
}
