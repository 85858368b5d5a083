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
