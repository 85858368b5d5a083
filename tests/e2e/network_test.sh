# Networking: the default bridge, user-defined bridge networks over the API,
# endpoints (addresses, aliases, MACs), shared and host namespaces, and
# Docker's errors. Only addresses of this run's own bridges are used.
# shellcheck shell=bash

test_network() {
  local before_containers
  before_containers=$(docker ps -aq | sort | tr '\n' ' ')
  test_network_default
  test_network_user
  check_eq "the network tests leave no container behind" "$before_containers" \
    "$(docker ps -aq | sort | tr '\n' ' ')"
}

test_network_default() {
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
  # netd deletes the veth pairs (an RCU grace period each) after it replies.
  wait_for 5 sh -c "[ -z \"\$(ip -o link show master $E2E_BRIDGE)\" ]"
  check_eq "veths gone with the containers" "0" \
    "$(ip -o link show master "$E2E_BRIDGE" | wc -l)"
  out=$(docker run --rm busybox ip -4 -o addr show eth0)
  check_contains "a released address is handed out again" "inet $ip_a/24" "$out"

  out=$(docker run --rm --add-host hg:host-gateway busybox cat /etc/hosts)
  check_contains "--add-host host-gateway is the bridge's address" "$net.0.1	hg" "$out"
  out=$(docker run --rm --network none busybox ip -o link)
  check_not_contains "--network none has no eth0" "eth0" "$out"
  out=$(docker run --rm --network host busybox ip -o link show "$E2E_BRIDGE")
  check_contains "--network host sees the host's links" "$E2E_BRIDGE" "$out"
}

test_network_user() {
  say "== network: user-defined networks"
  local out id net=10.$E2E_NET_OCTET ip
  out=$(docker network ls --format '{{.Name}} {{.Driver}}' | sort | tr '\n' ' ')
  check_eq "predefined networks listed" "bridge bridge host host none null " "$out"
  for n in bridge host none; do
    out=$(docker network rm "$n" 2>&1)
    check_contains "$n cannot be removed" "is a pre-defined network and cannot be removed" "$out"
  done

  id=$(docker network create --subnet "$net.200.0/24" --gateway "$net.200.254" \
    --ip-range "$net.200.128/25" --label team=a -o com.docker.network.bridge.name="bu$$" un1)
  check_eq "network create prints the ID" "64" "${#id}"
  check_eq "the bridge is named by the option" "1" "$(ip -o link show "bu$$" | wc -l)"
  out=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{.IPRange}}{{end}} {{.Labels.team}} {{.Driver}} {{.Internal}}' un1)
  check_eq "network inspect" "$net.200.0/24 $net.200.254 $net.200.128/25 a bridge false" "$out"
  out=$(docker network create --subnet "$net.0.0/16" overlap 2>&1)
  check_contains "overlapping subnet refused" "Pool overlaps with other one on this address space" "$out"
  out=$(docker network create un1 2>&1)
  check_contains "duplicate name refused" "network with name un1 already exists" "$out"
  out=$(docker network create --subnet "$net.201.0/24" --gateway 198.51.100.1 badgw 2>&1)
  check_contains "gateway outside the subnet refused" "gateway 198.51.100.1" "$out"
  out=$(api -X POST -H 'Content-Type: application/json' -d "{\"Name\": \"badgw\",
    \"IPAM\": {\"Config\": [{\"Subnet\": \"$net.201.0/24\", \"Gateway\": \"198.51.100.1\"}]}}" \
    http://d/networks/create)
  check_contains "the API refuses a gateway outside the subnet too" "does not contain gateway" "$out"
  out=$(api -X POST -H 'Content-Type: application/json' -d "{\"Name\": \"badsub\",
    \"IPAM\": {\"Config\": [{\"Subnet\": \"$net.201.0/16\"}]}}" http://d/networks/create)
  check_contains "a subnet with host bits is refused" "invalid subnet" "$out"
  check_eq "nothing half-made after refusals" "bridge host none un1 " \
    "$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')"
  check_eq "ls --filter label" "un1" "$(docker network ls -q --filter label=team=a --format '{{.Name}}')"
  check_eq "ls --filter type=custom" "un1" "$(docker network ls --filter type=custom --format '{{.Name}}')"
  check_eq "ls --filter type=builtin" "3" "$(docker network ls -q --filter type=builtin | wc -l)"
  check_eq "ls --filter id" "un1" "$(docker network ls --filter id="${id:0:12}" --format '{{.Name}}')"
  check_eq "ls --filter driver=null" "none" "$(docker network ls --filter driver=null --format '{{.Name}}')"

  docker run -d --name u1 --network un1 --network-alias web busybox sleep 300 >/dev/null
  ip=$(docker inspect -f '{{.NetworkSettings.Networks.un1.IPAddress}}' u1)
  check_eq "first address of the ip-range" "$net.200.128" "$ip"
  out=$(docker inspect -f '{{.NetworkSettings.Networks.un1.Aliases}} {{.NetworkSettings.Networks.un1.Gateway}}' u1)
  check_eq "aliases and gateway in inspect" "[web] $net.200.254" "$out"
  docker run -d --name u2 --network un1 --ip "$net.200.10" --mac-address 02:42:aa:bb:cc:dd \
    busybox sleep 300 >/dev/null
  out=$(docker exec u2 ip -4 -o addr show eth0)
  check_contains "--ip is honoured" "inet $net.200.10/24" "$out"
  check_eq "--mac-address is honoured" "02:42:aa:bb:cc:dd" "$(docker exec u2 cat /sys/class/net/eth0/address)"
  check "containers on one network reach each other" docker exec u2 ping -c1 -W2 "$ip"
  out=$(docker run --rm --network un1 --ip "$net.200.10" busybox true 2>&1)
  check_contains "an address in use is refused" "Address already in use" "$out"
  out=$(docker run --rm --network un1 --ip 198.51.100.9 busybox true 2>&1)
  check_contains "an address outside the subnet is refused" "198.51.100.9" "$out"
  out=$(docker run --rm --network nosuchnet busybox true 2>&1)
  check_contains "unknown network" "network nosuchnet not found" "$out"
  out=$(docker network inspect nosuchnet 2>&1)
  check_contains "inspect of an unknown network" "network nosuchnet not found" "$out"
  out=$(docker network inspect -f '{{len .Containers}}' un1)
  check_eq "network inspect lists the containers" "2" "$out"
  out=$(docker network rm un1 2>&1)
  check_contains "a network in use cannot be removed" "has active endpoints" "$out"

  docker network create un2 >/dev/null
  out=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' un2)
  check_contains "an automatic subnet comes from the pool" "$net." "$out"
  out=$(docker network connect --ip "$(echo "$out" | sed 's|0/24|50|')" un2 u1 2>&1)
  check_contains "--ip needs a user-configured subnet" "user configured subnets" "$out"
  docker network connect --alias db un2 u1
  out=$(docker exec u1 ip -o link)
  check_contains "connect adds eth1" "eth1" "$out"
  out=$(docker inspect -f '{{.NetworkSettings.Networks.un2.IPAddress}} {{.NetworkSettings.Networks.un2.Aliases}}' u1)
  check_contains "connect with --alias" "[db]" "$out"
  out=$(docker network connect un2 u1 2>&1)
  check_contains "connecting twice is refused" "already exists in network un2" "$out"
  check "disconnect" docker network disconnect un2 u1
  out=$(docker exec u1 ip -o link)
  check_not_contains "disconnect removes eth1" "eth1" "$out"
  out=$(docker inspect -f '{{len .NetworkSettings.Networks}}' u1)
  check_eq "inspect after disconnect" "1" "$out"

  docker run -d --name u3 --network container:u1 busybox sleep 300 >/dev/null
  out=$(docker exec u3 ip -4 -o addr show eth0)
  check_contains "--network container: shares the namespace" "inet $ip/" "$out"
  docker rm -f u3 >/dev/null

  docker rm -f u1 u2 >/dev/null
  check "network rm once unused" docker network rm un1
  check_eq "its bridge is gone" "" "$(ip -o link show "bu$$" 2>/dev/null)"
  docker network create --label keep=yes un3 >/dev/null
  out=$(docker network prune -f --filter label!=keep=yes)
  check_contains "prune removes unused networks" "un2" "$out"
  check_eq "prune honours label!" "bridge host none un3 " \
    "$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')"
  docker network rm un3 >/dev/null

  test_network_rules
  test_network_restart
  test_network_connect_recorded
}

# Connections are recorded with the container: a created container can be
# connected before it starts (docker compose does), and a restart keeps them.
test_network_connect_recorded() {
  say "== network: connect before start, restart keeps networks"
  local out
  docker network create ca >/dev/null
  docker network create cb >/dev/null
  docker create --name cc --network ca busybox sleep 300 >/dev/null
  check "connect a created container" docker network connect --alias extra cb cc
  out=$(docker network connect nosuchnet cc 2>&1)
  check_contains "connect to an unknown network" "network nosuchnet not found" "$out"
  docker start cc >/dev/null
  out=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.Aliases}} {{end}}' cc)
  check_eq "started on both networks" "ca=[] cb=[extra] " "$(printf '%s' "$out" | sed 's/<nil>//g')"
  check_eq "two interfaces" "2" "$(docker exec cc ip -o -4 addr show | grep -c eth)"
  docker restart -t 1 cc >/dev/null
  out=$(docker inspect -f '{{len .NetworkSettings.Networks}}' cc)
  check_eq "a restart keeps both networks" "2" "$out"
  docker network disconnect cb cc
  docker restart -t 1 cc >/dev/null
  check_eq "a restart after disconnect keeps one" "1" \
    "$(docker inspect -f '{{len .NetworkSettings.Networks}}' cc)"
  docker rm -f cc >/dev/null
  docker network rm ca cb >/dev/null
  docker create --name ch --network host busybox true >/dev/null
  out=$(docker network connect bridge ch 2>&1)
  check_contains "a host-network container cannot be connected" "host network" "$out"
  docker rm ch >/dev/null
}

test_network_rules() {
  say "== network: isolation, masquerade, internal networks"
  local out ip_iso ip_def table net=10.$E2E_NET_OCTET
  table=$(engine_firewall_table)
  docker network create iso >/dev/null
  docker network create --internal inner >/dev/null
  docker run -d --name iso1 --network iso busybox sleep 300 >/dev/null
  docker run -d --name def1 busybox sleep 300 >/dev/null
  ip_iso=$(docker inspect -f '{{.NetworkSettings.Networks.iso.IPAddress}}' iso1)
  ip_def=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' def1)
  check "a container reaches its own gateway" docker exec def1 ping -c1 -W2 "$net.0.1"
  check_fails "containers on different networks cannot reach each other" \
    docker exec def1 ping -c1 -W1 "$ip_iso"
  check_fails "nor the other way round" docker exec iso1 ping -c1 -W1 "$ip_def"
  out=$(nft list table ip "$table")
  check_contains "masquerade for the default bridge" \
    "ip saddr $net.0.0/24 oifname != \"$E2E_BRIDGE\" masquerade" "$out"
  docker network connect iso def1
  check "connected to both, it reaches the other network" docker exec def1 ping -c1 -W2 "$ip_iso"
  docker run -d --name in1 --network inner busybox sleep 300 >/dev/null
  out=$(docker exec in1 ip route)
  check_not_contains "an internal network has no default route" "default" "$out"
  check_not_contains "and no masquerade" \
    "$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' inner) oifname" \
    "$(nft list table ip "$table")"
  docker rm -f iso1 def1 in1 >/dev/null
  docker network rm iso inner >/dev/null
  check_not_contains "rules of removed networks are gone" "br-" "$(nft list table ip "$table")"
}

# netd dies while containers run: its namespaces, bridges and leases stay;
# the restarted netd hands out no address twice.
test_network_restart() {
  say "== network: netd killed while containers run"
  local out ip1 ip2 before
  docker network create rs >/dev/null
  docker run -d --name rs1 --network rs busybox sleep 300 >/dev/null
  ip1=$(docker inspect -f '{{.NetworkSettings.Networks.rs.IPAddress}}' rs1)
  before=$(daemon_pid netd)
  kill -9 "$before"
  wait_for 15 sh -c "[ -n \"\$(pgrep -P $SUPERVISOR_PID -f 'berth-netd ')\" ] && [ \"\$(pgrep -P $SUPERVISOR_PID -f 'berth-netd ')\" != $before ]"
  wait_for 15 docker network ls
  docker run -d --name rs2 --network rs busybox sleep 300 >/dev/null
  ip2=$(docker inspect -f '{{.NetworkSettings.Networks.rs.IPAddress}}' rs2)
  check "a new container after the restart gets another address" test -n "$ip2" -a "$ip1" != "$ip2"
  check "containers from before and after the restart talk" docker exec rs2 ping -c1 -W2 "$ip1"
  check_eq "the network survived" "2" "$(docker network inspect -f '{{len .Containers}}' rs)"
  docker rm -f rs1 rs2 >/dev/null
  docker network rm rs >/dev/null
}

# IPv6 networks, --aux-address, --attachable and --link. IPv6 subnets are
# fd0b:<run octet>:N::/64, this run's own.
test_network_v6() {
  local before_containers
  before_containers=$(docker ps -aq | sort | tr '\n' ' ')
  test_network_ipv6
  test_network_aux_links
  test_network_macvlan
  test_network_extras
  check_eq "the v6 tests leave no container behind" "$before_containers" \
    "$(docker ps -aq | sort | tr '\n' ' ')"
}

test_network_ipv6() {
  say "== network: IPv6"
  local out net=10.$E2E_NET_OCTET v6=fd0b:$E2E_NET_OCTET table
  table=$(engine_firewall_table)
  docker network create --ipv6 --subnet "$v6:1::/64" v6a >/dev/null
  out=$(docker network inspect -f '{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}},{{.Gateway}} {{end}}' v6a)
  check_contains "--ipv6 --subnet alone: IPv6 enabled with its subnet and gateway" \
    "true " "$out"
  check_contains "the IPv6 subnet and gateway are listed" "$v6:1::/64,$v6:1::1" "$out"
  check_contains "an IPv4 subnet from the pool next to it" "$net." "$out"
  docker run -d --name v6x --network v6a busybox sleep 300 >/dev/null
  docker run -d --name v6y --network v6a --ip6 "$v6:1::99" busybox sleep 300 >/dev/null
  out=$(docker inspect -f '{{.NetworkSettings.Networks.v6a.GlobalIPv6Address}}/{{.NetworkSettings.Networks.v6a.GlobalIPv6PrefixLen}} {{.NetworkSettings.Networks.v6a.IPv6Gateway}}' v6x)
  check_eq "inspect: the first IPv6 address and the gateway" "$v6:1::2/64 $v6:1::1" "$out"
  out=$(docker inspect -f '{{.NetworkSettings.Networks.v6a.GlobalIPv6Address}} {{.NetworkSettings.Networks.v6a.IPAMConfig.IPv6Address}}' v6y)
  check_eq "--ip6 is honoured and shown as asked" "$v6:1::99 $v6:1::99" "$out"
  check_eq "IPv6 is on in the container's namespace" "0" \
    "$(docker exec v6x cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6)"
  out=$(docker exec v6y ip -6 -o addr show eth0)
  check_contains "eth0 carries the IPv6 address" "inet6 $v6:1::99/64" "$out"
  out=$(docker exec v6x ip -6 route)
  check_contains "an IPv6 default route via the gateway" "default via $v6:1::1" "$out"
  check "ping6 by address" docker exec v6x ping -6 -c1 -W2 "$v6:1::99"
  check "ping6 by name (AAAA from the embedded DNS)" docker exec v6x ping -6 -c1 -W2 v6y
  out=$(docker exec v6x nslookup -type=AAAA v6y 127.0.0.11 2>&1)
  check_contains "nslookup AAAA answers the container's address" "$v6:1::99" "$out"
  docker exec v6y sh -c 'mkdir -p /www && echo hello-v6 > /www/index.html && httpd -p 8080 -h /www'
  out=$(docker exec v6x wget -qO- "http://[$v6:1::99]:8080/")
  check_eq "wget over IPv6" "hello-v6" "$out"
  out=$(nft list table ip6 "$table")
  check_contains "masquerade of the IPv6 subnet in the ip6 table" "ip6 saddr $v6:1::/64" "$out"

  docker network create --ipv6 --subnet "$net.61.0/24" --subnet "$v6:2::/64" v6b >/dev/null
  docker run -d --name v6z --network v6b busybox sleep 300 >/dev/null
  out=$(docker inspect -f '{{.NetworkSettings.Networks.v6b.IPAddress}} {{.NetworkSettings.Networks.v6b.GlobalIPv6Address}}' v6z)
  check_eq "with an IPv4 subnet too: one address of each" "$net.61.2 $v6:2::2" "$out"
  check_fails "networks stay isolated over IPv6" docker exec v6z ping -6 -c1 -W1 "$v6:1::99"
  out=$(docker network inspect -f '{{range $id, $c := .Containers}}{{$c.IPv6Address}}{{end}}' v6b)
  check_eq "network inspect shows the container's IPv6 address" "$v6:2::2/64" "$out"

  out=$(docker network create --ipv6 --subnet "$v6::/32" v6o 2>&1)
  check_contains "an overlapping IPv6 subnet is refused" "Pool overlaps with other one" "$out"
  out=$(api -X POST -H 'Content-Type: application/json' -d "{\"Name\": \"v6g\", \"EnableIPv6\": true,
    \"IPAM\": {\"Config\": [{\"Subnet\": \"$v6:3::/64\", \"Gateway\": \"$v6:4::1\"}]}}" \
    http://d/networks/create)
  check_contains "an IPv6 gateway outside the subnet is refused" "does not contain gateway $v6:4::1" "$out"
  out=$(docker run --rm --network v6a --ip6 "$v6:9::5" busybox true 2>&1)
  check_contains "an IPv6 address outside the subnet is refused" \
    "no configured subnet or ip-range contain the IP address $v6:9::5" "$out"
  out=$(docker run --rm --network v6a --ip6 "$v6:1::99" busybox true 2>&1)
  check_contains "an IPv6 address in use is refused" "Address already in use: $v6:1::99" "$out"
  out=$(docker network create --subnet "$v6:5::/64" v6n 2>&1)
  check_contains "an IPv6 subnet without --ipv6 is refused" "IPv6 is not enabled" "$out"
  docker network create --ipv6 v6u >/dev/null
  out=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' v6u)
  check_contains "--ipv6 without a subnet gets a unique-local /64" "/64" "$out"

  # netd SIGKILLed: IPv6 leases, AAAA names and the ip6 table come back.
  local before
  before=$(daemon_pid netd)
  kill -9 "$before"
  wait_for 15 sh -c "[ -n \"\$(pgrep -P $SUPERVISOR_PID -f 'berth-netd ')\" ] && [ \"\$(pgrep -P $SUPERVISOR_PID -f 'berth-netd ')\" != $before ]"
  wait_for 15 docker network ls
  docker run -d --name v6w --network v6a busybox sleep 300 >/dev/null
  check_eq "after a netd crash the next IPv6 address is a new one" "$v6:1::3" \
    "$(docker inspect -f '{{.NetworkSettings.Networks.v6a.GlobalIPv6Address}}' v6w)"
  wait_for 10 docker exec v6w ping -6 -c1 -W1 v6y
  check "AAAA names answer after the restart" docker exec v6w ping -6 -c1 -W2 v6y
  check_contains "the ip6 rules are restored" "ip6 saddr $v6:1::/64" "$(nft list table ip6 "$table")"

  docker rm -f v6x v6y v6z v6w >/dev/null
  docker network rm v6a v6b v6u >/dev/null
  check_eq "no network of this run left in use" "bridge host none " \
    "$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')"
  check_eq "no IPv6 route of the removed networks" "" \
    "$(ip -6 route show | grep -E "^fd0b:$E2E_NET_OCTET:" || true)"
  check_not_contains "their ip6 rules are gone" "$v6:" "$(nft list table ip6 "$table")"
}

test_network_aux_links() {
  say "== network: --aux-address, --attachable, --link"
  local out net=10.$E2E_NET_OCTET ip
  docker network create --subnet "$net.70.0/24" --aux-address "router=$net.70.2" \
    --aux-address "printer=$net.70.3" --attachable auxn >/dev/null
  out=$(docker network inspect -f '{{.Attachable}} {{range .IPAM.Config}}{{.AuxiliaryAddresses.router}}{{end}}' auxn)
  check_eq "--attachable and --aux-address in inspect" "true $net.70.2" "$out"
  docker run -d --name aux1 --network auxn busybox sleep 300 >/dev/null
  check_eq "aux addresses are never handed out" "$net.70.4" \
    "$(docker inspect -f '{{.NetworkSettings.Networks.auxn.IPAddress}}' aux1)"
  out=$(docker run --rm --network auxn --ip "$net.70.2" busybox true 2>&1)
  check_contains "an aux address cannot be asked for" "Address already in use: $net.70.2" "$out"
  out=$(api -X POST -H 'Content-Type: application/json' -d "{\"Name\": \"auxbad\", \"IPAM\":
    {\"Config\": [{\"Subnet\": \"$net.71.0/24\", \"AuxiliaryAddresses\": {\"x\": \"$net.72.1\"}}]}}" \
    http://d/networks/create)
  check_contains "an aux address outside the subnet is refused" "must belong to the master pool" "$out"

  # --link on a user-defined network: the alias resolves for the linking
  # container only.
  docker run -d --name lk1 --network auxn --link aux1:site busybox sleep 300 >/dev/null
  ip=$(docker inspect -f '{{.NetworkSettings.Networks.auxn.IPAddress}}' aux1)
  out=$(docker exec lk1 nslookup site 127.0.0.11 2>&1)
  check_contains "a link alias resolves through the embedded DNS" "$ip" "$out"
  check "the link alias answers ping" docker exec lk1 ping -c1 -W2 site
  check_fails "other containers do not see the link alias" docker exec aux1 nslookup site 127.0.0.11
  out=$(docker inspect -f '{{.NetworkSettings.Networks.auxn.Links}}' lk1)
  check_eq "inspect shows the endpoint's links" "[aux1:site]" "$out"
  docker rm -f aux1 lk1 >/dev/null
  docker network rm auxn >/dev/null

  # --link on the default bridge: /etc/hosts, as Docker writes it.
  local id
  id=$(docker run -d --name lb1 busybox sleep 300)
  ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' lb1)
  out=$(docker run --rm --link lb1:site busybox cat /etc/hosts)
  check_contains "--link writes the alias, hostname and name to /etc/hosts" \
    "$ip	site ${id:0:12} lb1" "$out"
  check "the link alias answers ping on the default bridge" \
    docker run --rm --link lb1:site busybox ping -c1 -W2 site
  out=$(docker run --rm --link lb1 busybox cat /etc/hosts)
  check_contains "--link name alone" "$ip	lb1 ${id:0:12}" "$out"
  docker stop -t 0 lb1 >/dev/null
  out=$(docker run --rm --link lb1:site busybox true 2>&1)
  check_contains "a stopped link target is refused in Docker's words" \
    "Cannot link to a non running container: /lb1 AS" "$out"
  docker rm -f lb1 >/dev/null
}

# macvlan networks over a parent link this test makes and deletes.
test_network_macvlan() {
  say "== network: macvlan"
  local out net=10.$E2E_NET_OCTET parent=bmv$E2E_NET_OCTET ip1 ip2
  # A dummy where the kernel has them, else one end of a veth pair (both up:
  # a macvlan carries traffic only while its parent has a carrier).
  if ! ip link add "$parent" type dummy 2>/dev/null; then
    ip link add "$parent" type veth peer name "${parent}p" && ip link set "${parent}p" up
  fi
  ip link set "$parent" up
  out=$(docker network create -d macvlan -o parent="nosuch$E2E_NET_OCTET" --subnet "$net.81.0/24" mvbad 2>&1)
  check_contains "a missing parent is refused in Docker's words" \
    "-o parent interface was not found on the host: nosuch$E2E_NET_OCTET" "$out"
  out=$(docker network create -d macvlan -o parent="$parent" -o macvlan_mode=bogus \
    --subnet "$net.81.0/24" mvbad 2>&1)
  check_contains "an unknown macvlan mode is refused" "requested macvlan mode 'bogus' is not valid" "$out"
  docker network create -d macvlan -o parent="$parent" --subnet "$net.80.0/24" mv >/dev/null
  out=$(docker network inspect -f '{{.Driver}} {{index .Options "parent"}} {{range .IPAM.Config}}{{.Subnet}}{{end}}' mv)
  check_eq "macvlan network inspect" "macvlan $parent $net.80.0/24" "$out"
  docker run -d --name mv1 --network mv busybox sleep 300 >/dev/null
  docker run -d --name mv2 --network mv --ip "$net.80.50" busybox sleep 300 >/dev/null
  ip1=$(docker inspect -f '{{.NetworkSettings.Networks.mv.IPAddress}}' mv1)
  ip2=$(docker inspect -f '{{.NetworkSettings.Networks.mv.IPAddress}}' mv2)
  check_eq "addresses on the macvlan network" "$net.80.2 $net.80.50" "$ip1 $ip2"
  out=$(nsenter --net="$EXEC_ROOT/netd/netns/$(docker inspect -f '{{.Id}}' mv1)" ip -d link show eth0)
  check_contains "eth0 is a macvlan in bridge mode (the default)" "macvlan mode bridge" "$out"
  check "containers reach each other over macvlan" docker exec mv1 ping -c1 -W2 "$ip2"
  check "by name through the embedded DNS" docker exec mv2 ping -c1 -W2 mv1
  check_eq "nothing of the containers on the host side" "" \
    "$(ip -o link show type macvlan | grep -E "@$parent" || true)"
  docker network disconnect mv mv2
  out=$(nsenter --net="$EXEC_ROOT/netd/netns/$(docker inspect -f '{{.Id}}' mv2)" ip -o link)
  check_not_contains "disconnect removes the macvlan interface from the container" "eth0" "$out"
  docker network connect --ip "$net.80.60" mv mv2
  check "connect --ip on a running container over macvlan" docker exec mv1 ping -c1 -W2 "$net.80.60"
  out=$(docker network create -d macvlan -o parent="$parent" --subnet "$net.82.0/24" mv2 2>&1)
  check_contains "one macvlan network per parent" "is already using parent interface $parent" "$out"
  docker rm -f mv1 mv2 >/dev/null
  docker network rm mv >/dev/null
  check_eq "the parent link is left as it was" "1" "$(ip -o link show "$parent" | wc -l)"
  ip link del "$parent"
}

# What issue 5 names beyond the basics: connect --ip/--alias on a running
# container (reachable by the alias), ls name/dangling filters, prune until.
test_network_extras() {
  say "== network: connect on running containers, rename, filters, prune until"
  local out ip net=10.$E2E_NET_OCTET
  docker network create --subnet "$net.90.0/24" ex1 >/dev/null
  docker network create --label keep=no ex2 >/dev/null
  docker run -d --name ex0 --network ex1 busybox sleep 300 >/dev/null
  docker run -d --name exr busybox sleep 300 >/dev/null
  docker network connect --ip "$net.90.77" --alias svc ex1 exr
  check_eq "connect --ip on a running container" "$net.90.77" \
    "$(docker inspect -f '{{.NetworkSettings.Networks.ex1.IPAddress}}' exr)"
  out=$(docker exec exr ip -4 -o addr show eth1)
  check_contains "the new interface carries the address" "inet $net.90.77/24" "$out"
  out=$(docker exec ex0 nslookup svc 127.0.0.11 2>&1)
  check_contains "the connect --alias resolves for the others" "$net.90.77" "$out"
  check "and answers" docker exec ex0 ping -c1 -W2 svc
  out=$(docker network connect --ip "$net.90.77" ex1 ex0 2>&1)
  check_contains "connecting twice is refused" "already exists in network ex1" "$out"
  check_eq "ls --filter name" "ex1 ex2" \
    "$(docker network ls --filter name=ex --format '{{.Name}}' | sort | tr '\n' ' ' | sed 's/ $//')"
  check_eq "ls --filter dangling=true" "ex2" \
    "$(docker network ls --filter dangling=true --format '{{.Name}}')"
  docker network disconnect ex1 exr
  out=$(docker network disconnect ex1 exr 2>&1)
  check_contains "disconnecting twice is refused" "is not connected to network ex1" "$out"
  check_fails "the alias is gone with the endpoint" docker exec ex0 nslookup svc 127.0.0.11
  # docker rename of a running container: the new name resolves and the old
  # one no longer does (Moby renames the endpoints), inspect's DNSNames
  # follow, and container:<new name> joins its network namespace.
  docker run -d --name exq --network ex1 busybox sleep 300 >/dev/null
  ip=$(docker inspect -f '{{.NetworkSettings.Networks.ex1.IPAddress}}' exq)
  check "rename a running container on a user network" docker rename exq exq2
  out=$(docker exec ex0 nslookup exq2 127.0.0.11 2>&1)
  check_contains "the renamed container resolves by its new name" "$ip" "$out"
  check_fails "and no longer by its old one" docker exec ex0 nslookup exq 127.0.0.11
  check_contains "inspect's DNSNames has the new name" "exq2" \
    "$(docker inspect -f '{{.NetworkSettings.Networks.ex1.DNSNames}}' exq2)"
  out=$(docker run --rm --network container:exq2 busybox ip -4 -o addr show eth0)
  check_contains "container:<new name> joins its network namespace" "inet $ip/" "$out"
  out=$(docker network prune -f --filter until=1h 2>&1)
  check_not_contains "prune until=1h is accepted" "rror" "$out"
  check_not_contains "prune until=1h keeps networks made just now" "ex2" "$out"
  check_eq "both still there" "2" "$(docker network ls -q --filter name=ex | wc -l)"
  sleep 2
  out=$(docker network prune -f --filter until=1s 2>&1)
  check_contains "prune until=1s removes the unused one" "ex2" "$out"
  docker rm -f ex0 exr exq2 >/dev/null
  docker network rm ex1 >/dev/null
}
