// The embedded server with real sockets: the test process moves into a
// network namespace of its own (the "host"), and a thread makes another one
// (the "container") where the server's sockets must appear.
#include "netd/dns/dns_server.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <thread>

#include "common/unique_fd.h"
#include "netd/dns/dns_message.h"
#include "tests/netd/dns/netns_thread.h"

namespace berth::netd::dns {
namespace {

class FakeNames : public NameSource {
 public:
  std::vector<uint32_t> Lookup(const std::string& asker, const std::string& name) override {
    if (asker == "c1" && name == "web") return {0xac120002};
    return {};
  }
  std::vector<std::string> Lookup6(const std::string& asker, const std::string& name) override {
    if (asker == "c1" && name == "web") return {std::string(15, '\0') + "\x02"};
    return {};
  }
};

std::string Query(const std::string& name, uint16_t id = 1, uint16_t type = kTypeA) {
  Message query;
  query.id = id;
  query.flags = kFlagRd;
  query.questions.push_back({name, type, kClassIn});
  return *Encode(query);
}

// Asks 127.0.0.11:53 over UDP from the calling thread's namespace; "" on timeout.
std::string AskUdp(const std::string& query, int timeout_ms = 5000) {
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in server = testing::Ipv4SocketAddress("127.0.0.11", 53);
  sendto(fd.get(), query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&server),
         sizeof(server));
  char buffer[4096];
  const ssize_t n = recv(fd.get(), buffer, sizeof(buffer), 0);
  return n <= 0 ? "" : std::string(buffer, static_cast<size_t>(n));
}

std::string AskTcp(const std::string& query) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct timeval tv = {5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in server = testing::Ipv4SocketAddress("127.0.0.11", 53);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&server), sizeof(server)) != 0) return "";
  std::string framed = std::string(1, static_cast<char>(query.size() >> 8)) +
                       std::string(1, static_cast<char>(query.size() & 0xff)) + query;
  (void)!write(fd.get(), framed.data(), framed.size());
  unsigned char length[2];
  if (recv(fd.get(), length, 2, MSG_WAITALL) != 2) return "";
  std::string answer((length[0] << 8) | length[1], '\0');
  if (recv(fd.get(), answer.data(), answer.size(), MSG_WAITALL) !=
      static_cast<ssize_t>(answer.size())) {
    return "";
  }
  return answer;
}

// An upstream resolver in the host namespace: answers every A query with
// 1.2.3.4 over UDP and TCP (or swallows UDP queries when `mute`).
class Upstream {
 public:
  Upstream(int port, bool mute) : mute_(mute) {
    udp_.Reset(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    tcp_.Reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address = testing::Ipv4SocketAddress("127.0.0.1", port);
    REQUIRE(bind(udp_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(bind(tcp_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(listen(tcp_.get(), 4) == 0);
    udp_thread_ = std::thread([this] { ServeUdp(); });
    tcp_thread_ = std::thread([this] { ServeTcp(); });
  }
  ~Upstream() {
    shutdown(udp_.get(), SHUT_RDWR);
    shutdown(tcp_.get(), SHUT_RDWR);
    udp_thread_.join();
    tcp_thread_.join();
  }
  std::atomic<int> queries{0};

 private:
  static std::string AnswerTo(const std::string& query) {
    auto parsed = Parse(query);
    if (!parsed.ok()) return "";
    Message reply = ReplyTo(*parsed, kRcodeNoError);
    reply.answers.push_back(
        {parsed->questions[0].name, kTypeA, kClassIn, 60, ARecordData(0x01020304)});
    return *Encode(reply);
  }
  void ServeUdp() {
    char buffer[4096];
    while (true) {
      sockaddr_in from = {};
      socklen_t length = sizeof(from);
      const ssize_t n = recvfrom(udp_.get(), buffer, sizeof(buffer), 0,
                                 reinterpret_cast<sockaddr*>(&from), &length);
      if (n <= 0) return;
      ++queries;
      if (mute_) continue;
      std::string answer = AnswerTo(std::string(buffer, static_cast<size_t>(n)));
      sendto(udp_.get(), answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from),
             length);
    }
  }
  void ServeTcp() {
    while (true) {
      UniqueFd client(accept(tcp_.get(), nullptr, nullptr));
      if (!client.valid()) return;
      unsigned char length[2];
      if (recv(client.get(), length, 2, MSG_WAITALL) != 2) continue;
      std::string query((length[0] << 8) | length[1], '\0');
      if (recv(client.get(), query.data(), query.size(), MSG_WAITALL) !=
          static_cast<ssize_t>(query.size())) {
        continue;
      }
      ++queries;
      std::string answer = AnswerTo(query);
      std::string framed = std::string(1, static_cast<char>(answer.size() >> 8)) +
                           std::string(1, static_cast<char>(answer.size() & 0xff)) + answer;
      (void)!write(client.get(), framed.data(), framed.size());
    }
  }
  const bool mute_;
  UniqueFd udp_;
  UniqueFd tcp_;
  std::thread udp_thread_;
  std::thread tcp_thread_;
};

struct Fixture {
  Fixture() {
    EnterPrivateNetns();
    auto started = EventLoop::Start();
    REQUIRE(started.ok());
    loop = std::move(*started);
    ServerOptions options;
    options.upstream_timeout = std::chrono::milliseconds(300);
    servers = std::make_unique<DnsServers>(loop.get(), &names, options);
  }
  ~Fixture() { servers.reset(); }
  std::string InContainer(std::function<std::string()> fn) {
    return container.Run<std::string>(std::move(fn));
  }

  FakeNames names;
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<DnsServers> servers;
  ContainerNetns container;
};

uint8_t Rcode(const std::string& answer) {
  auto parsed = Parse(answer);
  REQUIRE(parsed.ok());
  return parsed->rcode();
}

std::string FirstAddress(const std::string& answer) {
  auto parsed = Parse(answer);
  REQUIRE(parsed.ok());
  if (parsed->answers.empty()) return "none";
  const std::string& data = parsed->answers[0].data;
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, data.data(), text, sizeof(text));
  return text;
}

TEST_CASE("the server answers inside the container's namespace, and only there") {
  Fixture f;
  REQUIRE(f.servers->Start({"c1", f.container.path(), {}}).ok());
  CHECK(f.servers->Serving("c1"));
  CHECK(FirstAddress(f.InContainer([] { return AskUdp(Query("web")); })) == "172.18.0.2");
  CHECK(FirstAddress(f.InContainer([] { return AskTcp(Query("web")); })) == "172.18.0.2");
  CHECK(Rcode(f.InContainer([] { return AskUdp(Query("nosuch")); })) == kRcodeNxDomain);
  // AAAA through the server's own view of the names.
  auto aaaa = Parse(f.InContainer([] { return AskUdp(Query("web", 2, kTypeAAAA)); }));
  REQUIRE(aaaa.ok());
  REQUIRE(aaaa->answers.size() == 1);
  CHECK(aaaa->answers[0].data == std::string(15, '\0') + "\x02");
  // No upstream: SERVFAIL at once.
  CHECK(Rcode(f.InContainer([] { return AskUdp(Query("example.com")); })) == kRcodeServFail);
  // Not in the host's namespace.
  CHECK(AskUdp(Query("web"), 300).empty());

  f.servers->Stop("c1");
  CHECK_FALSE(f.servers->Serving("c1"));
  CHECK(f.InContainer([] { return AskTcp(Query("web")); }).empty());
  f.servers->Stop("c1");
}

TEST_CASE("other names are forwarded from the host's namespace, over UDP and TCP") {
  Fixture f;
  Upstream upstream(5353, false);
  // 127.0.0.11 is the server itself and is skipped; 127.0.0.1 is the host's.
  REQUIRE(f.servers->Start({"c1", f.container.path(), {"127.0.0.11", "127.0.0.1:5353"}}).ok());
  std::string answer = f.InContainer([] { return AskUdp(Query("example.com", 77)); });
  CHECK(FirstAddress(answer) == "1.2.3.4");
  CHECK(Parse(answer)->id == 77);
  CHECK(FirstAddress(f.InContainer([] { return AskTcp(Query("example.com")); })) == "1.2.3.4");
  CHECK(upstream.queries == 2);
  // Known names never leave.
  CHECK(FirstAddress(f.InContainer([] { return AskUdp(Query("web")); })) == "172.18.0.2");
  CHECK(upstream.queries == 2);
}

TEST_CASE("a silent or refusing upstream is skipped; with none left the answer is SERVFAIL") {
  Fixture f;
  Upstream mute(5354, true);
  Upstream good(5355, false);
  // 5356: nothing listens, the ICMP error moves on at once.
  REQUIRE(
      f.servers
          ->Start(
              {"c1", f.container.path(), {"127.0.0.1:5356", "127.0.0.1:5354", "127.0.0.1:5355"}})
          .ok());
  CHECK(FirstAddress(f.InContainer([] { return AskUdp(Query("example.com")); })) == "1.2.3.4");
  CHECK(mute.queries == 1);

  REQUIRE(f.servers->Start({"c1", f.container.path(), {"127.0.0.1:5354"}}).ok());
  CHECK(Rcode(f.InContainer([] { return AskUdp(Query("example.org")); })) == kRcodeServFail);
}

TEST_CASE("upstream lists and resolv.conf") {
  auto addresses = UpstreamAddresses(
      {"8.8.8.8", "127.0.0.11", "1.1.1.1:5353", "::1", "bad", "1.2.3.4:0", "127.0.0.53"});
  REQUIRE(addresses.size() == 3);
  CHECK(ntohs(addresses[0].sin_port) == 53);
  CHECK(ntohs(addresses[1].sin_port) == 5353);
  CHECK(ntohl(addresses[2].sin_addr.s_addr) == 0x7f000035);

  char path[] = "/tmp/rcXXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string text =
      "# comment\nsearch example.com\nnameserver 10.0.0.1\nnameserver fe80::1\n"
      "nameserver\tbad\n  nameserver 10.0.0.2 # trailing\noptions ndots:0\n";
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
  CHECK(ReadNameservers(path) == std::vector<std::string>{"10.0.0.1", "10.0.0.2"});
  unlink(path);
  CHECK(ReadNameservers("/nonexistent").empty());
}

}  // namespace
}  // namespace berth::netd::dns
