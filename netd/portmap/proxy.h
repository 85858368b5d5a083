// The userland proxy, as Docker's docker-proxy: relays connections that the
// kernel's DNAT rules cannot take (those to the host's loopback addresses,
// and a container's own traffic to a published port of its bridge's host)
// from a bound host socket to the container. Runs on netd's event loop.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <map>
#include <memory>
#include <tuple>

#include "absl/status/status.h"
#include "common/event_loop.h"
#include "common/unique_fd.h"

namespace berth::netd {

class Proxy {
 public:
  virtual ~Proxy() = default;
};

// `listener` is a bound, listening TCP socket. Each accepted connection is
// relayed to `backend` until both sides have closed; a half-close is passed
// on. Destroying the proxy closes the listener and every connection.
absl::StatusOr<std::unique_ptr<Proxy>> StartTcpProxy(EventLoop* loop, UniqueFd listener,
                                                     const sockaddr_in& backend);

// `socket` is a bound UDP socket. Each client address gets a flow (a socket
// connected to `backend`) that answers it, forgotten after `idle` without
// traffic.
absl::StatusOr<std::unique_ptr<Proxy>> StartUdpProxy(
    EventLoop* loop, UniqueFd socket, const sockaddr_in& backend,
    std::chrono::seconds idle = std::chrono::seconds(90));

}  // namespace berth::netd
