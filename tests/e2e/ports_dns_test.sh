# Published ports (kernel DNAT rules and the userland proxy for the host's
# loopback) and the embedded DNS server on user-defined networks. Traffic goes
# only to loopback and to the addresses of the bridges the engine made.
# Debian's busybox 1.35 wget segfaults with -T: waits are bounded by timeout instead.
# shellcheck shell=bash

# A TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Succeeds when PORT can be bound on 0.0.0.0 (no one holds it).
port_is_free() {
  python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1)' "$1"
}

HTTPD='mkdir -p /www && echo "page of $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www'

test_ports_dns() {
  say "== published ports and embedded DNS"
  local table out port port2 port3 id id2 id3 gateway
  table=$(engine_firewall_table)
  check "netd's nftables table exists" nft list table ip "$table"

  port=$(free_port)
  id=$(docker run -d -p "127.0.0.1:$port:80" busybox sh -c "$HTTPD")
  check "-p 127.0.0.1:port:80 serves the host through the proxy" \
    wait_for 10 sh -c "curl -sf http://127.0.0.1:$port/ | grep -q 'page of'"
  check_eq "docker port" "80/tcp -> 127.0.0.1:$port" "$(docker port "$id")"
  check_eq "docker ps shows the port" "127.0.0.1:$port->80/tcp" \
    "$(docker ps --filter "id=$id" --format '{{.Ports}}')"
  check_eq "NetworkSettings.Ports" "{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"$port\"}]}" \
    "$(docker inspect -f '{{json .NetworkSettings.Ports}}' "$id")"
  check_not_contains "a loopback-only port has no DNAT rule" "dport $port " \
    "$(nft list table ip "$table")"

  port2=$(free_port)
  id2=$(docker run -d -p "$port2:80" busybox sh -c "$HTTPD")
  check_contains "-p port:80 installs DNAT rules" "dport $port2 counter packets" "$(nft list table ip "$table")"
  check "-p port:80 serves 127.0.0.1 through the proxy" \
    wait_for 10 sh -c "curl -sf http://127.0.0.1:$port2/ | grep -q 'page of'"
  gateway=$(docker inspect -f '{{.NetworkSettings.Gateway}}' "$id2")
  check "-p port:80 serves the bridge's host address through DNAT" \
    sh -c "curl -sf --max-time 5 http://$gateway:$port2/ | grep -q 'page of'"
  check "that connection took the kernel's DNAT, not the proxy" \
    sh -c "nft list table ip $table | grep -E 'dport $port2 counter packets [1-9]'"
  out=$(docker run -d -p "$port2:80" busybox true 2>&1)
  check_contains "a taken host port is Docker's error" \
    "Bind for 0.0.0.0:$port2 failed: port is already allocated" "$out"
  docker ps -aq --filter status=created | xargs -r docker rm -f >/dev/null 2>&1

  # A privileged host port: netd holds it for the proxy (CAP_NET_BIND_SERVICE).
  local low
  low=$(python3 -c '
import socket
for p in range(900, 1000):
    try:
        s = socket.socket(); s.bind(("127.0.0.1", p)); s.close(); print(p); break
    except OSError: pass')
  local low_id
  low_id=$(docker run -d -p "127.0.0.1:$low:80" busybox sh -c "$HTTPD")
  check "a host port below 1024 is published" \
    wait_for 10 sh -c "curl -sf http://127.0.0.1:$low/ | grep -q 'page of'"
  docker rm -f "$low_id" >/dev/null

  id3=$(docker run -d --expose 80 -P busybox sh -c "$HTTPD")
  port3=$(docker port "$id3" 80/tcp | head -1 | sed 's/.*://')
  check "-P publishes the exposed port on a random host port" \
    wait_for 10 sh -c "curl -sf http://127.0.0.1:$port3/ | grep -q 'page of'"
  local range_id first
  first=$(python3 -c '
import socket
for p in range(20000, 30000, 2):
    try:
        a = socket.socket(); a.bind(("0.0.0.0", p)); b = socket.socket(); b.bind(("0.0.0.0", p + 1))
        print(p); break
    except OSError:
        pass')
  range_id=$(docker run -d -p "127.0.0.1:$first-$((first + 1)):80-81" busybox sleep 300)
  check_eq "-p with ranges publishes one host port per container port" \
    "80/tcp -> 127.0.0.1:$first 81/tcp -> 127.0.0.1:$((first + 1))" \
    "$(docker port "$range_id" | sort | tr '\n' ' ' | sed 's/ $//')"
  docker rm -f "$range_id" >/dev/null

  # busybox has no UDP server: the relay itself is covered by the unit tests.
  local udp_port udp_id
  udp_port=$(free_port)
  udp_id=$(docker run -d -p "127.0.0.1:$udp_port:53/udp" busybox sleep 300)
  check_eq "docker port of a UDP port" "53/udp -> 127.0.0.1:$udp_port" "$(docker port "$udp_id")"
  check_fails "the UDP host port is held" python3 -c \
    'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.1", int(sys.argv[1])))' \
    "$udp_port"
  docker rm -f "$udp_id" >/dev/null
  check "the UDP host port is free after rm -f" python3 -c \
    'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.1", int(sys.argv[1])))' \
    "$udp_port"

  # A SIGKILLed netd comes back with the same ports and exactly its own rules.
  local netd_pid
  netd_pid=$(daemon_pid netd)
  nft add rule ip "$table" prerouting tcp dport 1 counter comment '"stale"'
  check_contains "a stale rule is planted" "stale" "$(nft list table ip "$table")"
  kill -KILL "$netd_pid"
  check "netd is restarted after SIGKILL" \
    wait_for 20 sh -c "p=\$(pgrep -P $SUPERVISOR_PID -f 'berth-netd ' | head -1); [ -n \"\$p\" ] && [ \"\$p\" != $netd_pid ]"
  check "the proxy serves the same port again" \
    wait_for 20 sh -c "curl -sf http://127.0.0.1:$port/ | grep -q 'page of'"
  out=$(nft list table ip "$table")
  check_contains "the DNAT rules are back" "dport $port2 counter packets" "$out"
  check_not_contains "a rule netd does not know of is gone" "stale" "$out"
  check_eq "docker port after the restart" "80/tcp -> 127.0.0.1:$port" "$(docker port "$id")"

  docker rm -f "$id" "$id2" "$id3" >/dev/null
  check "the proxy's port is free after rm -f" port_is_free "$port"
  check "the DNAT'd port is free after rm -f" port_is_free "$port2"
  check "the random port is free after rm -f" port_is_free "$port3"
  out=$(nft list table ip "$table")
  check_not_contains "no DNAT rule left after rm -f" "dnat" "$out"

  # Names on a user-defined network.
  docker network create pdnet >/dev/null
  id=$(docker run -d --name pdweb --network pdnet --network-alias pdwww busybox sh -c "$HTTPD")
  check "a container reaches another by name" \
    wait_for 10 timeout 20 docker run --rm --network pdnet busybox wget -qO- http://pdweb/
  out=$(timeout 20 docker run --rm --network pdnet busybox wget -qO- http://pdwww/ 2>&1)
  check_contains "a container reaches another by alias" "page of" "$out"
  out=$(timeout 20 docker run --rm --network pdnet busybox wget -qO- "http://${id:0:12}/" 2>&1)
  check_contains "a container reaches another by short ID" "page of" "$out"
  out=$(timeout 20 docker run --rm --network pdnet busybox wget -qO- http://pdweb.pdnet/ 2>&1)
  check_contains "name.network resolves" "page of" "$out"
  id2=$(docker run -d --name pdclient --network pdnet busybox sleep 300)
  port=$(free_port)
  id3=$(docker run -d --network pdnet -p "127.0.0.1:$port:80" busybox sh -c "$HTTPD")
  check "a port publishes from a user-defined network too" \
    wait_for 10 sh -c "curl -sf http://127.0.0.1:$port/ | grep -q 'page of'"
  docker rm -f "$id3" >/dev/null
  out=$(timeout 20 docker exec pdclient wget -qO- http://pdweb/ 2>&1)
  check_contains "a long-running container resolves too" "page of" "$out"
  out=$(docker exec pdweb nslookup pdclient 127.0.0.11 2>&1)
  check_contains "nslookup answers with the container's address" \
    "$(docker inspect -f '{{.NetworkSettings.Networks.pdnet.IPAddress}}' pdclient)" "$out"
  # The servers live in netd: a restarted netd opens them again.
  kill -KILL "$(daemon_pid netd)"
  check "names resolve again after netd is SIGKILLed" \
    wait_for 20 timeout 10 docker exec pdclient wget -qO- http://pdweb/
  out=$(docker exec pdweb nslookup \
    "$(docker inspect -f '{{.NetworkSettings.Networks.pdnet.IPAddress}}' pdclient)" 127.0.0.11 2>&1)
  check_contains "a reverse lookup names the container" "pdclient.pdnet" "$out"
  check_fails "a name that does not exist does not resolve" \
    timeout 20 docker run --rm --network pdnet busybox wget -qO- http://pdnosuch/
  out=$(timeout 20 docker run --rm busybox wget -qO- http://pdweb/ 2>&1)
  check_not_contains "the default bridge does not resolve container names" "page of" "$out"
  docker rm -f pdweb pdclient >/dev/null
  docker network rm pdnet >/dev/null
}
