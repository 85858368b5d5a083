// Published ports: host ports held by bound sockets (which is both how a
// conflict with any other program is detected and the userland proxy's
// listener), DNAT rules in berth's nftables table for the rest of the
// traffic, and a record of every mapping in netd's state so that a restarted
// netd restores the same host ports and rules.
//
// Layout: <state>/ports.db
//   port_mappings(container_id, proto, container_port, host_ip, host_port,
//                 container_ip, bridge, PK(proto, host_ip, host_port))
//   published(container_id PK, ports)   NetworkSettings.Ports as published
// Rows are written after every socket of a container is bound and before its
// rules, and deleted after its rules are gone, so a crash leaves at worst
// rows whose rules and proxies Restore puts back.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/database.h"
#include "common/event_loop.h"
#include "netd/firewall/firewall.h"
#include "netd/portmap/port_spec.h"
#include "netd/portmap/proxy.h"
#include "netd/portmap/publisher.h"

namespace berth::netd {

struct PublishRequest {
  std::string container_id;
  // Dotted IPv4 of the container on `bridge`.
  std::string container_ip;
  // The host bridge the container is attached to: traffic arriving on it is
  // left to the proxy, as Docker does.
  std::string bridge;
  std::vector<PortRequest> ports;
};

struct PortRange {
  int first = 49153;
  int last = 65535;
};

// The kernel's ephemeral range (net.ipv4.ip_local_port_range), where random
// host ports come from as in Docker.
PortRange EphemeralPortRange();

// The firewall rules for one container's mappings; pure, unit-tested as text.
std::vector<FirewallRule> PortRules(const std::string& container_ip, const std::string& bridge,
                                    const std::vector<PortMapping>& mappings);

class PortMapper final : public PortPublisher {
 public:
  static absl::StatusOr<std::unique_ptr<PortMapper>> Open(const std::string& state_dir,
                                                          Firewall* firewall, EventLoop* loop,
                                                          PortRange range = EphemeralPortRange());
  ~PortMapper() override;

  // PortPublisher.
  absl::Status PublishContainer(const std::string& container_id, const Json& config,
                                const Json& host_config, const std::string& container_ip,
                                const std::string& bridge) override;
  Json Ports(const std::string& container_id) override;

  // Allocates, records and installs every requested port, or none: Docker's
  // "Bind for 0.0.0.0:8080 failed: port is already allocated" when a host
  // port is taken. Publishing again for a container first drops its old
  // mappings.
  absl::StatusOr<std::vector<PortMapping>> Publish(const PublishRequest& request);

  // Drops the container's mappings; unknown containers are fine.
  absl::Status Unpublish(const std::string& container_id) override;

  absl::StatusOr<std::vector<PortMapping>> Mappings(const std::string& container_id);

  // At start: forgets the mappings of containers not in `live` (their
  // sandbox is gone) and re-binds, re-proxies and restates the rules of the
  // others, before the firewall's first Sync. A host port that another
  // program took meanwhile is logged and dropped.
  absl::Status Restore(const std::set<std::string>& live);

 private:
  struct Active {
    PortMapping mapping;
    std::unique_ptr<Proxy> proxy;
  };
  struct Stored {
    std::string container_ip;
    std::string bridge;
    std::vector<PortMapping> mappings;
  };

  PortMapper(std::unique_ptr<Database> db, Firewall* firewall, EventLoop* loop, PortRange range)
      : db_(std::move(db)), firewall_(firewall), loop_(loop), range_(range) {}
  absl::StatusOr<std::vector<Active>> Bind(const PublishRequest& request);
  absl::StatusOr<Active> BindOne(const PortRequest& port, const std::string& container_ip);
  absl::StatusOr<Active> BindExact(const PortMapping& mapping, const std::string& container_ip);
  absl::Status UnpublishLocked(const std::string& container_id);
  absl::Status DeleteRows(const std::string& container_id);
  absl::StatusOr<std::map<std::string, Stored>> LoadAll();

  std::unique_ptr<Database> db_;
  Firewall* firewall_;
  EventLoop* loop_;
  const PortRange range_;
  std::mutex mu_;
  std::map<std::string, std::vector<Active>> active_;
};

}  // namespace berth::netd
