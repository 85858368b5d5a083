# Every daemon can die (SIGKILL) while containers run: the supervisor restarts
# it, and the containers stay running and manageable with their logs and exit
# codes intact.
# shellcheck shell=bash

all_serving() {
  "$BIN/berth" --exec-root "$EXEC_ROOT" status >/dev/null 2>&1
}

test_status() {
  say "== berth status"
  local out
  out=$("$BIN/berth" --exec-root "$EXEC_ROOT" status)
  check "all components serving" all_serving
  for c in apiserver imaged runtimed netd stored; do
    check_contains "status lists $c" "$c" "$out"
  done
  out=$(ps -o user= -p "$(daemon_pid apiserver)")
  check_eq "apiserver runs unprivileged" "berth" "$(echo $out)"
  out=$(ps -o user= -p "$(daemon_pid imaged)")
  check_eq "imaged runs unprivileged" "berth" "$(echo $out)"
  out=$(grep CapBnd "/proc/$(daemon_pid netd)/status" | awk '{print $2}')
  # CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_SYS_ADMIN (21).
  check_eq "netd keeps only SYS_ADMIN, NET_ADMIN and NET_BIND_SERVICE" "0000000000201400" "$out"
  out=$(stat -c '%a' "$EXEC_ROOT/docker.sock")
  check_eq "docker.sock mode" "660" "$out"
}

test_crash_recovery() {
  say "== daemons killed while containers run"
  local ticker sleeper out component before
  ticker=$(docker run -d --name ticker busybox sh -c 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done')
  sleeper=$(docker run -d --name sleeper busybox sh -c 'trap "exit 7" TERM; while true; do sleep 0.1; done')
  for component in apiserver imaged runtimed netd stored; do
    before=$(daemon_pid "$component")
    kill -9 "$before"
    wait_for 15 sh -c "[ -n \"\$(pgrep -P $SUPERVISOR_PID -f 'berth-$component ')\" ] && [ \"\$(pgrep -P $SUPERVISOR_PID -f 'berth-$component ')\" != $before ]"
    wait_for 15 all_serving
    check "$component restarted after SIGKILL" all_serving
    out=$(docker ps --format '{{.Names}}' | sort | tr '\n' ' ')
    check_eq "containers still running after $component died" "sleeper ticker " "$out"
  done
  local lines_before lines_after
  lines_before=$(docker logs ticker | wc -l)
  sleep 1
  lines_after=$(docker logs ticker | wc -l)
  if ((lines_after > lines_before)); then pass "logging continues across restarts"; else
    fail "logging continues across restarts" "$lines_before -> $lines_after"; fi
  check_contains "early log lines kept" "tick0" "$(docker logs ticker | head -1)"
  check "stop after restarts" docker stop -t 5 sleeper
  check_eq "exit code after restarts" "7" "$(docker inspect --format '{{.State.ExitCode}}' sleeper)"

  say "== a container exits while runtimed is down"
  local pid
  pid=$(docker inspect --format '{{.State.Pid}}' ticker)
  kill -STOP "$SUPERVISOR_PID"
  kill -9 "$(daemon_pid runtimed)"
  out=$(docker ps 2>&1)
  check_contains "503 names runtimed while it is down" "runtimed" "$out"
  check "apiserver still answers version" docker version
  kill -9 "$pid"
  sleep 0.5
  kill -CONT "$SUPERVISOR_PID"
  wait_for 15 all_serving
  wait_for 10 sh -c "[ \"\$(docker inspect --format '{{.State.Status}}' ticker)\" = exited ]"
  out=$(docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' ticker)
  check_eq "exit recorded after runtimed came back" "exited 137" "$out"
  check "berth restart runtimed" "$BIN/berth" --exec-root "$EXEC_ROOT" restart runtimed
  check "rm after restarts" docker rm -f ticker sleeper
}
