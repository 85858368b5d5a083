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
