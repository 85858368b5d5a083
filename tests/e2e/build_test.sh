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
  check_eq "Parent is the container's image" "$(docker image inspect -f '{{.Id}}' busybox)" \
    "$(docker image inspect -f '{{.Parent}}' commit-e2e:v1 2>&1)"
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

test_build() {
  say "== build"
  local d out id id2 before
  d="$E2E_DIR/build"
  mkdir -p "$d/ctx/sub" "$d/ctx/ignored"
  echo from-context >"$d/ctx/file.txt"
  echo nested >"$d/ctx/sub/n.txt"
  echo secret >"$d/ctx/ignored/s.txt"
  printf 'ignored\n*.tmp\n' >"$d/ctx/.dockerignore"
  echo tmp >"$d/ctx/x.tmp"
  cat >"$d/ctx/Dockerfile" <<'DF'
FROM busybox AS base
ARG GREETING=hello
ENV APP=/app
WORKDIR /app
RUN echo "$GREETING" > greeting && echo ran
COPY file.txt sub/ ./
LABEL org.example=yes
EXPOSE 8080
CMD ["cat", "/app/greeting"]

FROM busybox AS final
COPY --from=base /app/ /copied/
RUN ls /copied > /copied.list
CMD ["sh", "-c", "cat /copied/greeting /copied/file.txt"]
DF
  before=$(docker ps -aq --filter label=berth.build.step | wc -l)
  out=$(DOCKER_BUILDKIT=0 docker build -t build-e2e:one --build-arg GREETING=hi "$d/ctx" 2>&1)
  check_contains "legacy build succeeds" "Successfully tagged build-e2e:one" "$out"
  check_contains "RUN output is shown" "ran" "$out"
  check_contains "steps are numbered" "Step 1/13 : FROM busybox AS base" "$out"
  check_eq "the built image runs" "$(printf 'hi\nfrom-context')" \
    "$(docker run --rm --network none build-e2e:one 2>&1)"
  out=$(docker run --rm --network none build-e2e:one cat /copied.list 2>&1)
  check_contains "COPY of a directory's content" "n.txt" "$out"
  check_not_contains ".dockerignore honoured" "s.txt" "$out"
  check_eq "no build container left" "$before" "$(docker ps -aq --filter label=berth.build.step | wc -l)"

  out=$(DOCKER_BUILDKIT=0 docker build -t build-e2e:two --build-arg GREETING=hi "$d/ctx" 2>&1)
  check_contains "second build uses the cache" "Using cache" "$out"
  check_not_contains "second build runs nothing" "Running in" "$out"
  check_eq "cached build gives the same image" "$(docker image inspect -f '{{.Id}}' build-e2e:one)" \
    "$(docker image inspect -f '{{.Id}}' build-e2e:two 2>&1)"
  out=$(docker build --no-cache -t build-e2e:three --build-arg GREETING=hi "$d/ctx" 2>&1)
  check_contains "default docker build (legacy fallback) with --no-cache" "Successfully built" "$out"
  check_not_contains "--no-cache uses no cache" "Using cache" "$out"

  out=$(DOCKER_BUILDKIT=0 docker build -q --target base -t build-e2e:base "$d/ctx" 2>&1)
  check_contains "-q prints the image ID only" "sha256:" "$out"
  check_eq "--target stops at the stage" "hello" "$(docker run --rm --network none build-e2e:base 2>&1)"
  out=$(docker image inspect -f '{{index .Config.Labels "org.example"}} {{.Config.WorkingDir}} {{json .Config.ExposedPorts}}' build-e2e:base 2>&1)
  check_eq "LABEL, WORKDIR, EXPOSE in the config" 'yes /app {"8080/tcp":{}}' "$out"
  out=$(docker history build-e2e:base 2>&1)
  check_contains "history shows the RUN step" "|1 GREETING=hello /bin/sh -c echo" "$out"
  # Step images that have a child are intermediate: listed only with -a (a
  # stage's last step, with no child, is dangling and listed, as in Docker).
  local listed all_listed
  listed=$(docker images -q | wc -l)
  all_listed=$(docker images -aq | wc -l)
  check "docker images hides the build's intermediate images, -a shows them" \
    test "$all_listed" -gt "$listed"

  mkdir -p "$d/other"
  printf 'FROM busybox\nRUN echo f-flag > /f\n' >"$d/other/Custom.df"
  check "-f names the Dockerfile" env DOCKER_BUILDKIT=0 docker build -f "$d/other/Custom.df" -t build-e2e:f "$d/ctx"
  check_eq "-f image runs" "f-flag" "$(docker run --rm --network none build-e2e:f cat /f 2>&1)"
  out=$(printf 'FROM busybox\nCMD ["echo","stdin"]\n' | DOCKER_BUILDKIT=0 docker build -t build-e2e:stdin - 2>&1)
  check_contains "docker build - < Dockerfile" "Successfully tagged build-e2e:stdin" "$out"
  check_eq "stdin-built image runs" "stdin" "$(docker run --rm --network none build-e2e:stdin 2>&1)"

  before=$(docker images -q | wc -l)
  out=$(printf 'FROM busybox\nRUN false\n' | DOCKER_BUILDKIT=0 docker build -t build-e2e:fail - 2>&1)
  check_contains "failing RUN reports Docker's message" \
    "The command '/bin/sh -c false' returned a non-zero code: 1" "$out"
  check_fails "failing build leaves no tag" docker image inspect build-e2e:fail
  check_eq "failing build leaves no container" "0" "$(docker ps -aq --filter label=berth.build.step | wc -l)"
  out=$(printf 'FROM busybox\nFOO bar\n' | DOCKER_BUILDKIT=0 docker build - 2>&1)
  check_contains "unknown instruction names it" "unknown instruction: FOO" "$out"

  out=$(docker image inspect -f '{{json .Config.Env}}' build-e2e:base 2>&1)
  check_contains "ENV in the config" '"APP=/app"' "$out"
  out=$(DOCKER_BUILDKIT=0 docker build --compress -t build-e2e:gz --build-arg GREETING=gz --target base "$d/ctx" 2>&1)
  check_contains "a gzip-compressed context (--compress)" "Successfully tagged build-e2e:gz" "$out"
  check_eq "build arg reaches RUN" "gz" "$(docker run --rm --network none build-e2e:gz 2>&1)"
  out=$(printf 'FROM nosuchimage-e2e:1\n' | DOCKER_BUILDKIT=0 timeout 60 docker build - 2>&1)
  check_contains "a missing base image is named" "nosuchimage-e2e" "$out"
  check_fails "a failed build exits non-zero" sh -c \
    "printf 'FROM busybox\nRUN exit 3\n' | DOCKER_BUILDKIT=0 docker build -"

  # ADD of a URL: imaged fetches it (here from a server on the host's loopback).
  mkdir -p "$d/www"
  echo downloaded >"$d/www/remote.txt"
  python3 -m http.server 0 --bind 127.0.0.1 --directory "$d/www" >"$d/www.log" 2>&1 &
  local www_pid=$! port=""
  wait_for 10 grep -q "port" "$d/www.log"
  port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$d/www.log" | head -1)
  out=$(printf 'FROM busybox\nADD http://127.0.0.1:%s/remote.txt /r.txt\n' "$port" |
    DOCKER_BUILDKIT=0 docker build -t build-e2e:add - 2>&1)
  check_contains "ADD of a URL" "Successfully tagged build-e2e:add" "$out"
  check_eq "ADD's download is in the image" "downloaded" \
    "$(docker run --rm --network none build-e2e:add cat /r.txt 2>&1)"
  out=$(printf 'FROM busybox\nADD http://127.0.0.1:%s/missing.txt /r.txt\n' "$port" |
    DOCKER_BUILDKIT=0 docker build - 2>&1)
  check_contains "ADD of a missing URL is Docker's error" "with status 404" "$out"
  kill "$www_pid" 2>/dev/null
  wait "$www_pid" 2>/dev/null

  local build_pid
  # Ctrl-C during a silent RUN: the build stops and its container goes.
  printf 'FROM busybox\nRUN sleep 60\n' | DOCKER_BUILDKIT=0 docker build - >/dev/null 2>&1 &
  build_pid=$!
  wait_for 20 sh -c '[ -n "$(docker ps -q --filter label=berth.build.step)" ]'
  kill -INT "$build_pid"
  wait "$build_pid" 2>/dev/null
  check "an abandoned build removes its RUN container" wait_for 20 sh -c '[ -z "$(docker ps -aq --filter label=berth.build.step)" ]'

  # imaged killed during a RUN: the next build removes the step's container.
  printf 'FROM busybox\nRUN sleep 60\n' | DOCKER_BUILDKIT=0 docker build - >/dev/null 2>&1 &
  build_pid=$!
  wait_for 20 sh -c '[ -n "$(docker ps -q --filter label=berth.build.step)" ]'
  kill -KILL "$(daemon_pid imaged)"
  wait "$build_pid" 2>/dev/null
  wait_for 20 docker image inspect busybox
  check_eq "the killed build's container is still there" "1" "$(docker ps -aq --filter label=berth.build.step | wc -l)"
  out=$(printf 'FROM busybox\nRUN echo after-crash\n' | DOCKER_BUILDKIT=0 docker build - 2>&1)
  check_contains "a build after imaged restarted" "after-crash" "$out"
  check_eq "the orphaned build container was removed" "0" "$(docker ps -aq --filter label=berth.build.step | wc -l)"

  check_eq "no build directory left" "" "$(ls -A "$EXEC_ROOT/imaged/build" 2>/dev/null)"
  docker rmi build-e2e:one build-e2e:two build-e2e:three build-e2e:base build-e2e:f \
    build-e2e:stdin build-e2e:gz build-e2e:add >/dev/null 2>&1
}

# The build cache in system df, builder prune and system prune; it survives
# an imaged SIGKILL.
test_build_cache() {
  say "== build cache"
  local d out n abandoned kept_id
  d="$E2E_DIR/build-cache"
  mkdir -p "$d/ctx"
  echo data >"$d/ctx/data.txt"
  printf 'FROM busybox\nCOPY data.txt /data.txt\nRUN echo kept > /kept\nENV K=1\n' >"$d/ctx/Dockerfile"
  docker builder prune -af >/dev/null 2>&1
  check "a build to cache" env DOCKER_BUILDKIT=0 docker build -q -t build-cache-e2e:kept "$d/ctx"
  abandoned=$(printf 'FROM busybox\nRUN echo abandoned > /abandoned\n' |
    DOCKER_BUILDKIT=0 docker build -q - 2>/dev/null)
  out=$(docker system df 2>&1)
  check_contains "system df has the Build Cache line" "Build Cache     4" "$out"
  out=$(docker system df -v 2>&1)
  check_contains "system df -v lists the cache" "CACHE ID" "$out"
  check_contains "system df -v shows a regular entry" "regular" "$out"
  n=$(docker system df --format '{{.Type}} {{.TotalCount}}' | grep Build)
  check_eq "four entries" "Build Cache 4" "$n"

  kill -KILL "$(daemon_pid imaged)"
  wait_for 20 docker image inspect busybox
  check_eq "entries survive an imaged SIGKILL" "Build Cache 4" \
    "$(docker system df --format '{{.Type}} {{.TotalCount}}' | grep Build)"
  out=$(DOCKER_BUILDKIT=0 docker build -t build-cache-e2e:kept "$d/ctx" 2>&1)
  check_contains "the restarted imaged reuses the cache" "Using cache" "$out"
  check_not_contains "nothing runs after the restart" "Running in" "$out"
  # imaged now knows the steps' configs; a removed step image is still a miss.
  # The rebuild above took every step from the cache: this one is answered
  # from imaged's memory of it, and must not differ.
  local again id_before
  again=$(DOCKER_BUILDKIT=0 docker build -t build-cache-e2e:kept "$d/ctx" 2>&1)
  check_not_contains "a second cached rebuild runs nothing" "Running in" "$again"
  check_eq "a rebuild answered from memory prints what the cached one did" "$out" "$again"
  id_before=$(docker image inspect -f '{{.Id}}' build-cache-e2e:kept)
  echo changed >"$d/ctx/data.txt"
  out=$(DOCKER_BUILDKIT=0 docker build -t build-cache-e2e:kept "$d/ctx" 2>&1)
  check_contains "a changed context file is copied and the steps after it run" "Running in" "$out"
  echo data >"$d/ctx/data.txt"
  out=$(DOCKER_BUILDKIT=0 docker build -q -t build-cache-e2e:kept "$d/ctx" 2>/dev/null)
  check_eq "the first context again is the first image, from the cache" "$id_before" "$out"
  docker tag busybox build-cache-e2e:other
  out=$(DOCKER_BUILDKIT=0 docker build -q -t build-cache-e2e:kept "$d/ctx" 2>/dev/null)
  check_eq "a tag made in between changes nothing" "$id_before" "$out"
  docker rmi build-cache-e2e:other >/dev/null 2>&1
  docker rmi build-cache-e2e:kept >/dev/null 2>&1
  check_fails "rmi removed the build's image" docker image inspect build-cache-e2e:kept
  out=$(DOCKER_BUILDKIT=0 docker build -t build-cache-e2e:kept "$d/ctx" 2>&1)
  check_contains "the removed step images are built again" "Running in" "$out"
  check_contains "and the build succeeds" "Successfully tagged build-cache-e2e:kept" "$out"

  out=$(docker builder prune -f 2>&1)
  check_contains "builder prune lists what it deleted" "Deleted build cache objects:" "$out"
  check_contains "builder prune reports the space" "Total reclaimed space:" "$out"
  check_fails "the abandoned build's image is gone" docker image inspect "$abandoned"
  check_eq "entries of the tagged image stay without -a" "Build Cache 3" \
    "$(docker system df --format '{{.Type}} {{.TotalCount}}' | grep Build)"
  out=$(docker builder prune -af --filter until=24h 2>&1)
  check_not_contains "until=24h keeps fresh entries" "Deleted build cache objects" "$out"
  out=$(docker builder prune -af 2>&1)
  check_contains "builder prune -a deletes the rest" "Deleted build cache objects:" "$out"
  check_eq "no entry left" "Build Cache 0" \
    "$(docker system df --format '{{.Type}} {{.TotalCount}}' | grep Build)"
  check_eq "the tagged image still runs" "kept" \
    "$(docker run --rm --network none build-cache-e2e:kept cat /kept 2>&1)"
  out=$(DOCKER_BUILDKIT=0 docker build -t build-cache-e2e:kept "$d/ctx" 2>&1)
  check_not_contains "a pruned cache is not used" "Using cache" "$out"
  out=$(docker builder prune --filter nope=1 -f 2>&1)
  check_contains "an unknown filter is refused" "invalid filter 'nope'" "$out"

  abandoned=$(printf 'FROM busybox\nRUN echo again > /again\n' |
    DOCKER_BUILDKIT=0 docker build -q - 2>/dev/null)
  docker system prune -f >/dev/null 2>&1
  # The dangling step images go with the image prune, their entries with them.
  check_fails "system prune removes an abandoned build's image" docker image inspect "$abandoned"
  check_eq "system prune removes its cache entries, keeps the tagged image's" "Build Cache 3" \
    "$(docker system df --format '{{.Type}} {{.TotalCount}}' | grep Build)"
  out=$(docker system prune -af 2>&1)
  check_contains "system prune -a removes all build cache" "Total reclaimed space" "$out"
  check_eq "system prune -a leaves no entry" "Build Cache 0" \
    "$(docker system df --format '{{.Type}} {{.TotalCount}}' | grep Build)"
  # system prune -a took busybox too: later groups need it.
  "$REPO/scripts/make-busybox-image.sh" "$d/busybox.tar" >/dev/null
  docker load -i "$d/busybox.tar" >/dev/null
  docker rmi build-cache-e2e:kept >/dev/null 2>&1
}

# --cache-from with the legacy builder's semantics.
test_build_cache_from() {
  say "== build --cache-from"
  local d out id
  d="$E2E_DIR/build-cache-from"
  mkdir -p "$d/ctx"
  echo content >"$d/ctx/c.txt"
  printf 'FROM busybox\nRUN echo one > /one\nCOPY c.txt /c.txt\nENV E=1\nRUN echo two > /two\n' \
    >"$d/ctx/Dockerfile"
  check "build the source image" env DOCKER_BUILDKIT=0 docker build -q -t build-cf-e2e:src "$d/ctx"
  id=$(docker image inspect -f '{{.Id}}' build-cf-e2e:src)
  check "save it" docker save -o "$d/src.tar" build-cf-e2e:src
  docker rmi build-cf-e2e:src >/dev/null 2>&1
  docker builder prune -af >/dev/null 2>&1
  check "load it back (no parents, no cache entries)" docker load -i "$d/src.tar"
  out=$(DOCKER_BUILDKIT=0 docker build -t build-cf-e2e:plain "$d/ctx" 2>&1)
  check_contains "without --cache-from a loaded image is no cache" "Running in" "$out"
  out=$(DOCKER_BUILDKIT=0 docker build --cache-from build-cf-e2e:src -t build-cf-e2e:two "$d/ctx" 2>&1)
  check_contains "--cache-from reuses the loaded image's steps" "Using cache" "$out"
  check_not_contains "--cache-from runs nothing" "Running in" "$out"
  check_eq "--cache-from gives the source's image" "$id" \
    "$(docker image inspect -f '{{.Id}}' build-cf-e2e:two 2>&1)"
  check_eq "the image runs" "one two content" \
    "$(docker run --rm --network none build-cf-e2e:two sh -c 'echo $(cat /one /two /c.txt)' 2>&1)"
  echo changed >"$d/ctx/c.txt"
  out=$(docker build --cache-from build-cf-e2e:src -t build-cf-e2e:three "$d/ctx" 2>&1)
  check_contains "default CLI: steps before a change come from the source" "Using cache" "$out"
  check_contains "default CLI: the changed COPY and what follows run" "Running in" "$out"
  check_eq "the changed build has the new file" "changed" \
    "$(docker run --rm --network none build-cf-e2e:three cat /c.txt 2>&1)"
  out=$(DOCKER_BUILDKIT=0 docker build --cache-from nosuch-e2e:1 -q "$d/ctx" 2>&1)
  check_contains "a missing --cache-from image is skipped" "sha256:" "$out"
  docker rmi build-cf-e2e:src build-cf-e2e:two build-cf-e2e:three build-cf-e2e:plain >/dev/null 2>&1
  docker builder prune -af >/dev/null 2>&1
}

# Build options for RUN steps and the build itself: --platform, --network,
# --add-host, resources, --iidfile, --rm/--force-rm, heredocs.
test_build_options() {
  say "== build options"
  local d out id cid cg bpid
  d="$E2E_DIR/build-options"
  mkdir -p "$d"
  export DOCKER_BUILDKIT=0

  # --platform: the host's is accepted, another needs an image for it.
  out=$(printf 'FROM busybox\nRUN echo on-$(uname -m)\n' | docker build --platform linux/amd64 - 2>&1)
  check_contains "--platform linux/amd64 (the host's) builds" "on-x86_64" "$out"
  out=$(printf 'FROM busybox\nRUN true\n' | timeout 90 docker build --platform linux/arm64 - 2>&1)
  check_contains "--platform of another architecture: Docker's error" \
    "was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64" "$out"
  out=$(printf 'FROM --platform=linux/arm64 busybox\nRUN true\n' | timeout 90 docker build - 2>&1)
  check_contains "FROM --platform= of another architecture: the same error" \
    "wanted linux/arm64, actual: linux/amd64" "$out"
  out=$(printf 'FROM --platform=linux/amd64 busybox\nRUN echo from-platform\n' | docker build - 2>&1)
  check_contains "FROM --platform= of the host builds" "from-platform" "$out"
  out=$(printf 'FROM busybox\n' | docker build --platform foo - 2>&1)
  check_contains "an unparsable --platform is refused before any step" \
    '"foo": unknown operating system or architecture: invalid argument' "$out"
  check_not_contains "no step ran for a bad --platform" "Step 1/" "$out"

  # Heredocs are BuildKit's: the legacy builder reads the body as instructions.
  out=$(printf 'FROM busybox\nRUN <<EOF\necho hi\nEOF\n' | docker build - 2>&1)
  check_contains "a heredoc fails as in the legacy builder" \
    "Error response from daemon: Dockerfile parse error line 3: unknown instruction: ECHO" "$out"

  # --network for RUN steps.
  out=$(printf 'FROM busybox\nRUN echo links=$(ls /sys/class/net | tr "\\n" " ")\n' |
    docker build --no-cache --network none - 2>&1)
  check_contains "--network none: only lo in RUN" $'links=lo\n' "$out"
  out=$(printf 'FROM busybox\nRUN ls /sys/class/net\n' | docker build --no-cache --network host - 2>&1)
  check_contains "--network host: the host's interfaces in RUN" "$E2E_BRIDGE" "$out"
  docker network create build-opt-net >/dev/null
  docker run -d --name build-opt-peer --network build-opt-net busybox sleep 300 >/dev/null
  out=$(printf 'FROM busybox\nRUN ping -c1 -W5 build-opt-peer && echo reached-peer\n' |
    docker build --no-cache --network build-opt-net - 2>&1)
  check_contains "--network <user network>: RUN reaches a container by name" "reached-peer" "$out"
  docker rm -f build-opt-peer >/dev/null 2>&1
  docker network rm build-opt-net >/dev/null 2>&1

  out=$(printf 'FROM busybox\nRUN grep myhost /etc/hosts\n' |
    docker build --no-cache --add-host myhost:10.9.8.7 - 2>&1)
  check_contains "--add-host reaches RUN's /etc/hosts" "10.9.8.7	myhost" "$out"

  # Resources: seen from inside the RUN, and in its cgroup while it runs.
  out=$(printf 'FROM busybox\nRUN grep Cpus_allowed_list /proc/self/status\n' |
    docker build --no-cache --cpuset-cpus 0 - 2>&1)
  check_contains "--cpuset-cpus inside RUN" "Cpus_allowed_list:	0" "$out"
  out=$(printf 'FROM busybox\nRUN x=$(head -c 200000000 /dev/zero | tr "\\\\0" a); echo alive-$((40+2))\n' |
    docker build --no-cache --memory 32m --memory-swap 32m - 2>&1)
  check_not_contains "--memory: a RUN using more is killed" "alive-42" "$out"
  check_contains "--memory: the killed RUN fails the build" "returned a non-zero code" "$out"
  printf 'FROM busybox\nRUN sleep 8\n' |
    docker build --no-cache --memory 48m --cpu-shares 512 --cpuset-cpus 0 - >/dev/null 2>&1 &
  bpid=$!
  wait_for 20 sh -c '[ -n "$(docker ps -q --filter label=berth.build.step)" ]'
  cid=$(docker ps -q --no-trunc --filter label=berth.build.step | head -1)
  cg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' "/proc/$(docker inspect -f '{{.State.Pid}}' "$cid")/cgroup")
  check_eq "--memory in the RUN container's cgroup" "50331648" \
    "$(cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes" 2>&1)"
  cg=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' "/proc/$(docker inspect -f '{{.State.Pid}}' "$cid")/cgroup")
  check_eq "--cpu-shares in the RUN container's cgroup" "512" \
    "$(cat /sys/fs/cgroup/cpu,cpuacct"$cg"/cpu.shares 2>/dev/null || cat /sys/fs/cgroup/cpu"$cg"/cpu.shares 2>&1)"
  check_eq "--memory in the RUN container's HostConfig" "50331648" \
    "$(docker inspect -f '{{.HostConfig.Memory}}' "$cid")"
  wait "$bpid"

  # --iidfile, --rm=false, --force-rm.
  check "--iidfile" docker build -q --iidfile "$d/iid" -t build-opt-e2e:iid - <<<$'FROM busybox\nENV I=1\n'
  check_eq "--iidfile holds the image ID" "$(docker image inspect -f '{{.Id}}' build-opt-e2e:iid)" \
    "$(cat "$d/iid" 2>&1)"
  local before
  before=$(docker ps -aq | wc -l)
  out=$(printf 'FROM busybox\nRUN echo kept > /k\n' | docker build --no-cache --rm=false - 2>&1)
  check_not_contains "--rm=false removes no container" "Removing intermediate container" "$out"
  check_eq "--rm=false leaves the RUN container" "$((before + 1))" "$(docker ps -aq | wc -l)"
  out=$(printf 'FROM busybox\nRUN exit 3\n' | docker build --rm=false - 2>&1)
  check_eq "--rm=false leaves a failed RUN's container too" "$((before + 2))" "$(docker ps -aq | wc -l)"
  check_eq "the failed container exited with its code" "3" \
    "$(docker inspect -f '{{.State.ExitCode}}' "$(docker ps -aq | head -1)")"
  docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1
  out=$(printf 'FROM busybox\nRUN exit 3\n' | docker build --rm=false --force-rm - 2>&1)
  check_eq "--force-rm removes even with --rm=false" "0" "$(docker ps -aq | wc -l)"
  out=$(printf 'FROM busybox\nRUN echo forced\n' | docker build --no-cache --force-rm - 2>&1)
  check_contains "--force-rm removes a successful step's container" "Removing intermediate container" "$out"
  check_eq "no container left after --force-rm" "0" "$(docker ps -aq | wc -l)"
  docker rmi build-opt-e2e:iid >/dev/null 2>&1
  unset DOCKER_BUILDKIT
}

# The Dockerfile features and errors of issue 7 through the real CLI.
test_build_dockerfile() {
  say "== build Dockerfile features"
  local d out
  d="$E2E_DIR/build-df"
  mkdir -p "$d/ctx/t" "$d/ctx/deep/a/b" "$d/ctx/logs"
  echo hi >"$d/ctx/a.txt"
  echo intar >"$d/ctx/t/in.txt"
  tar -C "$d/ctx/t" -czf "$d/ctx/arch.tgz" in.txt
  echo x >"$d/ctx/deep/a/b/skip.tmp"
  echo keep >"$d/ctx/logs/keep.log"
  echo drop >"$d/ctx/logs/drop.log"
  printf '**/*.tmp\nlogs\n!logs/keep.log\n' >"$d/ctx/.dockerignore"
  cat >"$d/ctx/Dockerfile" <<'DF'
FROM busybox
COPY --chown=1:1 --chmod=600 a.txt /a
ADD arch.tgz /x/
COPY . /ctx/
USER daemon
VOLUME /data
STOPSIGNAL SIGINT
SHELL ["/bin/sh", "-ec"]
HEALTHCHECK --interval=5s CMD true
ONBUILD RUN echo from-onbuild
RUN ls -ln /a && cat /x/in.txt && find /ctx -type f | sort
DF
  out=$(DOCKER_BUILDKIT=0 docker build -t build-df-e2e:1 --label l1=v1 "$d/ctx" 2>&1)
  check_contains "the build succeeds" "Successfully tagged build-df-e2e:1" "$out"
  check_contains "COPY --chown/--chmod" "-rw-------    1 1        1" "$out"
  check_contains "ADD extracts a local tar" "intar" "$out"
  check_contains ".dockerignore: ! re-includes" "/ctx/logs/keep.log" "$out"
  check_not_contains ".dockerignore: a directory is excluded" "/ctx/logs/drop.log" "$out"
  check_not_contains ".dockerignore: ** matches at any depth" "skip.tmp" "$out"
  check_eq "USER, VOLUME, STOPSIGNAL, SHELL, HEALTHCHECK, ONBUILD, --label in the config" \
    'daemon {"/data":{}} SIGINT ["/bin/sh","-ec"] ["CMD-SHELL","true"] ["RUN echo from-onbuild"] {"l1":"v1"}' \
    "$(docker image inspect -f '{{.Config.User}} {{json .Config.Volumes}} {{.Config.StopSignal}} {{json .Config.Shell}} {{json .Config.Healthcheck.Test}} {{json .Config.OnBuild}} {{json .Config.Labels}}' build-df-e2e:1 2>&1)"
  out=$(printf 'FROM build-df-e2e:1\n' | DOCKER_BUILDKIT=0 docker build -t build-df-e2e:child - 2>&1)
  check_contains "ONBUILD triggers run in the child build" "from-onbuild" "$out"
  check_eq "the child does not inherit the triggers" "null" \
    "$(docker image inspect -f '{{json .Config.OnBuild}}' build-df-e2e:child 2>&1)"
  out=$(docker history build-df-e2e:1 2>&1)
  check_contains "history shows metadata steps with 0B" "STOPSIGNAL" "$out"

  out=$(printf 'FROM busybox\nCOPY a.txt /from-stdin\n' |
    DOCKER_BUILDKIT=0 docker build -f - -t build-df-e2e:stdin "$d/ctx" 2>&1)
  check_contains "-f - with a context directory" "Successfully tagged build-df-e2e:stdin" "$out"
  check_eq "-f -'s COPY reads the context" "hi" \
    "$(docker run --rm --network none build-df-e2e:stdin cat /from-stdin 2>&1)"
  out=$("$BIN/berth" --root "$ROOT" --exec-root "$EXEC_ROOT" build -q -t build-df-e2e:berth \
    -f - "$d/ctx" <<<$'FROM busybox\nENV VIA=berth\n' 2>&1)
  check_contains "berth build drives POST /build" "sha256:" "$out"
  check_contains "berth build's image" "VIA=berth" \
    "$(docker image inspect -f '{{.Config.Env}}' build-df-e2e:berth 2>&1)"

  # Bad input: each a clear error, no image, no container.
  local before
  before=$(docker images -aq | wc -l)
  out=$(printf 'FROM busybox\nCOPY missing.txt /\n' | DOCKER_BUILDKIT=0 docker build -f - "$d/ctx" 2>&1)
  check_contains "a missing COPY source: Docker's message" \
    "COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist" "$out"
  out=$(printf 'FROM busybox\nCOPY --from=nosuchstage-e2e /x /\n' |
    DOCKER_BUILDKIT=0 timeout 60 docker build -f - "$d/ctx" 2>&1)
  check_contains "an unknown --from names it" "invalid from flag value nosuchstage-e2e" "$out"
  out=$(printf 'FROM busybox AS a\nCOPY --from=a /x /\n' | DOCKER_BUILDKIT=0 docker build -f - "$d/ctx" 2>&1)
  check_contains "a cyclic --from names the line" \
    "Dockerfile parse error line 2: circular dependency detected on stage: a" "$out"
  mkdir -p "$d/bad"
  ln -s /etc/passwd "$d/bad/link"
  out=$(printf 'FROM busybox\nCOPY link /l\n' | DOCKER_BUILDKIT=0 docker build -f - "$d/bad" 2>&1)
  check_contains "an absolute symlink out of the context is refused" \
    'symbolic link "link" points outside the context' "$out"
  check_eq "the failed builds left no image" "$before" "$(docker images -aq | wc -l)"
  check_eq "the failed builds left no container" "0" "$(docker ps -aq | wc -l)"
  docker rmi build-df-e2e:1 build-df-e2e:child build-df-e2e:stdin build-df-e2e:berth >/dev/null 2>&1
}
