# shellcheck shell=bash
# docker events: container events from runtimed's journal, replayed with
# --since/--until, followed live, filtered.

test_events() {
  say "== docker events"
  local since out follower
  since=$(date +%s)
  docker run --name ev-one --label team=blue busybox sh -c 'exit 3' >/dev/null 2>&1
  docker rm ev-one >/dev/null
  out=$(docker events --since "$since" --until "$(($(date +%s) + 1))" \
        --filter container=ev-one --format '{{.Type}} {{.Action}}' | tr '\n' ',')
  check_eq "a container's life as events" \
    "container create,container attach,container start,container die,container destroy," "$out"
  out=$(docker events --since "$since" --until "$(($(date +%s) + 1))" --filter event=die \
        --filter label=team=blue --format '{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.name}} {{.Actor.Attributes.image}}')
  check_eq "die carries the exit code, name, image and labels filter" "3 ev-one busybox" "$out"
  out=$(docker events --since "$since" --until "$(($(date +%s) + 1))" --filter container=ev-one \
        --format '{{json .}}' | head -1)
  check_contains "the message has Docker's deprecated fields too" '"status":"create"' "$out"
  check_contains "and its scope" '"scope":"local"' "$out"

  follower=$E2E_DIR/events.follow
  docker events --filter type=container --format '{{.Action}} {{.Actor.Attributes.name}}' \
    >"$follower" 2>&1 &
  local pid=$!
  sleep 0.5
  docker run -d --name ev-two busybox sleep 30 >/dev/null
  docker pause ev-two >/dev/null
  docker unpause ev-two >/dev/null
  docker kill ev-two >/dev/null
  check "a follower sees events as they happen" wait_for 10 grep -q "^die ev-two" "$follower"
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  out=$(grep "ev-two" "$follower" | awk '{print $1}' | tr '\n' ',')
  check_eq "in order, with pause, unpause and kill" "create,start,pause,unpause,kill,die," "$out"
  docker rm ev-two >/dev/null
  since=$(date +%s)
  docker volume create ev-vol >/dev/null
  docker run --rm -v ev-vol:/data busybox true
  docker volume rm ev-vol >/dev/null
  out=$(docker events --since "$since" --until "$(($(date +%s) + 1))" --filter type=volume \
        --filter volume=ev-vol --format '{{.Action}}' | tr '\n' ',')
  check_eq "volume events from stored" "create,mount,unmount,destroy," "$out"

  since=$(date +%s)
  docker tag busybox ev-tag:1
  docker rmi ev-tag:1 >/dev/null
  out=$(docker events --since "$since" --until "$(($(date +%s) + 1))" --filter type=image \
        --format '{{.Action}} {{.Actor.Attributes.name}}' | tr '\n' ',')
  check_eq "image events from imaged" "tag ev-tag:1,untag ev-tag:1," "$out"

  since=$(date +%s)
  docker network create ev-net >/dev/null
  docker run --rm --network ev-net busybox true
  docker network rm ev-net >/dev/null
  out=$(docker events --since "$since" --until "$(($(date +%s) + 1))" --filter type=network \
        --filter network=ev-net --format '{{.Action}}' | tr '\n' ',')
  check_eq "network events from netd" "create,connect,disconnect,destroy," "$out"

  out=$(api -o /dev/null -w '%{http_code}' "http://x/events?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D&until=1")
  check_eq "an unknown filter is a 400" "400" "$out"
}

# events_of NAME SINCE: the container's actions since SINCE, comma-separated
# (kill with its signal).
events_of() {
  docker events --since "$2" --until "$(($(date +%s) + 1))" --filter "container=$1" \
    --format '{{.Action}}{{if .Actor.Attributes.signal}}/{{.Actor.Attributes.signal}}{{end}}' |
    tr '\n' ','
}

test_events_order() {
  say "== event order is a contract: create, start, die, (restart), destroy"
  local since out
  since=$(date +%s)
  docker run --name eo-run busybox true
  docker rm eo-run >/dev/null
  check_eq "run, then rm" "create,attach,start,die,destroy," "$(events_of eo-run "$since")"
  docker run --rm --name eo-rm busybox true
  wait_for 10 sh -c "! docker inspect eo-rm"
  check_eq "run --rm" "create,attach,start,die,destroy," "$(events_of eo-rm "$since")"
  docker run -d --name eo-attach busybox sleep 100 >/dev/null
  timeout -s KILL 2 docker attach eo-attach
  check_eq "docker attach" "create,start,attach," "$(events_of eo-attach "$since")"
  docker rm -f eo-attach >/dev/null
  docker run -d --name eo-kill busybox sleep 100 >/dev/null
  docker kill eo-kill >/dev/null
  docker wait eo-kill >/dev/null
  check_eq "kill" "create,start,kill/9,die," "$(events_of eo-kill "$since")"
  docker run -d --name eo-stop busybox sleep 100 >/dev/null
  docker stop -t 1 eo-stop >/dev/null
  check_eq "stop: kill with the stop signal, SIGKILL after the timeout, die, stop" \
    "create,start,kill/15,kill/9,die,stop," "$(events_of eo-stop "$since")"
  docker run -d --name eo-restart busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null
  docker restart -t 5 eo-restart >/dev/null
  check_eq "restart" "create,start,kill/15,die,stop,start,restart," "$(events_of eo-restart "$since")"
  docker run -d --name eo-policy --restart on-failure:2 busybox sh -c 'exit 2' >/dev/null
  wait_for 15 sh -c "[ \"\$(docker inspect -f '{{.RestartCount}} {{.State.Status}}' eo-policy)\" = '2 exited' ]"
  docker rm eo-policy >/dev/null
  check_eq "restart policy: die, start per restart" \
    "create,start,die,start,die,start,die,destroy," "$(events_of eo-policy "$since")"

  # --since / --until cut the same sequence; filters combine.
  local mid
  mid=$(docker events --since "$since" --until "$(($(date +%s) + 1))" --filter container=eo-stop \
        --filter event=die --format '{{.TimeNano}}')
  out=$(docker events --since "$since" --until "$((mid / 1000000000)).$(printf %09d $((mid % 1000000000)))" \
        --filter container=eo-stop --format '{{.Action}}' | tr '\n' ',')
  check_eq "--until ends at the die" "create,start,kill,kill,die," "$out"
  out=$(docker events --since "$((mid / 1000000000)).$(printf %09d $((mid % 1000000000)))" \
        --until "$(($(date +%s) + 1))" --filter container=eo-stop --format '{{.Action}}' | tr '\n' ',')
  check_eq "--since starts at the die" "die,stop," "$out"
  out=$(docker events --since "$since" --until "$(($(date +%s) + 1))" --filter event=kill \
        --filter event=stop --filter container=eo-stop --filter container=eo-kill \
        --format '{{.Action}} {{.Actor.Attributes.name}}' | tr '\n' ',')
  check_eq "filters: events OR events, containers OR containers, AND between" \
    "kill eo-kill,kill eo-stop,kill eo-stop,stop eo-stop," "$out"
  docker rm -f eo-kill eo-stop eo-restart >/dev/null
}

# raw_exec_detach CONTAINER: an exec with a terminal started through the API
# (the daemon, not the CLI, watches for the keys) and left with ctrl-p
# ctrl-q; prints the exec's ID and "closed" when the daemon ended the stream.
raw_exec_detach() {
  python3 - "$EXEC_ROOT/docker.sock" "$1" <<'PY'
import json, socket, sys, time
path, cid = sys.argv[1], sys.argv[2]
def call(method, url, body, upgrade=False):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(10)
    data = json.dumps(body).encode()
    extra = "Connection: Upgrade\r\nUpgrade: tcp\r\n" if upgrade else ""
    s.sendall(("%s %s HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n%s\r\n" % (method, url, len(data), extra)).encode() + data)
    return s
s = call("POST", "/containers/%s/exec" % cid,
         {"Cmd": ["sh"], "AttachStdin": True, "AttachStdout": True, "Tty": True})
reply = b""
while b"}" not in reply:
    reply += s.recv(4096)
eid = json.loads(reply.split(b"\r\n\r\n", 1)[1].split(b"\n")[-1] or reply.split(b"\r\n\r\n", 1)[1])["Id"]
s = call("POST", "/exec/%s/start" % eid, {"Detach": False, "Tty": True}, upgrade=True)
out = b""
while b"\r\n\r\n" not in out:
    out += s.recv(4096)
s.sendall(b"echo mark-$((3+4))\n")
deadline = time.time() + 10
while b"mark-7" not in out and time.time() < deadline:
    out += s.recv(4096)
s.sendall(b"\x10\x11")
closed = False
try:
    while True:
        data = s.recv(4096)
        if not data:
            closed = True
            break
except socket.timeout:
    pass
print(eid)
print("closed" if closed else "open")
PY
}

test_events_actions() {
  say "== docker events: Moby's actions beyond the lifecycle"
  local since until out id eid
  since=$(date +%s)
  docker run -d -t -i --name eva --label team=red busybox sh >/dev/null
  id=$(docker inspect -f '{{.Id}}' eva)
  docker top eva >/dev/null
  api -X POST "http://d/containers/eva/resize?h=30&w=100" >/dev/null
  docker exec eva sh -c 'exit 3'
  echo hello >"$E2E_DIR/ev-cp.txt"
  docker cp "$E2E_DIR/ev-cp.txt" eva:/tmp/ev-cp.txt
  docker cp eva:/tmp/ev-cp.txt "$E2E_DIR/ev-cp.back"
  docker export eva >/dev/null
  docker commit -m note eva ev-commit:v1 >/dev/null
  out=$(raw_attach eva ctrl-x,y '\x18' 'y')
  check_contains "attach ended by the detach keys" "closed" "$out"
  out=$(raw_exec_detach eva)
  eid=$(head -1 <<<"$out")
  check_contains "exec ended by the detach keys" "closed" "$out"
  check_eq "the detached exec runs on" "true" \
    "$(api "http://d/exec/$eid/json" | python3 -c 'import json,sys; print(str(json.load(sys.stdin)["Running"]).lower())')"
  docker rm -f eva >/dev/null
  docker run --name eva-oom --memory 32m --memory-swap 32m busybox \
    sh -c 'x=a; while :; do x=$x$x; done' >/dev/null 2>&1
  check_eq "the OOM kill is recorded" "true" "$(docker inspect -f '{{.State.OOMKilled}}' eva-oom)"
  docker container prune -f >/dev/null
  until=$(($(date +%s) + 1))

  # The events of other groups' containers may fall in the same second as
  # $since: each query names the container.
  ev() { docker events --since "$since" --until "$until" "$@"; }
  # (commit's pause and unpause aside; what follows the rm -f's kill, such as
  # the detached exec's exec_die, comes in the kernel's order.)
  out=$(ev --filter container=eva --format '{{.Action}}' | grep -vx -e pause -e unpause | tr '\n' ',')
  check_eq "every action of the container, in order" \
    "create,start,top,resize,exec_create: sh -c exit 3,exec_start: sh -c exit 3,exec_die,extract-to-dir,archive-path,export,commit,attach,detach,exec_create: sh ,exec_start: sh ,exec_detach" \
    "${out%%,kill,*}"
  check_contains "then rm -f's kill, die and destroy" ",kill,die,destroy," "${out//exec_die,/}"
  out=$(ev --filter container=eva --filter event=resize --format '{{.Actor.Attributes.height}}x{{.Actor.Attributes.width}} {{.Actor.Attributes.name}} {{.Actor.Attributes.team}}')
  check_eq "resize: height, width, name, labels" "30x100 eva red" "$out"
  out=$(ev --filter container=eva --filter event=top --filter event=export --filter event=detach --format '{{.Action}} {{.Actor.ID}}' | tr '\n' ',')
  check_eq "top, export, detach name the container" "top $id,export $id,detach $id," "$out"
  out=$(ev --filter container=eva --filter event=exec_die --format '{{index .Actor.Attributes "exitCode"}} {{index .Actor.Attributes "execID"}}' | head -1)
  check "exec_die: exit code and exec ID" grep -Eqx '3 [0-9a-f]{64}' <<<"$out"
  out=$(ev --filter container=eva --filter event=exec_create --filter event=exec_start --format '{{.Action}}' | head -2 | tr '\n' ',')
  check_eq "exec_create/exec_start filter by their verb" "exec_create: sh -c exit 3,exec_start: sh -c exit 3," "$out"
  out=$(ev --filter container=eva --filter event=exec_detach --format '{{.Actor.Attributes.execID}}')
  check_eq "exec_detach names the exec" "$eid" "$out"
  out=$(ev --filter container=eva --filter event=archive-path --filter event=extract-to-dir --format '{{.Action}} {{.Actor.Attributes.image}}' | tr '\n' ',')
  check_eq "docker cp: extract-to-dir then archive-path (Moby's actions)" \
    "extract-to-dir busybox,archive-path busybox," "$out"
  out=$(ev --filter container=eva --filter event=commit --format '{{index .Actor.Attributes "comment"}} {{index .Actor.Attributes "imageRef"}} {{index .Actor.Attributes "imageID"}}')
  check_eq "commit: comment, imageRef, imageID" \
    "note ev-commit:v1 $(docker inspect -f '{{.Id}}' ev-commit:v1)" "$out"
  out=$(ev --filter container=eva-oom --format '{{.Action}}' | tr '\n' ',')
  check_eq "the OOM kill is an event before the die" "create,attach,start,oom,die,destroy," "$out"
  out=$(ev --filter type=container --filter event=prune --format '{{.Action}} {{.Actor.Attributes.reclaimed}}')
  check_eq "container prune" "prune 0" "$out"
  out=$(docker events --since "$since" --until "$since" --filter container=eva --filter event=top --format '{{.Action}}')
  check_eq "--until before them: none" "" "$out"
  docker rmi ev-commit:v1 >/dev/null

  # docker rename: Moby's refusals, the new name everywhere, a rename event.
  since=$(date +%s)
  docker run -d --name evr-old busybox sleep 300 >/dev/null
  docker run -d --name evr-other busybox sleep 300 >/dev/null
  id=$(docker inspect -f '{{.Id}}' evr-old)
  check_contains "rename to a name in use" 'Conflict. The container name "/evr-other" is already in use' \
    "$(docker rename evr-old evr-other 2>&1)"
  check_contains "rename to the same name" "Renaming a container with the same name as its current name" \
    "$(docker rename evr-old evr-old 2>&1)"
  check_contains "rename to an invalid name" "Invalid container name (a b)" \
    "$(docker rename evr-old 'a b' 2>&1)"
  check_contains "rename of a missing container" "No such container: evr-nosuch" \
    "$(docker rename evr-nosuch x1 2>&1)"
  check "rename" docker rename evr-old evr-new
  check_eq "inspect has the new name" "/evr-new $id" "$(docker inspect -f '{{.Name}} {{.Id}}' evr-new)"
  check_eq "ps lists it by the new name" "evr-new" "$(docker ps --filter id="$id" --format '{{.Names}}')"
  check_fails "the old name is gone" docker inspect evr-old
  out=$(docker events --since "$since" --until "$(($(date +%s) + 1))" --filter event=rename \
        --format '{{.Actor.ID}} {{index .Actor.Attributes "oldName"}} {{index .Actor.Attributes "name"}}')
  check_eq "the rename event: oldName with Docker's slash, the new name" "$id /evr-old evr-new" "$out"
  # (runtimed's event journal is in memory, as dockerd's.)
  restart_runtimed
  check_eq "the new name survives a runtimed restart" "$id" "$(docker inspect -f '{{.Id}}' evr-new)"
  docker rm -f evr-new evr-other >/dev/null
}
