# Volumes and mounts: named volumes of the local driver, anonymous volumes,
# binds, read-only mounts, and what is refused while a volume is in use.
# shellcheck shell=bash

test_volumes() {
  say "== volumes"
  local out id anon
  out=$(docker volume create v1)
  check_eq "volume create prints the name" "v1" "$out"
  check "volume create of an existing name is fine" docker volume create v1
  out=$(docker volume create --label team=a labelled)
  check_eq "volume create --label" "labelled" "$out"
  out=$(docker volume inspect -f '{{.Driver}} {{.Scope}} {{.Mountpoint}} {{.Labels}}' labelled)
  check_eq "volume inspect" "local local $ROOT/stored/volumes/labelled/_data map[team:a]" "$out"
  out=$(docker volume ls -q | sort | tr '\n' ' ')
  check_eq "volume ls" "labelled v1 " "$out"
  out=$(docker volume ls -q --filter label=team=a)
  check_eq "volume ls --filter label" "labelled" "$out"
  out=$(docker volume create 'bad/name' 2>&1)
  check_contains "invalid volume name refused" "includes invalid characters" "$out"
  out=$(docker volume inspect nosuchvolume 2>&1)
  check_contains "inspect of a missing volume" "no such volume" "$out"
  out=$(api -X POST -H 'Content-Type: application/json' -d '{}' "http://d/volumes/create")
  check_eq "a volume without a name gets 64 hex" "64" \
    "$(printf '%s' "$out" | sed -n 's/.*"Name":"\([0-9a-f]*\)".*/\1/p' | tr -d '\n' | wc -c)"

  docker run --rm -v v1:/data busybox sh -c 'echo hi > /data/f'
  out=$(docker run --rm -v v1:/data busybox cat /data/f)
  check_eq "data persists across containers" "hi" "$out"
  check_eq "the data is in the volume's directory" "hi" "$(cat "$ROOT/stored/volumes/v1/_data/f")"
  out=$(docker run --rm -v v1:/data:ro busybox sh -c 'echo x > /data/g' 2>&1)
  check_contains ":ro refuses writes" "Read-only file system" "$out"
  out=$(docker run --rm -v auto:/data busybox sh -c 'echo ok')
  check_eq "run -v auto-creates the volume" "ok" "$out"
  check "auto-created volume exists" docker volume inspect auto
  out=$(docker run --rm -v etcvol:/etc busybox cat /etc/group | head -1)
  check_contains "a new volume gets the image's content" "root:x:0:" "$out"
  check "image content was copied into the volume" test -s "$ROOT/stored/volumes/etcvol/_data/passwd"

  # Binds both ways; a missing host path is created for -v.
  mkdir -p "$E2E_DIR/bind"
  echo from-host >"$E2E_DIR/bind/in"
  out=$(docker run --rm -v "$E2E_DIR/bind:/mnt" busybox sh -c 'cat /mnt/in; echo from-container > /mnt/out')
  check_eq "bind: host file visible inside" "from-host" "$out"
  check_eq "bind: container write visible on the host" "from-container" "$(cat "$E2E_DIR/bind/out")"
  out=$(docker run --rm -v "$E2E_DIR/bind:/mnt:ro" busybox sh -c 'echo x > /mnt/y' 2>&1)
  check_contains "bind :ro refuses writes" "Read-only file system" "$out"
  docker run --rm -v "$E2E_DIR/newdir:/mnt" busybox true
  check "bind source created for -v" test -d "$E2E_DIR/newdir"
  out=$(docker run --rm --mount "type=bind,source=$E2E_DIR/missing,target=/mnt" busybox true 2>&1)
  check_contains "--mount refuses a missing bind source" "bind source path does not exist" "$out"
  out=$(docker run --rm --mount type=volume,source=mv,target=/m busybox sh -c 'echo m > /m/f; cat /m/f')
  check_eq "--mount type=volume" "m" "$out"
  out=$(docker run --rm --mount type=tmpfs,target=/t busybox sh -c 'grep " /t " /proc/mounts')
  check_contains "--mount type=tmpfs" "tmpfs /t tmpfs" "$out"

  # In use: refused, even with -f; inspect lists the mounts.
  id=$(docker create -v v1:/data -v "$E2E_DIR/bind:/mnt:ro" -v /anon busybox true)
  out=$(docker volume rm v1 2>&1)
  check_contains "rm of a volume in use refused" "volume is in use - [$id]" "$out"
  check_fails "rm -f of a volume in use refused" docker volume rm -f v1
  out=$(docker inspect -f '{{range .Mounts}}{{.Type}},{{.Name}},{{.Destination}},{{.RW}};{{end}}' "$id")
  check_contains "inspect Mounts: named volume" "volume,v1,/data,true;" "$out"
  check_contains "inspect Mounts: bind" "bind,,/mnt,false;" "$out"
  anon=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}' "$id")
  check_eq "anonymous volume has a 64-hex name" "64" "${#anon}"
  check "anonymous volume exists" docker volume inspect "$anon"
  out=$(docker volume ls -q --filter dangling=true | tr '\n' ' ')
  check_not_contains "a used volume is not dangling" "v1 " "$out"
  docker rm -v "$id" >/dev/null
  check_fails "rm -v removes the anonymous volume" docker volume inspect "$anon"
  check "rm -v keeps named volumes" docker volume inspect v1

  # --rm removes anonymous volumes.
  id=$(docker run -d --rm -v /scratch busybox sleep 1)
  anon=$(docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$id")
  check_eq "--rm container has an anonymous volume" "64" "${#anon}"
  wait_for 20 sh -c "! docker inspect $id"
  check_fails "--rm removes the anonymous volume" docker volume inspect "$anon"

  # Prune: anonymous only by default, everything unused with -a.
  id=$(docker create -v /kept busybox true)
  anon=$(docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$id")
  docker rm "$id" >/dev/null
  check_eq "created container has an anonymous volume" "64" "${#anon}"
  check "plain rm keeps the anonymous volume" docker volume inspect "$anon"
  out=$(docker volume prune -f)
  check_contains "prune removes dangling anonymous volumes" "$anon" "$out"
  check "prune keeps named volumes" docker volume inspect v1
  docker volume prune -af >/dev/null
  check_eq "prune -a removes all unused volumes" "" "$(docker volume ls -q)"
  check_eq "nothing is left in the volumes directory" "" "$(ls -A "$ROOT/stored/volumes")"
  volumes_filters_tmpfs_readonly
  test_volumes_propagation
}

# The rest of issue 6's mount list: ls --filter name=, tmpfs sizes and
# modes from --tmpfs and --mount, and a read-only root with writable mounts.
volumes_filters_tmpfs_readonly() {
  say "== volumes: name filter, tmpfs options, read-only root"
  local out
  docker volume create fa1 >/dev/null
  docker volume create fb2 >/dev/null
  out=$(docker volume ls -q --filter name=fa | tr '\n' ' ')
  check_eq "volume ls --filter name= matches part of the name" "fa1 " "$out"
  out=$(docker run --rm --network none --mount type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770 \
    busybox sh -c 'df -k /t | tail -1 | awk "{print \$2}"; stat -c %a /t')
  check_eq "--mount type=tmpfs,tmpfs-size=,tmpfs-mode=" "1024
1770" "$out"
  out=$(docker run --rm --network none --tmpfs /t:size=2m,mode=700 busybox sh -c \
    'df -k /t | tail -1 | awk "{print \$2}"; stat -c %a /t')
  check_eq "--tmpfs with size and mode" "2048
700" "$out"
  out=$(docker run --rm --network none --read-only -v fa1:/data --tmpfs /scratch busybox sh -c \
    'touch /x 2>&1; touch /data/x && echo data-ok; touch /scratch/x && echo tmpfs-ok')
  check_contains "--read-only refuses writes to the root" "Read-only file system" "$out"
  check_contains "--read-only: a volume stays writable" "data-ok" "$out"
  check_contains "--read-only: a tmpfs stays writable" "tmpfs-ok" "$out"
  docker volume rm fa1 fb2 >/dev/null
}

# Bind propagation (rslave, rshared) from a source the test makes a shared
# mount, Docker's refusal when the source is on a private mount, and the
# SELinux relabel options :z/:Z, accepted and ignored on a host without
# SELinux as Docker does.
test_volumes_propagation() {
  say "== volumes: bind propagation and :z/:Z"
  local d=$E2E_DIR/prop priv=$E2E_DIR/priv out id
  mkdir -p "$d" "$priv"
  echo relabel >"$priv/f"
  mount --bind "$d" "$d" && mount --make-shared "$d"
  check_contains "the test's source is a shared mount" "shared:" \
    "$(awk -v p="$d" '$5 == p' /proc/self/mountinfo)"

  id=$(docker run -d --network none -v "$d:/m:rslave" busybox sleep 300)
  mkdir -p "$d/late"
  mount -t tmpfs tmpfs "$d/late" && echo late >"$d/late/f"
  out=$(docker exec "$id" cat /m/late/f 2>&1)
  check_eq "rslave: a mount made on the host later appears in the container" "late" "$out"
  out=$(docker inspect -f '{{range .Mounts}}{{.Propagation}}{{end}}' "$id")
  check_eq "inspect shows rslave" "rslave" "$out"
  docker rm -f "$id" >/dev/null
  umount "$d/late"

  id=$(docker run -d --privileged --network none \
    --mount "type=bind,source=$d,target=/m,bind-propagation=rshared" busybox sleep 300)
  mkdir -p "$d/late" "$d/back"
  mount -t tmpfs tmpfs "$d/late" && echo late >"$d/late/f"
  out=$(docker exec "$id" cat /m/late/f 2>&1)
  check_eq "rshared: a mount made on the host later appears in the container" "late" "$out"
  docker exec "$id" sh -c 'mount -t tmpfs tmpfs /m/back && echo back >/m/back/f'
  check_eq "rshared: a mount made in the container appears on the host" "back" \
    "$(cat "$d/back/f" 2>&1)"
  check_eq "the container's own mounts stay inside it" "" \
    "$(grep -F "$ROOT" /proc/self/mountinfo | awk '{print $5}' | grep -E '/(proc|dev|sys)$' || true)"
  docker exec "$id" umount /m/back
  check_eq "rshared: the container's unmount reaches the host" "" \
    "$(awk -v p="$d/back" '$5 == p' /proc/self/mountinfo)"
  docker rm -f "$id" >/dev/null
  umount "$d/late"
  umount "$d/back" 2>/dev/null
  umount "$d"

  local created
  created=$(docker ps -aq | wc -l)
  out=$(docker run --rm --network none -v "$priv:/m:rshared" busybox true 2>&1)
  check_contains "rshared from a private mount: Docker's error" \
    "path $priv is mounted on / but it is not a shared mount" "$out"
  out=$(docker run --rm --network none \
    --mount "type=bind,source=$priv,target=/m,bind-propagation=rslave" busybox true 2>&1)
  check_contains "rslave from a private mount: Docker's error" \
    "path $priv is mounted on / but it is not a shared or slave mount" "$out"
  check_eq "no container is left from the refused runs (--rm)" "$created" "$(docker ps -aq | wc -l)"

  out=$(docker run --rm --network none -v "$priv:/m:z" busybox cat /m/f 2>&1)
  check_eq ":z accepted" "relabel" "$out"
  out=$(docker run --rm --network none -v "$priv:/m:Z,ro" busybox sh -c 'cat /m/f; touch /m/x' 2>&1)
  check_contains ":Z,ro accepted" "relabel" "$out"
  check_contains ":Z,ro is still read-only" "Read-only file system" "$out"
  id=$(docker create -v "$priv:/m:Z" -v zvol:/v:z busybox true)
  out=$(docker inspect -f '{{range .Mounts}}{{.Mode}} {{end}}' "$id" | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ')
  check_eq "inspect shows the mode as given" " Z z " "$out"
  docker rm -v "$id" >/dev/null
  docker volume rm zvol >/dev/null
}
