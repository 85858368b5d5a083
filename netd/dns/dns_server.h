// The embedded DNS server: for each container on a user-defined network, a
// UDP and a TCP socket bound to 127.0.0.11:53 INSIDE the container's network
// namespace (created by a short-lived thread that joined it), served from
// netd's event loop in the host namespace, so that queries forwarded
// upstream leave from the host, as with Docker.
//
// Sockets live as long as netd: a restarted netd opens them again for every
// live container (netd's state says which).
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/event_loop.h"
#include "netd/dns/names.h"

namespace berth::netd::dns {

inline constexpr char kEmbeddedAddress[] = "127.0.0.11";

struct ServerConfig {
  std::string container_id;
  // The container's pinned network namespace.
  std::string netns_path;
  // Upstream resolvers: the container's --dns, else the host's. "1.2.3.4"
  // or "1.2.3.4:5353"; IPv6 ones and 127.0.0.11 (the embedded server
  // itself) are skipped.
  std::vector<std::string> upstreams;
};

struct ServerOptions {
  // Per upstream, before trying the next one.
  std::chrono::milliseconds upstream_timeout{2000};
  // The port inside the container (53; tests use others).
  int port = 53;
  // Where the sockets are bound inside the namespace.
  std::string address = kEmbeddedAddress;
};

// The nameservers of a resolv.conf, in order (IPv4 only).
std::vector<std::string> ReadNameservers(const std::string& resolv_conf);

// Usable upstream addresses of a ServerConfig's list.
std::vector<sockaddr_in> UpstreamAddresses(const std::vector<std::string>& upstreams);

class Server;
class GuardedNames;

class DnsServers {
 public:
  DnsServers(EventLoop* loop, NameSource* names, ServerOptions options = {});
  // TCP workers still running afterwards find no names (and answer nothing
  // more): they never touch a NameSource that is gone.
  ~DnsServers();

  // Opens the sockets in the namespace and starts serving; replaces a server
  // the container already has.
  absl::Status Start(const ServerConfig& config);
  // Closes the container's sockets; unknown containers are fine.
  void Stop(const std::string& container_id);
  bool Serving(const std::string& container_id);

 private:
  EventLoop* loop_;
  std::shared_ptr<GuardedNames> names_;
  const ServerOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Server>> servers_;
};

}  // namespace berth::netd::dns
