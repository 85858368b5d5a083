# shellcheck shell=bash
# berth-runc as a drop-in for runc: a reference dockerd (Debian's docker.io,
# which drives its runtimes through containerd's runc shim) started with
# --add-runtime berth=<berth-runc> runs containers on it.

test_runc_under_dockerd() {
  say "== berth-runc under a reference dockerd (--add-runtime)"
  if ! command -v dockerd >/dev/null; then
    fail "a reference dockerd is installed (scripts/install-deps.sh --reference)"
    return
  fi
  local dir=$E2E_DIR/runc-ref host out id
  mkdir -p "$dir"
  host=unix://$dir/docker.sock
  dockerd --data-root "$dir/root" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
    -H "$host" --bridge=none --iptables=false --ip-masq=false \
    --containerd-namespace=berth-e2e-runc --containerd-plugins-namespace=berth-e2e-runc-p \
    --add-runtime "berth=$BIN/berth-runc" --log-level=error >"$dir/dockerd.log" 2>&1 &
  local ref_pid=$!
  if ! wait_for 60 env DOCKER_HOST="$host" docker version; then
    fail "the reference dockerd starts" "$(tail -5 "$dir/dockerd.log")"
    kill "$ref_pid" 2>/dev/null
    return
  fi
  local d=(env DOCKER_HOST="$host" docker)
  "$REPO/scripts/make-busybox-image.sh" "$dir/busybox.tar" >/dev/null
  "${d[@]}" load -i "$dir/busybox.tar" >/dev/null
  out=$("${d[@]}" run --rm --runtime berth busybox sh -c 'echo hello; exit 3'; echo "rc=$?")
  check_eq "docker run --runtime berth: output and exit code" "hello rc=3" "$(echo $out)"
  out=$("${d[@]}" run --rm -i --runtime berth busybox sh -c 'read x; echo got $x' <<<"input")
  check_eq "stdin reaches the container" "got input" "$out"
  id=$("${d[@]}" run -d --runtime berth busybox sleep 300)
  check_eq "the container runs under berth-runc" "berth" \
    "$("${d[@]}" inspect -f '{{.HostConfig.Runtime}}' "$id")"
  check_eq "docker exec (runc exec)" "exec-ok" "$("${d[@]}" exec "$id" echo exec-ok)"
  check_contains "docker top (runc ps)" "sleep 300" "$("${d[@]}" top "$id")"
  # runc exec --tty --console-socket: the pty comes from the container's devpts.
  check_contains "docker exec -t (runc exec --tty)" "/dev/pts/" \
    "$("${d[@]}" exec -t "$id" tty 2>&1)"
  check_contains "docker run -t (the init's console)" "/dev/pts/0" \
    "$("${d[@]}" run --rm -t --runtime berth busybox tty 2>&1)"
  check_eq "docker exec -t: exit code" "rc=4" \
    "$("${d[@]}" exec -t "$id" sh -c 'exit 4' >/dev/null 2>&1; echo "rc=$?")"
  check "docker pause (runc pause)" "${d[@]}" pause "$id"
  check_eq "paused" "paused" "$("${d[@]}" inspect -f '{{.State.Status}}' "$id")"
  check "docker unpause (runc resume)" "${d[@]}" unpause "$id"
  check "docker update (runc update)" "${d[@]}" update --memory 64m --memory-swap 128m "$id"
  check "docker stop" "${d[@]}" stop -t 1 "$id"
  check "docker start again" "${d[@]}" start "$id"
  check "docker rm -f" "${d[@]}" rm -f "$id"
  "${d[@]}" ps -aq | xargs -r "${d[@]}" rm -f >/dev/null 2>&1
  kill -TERM "$ref_pid" 2>/dev/null
  wait "$ref_pid" 2>/dev/null
  local m
  for m in $(grep -F "$dir" /proc/self/mountinfo | awk '{print $5}' | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  rm -rf "$dir"
}

# The OCI runtime conformance suite (tests/conformance/run.sh) on the
# berth-runc under test: a checker inside each container verifies it against
# its config.json.
test_runc_conformance() {
  say "== OCI runtime conformance of berth-runc (tests/conformance)"
  local checker=${BERTH_CHECKER:-$REPO/bazel-bin/tests/conformance/checker} out
  if [[ ! -x $checker ]]; then
    (cd "$REPO" && bazel build //tests/conformance:checker >/dev/null 2>&1)
  fi
  out=$("$REPO/tests/conformance/run.sh" "$BIN/berth-runc" "$checker" 2>&1)
  check_contains "every conformance check passes" ", 0 failed" "$(tail -1 <<<"$out")"
  grep '^FAIL' <<<"$out" | head -20
}
