// Published ports with real sockets, in a network namespace of the test's own
// (so fixed port numbers cannot collide with anything on the host).
#include "netd/portmap/port_mapper.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "tests/netd/test_util.h"

namespace berth::netd {
namespace {

using testing::EnterPrivateNetns;

class FakeFirewall : public Firewall {
 public:
  absl::Status SetRules(const std::string& owner, std::vector<FirewallRule> rules) override {
    if (fail) return absl::InternalError("nftables: refused");
    if (rules.empty()) {
      this->rules.erase(owner);
    } else {
      this->rules[owner] = std::move(rules);
    }
    return absl::OkStatus();
  }
  absl::Status RemoveRules(const std::string& owner) override {
    rules.erase(owner);
    return absl::OkStatus();
  }
  std::map<std::string, std::vector<FirewallRule>> rules;
  bool fail = false;
};

// A "container": an echo server on 127.0.0.5 (TCP: echoes until EOF, then
// closes; UDP: echoes each datagram prefixed with "re:").
class EchoServer {
 public:
  EchoServer(const char* proto, int port) {
    const bool tcp = std::string(proto) == "tcp";
    fd_.Reset(socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0));
    sockaddr_in address = testing::Ipv4SocketAddress("127.0.0.5", port);
    REQUIRE(bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    if (tcp) REQUIRE(listen(fd_.get(), 16) == 0);
    thread_ = std::thread([this, tcp] { tcp ? ServeTcp() : ServeUdp(); });
  }
  ~EchoServer() {
    shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }

 private:
  void ServeTcp() {
    while (true) {
      UniqueFd client(accept(fd_.get(), nullptr, nullptr));
      if (!client.valid()) return;
      char buffer[4096];
      ssize_t n;
      while ((n = read(client.get(), buffer, sizeof(buffer))) > 0) {
        (void)!write(client.get(), buffer, static_cast<size_t>(n));
      }
    }
  }
  void ServeUdp() {
    char buffer[4096];
    while (true) {
      sockaddr_in from = {};
      socklen_t length = sizeof(from);
      ssize_t n = recvfrom(fd_.get(), buffer + 3, sizeof(buffer) - 3, 0,
                           reinterpret_cast<sockaddr*>(&from), &length);
      if (n <= 0) return;
      memcpy(buffer, "re:", 3);
      sendto(fd_.get(), buffer, static_cast<size_t>(n) + 3, 0, reinterpret_cast<sockaddr*>(&from),
             length);
    }
  }
  UniqueFd fd_;
  std::thread thread_;
};

// Connects to ip:port, sends `message`, half-closes and reads to EOF.
std::string TcpRoundTrip(const char* ip, int port, const std::string& message) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM, 0));
  struct timeval timeout = {5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address = testing::Ipv4SocketAddress(ip, port);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return "connect failed";
  }
  (void)!write(fd.get(), message.data(), message.size());
  shutdown(fd.get(), SHUT_WR);
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd.get(), buffer, sizeof(buffer))) > 0) answer.append(buffer, n);
  return answer;
}

std::string UdpRoundTrip(const char* ip, int port, const std::string& message) {
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM, 0));
  struct timeval timeout = {5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address = testing::Ipv4SocketAddress(ip, port);
  sendto(fd.get(), message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&address),
         sizeof(address));
  char buffer[4096];
  ssize_t n = recv(fd.get(), buffer, sizeof(buffer), 0);
  return n < 0 ? "no answer" : std::string(buffer, n);
}

bool PortFree(const char* proto, const char* ip, int port) {
  const bool tcp = std::string(proto) == "tcp";
  UniqueFd fd(socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0));
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address = testing::Ipv4SocketAddress(ip, port);
  return bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
}

struct Fixture {
  Fixture() {
    EnterPrivateNetns();
    dir = "/tmp/pmXXXXXX";
    REQUIRE(mkdtemp(dir.data()) != nullptr);
    auto started = EventLoop::Start();
    REQUIRE(started.ok());
    loop = std::move(*started);
    Reopen();
  }
  ~Fixture() {
    mapper.reset();
    RemoveAll(dir).IgnoreError();
  }
  void Reopen() {
    mapper.reset();
    auto opened = PortMapper::Open(dir, &firewall, loop.get(), PortRange{41000, 41003});
    REQUIRE(opened.ok());
    mapper = std::move(*opened);
  }
  PublishRequest Request(const std::string& id, std::vector<PortRequest> ports) {
    return PublishRequest{id, "127.0.0.5", "br-test", std::move(ports)};
  }

  std::string dir;
  FakeFirewall firewall;
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<PortMapper> mapper;
};

PortRequest Port(const char* proto, int container_port, const char* host_ip, int first,
                 int last = -1) {
  return PortRequest{proto, container_port, host_ip, first, last < 0 ? first : last};
}

TEST_CASE("a published TCP port relays to the container through the proxy, half-close included") {
  Fixture f;
  EchoServer container("tcp", 80);
  auto published = f.mapper->Publish(f.Request("c1", {Port("tcp", 80, "127.0.0.1", 18080)}));
  REQUIRE(published.ok());
  REQUIRE(published->size() == 1);
  CHECK((*published)[0].host_port == 18080);
  CHECK(TcpRoundTrip("127.0.0.1", 18080, "hello") == "hello");
  const std::string big(1 << 20, 'x');
  CHECK(TcpRoundTrip("127.0.0.1", 18080, big) == big);
  // Nothing behind the port: the client's connection is closed, netd goes on.
  REQUIRE(f.mapper->Publish(f.Request("c2", {Port("tcp", 81, "127.0.0.1", 18081)})).ok());
  CHECK(TcpRoundTrip("127.0.0.1", 18081, "x") == "");
  CHECK(TcpRoundTrip("127.0.0.1", 18080, "again") == "again");
}

TEST_CASE("a published UDP port relays datagrams both ways") {
  Fixture f;
  EchoServer container("udp", 53);
  REQUIRE(f.mapper->Publish(f.Request("c1", {Port("udp", 53, "127.0.0.1", 18053)})).ok());
  CHECK(UdpRoundTrip("127.0.0.1", 18053, "q1") == "re:q1");
  CHECK(UdpRoundTrip("127.0.0.1", 18053, "q2") == "re:q2");
}

TEST_CASE("a taken host port is Docker's error and nothing of the request stays bound") {
  Fixture f;
  UniqueFd squatter(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in address = testing::Ipv4SocketAddress("0.0.0.0", 18090);
  REQUIRE(bind(squatter.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(listen(squatter.get(), 1) == 0);
  auto refused = f.mapper->Publish(
      f.Request("c1", {Port("tcp", 80, "0.0.0.0", 18089), Port("tcp", 81, "0.0.0.0", 18090)}));
  CHECK(refused.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(refused.status().message() == "Bind for 0.0.0.0:18090 failed: port is already allocated");
  CHECK(PortFree("tcp", "0.0.0.0", 18089));
  CHECK(f.firewall.rules.empty());
  CHECK(f.mapper->Mappings("c1")->empty());

  // Two containers cannot share a host port; the same number in another
  // protocol is fine.
  REQUIRE(f.mapper->Publish(f.Request("c1", {Port("tcp", 80, "0.0.0.0", 18089)})).ok());
  CHECK(f.mapper->Publish(f.Request("c2", {Port("tcp", 80, "127.0.0.1", 18089)})).status().code() ==
        absl::StatusCode::kAlreadyExists);
  CHECK(f.mapper->Publish(f.Request("c2", {Port("udp", 80, "0.0.0.0", 18089)})).ok());
}

TEST_CASE("random host ports come from the range, never twice, until it is exhausted") {
  Fixture f;
  std::set<int> seen;
  for (int i = 0; i < 4; ++i) {
    auto published =
        f.mapper->Publish(f.Request("c" + std::to_string(i), {Port("tcp", 80, "0.0.0.0", 0)}));
    REQUIRE(published.ok());
    const int port = (*published)[0].host_port;
    CHECK(port >= 41000);
    CHECK(port <= 41003);
    seen.insert(port);
  }
  CHECK(seen.size() == 4);
  auto exhausted = f.mapper->Publish(f.Request("c9", {Port("tcp", 80, "0.0.0.0", 0)}));
  CHECK(exhausted.status().message() ==
        "Bind for 0.0.0.0:41000-41003 failed: port is already allocated");
  REQUIRE(f.mapper->Unpublish("c2").ok());
  CHECK(f.mapper->Publish(f.Request("c9", {Port("tcp", 80, "0.0.0.0", 0)})).ok());
}

TEST_CASE("a host range gives the first free port of the range, exact ports bound first") {
  Fixture f;
  auto published = f.mapper->Publish(f.Request(
      "c1", {Port("tcp", 80, "0.0.0.0", 18100, 18102), Port("tcp", 81, "0.0.0.0", 18100)}));
  REQUIRE(published.ok());
  CHECK((*published)[0].host_port == 18101);
  CHECK((*published)[1].host_port == 18100);
}

TEST_CASE("rules follow the mappings and unpublish frees everything") {
  Fixture f;
  auto published = f.mapper->Publish(
      f.Request("c1", {Port("tcp", 80, "0.0.0.0", 18200), Port("udp", 53, "127.0.0.1", 18201)}));
  REQUIRE(published.ok());
  REQUIRE(f.firewall.rules.count("ports/c1") == 1);
  // Loopback-only ports are the proxy's: only the 0.0.0.0 one has rules.
  CHECK(f.firewall.rules["ports/c1"].size() == 2);
  REQUIRE(f.mapper->Unpublish("c1").ok());
  CHECK(f.firewall.rules.empty());
  CHECK(PortFree("tcp", "0.0.0.0", 18200));
  CHECK(PortFree("udp", "127.0.0.1", 18201));
  CHECK(f.mapper->Unpublish("c1").ok());
}

TEST_CASE("a refused rule write releases the request's ports") {
  Fixture f;
  f.firewall.fail = true;
  CHECK_FALSE(f.mapper->Publish(f.Request("c1", {Port("tcp", 80, "0.0.0.0", 18300)})).ok());
  CHECK(PortFree("tcp", "0.0.0.0", 18300));
  f.firewall.fail = false;
  f.Reopen();
  REQUIRE(f.mapper->Restore({"c1"}).ok());
  CHECK(f.mapper->Mappings("c1")->empty());
}

TEST_CASE("a restarted mapper restores live containers' ports and drops the others") {
  Fixture f;
  EchoServer container("tcp", 80);
  REQUIRE(f.mapper->Publish(f.Request("live", {Port("tcp", 80, "127.0.0.1", 0)})).ok());
  const int port = (*f.mapper->Mappings("live"))[0].host_port;
  REQUIRE(f.mapper->Publish(f.Request("gone", {Port("tcp", 80, "0.0.0.0", 18400)})).ok());
  f.firewall.rules.clear();  // A new netd starts with an empty table.
  f.Reopen();
  CHECK(PortFree("tcp", "0.0.0.0", 18400));
  REQUIRE(f.mapper->Restore({"live"}).ok());
  auto restored = f.mapper->Mappings("live");
  REQUIRE(restored->size() == 1);
  CHECK((*restored)[0].host_port == port);
  CHECK(TcpRoundTrip("127.0.0.1", port, "back") == "back");
  CHECK(f.mapper->Mappings("gone")->empty());
  CHECK(PortFree("tcp", "0.0.0.0", 18400));
  // Loopback only: no kernel rules, but the owner was restated.
  CHECK(f.firewall.rules.count("ports/gone") == 0);
  // The dropped rows stay dropped.
  f.Reopen();
  REQUIRE(f.mapper->Restore({"live", "gone"}).ok());
  CHECK(f.mapper->Mappings("gone")->empty());
}

TEST_CASE("a container's create request is published and shown as NetworkSettings.Ports") {
  Fixture f;
  const Json config = Json::parse(R"({"ExposedPorts": {"80/tcp": {}, "443/tcp": {}}})");
  const Json host_config = Json::parse(
      R"({"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18500"}]}})");
  REQUIRE(f.mapper->PublishContainer("c1", config, host_config, "127.0.0.5", "br-test").ok());
  CHECK(f.mapper->Ports("c1") == Json::parse(R"({"443/tcp": null,
      "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18500"}]})"));
  // Exposed only: inspect still lists the port.
  REQUIRE(f.mapper->PublishContainer("c2", config, Json::object(), "127.0.0.6", "br-test").ok());
  CHECK(f.mapper->Ports("c2") == Json::parse(R"({"443/tcp": null, "80/tcp": null})"));
  // Bad input publishes nothing.
  CHECK(f.mapper
            ->PublishContainer("c3", Json::object(),
                               Json::parse(R"({"PortBindings": {"x/tcp": []}})"), "127.0.0.7", "")
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(f.mapper->Ports("c3") == Json::object());

  f.Reopen();
  REQUIRE(f.mapper->Restore({"c1"}).ok());
  CHECK(f.mapper->Ports("c1")["80/tcp"][0]["HostPort"] == "18500");
  CHECK(f.mapper->Ports("c2") == Json::object());
  REQUIRE(f.mapper->Unpublish("c1").ok());
  CHECK(f.mapper->Ports("c1") == Json::object());
  CHECK(PortFree("tcp", "127.0.0.1", 18500));
}

TEST_CASE("rules DNAT outside and host traffic, never the host's loopback") {
  auto rules = PortRules("172.18.0.2", "br-1",
                         {{"tcp", 80, "0.0.0.0", 8080},
                          {"udp", 53, "10.0.0.1", 5353},
                          {"tcp", 81, "127.0.0.1", 8081}});
  REQUIRE(rules.size() == 4);
  CHECK(rules[0].chain == Chain::kPrerouting);
  CHECK(rules[0].text ==
        "fib daddr type local iifname != \"br-1\" tcp dport 8080 counter dnat to 172.18.0.2:80");
  CHECK(rules[1].chain == Chain::kOutput);
  CHECK(
      rules[1].text ==
      "fib daddr type local ip daddr != 127.0.0.0/8 tcp dport 8080 counter dnat to 172.18.0.2:80");
  CHECK(rules[2].text ==
        "fib daddr type local iifname != \"br-1\" ip daddr 10.0.0.1 udp dport "
        "5353 counter dnat to 172.18.0.2:53");
  CHECK(rules[3].text ==
        "fib daddr type local ip daddr != 127.0.0.0/8 ip daddr 10.0.0.1 udp "
        "dport 5353 counter dnat to 172.18.0.2:53");
}

}  // namespace
}  // namespace berth::netd
