#include "netd/dns/dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/netns_thread.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "netd/dns/resolver.h"

namespace berth::netd::dns {
namespace {

// Queries waiting for an upstream per container, and TCP connections served
// at once by netd: beyond them new ones are dropped, not queued.
constexpr size_t kMaxPending = 256;
constexpr int kMaxTcpConnections = 32;
std::atomic<int> tcp_connections{0};

struct Sockets {
  UniqueFd udp;
  UniqueFd tcp;
};

absl::StatusOr<UniqueFd> BindIn(int type, const sockaddr_in& address) {
  UniqueFd fd(socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return LastErrnoStatus("socket");
  const int one = 1;
  if (type == SOCK_STREAM) setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return LastErrnoStatus("bind");
  }
  if (type == SOCK_STREAM && listen(fd.get(), 64) != 0) return LastErrnoStatus("listen");
  return fd;
}

absl::Status BindBoth(const sockaddr_in& address, Sockets* sockets) {
  ASSIGN_OR_RETURN(sockets->udp, BindIn(SOCK_DGRAM, address));
  ASSIGN_OR_RETURN(sockets->tcp, BindIn(SOCK_STREAM, address));
  return absl::OkStatus();
}

// Sockets keep the namespace they were made in.
absl::StatusOr<Sockets> OpenInNetns(const std::string& netns_path, const sockaddr_in& address) {
  Sockets sockets;
  absl::Status status = RunInNetworkNamespace(netns_path, [&]() -> absl::Status {
    absl::Status bound = BindBoth(address, &sockets);
    if (absl::IsPermissionDenied(bound)) {
      // Port 53 without CAP_NET_BIND_SERVICE: lower the namespace's
      // privileged range, which is Docker's default for containers anyway
      // (net.ipv4.ip_unprivileged_port_start=0).
      std::ofstream sysctl("/proc/sys/net/ipv4/ip_unprivileged_port_start");
      sysctl << "0\n";
      sysctl.close();
      sockets = Sockets();
      bound = BindBoth(address, &sockets);
    }
    return Annotate(bound, "DNS server in " + netns_path);
  });
  if (!status.ok()) return status;
  return sockets;
}

bool ReadFullWithin(int fd, char* buffer, size_t length) {
  size_t done = 0;
  while (done < length) {
    const ssize_t n = read(fd, buffer + done, length - done);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string Framed(const std::string& message) {
  std::string framed;
  framed.push_back(static_cast<char>(message.size() >> 8));
  framed.push_back(static_cast<char>(message.size() & 0xff));
  return framed + message;
}

void SetTimeouts(int fd, std::chrono::milliseconds timeout) {
  struct timeval tv;
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// One query over TCP to one upstream, blocking with timeouts; "" on failure.
std::string AskOverTcp(const sockaddr_in& upstream, const std::string& query,
                       std::chrono::milliseconds timeout) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return "";
  SetTimeouts(fd.get(), timeout);
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&upstream), sizeof(upstream)) != 0 ||
      !WriteAll(fd.get(), Framed(query))) {
    return "";
  }
  unsigned char length[2];
  if (!ReadFullWithin(fd.get(), reinterpret_cast<char*>(length), 2)) return "";
  std::string answer((length[0] << 8) | length[1], '\0');
  if (!ReadFullWithin(fd.get(), answer.data(), answer.size())) return "";
  return answer;
}

}  // namespace

std::vector<std::string> ReadNameservers(const std::string& resolv_conf) {
  std::vector<std::string> servers;
  std::ifstream in(resolv_conf);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword, address;
    if (words >> keyword >> address && keyword == "nameserver") {
      struct in_addr parsed;
      if (inet_pton(AF_INET, address.c_str(), &parsed) == 1) servers.push_back(address);
    }
  }
  return servers;
}

std::vector<sockaddr_in> UpstreamAddresses(const std::vector<std::string>& upstreams) {
  std::vector<sockaddr_in> addresses;
  for (const std::string& upstream : upstreams) {
    std::vector<std::string> parts = absl::StrSplit(upstream, absl::MaxSplits(':', 1));
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    int port = 53;
    if (inet_pton(AF_INET, parts[0].c_str(), &address.sin_addr) != 1) continue;
    if (parts.size() == 2 && (!absl::SimpleAtoi(parts[1], &port) || port < 1 || port > 65535)) {
      continue;
    }
    address.sin_port = htons(static_cast<uint16_t>(port));
    // The embedded server itself, as written in the container's resolv.conf.
    // Other loopback addresses are fine: queries leave from the host's
    // namespace, where e.g. systemd-resolved's 127.0.0.53 answers.
    if (ntohl(address.sin_addr.s_addr) == 0x7f00000b) continue;
    addresses.push_back(address);
  }
  return addresses;
}

// The NameSource as the servers and their TCP workers see it: detached when
// DnsServers goes, after which lookups find nothing. Lookups hold the lock,
// so Detach waits for those under way.
class GuardedNames final : public NameSource {
 public:
  explicit GuardedNames(NameSource* names) : names_(names) {}
  std::vector<uint32_t> Lookup(const std::string& asker, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    return names_ == nullptr ? std::vector<uint32_t>() : names_->Lookup(asker, name);
  }
  std::vector<std::string> Lookup6(const std::string& asker, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    return names_ == nullptr ? std::vector<std::string>() : names_->Lookup6(asker, name);
  }
  std::string ReverseLookup(const std::string& asker, uint32_t address) override {
    std::lock_guard<std::mutex> lock(mu_);
    return names_ == nullptr ? "" : names_->ReverseLookup(asker, address);
  }
  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    names_ = nullptr;
  }

 private:
  std::mutex mu_;
  NameSource* names_;
};

// One container's server. Loop thread only, except the TCP workers, which
// share only what is immutable.
class Server : public std::enable_shared_from_this<Server> {
 public:
  Server(EventLoop* loop, std::shared_ptr<GuardedNames> names, std::string container_id,
         std::vector<sockaddr_in> upstreams, Sockets sockets, std::chrono::milliseconds timeout)
      : loop_(loop),
        names_(std::move(names)),
        container_id_(std::move(container_id)),
        upstreams_(std::move(upstreams)),
        sockets_(std::move(sockets)),
        timeout_(timeout) {}

  absl::Status Register() {
    std::weak_ptr<Server> weak = shared_from_this();
    RETURN_IF_ERROR(loop_->Add(sockets_.udp.get(), EPOLLIN, [weak](uint32_t) {
      if (auto self = weak.lock()) self->OnUdp();
    }));
    return loop_->Add(sockets_.tcp.get(), EPOLLIN, [weak](uint32_t) {
      if (auto self = weak.lock()) self->OnTcp();
    });
  }

  void Unregister() {
    loop_->Remove(sockets_.udp.get());
    loop_->Remove(sockets_.tcp.get());
    for (auto& [fd, pending] : pending_) {
      loop_->Remove(fd);
      loop_->Remove(pending.timer.get());
    }
    pending_.clear();
  }

 private:
  struct Pending {
    UniqueFd socket;
    UniqueFd timer;
    sockaddr_in client;
    std::string query;
    size_t upstream = 0;
  };

  void OnUdp() {
    char buffer[65536];
    for (int i = 0; i < 64; ++i) {
      sockaddr_in client = {};
      socklen_t length = sizeof(client);
      const ssize_t n = recvfrom(sockets_.udp.get(), buffer, sizeof(buffer), 0,
                                 reinterpret_cast<sockaddr*>(&client), &length);
      if (n < 0) return;
      std::string query(buffer, static_cast<size_t>(n));
      Decision decision =
          Decide(query, container_id_, names_.get(), !upstreams_.empty(), kUdpLimit);
      if (decision.action == Decision::kReply) {
        SendTo(client, decision.reply);
      } else if (decision.action == Decision::kForward && pending_.size() < kMaxPending) {
        Forward(Pending{UniqueFd(), UniqueFd(), client, std::move(query), 0});
      }
    }
  }

  void SendTo(const sockaddr_in& client, const std::string& message) {
    sendto(sockets_.udp.get(), message.data(), message.size(), MSG_NOSIGNAL,
           reinterpret_cast<const sockaddr*>(&client), sizeof(client));
  }

  // Sends the query to upstream number pending.upstream, or SERVFAIL when
  // none is left.
  void Forward(Pending pending) {
    while (pending.upstream < upstreams_.size()) {
      const sockaddr_in& upstream = upstreams_[pending.upstream];
      // A socket per query: the kernel matches the answer's source, and a
      // forged answer would need to guess the port.
      pending.socket.Reset(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      pending.timer.Reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
      struct itimerspec spec = {};
      spec.it_value.tv_sec = timeout_.count() / 1000;
      spec.it_value.tv_nsec = (timeout_.count() % 1000) * 1000000;
      if (pending.socket.valid() && pending.timer.valid() &&
          timerfd_settime(pending.timer.get(), 0, &spec, nullptr) == 0 &&
          connect(pending.socket.get(), reinterpret_cast<const sockaddr*>(&upstream),
                  sizeof(upstream)) == 0 &&
          send(pending.socket.get(), pending.query.data(), pending.query.size(), MSG_NOSIGNAL) ==
              static_cast<ssize_t>(pending.query.size())) {
        const int fd = pending.socket.get();
        const int timer = pending.timer.get();
        std::weak_ptr<Server> weak = shared_from_this();
        if (loop_
                ->Add(fd, EPOLLIN,
                      [weak, fd](uint32_t) {
                        if (auto self = weak.lock()) self->OnUpstream(fd);
                      })
                .ok() &&
            loop_
                ->Add(timer, EPOLLIN,
                      [weak, fd](uint32_t) {
                        if (auto self = weak.lock()) self->OnTimeout(fd);
                      })
                .ok()) {
          pending_.emplace(fd, std::move(pending));
          return;
        }
        loop_->Remove(fd);
      }
      ++pending.upstream;
    }
    const std::string failure = ServFail(pending.query);
    if (!failure.empty()) SendTo(pending.client, failure);
  }

  // Takes the pending query out of the loop.
  Pending Take(int fd) {
    auto it = pending_.find(fd);
    Pending pending = std::move(it->second);
    pending_.erase(it);
    loop_->Remove(fd);
    loop_->Remove(pending.timer.get());
    return pending;
  }

  void OnUpstream(int fd) {
    if (pending_.count(fd) == 0) return;
    char buffer[65536];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    Pending pending = Take(fd);
    // Only an answer to this query (same ID) goes back; an ICMP error
    // (ECONNREFUSED) or anything else moves on to the next upstream.
    if (n >= 12 && memcmp(buffer, pending.query.data(), 2) == 0 &&
        (static_cast<uint8_t>(buffer[2]) & 0x80) != 0) {
      SendTo(pending.client, std::string(buffer, static_cast<size_t>(n)));
      return;
    }
    ++pending.upstream;
    Forward(std::move(pending));
  }

  void OnTimeout(int fd) {
    if (pending_.count(fd) == 0) return;
    Pending pending = Take(fd);
    ++pending.upstream;
    Forward(std::move(pending));
  }

  void OnTcp() {
    while (true) {
      UniqueFd client(accept4(sockets_.tcp.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!client.valid()) return;
      if (tcp_connections.fetch_add(1) >= kMaxTcpConnections) {
        tcp_connections.fetch_sub(1);
        continue;
      }
      // DNS over TCP is rare (truncated answers, zone transfers): a blocking
      // worker with timeouts keeps the loop simple.
      std::thread([names = names_, id = container_id_, upstreams = upstreams_, timeout = timeout_,
                   fd = std::move(client)]() mutable {
        ServeTcp(names, id, upstreams, timeout, std::move(fd));
        tcp_connections.fetch_sub(1);
      }).detach();
    }
  }

  static void ServeTcp(const std::shared_ptr<GuardedNames>& names, const std::string& id,
                       const std::vector<sockaddr_in>& upstreams, std::chrono::milliseconds timeout,
                       UniqueFd client) {
    SetTimeouts(client.get(), std::chrono::milliseconds(10000));
    while (true) {
      unsigned char length[2];
      if (!ReadFullWithin(client.get(), reinterpret_cast<char*>(length), 2)) return;
      std::string query((length[0] << 8) | length[1], '\0');
      if (!ReadFullWithin(client.get(), query.data(), query.size())) return;
      Decision decision = Decide(query, id, names.get(), !upstreams.empty(), 65535);
      std::string answer;
      if (decision.action == Decision::kReply) {
        answer = decision.reply;
      } else if (decision.action == Decision::kForward) {
        for (const sockaddr_in& upstream : upstreams) {
          answer = AskOverTcp(upstream, query, timeout);
          if (!answer.empty()) break;
        }
        if (answer.empty()) answer = ServFail(query);
      }
      if (answer.empty() || !WriteAll(client.get(), Framed(answer))) return;
    }
  }

  EventLoop* loop_;
  const std::shared_ptr<GuardedNames> names_;
  const std::string container_id_;
  const std::vector<sockaddr_in> upstreams_;
  Sockets sockets_;
  const std::chrono::milliseconds timeout_;
  // By the upstream socket's descriptor.
  std::map<int, Pending> pending_;
};

DnsServers::DnsServers(EventLoop* loop, NameSource* names, ServerOptions options)
    : loop_(loop), names_(std::make_shared<GuardedNames>(names)), options_(std::move(options)) {}

DnsServers::~DnsServers() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, server] : servers_) loop_->Run([&] { server->Unregister(); });
  servers_.clear();
  names_->Detach();
}

absl::Status DnsServers::Start(const ServerConfig& config) {
  Stop(config.container_id);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(options_.port));
  if (inet_pton(AF_INET, options_.address.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError("invalid DNS server address " + options_.address);
  }
  ASSIGN_OR_RETURN(Sockets sockets, OpenInNetns(config.netns_path, address));
  auto server = std::make_shared<Server>(loop_, names_, config.container_id,
                                         UpstreamAddresses(config.upstreams), std::move(sockets),
                                         options_.upstream_timeout);
  absl::Status registered;
  loop_->Run([&] {
    registered = server->Register();
    if (!registered.ok()) server->Unregister();
  });
  RETURN_IF_ERROR(registered);
  std::lock_guard<std::mutex> lock(mu_);
  servers_[config.container_id] = std::move(server);
  return absl::OkStatus();
}

void DnsServers::Stop(const std::string& container_id) {
  std::shared_ptr<Server> server;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = servers_.find(container_id);
    if (it == servers_.end()) return;
    server = std::move(it->second);
    servers_.erase(it);
  }
  loop_->Run([&] { server->Unregister(); });
}

bool DnsServers::Serving(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return servers_.count(container_id) != 0;
}

}  // namespace berth::netd::dns
