// Networks and endpoints in netd's SQLite database. An endpoint's row is its
// address lease: the UNIQUE (network_id, address) index is what guarantees
// that no address is handed out twice, across restarts too.
//
// Tables (migrations in SandboxManager::Migrations, one database per daemon):
//   networks(id PK, name UNIQUE, driver, created, subnet, gateway, ip_range,
//            internal, labels JSON, options JSON, bridge, configured_subnet)
//   endpoints(container_id, network_id, endpoint_id, container_name, address,
//             mac, aliases JSON, interface, host_interface, static_address,
//             PK(container_id, network_id), UNIQUE(network_id, address))
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/database.h"
#include "netd/network/model.h"

namespace berth::netd {

class NetworkStore {
 public:
  explicit NetworkStore(Database* db) : db_(db) {}

  static const std::vector<std::string>& Migrations();

  absl::Status PutNetwork(const Network& network);
  absl::Status DeleteNetwork(const std::string& id);
  absl::StatusOr<std::vector<Network>> ListNetworks();
  // By exact name, exact ID, or unique ID prefix (Docker's order).
  // NotFound "network <x> not found"; an ambiguous prefix is InvalidArgument.
  absl::StatusOr<Network> FindNetwork(const std::string& name_or_id);

  absl::Status PutEndpoint(const Endpoint& endpoint);
  absl::Status DeleteEndpoint(const std::string& container_id, const std::string& network_id);
  absl::Status RenameEndpoints(const std::string& container_id, const std::string& container_name);
  absl::StatusOr<std::vector<Endpoint>> ListEndpoints();
  absl::StatusOr<std::vector<Endpoint>> EndpointsOfNetwork(const std::string& network_id);
  absl::StatusOr<std::vector<Endpoint>> EndpointsOfContainer(const std::string& container_id);
  absl::StatusOr<std::vector<uint32_t>> AddressesInUse(const std::string& network_id);
  absl::StatusOr<std::vector<Ipv6>> Addresses6InUse(const std::string& network_id);

  Database* db() { return db_; }

 private:
  absl::StatusOr<std::vector<Endpoint>> QueryEndpoints(const std::string& where,
                                                       const std::string& argument);
  Database* db_;
};

}  // namespace berth::netd
