# Containers: run, create/start, ps, inspect, logs, wait, stop, kill,
# restart, rm, and the kernel objects behind them.
# shellcheck shell=bash

test_run_foreground() {
  say "== run (foreground)"
  local out
  out=$(docker run --rm busybox echo hello from berth)
  check_eq "run echo" "hello from berth" "$out"
  out=$(docker run --rm busybox sh -c 'echo to-out; echo to-err >&2' 2>/dev/null)
  check_eq "stdout alone" "to-out" "$out"
  out=$(docker run --rm busybox sh -c 'echo to-out; echo to-err >&2' 2>&1 >/dev/null)
  check_eq "stderr alone" "to-err" "$out"
  docker run --rm busybox sh -c 'exit 3'
  check_eq "exit code" "3" "$?"
  out=$(printf 'line1\nline2\n' | docker run -i --rm busybox cat)
  check_eq "stdin with -i, EOF closes it" "$(printf 'line1\nline2')" "$out"
  out=$(head -c 3000000 /dev/zero | docker run -i --rm busybox wc -c)
  check_eq "3 MB through stdin" "3000000" "$(echo $out)"
  out=$(docker run --rm busybox sh -c 'head -c 2000000 /dev/zero' | wc -c)
  check_eq "2 MB through stdout" "2000000" "$(echo $out)"
  out=$(script -qec "docker run -it --rm busybox sh -c 'tty; echo tty-ok'" /dev/null | tr -d '\r')
  check_contains "tty with -it" "/dev/pts/0" "$out"
  check_contains "tty output" "tty-ok" "$out"
  out=$(docker run --rm -e FOO=bar -e EMPTY= busybox sh -c 'echo "$FOO|$EMPTY|$PATH|$HOSTNAME"')
  check_contains "-e" "bar||/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|" "$out"
  out=$(docker run --rm -w /tmp/newdir busybox pwd)
  check_eq "-w creates and enters the directory" "/tmp/newdir" "$out"
  out=$(docker run --rm -u 65534:65534 busybox id)
  check_contains "-u uid:gid" "uid=65534(nobody) gid=65534(nogroup)" "$out"
  out=$(docker run --rm -u nobody busybox id -u)
  check_eq "-u name" "65534" "$out"
  out=$(docker run --rm -u nosuchuser busybox true 2>&1)
  check_contains "-u unknown user" "unable to find user nosuchuser" "$out"
  out=$(docker run --rm --entrypoint echo busybox via entrypoint)
  check_eq "--entrypoint" "via entrypoint" "$out"
  out=$(docker run --rm -h myhost busybox hostname)
  check_eq "-h" "myhost" "$out"
  out=$(docker run --rm busybox cat /etc/hostname)
  check_eq "default hostname is the short ID" "12" "${#out}"
  docker run --rm busybox nosuchcommand 2>/dev/null
  check_eq "command not found exits 127" "127" "$?"
  docker run --rm busybox /etc/passwd 2>/dev/null
  check_eq "not executable exits 126" "126" "$?"
  out=$(docker run --rm busybox nosuchcommand 2>&1)
  check_contains "command not found message" 'executable file not found in $PATH' "$out"
}

test_isolation() {
  say "== isolation and limits"
  local out
  for ns in pid mnt uts ipc net; do
    out=$(docker run --rm busybox readlink /proc/self/ns/$ns)
    if [ "$out" != "$(readlink /proc/self/ns/$ns)" ] && [ -n "$out" ]; then
      pass "own $ns namespace"
    else
      fail "own $ns namespace" "$out"
    fi
  done
  out=$(docker run --rm busybox sh -c 'echo $$')
  check_eq "the command is pid 1" "1" "$out"
  out=$(docker run --rm --network none busybox ip -o link | awk -F': ' '{print $2}' | tr '\n' ' ')
  check_eq "--network none has only lo" "lo " "$out"
  out=$(docker run --rm --network none busybox ip -o link show lo)
  check_contains "lo is up" "UP" "$out"
  out=$(docker run --rm --network host busybox readlink /proc/self/ns/net)
  check_eq "--network host shares the host netns" "$(readlink /proc/self/ns/net)" "$out"
  out=$(docker run --rm busybox grep CapEff /proc/self/status)
  check_contains "Docker's default capabilities" "00000000a80425fb" "$out"
  out=$(docker run --rm busybox sh -c 'ls /proc/self/fd | wc -l')
  check_eq "no descriptor leaks into the container" "4" "$(echo $out)"
  # Masked as Docker masks them: a file reads empty, a directory is empty.
  out=$(docker run --rm busybox sh -c 'wc -c < /proc/keys; ls /sys/firmware | wc -l')
  check_eq "/proc/keys and /sys/firmware are masked" "0 0" "$(echo $out)"
  out=$(docker run --rm busybox sh -c 'echo x > /proc/sys/kernel/domainname 2>&1 || echo refused')
  check_contains "/proc/sys is read-only" "refused" "$out"

  local id
  id=$(docker run -d --memory 64m --cpus 0.5 --pids-limit 50 --memory-reservation 32m \
        --memory-swappiness 0 --oom-kill-disable busybox sleep 30)
  if [ -d /sys/fs/cgroup/memory ]; then
    local memory=/sys/fs/cgroup/memory/$CGROUP_PARENT/$id
    check_eq "--memory-reservation in the cgroup" "33554432" \
      "$(cat $memory/memory.soft_limit_in_bytes 2>&1)"
    check_eq "--memory-swappiness in the cgroup" "0" "$(cat $memory/memory.swappiness 2>&1)"
    check_contains "--oom-kill-disable in the cgroup" "oom_kill_disable 1" \
      "$(cat $memory/memory.oom_control 2>&1)"
    check_eq "--memory in the cgroup" "67108864" \
      "$(cat /sys/fs/cgroup/memory/$CGROUP_PARENT/$id/memory.limit_in_bytes 2>&1)"
    check_eq "--cpus in the cgroup" "50000" \
      "$(cat /sys/fs/cgroup/cpu/$CGROUP_PARENT/$id/cpu.cfs_quota_us 2>&1)"
    check_eq "--pids-limit in the cgroup" "50" \
      "$(cat /sys/fs/cgroup/pids/$CGROUP_PARENT/$id/pids.max 2>&1)"
  else
    check_eq "--memory in the cgroup" "67108864" \
      "$(cat /sys/fs/cgroup/$CGROUP_PARENT/$id/memory.max 2>&1)"
    check_eq "--cpus in the cgroup" "50000 100000" \
      "$(cat /sys/fs/cgroup/$CGROUP_PARENT/$id/cpu.max 2>&1)"
    check_eq "--pids-limit in the cgroup" "50" \
      "$(cat /sys/fs/cgroup/$CGROUP_PARENT/$id/pids.max 2>&1)"
    check_eq "--memory-reservation in the cgroup" "33554432" \
      "$(cat /sys/fs/cgroup/$CGROUP_PARENT/$id/memory.low 2>&1)"
  fi
  out=$(docker run --rm --memory 16m busybox sh -c 'x=$(head -c 64000000 /dev/zero | tr "\0" a); echo survived' 2>&1; echo "exit=$?")
  check_contains "memory limit enforced (OOM kill)" "exit=137" "$out"
  check "rm -f limited container" docker rm -f "$id"
}

test_lifecycle() {
  say "== lifecycle"
  local out id
  id=$(docker run -d --name web -l app=web -l tier=front busybox sh -c 'echo started; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done')
  check_eq "run -d prints the ID" "64" "${#id}"
  out=$(docker ps --format '{{.Names}} {{.Status}}')
  check_contains "ps shows it running" "web Up" "$out"
  out=$(docker ps -q)
  check_eq "ps -q prints the short ID" "${id:0:12}" "$out"
  out=$(docker ps --filter name=web --format '{{.ID}}')
  check_eq "ps --filter name=" "${id:0:12}" "$out"
  out=$(docker ps --filter label=app=web --format '{{.Names}}')
  check_eq "ps --filter label=" "web" "$out"
  out=$(docker ps --filter label=app=db --format '{{.Names}}')
  check_eq "ps --filter label= (no match)" "" "$out"
  out=$(docker inspect --format '{{.State.Status}} {{.State.Running}} {{.Name}} {{index .Config.Labels "tier"}}' web)
  check_eq "inspect state" "running true /web front" "$out"
  out=$(docker inspect --format '{{.State.Pid}}' web)
  check "inspect pid is a live process" kill -0 "$out"
  wait_for 5 sh -c "docker logs web | grep -q started"
  check_eq "logs" "started" "$(docker logs web)"
  out=$(docker run --name web busybox true 2>&1)
  check_contains "name conflict" 'Conflict. The container name "/web" is already in use' "$out"
  check "stop" docker stop -t 5 web
  out=$(docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' web)
  check_eq "stopped by SIGTERM handler" "exited 0" "$out"
  check_contains "logs after stop" "bye" "$(docker logs web)"
  out=$(docker ps -a --filter status=exited --format '{{.Names}}')
  check_contains "ps -a --filter status=exited" "web" "$out"
  check_eq "ps without -a hides it" "" "$(docker ps --filter name=web -q)"
  check "restart" docker restart -t 1 web
  check_eq "running after restart" "running" "$(docker inspect --format '{{.State.Status}}' web)"
  check "kill -s" docker kill -s KILL web
  out=$(docker wait web)
  check_eq "wait after kill -s KILL" "137" "$out"
  out=$(docker kill web 2>&1)
  check_contains "kill a stopped container" "is not running" "$out"
  check "rm" docker rm web
  out=$(docker inspect web 2>&1)
  check_contains "inspect removed container" "No such object: web" "$out"

  id=$(docker create --name created1 busybox sh -c 'echo from-create; exit 5')
  check_eq "create leaves it created" "created" "$(docker inspect --format '{{.State.Status}}' created1)"
  out=$(docker start -a created1; echo "exit=$?")
  check_contains "start -a streams output" "from-create" "$out"
  check_contains "start -a exit code" "exit=5" "$out"
  check_eq "wait on an exited container" "5" "$(docker wait created1)"
  check "rm by ID prefix" docker rm "${id:0:8}"

  id=$(docker run -d busybox sh -c 'for i in 1 2 3 4 5; do echo line$i; done; sleep 30')
  wait_for 5 sh -c "docker logs $id | grep -q line5"
  check_eq "logs --tail" "$(printf 'line4\nline5')" "$(docker logs --tail 2 "$id")"
  out=$(docker logs -t --tail 1 "$id")
  if [[ "$out" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ line5$ ]]; then pass "logs -t"; else fail "logs -t" "$out"; fi
  id2=$(docker run -d busybox sh -c 'echo one; sleep 1; echo two')
  out=$(timeout 10 docker logs -f "$id2")
  check_eq "logs -f follows until exit" "$(printf 'one\ntwo')" "$out"
  out=$(docker stop -t 1 "$id")
  check_eq "stop -t escalates to SIGKILL" "137" "$(docker wait "$id")"
  check "rm -f running" docker rm -f "$id2"
  id=$(docker run -d busybox sleep 60)
  out=$(docker rm "$id" 2>&1)
  check_contains "rm running refused" "cannot remove a running container" "$out"
  check "rm -f" docker rm -f "$id"

  out=$(docker run --rm --name autorm busybox true; docker ps -a --filter name=autorm -q)
  check_eq "--rm removes the container" "" "$out"
  id=$(docker run -d --rm busybox sh -c 'sleep 0.5')
  wait_for 10 sh -c "! docker inspect $id"
  check_fails "-d --rm removed after exit" docker inspect "$id"
}

test_errors() {
  say "== errors"
  local out
  out=$(docker inspect --type container nosuch 2>&1)
  check_contains "unknown container" "No such container: nosuch" "$out"
  out=$(docker stop nosuch 2>&1)
  check_contains "stop unknown container" "No such container: nosuch" "$out"
  out=$(api -o /dev/null -w '%{http_code}' localhost/containers/nosuch/json)
  check_eq "404 status" "404" "$out"
  out=$(api -X POST -H 'Content-Type: application/json' -d '{bad json' localhost/containers/create)
  check_contains "malformed JSON is a 400 with a message" '"message"' "$out"
  out=$(api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{bad json' localhost/containers/create)
  check_eq "malformed JSON status" "400" "$out"
  out=$(api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d '{"Image":"busybox","Cmd":["true"]}' 'localhost/containers/create?name=bad%20name')
  check_eq "invalid name status" "400" "$out"
  out=$(api localhost/v1.99/version)
  check_contains "too new API version" "Maximum supported API version is 1.50" "$out"
  out=$(api -I localhost/_ping | tr -d '\r')
  check_contains "ping API-Version" "Api-Version: 1.50" "$out"
  check_contains "ping OSType" "Ostype: linux" "$out"
  id=$(docker run -d busybox sleep 30)
  out=$(docker kill -s NOSUCHSIG "$id" 2>&1)
  check_contains "unknown signal" "Invalid signal" "$out"
  docker rm -f "$id" >/dev/null
}
