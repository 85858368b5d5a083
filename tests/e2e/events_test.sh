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
    "container create,container start,container die,container destroy," "$out"
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
