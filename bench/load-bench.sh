#!/usr/bin/env bash
# docker load speed: a docker-archive of about 200 MB in 20,000 files (two
# layers of 10,000 files of 10 KiB, 100 directories each, on a busybox layer),
# loaded into berth and into a reference dockerd (Debian's docker.io) started
# in the same run on its own socket and root. Best of three; the image is
# removed between runs so that each load unpacks every layer; the engines take
# turns. These machines are noisy: compare the ratio.
#
# Usage: bench/load-bench.sh     (BERTH_BIN=dir for the binaries, default out/bin)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BERTH_BIN:-$PWD/out/bin}
WORK=$(mktemp -d /tmp/lb.XXXXXX)
chmod 0711 "$WORK"  # the unprivileged daemons reach their directories below
export DOCKER_CONFIG=$WORK/docker-config
mkdir -p "$DOCKER_CONFIG"

cleanup() {
  [ -n "${BERTH_PID:-}" ] && kill -TERM "$BERTH_PID" 2>/dev/null && wait "$BERTH_PID" 2>/dev/null
  [ -n "${DOCKERD_PID:-}" ] && kill -TERM "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
  grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

seconds() {  # seconds CMD... : wall time in seconds of CMD
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.2f\n", ns / 1e9 }'
}

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

min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || a == "nan") print b;
  else if (b == "nan") print a; else print (b < a ? b : a) }'; }

# The image: busybox, then two layers of 10,000 files each.
python3 - "$WORK" <<'PY'
import hashlib, json, os, shutil, subprocess, sys
work = sys.argv[1]
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
    json.dump([{"Config": config_hex + ".json", "RepoTags": ["loadbench:1"],
                "Layers": [l + "/layer.tar" for l in layers]}], f)
subprocess.run(["tar", "-C", archive, "-cf", os.path.join(work, "image.tar"), "."], check=True)
shutil.rmtree(archive)
PY
size_mb=$(($(stat -c %s "$WORK/image.tar") / 1000000))

BERTH_HOST=unix://$WORK/b/run/docker.sock
"$BIN/berth" --root "$WORK/b/root" --exec-root "$WORK/b/run" daemon --cgroup-parent berth-lbench \
  --log-level warn >"$WORK/berth.log" 2>&1 &
BERTH_PID=$!
for _ in $(seq 100); do grep -q "berth is ready" "$WORK/berth.log" && break; sleep 0.1; done

REF_HOST=
if command -v dockerd >/dev/null; then
  REF_HOST=unix://$WORK/d/docker.sock
  mkdir -p "$WORK/d"
  dockerd --data-root "$WORK/d/root" --exec-root "$WORK/d/exec" --pidfile "$WORK/d/docker.pid" \
    -H "$REF_HOST" --bridge=none --iptables=false --ip-masq=false \
    --containerd-namespace=lbench --containerd-plugins-namespace=lbench-p \
    --log-level=error >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 200); do DOCKER_HOST=$REF_HOST docker version >/dev/null 2>&1 && break; sleep 0.1; done
else
  echo "no reference engine (apt-get install docker.io for one)" >&2
fi

# Both engines run side by side and take turns, so that the load other work
# puts on the machine weighs on both alike; the best of three of each counts.
berth=nan
ref=nan
for run in 1 2 3; do
  sync
  berth=$(min "$berth" "$(load_once "$BERTH_HOST" || echo nan)")
  if [ -n "$REF_HOST" ]; then
    sync
    ref=$(min "$ref" "$(load_once "$REF_HOST" || echo nan)")
  fi
done

echo "docker load of a ${size_mb} MB archive (20,000 files of 10 KiB in two layers), best of 3, seconds:"
printf '  berth      %8s\n' "$berth"
printf '  reference  %8s\n' "$ref"
awk -v a="$berth" -v b="$ref" 'BEGIN {
  if (a == "nan" || b == "nan" || a == 0) print "  ratio           n/a";
  else printf "  ratio      %8.2f   (reference/berth: how many times faster berth is; goal >= 1.5)\n", b / a }'
