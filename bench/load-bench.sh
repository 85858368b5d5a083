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
source "$(dirname "$0")/lib.sh"
bench_init lb

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

start_berth || exit 1
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
