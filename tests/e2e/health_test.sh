# shellcheck shell=bash
# Healthchecks: --health-* flags, Docker's status rules, timeouts, the probe
# log in inspect, (healthy) in docker ps, and probing that survives runtimed
# being killed.

health_of() { docker inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null; }
# wait_for runs a command (timeout(1) bounds each attempt), not a function.
HEALTH_IS="docker inspect -f '{{.State.Health.Status}}' \"\$0\" | grep -qx \"\$1\""

test_health() {
  say "== healthchecks"
  local out
  docker run -d --name hc --health-cmd 'test -f /tmp/ok' --health-interval 300ms \
    --health-retries 2 busybox sh -c 'sleep 2; touch /tmp/ok; sleep 300' >/dev/null
  check_eq "a new container's health is starting" "starting" "$(health_of hc)"
  check "two failed probes make it unhealthy" wait_for 10 sh -c "$HEALTH_IS" hc unhealthy
  check "a passing probe makes it healthy" wait_for 10 sh -c "$HEALTH_IS" hc healthy
  out=$(docker ps --filter name=hc --format '{{.Status}}')
  check_contains "docker ps shows (healthy)" "(healthy)" "$out"
  out=$(docker inspect -f '{{len .State.Health.Log}} {{.State.Health.FailingStreak}}' hc)
  check_eq "five probes kept, no failing streak" "5 0" "$out"
  out=$(docker inspect -f '{{(index .State.Health.Log 4).ExitCode}}' hc)
  check_eq "the last probe's exit code" "0" "$out"

  # Probing goes on after runtimed is SIGKILLed and restarted.
  docker exec hc rm /tmp/ok
  kill -9 "$(daemon_pid runtimed)"
  check "the restarted runtimed probes again and sees it unhealthy" \
    wait_for 20 sh -c "$HEALTH_IS" hc unhealthy
  docker rm -f hc >/dev/null

  docker run -d --name hc-slow --health-cmd 'sleep 5' --health-timeout 500ms \
    --health-interval 300ms --health-retries 1 busybox sleep 300 >/dev/null
  check "a probe over its timeout counts as a failure" \
    wait_for 10 sh -c "$HEALTH_IS" hc-slow unhealthy
  out=$(docker inspect -f '{{(index .State.Health.Log 0).Output}} {{(index .State.Health.Log 0).ExitCode}}' hc-slow)
  check_eq "its output says so, as Docker's does" "Health check exceeded timeout (500ms) -1" "$out"
  docker rm -f hc-slow >/dev/null

  docker run -d --name hc-start --health-cmd false --health-interval 200ms --health-retries 1 \
    --health-start-period 30s busybox sleep 300 >/dev/null
  sleep 1.5
  check_eq "failures inside the start period do not count" "starting" "$(health_of hc-start)"
  docker rm -f hc-start >/dev/null

  out=$(docker inspect -f '{{.State.Health}}' "$(docker run -d busybox sleep 1)")
  check_eq "no healthcheck, no Health" "<nil>" "$out"
}
