# Images: load, import, list, inspect, tag, rmi through the docker CLI.
# shellcheck shell=bash

test_images() {
  say "== images"
  local out
  check "docker version" docker version
  out=$(docker version --format '{{.Server.APIVersion}} {{.Server.Os}}')
  check_eq "server API version" "1.50 linux" "$out"
  check "docker info" docker info
  out=$(docker info --format '{{.Driver}}')
  check_eq "info storage driver" "overlay2" "$out"

  "$REPO/scripts/make-busybox-image.sh" "$E2E_DIR/busybox.tar" busybox:latest >/dev/null
  out=$(docker load -i "$E2E_DIR/busybox.tar" 2>&1)
  check_contains "docker load" "Loaded image: busybox:latest" "$out"
  out=$(docker images --format '{{.Repository}}:{{.Tag}}')
  check_contains "images lists busybox" "busybox:latest" "$out"
  out=$(docker image inspect --format '{{json .Config.Cmd}} {{.Os}} {{len .RootFS.Layers}}' busybox)
  check_eq "image inspect" '["sh"] linux 1' "$out"
  # Loading the same archive again is idempotent.
  check "docker load twice" docker load -i "$E2E_DIR/busybox.tar"

  check "docker tag" docker tag busybox:latest example.com:5000/team/bb:v1
  out=$(docker images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')
  check_contains "tag with registry and port" "example.com:5000/team/bb:v1" "$out"
  out=$(docker image inspect --format '{{.Id}}' example.com:5000/team/bb:v1)
  check_eq "tag points at the same image" "$(docker image inspect --format '{{.Id}}' busybox)" "$out"
  out=$(docker rmi example.com:5000/team/bb:v1)
  check_contains "rmi untags" "Untagged: example.com:5000/team/bb:v1" "$out"
  check "busybox survives untagging another tag" docker image inspect busybox

  # import: a root filesystem tarball becomes a one-layer image.
  mkdir -p "$E2E_DIR/importroot/bin"
  cp /bin/busybox "$E2E_DIR/importroot/bin/busybox"
  ln -sf busybox "$E2E_DIR/importroot/bin/sh"
  ln -sf busybox "$E2E_DIR/importroot/bin/echo"
  tar -C "$E2E_DIR/importroot" -cf "$E2E_DIR/import.tar" bin
  out=$(docker import -c 'CMD ["echo","imported"]' -c 'ENV IMPORTED=yes' "$E2E_DIR/import.tar" imported:1)
  check_contains "docker import prints the ID" "sha256:" "$out"
  out=$(docker run --rm imported:1)
  check_eq "run an imported image with its CMD" "imported" "$out"
  out=$(docker run --rm imported:1 sh -c 'echo $IMPORTED')
  check_eq "imported ENV" "yes" "$out"
  out=$(cat "$E2E_DIR/import.tar" | docker import - imported:stdin)
  check_contains "docker import from stdin" "sha256:" "$out"
  check "rmi imported" docker rmi imported:1 imported:stdin

  out=$(docker image inspect nosuchimage 2>&1)
  check_contains "inspect unknown image" "No such image: nosuchimage" "$out"
  out=$(docker rmi nosuchimage:1 2>&1)
  check_contains "rmi unknown image" "No such image: nosuchimage:1" "$out"
  out=$(docker tag busybox 'Bad:Name' 2>&1)
  check_contains "tag refuses an invalid reference" "invalid reference format" "$out"
  out=$(docker run --rm nosuchimage:1 true 2>&1; echo "exit=$?")
  check_contains "run of an unknown image exits 125" "exit=125" "$out"
}

# oci_blob LAYOUT FILE: moves FILE into LAYOUT/blobs/sha256 under its digest
# and prints "sha256:<hex> <size>".
oci_blob() {
  local layout=$1 file=$2 hex size
  hex=$(sha256sum "$file" | cut -d' ' -f1)
  size=$(stat -c %s "$file")
  mkdir -p "$layout/blobs/sha256"
  mv "$file" "$layout/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

# make_oci_layout DIR REF: a hand-made OCI image layout of three layers, as
# other tools write them: busybox as a plain tar, a zstd layer (/zstd.txt) and
# a gzip layer (/gzip.txt); index.json names REF (a full reference).
make_oci_layout() {
  local layout=$1 ref=$2 work=$1.work d1 d2 d3 b1 b2 b3 cfg man
  mkdir -p "$work/l1/bin" "$work/l2" "$work/l3" "$layout"
  cp /bin/busybox "$work/l1/bin/busybox"
  ln -sf busybox "$work/l1/bin/sh"
  ln -sf busybox "$work/l1/bin/cat"
  echo "from a zstd layer" >"$work/l2/zstd.txt"
  echo "from a gzip layer" >"$work/l3/gzip.txt"
  tar --owner=0 --group=0 -C "$work/l1" -cf "$work/l1.tar" bin
  tar --owner=0 --group=0 -C "$work/l2" -cf "$work/l2.tar" zstd.txt
  tar --owner=0 --group=0 -C "$work/l3" -cf "$work/l3.tar" gzip.txt
  d1=sha256:$(sha256sum "$work/l1.tar" | cut -d' ' -f1)
  d2=sha256:$(sha256sum "$work/l2.tar" | cut -d' ' -f1)
  d3=sha256:$(sha256sum "$work/l3.tar" | cut -d' ' -f1)
  zstd -q "$work/l2.tar" -o "$work/l2.tar.zst"
  gzip -c "$work/l3.tar" >"$work/l3.tar.gz"
  read -r b1 s1 < <(oci_blob "$layout" "$work/l1.tar")
  read -r b2 s2 < <(oci_blob "$layout" "$work/l2.tar.zst")
  read -r b3 s3 < <(oci_blob "$layout" "$work/l3.tar.gz")
  printf '{"architecture":"amd64","os":"linux","created":"2024-02-02T00:00:00Z","config":{"Cmd":["cat","/zstd.txt","/gzip.txt"]},"rootfs":{"type":"layers","diff_ids":["%s","%s","%s"]}}' \
    "$d1" "$d2" "$d3" >"$work/config.json"
  read -r cfg cs < <(oci_blob "$layout" "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "$cfg" "$cs" "$b1" "$s1" "$b2" "$s2" "$b3" "$s3" >"$work/manifest.json"
  read -r man ms < <(oci_blob "$layout" "$work/manifest.json")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
    "$man" "$ms" "$ref" >"$layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  rm -rf "$work"
}

# Layers in plain tar, zstd and gzip through docker load and docker pull; OCI
# layouts written by skopeo and umoci load, and berth's docker save is read by
# them.
test_image_formats() {
  say "== image formats (zstd, plain tar, skopeo, umoci)"
  local dir=$E2E_DIR/formats out
  mkdir -p "$dir"
  make_oci_layout "$dir/layout" "example.com/formats:1"
  tar -C "$dir/layout" -cf "$dir/layout.tar" .
  out=$(docker load -i "$dir/layout.tar" 2>&1)
  check_contains "load an OCI layout with plain, zstd and gzip layers" \
    "Loaded image: example.com/formats:1" "$out"
  out=$(docker run --rm example.com/formats:1 2>&1)
  check_eq "the files of every layer are there" \
    "$(printf 'from a zstd layer\nfrom a gzip layer')" "$out"
  out=$(docker image inspect --format '{{len .RootFS.Layers}}' example.com/formats:1)
  check_eq "three layers" "3" "$out"
  # docker save writes each layer as the tar of its diff ID.
  check "save the zstd image" docker save -o "$dir/saved.tar" example.com/formats:1
  mkdir -p "$dir/saved" && tar -C "$dir/saved" -xf "$dir/saved.tar"
  out=$(cd "$dir/saved/blobs/sha256" && for f in *; do
    [ "$(sha256sum "$f" | cut -d' ' -f1)" == "$f" ] || echo "$f"
  done)
  check_eq "saved blobs hash to their names" "" "$out"

  if command -v skopeo >/dev/null; then
    out=$(skopeo inspect --raw "oci-archive:$dir/saved.tar" 2>&1 | jq -r '.layers | length')
    check_eq "skopeo reads berth's docker save as an OCI archive" "3" "$out"
    out=$(skopeo inspect --config "oci-archive:$dir/saved.tar" 2>&1 | jq -c '.config.Cmd')
    check_eq "skopeo sees the config" '["cat","/zstd.txt","/gzip.txt"]' "$out"
    docker save -o "$dir/bb.tar" busybox
    check "skopeo copies berth's save into an OCI layout" \
      skopeo copy -q "oci-archive:$dir/bb.tar" "oci:$dir/skopeo:bb"
    tar -C "$dir/skopeo" -cf "$dir/skopeo.tar" .
    out=$(docker load -i "$dir/skopeo.tar" 2>&1)
    check_contains "a layout written by skopeo loads" "Loaded image ID: sha256:" "$out"
    out=$(docker run --rm "${out##*Loaded image ID: }" echo skopeo-ok 2>&1)
    check_eq "run the image skopeo wrote" "skopeo-ok" "$out"
    # Through a registry: skopeo pushes the zstd layout, berth pulls it.
    registry_start formats
    check "skopeo pushes the zstd image" skopeo copy -q --dest-tls-verify=false \
      "oci:$dir/layout:example.com/formats:1" "docker://$REGISTRY/formats:zstd"
    out=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
      "http://$REGISTRY/v2/formats/manifests/zstd" | jq -r '.layers[1].mediaType')
    check_eq "the registry holds a zstd layer" "application/vnd.oci.image.layer.v1.tar+zstd" "$out"
    check "pull an image with zstd and plain tar layers" docker pull -q "$REGISTRY/formats:zstd"
    out=$(docker run --rm "$REGISTRY/formats:zstd" 2>&1)
    check_eq "run the pulled zstd image" "$(printf 'from a zstd layer\nfrom a gzip layer')" "$out"
    docker rmi "$REGISTRY/formats:zstd" >/dev/null
    registry_stop_all
  else
    fail "skopeo interoperability: skopeo is not installed (scripts/install-deps.sh installs it)"
  fi

  if command -v umoci >/dev/null; then
    mkdir -p "$dir/bbsave" && tar -C "$dir/bbsave" -xf "$dir/bb.tar"
    check "umoci unpacks berth's docker save" \
      umoci unpack --rootless --image "$dir/bbsave:latest" "$dir/bundle"
    check "the bundle has busybox" test -x "$dir/bundle/rootfs/bin/busybox"
    check "umoci makes a new image" sh -c "umoci init --layout '$dir/umoci' &&
      umoci new --image '$dir/umoci:u1' &&
      umoci unpack --rootless --image '$dir/umoci:u1' '$dir/ubundle' &&
      mkdir -p '$dir/ubundle/rootfs/bin' && cp /bin/busybox '$dir/ubundle/rootfs/bin/' &&
      ln -s busybox '$dir/ubundle/rootfs/bin/sh' && echo umoci > '$dir/ubundle/rootfs/made-by' &&
      umoci repack --image '$dir/umoci:u1' '$dir/ubundle' &&
      umoci config --image '$dir/umoci:u1' --config.cmd sh --config.cmd -c \
        --config.cmd 'cat /made-by'"
    tar -C "$dir/umoci" -cf "$dir/umoci.tar" .
    out=$(docker load -i "$dir/umoci.tar" 2>&1)
    check_contains "a layout written by umoci loads" "Loaded image ID: sha256:" "$out"
    out=$(docker run --rm "${out##*Loaded image ID: }" 2>&1)
    check_eq "run the image umoci wrote" "umoci" "$out"
  else
    fail "umoci interoperability: umoci is not installed (scripts/install-deps.sh installs it)"
  fi
  docker rmi example.com/formats:1 >/dev/null
  docker images -q --filter dangling=true | xargs -r docker rmi >/dev/null 2>&1
  rm -rf "$dir"
}

# image prune (dangling, -a, until, label), images before/since, rmi of a
# child with its untagged parents, rmi -f rules and containers' images.
test_image_prune() {
  say "== image prune, filters, rmi rules"
  local out id1 id2 id3 ida idb solo
  docker run --name prune-src busybox sh -c 'echo one > /one' >/dev/null
  id1=$(docker commit prune-src pr:1)
  id2=$(docker commit --change 'LABEL prune=yes' prune-src pr:1)
  sleep 1.1  # creation times are compared in seconds
  id3=$(docker commit prune-src pr:later)
  docker rm prune-src >/dev/null
  out=$(docker images -q --no-trunc --filter dangling=true)
  check_contains "the replaced image is dangling" "$id1" "$out"

  out=$(docker images --format '{{.Repository}}:{{.Tag}}' --filter since=pr:1)
  check_eq "images since=" "pr:later" "$out"
  out=$(docker images --format '{{.Repository}}:{{.Tag}}' --filter before=pr:later)
  check_contains "images before= lists older images" "pr:1" "$out"
  check_contains "images before= lists busybox" "busybox:latest" "$out"
  check_not_contains "images before= leaves out the image itself" "pr:later" "$out"
  out=$(docker images --format '{{.Repository}}:{{.Tag}}' --filter label=prune=yes)
  check_eq "images label=" "pr:1" "$out"
  out=$(docker images --format '{{.Repository}}:{{.Tag}}' --filter reference='pr:l*')
  check_eq "images reference=" "pr:later" "$out"
  out=$(docker images --filter since=nosuch:1 2>&1)
  check_contains "since= an unknown image" "No such image: nosuch:1" "$out"

  out=$(docker image prune -f 2>&1)
  check_contains "prune lists what it deleted" "deleted: $id1" "$out"
  check_contains "prune reports the space" "Total reclaimed space:" "$out"
  check_fails "the dangling image is gone" docker image inspect "$id1"
  check "tagged images stay" docker image inspect pr:1 pr:later busybox
  out=$(docker image prune -f 2>&1)
  check_eq "nothing left to prune" "Total reclaimed space: 0B" "$out"

  out=$(docker image prune -a -f --filter label=prune=yes --filter until=1h 2>&1)
  check_eq "until=1h spares new images" "Total reclaimed space: 0B" "$out"
  out=$(docker image prune -a -f --filter label=prune=yes 2>&1)
  check_contains "prune -a label= untags" "untagged: pr:1" "$out"
  check_contains "prune -a label= deletes" "deleted: $id2" "$out"
  check "prune -a label= leaves unlabelled images" docker image inspect pr:later busybox
  out=$(docker image prune -a -f --filter 'label!=nosuchlabel' --filter until=2000-01-01 2>&1)
  check_eq "until= a date before every image" "Total reclaimed space: 0B" "$out"
  out=$(api -X POST -o /dev/null -w '%{http_code}' \
    "http://d/v1.50/images/prune?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D")
  check_eq "prune refuses an unknown filter" "400" "$out"
  docker rmi pr:later >/dev/null

  # A chain of commits: the child's removal takes its untagged parent.
  docker run --name chain-a busybox sh -c 'echo a > /a' >/dev/null
  ida=$(docker commit chain-a)
  docker run --name chain-b "$ida" sh -c 'echo b > /b' >/dev/null
  idb=$(docker commit chain-b chain:2)
  docker rm chain-a chain-b >/dev/null
  out=$(docker rmi "$ida" 2>&1)
  check_contains "a parent cannot be removed" "image has dependent child images" "$out"
  out=$(docker rmi -f "$ida" 2>&1)
  check_contains "not even forced" "(cannot be forced)" "$out"
  out=$(docker rmi chain:2 2>&1)
  check_eq "rmi of the child: untagged, child, then parent" \
    "Untagged: chain:2 Deleted: $idb Deleted: $ida" \
    "$(echo "$out" | grep -E "^Untagged|Deleted: ($idb|$ida)" | tr '\n' ' ' | sed 's/ $//')"
  check_fails "the parent is gone" docker image inspect "$ida"
  check "busybox (tagged) stays" docker image inspect busybox
  docker run --name chain-c busybox sh -c 'echo c > /c' >/dev/null
  ida=$(docker commit chain-c)
  docker run --name chain-d "$ida" true >/dev/null
  idb=$(docker commit chain-d chain:3)
  docker rm chain-c chain-d >/dev/null
  out=$(docker rmi --no-prune chain:3 2>&1)
  check_not_contains "--no-prune keeps the parent" "$ida" "$out"
  check "the parent is still there" docker image inspect "$ida"
  docker rmi "$ida" >/dev/null

  # An image a container uses.
  docker run --name solo-src busybox sh -c 'echo s > /s' >/dev/null
  solo=$(docker commit solo-src solo:1)
  docker rm solo-src >/dev/null
  local user
  user=$(docker create --name solo-user solo:1 true)
  out=$(docker rmi solo:1 2>&1)
  check_contains "the last tag of a used image needs force" \
    "(must force) - container ${user:0:12} is using its referenced image ${solo:7:12}" "$out"
  out=$(docker rmi "$solo" 2>&1)
  check_contains "a used image by ID needs force" \
    "(must be forced) - image is being used by stopped container ${user:0:12}" "$out"
  user=$(docker run -d --name solo-running solo:1 sleep 60)
  out=$(docker rmi -f "$solo" 2>&1)
  check_contains "a running container's image cannot be forced away" \
    "(cannot be forced) - image is being used by running container ${user:0:12}" "$out"
  docker rm -f solo-running >/dev/null
  out=$(docker rmi -f solo:1 2>&1)
  check_eq "forced: only untagged" "Untagged: solo:1" "$out"
  check "the image stays for its container" docker image inspect "$solo"
  docker create --name bb-keeper busybox true >/dev/null
  out=$(docker image prune -f -a 2>&1)
  check_not_contains "prune -a spares a container's image" "$solo" "$out"
  check "prune -a spares images of stopped containers" docker image inspect busybox "$solo"
  docker rm solo-user bb-keeper >/dev/null
  docker tag "$solo" solo:1 && docker tag "$solo" solo:2
  out=$(docker rmi "$solo" 2>&1)
  check_contains "an ID with two tags needs force" "referenced in multiple repositories" "$out"
  out=$(docker rmi -f "$solo" 2>&1)
  check_contains "forced: both tags go" "Untagged: solo:2" "$out"
  check_contains "forced: the image goes" "Deleted: $solo" "$out"
}

# imaged killed by SIGKILL in the middle of a large docker load: after its
# restart no image, blob, ingest file or stored layer of the load is left.
test_image_gc() {
  say "== docker load killed mid-way"
  local dir=$E2E_DIR/gc out blobs_before layers_before pid i
  mkdir -p "$dir/root/data"
  for i in $(seq 1 6); do head -c 25000000 /dev/urandom >"$dir/root/data/f$i"; done
  tar -C "$dir/root" -cf "$dir/layer.tar" data
  local diff
  diff=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  mkdir -p "$dir/archive/l"
  mv "$dir/layer.tar" "$dir/archive/l/layer.tar"
  printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$diff" >"$dir/archive/config.json"
  echo '[{"Config":"config.json","RepoTags":["big:1"],"Layers":["l/layer.tar"]}]' \
    >"$dir/archive/manifest.json"
  tar -C "$dir/archive" -cf "$dir/big.tar" config.json l manifest.json
  rm -rf "$dir/root" "$dir/archive"
  blobs_before=$(ls "$ROOT/imaged/blobs/sha256" | sort | tr '\n' ' ')
  layers_before=$(ls "$ROOT/stored/l" | wc -l)
  local phase
  for phase in spooling applying; do
    pid=$(daemon_pid imaged)
    docker load -i "$dir/big.tar" >"$dir/load.out" 2>&1 &
    local loader=$!
    if [ "$phase" == spooling ]; then
      wait_for 30 sh -c "[ \$(du -sm '$ROOT/imaged/ingest' | cut -f1) -gt 40 ]"
    else
      # stored unpacks the layer into a staging directory of its own (the
      # layer's blob is committed only after that).
      wait_for 60 sh -c "ls '$ROOT/stored/tmp' | grep -q '^a-'"
    fi
    kill -9 "$pid"
    if wait "$loader"; then
      fail "the load fails when imaged is killed while $phase" "$(cat "$dir/load.out")"
    else
      pass "the load fails when imaged is killed while $phase"
    fi
    wait_for 20 sh -c "p=\$(pgrep -P $SUPERVISOR_PID -f 'berth-imaged '); [ -n \"\$p\" ] && [ \"\$p\" != $pid ]"
    wait_for 20 docker images
    check_fails "no half image after a kill while $phase" docker image inspect big:1
    check_eq "no blob left after a kill while $phase" "$blobs_before" \
      "$(ls "$ROOT/imaged/blobs/sha256" | sort | tr '\n' ' ')"
    check_eq "no ingest file left after a kill while $phase" "" "$(ls "$ROOT/imaged/ingest")"
    check_eq "no stored layer left after a kill while $phase" "$layers_before" \
      "$(ls "$ROOT/stored/l" | wc -l)"
  done
  out=$(docker load -i "$dir/big.tar" 2>&1)
  check_contains "the same load then succeeds" "Loaded image: big:1" "$out"
  check "rmi big" docker rmi big:1
  check_eq "rmi leaves no stored layer" "$layers_before" "$(ls "$ROOT/stored/l" | wc -l)"
  rm -rf "$dir"
}

# evil_image ARCHIVE TAG KIND: a docker-archive whose second layer (on a
# busybox layer) attacks the host with KIND.
evil_image() {
  python3 - "$@" "$E2E_DIR/evil-outside" <<'PY'
import hashlib, io, json, sys, tarfile
archive, tag, kind, outside = sys.argv[1:5]

def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, typ, extra in entries:
            info = tarfile.TarInfo(name)
            info.type = typ
            data = b""
            if typ == tarfile.REGTYPE:
                data = extra.encode()
                info.size = len(data)
            elif typ in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = extra
            elif typ in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                info.devmajor, info.devminor = extra
                info.mode = 0o666
            if typ == tarfile.DIRTYPE:
                info.mode = 0o755
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()

R, S, H, D = tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE
attacks = {
    "traversal": [("../../../../../../" + outside.lstrip("/") + "/traversal", R, "x")],
    "absolute-symlink": [("abs", S, outside), ("abs/through-absolute", R, "x")],
    "escaping-symlink": [("up", S, "../../../../../../../../" + outside.lstrip("/")),
                         ("up/through-relative", R, "x")],
    "hardlink-outside": [("passwd", H, "../../../../../../../../etc/passwd")],
    "hardlink-absolute": [("shadow", H, "/etc/shadow")],
    "symlink-then-hardlink": [("link", S, "/etc"), ("h", H, "link/passwd")],
    "devices": [("evil-block", tarfile.BLKTYPE, (8, 0)), ("evil-mem", tarfile.CHRTYPE, (1, 1))],
    "absolute-symlink-ok": [("hosts-link", S, "/etc/hosts-in-image"),
                            ("etc", D, ""), ("etc/hosts-in-image", R, "inside\n")],
}
top = layer(attacks[kind])
busybox = open("/bin/busybox", "rb").read()
bb = io.BytesIO()
with tarfile.open(fileobj=bb, mode="w") as tar:
    info = tarfile.TarInfo("bin/busybox"); info.size = len(busybox); info.mode = 0o755
    tar.addfile(info, io.BytesIO(busybox))
    for applet in ("sh", "cat", "head", "readlink"):
        info = tarfile.TarInfo("bin/" + applet); info.type = tarfile.SYMTYPE
        info.linkname = "busybox"; tar.addfile(info)
bottom = bb.getvalue()
diffs = ["sha256:" + hashlib.sha256(l).hexdigest() for l in (bottom, top)]
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                     "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
with tarfile.open(archive, "w") as out:
    def add(name, data):
        info = tarfile.TarInfo(name); info.size = len(data); out.addfile(info, io.BytesIO(data))
    add("l0/layer.tar", bottom)
    add("l1/layer.tar", top)
    add("config.json", config)
    add("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": [tag],
                                      "Layers": ["l0/layer.tar", "l1/layer.tar"]}]).encode())
PY
}

# Layer extraction is safe: each attack is refused (or, for device nodes,
# made harmless by the container's device rules) and nothing is written
# outside the layer.
test_image_safety() {
  say "== layer extraction safety"
  local dir=$E2E_DIR/evil kind out
  mkdir -p "$dir" "$E2E_DIR/evil-outside"
  local shadow_before
  shadow_before=$(stat -c '%h %i' /etc/passwd /etc/shadow)
  for kind in traversal absolute-symlink escaping-symlink hardlink-outside hardlink-absolute \
    symlink-then-hardlink; do
    evil_image "$dir/$kind.tar" "evil:$kind" "$kind"
    out=$(docker load -i "$dir/$kind.tar" 2>&1)
    check_contains "the $kind layer is refused" "applying layer" "$out"
    check_fails "no image after the $kind layer" docker image inspect "evil:$kind"
  done
  check_eq "nothing was written outside the layers" "" "$(ls -A "$E2E_DIR/evil-outside")"
  check_eq "host files were not linked" "$shadow_before" "$(stat -c '%h %i' /etc/passwd /etc/shadow)"

  evil_image "$dir/ok.tar" "evil:absolute-symlink-ok" absolute-symlink-ok
  check "an absolute symlink alone is an ordinary file of the image" \
    docker load -i "$dir/ok.tar"
  out=$(docker run --rm evil:absolute-symlink-ok cat /hosts-link 2>&1)
  check_eq "it resolves inside the container's root" "inside" "$out"

  evil_image "$dir/devices.tar" "evil:devices" devices
  check "device nodes in a layer load (as with Docker as root)" docker load -i "$dir/devices.tar"
  out=$(docker run --rm evil:devices sh -c 'head -c 1 /evil-block; echo " rc=$?"' 2>&1)
  check_contains "a block device from the image cannot be opened" "Operation not permitted" "$out"
  out=$(docker run --rm evil:devices sh -c 'head -c 1 /evil-mem; echo " rc=$?"' 2>&1)
  check_contains "a /dev/mem node from the image cannot be opened" "Operation not permitted" "$out"
  docker rmi evil:absolute-symlink-ok evil:devices >/dev/null
  rm -rf "$dir" "$E2E_DIR/evil-outside"
}
