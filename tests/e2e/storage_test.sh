# Container files: docker cp both ways (running and stopped containers,
# volumes and binds, symlinks, ownership, hostile archives), docker diff,
# export, sizes, system df, and crash safety of stored.
# shellcheck shell=bash

# incat CONTAINER PATH: a file's content, read through docker cp.
incat() { docker cp "$1:$2" - 2>/dev/null | tar -xOf - 2>/dev/null; }

test_storage() {
  say "== storage: docker cp"
  local out id stopped d
  d="$E2E_DIR/cp"
  mkdir -p "$d/bindsrc"
  echo in-bind >"$d/bindsrc/b"
  docker volume create cpvol >/dev/null
  id=$(docker run -d --network none --name cp1 -v cpvol:/vol -v "$d/bindsrc:/bnd" busybox sh -c \
    'echo hello > /hello; mkdir -p /dir/sub; echo x > /dir/sub/f; ln -s /etc/passwd /dir/abs;
     mkdir /lnk; ln -s ../../../ /lnk/up; echo v > /vol/v; chown 1234:5678 /dir/sub/f; chmod 640 /dir/sub/f;
     touch /ready; sleep 300')
  wait_for 10 docker cp cp1:/ready "$d/ready"

  # Out of a running container.
  check "cp file out of a running container" docker cp cp1:/hello "$d/hello"
  check_eq "file content" "hello" "$(cat "$d/hello" 2>/dev/null)"
  check "cp dir out" docker cp cp1:/dir "$d/dir"
  check_eq "nested file" "x" "$(cat "$d/dir/sub/f" 2>/dev/null)"
  check_eq "mode kept" "640" "$(stat -c %a "$d/dir/sub/f" 2>/dev/null)"
  check_eq "symlink kept as a link" "/etc/passwd" "$(readlink "$d/dir/abs")"
  out=$(docker cp cp1:/dir - | tar -tvf - | grep 'dir/sub/f')
  check_contains "cp to - streams a tar with owners" "1234/5678" "$out"
  check "cp out of a volume" docker cp cp1:/vol/v "$d/v"
  check_eq "volume content" "v" "$(cat "$d/v" 2>/dev/null)"
  check "cp out of a bind" docker cp cp1:/bnd/b "$d/b"
  check_eq "bind content" "in-bind" "$(cat "$d/b" 2>/dev/null)"
  out=$(docker cp cp1:/nonexistent "$d/x" 2>&1)
  check_contains "missing path is Docker's error" "Could not find the file /nonexistent in container cp1" "$out"
  check "cp -L follows a link" docker cp -L cp1:/dir/abs "$d/passwd"
  check_contains "followed link content" "root:x:0:0" "$(cat "$d/passwd" 2>/dev/null)"
  # Symlinks pointing out of the root resolve inside the container.
  check "cp through a symlink to ../.. stays inside" docker cp cp1:/lnk/up/etc/hostname "$d/hn"
  check_eq "hostname read from the container, not the host" "$(incat cp1 /etc/hostname)" \
    "$(cat "$d/hn" 2>/dev/null)"

  # Into a running container.
  echo to-container >"$d/in.txt"
  check "cp file in" docker cp "$d/in.txt" cp1:/tmp/in.txt
  check_eq "visible inside" "to-container" "$(incat cp1 /tmp/in.txt)"
  mkdir -p "$d/tree/a"
  echo t >"$d/tree/a/t"
  check "cp dir in" docker cp "$d/tree" cp1:/tree
  check_eq "dir visible inside" "t" "$(incat cp1 /tree/a/t)"
  check "cp into a volume" docker cp "$d/in.txt" cp1:/vol/in.txt
  check_eq "landed in the volume" "to-container" "$(cat "$ROOT/stored/volumes/cpvol/_data/in.txt")"
  check "cp into a bind" docker cp "$d/in.txt" cp1:/bnd/in.txt
  check_eq "landed in the bind source" "to-container" "$(cat "$d/bindsrc/in.txt" 2>/dev/null)"
  out=$(docker cp "$d/in.txt" cp1:/nodir/sub/x 2>&1)
  check_contains "missing parent is Docker's error" "Could not find the file /nodir/sub in container cp1" "$out"
  out=$(docker cp "$d/in.txt" cp1:/dir 2>&1; incat cp1 /dir/in.txt)
  check_eq "cp into an existing dir puts the file inside" "to-container" "$out"
  # Through a symlink planted to point at the host's root: lands inside.
  check "cp through an absolute symlink" docker cp "$d/in.txt" cp1:/lnk/up/tmp/through.txt
  check_eq "written inside the container" "to-container" "$(incat cp1 /tmp/through.txt)"
  check "nothing written on the host" test ! -e /tmp/through.txt

  # Ownership: kept as in the tar.
  mkdir -p "$d/own"
  echo o >"$d/own/o"
  tar -C "$d/own" --owner=4321 --group=8765 -cf "$d/own.tar" o
  check "cp - with a tar" sh -c "docker cp - cp1:/tmp < '$d/own.tar'"
  check_contains "owner from the tar" "4321/8765" "$(docker cp cp1:/tmp/o - | tar -tvf -)"

  # noOverwriteDirNonDir (the CLI always sets it).
  echo f >"$d/dirfile"
  mkdir -p "$d/ow"
  echo f >"$d/ow/dir"
  out=$(tar -C "$d/ow" -cf - dir | docker cp - cp1:/ 2>&1)
  check_contains "a file cannot replace a directory" "cannot overwrite directory" "$out"

  # Hostile archives: nothing outside.
  python3 - "$d" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
def tar(name, entries):
    with tarfile.open(f"{d}/{name}", "w") as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data else None)
def reg(n, data=b"evil\n"):
    i = tarfile.TarInfo(n); i.size = len(data); return (i, data)
def sym(n, target):
    i = tarfile.TarInfo(n); i.type = tarfile.SYMTYPE; i.linkname = target; return (i, None)
def hard(n, target):
    i = tarfile.TarInfo(n); i.type = tarfile.LNKTYPE; i.linkname = target; return (i, None)
tar("dotdot.tar", [reg("../../../../../../tmp/berth-escape-dotdot")])
tar("symlink.tar", [sym("esc", "../../../../../../../tmp"), reg("esc/berth-escape-sym")])
tar("hardlink.tar", [hard("h", "../../../../../../etc/passwd")])
PY
  local t
  for t in dotdot symlink hardlink; do
    out=$(docker cp - cp1:/tmp <"$d/$t.tar" 2>&1)
    check_contains "hostile tar ($t) refused" "invalid" "$out"
  done
  check "nothing escaped to the host" sh -c \
    '! ls /tmp/berth-escape-* 2>/dev/null | grep -q .'

  # What cp sees is what the container sees: its tmpfs mounts too, and a
  # read-only root refuses writes in Docker's words.
  docker run -d --network none --name cp2 --read-only --tmpfs /scratch -v cpvol:/vol busybox \
    sh -c 'echo in-tmpfs > /scratch/t; sleep 300' >/dev/null
  wait_for 10 docker cp cp2:/scratch/t "$d/t"
  check_eq "cp sees a running container's tmpfs" "in-tmpfs" "$(incat cp2 /scratch/t)"
  out=$(docker cp "$d/in.txt" cp2:/in.txt 2>&1)
  check_contains "cp into a read-only root" "container rootfs is marked read-only" "$out"
  check "cp into a writable volume of a read-only container" docker cp "$d/in.txt" cp2:/vol/ro-ok.txt
  docker rm -f cp2 >/dev/null

  # A stopped container: same view, volumes and binds included.
  docker stop -t 1 cp1 >/dev/null
  check "cp out of a stopped container" docker cp cp1:/tmp/in.txt "$d/stopped.txt"
  check_eq "stopped content" "to-container" "$(cat "$d/stopped.txt" 2>/dev/null)"
  check "cp out of a stopped container's volume" docker cp cp1:/vol/v "$d/v2"
  check "cp into a stopped container" docker cp "$d/in.txt" cp1:/stopped-in.txt
  check "cp into a stopped container's bind" docker cp "$d/in.txt" cp1:/bnd/stopped-in.txt
  check_eq "bind got it" "to-container" "$(cat "$d/bindsrc/stopped-in.txt" 2>/dev/null)"
  check_eq "no mount left by cp on a stopped container" "" \
    "$(grep -F "$ROOT/stored/c/" /proc/self/mountinfo || true)"
  docker start cp1 >/dev/null
  check_eq "file copied while stopped is there" "to-container" "$(incat cp1 /stopped-in.txt)"
  docker rm -f cp1 >/dev/null
  docker volume rm cpvol >/dev/null

  say "== storage: diff, export, sizes, system df"
  local d2="$E2E_DIR/diff"
  mkdir -p "$d2"
  docker run --network none --name df1 busybox sh -c \
    'echo new > /added; rm /etc/group; echo x >> /etc/passwd; mkdir -p /opt/d; head -c 100000 /dev/zero > /opt/d/big' >/dev/null
  out=$(docker diff df1)
  check_contains "diff: added file" "A /added" "$out"
  check_contains "diff: deleted file" "D /etc/group" "$out"
  check_contains "diff: changed file" "C /etc/passwd" "$out"
  check_contains "diff: changed parent" "C /etc" "$out"
  check_contains "diff: added dir" "A /opt/d/big" "$out"
  check "export of a stopped container" docker export -o "$d2/df1.tar" df1
  out=$(tar -tf "$d2/df1.tar")
  check_contains "export has the added file" "added" "$out"
  check_contains "export has the image's files" "bin/busybox" "$out"
  check_not_contains "export has no deleted file" "etc/group" "$out"
  check_eq "export content" "new" "$(tar -xOf "$d2/df1.tar" added)"
  check_eq "no mount left by export of a stopped container" "" \
    "$(grep -F "$ROOT/stored/c/" /proc/self/mountinfo || true)"
  out=$(docker ps -a -s --filter name=df1 --format '{{.Size}}')
  check_contains "ps -s shows the writable layer size" "kB (virtual" "$out"
  out=$(docker inspect --size -f '{{.SizeRw}} {{.SizeRootFs}}' df1)
  local rw=${out% *} rootfs=${out#* }
  check "inspect --size: SizeRw counts the files written" test "$rw" -ge 100004
  check "inspect --size: SizeRootFs includes the image" test "$rootfs" -gt $((rw + 1000000))
  docker run -d --network none --name df2 -v dfvol:/v busybox sh -c 'head -c 50000 /dev/zero > /v/f; sleep 300' >/dev/null
  wait_for 10 docker cp df2:/v/f "$d2/f"
  check "export of a running container" sh -c "docker export df2 | tar -t | grep -q '^bin/busybox$'"
  check_not_contains "export leaves volumes out" "v/f" "$(docker export df2 | tar -t)"
  out=$(docker system df --format '{{.Type}} {{.TotalCount}} {{.Active}}')
  # Counted against what the engine holds now: earlier groups may have left
  # images and containers of their own.
  check_contains "system df images" \
    "Images $(docker images -q --no-trunc | sort -u | wc -l) " "$out"
  check_contains "system df containers" \
    "Containers $(docker ps -aq | wc -l) $(docker ps -q | wc -l)" "$out"
  check_contains "system df volumes" "Local Volumes $(docker volume ls -q | wc -l) " "$out"
  out=$(docker system df -v --format '{{json .Volumes}}')
  check_contains "system df -v volume size" '"Size":"50kB"' "$out"
  docker rm -f df1 df2 >/dev/null
  docker volume rm dfvol >/dev/null

  say "== storage: volumes with driver options"
  local d3="$E2E_DIR/volopts" mp
  mkdir -p "$d3/src"
  echo from-device >"$d3/src/dev"
  check "volume create tmpfs" docker volume create -o type=tmpfs -o device=tmpfs -o o=size=64m tv
  check "volume create bind" docker volume create -o type=none -o o=bind -o device="$d3/src" bv
  out=$(docker volume create -o foo=bar badopt 2>&1)
  check_contains "unknown option refused" 'invalid option key: "foo"' "$out"
  mp="$ROOT/stored/volumes/tv/_data"
  check_eq "not mounted before first use" "" "$(grep -F " $mp " /proc/self/mountinfo || true)"
  out=$(docker run --rm --network none -v tv:/t busybox sh -c 'grep " /t " /proc/mounts; df -k /t | tail -1')
  check_contains "tmpfs volume is a tmpfs" "tmpfs /t tmpfs" "$out"
  check_contains "tmpfs volume has its size" "65536" "$out"
  out=$(docker run --rm --network none -v bv:/b busybox sh -c 'cat /b/dev; echo back > /b/new')
  check_eq "bind volume shows the device" "from-device" "$out"
  check_eq "bind volume writes reach the device" "back" "$(cat "$d3/src/new" 2>/dev/null)"
  docker run -d --network none --name vo1 -v tv:/t busybox sleep 300 >/dev/null
  docker run -d --network none --name vo2 -v tv:/t busybox sleep 300 >/dev/null
  check "mounted while used" grep -qF " $mp " /proc/self/mountinfo
  docker stop -t 1 vo1 >/dev/null
  check "still mounted while another user runs" grep -qF " $mp " /proc/self/mountinfo
  docker stop -t 1 vo2 >/dev/null
  # The runtime releases a stopped container's resources just after stop returns.
  wait_for 5 sh -c "! grep -qF ' $mp ' /proc/self/mountinfo"
  check_eq "unmounted when the last user stops" "" "$(grep -F " $mp " /proc/self/mountinfo || true)"
  docker rm vo1 vo2 >/dev/null
  check "remove option volumes" docker volume rm tv bv

  say "== storage: --volumes-from and refused binds"
  mkdir -p "$d3/fromsrc"
  echo shared-bind >"$d3/fromsrc/s"
  docker create --name donor -v fromvol:/data -v /anonvol -v "$d3/fromsrc:/fb" busybox true >/dev/null
  docker run --rm --network none -v fromvol:/data busybox sh -c 'echo shared > /data/x'
  out=$(docker run --rm --network none --volumes-from donor busybox sh -c \
    'cat /data/x /fb/s; echo w > /anonvol/w && echo anon-writable')
  check_eq "--volumes-from shares volumes and binds" "shared
shared-bind
anon-writable" "$out"
  out=$(docker run --rm --network none --volumes-from donor:ro busybox sh -c 'echo y > /data/y' 2>&1)
  check_contains "--volumes-from :ro" "Read-only file system" "$out"
  out=$(docker run --rm --network none --volumes-from nosuchdonor busybox true 2>&1)
  check_contains "--volumes-from an unknown container" "No such container: nosuchdonor" "$out"
  out=$(docker volume rm fromvol 2>&1)
  check_contains "the donor's volume stays in use" "volume is in use" "$out"
  docker rm -v donor >/dev/null
  docker volume rm fromvol >/dev/null
  out=$(docker run --rm --network none -v "$d3:/" busybox true 2>&1)
  check_contains "a bind on / is refused" "destination can't be '/'" "$out"
  out=$(docker run --rm --network none -v "$ROOT/stored:/s" busybox true 2>&1)
  check_contains "a bind of the engine's data root is refused" "engine's data root" "$out"
  out=$(docker run --rm --network none -v "$ROOT:/s" busybox true 2>&1)
  check_contains "a bind of the data root itself is refused" "engine's data root" "$out"
  check "the bind volume's device survives its removal" test -f "$d3/src/dev"

  storage_owner_checks
  storage_start_race_checks
  storage_shared_layer_checks
  storage_crash_checks
}

# docker cp -a into a container running as a user named in its own
# /etc/passwd and /etc/group (not the host's); without -a the tar's numeric
# owners stay and the names in it are ignored, as Docker's extraction does.
storage_owner_checks() {
  say "== storage: cp -a and the container's user"
  local d="$E2E_DIR/owner" out
  mkdir -p "$d"
  echo owned >"$d/f"
  chown 4321:8765 "$d/f"
  docker run --network none --name ownbase busybox sh -c \
    'echo "cpuser:x:4001:4002::/:/bin/sh" >> /etc/passwd; echo "cpgroup:x:4003:" >> /etc/group' \
    >/dev/null
  docker commit ownbase ownimg >/dev/null
  docker rm ownbase >/dev/null
  docker run -d --network none --name own1 -u cpuser ownimg sleep 300 >/dev/null
  docker run -d --network none --name own2 -u cpuser:cpgroup ownimg sleep 300 >/dev/null
  check "cp -a into a container running as a named user" docker cp -a "$d/f" own1:/tmp/f
  check_contains "owned by the user's IDs in the container's passwd" "4001/4002" \
    "$(docker cp own1:/tmp/f - | tar -tvf -)"
  check "cp -a into user:group" docker cp -a "$d/f" own2:/tmp/f
  check_contains "the group from the container's group file" "4001/4003" \
    "$(docker cp own2:/tmp/f - | tar -tvf -)"
  check "cp without -a" docker cp "$d/f" own1:/tmp/g
  check_contains "without -a the archive's owners stay" "4321/8765" \
    "$(docker cp own1:/tmp/g - | tar -tvf -)"
  docker stop -t 1 own1 >/dev/null
  check "cp -a into the stopped container" docker cp -a "$d/f" own1:/tmp/h
  check_contains "stopped: the same owner" "4001/4002" "$(docker cp own1:/tmp/h - | tar -tvf -)"
  docker rm -f own1 own2 >/dev/null
  docker create --network none --name own3 -u ghost busybox true >/dev/null
  out=$(docker cp -a "$d/f" own3:/tmp/f 2>&1)
  check_contains "cp -a with a user the container does not know" \
    "unable to find user ghost: no matching entries in passwd file" "$out"
  docker rm -f own3 >/dev/null
  # A tar naming its owner "root" but numbering it 1234 (the CLI's -a sends
  # names too): the number wins.
  python3 - "$d/named.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("named"); i.size = 3; i.uid = 1234; i.gid = 5678
    i.uname = "root"; i.gname = "root"
    t.addfile(i, io.BytesIO(b"nm\n"))
PY
  docker run -d --network none --name own4 busybox sleep 300 >/dev/null
  check "cp - of a tar with owner names" sh -c "docker cp -a - own4:/tmp < '$d/named.tar'"
  check_contains "numeric owner kept, names ignored" "1234/5678" \
    "$(docker cp own4:/tmp/named - | tar -tvf -)"
  docker rm -f own4 >/dev/null
  docker rmi ownimg >/dev/null
}

# A copy into a container that is being started: Docker holds the
# container's lock, so the start waits for the copy (stored would otherwise
# mount the same overlay twice). Every start succeeds, every copy lands in
# the container, and no mount is left behind.
storage_start_race_checks() {
  say "== storage: docker cp racing docker start"
  local d="$E2E_DIR/race-start" i id cp_pid started=0 landed=0 twice
  python3 - "$d" <<'PY'
import os, sys
for i in range(20):
    sub = os.path.join(sys.argv[1], f"d{i}")
    os.makedirs(sub)
    for j in range(100):
        with open(os.path.join(sub, f"f{j}"), "wb") as f:
            f.write(b"x" * 4096)
PY
  # The kernel's word for an overlay mounted twice at once (index=off lets
  # the second mount through with this warning).
  twice=$(dmesg 2>/dev/null | grep -c 'upperdir is in-use')
  for i in 1 2 3 4 5; do
    id=$(docker create --network none busybox sleep 300)
    docker cp "$d" "$id:/copied" >/dev/null 2>&1 &
    cp_pid=$!
    sleep 0.$((i * 2 - 1))
    docker start "$id" >/dev/null 2>&1 && started=$((started + 1))
    wait "$cp_pid"
    [ "$(docker exec "$id" sh -c 'find /copied -type f | wc -l' 2>/dev/null)" = 2000 ] &&
      landed=$((landed + 1))
    docker rm -f "$id" >/dev/null
  done
  check_eq "the overlay was never mounted twice at once" "$twice" \
    "$(dmesg 2>/dev/null | grep -c 'upperdir is in-use')"
  check_eq "every start racing a copy succeeded" 5 "$started"
  check_eq "every copy landed whole in its container" 5 "$landed"
  check_eq "no rootfs mount left behind" "" "$(grep -F "$ROOT/stored/c/" /proc/self/mountinfo || true)"
}

# docker system df with two images sharing busybox's layer: the layer counts
# once in LayersSize and is each image's SharedSize, as Docker reports them.
storage_shared_layer_checks() {
  say "== storage: system df and shared layers"
  local before after bb s1 s2 out
  before=$(api http://d/system/df | jq '.LayersSize')
  docker run --network none --name sl1 busybox sh -c 'head -c 30000 /dev/zero > /one' >/dev/null
  docker run --network none --name sl2 busybox sh -c 'head -c 70000 /dev/zero > /two' >/dev/null
  docker commit sl1 sharedimg1 >/dev/null
  docker commit sl2 sharedimg2 >/dev/null
  docker rm sl1 sl2 >/dev/null
  out=$(api http://d/system/df)
  size_of() { jq -r --arg t "$2" '.Images[] | select((.RepoTags // []) | index($t)) | .'"$1" <<<"$out"; }
  bb=$(size_of Size busybox:latest)
  s1=$(size_of Size sharedimg1:latest)
  s2=$(size_of Size sharedimg2:latest)
  after=$(jq '.LayersSize' <<<"$out")
  check_eq "SharedSize of an image is its base layer held by others" "$bb" \
    "$(size_of SharedSize sharedimg1:latest)"
  check_eq "busybox's layer is shared too" "$bb" "$(size_of SharedSize busybox:latest)"
  check_eq "the shared layer counts once in LayersSize" "$((s1 - bb + s2 - bb))" \
    "$((after - before))"
  out=$(docker system df -v --format '{{range .Images}}{{.Repository}} {{.SharedSize}} {{.UniqueSize}};{{end}}')
  check_contains "system df -v shows shared and unique sizes" "sharedimg2" "$out"
  check_not_contains "system df -v: no image has a zero shared size" "sharedimg1 0B" "$out"
  docker rmi sharedimg1 sharedimg2 >/dev/null
}

# Kills stored with SIGKILL and waits until the supervisor's new one serves.
kill_stored() {
  local before
  before=$(daemon_pid stored)
  kill -9 "$before"
  wait_for 15 sh -c "p=\$(pgrep -P $SUPERVISOR_PID -f 'berth-stored '); [ -n \"\$p\" ] && [ \"\$p\" != $before ]"
  wait_for 15 "$BIN/berth" --exec-root "$EXEC_ROOT" status
}

# What stored has on disk matches what the engine reports, and nothing of a
# killed operation is left behind.
check_stored_consistent() {
  local when=$1
  check_eq "$when: every volume directory has its volume" \
    "$(docker volume ls -q | sort | tr '\n' ' ')" "$(ls "$ROOT/stored/volumes" | sort | tr '\n' ' ')"
  check_eq "$when: staging is empty" "" "$(ls -A "$ROOT/stored/tmp")"
  check_eq "$when: one rootfs directory per container" "$(docker ps -aq | wc -l)" \
    "$(ls "$ROOT/stored/c" | wc -l)"
  check_eq "$when: one rootfs mount per running container" "$(docker ps -q | wc -l)" \
    "$(grep -cF "$ROOT/stored/c/" /proc/self/mountinfo)"
  wait_for 5 sh -c "! pgrep -f 'berth-stored archive-helper' >/dev/null"
  check_eq "$when: no archive helper left" "" "$(pgrep -f 'berth-stored archive-helper' || true)"
}

storage_crash_checks() {
  say "== storage: stored killed mid-operation"
  local d4="$E2E_DIR/crash" i out created
  mkdir -p "$d4/big"
  for i in $(seq 1 150); do head -c 1000000 /dev/zero >"$d4/big/f$i"; done

  # During volume creation.
  (for i in $(seq 1 60); do docker volume create "cv$i" 2>/dev/null; done >"$d4/created") &
  local job=$!
  sleep 0.5
  kill_stored
  wait "$job"
  created=$(cat "$d4/created")
  out=$(docker volume ls -q)
  local missing=""
  for i in $created; do grep -qx "$i" <<<"$out" || missing="$missing $i"; done
  check_eq "every volume whose creation succeeded is still there" "" "$missing"
  check_stored_consistent "after a kill during volume creation"
  docker volume ls -q | grep '^cv' | xargs -r docker volume rm >/dev/null

  # During a copy into a running and into a stopped container.
  docker run -d --network none --name cc1 busybox sleep 300 >/dev/null
  docker cp "$d4/big" cc1:/big >/dev/null 2>&1 &
  job=$!
  sleep 1
  kill_stored
  wait "$job"
  out=$(docker cp cc1:/ - 2>/dev/null | tar -tv 2>/dev/null)
  check_not_contains "no half-written temporary file in the container" ".berth-cp-" "$out"
  check_eq "every copied file is whole" "" \
    "$(grep ' big/f' <<<"$out" | awk '$3 != 1000000' || true)"
  check_stored_consistent "after a kill during cp into a running container"
  docker stop -t 1 cc1 >/dev/null
  docker cp "$d4/big" cc1:/big2 >/dev/null 2>&1 &
  job=$!
  sleep 1
  kill_stored
  wait "$job"
  check_stored_consistent "after a kill during cp into a stopped container"
  check "cp works after the restarts" docker cp "$d4/big/f1" cc1:/after
  docker rm cc1 >/dev/null

  # During container removal.
  for i in 1 2 3 4 5; do docker run -d --network none --name cr$i -v "crv$i:/v" busybox sleep 300 >/dev/null; done
  docker rm -f -v cr1 cr2 cr3 cr4 cr5 >/dev/null 2>&1 &
  job=$!
  sleep 0.3
  kill_stored
  wait "$job"
  # Whatever the kill interrupted is finished by a second removal.
  docker ps -aq --filter name=cr | xargs -r docker rm -f -v >/dev/null 2>&1
  check_eq "all removed containers are gone" "" "$(docker ps -aq --filter name=cr)"
  check_stored_consistent "after a kill during container removal"
  docker volume ls -q | grep '^crv' | xargs -r docker volume rm >/dev/null
}

# CVE-2018-15664: a container swaps a directory for a symlink to / while
# docker cp writes into and reads from it. Whatever the timing, the copy stays
# inside the container's root: the host's / never receives the file.
test_storage_race() {
  say "== storage: docker cp against a container racing to swap a path for a symlink"
  local name="berth-race-$$" src out i
  src=$E2E_DIR/$name
  echo "payload" >"$src"
  docker run -d --network none --name racer busybox sh -c \
    'mkdir -p /w/real; while true; do mv /w/real /w/tmp; ln -s / /w/real; rm /w/real; mv /w/tmp /w/real; done' \
    >/dev/null
  for i in $(seq 60); do
    docker cp "$src" racer:/w/real/ >/dev/null 2>&1
    docker cp racer:/w/real/etc/hostname - >/dev/null 2>&1
  done
  check_eq "no copy landed on the host's root" "" "$(ls -d "/$name" 2>/dev/null)"
  out=$(docker exec racer sh -c "ls /w/real/$name /$name 2>/dev/null" | head -1)
  check_contains "the copies landed inside the container" "$name" "$out"
  docker rm -f racer >/dev/null
  rm -f "/$name"
}
