# Runtime features: pause/unpause, top, restart policies.
# shellcheck shell=bash

# inspect_becomes SECONDS ID FORMAT EXPECTED: polls until the inspect output
# equals EXPECTED.
inspect_becomes() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    [ "$(timeout 10 docker inspect -f "$3" "$2" 2>/dev/null)" == "$4" ] && return 0
    sleep 0.1
  done
  return 1
}

test_pause_top_restart() {
  say "== pause, unpause, top, restart policies"
  local id out n1 n2 pid pid2
  id=$(docker run -d busybox sh -c 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done')
  sleep 0.5
  check "pause" docker pause "$id"
  check_eq "inspect says paused" "paused true true" \
    "$(docker inspect -f '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' "$id")"
  check_contains "ps says Paused" "(Paused)" "$(docker ps --filter "id=$id" --format '{{.Status}}')"
  out=$(docker pause "$id" 2>&1)
  check_contains "pausing twice is refused" "Container $id is already paused" "$out"
  n1=$(docker logs "$id" | wc -l)
  sleep 1
  n2=$(docker logs "$id" | wc -l)
  check_eq "no output while paused" "$n1" "$n2"
  check "unpause" docker unpause "$id"
  out=$(docker unpause "$id" 2>&1)
  check_contains "unpausing a running one is refused" "Container $id is not paused" "$out"
  sleep 1
  n2=$(docker logs "$id" | wc -l)
  check "output resumes after unpause" test "$n2" -gt "$n1"
  docker pause "$id" >/dev/null
  check "stop a paused container" timeout 20 docker stop -t 1 "$id"
  check_eq "stopped after pause" "exited false" \
    "$(docker inspect -f '{{.State.Status}} {{.State.Paused}}' "$id")"
  out=$(docker pause "$id" 2>&1)
  check_contains "pausing a stopped one is refused" "Container $id is not running" "$out"
  out=$(docker top "$id" 2>&1)
  check_contains "top of a stopped one is refused" "is not running" "$out"
  docker rm "$id" >/dev/null

  id=$(docker run -d busybox sleep 1234)
  docker pause "$id" >/dev/null
  check "kill a paused container" timeout 20 docker kill "$id"
  check "killed paused container exits" inspect_becomes 10 "$id" '{{.State.Status}}' exited
  docker rm -f "$id" >/dev/null

  id=$(docker run -d busybox sleep 1234)
  out=$(docker top "$id")
  check_contains "top titles" "UID PID PPID C STIME TTY TIME CMD" "$(echo $out)"
  check_contains "top lists the sleep" "sleep 1234" "$out"
  out=$(docker top "$id" -o pid,args)
  check_contains "top with ps args" "sleep 1234" "$out"
  docker rm -f "$id" >/dev/null

  id=$(docker run -d --restart on-failure:2 busybox sh -c 'exit 3')
  check "on-failure:2 gives up after two restarts" \
    inspect_becomes 15 "$id" '{{.RestartCount}} {{.State.Status}}' "2 exited"
  sleep 1
  check_eq "on-failure:2 restarted exactly twice" "2 exited 3" \
    "$(docker inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' "$id")"
  docker rm -f "$id" >/dev/null

  id=$(docker run -d --restart always busybox sleep 1000)
  pid=$(docker inspect -f '{{.State.Pid}}' "$id")
  kill -9 "$pid"
  check "always restarts after a kill from the host" \
    inspect_becomes 15 "$id" '{{.RestartCount}} {{.State.Status}}' "1 running"
  pid2=$(docker inspect -f '{{.State.Pid}}' "$id")
  check "a new process" test "$pid" != "$pid2"
  check "stop an always container" timeout 20 docker stop -t 1 "$id"
  sleep 1
  check_eq "docker stop is not undone by always" "exited 1" \
    "$(docker inspect -f '{{.State.Status}} {{.RestartCount}}' "$id")"
  docker rm -f "$id" >/dev/null
}

test_update() {
  say "== docker update"
  local id out cg
  id=$(docker run -d --memory 64m busybox sleep 300)
  check "update memory, cpus, pids and restart policy" \
    docker update --memory 128m --memory-swap 256m --cpus 0.5 --pids-limit 20 --restart always "$id"
  check_eq "inspect shows the new limits" "134217728 268435456 500000000 20 always" \
    "$(docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}' "$id")"
  if [ -d /sys/fs/cgroup/memory ]; then
    check_eq "the running container's cgroup has them" "134217728 50000 20" \
      "$(cat /sys/fs/cgroup/memory/$CGROUP_PARENT/$id/memory.limit_in_bytes \
             /sys/fs/cgroup/cpu/$CGROUP_PARENT/$id/cpu.cfs_quota_us \
             /sys/fs/cgroup/pids/$CGROUP_PARENT/$id/pids.max 2>&1 | tr '\n' ' ' | sed 's/ $//')"
  else
    check_eq "the running container's cgroup has them" "134217728 50000 100000 20" \
      "$(cat /sys/fs/cgroup/$CGROUP_PARENT/$id/memory.max /sys/fs/cgroup/$CGROUP_PARENT/$id/cpu.max \
             /sys/fs/cgroup/$CGROUP_PARENT/$id/pids.max 2>&1 | tr '\n' ' ' | sed 's/ $//')"
  fi
  out=$(docker update --cpus 1 --cpu-period 100000 "$id" 2>&1)
  check_contains "NanoCpus with a CPU period is refused" "Conflicting options" "$out"
  docker rm -f "$id" >/dev/null
  id=$(docker create --memory 64m busybox sleep 300)
  check "update a created container" docker update --memory 96m --memory-swap 192m "$id"
  docker start "$id" >/dev/null
  if [ -d /sys/fs/cgroup/memory ]; then
    check_eq "the new limit applies at start" "100663296" \
      "$(cat /sys/fs/cgroup/memory/$CGROUP_PARENT/$id/memory.limit_in_bytes 2>&1)"
  fi
  docker rm -f "$id" >/dev/null
  out=$(docker update --memory 64m no-such-container 2>&1)
  check_contains "update of a missing container" "No such container: no-such-container" "$out"
}

# pty NAME ROWS COLS STEPS_JSON CMD...: runs CMD on a terminal (pty_drive.py);
# its output lands in $E2E_DIR/NAME.out, its exit code is returned.
pty() {
  local name=$1 rows=$2 cols=$3 steps=$4; shift 4
  python3 "$REPO/tests/e2e/pty_drive.py" "$rows" "$cols" "$steps" -- "$@" \
    >"$E2E_DIR/$name.out" 2>&1
}

# raw_attach ID DETACH_KEYS INPUT...: attaches through the API (the daemon,
# not the CLI, watches for the keys), types each INPUT after the previous one
# echoed; prints the output and "closed" when the daemon closed the stream.
raw_attach() {
  python3 - "$EXEC_ROOT/docker.sock" "$@" <<'PY'
import socket, sys, time
path, cid, keys, inputs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
s = socket.socket(socket.AF_UNIX)
s.connect(path)
s.settimeout(10)
s.sendall(("POST /containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=%s "
           "HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
           % (cid, keys)).encode())
out = b""
while b"\r\n\r\n" not in out:
    out += s.recv(4096)
head, out = out.split(b"\r\n\r\n", 1)
print(head.split(b"\r\n")[0].decode())
for text in inputs:
    try:
        s.sendall(text.encode().decode("unicode_escape").encode("latin-1"))
    except OSError:
        break  # The daemon closed the stream (the detach keys).
    time.sleep(0.5)
closed = False
try:
    while True:
        data = s.recv(4096)
        if not data:
            closed = True
            break
        out += data
except socket.timeout:
    pass
print(out.decode(errors="replace").replace("\r", ""))
print("closed" if closed else "open")
PY
}

test_detach_keys() {
  say "== detach keys and tty resize"
  local out rc
  pty run_it 24 80 '[["expect","# "],["send","echo mark-$((1+1))\n"],["expect","mark-2"],
    ["send","\u0010\u0011"]]' docker run -it --name dk1 busybox sh
  rc=$?
  check_eq "run -it: ctrl-p ctrl-q leaves docker run (exit 0)" "0" "$rc"
  check_eq "run -it: the container keeps running after the detach" "true" \
    "$(docker inspect -f '{{.State.Running}}' dk1)"
  pty attach1 24 80 '[["send","\n"],["expect","# "],["send","echo again-$((2+2))\n"],
    ["expect","again-4"],["send","stty size\n"],["expect","24 80"],["resize",30,100],
    ["sleep",0.5],["send","stty size\n"],["expect","30 100"],["send","\u0010\u0011"]]' \
    docker attach dk1
  # The CLI reports a detach from docker attach so, and exits 1, as with dockerd.
  check_contains "attach: the shell still reads its terminal; the keys detach" \
    "read escape sequence" "$(cat "$E2E_DIR/attach1.out")"
  check_contains "attach: the size of the client's terminal" "24 80" "$(cat "$E2E_DIR/attach1.out")"
  check_contains "attach: SIGWINCH resizes the container's terminal" "30 100" \
    "$(cat "$E2E_DIR/attach1.out")"
  pty attach2 24 80 '[["send","\n"],["expect","# "],["send","echo custom\n"],["expect","custom"],
    ["send","\u0018y"]]' docker attach --detach-keys ctrl-x,y dk1
  check_contains "attach --detach-keys ctrl-x,y detaches" "read escape sequence" \
    "$(cat "$E2E_DIR/attach2.out")"
  mkdir -p "$E2E_DIR/dk-config"
  echo '{"detachKeys": "ctrl-e,e"}' >"$E2E_DIR/dk-config/config.json"
  DOCKER_CONFIG=$E2E_DIR/dk-config pty attach3 24 80 \
    '[["send","\n"],["expect","# "],["send","\u0005e"]]' docker attach dk1
  check_contains "detachKeys from config.json detaches" "read escape sequence" \
    "$(cat "$E2E_DIR/attach3.out")"
  check_eq "still running after three detaches" "true" \
    "$(docker inspect -f '{{.State.Running}}' dk1)"

  # The daemon watches too (clients other than the CLI rely on it); the keys
  # never reach the container.
  out=$(raw_attach dk1 ctrl-a,b 'echo srv-$((3+3))\n' '\x01b' 'echo after\n')
  check_contains "API attach upgrades" "101" "$out"
  check_contains "API attach reaches the shell" "srv-6" "$out"
  check_contains "the daemon ends the attach at the detach keys" "closed" "$out"
  check_not_contains "nothing after the keys reaches the container" "after" "$out"
  check_eq "running after a daemon-side detach" "true" "$(docker inspect -f '{{.State.Running}}' dk1)"
  out=$(api -X POST "http://d/containers/dk1/attach?stream=1&stdin=1&detachKeys=ctrl-1")
  check_contains "bad detach keys: Docker's error" "Invalid detach keys (ctrl-1) provided" "$out"
  check "POST /resize" api -f -X POST "http://d/containers/dk1/resize?h=40&w=120"
  out=$(raw_attach dk1 ctrl-p,ctrl-q 'stty size\n' '\x10\x11')
  check_contains "the container's terminal has the API's size" "40 120" "$out"

  # Without a terminal the keys are data.
  out=$(printf 'a\020\021b' | docker run -i --rm busybox od -An -c | tr -s ' ')
  check_contains "without -t the keys reach the program" "a 020 021 b" "$out"
  docker rm -f dk1 >/dev/null
}
