# Registries: push, pull by tag and digest, login, against Debian's
# docker-registry (the distribution registry) run as a child on 127.0.0.1.
# shellcheck shell=bash

REGISTRY_PIDS=()

# registry_start NAME [htpasswd-file] [tls-dir] [token-realm]: starts a
# registry, sets REGISTRY to host:port. tls-dir holds server.crt and
# server.key; with a token realm the registry trusts tokens signed with
# $E2E_DIR/token/token.crt.
registry_start() {
  local name=$1 htpasswd=${2:-} tls=${3:-} realm=${4:-} port dir scheme=http
  dir=$E2E_DIR/registry-$name
  mkdir -p "$dir/data"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  {
    printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$dir/data"
    printf '  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n  secret: berth-e2e\n' "$port"
    if [ -n "$tls" ]; then
      printf '  tls:\n    certificate: %s\n    key: %s\n' "$tls/server.crt" "$tls/server.key"
      scheme=https
    fi
    if [ -n "$htpasswd" ]; then
      printf 'auth:\n  htpasswd:\n    realm: berth-e2e\n    path: %s\n' "$htpasswd"
    fi
    if [ -n "$realm" ]; then
      printf 'auth:\n  token:\n    realm: %s\n    service: berth-e2e-registry\n' "$realm"
      printf '    issuer: berth-e2e-issuer\n    rootcertbundle: %s\n' "$E2E_DIR/token/token.crt"
    fi
  } >"$dir/config.yml"
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  REGISTRY_PIDS+=($!)
  REGISTRY=127.0.0.1:$port
  wait_for 10 curl -sk -o /dev/null "$scheme://$REGISTRY/v2/" || say "registry $name did not start"
}

# A CA and a certificate for 127.0.0.1 signed by it, in DIR.
make_test_ca() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 1 \
    -subj /CN=berth-e2e-ca 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
    -subj /CN=127.0.0.1 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' >"$dir/ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -out "$dir/server.crt" -days 1 -extfile "$dir/ext" 2>/dev/null
}

# Starts the token service; sets TOKEN_REALM.
token_server_start() {
  local dir=$E2E_DIR/token
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/token.key" -out "$dir/token.crt" \
    -days 1 -subj /CN=berth-e2e-token 2>/dev/null
  python3 "$REPO/tests/e2e/token_server.py" "$dir/port" "$dir/token.key" "$dir/token.crt" \
    berth-e2e-issuer >"$dir/log" 2>&1 &
  REGISTRY_PIDS+=($!)
  wait_for 10 test -s "$dir/port"
  TOKEN_REALM=http://127.0.0.1:$(cat "$dir/port")/token
}

registry_stop_all() {
  local pid
  for pid in "${REGISTRY_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  check_eq "no registry process left" "" "$(pgrep -f "docker-registry serve $E2E_DIR" || true)"
  check_eq "no token server left" "" "$(pgrep -f "token_server.py $E2E_DIR" || true)"
  REGISTRY_PIDS=()
}

# An image of the test's own (busybox plus a file unique to this run), so that
# nothing else in the engine shares its ID or its layer: removing it really
# removes it, and pulling it really downloads it. Sets REGTEST_ID.
make_regtest_image() {
  local root=$E2E_DIR/regroot
  mkdir -p "$root/bin"
  cp /bin/busybox "$root/bin/busybox"
  ln -sf busybox "$root/bin/sh"
  ln -sf busybox "$root/bin/echo"
  printf 'berth e2e %s %s\n' "$$" "$RANDOM" >"$root/unique"
  tar -C "$root" -cf "$E2E_DIR/regtest.tar" bin unique
  rm -rf "$root"
  docker import -c 'CMD ["sh"]' "$E2E_DIR/regtest.tar" regtest:latest >/dev/null
  REGTEST_ID=$(docker image inspect --format '{{.Id}}' regtest:latest)
}

# local_copy NAME: NAME is the test image (pulled from the open registry) and
# its only tag.
local_copy() {
  docker pull "$REGISTRY_OPEN/e2e/busybox:v1" >/dev/null
  docker tag "$REGISTRY_OPEN/e2e/busybox:v1" "$1"
  docker rmi "$REGISTRY_OPEN/e2e/busybox:v1" >/dev/null
}

# Pushes and pulls between berth and a reference dockerd (Debian's docker.io,
# when installed) through the registry at $1; $2 is the test image's ID.
registry_interop() {
  local reg=$1 id=$2 dir out pid host
  if ! command -v dockerd >/dev/null; then
    say "  skip registry interoperability with a reference dockerd (not installed)"
    return 0
  fi
  dir=$(mktemp -d /tmp/breg.XXXXXX)
  host=unix://$dir/docker.sock
  dockerd --data-root "$dir/root" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
    -H "$host" --bridge=none --iptables=false --ip-masq=false \
    --containerd-namespace="berth-e2e-reg-$$" --containerd-plugins-namespace="berth-e2e-reg-p-$$" \
    --log-level=error >"$dir/dockerd.log" 2>&1 &
  pid=$!
  if wait_for 60 env DOCKER_HOST="$host" docker version; then
    local_copy "$reg/interop/bb:berth"
    docker push "$reg/interop/bb:berth" >/dev/null 2>&1
    out=$(DOCKER_HOST=$host docker pull "$reg/interop/bb:berth" 2>&1)
    check_contains "reference dockerd pulls what berth pushed" "Downloaded newer image" "$out"
    check_eq "reference keeps the image ID" "$id" \
      "$(DOCKER_HOST=$host docker image inspect --format '{{.Id}}' "$reg/interop/bb:berth" 2>&1)"
    out=$(DOCKER_HOST=$host docker run --rm --network none "$reg/interop/bb:berth" echo ok 2>&1)
    check_eq "reference runs it" "ok" "$out"
    DOCKER_HOST=$host docker tag "$reg/interop/bb:berth" "$reg/interop/bb:ref"
    DOCKER_HOST=$host docker push "$reg/interop/bb:ref" >/dev/null 2>&1
    docker rmi "$reg/interop/bb:berth" >/dev/null
    out=$(docker pull "$reg/interop/bb:ref" 2>&1)
    check_contains "berth pulls what the reference pushed (gzip layers)" \
      "Downloaded newer image" "$out"
    out=$(docker run --rm "$reg/interop/bb:ref" echo ok 2>&1)
    check_eq "berth runs it" "ok" "$out"
    docker rmi "$reg/interop/bb:ref" >/dev/null
    DOCKER_HOST=$host docker ps -aq | xargs -r env DOCKER_HOST="$host" docker rm -f >/dev/null 2>&1
  else
    fail "reference dockerd starts" "$(tail -5 "$dir/dockerd.log")"
  fi
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  local m
  for m in $(grep -F "$dir" /proc/self/mountinfo | awk '{print $5}' | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  rm -rf "$dir"
}

test_registry() {
  say "== registry"
  local out id digest reg
  make_regtest_image
  id=$REGTEST_ID

  registry_start open
  reg=$REGISTRY
  REGISTRY_OPEN=$REGISTRY
  docker tag regtest:latest "$reg/e2e/busybox:v1"
  out=$(docker push "$reg/e2e/busybox:v1" 2>&1)
  check_contains "push names the repository" "The push refers to repository [$reg/e2e/busybox]" "$out"
  check_contains "push uploads the layer" "Pushed" "$out"
  check_contains "push prints the digest" "v1: digest: sha256:" "$out"
  digest=$(printf '%s\n' "$out" | sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p')
  out=$(curl -s "http://$reg/v2/e2e/busybox/tags/list")
  check_contains "the registry has the tag" '"v1"' "$out"
  out=$(docker push "$reg/e2e/busybox:v1" 2>&1)
  check_contains "a second push skips what the registry has" "Layer already exists" "$out"
  out=$(api "http://localhost/v1.50/distribution/$reg/e2e/busybox:v1/json")
  check_contains "distribution inspect: the manifest" "\"digest\":\"$digest\"" "$out"
  check_contains "distribution inspect: the platform" '"architecture":"amd64","os":"linux"' "$out"
  docker tag regtest:latest "$reg/e2e/other:v1"
  out=$(docker push "$reg/e2e/other:v1" 2>&1)
  check_contains "push to another repository mounts the blob" "Mounted from e2e/busybox" "$out"
  out=$(docker push "$reg/e2e/nothere:v1" 2>&1; echo "exit=$?")
  check_contains "push of an unknown image fails" "An image does not exist locally with the tag" "$out"
  check_contains "push of an unknown image exits 1" "exit=1" "$out"

  # Nothing of the image stays, so the pull really downloads.
  docker rmi "$reg/e2e/busybox:v1" "$reg/e2e/other:v1" regtest:latest >/dev/null
  check_fails "the image is gone" docker image inspect "$id"
  out=$(docker pull "$reg/e2e/busybox:v1" 2>&1)
  check_contains "pull names the repository" "v1: Pulling from e2e/busybox" "$out"
  check_contains "pull completes the layer" "Pull complete" "$out"
  check_contains "pull prints the digest" "Digest: $digest" "$out"
  check_contains "pull prints the status" "Status: Downloaded newer image for $reg/e2e/busybox:v1" "$out"
  out=$(docker image inspect --format '{{.Id}}' "$reg/e2e/busybox:v1")
  check_eq "the pulled image has the pushed ID" "$id" "$out"
  out=$(docker image inspect --format '{{json .RepoDigests}}' "$reg/e2e/busybox:v1")
  check_eq "RepoDigests" "[\"$reg/e2e/busybox@$digest\"]" "$out"
  out=$(docker run --rm "$reg/e2e/busybox:v1" echo pulled)
  check_eq "run the pulled image" "pulled" "$out"
  out=$(docker pull "$reg/e2e/busybox:v1" 2>&1)
  check_contains "a second pull is up to date" "Status: Image is up to date for $reg/e2e/busybox:v1" "$out"
  check_not_contains "a second pull downloads nothing" "Pull complete" "$out"

  docker rmi "$reg/e2e/busybox:v1" >/dev/null
  out=$(docker run --rm "$reg/e2e/busybox:v1" echo autopulled 2>&1)
  check_contains "run pulls a missing image" "Unable to find image '$reg/e2e/busybox:v1' locally" "$out"
  check_contains "and runs it" "autopulled" "$out"
  out=$(docker pull --platform linux/s390x "$reg/e2e/busybox:v1" 2>&1; echo "exit=$?")
  check_contains "pull for another platform is refused" "does not match the specified platform" "$out"
  docker rmi "$reg/e2e/busybox:v1" >/dev/null
  out=$(docker pull "$reg/e2e/busybox@$digest" 2>&1)
  check_contains "pull by digest" "Digest: $digest" "$out"
  out=$(docker run --rm "$reg/e2e/busybox@$digest" echo bydigest)
  check_eq "run by digest" "bydigest" "$out"
  out=$(docker images --digests --format '{{.Repository}} {{.Digest}}')
  check_contains "images --digests" "$reg/e2e/busybox $digest" "$out"
  out=$(docker rmi "$reg/e2e/busybox@$digest" 2>&1)
  check_contains "rmi by digest" "Untagged: $reg/e2e/busybox@$digest" "$out"

  out=$(docker pull "$reg/e2e/busybox:nope" 2>&1; echo "exit=$?")
  check_contains "pull of a missing tag says so" \
    "manifest for $reg/e2e/busybox:nope not found: manifest unknown" "$out"
  check_contains "pull of a missing tag exits 1" "exit=1" "$out"
  out=$(docker pull "$reg/e2e/nosuchrepo" 2>&1; echo "exit=$?")
  check_contains "pull of a missing repository fails" "exit=1" "$out"
  out=$(docker pull "127.0.0.1:1/e2e/busybox:v1" 2>&1; echo "exit=$?")
  check_contains "pull from a registry that is down fails" "exit=1" "$out"
  check_contains "and says why" "127.0.0.1:1" "$out"
  out=$(docker images --format '{{.Repository}}' | grep -c "$reg" || true)
  check_eq "failed pulls leave no image" "0" "$out"

  # imaged killed in the middle of a pull: after its restart no image, no
  # blob and no ingest file of that pull is left.
  mkdir -p "$E2E_DIR/bigroot"
  head -c 400000000 /dev/zero >"$E2E_DIR/bigroot/big"
  tar -C "$E2E_DIR/bigroot" -cf "$E2E_DIR/big.tar" big
  rm -rf "$E2E_DIR/bigroot"
  docker import "$E2E_DIR/big.tar" "$reg/e2e/big:v1" >/dev/null
  rm -f "$E2E_DIR/big.tar"
  docker push "$reg/e2e/big:v1" >/dev/null
  docker rmi "$reg/e2e/big:v1" >/dev/null
  local blobs_before imaged_before
  blobs_before=$(ls "$ROOT/imaged/blobs/sha256" | sort | tr '\n' ' ')
  imaged_before=$(daemon_pid imaged)
  docker pull "$reg/e2e/big:v1" >"$E2E_DIR/pull.out" 2>&1 &
  local puller=$!
  wait_for 10 grep -q "Downloading\|Pulling fs layer" "$E2E_DIR/pull.out"
  kill -9 "$imaged_before"
  wait "$puller"
  check "the interrupted pull fails" test $? -ne 0
  check_not_contains "imaged died while downloading" "Pull complete" "$(cat "$E2E_DIR/pull.out")"
  wait_for 15 sh -c "[ -n \"\$(pgrep -P $SUPERVISOR_PID -f 'berth-imaged ')\" ] && [ \"\$(pgrep -P $SUPERVISOR_PID -f 'berth-imaged ')\" != $imaged_before ]"
  wait_for 15 docker images
  check_fails "no image after an interrupted pull" docker image inspect "$reg/e2e/big:v1"
  check_eq "no blob after an interrupted pull" "$blobs_before" \
    "$(ls "$ROOT/imaged/blobs/sha256" | sort | tr '\n' ' ')"
  check_eq "no ingest file after an interrupted pull" "" "$(ls -A "$ROOT/imaged/ingest")"
  out=$(docker pull "$reg/e2e/big:v1" 2>&1)
  check_contains "the pull works after the restart" "Status: Downloaded newer image" "$out"
  docker rmi "$reg/e2e/big:v1" >/dev/null

  registry_interop "$reg" "$id"

  # Basic auth with htpasswd.
  htpasswd -Bbc "$E2E_DIR/htpasswd" berthuser berthpass >/dev/null 2>&1
  registry_start auth "$E2E_DIR/htpasswd"
  reg=$REGISTRY
  out=$(docker login -u berthuser -p wrong "$reg" 2>&1; echo "exit=$?")
  check_contains "login with a bad password is refused" "401 Unauthorized" "$out"
  check_contains "and exits 1" "exit=1" "$out"
  local_copy "$reg/private/busybox:v1"
  out=$(docker push "$reg/private/busybox:v1" 2>&1; echo "exit=$?")
  check_contains "push without credentials is refused" "exit=1" "$out"
  check_contains "with Docker's reason" "no basic auth credentials" "$out"
  out=$(docker login -u berthuser -p berthpass "$reg" 2>&1)
  check_contains "docker login" "Login Succeeded" "$out"
  out=$(docker push "$reg/private/busybox:v1" 2>&1)
  check_contains "push with credentials" "v1: digest: sha256:" "$out"
  docker rmi "$reg/private/busybox:v1" >/dev/null
  out=$(docker pull "$reg/private/busybox:v1" 2>&1)
  check_contains "pull with credentials" "Status: Downloaded newer image" "$out"
  docker logout "$reg" >/dev/null 2>&1
  docker rmi "$reg/private/busybox:v1" >/dev/null
  out=$(docker pull "$reg/private/busybox:v1" 2>&1; echo "exit=$?")
  check_contains "pull without credentials is refused" "exit=1" "$out"

  # TLS with a CA of the test's own, trusted through certs.d/<host:port>/ca.crt.
  make_test_ca "$E2E_DIR/tls"
  registry_start tls "" "$E2E_DIR/tls"
  reg=$REGISTRY
  local_copy "$reg/secure/busybox:v1"
  out=$(docker push "$reg/secure/busybox:v1" 2>&1; echo "exit=$?")
  check_contains "push to a TLS registry without its CA fails" "exit=1" "$out"
  mkdir -p "$E2E_DIR/certs.d/$reg"
  cp "$E2E_DIR/tls/ca.crt" "$E2E_DIR/certs.d/$reg/ca.crt"
  chmod -R a+rX "$E2E_DIR/certs.d"
  out=$(docker push "$reg/secure/busybox:v1" 2>&1)
  check_contains "push over TLS with certs.d" "v1: digest: sha256:" "$out"
  docker rmi "$reg/secure/busybox:v1" >/dev/null
  out=$(docker pull "$reg/secure/busybox:v1" 2>&1)
  check_contains "pull over TLS with certs.d" "Status: Downloaded newer image" "$out"
  out=$(docker image inspect --format '{{.Id}}' "$reg/secure/busybox:v1")
  check_eq "the image pulled over TLS" "$id" "$out"
  docker rmi "$reg/secure/busybox:v1" >/dev/null

  # Bearer tokens: the registry sends clients to a token service.
  token_server_start
  registry_start token "" "" "$TOKEN_REALM"
  reg=$REGISTRY
  local_copy "$reg/tok/busybox:v1"
  out=$(docker push "$reg/tok/busybox:v1" 2>&1; echo "exit=$?")
  check_contains "push with an anonymous token is refused" "exit=1" "$out"
  out=$(docker login -u berthuser -p wrong "$reg" 2>&1; echo "exit=$?")
  check_contains "token login with a bad password is refused" "exit=1" "$out"
  out=$(docker login -u berthuser -p berthpass "$reg" 2>&1)
  check_contains "token login" "Login Succeeded" "$out"
  out=$(docker push "$reg/tok/busybox:v1" 2>&1)
  check_contains "push with a bearer token" "v1: digest: sha256:" "$out"
  docker rmi "$reg/tok/busybox:v1" >/dev/null
  out=$(docker pull "$reg/tok/busybox:v1" 2>&1)
  check_contains "pull with a bearer token" "Status: Downloaded newer image" "$out"
  docker logout "$reg" >/dev/null 2>&1
  docker rmi "$reg/tok/busybox:v1" >/dev/null

  registry_stop_all
}
