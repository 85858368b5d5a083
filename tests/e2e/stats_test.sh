# docker stats: one sample and streaming, from the cgroup counters.
# shellcheck shell=bash

test_stats() {
  say "== stats"
  local out lines cpu
  docker run -d --name stats1 -m 64m busybox sh -c 'sleep 1000 & while :; do :; done' >/dev/null
  out=$(docker stats --no-stream --format '{{.Name}} {{.PIDs}} {{.MemUsage}}' stats1)
  check_contains "stats --no-stream: name and pids (sh, sleep)" "stats1 2 " "$out"
  check_contains "memory limit from the cgroup" "/ 64MiB" "$out"
  cpu=$(docker stats --no-stream --format '{{.CPUPerc}}' stats1 | tr -d '%' | cut -d. -f1)
  check "a busy container shows CPU use" test "${cpu:-0}" -ge 20
  out=$(api "http://d/containers/stats1/stats?stream=0")
  check_eq "stats?stream=0 samples twice (precpu_stats, preread)" "True True" \
    "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin)
print(d["precpu_stats"]["cpu_usage"]["total_usage"] > 0, d["preread"] < d["read"])')"
  check_contains "stats JSON has the network" '"networks":{"eth0"' "$out"
  lines=$(curl -sS --max-time 2.5 --unix-socket "$EXEC_ROOT/docker.sock" \
    "http://d/containers/stats1/stats?stream=1" 2>/dev/null | grep -c '"read"')
  check "streaming stats send a sample a second" test "$lines" -ge 2
  out=$(docker stats --no-stream nosuchcontainer 2>&1)
  check_contains "stats of an unknown container" "No such container: nosuchcontainer" "$out"
  docker rm -f stats1 >/dev/null
}
