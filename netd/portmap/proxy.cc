#include "netd/portmap/proxy.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"

namespace berth::netd {
namespace {

constexpr size_t kBufferSize = 64 * 1024;
// Beyond this many UDP clients at once, new ones are dropped rather than
// letting one port exhaust netd's descriptors.
constexpr size_t kMaxUdpFlows = 1024;

absl::Status SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return LastErrnoStatus("fcntl O_NONBLOCK");
  }
  return absl::OkStatus();
}

// One direction of a TCP relay: bytes read from one side, not yet written to
// the other.
struct Pipe {
  std::vector<char> buffer = std::vector<char>(kBufferSize);
  size_t begin = 0;
  size_t end = 0;
  // The reading side sent FIN: pass it on once the buffer is drained.
  bool eof = false;
  bool shut = false;
  bool Empty() const { return begin == end; }
};

class TcpProxy;

// Loop thread only.
class Relay {
 public:
  Relay(EventLoop* loop, TcpProxy* proxy, UniqueFd client, UniqueFd backend)
      : loop_(loop), proxy_(proxy), client_(std::move(client)), backend_(std::move(backend)) {}
  ~Relay() {
    loop_->Remove(client_.get());
    loop_->Remove(backend_.get());
  }
  absl::Status Start();

 private:
  void OnConnected(uint32_t events);
  void OnEvent();
  // Reads from `from` into `pipe` and writes what it can to `to`; false on a
  // broken connection.
  bool Pump(int from, Pipe& pipe, int to);
  void UpdateInterest();
  void Finish();

  EventLoop* loop_;
  TcpProxy* proxy_;
  UniqueFd client_;
  UniqueFd backend_;
  Pipe upstream_;    // client -> backend
  Pipe downstream_;  // backend -> client
  bool connected_ = false;
};

class TcpProxy final : public Proxy {
 public:
  TcpProxy(EventLoop* loop, UniqueFd listener, const sockaddr_in& backend)
      : loop_(loop), listener_(std::move(listener)), backend_(backend) {}
  ~TcpProxy() override {
    loop_->Run([this] {
      loop_->Remove(listener_.get());
      relays_.clear();
    });
  }

  absl::Status Start() {
    RETURN_IF_ERROR(SetNonBlocking(listener_.get()));
    absl::Status added;
    loop_->Run(
        [&] { added = loop_->Add(listener_.get(), EPOLLIN, [this](uint32_t) { Accept(); }); });
    return added;
  }

  void Drop(Relay* relay) { relays_.erase(relay); }

 private:
  void Accept() {
    while (true) {
      UniqueFd client(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!client.valid()) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN) spdlog::warn("port proxy: accept: {}", strerror(errno));
        return;
      }
      UniqueFd backend(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (!backend.valid()) {
        spdlog::warn("port proxy: socket: {}", strerror(errno));
        continue;
      }
      if (connect(backend.get(), reinterpret_cast<const sockaddr*>(&backend_), sizeof(backend_)) !=
              0 &&
          errno != EINPROGRESS) {
        continue;  // The client sees its connection closed, as with docker-proxy.
      }
      auto relay = std::make_unique<Relay>(loop_, this, std::move(client), std::move(backend));
      Relay* raw = relay.get();
      relays_.emplace(raw, std::move(relay));
      if (!raw->Start().ok()) relays_.erase(raw);
    }
  }

  EventLoop* loop_;
  UniqueFd listener_;
  const sockaddr_in backend_;
  std::map<Relay*, std::unique_ptr<Relay>> relays_;
};

absl::Status Relay::Start() {
  // The backend's connect completes with EPOLLOUT; the client is read only
  // once there is somewhere to send its bytes.
  return loop_->Add(backend_.get(), EPOLLOUT, [this](uint32_t events) { OnConnected(events); });
}

void Relay::OnConnected(uint32_t events) {
  if (!connected_) {
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(backend_.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
      Finish();
      return;
    }
    connected_ = true;
    loop_->Remove(backend_.get());
    if (!loop_->Add(backend_.get(), 0, [this](uint32_t) { OnEvent(); }).ok() ||
        !loop_->Add(client_.get(), 0, [this](uint32_t) { OnEvent(); }).ok()) {
      Finish();
      return;
    }
    UpdateInterest();
  }
}

bool Relay::Pump(int from, Pipe& pipe, int to) {
  if (pipe.Empty() && !pipe.eof) {
    const ssize_t n = read(from, pipe.buffer.data(), pipe.buffer.size());
    if (n > 0) {
      pipe.begin = 0;
      pipe.end = static_cast<size_t>(n);
    } else if (n == 0) {
      pipe.eof = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      return false;
    }
  }
  while (!pipe.Empty()) {
    const ssize_t n =
        send(to, pipe.buffer.data() + pipe.begin, pipe.end - pipe.begin, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      return false;
    }
    pipe.begin += static_cast<size_t>(n);
  }
  if (pipe.eof && pipe.Empty() && !pipe.shut) {
    shutdown(to, SHUT_WR);
    pipe.shut = true;
  }
  return true;
}

void Relay::OnEvent() {
  if (!Pump(client_.get(), upstream_, backend_.get()) ||
      !Pump(backend_.get(), downstream_, client_.get()) || (upstream_.shut && downstream_.shut)) {
    Finish();
    return;
  }
  UpdateInterest();
}

void Relay::UpdateInterest() {
  // Level-triggered: read a side only when its pipe has room, wait for
  // writability only while bytes are pending.
  uint32_t client = 0;
  uint32_t backend = 0;
  if (upstream_.Empty() && !upstream_.eof) client |= EPOLLIN;
  if (downstream_.Empty() && !downstream_.eof) backend |= EPOLLIN;
  if (!upstream_.Empty()) backend |= EPOLLOUT;
  if (!downstream_.Empty()) client |= EPOLLOUT;
  if (!loop_->Modify(client_.get(), client).ok() || !loop_->Modify(backend_.get(), backend).ok()) {
    Finish();
  }
}

void Relay::Finish() { proxy_->Drop(this); }

struct AddressKey {
  uint32_t address;
  uint16_t port;
  bool operator<(const AddressKey& other) const {
    return std::tie(address, port) < std::tie(other.address, other.port);
  }
};

class UdpProxy final : public Proxy {
 public:
  UdpProxy(EventLoop* loop, UniqueFd socket, const sockaddr_in& backend, std::chrono::seconds idle)
      : loop_(loop), socket_(std::move(socket)), backend_(backend), idle_(idle) {}
  ~UdpProxy() override {
    loop_->Run([this] {
      loop_->Remove(socket_.get());
      loop_->Remove(timer_.get());
      for (auto& [key, flow] : flows_) loop_->Remove(flow.socket.get());
      flows_.clear();
    });
  }

  absl::Status Start() {
    RETURN_IF_ERROR(SetNonBlocking(socket_.get()));
    timer_.Reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!timer_.valid()) return LastErrnoStatus("timerfd_create");
    const time_t period = std::max<time_t>(1, idle_.count() / 3);
    struct itimerspec spec = {};
    spec.it_interval.tv_sec = period;
    spec.it_value.tv_sec = period;
    if (timerfd_settime(timer_.get(), 0, &spec, nullptr) != 0) {
      return LastErrnoStatus("timerfd_settime");
    }
    absl::Status added;
    loop_->Run([&] {
      added = loop_->Add(socket_.get(), EPOLLIN, [this](uint32_t) { FromClients(); });
      if (added.ok()) added = loop_->Add(timer_.get(), EPOLLIN, [this](uint32_t) { Expire(); });
    });
    return added;
  }

 private:
  struct Flow {
    UniqueFd socket;
    sockaddr_in client;
    std::chrono::steady_clock::time_point last;
  };

  void FromClients() {
    char buffer[65536];
    for (int i = 0; i < 64; ++i) {
      sockaddr_in client = {};
      socklen_t length = sizeof(client);
      const ssize_t n = recvfrom(socket_.get(), buffer, sizeof(buffer), 0,
                                 reinterpret_cast<sockaddr*>(&client), &length);
      if (n < 0) return;
      const AddressKey key{client.sin_addr.s_addr, client.sin_port};
      auto it = flows_.find(key);
      if (it == flows_.end()) {
        if (flows_.size() >= kMaxUdpFlows) continue;
        UniqueFd flow(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!flow.valid() || connect(flow.get(), reinterpret_cast<const sockaddr*>(&backend_),
                                     sizeof(backend_)) != 0) {
          continue;
        }
        const int fd = flow.get();
        it = flows_.emplace(key, Flow{std::move(flow), client, {}}).first;
        if (!loop_->Add(fd, EPOLLIN, [this, key](uint32_t) { FromBackend(key); }).ok()) {
          flows_.erase(it);
          continue;
        }
      }
      it->second.last = std::chrono::steady_clock::now();
      send(it->second.socket.get(), buffer, static_cast<size_t>(n), MSG_NOSIGNAL);
    }
  }

  void FromBackend(const AddressKey& key) {
    auto it = flows_.find(key);
    if (it == flows_.end()) return;
    Flow& flow = it->second;
    char buffer[65536];
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = recv(flow.socket.get(), buffer, sizeof(buffer), 0);
      if (n < 0) {
        // ECONNREFUSED: nothing listens in the container; the flow stays
        // until idle, as the client may retry.
        return;
      }
      flow.last = std::chrono::steady_clock::now();
      sendto(socket_.get(), buffer, static_cast<size_t>(n), MSG_NOSIGNAL,
             reinterpret_cast<const sockaddr*>(&flow.client), sizeof(flow.client));
    }
  }

  void Expire() {
    uint64_t ticks;
    (void)!read(timer_.get(), &ticks, sizeof(ticks));
    const auto now = std::chrono::steady_clock::now();
    for (auto it = flows_.begin(); it != flows_.end();) {
      if (now - it->second.last >= idle_) {
        loop_->Remove(it->second.socket.get());
        it = flows_.erase(it);
      } else {
        ++it;
      }
    }
  }

  EventLoop* loop_;
  UniqueFd socket_;
  const sockaddr_in backend_;
  const std::chrono::seconds idle_;
  UniqueFd timer_;
  std::map<AddressKey, Flow> flows_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Proxy>> StartTcpProxy(EventLoop* loop, UniqueFd listener,
                                                     const sockaddr_in& backend) {
  auto proxy = std::make_unique<TcpProxy>(loop, std::move(listener), backend);
  RETURN_IF_ERROR(proxy->Start());
  return std::unique_ptr<Proxy>(std::move(proxy));
}

absl::StatusOr<std::unique_ptr<Proxy>> StartUdpProxy(EventLoop* loop, UniqueFd socket,
                                                     const sockaddr_in& backend,
                                                     std::chrono::seconds idle) {
  auto proxy = std::make_unique<UdpProxy>(loop, std::move(socket), backend, idle);
  RETURN_IF_ERROR(proxy->Start());
  return std::unique_ptr<Proxy>(std::move(proxy));
}

}  // namespace berth::netd
