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
