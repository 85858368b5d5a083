# userns-remap (daemon.json) and --userns=host.

# Rewrites daemon.json with python's json (update: a JSON object merged in,
# or a key to delete) and restarts the daemons that read the remap.
userns_reconfigure() {
  python3 - "$E2E_DIR/daemon.json" "$1" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
change = json.loads(sys.argv[2])
if isinstance(change, str):
    config.pop(change, None)
else:
    config.update(change)
json.dump(config, open(sys.argv[1], "w"))
PY
  local d
  for d in stored runtimed apiserver; do restart_daemon "$d"; done
}

test_userns_remap() {
  say "== userns-remap: the containers' root is a subordinate id of dockremap"
  local out id pid sub_uid sub_gid upper layer_file data
  userns_reconfigure '{"userns-remap": "default"}'
  check_contains "docker info lists name=userns" "name=userns" \
    "$(docker info --format '{{json .SecurityOptions}}')"
  check "the dockremap user exists (created as dockerd does)" getent passwd dockremap
  sub_uid=$(awk -F: '$1 == "dockremap" {print $2}' /etc/subuid | sort -n | head -1)
  sub_gid=$(awk -F: '$1 == "dockremap" {print $2}' /etc/subgid | sort -n | head -1)
  check "dockremap has subordinate uids and gids" test -n "$sub_uid" -a -n "$sub_gid"

  check_eq "root inside the container" "0 0" "$(docker run --rm busybox sh -c 'echo $(id -u) $(id -g)')"
  out=$(docker run --rm busybox cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')
  check_eq "uid_map maps root to the first subordinate uid" "0 $sub_uid 65536" "$out"
  out=$(docker run --rm busybox cat /proc/self/gid_map | tr -s ' ' | sed 's/^ //')
  check_eq "gid_map maps root to the first subordinate gid" "0 $sub_gid 65536" "$out"

  docker run -d --name un1 busybox sh -c 'echo hi > /created && mkdir -p /made/deeper && sleep 300' \
    >/dev/null
  check "the remapped container runs" wait_for 20 docker exec un1 test -d /made/deeper
  pid=$(docker inspect -f '{{.State.Pid}}' un1)
  check_eq "its process is the subordinate uid's on the host" "$sub_uid" \
    "$(ps -o uid= -p "$pid" | tr -d ' ')"
  upper=$(find "$ROOT/stored" -path '*/diff/created' 2>/dev/null | head -1)
  check "the file is in the writable layer" test -n "$upper"
  check_eq "what container root wrote is the subordinate ids' on disk" "$sub_uid:$sub_gid" \
    "$(stat -c %u:%g "$upper")"
  check_eq "also the directories it made" "$sub_uid:$sub_gid" \
    "$(stat -c %u:%g "$(dirname "$upper")/made/deeper")"
  layer_file=$(find "$ROOT/stored/l" -path '*/bin/busybox' 2>/dev/null | head -1)
  check_eq "image layers are not chowned" "0:0" "$(stat -c %u:%g "$layer_file")"
  check_eq "image files are root's inside" "0 0" "$(docker exec un1 stat -c '%u %g' /bin/busybox)"
  check_eq "image files stay readable and run" "ok" "$(docker exec un1 sh -c 'cat /etc/passwd >/dev/null && echo ok')"
  check_eq "exec runs as the container's root" "0" "$(docker exec un1 id -u)"
  check_eq "exec is in the container's user namespace" "0 $sub_uid 65536" \
    "$(docker exec un1 cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
  check "/etc/hosts is writable by the remapped root" \
    docker exec un1 sh -c 'echo "10.9.9.9 extra" >> /etc/hosts'
  check "/etc/resolv.conf and /etc/hostname too" \
    docker exec un1 sh -c 'echo "# x" >> /etc/resolv.conf && cat /etc/hostname >/dev/null'
  check "/dev/shm is usable" docker exec un1 sh -c 'echo x > /dev/shm/f && rm /dev/shm/f'
  check "/tmp is usable" docker exec un1 sh -c 'echo x > /tmp/f'

  check "docker cp out of a remapped container" docker cp un1:/created "$E2E_DIR/un-created"
  check_eq "the copied file's content" "hi" "$(cat "$E2E_DIR/un-created" 2>/dev/null)"
  check_eq "docker cp's archive carries the container's ids" "0/0" \
    "$(docker cp un1:/created - | tar -tvnf - | awk '{print $2}')"
  echo into >"$E2E_DIR/un-into"
  check "docker cp into a remapped container" docker cp "$E2E_DIR/un-into" un1:/into
  check_eq "the container reads it" "into" "$(docker exec un1 cat /into)"
  check_eq "docker cp gives it to the container's root" "0 0" "$(docker exec un1 stat -c '%u %g' /into)"
  check "docker commit of a remapped container" docker commit un1 un-img
  check_eq "the committed image has the container's file" "hi" \
    "$(docker run --rm un-img cat /created)"
  check_eq "the committed layer records the container's root, not the host's ids" "0 0" \
    "$(docker run --rm un-img stat -c '%u %g' /created)"
  check "the committed image's directories stay writable by the remapped root" \
    docker run --rm un-img sh -c 'touch /made/deeper/x'

  # netd made the network namespace, so it is the host user namespace's:
  # dockerd's defaults are set from outside for ports below 1024 and ping.
  check_eq "ports below 1024 are open to the remapped root" "0" \
    "$(docker exec un1 cat /proc/sys/net/ipv4/ip_unprivileged_port_start)"
  # Listening until timeout ends it, rather than failing at once to bind.
  out=$(docker exec un1 sh -c 'timeout 1 nc -l -p 80 2>&1; echo "exit $?"')
  check_contains "the remapped root listens on port 80" "exit 143" "$out"
  check_not_contains "no bind error" "denied" "$out"
  check_eq "--network container: joins a remapped container" "0" \
    "$(docker run --rm --network container:un1 busybox cat /proc/sys/net/ipv4/ip_unprivileged_port_start)"
  check "docker restart of a remapped container" docker restart -t 1 un1
  check_eq "it is remapped again after the restart" "0 $sub_uid 65536" \
    "$(docker exec un1 cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
  check_eq "its files survived the restart" "hi" "$(docker exec un1 cat /created)"

  docker volume create unvol >/dev/null
  out=$(docker run --rm -v unvol:/data busybox sh -c 'echo v > /data/f && stat -c %u /data/f')
  check_eq "a volume is writable by the remapped root" "0" "$out"
  data=$(docker volume inspect -f '{{.Mountpoint}}' unvol)
  check_eq "its files are the subordinate uid's on disk" "$sub_uid" "$(stat -c %u "$data/f" 2>/dev/null)"
  out=$(docker run --rm -v uncopy:/etc busybox sh -c 'stat -c "%u %g" /etc/passwd && touch /etc/x && echo w')
  check_eq "a new volume gets the image's files, root's inside and writable" "$(printf '0 0\nw')" "$out"
  echo bound >"$E2E_DIR/un-bind"
  out=$(docker run --rm -v "$E2E_DIR/un-bind:/b:ro" busybox sh -c 'cat /b; stat -c %u /b')
  check_eq "a bind is not remapped: host root's file is nobody's" "$(printf 'bound\n65534')" "$out"

  out=$(docker run --rm --userns=host busybox cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')
  check_eq "--userns=host: the identity map" "0 0 4294967295" "$out"
  docker run -d --name un2 --userns=host busybox sleep 300 >/dev/null
  pid=$(docker inspect -f '{{.State.Pid}}' un2)
  check_eq "--userns=host: the host's root" "0" "$(ps -o uid= -p "$pid" | tr -d ' ')"
  out=$(docker run --rm --privileged busybox true 2>&1)
  check_contains "--privileged needs --userns=host" "privileged mode is incompatible with user namespaces" "$out"
  check "--privileged --userns=host runs" docker run --rm --privileged --userns=host busybox true
  out=$(docker run --rm --network host busybox true 2>&1)
  check_contains "--network host needs --userns=host" \
    "cannot share the host's network namespace when user namespaces are enabled" "$out"
  out=$(docker run --rm --pid host busybox true 2>&1)
  check_contains "--pid host needs --userns=host" \
    "cannot share the host PID namespace when user namespaces are enabled" "$out"

  # Killed daemons come back to the same remap (everything is derived from
  # daemon.json and /etc/subuid).
  restart_daemon stored
  restart_daemon runtimed
  check_eq "after stored and runtimed were killed, exec still enters the user namespace" \
    "0 $sub_uid 65536" "$(docker exec un1 cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
  check_eq "and a new container is remapped" "0 $sub_uid 65536" \
    "$(docker run --rm busybox cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"

  docker rm -f un1 un2 >/dev/null
  docker rmi un-img >/dev/null
  docker volume rm unvol uncopy >/dev/null
  userns_reconfigure '"userns-remap"'
  check_not_contains "without userns-remap docker info has no name=userns" "name=userns" \
    "$(docker info --format '{{json .SecurityOptions}}')"
  out=$(docker run --rm busybox cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')
  check_eq "and containers are not remapped" "0 0 4294967295" "$out"
}
