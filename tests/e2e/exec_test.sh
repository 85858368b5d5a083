# docker exec: output, exit codes, stdin, tty, user, directory, environment,
# detached execs, refusals, namespaces, and nothing left behind.
# shellcheck shell=bash

test_exec() {
  say "== exec"
  local id out rc eid pid
  id=$(docker run -d --name exec1 --hostname exechost busybox sleep 1000)
  check_eq "exec echo" "hi" "$(docker exec exec1 echo hi)"
  docker exec exec1 sh -c 'exit 3'
  check_eq "exit code of the command" "3" "$?"
  out=$(docker exec exec1 nosuchcmd 2>&1)
  rc=$?
  check_eq "missing executable exits 127" "127" "$rc"
  check_contains "missing executable says so" 'executable file not found in $PATH' "$out"
  out=$(docker exec exec1 /etc/passwd 2>&1)
  check_eq "non-executable exits 126" "126" "$?"
  check_contains "non-executable says so" "permission denied" "$out"
  out=$(docker exec -w /nonexistent exec1 pwd 2>&1)
  check_eq "a missing working directory exits 127" "127" "$?"
  check_contains "a missing working directory says so" \
    'chdir to cwd ("/nonexistent") set in config.json failed: no such file or directory' "$out"
  check_eq "stdin with -i" "piped in" "$(echo 'piped in' | docker exec -i exec1 cat)"
  out=$(script -qec "docker exec -t exec1 sh -c 'tty; stty size'" /dev/null </dev/null | tr -d '\r')
  check_contains "-t gives a pty of the container" "/dev/pts/" "$out"
  out=$(script -qec "stty rows 30 cols 100; docker exec -t exec1 stty size" /dev/null </dev/null |
    tr -d '\r')
  check_eq "-t: the terminal's size from the first byte" "30 100" "$out"
  (sleep 1; printf 'echo in-$((6*7))\nexit 5\n'; sleep 2) |
    script -qec "docker exec -it exec1 sh" /dev/null >"$E2E_DIR/it.out"
  rc=$?
  out=$(tr -d '\r' <"$E2E_DIR/it.out")
  check_contains "-it: an interactive shell on the exec's terminal" "in-42" "$out"
  check_eq "-it: the shell's exit code" "5" "$rc"
  check_eq "-u 1000" "1000" "$(docker exec -u 1000 exec1 id -u)"
  check_eq "-u nobody" "65534:65534" "$(docker exec -u nobody exec1 sh -c 'echo $(id -u):$(id -g)')"
  check_eq "-u uid:gid" "1000:1001" "$(docker exec -u 1000:1001 exec1 sh -c 'echo $(id -u):$(id -g)')"
  check_eq "-w /tmp" "/tmp" "$(docker exec -w /tmp exec1 pwd)"
  check_eq "-e A=b" "b" "$(docker exec -e A=b exec1 sh -c 'echo $A')"
  check_contains "the container's env is kept" "PATH=" "$(docker exec exec1 env)"
  check_eq "the container's hostname" "exechost" "$(docker exec exec1 hostname)"
  check_eq "pid 1 is the container's init" "sleep 1000" \
    "$(docker exec exec1 cat /proc/1/cmdline | tr '\0' ' ' | sed 's/ $//')"
  check_eq "the exec sees its own pid namespace" "2" \
    "$(docker exec exec1 ps -o pid,comm | grep -cv PID | tr -d ' ')"
  out=$(docker exec exec1 ls /proc/self/fd)
  check_eq "no host fd leaks into an exec" "$(printf '0\n1\n2\n3')" "$out"
  check_eq "exec output is not logged" "" "$(docker logs exec1 2>&1)"

  check "exec -d" docker exec -d exec1 sh -c 'sleep 0.3; echo done > /tmp/detached'
  wait_for 10 docker exec exec1 test -f /tmp/detached
  check_eq "exec -d took effect" "done" "$(docker exec exec1 cat /tmp/detached)"

  # The API: inspect of an exec, unknown IDs, ExitCode.
  eid=$(api -X POST -H 'Content-Type: application/json' \
    -d '{"Cmd":["sh","-c","exit 7"],"AttachStdout":true}' \
    "http://d/containers/exec1/exec" | sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p')
  check_eq "exec create gives a 64-hex ID" "64" "${#eid}"
  check_contains "a created exec has not run" '"ExitCode":null' "$(api "http://d/exec/$eid/json")"
  check_contains "the created exec's command" '"entrypoint":"sh"' "$(api "http://d/exec/$eid/json")"
  api -X POST -H 'Content-Type: application/json' -d '{"Detach":true}' \
    "http://d/exec/$eid/start" >/dev/null
  wait_for 10 sh -c "curl -sS --unix-socket '$EXEC_ROOT/docker.sock' http://d/exec/$eid/json | grep -q '\"ExitCode\":7'"
  check_contains "exec inspect has the exit code" '"ExitCode":7' "$(api "http://d/exec/$eid/json")"
  check_contains "unknown exec is 404" "No such exec instance: feedface" \
    "$(api -w ' %{http_code}' "http://d/exec/feedface/json")"
  check_contains "unknown exec is 404 (code)" " 404" \
    "$(api -w ' %{http_code}' "http://d/exec/feedface/json")"

  # A running exec outlives a runtimed restart (SIGKILL); runtimed starts fresh.
  docker exec -d exec1 sleep 4241
  wait_for 10 pgrep -f "^sleep 4241"
  pid=$(pgrep -f "^sleep 4241" | head -1)
  local before
  before=$(daemon_pid runtimed)
  kill -9 "$before"
  wait_for 15 sh -c "[ -n \"\$(pgrep -P $SUPERVISOR_PID -f 'berth-runtimed ')\" ] && [ \"\$(pgrep -P $SUPERVISOR_PID -f 'berth-runtimed ')\" != $before ]"
  wait_for 15 docker exec exec1 true
  check "an exec survives runtimed's restart" kill -0 "$pid"
  check_eq "exec works after runtimed's restart" "again" "$(docker exec exec1 echo again)"
  kill "$pid"

  check_eq "inspect state unaffected" "running 0" \
    "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' exec1)"

  # A long-running exec dies with the container; nothing is left.
  docker exec -d exec1 sleep 4242
  wait_for 10 pgrep -f "^sleep 4242"
  pid=$(pgrep -f "^sleep 4242" | head -1)
  check "a detached exec runs" test -n "$pid"
  check_eq "ExecIDs in container inspect" "1" "$(docker inspect -f '{{len .ExecIDs}}' exec1)"
  docker pause exec1 >/dev/null
  out=$(docker exec exec1 true 2>&1)
  check_contains "exec on a paused container is refused" \
    "Container $id is paused, unpause the container before exec" "$out"
  docker unpause exec1 >/dev/null
  docker stop -t 1 exec1 >/dev/null
  out=$(docker exec exec1 echo hi 2>&1)
  check_eq "exec on a stopped container fails" "1" "$?"
  check_contains "exec on a stopped container says why" "Container $id is not running" "$out"
  check_eq "the exec died with the container" "" "$(pgrep -f '^sleep 4242' || true)"
  docker start exec1 >/dev/null
  docker exec -d exec1 sleep 4243
  wait_for 10 pgrep -f "^sleep 4243"
  docker rm -f exec1 >/dev/null
  wait_for 10 sh -c '! pgrep -f "^sleep 4243"'
  check_eq "no exec process left after rm -f" "" "$(pgrep -f '^sleep 4243' || true)"
}
