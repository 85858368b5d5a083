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
  [ "$rc" = 0 ] || say "$(cat -A "$E2E_DIR/run_it.out")"
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

# restart_runtimed: SIGKILLs runtimed; the supervisor starts a new one.
restart_daemon() {  # restart_daemon COMPONENT : SIGKILL it; the supervisor starts it again
  local name=$1 before
  before=$(daemon_pid "$name")
  kill -9 "$before"
  wait_for 15 sh -c "p=\$(pgrep -P $SUPERVISOR_PID -f 'berth-$name '); [ -n \"\$p\" ] && [ \"\$p\" != $before ]"
  wait_for 15 docker ps
}

restart_runtimed() { restart_daemon runtimed; }

test_log_drivers() {
  say "== log drivers: local, none, daemon.json defaults"
  local out id dir
  docker run -d --name ld1 --log-driver local busybox \
    sh -c 'echo one; echo two >&2; sleep 1.2; echo three; printf partial' >/dev/null
  docker wait ld1 >/dev/null
  id=$(docker inspect -f '{{.Id}}' ld1)
  dir=$ROOT/runtimed/containers/$id
  check_eq "local: docker logs" "$(printf 'one\ntwo\nthree\npartial')" "$(docker logs ld1 2>&1)"
  check_eq "local: stdout only" "$(printf 'one\nthree\npartial')" "$(docker logs ld1 2>/dev/null)"
  check_eq "local: --tail 2" "$(printf 'three\npartial')" "$(docker logs --tail 2 ld1 2>&1)"
  out=$(docker logs -t ld1 2>&1 | head -1)
  check "local: -t prefixes RFC 3339 times" \
    grep -Eq '^20[0-9-]{8}T[0-9:]{8}\.[0-9]{9}Z one$' <<<"$out"
  local third
  third=$(docker logs -t ld1 2>&1 | sed -n 3p | cut -d' ' -f1)
  check_eq "local: --since the third entry" "$(printf 'three\npartial')" \
    "$(docker logs --since "$third" ld1 2>&1)"
  check_eq "local: --until before the third" "$(printf 'one\ntwo')" \
    "$(docker logs --until "$(date -u -d "$third - 1 second" +%Y-%m-%dT%H:%M:%S.%NZ)" ld1 2>&1)"
  check "local: Docker's file in Docker's place" test -s "$dir/local-logs/container.log"
  check_eq "local: no json-file beside it" "" "$(ls "$dir" | grep json.log || true)"
  # Docker's framing: a 4-byte big-endian length, the LogEntry, the length again.
  out=$(python3 -c '
import struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack(">I", data[:4])[0]
print(n == struct.unpack(">I", data[4 + n:8 + n])[0], b"one" in data[4:4 + n], data[4:5] == b"\x0a")
' "$dir/local-logs/container.log")
  check_eq "local: length-framed protobuf entries" "True True True" "$out"

  docker run -d --name ld2 --log-driver local busybox \
    sh -c 'for i in 1 2 3; do echo f$i; sleep 0.4; done' >/dev/null
  out=$(timeout 15 docker logs -f ld2)
  check_eq "local: -f follows until the container exits" "$(printf 'f1\nf2\nf3')" "$out"

  docker run --name ld3 --log-driver local --log-opt max-size=10k --log-opt max-file=2 busybox \
    sh -c 'i=0; while [ $i -lt 400 ]; do printf "%098d\n" $i; i=$((i+1)); done' >/dev/null
  dir=$ROOT/runtimed/containers/$(docker inspect -f '{{.Id}}' ld3)/local-logs
  # Docker's local driver compresses by default: the shim gzips each rotated
  # file to container.log.N.gz in a child process, then removes the plain one.
  check "local: max-size rotates, the rotated file gzipped" \
    wait_for 30 sh -c "test -f '$dir/container.log.1.gz' && ! test -e '$dir/container.log.1'"
  check "local: a valid gzip" gzip -t "$dir/container.log.1.gz"
  check_eq "local: max-file keeps 2 files" "" "$(ls "$dir" | grep -v '^container.log$' | grep -v '^container.log.1.gz$' || true)"
  check_eq "local: the newest line is last" "$(printf '%098d' 399)" "$(docker logs ld3 | tail -1)"
  out=$(docker logs ld3 | wc -l)
  if ((out > 50 && out < 400)); then pass "local: old entries rotated away"; else
    fail "local: old entries rotated away" "$out lines"; fi
  # Consecutive numbers ending at 399: nothing lost or doubled at the seam.
  local consecutive='
import sys
lines = sys.stdin.read().split()
n = [int(x) for x in lines]
print(len(n), n == list(range(n[-1] - len(n) + 1, n[-1] + 1)) if n else False, n[-1] if n else -1)'
  out=$(docker logs ld3 | python3 -c "$consecutive")
  check_eq "local: logs read the gzipped file then the live one, in order" "True 399" "${out#* }"
  out=$(docker logs --tail 150 ld3 | python3 -c "$consecutive")
  check_eq "local: --tail reaches into the gzipped file" "150 True 399" "$out"
  # Its gzip header carries Docker's {"lastTime":...} of the file's last entry.
  out=$(python3 -c '
import json, struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:2] == b"\x1f\x8b" and d[3] & 4
n = struct.unpack("<H", d[10:12])[0]
print(json.loads(d[12:12 + n])["lastTime"][:2])' "$dir/container.log.1.gz" 2>&1)
  check_eq "local: lastTime in the gzip header" "20" "$out"

  docker run --name ld4 --log-driver local --log-opt max-size=2k --log-opt compress=false busybox \
    sh -c 'i=0; while [ $i -lt 100 ]; do printf "%098d\n" $i; i=$((i+1)); done' >/dev/null
  dir=$ROOT/runtimed/containers/$(docker inspect -f '{{.Id}}' ld4)/local-logs
  check "local compress=false: rotated files stay plain" test -f "$dir/container.log.1"
  check_eq "local compress=false: no .gz" "" "$(ls "$dir" | grep '\.gz$' || true)"
  out=$(docker run --rm --log-driver local --log-opt compress=maybe busybox true 2>&1)
  check_contains "compress=maybe refused as Go parses a bool" 'parsing "maybe": invalid syntax' "$out"
  out=$(docker run --rm --log-opt compress=true busybox true 2>&1)
  check_contains "json-file compress needs rotation: Docker's error" \
    "compress cannot be true when max-file is less than 2 or max-size is not set" "$out"

  docker run --name lj --log-opt max-size=2k --log-opt max-file=3 --log-opt compress=true busybox \
    sh -c 'i=0; while [ $i -lt 100 ]; do printf "%098d\n" $i; i=$((i+1)); done' >/dev/null
  id=$(docker inspect -f '{{.Id}}' lj)
  dir=$ROOT/runtimed/containers/$id
  check "json-file compress: <id>-json.log.1.gz and .2.gz" \
    wait_for 30 sh -c "test -f '$dir/$id-json.log.2.gz' && ! test -e '$dir/$id-json.log.1'"
  check_eq "json-file compress: gzip of json lines" '{"log":"' "$(zcat "$dir/$id-json.log.1.gz" | head -c 8)"
  out=$(docker logs lj | python3 -c "$consecutive")
  check_eq "json-file compress: logs read through the .gz files in order" "True 99" "${out#* }"

  # -f follows the live file across rotations while the shim compresses the
  # rotated ones (slow writes: a follower may skip a whole file only if it
  # sleeps through two rotations, as Docker's).
  docker run -d --name ld5 --log-driver local --log-opt max-size=1k --log-opt max-file=10 busybox \
    sh -c 'i=0; while [ $i -lt 40 ]; do printf "%050d\n" $i; i=$((i+1)); sleep 0.2; done' >/dev/null
  out=$(timeout 60 docker logs -f ld5 | python3 -c "$consecutive")
  check_eq "local: -f across compressed rotations" "40 True 39" "$out"
  dir=$ROOT/runtimed/containers/$(docker inspect -f '{{.Id}}' ld5)/local-logs
  check "local: -f saw at least two rotations" wait_for 30 test -f "$dir/container.log.2.gz"

  out=$(docker run --name ln --log-driver none busybox echo attached)
  check_eq "none: run still shows the output" "attached" "$out"
  out=$(docker logs ln 2>&1)
  check_contains "none: docker logs gives Docker's error" \
    "configured logging driver does not support reading" "$out"
  check_fails "none: docker logs fails" docker logs ln
  check_eq "none: inspect" "none" "$(docker inspect -f '{{.HostConfig.LogConfig.Type}}' ln)"

  out=$(docker run --rm --log-driver foo busybox true 2>&1)
  check_contains "unknown driver: Docker's error" "logger: no log driver named 'foo' is registered" "$out"
  out=$(docker run --rm --log-opt bogus=1 busybox true 2>&1)
  check_contains "unknown option: Docker's error" "unknown log opt 'bogus' for json-file log driver" "$out"
  out=$(docker run --rm --log-driver local --log-opt max-file=x busybox true 2>&1)
  check_contains "bad max-file refused" "invalid value for max-file: x" "$out"

  # daemon.json's defaults apply to containers created from then on.
  cp "$E2E_DIR/daemon.json" "$E2E_DIR/daemon.json.orig"
  python3 - "$E2E_DIR/daemon.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config.update({"log-driver": "local", "log-opts": {"max-size": "5m", "max-file": "3"}})
json.dump(config, open(sys.argv[1], "w"))
PY
  restart_runtimed
  restart_daemon apiserver
  check_eq "daemon.json: docker info names the default log driver" "local" \
    "$(docker info --format '{{.LoggingDriver}}')"
  docker run --name ldd busybox echo by-default >/dev/null
  check_eq "daemon.json: log-driver and log-opts are the defaults" "local 5m 3" \
    "$(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}} {{index .HostConfig.LogConfig.Config "max-file"}}' ldd)"
  check_eq "daemon.json: docker logs of the default driver" "by-default" "$(docker logs ldd)"
  docker run --name ldj --log-driver json-file busybox echo j >/dev/null
  check_eq "daemon.json: another driver gets none of its options" "json-file map[]" \
    "$(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{.HostConfig.LogConfig.Config}}' ldj)"
  check_eq "the older containers keep their drivers" "local" \
    "$(docker inspect -f '{{.HostConfig.LogConfig.Type}}' ld1)"
  check_eq "their logs still read" "one" "$(docker logs ld1 2>&1 | head -1)"
  mv "$E2E_DIR/daemon.json.orig" "$E2E_DIR/daemon.json"
  restart_runtimed
  restart_daemon apiserver
  check_eq "docker info: json-file without a log-driver" "json-file" \
    "$(docker info --format '{{.LoggingDriver}}')"
  docker rm -f ld1 ld2 ld3 ld4 ld5 lj ln ldd ldj >/dev/null
}

test_restarting() {
  say "== the restarting state between a policy exit and the next start"
  local out count
  # Quick failures double the back-off, so the restarting window grows.
  docker run -d --name rs1 --restart always busybox sh -c 'exit 1' >/dev/null
  # From the sixth restart on the back-off is over 3 s: time to look.
  wait_for 30 sh -c "[ \$(docker inspect -f '{{.RestartCount}}' rs1) -ge 5 ]"
  check "a failing container is seen restarting" \
    inspect_becomes 20 rs1 '{{.State.Status}} {{.State.Restarting}} {{.State.Running}}' "restarting true true"
  out=$(docker ps --filter name=rs1 --format '{{.Status}}')
  check "docker ps lists it as Docker does" grep -Eq '^Restarting \(1\) ([0-9]+|Less than a) seconds? ago$' <<<"$out"
  check_eq "docker ps --filter status=restarting" "rs1" \
    "$(docker ps -a --filter status=restarting --format '{{.Names}}')"
  check_eq "exit code kept while restarting" "1" "$(docker inspect -f '{{.State.ExitCode}}' rs1)"
  inspect_becomes 10 rs1 '{{.State.Status}}' restarting
  out=$(docker kill rs1 2>&1)
  check_contains "kill while restarting: Docker's refusal" "is restarting, wait until the container is running" "$out"
  inspect_becomes 10 rs1 '{{.State.Status}}' restarting
  out=$(docker rm rs1 2>&1)
  check_contains "rm while restarting needs -f" "Stop the container before attempting removal or force remove" "$out"

  # A runtimed killed meanwhile resumes the restarts.
  count=$(docker inspect -f '{{.RestartCount}}' rs1)
  restart_runtimed
  check "the restarts go on after runtimed restarts" sh -c \
    "for i in \$(seq 100); do [ \$(docker inspect -f '{{.RestartCount}}' rs1) -gt $count ] && exit 0; sleep 0.2; done; exit 1"

  inspect_becomes 20 rs1 '{{.State.Status}}' restarting
  check "stop during the back-off" docker stop rs1
  check_eq "stopped for good" "exited false false" \
    "$(docker inspect -f '{{.State.Status}} {{.State.Restarting}} {{.State.Running}}' rs1)"
  count=$(docker inspect -f '{{.RestartCount}}' rs1)
  sleep 2
  check_eq "no restart after the stop" "exited $count" "$(docker inspect -f '{{.State.Status}} {{.RestartCount}}' rs1)"
  check_eq "docker ps no longer lists it" "" "$(docker ps --filter name=rs1 -q)"
  docker start rs1 >/dev/null
  check "restarting again after a start" inspect_becomes 20 rs1 '{{.State.Status}}' restarting
  check "rm -f, restarting or just restarted" docker rm -f rs1
  check_fails "rm -f removed it" docker inspect rs1
}

test_cgroupns() {
  say "== --cgroupns and --userns"
  local out host_ns
  host_ns=$(readlink /proc/self/ns/cgroup)
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    check_eq "default on cgroup v2: private" "private" \
      "$(docker create --name cg0 busybox true >/dev/null && docker inspect -f '{{.HostConfig.CgroupnsMode}}' cg0)"
  else
    check_eq "default on cgroup v1: host" "host" \
      "$(docker create --name cg0 busybox true >/dev/null && docker inspect -f '{{.HostConfig.CgroupnsMode}}' cg0)"
  fi
  docker rm cg0 >/dev/null
  out=$(docker run --rm --cgroupns private busybox readlink /proc/self/ns/cgroup)
  check "--cgroupns private: a namespace of its own" test "$out" != "$host_ns"
  out=$(docker run --rm --cgroupns private busybox sh -c 'grep -E "^[0-9]+:(memory|pids):" /proc/self/cgroup | cut -d: -f3 | sort -u')
  check_eq "--cgroupns private: the container's cgroup is its root" "/" "$out"
  out=$(docker run --rm --cgroupns host busybox readlink /proc/self/ns/cgroup)
  check_eq "--cgroupns host: the host's namespace" "$host_ns" "$out"
  out=$(docker run --rm --cgroupns host busybox grep -E "^[0-9]+:pids:" /proc/self/cgroup)
  check_contains "--cgroupns host: the full cgroup path shows" "$CGROUP_PARENT/" "$out"
  out=$(api -X POST -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","HostConfig":{"CgroupnsMode":"shared"}}' "http://d/containers/create")
  check_contains "unknown cgroupns mode: Docker's error" "invalid cgroup namespace mode: shared" "$out"
  out=$(docker run --rm --userns host busybox cat /proc/self/uid_map | tr -s ' ')
  check_eq "--userns host: the host's user namespace" " 0 0 4294967295" "$out"
}

# Bad input through the real CLI: each refusal in Moby's words, and nothing
# left behind (no container, cgroup, mount or process).
test_bad_input() {
  say "== bad input: Moby's refusals, nothing half-created"
  local out before
  before=$(docker ps -aq | wc -l)
  refused() {  # refused NAME EXPECTED docker-run-args...
    local name=$1 want=$2; shift 2
    out=$(docker run --rm "$@" 2>&1)
    check_contains "$name" "$want" "$out"
  }
  refused "memory below 6MB" "Minimum memory limit allowed is 6MB" --memory 4m busybox true
  refused "memory-swap below memory" \
    "Minimum memoryswap limit should be larger than memory limit" --memory 20m --memory-swap 10m busybox true
  refused "memory-swap without memory" \
    "You should always set the Memory limit when using Memoryswap limit" --memory-swap 20m busybox true
  refused "reservation above the limit" \
    "Minimum memory limit can not be less than memory reservation limit" --memory 10m --memory-reservation 20m busybox true
  refused "cpu-quota below 1ms" "CPU cfs quota can not be less than 1ms (i.e. 1000)" --cpu-quota 500 busybox true
  refused "cpu-period out of range" \
    "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)" --cpu-period 500 busybox true
  refused "more CPUs than the host has" "Range of CPUs is from 0.01 to" --cpus 1000 busybox true
  refused "cpuset the host lacks" "Requested CPUs are not available - requested 999" --cpuset-cpus 999 busybox true
  refused "cpuset that does not parse" "Invalid value 0-x for cpuset cpus" --cpuset-cpus 0-x busybox true
  refused "memory node the host lacks" "Requested memory nodes are not available - requested 99" --cpuset-mems 99 busybox true
  refused "oom-score-adj out of range" "Invalid value 2000, range for oom score adj is [-1000, 1000]" --oom-score-adj 2000 busybox true
  refused "blkio-weight out of range" "Range of blkio weight is from 10 to 1000" --blkio-weight 5 busybox true
  refused "unknown stop signal" "Invalid signal: NOSUCH" --stop-signal NOSUCH busybox true
  refused "missing device" 'error gathering device information while adding custom device "/dev/nonexistent"' --device /dev/nonexistent busybox true
  refused "pid of a missing container" "No such container: nosuch" --pid container:nosuch busybox true
  refused "ipc of a missing container" "No such container: nosuch" --ipc container:nosuch busybox true
  check_eq "no container left by the refusals" "$before" "$(docker ps -aq | wc -l)"
  check_eq "no cgroup left by the refusals" "" "$(cgroup_leftovers)"

  # Refused at start, as Moby does: the container stays created, nothing runs.
  out=$(docker run --name bi-exe busybox /nonexistent 2>&1)
  check_contains "missing executable" 'exec: "/nonexistent": stat /nonexistent: no such file or directory' "$out"
  check_eq "exit status 127 and the container is created" "127 created" \
    "$(docker inspect -f '{{.State.ExitCode}} {{.State.Status}}' bi-exe)"
  out=$(docker run --name bi-cwd -w /etc/passwd busybox true 2>&1)
  check_contains "a working dir that is a file" "/etc/passwd in rootfs: Not a directory" "$out"
  check_eq "no cgroup left by failed starts" "" "$(cgroup_leftovers)"
  check_eq "no shim left by failed starts" "" "$(pgrep -f "berth-shim.*$EXEC_ROOT" || true)"
  docker rm bi-exe bi-cwd >/dev/null

  # Stopped containers: exec and kill are refused with the container's ID.
  docker run --name bi-stopped busybox true
  local id
  id=$(docker inspect -f '{{.Id}}' bi-stopped)
  check_contains "exec into a stopped container" "Container $id is not running" \
    "$(docker exec bi-stopped true 2>&1)"
  check_contains "kill of a stopped container" "Container $id is not running" \
    "$(docker kill bi-stopped 2>&1)"
  docker rm bi-stopped >/dev/null
}

# Flags of issue 3's list that no other group covered, checked from inside
# the container (or its cgroup) as Docker applies them.
test_docker_flags() {
  say "== docker run flags: sysctl, ulimit, caps, groups, shm, read-only, namespaces, limits"
  local out id cg
  out=$(docker run --rm --sysctl net.ipv4.ip_forward=1 --sysctl kernel.shm_rmid_forced=1 busybox \
    cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced)
  check_eq "--sysctl (net and ipc)" "$(printf '1\n1')" "$out"
  out=$(docker run --rm --ulimit nofile=1024:2048 --ulimit nproc=99 busybox \
    sh -c 'ulimit -n; ulimit -Hn; ulimit -u')
  check_eq "--ulimit soft:hard and a single value" "$(printf '1024\n2048\n99')" "$out"
  out=$(docker run --rm busybox grep CapEff /proc/self/status)
  check_eq "Docker's default capabilities" "CapEff:	00000000a80425fb" "$out"
  out=$(docker run --rm --cap-drop NET_RAW --cap-drop CHOWN busybox grep CapEff /proc/self/status)
  check_eq "--cap-drop" "CapEff:	00000000a80405fa" "$out"
  out=$(docker run --rm --cap-drop ALL --cap-add CHOWN busybox grep CapEff /proc/self/status)
  check_eq "--cap-drop ALL --cap-add CHOWN" "CapEff:	0000000000000001" "$out"
  local group gid
  read -r group gid < <(docker run --rm busybox awk -F: 'NR == 2 {print $1, $3}' /etc/group)
  out=$(docker run --rm --group-add 4242 --group-add "$group" busybox id -G)
  check_contains "--group-add by number" " 4242" " $out"
  check_contains "--group-add by name (the image's /etc/group: $group)" " $gid" " $out"
  out=$(docker run --rm --group-add nosuchgroup busybox true 2>&1)
  check_contains "--group-add of a group the image lacks" \
    "unable to find group nosuchgroup: no matching entries in group file" "$out"
  out=$(docker run --rm --shm-size 48m busybox df -k /dev/shm | awk 'NR == 2 {print $2}')
  check_eq "--shm-size" "49152" "$out"
  out=$(docker run --rm --read-only busybox touch /x 2>&1)
  check_contains "--read-only" "Read-only file system" "$out"
  out=$(docker run --rm --read-only --tmpfs /tmp busybox sh -c 'touch /tmp/x && echo ok')
  check_eq "--read-only with a --tmpfs" "ok" "$out"
  for ns in pid ipc uts; do
    out=$(docker run --rm "--$ns" host busybox readlink "/proc/self/ns/$ns")
    check_eq "--$ns host shares the host's" "$(readlink "/proc/self/ns/$ns")" "$out"
  done
  out=$(docker run --rm --oom-score-adj 345 busybox cat /proc/self/oom_score_adj)
  check_eq "--oom-score-adj" "345" "$out"

  id=$(docker run -d --memory 64m --memory-swap 96m --memory-reservation 32m --cpu-shares 512 \
    --cpuset-cpus 0 --pids-limit 77 busybox sleep 300)
  cg=$CGROUP_PARENT/$id
  if [ -d /sys/fs/cgroup/memory ]; then
    check_eq "--memory, --memory-swap, --memory-reservation in the cgroup" \
      "67108864 100663296 33554432" \
      "$(cat /sys/fs/cgroup/memory/$cg/memory.limit_in_bytes /sys/fs/cgroup/memory/$cg/memory.memsw.limit_in_bytes /sys/fs/cgroup/memory/$cg/memory.soft_limit_in_bytes | tr '\n' ' ' | sed 's/ $//')"
    check_eq "--cpu-shares, --cpuset-cpus, --pids-limit in the cgroup" "512 0 77" \
      "$(cat /sys/fs/cgroup/cpu/$cg/cpu.shares /sys/fs/cgroup/cpuset/$cg/cpuset.cpus /sys/fs/cgroup/pids/$cg/pids.max | tr '\n' ' ' | sed 's/ $//')"
  fi
  docker rm -f "$id" >/dev/null

  # --stop-timeout: a process that ignores SIGTERM is killed once it runs out.
  docker run -d --name df-stop --stop-timeout 1 busybox sh -c 'trap "" TERM; while :; do sleep 1; done' >/dev/null
  check_eq "--stop-timeout recorded" "1" "$(docker inspect -f '{{.Config.StopTimeout}}' df-stop)"
  docker stop df-stop >/dev/null
  check_eq "killed after the timeout" "137" "$(docker inspect -f '{{.State.ExitCode}}' df-stop)"
  docker rm df-stop >/dev/null

  # unless-stopped: restarted after a failure, not after docker stop.
  docker run -d --name df-us --restart unless-stopped busybox sh -c 'sleep 0.5; exit 1' >/dev/null
  check "unless-stopped restarts a failed container" \
    wait_for 30 sh -c "[ \$(docker inspect -f '{{.RestartCount}}' df-us) -ge 1 ]"
  docker stop df-us >/dev/null
  check_eq "docker stop ends it for good" "exited false" \
    "$(docker inspect -f '{{.State.Status}} {{.State.Restarting}}' df-us)"
  docker rm -f df-us >/dev/null
}
