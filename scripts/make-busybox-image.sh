#!/usr/bin/env bash
# Writes a docker-archive tarball (the format of `docker save`) of a busybox
# image built from Debian's busybox-static, for `docker load -i`.
# Usage: make-busybox-image.sh OUTPUT.tar [REPO:TAG]
set -euo pipefail
out=$(realpath -m "$1")
tag=${2:-busybox:latest}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "missing $busybox (apt-get install busybox-static)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/rootfs/root" \
         "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" "$work/rootfs/home"
chmod 1777 "$work/rootfs/tmp"
cp "$busybox" "$work/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$work/rootfs/bin/$applet"
done
cat > "$work/rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$work/rootfs/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
GROUP

mkdir -p "$work/archive"
# A reproducible layer: fixed owner, order and times.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2024-01-01 00:00:00Z' \
    -C "$work/rootfs" -cf "$work/layer.tar" bin dev etc home proc root sys tmp
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir -p "$work/archive/$diff_id"
mv "$work/layer.tar" "$work/archive/$diff_id/layer.tar"
echo "1.0" > "$work/archive/$diff_id/VERSION"
echo "{\"id\":\"$diff_id\"}" > "$work/archive/$diff_id/json"

cat > "$work/config.json" <<CONFIG
{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created":"2024-01-01T00:00:00Z","created_by":"busybox from Debian busybox-static"}]}
CONFIG
# The config must be byte-exact: its digest is the image ID.
tr -d '\n' < "$work/config.json" > "$work/config.min.json"
image_id=$(sha256sum "$work/config.min.json" | cut -d' ' -f1)
cp "$work/config.min.json" "$work/archive/$image_id.json"
repo=${tag%:*}
echo "[{\"Config\":\"$image_id.json\",\"RepoTags\":[\"$tag\"],\"Layers\":[\"$diff_id/layer.tar\"]}]" \
  > "$work/archive/manifest.json"
echo "{\"$repo\":{\"${tag##*:}\":\"$diff_id\"}}" > "$work/archive/repositories"
(cd "$work/archive" && tar --sort=name --owner=0 --group=0 --numeric-owner -cf "$out" -- *)
echo "$out: $tag sha256:$image_id"
