# docker commit and docker build (the legacy builder, POST /build) with the
# real docker CLI.
# shellcheck shell=bash

test_commit() {
  say "== commit"
  local out id img
  docker run --network none --name cm1 -v /vol busybox sh -c \
    'echo committed > /hello; mkdir /d; echo x > /d/f; rm /bin/ls; echo inv > /vol/v' >/dev/null 2>&1
  check "commit a stopped container" docker commit -a me -m 'a message' cm1 commit-e2e:v1
  out=$(docker run --rm --network none commit-e2e:v1 cat /hello 2>&1)
  check_eq "the new image has the file" "committed" "$out"
  out=$(docker run --rm --network none commit-e2e:v1 sh -c 'test -e /bin/ls && echo there || echo gone')
  check_eq "a deleted file stays deleted (whiteout)" "gone" "$out"
  out=$(docker run --rm --network none commit-e2e:v1 sh -c 'ls -A /vol | wc -l')
  check_eq "volume content is not committed" "0" "$(echo "$out" | tr -d ' ')"
  out=$(docker run --rm --network none commit-e2e:v1 sh -c 'cat /etc/hostname')
  check_not_contains "the engine's /etc/hostname is not committed" "$(docker inspect -f '{{.Config.Hostname}}' cm1)" "$out"
  check_eq "author" "me" "$(docker image inspect -f '{{.Author}}' commit-e2e:v1 2>&1)"
  check_eq "comment" "a message" "$(docker image inspect -f '{{.Comment}}' commit-e2e:v1 2>&1)"
  out=$(docker history --no-trunc commit-e2e:v1 2>&1 | sed -n 2p)
  check_contains "history names the command" "echo committed" "$out"

  check "commit --change" docker commit --change 'CMD ["echo","x"]' --change 'ENV C=1' cm1 commit-e2e:v2
  check_eq "CMD from --change" "x" "$(docker run --rm --network none commit-e2e:v2 2>&1)"
  check_contains "ENV from --change" "C=1" "$(docker image inspect -f '{{.Config.Env}}' commit-e2e:v2)"

  id=$(docker run -d --network none --name cm2 busybox sh -c 'echo live > /live; sleep 300')
  wait_for 10 docker exec cm2 test -e /live
  img=$(docker commit cm2 2>&1)
  check_contains "commit of a running container prints the image ID" "sha256:" "$img"
  check_eq "the running container was paused and resumed" "running" \
    "$(docker inspect -f '{{.State.Status}}' cm2)"
  check_eq "running container's file is there" "live" \
    "$(docker run --rm --network none "$img" cat /live 2>&1)"
  check "commit --pause=false" docker commit --pause=false cm2 commit-e2e:v3

  out=$(docker commit nosuchcontainer-e2e 2>&1)
  check_contains "commit of a missing container is 404" "No such container: nosuchcontainer-e2e" "$out"
  check_eq "commit of a missing container answers 404" "404" \
    "$(api -o /dev/null -w '%{http_code}' -X POST 'http://x/commit?container=nosuchcontainer-e2e')"
  out=$(docker commit --change 'RUN echo' cm1 2>&1)
  check_contains "commit refuses RUN as a change" "not a valid change command" "$out"

  docker rm -f cm1 cm2 >/dev/null 2>&1
  docker rmi commit-e2e:v1 commit-e2e:v2 commit-e2e:v3 "$img" >/dev/null 2>&1
  docker volume prune -f >/dev/null 2>&1
}
