# The systemd cgroup driver (daemon.json exec-opts native.cgroupdriver=systemd)
# against a real systemd: a private one, booted as PID 1 of its own pid,
# mount, UTS and IPC namespaces on a minimal root (read-only /usr, a tmpfs
# /etc whose default target pulls in nothing), in a cgroup subtree of this
# test's own. It runs none of the host's units. A second berth engine runs
# in that systemd's PID namespace (a scope takes PIDs as its manager sees
# them, as on any host where dockerd and systemd share one) and reaches it
# over its private socket, which the root's /run, a host directory, exposes.
# shellcheck shell=bash

SD_DIR=
SD_CG=
SD_PID=
SD_LAUNCHER=

# Every v1 hierarchy and the unified one (the name=systemd one included).
sd_hierarchies() {
  local h
  for h in /sys/fs/cgroup/*; do
    [ -f "$h/cgroup.procs" ] && echo "$h"
  done
  [ -f /sys/fs/cgroup/cgroup.procs ] && echo /sys/fs/cgroup
  return 0
}

# sd_boot [v2]: v2 mounts the unified hierarchy alone at /sys/fs/cgroup, so
# systemd runs as on a cgroup v2 host (without controllers: this host binds
# them to v1).
sd_boot() {
  SD_MODE=${1:-v1}
  SD_DIR=$(mktemp -d /tmp/sd.XXXXXX)
  SD_CG=berth-sd-$$
  mkdir -p "$SD_DIR/root" "$SD_DIR/run"
  local h
  for h in $(sd_hierarchies); do
    mkdir -p "$h/$SD_CG"
    if [ -f "$h/cpuset.cpus" ]; then
      cat "$h/cpuset.cpus" >"$h/$SD_CG/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h/$SD_CG/cpuset.mems"
    fi
  done
  # The launcher moves itself into the subtree, so systemd (its child) takes
  # the subtree for its root; then the namespaces, the root, and systemd.
  bash -c '
    for h in $(ls -d /sys/fs/cgroup/*/ /sys/fs/cgroup/); do
      [ -f "$h/'"$SD_CG"'/cgroup.procs" ] && echo $$ >"$h/'"$SD_CG"'/cgroup.procs"
    done
    exec unshare --fork --pid --mount --uts --ipc --propagation private -- \
      bash -c "$1" boot "$2" "$3"
  ' launcher '
    set -eu
    R=$1/root
    mount -t tmpfs -o mode=0755 berth-sd "$R"
    mkdir -p "$R"/{usr,etc/systemd/system,run,proc,sys,dev,tmp,var,root,old}
    for l in bin sbin lib lib32 lib64; do ln -s usr/$l "$R/$l"; done
    mount --bind /usr "$R/usr"
    mount -o remount,bind,ro "$R/usr"
    mount --bind "$1/run" "$R/run"
    mount -t proc proc "$R/proc"
    mount --rbind /sys "$R/sys"
    mount -o remount,bind,ro "$R/sys"
    if [ "$2" = v2 ]; then
      mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
    else
      # systemd sets /sys/fs/cgroup up itself: directories and links for the
      # controllers it knows, then a read-only remount of that tmpfs, which
      # would reach the host (a mount namespace shares the file system, not
      # its own copy). A tmpfs of its own, holding the host hierarchies,
      # keeps all of that private.
      mount -t tmpfs -o mode=0755 cgroup "$R/sys/fs/cgroup"
      for h in /sys/fs/cgroup/*; do
        n=${h##*/}
        if [ -L "$h" ]; then
          ln -s "$(readlink "$h")" "$R/sys/fs/cgroup/$n"
        elif mountpoint -q "$h"; then
          mkdir "$R/sys/fs/cgroup/$n"
          mount --bind "$h" "$R/sys/fs/cgroup/$n"
        fi
      done
    fi
    # The nodes of the devices a container gets, as a host has them: systemd
    # names DeviceAllow= entries by their node in its own /dev.
    mount -t tmpfs -o mode=0755 dev "$R/dev"
    mkdir "$R/dev/net"
    for n in null zero full random urandom tty ptmx net/tun; do
      [ -e "/dev/$n" ] || continue
      touch "$R/dev/$n"
      mount --bind "/dev/$n" "$R/dev/$n"
    done
    printf "ID=berth-test\nNAME=berth-test\n" >"$R/etc/os-release"
    printf "root:x:0:0:root:/root:/bin/sh\n" >"$R/etc/passwd"
    printf "root:x:0:\n" >"$R/etc/group"
    od -An -N16 -tx1 /dev/urandom | tr -d " \n" >"$R/etc/machine-id"
    echo >>"$R/etc/machine-id"
    printf "[Unit]\nDescription=berth e2e: nothing\nDefaultDependencies=no\n" \
      >"$R/etc/systemd/system/berth-e2e.target"
    ln -s berth-e2e.target "$R/etc/systemd/system/default.target"
    cd "$R"
    pivot_root . old
    umount -l /old
    rmdir /old
    exec env -i container=berth-e2e /lib/systemd/systemd --system --unit=berth-e2e.target
  ' "$SD_DIR" "$SD_MODE" </dev/null >"$SD_DIR/systemd.log" 2>&1 &
  SD_LAUNCHER=$!
  wait_for 20 test -S "$SD_DIR/run/systemd/private" || return 1
  SD_PID=$(pgrep -P "$SD_LAUNCHER" | head -1)
  [ -n "$SD_PID" ] || return 1
  # wait_for runs a command, not a shell function.
  local deadline=$((SECONDS + 30))
  until sd_running; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# systemctl inside the private systemd's namespaces, talking to it.
sd_ctl() { nsenter -t "$SD_PID" -m -p -u -i systemctl --no-pager "$@"; }
sd_running() { [ "$(sd_ctl is-system-running 2>/dev/null)" = running ]; }
sd_prop() { sd_ctl show -p "$2" --value "$1" 2>/dev/null; }
# The scope's directory in hierarchy $2 ("memory", "systemd", ...).
sd_scope_dir() { echo "/sys/fs/cgroup/$2/$SD_CG/system.slice/$1"; }

# What systemd must leave as it was on the host: the entries of its
# /sys/fs/cgroup and that file system's options.
sd_host_cgroup_state() {
  ls -A /sys/fs/cgroup
  grep " /sys/fs/cgroup " /proc/self/mountinfo | sed "s/.* - //"
}

sd_teardown() {
  [ -n "$SD_PID" ] && kill -KILL "$SD_PID" 2>/dev/null
  [ -n "$SD_LAUNCHER" ] && wait "$SD_LAUNCHER" 2>/dev/null
  local h
  for h in $(sd_hierarchies); do
    [ -d "$h/$SD_CG" ] && find "$h/$SD_CG" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  [ -n "$SD_DIR" ] && rm -rf "$SD_DIR"
}

SD_SAVED=()
sd_engine_start() {
  SD_SAVED=("$E2E_DIR" "$ROOT" "$EXEC_ROOT" "$CGROUP_PARENT" "$DOCKER_HOST" "$DOCKER_CONFIG"
    "$E2E_BRIDGE" "$E2E_NET_OCTET" "$SUPERVISOR_PID")
  E2E_DIR=$(mktemp -d /tmp/bs.XXXXXX)
  chmod 0711 "$E2E_DIR"
  ROOT=$E2E_DIR/root
  EXEC_ROOT=$E2E_DIR/run
  CGROUP_PARENT=berth-sd-e2e-$$
  export DOCKER_HOST=unix://$EXEC_ROOT/docker.sock
  export DOCKER_CONFIG=$E2E_DIR/docker-config
  mkdir -p "$DOCKER_CONFIG"
  E2E_BRIDGE=bs$$
  E2E_NET_OCTET=$((($$ + 100) % 200 + 20))
  printf '{"bridge": "%s", "bip": "10.%d.0.1/24", "certs-dir": "%s",
    "default-address-pools": [{"base": "10.%d.0.0/16", "size": 24}],
    "exec-opts": ["native.cgroupdriver=systemd"]}\n' \
    "$E2E_BRIDGE" "$E2E_NET_OCTET" "$E2E_DIR/certs.d" "$E2E_NET_OCTET" >"$E2E_DIR/daemon.json"
  chmod 0644 "$E2E_DIR/daemon.json"
  # Its own mount namespace only for a /proc of systemd's PID namespace (and
  # in v2 mode, systemd's view of /sys/fs/cgroup); host mounts still
  # propagate in.
  local cgroup2=true
  [ "$SD_MODE" = v2 ] && cgroup2="mount -t cgroup2 cgroup2 /sys/fs/cgroup"
  nsenter -t "$SD_PID" -p -- unshare --mount --propagation slave -- \
    sh -c "mount -t proc proc /proc && $cgroup2 && exec \"\$@\"" engine \
    env BERTH_SYSTEMD_BUS_ADDRESS="unix:path=$SD_DIR/run/systemd/private" \
    "$BIN/berth" --root "$ROOT" --exec-root "$EXEC_ROOT" daemon \
    --config-file "$E2E_DIR/daemon.json" --log-level "${BERTH_LOG_LEVEL:-info}" \
    >"$E2E_DIR/berth.log" 2>&1 &
  SD_ENGINE_LAUNCHER=$!
  if ! wait_for 30 grep -q "berth is ready" "$E2E_DIR/berth.log"; then
    say "engine did not become ready:"; cat "$E2E_DIR/berth.log" >&2
    return 1
  fi
  SUPERVISOR_PID=$(pgrep -P "$SD_ENGINE_LAUNCHER" | head -1)
  wait_for 10 docker version
}

sd_engine_stop() {
  docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1
  [ -n "${SUPERVISOR_PID:-}" ] && kill -TERM "$SUPERVISOR_PID" 2>/dev/null
  wait "$SD_ENGINE_LAUNCHER" 2>/dev/null
  SUPERVISOR_PID=
}

sd_engine_restore() {
  engine_cleanup
  E2E_DIR=${SD_SAVED[0]} ROOT=${SD_SAVED[1]} EXEC_ROOT=${SD_SAVED[2]} CGROUP_PARENT=${SD_SAVED[3]}
  export DOCKER_HOST=${SD_SAVED[4]} DOCKER_CONFIG=${SD_SAVED[5]}
  E2E_BRIDGE=${SD_SAVED[6]} E2E_NET_OCTET=${SD_SAVED[7]} SUPERVISOR_PID=${SD_SAVED[8]}
}

# Scopes of berth's containers systemd still knows.
sd_berth_units() { sd_ctl list-units --all --no-legend --plain 'berth-*.scope' 2>/dev/null; }

test_systemd_cgroups() {
  say "== the systemd cgroup driver, against a private systemd"
  local out id unit pid err host_cgroups
  host_cgroups=$(sd_host_cgroup_state)
  if ! sd_boot; then
    fail "a private systemd boots" "$(tail -5 "$SD_DIR/systemd.log" 2>/dev/null)"
    sd_teardown
    return
  fi
  pass "a private systemd boots"
  check_eq "it runs none of the host's services" "" \
    "$(sd_ctl list-units --type=service --state=active --no-legend --plain)"

  # Start-up refuses the driver when systemd does not answer.
  out=$(mktemp -d /tmp/bsx.XXXXXX)
  echo '{"exec-opts": ["native.cgroupdriver=systemd"]}' >"$out/daemon.json"
  err=$(BERTH_SYSTEMD_BUS_ADDRESS="unix:path=$out/none" timeout 20 "$BIN/berth-runtimed" \
    --root "$out/root" --exec-root "$out/run" --config-file "$out/daemon.json" 2>&1)
  check "runtimed refuses to start when systemd is unreachable" test $? -ne 0
  check_contains "and says why" "cannot connect to systemd at unix:path=$out/none" "$err"
  echo '{"exec-opts": ["native.cgroupdriver=upstart"]}' >"$out/daemon.json"
  err=$(timeout 20 "$BIN/berth-runtimed" --root "$out/root" --exec-root "$out/run" \
    --config-file "$out/daemon.json" 2>&1)
  check_contains "an unknown driver is refused in dockerd's words" \
    "native.cgroupdriver option upstart not supported" "$err"
  rm -rf "$out"

  if ! sd_engine_start; then
    fail "an engine with the systemd driver starts"
    sd_engine_stop; sd_engine_restore; sd_teardown
    return
  fi
  pass "an engine with the systemd driver starts"
  "$REPO/scripts/make-busybox-image.sh" "$E2E_DIR/busybox.tar" >/dev/null
  docker load -i "$E2E_DIR/busybox.tar" >/dev/null
  check_eq "docker info shows the systemd driver" "systemd" "$(docker info -f '{{.CgroupDriver}}')"

  id=$(docker run -d --name sd1 --memory 64m --cpus 0.5 --pids-limit 20 busybox sleep 300)
  unit=berth-$id.scope
  check_eq "the container runs" "true" "$(docker inspect -f '{{.State.Running}}' sd1 2>/dev/null)"
  check_eq "its scope is active in systemd" "active" "$(sd_ctl is-active "$unit")"
  check_eq "in system.slice" "system.slice" "$(sd_prop "$unit" Slice)"
  check_eq "delegated" "yes" "$(sd_prop "$unit" Delegate)"
  check_eq "MemoryLimit" "67108864" "$(sd_prop "$unit" MemoryLimit)"
  check_eq "CPUQuotaPerSecUSec" "500ms" "$(sd_prop "$unit" CPUQuotaPerSecUSec)"
  check_eq "TasksMax" "20" "$(sd_prop "$unit" TasksMax)"
  check_eq "memory.limit_in_bytes of the scope" "67108864" \
    "$(cat "$(sd_scope_dir "$unit" memory)/memory.limit_in_bytes" 2>&1)"
  check_eq "cpu.cfs_quota_us of the scope" "50000" \
    "$(cat "$(sd_scope_dir "$unit" cpu)/cpu.cfs_quota_us" 2>&1)"
  check_eq "pids.max of the scope" "20" "$(cat "$(sd_scope_dir "$unit" pids)/pids.max" 2>&1)"
  pid=$(docker inspect -f '{{.State.Pid}}' sd1)
  check_contains "the scope holds the container's init" "$pid" \
    "$(nsenter -t "$SD_PID" -m -p cat "$(sd_scope_dir "$unit" systemd)/cgroup.procs")"
  out=$(docker exec sd1 cat /proc/self/cgroup)
  check_contains "a process exec'd in joins the scope" "/system.slice/$unit" "$out"
  check_contains "and its freezer cgroup" "freezer:/$SD_CG/system.slice/$unit" "$out"

  check "docker update" docker update --memory 128m --memory-swap 256m --pids-limit 30 --cpus 1 sd1
  check_eq "update: MemoryLimit" "134217728" "$(sd_prop "$unit" MemoryLimit)"
  check_eq "update: TasksMax" "30" "$(sd_prop "$unit" TasksMax)"
  check_eq "update: CPUQuotaPerSecUSec" "1s" "$(sd_prop "$unit" CPUQuotaPerSecUSec)"
  check_eq "update: memory.limit_in_bytes" "134217728" \
    "$(cat "$(sd_scope_dir "$unit" memory)/memory.limit_in_bytes")"
  check_eq "update: pids.max" "30" "$(cat "$(sd_scope_dir "$unit" pids)/pids.max")"

  check "docker pause" docker pause sd1
  check_eq "the scope is frozen" "FROZEN" "$(cat "$(sd_scope_dir "$unit" freezer)/freezer.state")"
  check "docker unpause" docker unpause sd1
  check_eq "and thawed" "THAWED" "$(cat "$(sd_scope_dir "$unit" freezer)/freezer.state")"
  out=$(docker stats --no-stream --format '{{.MemUsage}}' sd1)
  check_contains "docker stats reads the scope" "128MiB" "$out"

  restart_daemon runtimed
  check_eq "runtimed SIGKILLed and restarted: the container still runs" "true" \
    "$(docker inspect -f '{{.State.Running}}' sd1 2>/dev/null)"
  check_eq "and its scope is still active" "active" "$(sd_ctl is-active "$unit")"
  check "and docker update still reaches it" docker update --pids-limit 40 sd1
  check_eq "TasksMax after the restart" "40" "$(sd_prop "$unit" TasksMax)"

  check "docker stop" docker stop -t 1 sd1
  check "stop: the scope is gone" wait_for 15 sh -c "[ -z \"\$(nsenter -t $SD_PID -m -p \
    systemctl list-units --all --no-legend --plain $unit)\" ]"
  check "stop: its cgroups are gone" wait_for 15 sh -c \
    "! ls -d /sys/fs/cgroup/*/$SD_CG/system.slice/$unit 2>/dev/null | grep -q ."
  check "docker start again (the same scope name)" docker start sd1
  check_eq "the scope is back" "active" "$(sd_ctl is-active "$unit")"
  check_eq "with the updated limit" "134217728" "$(sd_prop "$unit" MemoryLimit)"
  check "docker rm -f" docker rm -f sd1
  check_eq "rm: no scope left" "" "$(sd_berth_units)"

  # The scope's limit holds, and the OOM kill is recorded although systemd
  # prunes the empty scope's cgroups (memory.oom_control with them) at once:
  # the shim latched it while the container ran.
  docker run --name sdoom --memory 32m --memory-swap 32m busybox \
    sh -c 'x=a; while :; do x=$x$x; done' >/dev/null 2>&1
  check_eq "the OOM killer ends a container over its scope's limit" "137" \
    "$(docker inspect -f '{{.State.ExitCode}}' sdoom)"
  check_eq "State.OOMKilled under the systemd driver" "true" \
    "$(docker inspect -f '{{.State.OOMKilled}}' sdoom)"
  docker rm -f sdoom >/dev/null
  # A plain SIGKILL is no OOM kill.
  docker run -d --name sdkill --memory 32m busybox sleep 60 >/dev/null
  docker kill sdkill >/dev/null
  docker wait sdkill >/dev/null
  check_eq "a SIGKILL under the systemd driver is no OOM kill" "false" \
    "$(docker inspect -f '{{.State.OOMKilled}}' sdkill)"
  docker rm -f sdkill >/dev/null

  # The device list is systemd's to re-apply: a daemon-reload (or a property
  # change) rewrites the scope's devices cgroup from DevicePolicy/DeviceAllow,
  # so they must carry the container's rules, or every device opens up.
  id=$(docker run -d --name sddev busybox sleep 300)
  unit=berth-$id.scope
  check_eq "DevicePolicy=strict on the scope" "strict" "$(sd_prop "$unit" DevicePolicy)"
  check_contains "DeviceAllow names the container's devices" "/dev/null rwm" \
    "$(sd_prop "$unit" DeviceAllow)"
  local devices
  devices=$(sort "$(sd_scope_dir "$unit" devices)/devices.list")
  check_contains "the scope's device list is the container's" "c 1:3 rwm" "$devices"
  sd_ctl daemon-reload
  check_eq "a systemd daemon-reload keeps the container's device list" "$devices" \
    "$(sort "$(sd_scope_dir "$unit" devices)/devices.list")"
  check "and /dev/null stays open" docker exec sddev sh -c 'echo x >/dev/null'
  docker rm -f sddev >/dev/null

  out=$(docker run --rm --cgroup-parent berth-e2e.slice busybox cat /proc/self/cgroup)
  check_contains "--cgroup-parent names a slice, nested as systemd nests them" \
    "pids:/$SD_CG/berth.slice/berth-e2e.slice/berth-" "$out"
  out=$(docker run --rm --cgroup-parent /berth busybox true 2>&1)
  check_contains "a parent that is not a slice is refused in dockerd's words" \
    "cgroup-parent for systemd cgroup should be a valid slice named as \"xxx.slice\"" "$out"
  check_eq "no container scope left" "" "$(sd_berth_units)"

  # berth-runc, as dockerd would run it with --systemd-cgroup.
  local bundle=$E2E_DIR/rbundle
  mkdir -p "$bundle/rootfs"
  docker create --name sdexport busybox >/dev/null
  docker export sdexport | tar -x -C "$bundle/rootfs"
  docker rm sdexport >/dev/null
  if [ -x "$bundle/rootfs/bin/sh" ]; then
    (cd "$bundle" && "$BIN/berth-runc" spec)
    python3 - "$bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["cat", "/proc/self/cgroup"]
c["linux"]["cgroupsPath"] = "system.slice:berth-runc:sdr1"
# The container reports its cgroup as the host names it.
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]
json.dump(c, open(sys.argv[1], "w"))
PY
    out=$(nsenter -t "$SD_PID" -p -- unshare --mount --propagation slave -- \
      sh -c 'mount -t proc proc /proc && exec "$@"' runc \
      env BERTH_SYSTEMD_BUS_ADDRESS="unix:path=$SD_DIR/run/systemd/private" \
      "$BIN/berth-runc" --systemd-cgroup --root "$E2E_DIR/runc-state" run -b "$bundle" sdr1 2>&1)
    check_contains "berth-runc --systemd-cgroup runs the container in its scope" \
      "memory:/$SD_CG/system.slice/berth-runc-sdr1.scope" "$out"
    out=$("$BIN/berth-runc" --root "$E2E_DIR/runc-state2" run -b "$bundle" sdr2 2>&1)
    check_contains "without the flag, the slice:prefix:name form is refused" \
      "pass --systemd-cgroup" "$out"
    check_eq "no berth-runc scope left" "" "$(sd_berth_units)"
  else
    fail "busybox rootfs for the berth-runc bundle"
  fi

  sd_engine_stop
  check_eq "no berth process of this engine left" "" \
    "$(pgrep -f -- "--exec-root=$EXEC_ROOT" || true)"
  check_eq "no container scope left in systemd" "" "$(sd_berth_units)"
  check_eq "no container cgroup left" "" \
    "$(find /sys/fs/cgroup/*/"$SD_CG" -type d -name 'berth-*.scope' 2>/dev/null)"
  check_no_network_leaks
  sd_engine_restore
  sd_teardown
  check_eq "systemd is gone" "" "$(ps -o pid= -p "$SD_PID" 2>/dev/null)"
  check_eq "its namespaces' processes are gone" "" "$(pgrep -f "container=berth-e2e" || true)"
  check_eq "its cgroup subtree is gone" "" "$(ls -d /sys/fs/cgroup/*/"$SD_CG" 2>/dev/null)"
  check_eq "its root is gone" "" "$(ls -d "$SD_DIR" 2>/dev/null)"
  check_eq "the host's /sys/fs/cgroup is as it was (entries, read-write)" "$host_cgroups" \
    "$(sd_host_cgroup_state)"
}

# The same driver where systemd and the engine see a cgroup v2 host: the
# unified hierarchy alone at /sys/fs/cgroup. This host binds every controller
# to v1, so no limits here: the scope, its path, exec, pause and removal.
test_systemd_cgroups_v2() {
  say "== the systemd cgroup driver on cgroup v2, against a private systemd"
  local id unit dir pid
  if ! sd_boot v2; then
    fail "a private systemd boots on cgroup v2" "$(tail -5 "$SD_DIR/systemd.log" 2>/dev/null)"
    sd_teardown
    return
  fi
  pass "a private systemd boots on cgroup v2"
  check_eq "it sees a cgroup v2 host" "cgroup2fs" \
    "$(nsenter -t "$SD_PID" -m stat -fc %T /sys/fs/cgroup)"
  if ! sd_engine_start; then
    fail "an engine with the systemd driver starts on cgroup v2"
    sd_engine_stop; sd_engine_restore; sd_teardown
    return
  fi
  pass "an engine with the systemd driver starts on cgroup v2"
  "$REPO/scripts/make-busybox-image.sh" "$E2E_DIR/busybox.tar" >/dev/null
  docker load -i "$E2E_DIR/busybox.tar" >/dev/null
  check_eq "docker info: the systemd driver on cgroup v2" "systemd 2" \
    "$(docker info -f '{{.CgroupDriver}} {{.CgroupVersion}}')"

  id=$(docker run -d --name sdv2 busybox sleep 300)
  unit=berth-$id.scope
  dir=/sys/fs/cgroup/unified/$SD_CG/system.slice/$unit
  check_eq "v2: the container runs" "true" \
    "$(docker inspect -f '{{.State.Running}}' sdv2 2>/dev/null)"
  check_eq "v2: its scope is active" "active" "$(sd_ctl is-active "$unit")"
  check_eq "v2: delegated" "yes" "$(sd_prop "$unit" Delegate)"
  check_eq "v2: systemd's ControlGroup" "/$SD_CG/system.slice/$unit" \
    "$(sd_prop "$unit" ControlGroup)"
  pid=$(docker inspect -f '{{.State.Pid}}' sdv2)
  check_contains "v2: the scope holds the init" "$pid" \
    "$(nsenter -t "$SD_PID" -p cat "$dir/cgroup.procs")"
  docker exec -d sdv2 sleep 301
  check "v2: a process exec'd in joins the scope" \
    wait_for 15 sh -c "[ \$(wc -l <'$dir/cgroup.procs') -ge 2 ]"
  check "v2: docker pause" docker pause sdv2
  check_contains "v2: the scope is frozen" "frozen 1" "$(cat "$dir/cgroup.events")"
  check "v2: docker unpause" docker unpause sdv2
  check_contains "v2: and thawed" "frozen 0" "$(cat "$dir/cgroup.events")"
  check "v2: docker rm -f" docker rm -f sdv2
  check "v2: the scope's cgroup is gone" wait_for 15 sh -c "[ ! -d '$dir' ]"
  check_eq "v2: no container scope left" "" "$(sd_berth_units)"

  sd_engine_stop
  check_eq "v2: no berth process of this engine left" "" \
    "$(pgrep -f -- "--exec-root=$EXEC_ROOT" || true)"
  check_no_network_leaks
  sd_engine_restore
  sd_teardown
  check_eq "v2: systemd is gone" "" "$(ps -o pid= -p "$SD_PID" 2>/dev/null)"
  check_eq "v2: its cgroup subtree is gone" "" "$(ls -d /sys/fs/cgroup/*/"$SD_CG" 2>/dev/null)"
}
