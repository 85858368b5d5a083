# Networking: the default bridge, user-defined bridge networks over the API,
# endpoints (addresses, aliases, MACs), shared and host namespaces, and
# Docker's errors. Only addresses of this run's own bridges are used.
# shellcheck shell=bash

test_network() {
  say "== network: default bridge"
  local out a b ip_a ip_b net
  net=10.$E2E_NET_OCTET
  out=$(docker run --rm busybox ip -4 -o addr show eth0)
  check_contains "eth0 has an address in the default subnet" "inet $net.0." "$out"
  out=$(docker run --rm busybox ip route)
  check_contains "default route via the bridge" "default via $net.0.1" "$out"
  out=$(docker run --rm busybox cat /sys/class/net/eth0/address)
  check_contains "Docker's MAC for the address" "02:42:0a:" "$out"
  check_eq "bridge exists while the engine runs" "1" "$(ip -o link show "$E2E_BRIDGE" | wc -l)"

  a=$(docker run -d --name na busybox sleep 300)
  b=$(docker run -d --name nb busybox sleep 300)
  ip_a=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' na)
  ip_b=$(docker inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' nb)
  check_contains "inspect shows the address" "$net.0." "$ip_a"
  check "two containers get different addresses" test "$ip_a" != "$ip_b"
  check "containers ping each other by IP" docker exec na ping -c1 -W2 "$ip_b"
  out=$(docker inspect -f '{{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}}' na)
  check_eq "inspect gateway and prefix" "$net.0.1 24" "$out"
  out=$(docker inspect -f '{{.NetworkSettings.MacAddress}}' na)
  check_eq "inspect MAC" "$(docker exec na cat /sys/class/net/eth0/address)" "$out"
  out=$(docker exec na cat /etc/hosts)
  check_contains "/etc/hosts maps the hostname to the address" "$ip_a	${a:0:12}" "$out"
  out=$(docker exec na cat /etc/resolv.conf)
  check_not_contains "no loopback resolver in resolv.conf" "nameserver 127." "$out"
  check_eq "host end of each veth on the bridge" "2" \
    "$(ip -o link show master "$E2E_BRIDGE" | wc -l)"
  docker rm -f na nb >/dev/null
  check_eq "veths gone with the containers" "0" \
    "$(ip -o link show master "$E2E_BRIDGE" | wc -l)"
  out=$(docker run --rm busybox ip -4 -o addr show eth0)
  check_contains "a released address is handed out again" "inet $ip_a/24" "$out"

  out=$(docker run --rm --network none busybox ip -o link)
  check_not_contains "--network none has no eth0" "eth0" "$out"
  out=$(docker run --rm --network host busybox ip -o link show "$E2E_BRIDGE")
  check_contains "--network host sees the host's links" "$E2E_BRIDGE" "$out"

  test_network_user
}

test_network_user() {
  say "== network: user-defined networks"
}
