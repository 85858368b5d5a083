# shellcheck shell=bash
# Seccomp (Docker's default profile, a client's profile, unconfined) and
# no-new-privileges, checked from inside real containers.

test_security() {
  say "== seccomp and no-new-privileges"
  local out
  out=$(docker run --rm busybox grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status | tr -s '\t ' ' ')
  check_contains "the default profile is a filter" "Seccomp: 2" "$out"
  check_contains "no_new_privs is off by default" "NoNewPrivs: 0" "$out"
  out=$(docker run --rm busybox unshare -u true 2>&1; echo "rc=$?")
  check_contains "the default profile refuses new namespaces" "Operation not permitted" "$out"
  out=$(docker run --rm --cap-add SYS_ADMIN busybox unshare -u true 2>&1; echo "rc=$?")
  check_contains "CAP_SYS_ADMIN brings unshare back, as in Docker's profile" "rc=0" "$out"
  out=$(docker run --rm busybox sh -c 'mkdir /tmp/d && ls -d /tmp/d')
  check_eq "ordinary syscalls work under the default profile" "/tmp/d" "$out"

  out=$(docker run --rm --security-opt seccomp=unconfined busybox grep '^Seccomp:' /proc/self/status)
  check_eq "seccomp=unconfined runs without a filter" "Seccomp:	0" "$out"
  out=$(docker run --rm --privileged busybox grep '^Seccomp:' /proc/self/status)
  check_eq "--privileged runs without a filter" "Seccomp:	0" "$out"

  local profile=$E2E_DIR/no-mkdir.json
  cat >"$profile" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
JSON
  out=$(docker run --rm --security-opt "seccomp=$profile" busybox mkdir /tmp/x 2>&1; echo "rc=$?")
  check_contains "a client's profile is enforced" "Operation not permitted" "$out"
  out=$(docker run --rm --security-opt "seccomp=$profile" busybox sh -c 'echo ok > /tmp/f && cat /tmp/f')
  check_eq "what a client's profile allows still runs" "ok" "$out"
  echo '{"syscalls": []}' >"$E2E_DIR/bad.json"
  out=$(docker run --rm --security-opt "seccomp=$E2E_DIR/bad.json" busybox true 2>&1)
  check_contains "a profile without defaultAction is refused" "defaultAction" "$out"

  out=$(docker run --rm --security-opt no-new-privileges busybox grep '^NoNewPrivs:' /proc/self/status)
  check_eq "no-new-privileges sets no_new_privs" "NoNewPrivs:	1" "$out"
  out=$(docker run --rm --security-opt no-new-privileges --user 1000 busybox \
        grep '^Seccomp:' /proc/self/status)
  check_eq "the filter loads late for an unprivileged user with no_new_privs" "Seccomp:	2" "$out"
  out=$(docker run --rm --security-opt bogus=1 busybox true 2>&1)
  check_contains "an unknown --security-opt is refused" 'invalid --security-opt 2: "bogus=1"' "$out"
}

test_init() {
  say "== --init"
  local out
  out=$(docker run --rm --init busybox ps -o pid,args)
  check_contains "--init runs docker-init as pid 1" "1 /sbin/docker-init -- ps -o pid,args" "$out"
  out=$(docker run --rm --init busybox sh -c 'exit 7'; echo "rc=$?")
  check_eq "the command's exit code comes through the init" "rc=7" "$out"
  # tini forwards SIGTERM to a shell that ignores it as pid 1 otherwise.
  local id start
  id=$(docker run -d --init busybox sleep 300)
  start=$SECONDS
  docker stop -t 20 "$id" >/dev/null
  check "a stopped --init container ends on SIGTERM, not after the timeout" \
    test $((SECONDS - start)) -lt 10
  docker rm "$id" >/dev/null
  out=$(docker inspect -f '{{.HostConfig.Init}}' "$(docker create --init busybox true)")
  check_eq "inspect shows HostConfig.Init" "true" "$out"
}

test_devices() {
  say "== device cgroup and --device"
  local id out list
  id=$(docker run -d busybox sleep 60)
  list=/sys/fs/cgroup/devices/$CGROUP_PARENT/$id/devices.list
  if [ -f "$list" ]; then
    out=$(cat "$list")
    check_not_contains "the container's device cgroup does not allow everything" "a *:* rwm" "$out"
    check_contains "it allows /dev/null" "c 1:3 rwm" "$out"
    check_contains "and creating (not using) any node" "b *:* m" "$out"
  fi
  docker rm -f "$id" >/dev/null
  out=$(docker run --rm busybox sh -c 'mknod /tmp/kmsg c 1 11 && head -c 1 /tmp/kmsg' 2>&1)
  check_contains "a node made for a device outside the rules cannot be opened" \
    "Operation not permitted" "$out"
  out=$(docker run --rm --device /dev/null:/dev/mynull:rw busybox \
        sh -c 'echo x > /dev/mynull && stat -c "%t,%T" /dev/mynull')
  check_eq "--device maps a host device under a new name" "1,3" "$out"
  out=$(docker run --rm --device /dev/nope busybox true 2>&1)
  check_contains "a missing --device is refused" \
    'error gathering device information while adding custom device "/dev/nope"' "$out"
  out=$(docker run --rm --privileged busybox sh -c 'mknod /tmp/null2 c 1 3 && echo ok > /tmp/null2 && echo done')
  check_eq "a privileged container may use any device node" "done" "$out"
}

test_shared_namespaces() {
  say "== --pid / --ipc container: and host"
  local target out
  target=$(docker run -d --name ns-target --ipc shareable busybox \
           sh -c 'echo shared > /dev/shm/marker; sleep 300')
  wait_for 10 docker exec ns-target test -f /dev/shm/marker 2>/dev/null ||
    wait_for 10 test -n "$(docker top ns-target 2>/dev/null)"
  out=$(docker run --rm --pid container:ns-target busybox ps -o args)
  check_contains "--pid container: sees the other container's processes" "sleep 300" "$out"
  out=$(docker run --rm --ipc container:ns-target busybox cat /dev/shm/marker)
  check_eq "--ipc container: shares /dev/shm" "shared" "$out"
  check_eq "and the IPC namespace" \
    "$(docker run --rm --pid container:ns-target busybox readlink /proc/1/ns/ipc)" \
    "$(docker run --rm --ipc container:ns-target busybox readlink /proc/self/ns/ipc)"
  out=$(docker run --rm --pid host busybox readlink /proc/self/ns/pid)
  check_eq "--pid host shares the host's pid namespace" "$(readlink /proc/self/ns/pid)" "$out"
  local private
  private=$(docker run -d busybox sleep 300)
  out=$(docker run --rm --ipc "container:$private" busybox true 2>&1)
  check_contains "joining a private IPC namespace is refused as in Docker" "non-shareable IPC" "$out"
  docker rm -f "$private" >/dev/null
  out=$(docker run --rm --ipc none busybox sh -c 'ls -d /dev/shm 2>&1 || true')
  check_contains "--ipc none has no /dev/shm" "No such file or directory" "$out"
  docker stop -t 1 ns-target >/dev/null
  out=$(docker run --rm --pid container:ns-target busybox true 2>&1)
  check_contains "joining a stopped container's pid namespace is refused" \
    "cannot join PID of a non running container" "$out"
  docker rm -f "$target" >/dev/null
}
