// The embedded DNS server's view of netd: a NetworkObserver that keeps the
// names of every endpoint (so lookups never wait on NetworkManager's lock,
// which is held while observers are called) and runs one server per
// container attached to a user-defined network, as Docker does; the default
// bridge has no embedded DNS.
//
// Layout: <state>/dns/<container_id>   the container's --dns servers, one per
// line (absent: the host's resolv.conf), so that a restarted netd forwards to
// the same upstreams.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "netd/dns/dns_server.h"
#include "netd/dns/names.h"
#include "netd/network/model.h"
#include "netd/network/observer.h"

namespace berth::netd::dns {

class DnsObserver final : public NetworkObserver, public NameSource {
 public:
  DnsObserver(EventLoop* loop, std::string state_dir, std::string host_resolv_conf,
              ServerOptions options = {});
  ~DnsObserver() override;

  // Records the container's HostConfig.Dns before its endpoints are created
  // (empty: the host's resolvers).
  absl::Status SetUpstreams(const std::string& container_id,
                            const std::vector<std::string>& servers);

  // While NetworkManager::AddObserver replays what exists after a restart, a
  // server that cannot start is logged instead of failing netd's start.
  void set_replaying(bool replaying) { replaying_ = replaying; }

  // Drops the --dns files of containers not in `live`.
  absl::Status Reconcile(const std::set<std::string>& live);

  absl::Status NetworkCreated(const Network& network) override;
  void NetworkRemoved(const Network& network) override;
  absl::Status EndpointCreated(const Network& network, const Endpoint& endpoint,
                               const std::string& netns_path) override;
  void EndpointRemoved(const Network& network, const Endpoint& endpoint) override;
  void EndpointRenamed(const Network& network, const Endpoint& endpoint) override;

  std::vector<uint32_t> Lookup(const std::string& asker, const std::string& name) override;
  std::vector<std::string> Lookup6(const std::string& asker, const std::string& name) override;
  // "<container name>.<network name>", as Docker answers PTR queries.
  std::string ReverseLookup(const std::string& asker, uint32_t address) override;

  bool Serving(const std::string& container_id) { return servers_->Serving(container_id); }

 private:
  struct NetworkInfo {
    std::string name;
    // Embedded DNS serves user-defined bridge networks only.
    bool user_defined = false;
  };
  bool HasUserEndpointLocked(const std::string& container_id);
  // The endpoints `name` stands for on the networks `asker` shares with them.
  std::vector<const Endpoint*> MatchLocked(const std::string& asker, const std::string& name);
  std::vector<std::string> UpstreamsOf(const std::string& container_id);

  const std::string dir_;
  const std::string host_resolv_conf_;
  std::unique_ptr<DnsServers> servers_;
  bool replaying_ = false;
  std::mutex mu_;
  std::map<std::string, NetworkInfo> networks_;
  // container ID -> network ID -> endpoint.
  std::map<std::string, std::map<std::string, Endpoint>> endpoints_;
};

}  // namespace berth::netd::dns
