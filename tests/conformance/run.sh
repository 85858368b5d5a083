#!/usr/bin/env bash
# The OCI runtime conformance suite: for each config below, runs the checker
# as the container's process (tests/conformance/checker.cc) and reports its
# verdict on the live container, check by check; then checks that nothing of
# the container is left behind (state, cgroup, mounts).
#
# Usage: tests/conformance/run.sh [<runtime> [<checker>]] [-- <case>...]
#   runtime: berth-runc (default: bazel-bin's), or runc/crun as a reference.
# Exit status 0 only if every check of every case passed.
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
positional=()
while (($# > 0)) && [[ $1 != -- ]]; do
  positional+=("$1")
  shift
done
[[ ${1:-} == -- ]] && shift
runtime=$(realpath "${positional[0]:-$repo/bazel-bin/runtimed/berth-runc}")
checker=$(realpath "${positional[1]:-$repo/bazel-bin/tests/conformance/checker}")
cases=("$@")
if ((${#cases[@]} == 0)); then
  cases=(default full allns userns nons readonly rlimits caps caps_nonroot rootdot hooks timens)
fi

work=$(mktemp -d /tmp/confXXXXXX)
chmod 755 "$work"
cgroup_parent=berth-conformance-$$
state=$work/state
passed=0
failed=0

cleanup() {
  local id m c
  for id in "${cases[@]}"; do
    "$runtime" --root "$state" delete --force "conf-$id" >/dev/null 2>&1
  done
  for m in $(grep -F "$work" /proc/self/mountinfo | awk '{print $5}' | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  for c in /sys/fs/cgroup/*/"$cgroup_parent" /sys/fs/cgroup/unified/"$cgroup_parent"; do
    [[ -d $c ]] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

result() {  # result <ok?> <name> [detail]
  if [[ $1 == 0 ]]; then
    echo "ok $2"
    passed=$((passed + 1))
  else
    echo "FAIL $2${3:+: $3}"
    failed=$((failed + 1))
  fi
}

make_rootfs() {
  local root=$1 tool
  mkdir -p "$root"/{bin,proc,sys,dev,etc,tmp,hooklog}
  cp /bin/busybox "$root/bin/busybox"
  for tool in sh cat ls id true sleep echo; do ln -s busybox "$root/bin/$tool"; done
  cp "$checker" "$root/checker"
  echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
}

# The config of one case, on stdout: runc's `spec` default made
# non-interactive, then the case's changes.
make_config() {
  python3 - "$1" "$2" "$cgroup_parent" "$work" <<'PY'
import json, sys
case, bundle, parent, work = sys.argv[1:5]
caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
c = {
  "ociVersion": "1.0.2",
  "process": {
    "terminal": False, "user": {"uid": 0, "gid": 0},
    "args": ["/checker", "check", "/conformance.json", "/host.txt"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": True},
  "root": {"path": "rootfs", "readonly": False},
  "hostname": "conformance",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}],
  "linux": {
    "cgroupsPath": "/%s/%s" % (parent, case),
    "resources": {"devices": [{"allow": False, "access": "rwm"}],
                  "memory": {"limit": 67108864}, "pids": {"limit": 100}},
    "namespaces": [{"type": t} for t in ["pid", "network", "ipc", "uts", "mount"]],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                      "/proc/sysrq-trigger"]}}
L, P = c["linux"], c["process"]
def userns(uid_maps, gid_maps):
  L["namespaces"] += [{"type": "user"}, {"type": "cgroup"}]
  L["uidMappings"] = [dict(containerID=a, hostID=b, size=n) for a, b, n in uid_maps]
  L["gidMappings"] = [dict(containerID=a, hostID=b, size=n) for a, b, n in gid_maps]
if case == "full":
  c["domainname"] = "example.org"
  P["cwd"] = "/tmp/work"
  P["env"].append("CONFORMANCE=1")
  P["user"] = {"uid": 0, "gid": 0, "additionalGids": [10, 20], "umask": 0o77}
  P["oomScoreAdj"] = 200
  L["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "4096"}
  L["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                   "fileMode": 0o600, "uid": 0, "gid": 0}]
  L["resources"]["cpu"] = {"shares": 512}
  L["resources"]["devices"].append({"allow": True, "type": "c", "major": 10, "minor": 229,
                                    "access": "rwm"})
  L["rootfsPropagation"] = "rshared"
  c["mounts"].append({"destination": "/data", "type": "bind", "source": work + "/data",
                      "options": ["rbind", "ro", "nosuid", "private"]})
  c["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                      "options": ["nosuid", "nodev", "noexec", "size=1m"]})
elif case == "allns":
  userns([(0, 100000, 65536)], [(0, 100000, 65536)])
  # The time namespace is made by the init, in the user namespace that owns it.
  L["namespaces"].append({"type": "time"})
  L["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 0}}
elif case == "timens":
  # Ten years of uptime and 1 s less boot time than monotonic would allow.
  L["namespaces"].append({"type": "time"})
  L["timeOffsets"] = {"monotonic": {"secs": 315360000, "nanosecs": 5000},
                      "boottime": {"secs": 315360000 - 1, "nanosecs": 0}}
elif case == "userns":
  # Root alone, then the rest of the range elsewhere.
  userns([(0, 200000, 1), (1, 300001, 65535)], [(0, 200000, 1), (1, 300001, 65535)])
elif case == "nons":
  L["namespaces"] = []
  c["mounts"] = []
  L["maskedPaths"] = []
  L["readonlyPaths"] = []
  del c["hostname"]
elif case == "readonly":
  c["root"]["readonly"] = True
elif case == "rlimits":
  P["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 4096, "hard": 8192},
                  {"type": "RLIMIT_NPROC", "soft": 512, "hard": 1024},
                  {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                  {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 8388608}]
elif case == "caps":
  few = ["CAP_KILL", "CAP_SETUID"]
  P["capabilities"] = {"bounding": few + ["CAP_CHOWN"], "effective": few, "permitted": few}
elif case == "caps_nonroot":
  P["user"] = {"uid": 1000, "gid": 1000}
  one = ["CAP_NET_BIND_SERVICE"]
  P["capabilities"] = {"bounding": one + ["CAP_KILL"], "effective": one, "permitted": one,
                       "inheritable": one, "ambient": one}
elif case == "rootdot":
  c["root"]["path"] = "."
elif case == "hooks":
  def hook(name, inside=False):
    log = "/hooklog/hooks.log" if inside else bundle + "/rootfs/hooklog/hooks.log"
    return [{"path": "/checker" if inside else work + "/checker",
             "args": ["checker", "hook", name, log]}]
  c["hooks"] = {k: hook(k, k == "startContainer") for k in
                ["prestart", "createRuntime", "createContainer", "startContainer",
                 "poststart", "poststop"]}
print(json.dumps(c, indent=1))
PY
}

# What the container cannot see: the runtime's namespaces, and those of the
# paths a config joins.
host_namespaces() {
  local t
  for t in pid net mnt ipc uts user cgroup time; do
    [[ -e /proc/self/ns/$t ]] && echo "ns $t $(readlink /proc/self/ns/$t)"
  done
}

cp "$checker" "$work/checker"
mkdir -p "$work/data"
for case in "${cases[@]}"; do
  id=conf-$case
  bundle=$work/$case
  rootfs=$bundle/rootfs
  config=$bundle/config.json
  mkdir -p "$bundle"
  chmod 755 "$bundle"
  make_rootfs "$rootfs"
  make_config "$case" "$bundle" >"$config" || { result 1 "$case/config"; continue; }
  host_namespaces >"$rootfs/host.txt"
  case $case in
    allns) chown -R 100000:100000 "$rootfs" ;;
    userns) chown -R 200000:200000 "$rootfs" ;;
    rootdot)
      mv "$config" "$rootfs/config.json"
      sed -i 's/"path": "rootfs"/"path": "."/' "$rootfs/config.json"
      config=$rootfs/config.json
      bundle=$rootfs
      ;;
    nons)
      # No mount namespace: the root is chrooted into, and /proc there is
      # the host's (mounted by the suite, so the checker can read itself).
      mount -t proc proc "$rootfs/proc"
      ;;
  esac
  cp "$config" "$rootfs/conformance.json"
  out=$("$runtime" --root "$state" run --bundle "$bundle" "$id" 2>"$work/$case.err")
  rc=$?
  while IFS= read -r line; do
    [[ -n $line ]] || continue
    if [[ $line == ok\ * ]]; then
      result 0 "$case/${line#ok }"
    elif [[ $line == FAIL\ * ]]; then
      result 1 "$case/${line#FAIL }"
    fi
  done <<<"$out"
  result "$rc" "$case/exit status 0" "got $rc: $(head -c 400 "$work/$case.err")"
  if [[ $case == hooks ]]; then
    hooks=$("$checker" hooks "$rootfs/hooklog/hooks.log" "$id" "$bundle")
    while IFS= read -r line; do
      [[ $line == ok\ * ]] && result 0 "$case/${line#ok }"
      [[ $line == FAIL\ * ]] && result 1 "$case/${line#FAIL }"
    done <<<"$hooks"
  fi
  [[ $case == nons ]] && umount "$rootfs/proc"
  # Nothing left behind once run returns.
  "$runtime" --root "$state" state "$id" >/dev/null 2>&1
  result $((!$?)) "$case/cleanup: the container is gone"
  left=$(ls -d /sys/fs/cgroup/*/"$cgroup_parent/$case" 2>/dev/null | head -3)
  result $([[ -z $left ]]; echo $?) "$case/cleanup: no cgroup left" "$left"
  left=$(grep -F "$bundle" /proc/self/mountinfo | awk '{print $5}' | head -3)
  result $([[ -z $left ]]; echo $?) "$case/cleanup: no mount left" "$left"
done

echo "conformance ($(basename "$runtime")): $passed passed, $failed failed"
((failed == 0))
