// Networks and endpoints: the bridge driver's model. Knows nothing of
// namespaces beyond the path it is handed; SandboxManager decides which
// container joins which network.
//
// Crash safety: an endpoint's row (its address lease) is written before its
// veth pair exists and deleted after the pair is gone, so a restart only
// has to delete rows whose container has no sandbox any more (Reconcile);
// a host veth without a row cannot outlive its namespace. Bridges of the
// networks in the database are (re)created at Open and removed by a clean
// Close when no endpoint uses them.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "netd/ipam/allocator.h"
#include "netd/network/driver.h"
#include "netd/network/model.h"
#include "netd/network/observer.h"
#include "netd/network/store.h"

namespace berth::netd {

struct NetworkConfig {
  // The default bridge's host interface (daemon.json "bridge").
  std::string bridge_name = "berth0";
  // The default bridge's gateway and subnet, e.g. "10.1.0.1/24" (daemon.json
  // "bip"); empty: the first free pool subnet.
  std::string bip;
  // daemon.json "default-address-pools".
  std::vector<AddressPool> pools = DefaultAddressPools();
  // Subnets the host already routes (never handed out automatically).
  std::function<absl::StatusOr<std::vector<Subnet>>()> host_subnets;
  // Where containers' namespaces are pinned: <netns_dir>/<container_id>.
  std::string netns_dir;
};

// What a container asks of one network (NetworkingConfig.EndpointsConfig).
struct EndpointRequest {
  std::optional<uint32_t> address;
  // --ip6.
  std::optional<Ipv6> address6;
  // "<container>:<alias>" (--link on a user-defined network).
  std::vector<std::string> links;
  std::vector<std::string> aliases;
  // 6 raw bytes, empty: derived from the address.
  std::string mac;
};

// Parses one EndpointSettings object of the Docker API.
absl::StatusOr<EndpointRequest> ParseEndpointRequest(const Json& settings);

class NetworkManager {
 public:
  // Ensures the predefined networks and every bridge; the driver and db
  // outlive the manager.
  static absl::StatusOr<std::unique_ptr<NetworkManager>> Open(Database* db, BridgeDriver* driver,
                                                              NetworkConfig config);

  // Docker's NetworkCreateRequest body.
  absl::StatusOr<Network> CreateNetwork(const Json& request);
  absl::StatusOr<Network> GetNetwork(const std::string& name_or_id);
  absl::StatusOr<std::vector<Network>> ListNetworks();
  absl::Status RemoveNetwork(const std::string& name_or_id);
  // Removes the user-defined networks without endpoints for which `keep`
  // (when set) returns false; returns their names.
  absl::StatusOr<std::vector<std::string>> PruneNetworks(
      const std::function<bool(const Network&)>& keep);

  // Attaches the container (whose namespace is at netns_path) to a bridge
  // network. The first endpoint of a container gets the default route.
  absl::StatusOr<Endpoint> Connect(const std::string& container_id,
                                   const std::string& container_name,
                                   const std::string& network_name_or_id,
                                   const EndpointRequest& request, const std::string& netns_path);
  absl::Status Disconnect(const std::string& container_id, const std::string& network_name_or_id);
  // Every endpoint of the container; fine when there are none.
  absl::Status DisconnectAll(const std::string& container_id);
  // docker rename: the container's endpoints answer to the new name (DNS,
  // reverse lookups, inspect) from now on, as Moby renames its endpoints.
  absl::Status RenameContainer(const std::string& container_id, const std::string& container_name);

  absl::StatusOr<std::vector<Endpoint>> EndpointsOf(const std::string& container_id);
  absl::StatusOr<std::vector<Endpoint>> AllEndpoints();

  // Drops the endpoints of containers not in `live` (their namespace is gone).
  absl::Status Reconcile(const std::set<std::string>& live);
  // Clean shutdown: removes the bridges no endpoint uses.
  absl::Status Close();

  // Observers are added before serving and outlive the manager. The new
  // observer is told of every bridge network and endpoint that exists
  // (rebuilding its state after a restart).
  absl::Status AddObserver(NetworkObserver* observer);

 private:
  NetworkManager(Database* db, BridgeDriver* driver, NetworkConfig config)
      : store_(db), driver_(driver), config_(std::move(config)) {}
  absl::Status EnsurePredefined();
  absl::StatusOr<std::vector<Subnet>> TakenSubnets();
  absl::Status DetachLocked(const Network& network, const Endpoint& endpoint);
  // Part of CreateNetwork: the bridge's name, or a macvlan network's parent.
  absl::Status NameBridge(const std::vector<Network>& networks, Network* network);
  absl::Status CheckMacvlan(const Network& network, const std::vector<Network>& networks);

  NetworkStore store_;
  BridgeDriver* const driver_;
  const NetworkConfig config_;
  std::vector<NetworkObserver*> observers_;
  std::mutex mu_;
};

}  // namespace berth::netd

namespace berth::netd {

// The `keep` predicate for PruneNetworks from Docker's prune filters
// ("label", "label!", "until"; each a map of value -> true or a list).
absl::StatusOr<std::function<bool(const Network&)>> PruneKeepFilter(const Json& filters);

// An "until" filter value as nanoseconds since the epoch.
absl::StatusOr<int64_t> ParseUntil(const std::string& value, int64_t now_nanos);

}  // namespace berth::netd
