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
  rm -f "$dir/port" "$dir/port.requests"
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

# proxy_start UPSTREAM: a faulty proxy (tests/e2e/faulty_proxy.py) in front of
# a registry. Sets PROXY (host:port), PROXY_RULES and PROXY_LOG.
proxy_start() {
  local dir=$E2E_DIR/proxy
  mkdir -p "$dir"
  rm -f "$dir/port"
  PROXY_RULES=$dir/rules.json
  PROXY_LOG=$dir/log
  echo '[]' >"$PROXY_RULES"
  : >"$PROXY_LOG"
  python3 "$REPO/tests/e2e/faulty_proxy.py" "$dir/port" "$1" "$PROXY_RULES" "$PROXY_LOG" \
    >"$dir/out" 2>&1 &
  REGISTRY_PIDS+=($!)
  wait_for 10 test -s "$dir/port"
  PROXY=127.0.0.1:$(cat "$dir/port")
}

# proxy_faults JSON: the rules from now on, and a fresh request log.
proxy_faults() {
  printf '%s\n' "$1" >"$PROXY_RULES.tmp"
  mv "$PROXY_RULES.tmp" "$PROXY_RULES"
  : >"$PROXY_LOG"
}

# proxy_gets DIGEST: the logged GETs of that blob, one line each.
proxy_gets() {
  grep "^GET /v2/.*/blobs/$1 " "$PROXY_LOG" || true
}

# proxy_overlap REGEX: how many of the logged requests matching REGEX were
# in flight at once, at most.
proxy_overlap() {
  grep -E "$1" "$PROXY_LOG" | python3 -c '
import re, sys
events = []
for line in sys.stdin:
    m = re.search(r" t=([0-9.]+)-([0-9.]+)", line)
    if m:
        events += [(float(m.group(1)), 1), (float(m.group(2)), -1)]
most = now = 0
for _, step in sorted(events, key=lambda e: (e[0], e[1])):
    now += step
    most = max(most, now)
print(most)'
}

# make_layered_image NAME: loads a two-layer image (busybox; 24 MB of random
# bytes, so that it can be caught mid-transfer) made for this run.
make_layered_image() {
  python3 - "$E2E_DIR/layered.tar" "$1" <<'PY'
import hashlib, io, json, os, sys, tarfile
out, name = sys.argv[1:3]
def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data, link in entries:
            info = tarfile.TarInfo(path)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
            else:
                info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()
busybox = open("/bin/busybox", "rb").read()
layers = [layer([("bin/busybox", busybox, None), ("bin/sh", None, "busybox"),
                 ("bin/cat", None, "busybox"), ("bin/echo", None, "busybox")]),
          layer([("data/random", os.urandom(24 << 20), None),
                 ("data/run-id", str(os.getpid()).encode(), None)])]
diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "config": {"Cmd": ["sh"]},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids},
                     "history": [{"created_by": "e2e"}, {"created_by": "e2e"}]}).encode()
config_name = hashlib.sha256(config).hexdigest() + ".json"
with tarfile.open(out, "w") as tar:
    def add(path, data):
        info = tarfile.TarInfo(path); info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    names = []
    for i, l in enumerate(layers):
        names.append(f"l{i}/layer.tar"); add(names[-1], l)
    add(config_name, config)
    add("manifest.json", json.dumps([{"Config": config_name, "RepoTags": [name],
                                      "Layers": names}]).encode())
PY
  docker load -i "$E2E_DIR/layered.tar" >/dev/null
  rm -f "$E2E_DIR/layered.tar"
}

# restart_imaged: SIGKILLs imaged; the supervisor starts a new one.
restart_imaged() {
  local before
  before=$(daemon_pid imaged)
  kill -9 "$before"
  wait_for 15 sh -c "p=\$(pgrep -P $SUPERVISOR_PID -f 'berth-imaged '); [ -n \"\$p\" ] && [ \"\$p\" != $before ]"
  wait_for 15 docker images
}

test_registry_faults() {
  say "== registry faults: resumed pulls, retries, bad content"
  local reg px out id l1 l2 manifest blobs_before partial size
  registry_start faults
  reg=$REGISTRY
  proxy_start "$reg"
  px=$PROXY
  make_layered_image "$px/e2e/layered:v1"
  id=$(docker image inspect --format '{{.Id}}' "$px/e2e/layered:v1")

  # Push: plain layers go up gzip-compressed, the large one in chunks.
  out=$(docker push "$px/e2e/layered:v1" 2>&1)
  check_contains "push of a loaded image" "v1: digest: sha256:" "$out"
  check "the large layer went up in PATCH chunks" \
    test "$(grep -c '^PATCH /v2/e2e/layered/blobs/uploads/' "$PROXY_LOG")" -ge 2
  check_contains "and was finished by a PUT with its digest" "status=201" \
    "$(grep '^PUT /v2/e2e/layered/blobs/uploads/.*digest=' "$PROXY_LOG")"
  manifest=$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$reg/v2/e2e/layered/manifests/v1")
  check_eq "the pushed manifest names gzip layers" \
    "application/vnd.docker.image.rootfs.diff.tar.gzip application/vnd.docker.image.rootfs.diff.tar.gzip" \
    "$(printf '%s' "$manifest" | python3 -c 'import json,sys; print(" ".join(l["mediaType"] for l in json.load(sys.stdin)["layers"]))')"
  out=$(curl -s "http://$reg/v2/e2e/layered/blobs/$(printf '%s' "$manifest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')" | gzip -dc | tar -tf - | sort | tr '\n' ' ')
  check_eq "and the layers are gzip of the image's tars" "bin/busybox bin/cat bin/echo bin/sh " "$out"
  proxy_faults '[]'
  out=$(docker push "$px/e2e/layered:v1" 2>&1)
  check_contains "a second push finds the compressed layers" "Layer already exists" "$out"
  check_eq "and uploads nothing" "" "$(grep -E '^(PATCH|PUT) /v2/e2e/layered/blobs' "$PROXY_LOG")"
  docker tag "$px/e2e/layered:v1" "$px/e2e/mounted:v1"
  out=$(docker push "$px/e2e/mounted:v1" 2>&1)
  check_contains "a push to another repository mounts the layers" "Mounted from e2e/layered" "$out"
  check_contains "with ?mount=&from=" "from=e2e%2Flayered" "$(grep '^POST /v2/e2e/mounted/blobs/uploads/?mount=' "$PROXY_LOG")"
  check_eq "and uploads nothing" "" "$(grep -E '^(PATCH|PUT) /v2/e2e/mounted/blobs' "$PROXY_LOG")"
  docker rmi "$px/e2e/layered:v1" "$px/e2e/mounted:v1" >/dev/null
  check_fails "the test image is gone" docker image inspect "$id"
  manifest=$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$reg/v2/e2e/layered/manifests/v1")
  l1=$(printf '%s' "$manifest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
  l2=$(printf '%s' "$manifest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][1]["digest"])')
  size=$(printf '%s' "$manifest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][1]["size"])')
  local downloads=$ROOT/imaged/downloads

  # A connection dropped in the middle of a layer: the pull goes on from there.
  proxy_faults "[{\"path\": \"$l2\", \"method\": \"GET\", \"times\": 1, \"fault\": \"drop\", \"arg\": 8000000}]"
  out=$(docker pull "$px/e2e/layered:v1" 2>&1)
  check_contains "a pull survives a dropped connection" "Status: Downloaded newer image" "$out"
  check_eq "the layer is fetched twice: cut, then the rest" "2" "$(proxy_gets "$l2" | wc -l)"
  check_contains "the second request asks for the rest only" "range=bytes=" "$(proxy_gets "$l2" | tail -1)"
  out=$(proxy_gets "$l2" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^bytes=/) {split($i, a, "="); s += a[2]}} END {print s + 0}')
  check_eq "and the two together are the layer, no byte twice" "$size" "$out"
  check_eq "the other layer is fetched once" "1" "$(proxy_gets "$l1" | wc -l)"
  check_eq "the image pulled is the pushed one" "$id" \
    "$(docker image inspect --format '{{.Id}}' "$px/e2e/layered:v1")"
  check_eq "and it runs" "ok" "$(docker run --rm "$px/e2e/layered:v1" echo ok 2>&1)"
  check_eq "no download is left" "" "$(ls -A "$downloads")"

  # The same image under another tag: its layers are here, none is fetched.
  curl -s -o /dev/null -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' \
    --data-binary "$manifest" "http://$reg/v2/e2e/layered/manifests/v2"
  proxy_faults '[]'
  out=$(docker pull "$px/e2e/layered:v2" 2>&1)
  check_contains "a pull of an image whose layers are here" "Status: Downloaded newer image" "$out"
  check_eq "transfers no layer (the registry's log)" "" "$(grep '/blobs/' "$PROXY_LOG")"
  docker rmi "$px/e2e/layered:v1" "$px/e2e/layered:v2" >/dev/null

  # imaged killed in the middle of a layer: the verified layer is kept, the
  # partial one resumes with a Range request, and nothing else is left.
  blobs_before=$(ls "$ROOT/imaged/blobs/sha256" | sort | tr '\n' ' ')
  proxy_faults "[{\"path\": \"$l2\", \"method\": \"GET\", \"times\": 1, \"fault\": \"slow\", \"arg\": 3000000}]"
  docker pull "$px/e2e/layered:v1" >"$E2E_DIR/pull.out" 2>&1 &
  local puller=$!
  partial=$downloads/${l2#sha256:}.partial
  wait_for 30 sh -c "[ \$(stat -c %s '$partial' 2>/dev/null || echo 0) -gt 4000000 ]"
  restart_imaged
  wait "$puller"
  check "the pull whose imaged died fails" test $? -ne 0
  check_fails "no image after imaged died mid-pull" docker image inspect "$px/e2e/layered:v1"
  check_eq "no blob committed after imaged died" "$blobs_before" \
    "$(ls "$ROOT/imaged/blobs/sha256" | sort | tr '\n' ' ')"
  check_eq "no ingest file" "" "$(ls -A "$ROOT/imaged/ingest")"
  check "the verified layer is kept" test -f "$downloads/${l1#sha256:}"
  check "the partial layer is kept" test -s "$partial"
  local had
  had=$(stat -c %s "$partial")
  proxy_faults '[]'
  out=$(docker pull "$px/e2e/layered:v1" 2>&1)
  check_contains "the pull after the restart works" "Status: Downloaded newer image" "$out"
  check_eq "the verified layer is not fetched again" "" "$(proxy_gets "$l1")"
  check_contains "the partial layer resumes where it stopped" "range=bytes=$had-" "$(proxy_gets "$l2")"
  check_eq "the resumed image is the pushed one" "$id" \
    "$(docker image inspect --format '{{.Id}}' "$px/e2e/layered:v1")"
  check_eq "the resumed layer is whole" "25165824" \
    "$(docker run --rm "$px/e2e/layered:v1" sh -c 'cat /data/random | wc -c' 2>&1 | tr -d ' ')"
  check_eq "no download is left after the resumed pull" "" "$(ls -A "$downloads")"
  check_eq "no ingest file after the resumed pull" "" "$(ls -A "$ROOT/imaged/ingest")"
  docker rmi "$px/e2e/layered:v1" >/dev/null

  # 5xx answers are retried with back-off.
  proxy_faults "[{\"path\": \"/manifests/v1\", \"method\": \"GET\", \"times\": 2, \"fault\": \"status\", \"arg\": 503},
    {\"path\": \"$l1\", \"method\": \"GET\", \"times\": 2, \"fault\": \"status\", \"arg\": 502}]"
  out=$(docker pull "$px/e2e/layered:v1" 2>&1)
  check_contains "a pull survives 5xx answers" "Status: Downloaded newer image" "$out"
  check_eq "the manifest was asked three times" "3" "$(grep -c '^GET /v2/e2e/layered/manifests/v1 ' "$PROXY_LOG")"
  check_eq "the layer was asked three times" "3" "$(proxy_gets "$l1" | wc -l)"
  docker rmi "$px/e2e/layered:v1" >/dev/null

  # Errors that retrying does not cure: clear words, nothing stored.
  blobs_before=$(ls "$ROOT/imaged/blobs/sha256" | sort | tr '\n' ' ')
  proxy_faults "[{\"path\": \"$l1\", \"method\": \"GET\", \"fault\": \"status\", \"arg\": 500}]"
  out=$(docker pull "$px/e2e/layered:v1" 2>&1; echo "exit=$?")
  check_contains "a registry that keeps failing: the pull fails" "exit=1" "$out"
  check_contains "and says which blob" "fetching blob $l1" "$out"
  check_contains "and the registry's words" "unavailable: injected" "$out"
  proxy_faults "[{\"path\": \"$l1\", \"method\": \"GET\", \"fault\": \"corrupt\"}]"
  out=$(docker pull "$px/e2e/layered:v1" 2>&1; echo "exit=$?")
  check_contains "a corrupt layer is refused" "filesystem layer verification failed for digest $l1" "$out"
  check "and nothing of it is kept" test ! -e "$downloads/${l1#sha256:}" -a ! -e "$downloads/${l1#sha256:}.partial"
  proxy_faults "[{\"path\": \"$l1\", \"method\": \"GET\", \"fault\": \"truncate\"}]"
  out=$(docker pull "$px/e2e/layered:v1" 2>&1; echo "exit=$?")
  check_contains "a truncated layer is refused" "was truncated" "$out"
  check_contains "with exit 1" "exit=1" "$out"
  proxy_faults '[{"path": "/manifests/", "method": "GET", "fault": "garbage"}]'
  out=$(docker pull "$px/e2e/layered:v1" 2>&1; echo "exit=$?")
  check_contains "a manifest that does not parse is refused" "invalid manifest" "$out"
  check_contains "with exit 1" "exit=1" "$out"
  check_fails "no image after the failed pulls" docker image inspect "$px/e2e/layered:v1"
  check_eq "no blob after the failed pulls" "$blobs_before" \
    "$(ls "$ROOT/imaged/blobs/sha256" | sort | tr '\n' ' ')"
  check_eq "no ingest file after the failed pulls" "" "$(ls -A "$ROOT/imaged/ingest")"
  proxy_faults '[]'
  out=$(docker pull "$px/e2e/layered:v1" 2>&1)
  check_contains "the registry healed: the pull works" "Status: Downloaded newer image" "$out"
  check_eq "and the kept layer was not fetched again" "" "$(proxy_gets "$l2")"
  check_eq "nothing is left in downloads" "" "$(ls -A "$downloads")"
  docker rmi "$px/e2e/layered:v1" >/dev/null

  # max-concurrent-downloads and -uploads from daemon.json.
  local slow="[{\"path\": \"$l1\", \"method\": \"GET\", \"fault\": \"slow\", \"arg\": 4000000},
    {\"path\": \"$l2\", \"method\": \"GET\", \"fault\": \"slow\", \"arg\": 40000000}]"
  proxy_faults "$slow"
  docker pull "$px/e2e/layered:v1" >/dev/null
  check_eq "layers download concurrently by default" "2" \
    "$(proxy_overlap "^GET /v2/e2e/layered/blobs/sha256:(${l1#sha256:}|${l2#sha256:}) ")"
  docker rmi "$px/e2e/layered:v1" >/dev/null
  # Images of new layers, so that the pushes upload rather than mount.
  make_layered_image "$px/e2e/up:v1"
  proxy_faults '[{"path": "/blobs/uploads/", "fault": "delay", "arg": 0.5}]'
  docker push "$px/e2e/up:v1" >/dev/null
  check_eq "layers upload concurrently by default" "2" \
    "$(proxy_overlap '^(POST|PATCH|PUT) /v2/e2e/up/blobs/uploads/')"
  docker rmi "$px/e2e/up:v1" >/dev/null
  cp "$E2E_DIR/daemon.json" "$E2E_DIR/daemon.json.orig"
  python3 - "$E2E_DIR/daemon.json" "$px" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config.update({"max-concurrent-downloads": 1, "max-concurrent-uploads": 1,
               "registry-mirrors": ["http://" + sys.argv[2]]})
json.dump(config, open(sys.argv[1], "w"))
PY
  restart_imaged
  proxy_faults "$slow"
  docker pull "$px/e2e/layered:v1" >/dev/null
  check_eq "max-concurrent-downloads 1: one layer at a time" "1" \
    "$(proxy_overlap "^GET /v2/e2e/layered/blobs/sha256:(${l1#sha256:}|${l2#sha256:}) ")"
  make_layered_image "$px/e2e/one:v1"
  proxy_faults '[{"path": "/blobs/uploads/", "fault": "delay", "arg": 0.5}]'
  docker push "$px/e2e/one:v1" >/dev/null
  check "the push uploaded" grep -q '^PUT /v2/e2e/one/blobs/uploads/' "$PROXY_LOG"
  check_eq "max-concurrent-uploads 1: one upload request at a time" "1" \
    "$(proxy_overlap '^(POST|PATCH|PUT) /v2/e2e/one/blobs/uploads/')"
  # registry-mirrors: Docker Hub names are pulled from the mirror.
  docker tag "$px/e2e/one:v1" "$px/library/mirrortest:v1"
  docker push "$px/library/mirrortest:v1" >/dev/null
  docker rmi "$px/library/mirrortest:v1" >/dev/null
  proxy_faults '[]'
  out=$(docker pull mirrortest:v1 2>&1)
  check_contains "a Docker Hub name is pulled from the mirror" \
    "Status: Downloaded newer image for mirrortest:v1" "$out"
  check_contains "which served its manifest" "status=200" \
    "$(grep '^GET /v2/library/mirrortest/manifests/v1 ' "$PROXY_LOG")"
  docker rmi "$px/e2e/layered:v1" "$px/e2e/one:v1" mirrortest:v1 >/dev/null
  mv "$E2E_DIR/daemon.json.orig" "$E2E_DIR/daemon.json"
  restart_imaged

  registry_stop_all
  check_eq "no faulty proxy left" "" "$(pgrep -f "faulty_proxy.py $E2E_DIR" || true)"
}

test_registry_auth() {
  say "== registry auth: identity tokens, tokens refreshed mid-pull"
  local reg px out requests
  token_server_start
  requests=$E2E_DIR/token/port.requests
  registry_start idtok "" "" "$TOKEN_REALM"
  reg=$REGISTRY
  proxy_start "$reg"
  px=$PROXY
  make_layered_image "$px/idtok/layered:v1"

  # docker login against a token service that hands out refresh tokens: the
  # CLI keeps the identity token, not the password.
  out=$(docker login -u berthuser -p berthpass "$px" 2>&1)
  check_contains "login through the token service" "Login Succeeded" "$out"
  check_contains "the token service was asked for a refresh token" "GET basic" "$(cat "$requests")"
  out=$(python3 -c 'import base64,json,sys; a=json.load(open(sys.argv[1]))["auths"][sys.argv[2]]; print(bool(a.get("identitytoken")), "berthpass" in base64.b64decode(a.get("auth", "")).decode())' \
    "$DOCKER_CONFIG/config.json" "$px")
  check_eq "the CLI stored an identity token and no password" "True False" "$out"

  # Later requests carry only the identity token: berth trades it for access
  # tokens with the OAuth refresh-token grant.
  : >"$requests"
  out=$(docker push "$px/idtok/layered:v1" 2>&1)
  check_contains "push with the identity token" "v1: digest: sha256:" "$out"
  check_contains "access tokens come from the refresh-token grant" "POST refresh_token ok" \
    "$(cat "$requests")"
  check_eq "and no password is sent" "" "$(grep '^GET basic' "$requests")"
  docker rmi "$px/idtok/layered:v1" >/dev/null

  # The access token expires in the middle of a pull (the registry answers a
  # blob with 401 invalid_token): a new one is fetched and the pull goes on.
  proxy_faults "[{\"path\": \"/blobs/sha256:\", \"method\": \"GET\", \"times\": 1, \"fault\": \"status\", \"arg\": 401,
    \"challenge\": \"Bearer realm=\\\"$TOKEN_REALM\\\",service=\\\"berth-e2e-registry\\\",scope=\\\"repository:idtok/layered:pull\\\",error=\\\"invalid_token\\\"\"}]"
  : >"$requests"
  out=$(docker pull "$px/idtok/layered:v1" 2>&1)
  check_contains "a pull whose token expired midway" "Status: Downloaded newer image" "$out"
  check_eq "the registry refused a blob once" "1" "$(grep -c 'status=401.*fault=status' "$PROXY_LOG")"
  check "and a new token was fetched for it" \
    test "$(grep -c '^POST refresh_token ok' "$requests")" -ge 2
  docker rmi "$px/idtok/layered:v1" >/dev/null

  out=$(docker logout "$px" 2>&1)
  out=$(docker pull "$px/idtok/layered:v1" 2>&1; echo "exit=$?")
  check_contains "after logout the pull is refused" "exit=1" "$out"
  registry_stop_all
}
