# docker save: round trips through berth, several names in one archive, the
# error for an unknown name, and interoperability with a reference dockerd
# (Debian's docker.io) both ways.
# shellcheck shell=bash

# ref_engine_start DIR: a private reference dockerd (own root, exec root and
# socket, no networking changes), as bench/run-bench.sh starts it.
ref_engine_start() {
  local dir=$1
  REF_HOST=unix://$dir/docker.sock
  dockerd --data-root "$dir/root" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
    -H "$REF_HOST" --bridge=none --iptables=false --ip-masq=false \
    --containerd-namespace=berth-e2e-save --containerd-plugins-namespace=berth-e2e-save-p \
    --log-level=error >"$dir/dockerd.log" 2>&1 &
  REF_PID=$!
  wait_for 60 env DOCKER_HOST="$REF_HOST" docker version
}

ref_engine_stop() {
  local dir=$1
  if [ -n "${REF_PID:-}" ]; then
    DOCKER_HOST=$REF_HOST docker ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="$REF_HOST" \
      docker rm -f >/dev/null 2>&1
    kill -TERM "$REF_PID" 2>/dev/null
    wait "$REF_PID" 2>/dev/null
    REF_PID=
  fi
  local m
  for m in $(grep -F "$dir" /proc/self/mountinfo | awk '{print $5}' | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  rm -rf "$dir"
}

# Image names (RepoTags) in an archive's manifest.json, sorted, space-separated.
archive_repo_tags() {
  tar -xOf "$1" manifest.json | jq -r '[.[].RepoTags // [] | .[]] | sort | join(" ")'
}

test_save() {
  say "== save"
  local out id dir=$E2E_DIR/save
  mkdir -p "$dir"
  id=$(docker image inspect --format '{{.Id}}' busybox)

  check "docker save busybox -o" docker save busybox -o "$dir/bb.tar"
  out=$(tar -tf "$dir/bb.tar" | sort | tr '\n' ' ')
  check_contains "archive has manifest.json" "manifest.json" "$out"
  check_contains "archive has index.json" "index.json" "$out"
  check_contains "archive has oci-layout" "oci-layout" "$out"
  check_contains "archive has repositories" "repositories" "$out"
  check_contains "config is a blob named by the ID" "blobs/sha256/${id#sha256:}" "$out"
  check_eq "manifest.json names the tag" "busybox:latest" "$(archive_repo_tags "$dir/bb.tar")"
  out=$(tar -xOf "$dir/bb.tar" index.json |
    jq -r '.manifests[0].annotations["io.containerd.image.name"]')
  check_eq "index.json names the image" "docker.io/library/busybox:latest" "$out"
  # Every blob hashes to its name.
  mkdir -p "$dir/x" && tar -C "$dir/x" -xf "$dir/bb.tar"
  out=$(cd "$dir/x/blobs/sha256" && for f in *; do
    [ "$(sha256sum "$f" | cut -d' ' -f1)" == "$f" ] || echo "$f"
  done)
  check_eq "blobs match their digests" "" "$out"
  out=$(docker save busybox | tar -t 2>&1 | grep -c '^blobs/sha256/.')
  check_eq "docker save to stdout" "$(ls "$dir/x/blobs/sha256" | wc -l)" "$out"

  check "rmi busybox" docker rmi busybox
  check_fails "busybox is gone" docker image inspect busybox
  out=$(docker load -i "$dir/bb.tar" 2>&1)
  check_contains "load what berth saved" "Loaded image: busybox:latest" "$out"
  check_eq "same image ID after the round trip" "$id" \
    "$(docker image inspect --format '{{.Id}}' busybox)"
  out=$(docker run --rm busybox echo ok 2>&1)
  check_eq "run the reloaded image" "ok" "$out"

  # Two tags in one archive, also by the single-image endpoint's sibling.
  docker tag busybox savetest:a && docker tag busybox savetest:b
  check "save two tags" docker save -o "$dir/two.tar" savetest:a savetest:b
  check_eq "both tags in manifest.json" "savetest:a savetest:b" "$(archive_repo_tags "$dir/two.tar")"
  out=$(tar -xOf "$dir/two.tar" index.json | jq -r '.manifests | length')
  check_eq "one index.json entry per tag" "2" "$out"
  check "rmi both tags" docker rmi savetest:a savetest:b
  out=$(docker load -i "$dir/two.tar" 2>&1)
  check_contains "load brings back tag a" "Loaded image: savetest:a" "$out"
  check_contains "load brings back tag b" "Loaded image: savetest:b" "$out"
  check "save by repository name takes every tag" docker save -o "$dir/repo.tar" savetest
  check_eq "repository save lists both tags" "savetest:a savetest:b" \
    "$(archive_repo_tags "$dir/repo.tar")"
  docker rmi savetest:a savetest:b >/dev/null 2>&1

  out=$(docker save -o "$dir/none.tar" busybox nosuchimage:1 2>&1; echo "exit=$?")
  check_contains "save of an unknown image names it" "No such image: nosuchimage:1" "$out"
  check_contains "save of an unknown image fails" "exit=1" "$out"
  check_fails "no archive for a failed save" test -s "$dir/none.tar"
  out=$(api -o /dev/null -w '%{http_code}' "http://d/v1.50/images/nosuchimage/get")
  check_eq "single-image save of an unknown image is a 404" "404" "$out"

  if ! command -v dockerd >/dev/null; then
    say "  skip interoperability with a reference dockerd (dockerd is not installed)"
    return 0
  fi
  local ref
  ref=$(mktemp -d /tmp/bref.XXXXXX)
  if ! ref_engine_start "$ref"; then
    fail "reference dockerd starts" "$(tail -5 "$ref/dockerd.log")"
    ref_engine_stop "$ref"
    return 0
  fi
  out=$(DOCKER_HOST=$REF_HOST docker load -i "$dir/bb.tar" 2>&1)
  check_contains "reference dockerd loads berth's archive" "Loaded image: busybox:latest" "$out"
  check_eq "reference keeps the image ID" "$id" \
    "$(DOCKER_HOST=$REF_HOST docker image inspect --format '{{.Id}}' busybox 2>&1)"
  out=$(DOCKER_HOST=$REF_HOST docker run --rm --network none busybox echo ok 2>&1)
  check_eq "reference runs berth's image" "ok" "$out"

  DOCKER_HOST=$REF_HOST docker tag busybox refsaved:1
  check "reference docker save" env DOCKER_HOST="$REF_HOST" docker save -o "$dir/ref.tar" refsaved:1
  ref_engine_stop "$ref"
  check "rmi busybox before loading the reference's archive" docker rmi busybox
  out=$(docker load -i "$dir/ref.tar" 2>&1)
  check_contains "berth loads the reference's archive" "Loaded image: refsaved:1" "$out"
  out=$(docker run --rm refsaved:1 echo ok 2>&1)
  check_eq "berth runs the reference's image" "ok" "$out"
  check "restore busybox" docker tag refsaved:1 busybox:latest
  check "rmi refsaved" docker rmi refsaved:1
}
