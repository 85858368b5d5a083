# Shared helpers for berth's end-to-end tests: a private engine instance (its
# own root, exec root, cgroup parent and sockets) driven by the real docker
# CLI, assertions that count, and checks that nothing leaked.
# shellcheck shell=bash

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${BERTH_BIN:-$REPO/out/bin}
PASS=0
FAIL=0
FAILED_NAMES=()

say() { printf '%s\n' "$*" >&2; }

pass() { PASS=$((PASS + 1)); say "  ok   $1"; }
fail() {
  FAIL=$((FAIL + 1)); FAILED_NAMES+=("$1"); say "  FAIL $1"
  [ -n "${2:-}" ] && say "       $2"
  return 0
}

# check NAME CMD... : passes when CMD exits 0.
check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(printf '%s' "$out" | tail -5)"; fi
}

# check_fails NAME CMD... : passes when CMD exits non-zero.
check_fails() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then fail "$name" "unexpectedly succeeded: $out"; else pass "$name"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected [$2] got [$3]"; fi
}

# check_contains NAME NEEDLE HAYSTACK
check_contains() {
  if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1" "[$2] not in [$3]"; fi
}

check_not_contains() {
  if [[ "$3" != *"$2"* ]]; then pass "$1"; else fail "$1" "[$2] unexpectedly in [$3]"; fi
}

# Polls CMD for up to SECONDS; returns its success.
wait_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  # Each attempt is bounded too: a connection to a socket nobody serves yet
  # waits in its backlog.
  while ((SECONDS < deadline)); do
    timeout 10 "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  timeout 10 "$@" >/dev/null 2>&1
}

# Raw API access for what the CLI validates before sending.
api() {
  curl -sS --unix-socket "$EXEC_ROOT/docker.sock" "$@"
}

engine_start() {
  E2E_DIR=$(mktemp -d /tmp/be.XXXXXX)
  # The unprivileged daemons must be able to reach their directories below.
  chmod 0711 "$E2E_DIR"
  ROOT=$E2E_DIR/root
  EXEC_ROOT=$E2E_DIR/run
  CGROUP_PARENT=berth-e2e-$$
  export DOCKER_HOST=unix://$EXEC_ROOT/docker.sock
  export DOCKER_CONFIG=$E2E_DIR/docker-config
  mkdir -p "$DOCKER_CONFIG"
  # A bridge and subnets of this run's own, so parallel engines never share
  # one (see check_no_network_leaks).
  E2E_BRIDGE=be$$
  E2E_NET_OCTET=$(($$ % 200 + 20))
  printf '{"bridge": "%s", "bip": "10.%d.0.1/24", "certs-dir": "%s",
    "default-address-pools": [{"base": "10.%d.0.0/16", "size": 24}]}\n' \
    "$E2E_BRIDGE" "$E2E_NET_OCTET" "$E2E_DIR/certs.d" "$E2E_NET_OCTET" >"$E2E_DIR/daemon.json"
  chmod 0644 "$E2E_DIR/daemon.json"
  "$BIN/berth" --root "$ROOT" --exec-root "$EXEC_ROOT" daemon \
    --config-file "$E2E_DIR/daemon.json" \
    --cgroup-parent "$CGROUP_PARENT" --log-level "${BERTH_LOG_LEVEL:-info}" \
    >"$E2E_DIR/berth.log" 2>&1 &
  SUPERVISOR_PID=$!
  if ! wait_for 20 grep -q "berth is ready" "$E2E_DIR/berth.log"; then
    say "engine did not become ready:"; cat "$E2E_DIR/berth.log" >&2
    return 1
  fi
  wait_for 10 docker version
}

engine_logs() {
  for f in "$ROOT"/logs/*.log "$E2E_DIR/berth.log"; do
    say "----- $f"; tail -n "${1:-30}" "$f" >&2
  done
}

# Removes every container, then stops the engine.
engine_stop() {
  local ids
  ids=$(docker ps -aq 2>/dev/null)
  [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
  if [ -n "${SUPERVISOR_PID:-}" ]; then
    kill -TERM "$SUPERVISOR_PID" 2>/dev/null
    wait "$SUPERVISOR_PID" 2>/dev/null
  fi
}

# pid of one daemon, from the supervisor's children.
daemon_pid() {
  pgrep -P "$SUPERVISOR_PID" -f "berth-$1 " | head -1
}

cgroup_leftovers() {
  local d
  for d in /sys/fs/cgroup/*/"$CGROUP_PARENT" /sys/fs/cgroup/"$CGROUP_PARENT"; do
    [ -d "$d" ] && find "$d" -mindepth 1 -type d
  done
  return 0
}

# Proves that the engine left nothing behind. Run after every container is
# gone (mounts, cgroups, netns) and after the engine stopped (processes).
check_no_container_leaks() {
  check_eq "no container mounts left" "" \
    "$(grep -F "$E2E_DIR" /proc/self/mountinfo | awk '{print $5}' | grep -v '/netd/netns$' || true)"
  check_eq "no container cgroups left" "" "$(cgroup_leftovers)"
  check_eq "no network namespaces left" "" "$(ls -A "$EXEC_ROOT/netd/netns" 2>/dev/null)"
  check_eq "no shims left" "" "$(pgrep -f "berth-shim.*$EXEC_ROOT" || true)"
}

check_no_engine_leaks() {
  check_eq "no berth process left" "" "$(pgrep -f -- "--exec-root=$EXEC_ROOT" || true)"
  check_eq "no mounts left at all" "" "$(grep -F "$E2E_DIR" /proc/self/mountinfo || true)"
  check_no_network_leaks
}

# This run's default bridge and every bridge of its address pool are gone
# (their subnets no longer routed) once the engine stopped.
check_no_network_leaks() {
  [ -n "${E2E_BRIDGE:-}" ] || return 0
  check_eq "no default bridge left" "" "$(ip -o link show "$E2E_BRIDGE" 2>/dev/null)"
  check_eq "no network of this run left" "" \
    "$(ip -4 route show | grep -E "^10\.$E2E_NET_OCTET\." || true)"
  check_fails "no nftables table of this run left" nft list table ip "$(engine_firewall_table)"
  check_fails "no nftables ip6 table of this run left" nft list table ip6 "$(engine_firewall_table)"
  check_eq "no IPv6 network of this run left" "" \
    "$(ip -6 route show | grep -E "^fd0b:$E2E_NET_OCTET:" || true)"
}

# netd's nftables table: berth_<first 12 hex digits of sha256(exec root)>.
engine_firewall_table() {
  printf 'berth_%s' "$(printf '%s' "$EXEC_ROOT" | sha256sum | cut -c1-12)"
}

engine_cleanup() {
  local m
  nft delete table ip "$(engine_firewall_table)" 2>/dev/null
  nft delete table ip6 "$(engine_firewall_table)" 2>/dev/null
  for m in $(grep -F "$E2E_DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  local d
  for d in /sys/fs/cgroup/*/"$CGROUP_PARENT" /sys/fs/cgroup/"$CGROUP_PARENT"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  if [ -n "${E2E_BRIDGE:-}" ]; then
    local dev
    for dev in $E2E_BRIDGE $(ip -4 route show | awk -v p="^10\\.$E2E_NET_OCTET\\." \
      '$0 ~ p {for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1)}'); do
      ip link del "$dev" 2>/dev/null
    done
  fi
  rm -rf "$E2E_DIR"
}

report() {
  say ""
  if ((FAIL)); then
    say "failed:"; printf '  %s\n' "${FAILED_NAMES[@]}" >&2
  fi
  echo "e2e: $PASS passed, $FAIL failed"
  ((FAIL == 0))
}
