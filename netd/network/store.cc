#include "netd/network/store.h"

#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/status.h"

namespace berth::netd {
namespace {

std::string MapToJson(const std::map<std::string, std::string>& map) { return Json(map).dump(); }

std::map<std::string, std::string> MapFromJson(const std::string& text) {
  std::map<std::string, std::string> map;
  absl::StatusOr<Json> json = ParseJson(text);
  if (!json.ok() || !json->is_object()) return map;
  for (auto it = json->begin(); it != json->end(); ++it) {
    if (it->is_string()) map[it.key()] = it->get<std::string>();
  }
  return map;
}

std::string SubnetText(const Subnet& subnet, bool set) { return set ? subnet.ToString() : ""; }

Subnet SubnetFrom(const std::string& text) {
  if (text.empty()) return Subnet{};
  absl::StatusOr<Subnet> subnet = ParseSubnet(text);
  return subnet.ok() ? *subnet : Subnet{};
}

constexpr char kNetworkColumns[] =
    "id, name, driver, created, subnet, gateway, ip_range, internal, labels, options, bridge, "
    "configured_subnet, attachable, aux_addresses, enable_ipv6, subnet6, gateway6, ip_range6, "
    "configured_subnet6";

std::string Ipv6Text(const Ipv6& address) { return IsUnset(address) ? "" : FormatIpv6(address); }

Ipv6 Ipv6From(const std::string& text) {
  if (text.empty()) return Ipv6{};
  return ParseIpv6(text).value_or(Ipv6{});
}

Subnet6 Subnet6From(const std::string& text) {
  if (text.empty()) return Subnet6{};
  return ParseSubnet6(text).value_or(Subnet6{});
}

std::vector<std::string> StringsFromJson(const std::string& text) {
  std::vector<std::string> strings;
  absl::StatusOr<Json> json = ParseJson(text);
  if (!json.ok() || !json->is_array()) return strings;
  for (const Json& item : *json) {
    if (item.is_string()) strings.push_back(item.get<std::string>());
  }
  return strings;
}

Network NetworkFromRow(const Statement& row) {
  Network network;
  network.id = row.ColumnText(0);
  network.name = row.ColumnText(1);
  network.driver = row.ColumnText(2);
  network.created = row.ColumnInt(3);
  network.subnet = SubnetFrom(row.ColumnText(4));
  network.gateway = static_cast<uint32_t>(row.ColumnInt(5));
  network.has_ip_range = !row.ColumnText(6).empty();
  network.ip_range = SubnetFrom(row.ColumnText(6));
  network.internal = row.ColumnInt(7) != 0;
  network.labels = MapFromJson(row.ColumnText(8));
  network.options = MapFromJson(row.ColumnText(9));
  network.bridge = row.ColumnText(10);
  network.configured_subnet = row.ColumnInt(11) != 0;
  network.attachable = row.ColumnInt(12) != 0;
  network.aux_addresses = MapFromJson(row.ColumnText(13));
  network.enable_ipv6 = row.ColumnInt(14) != 0;
  network.subnet6 = Subnet6From(row.ColumnText(15));
  network.gateway6 = Ipv6From(row.ColumnText(16));
  network.has_ip_range6 = !row.ColumnText(17).empty();
  network.ip_range6 = Subnet6From(row.ColumnText(17));
  network.configured_subnet6 = row.ColumnInt(18) != 0;
  return network;
}

}  // namespace

const std::vector<std::string>& NetworkStore::Migrations() {
  static const std::vector<std::string> migrations = {
      "CREATE TABLE networks ("
      "  id TEXT PRIMARY KEY,"
      "  name TEXT NOT NULL UNIQUE,"
      "  driver TEXT NOT NULL,"
      "  created INTEGER NOT NULL,"
      "  subnet TEXT NOT NULL,"
      "  gateway INTEGER NOT NULL,"
      "  ip_range TEXT NOT NULL,"
      "  internal INTEGER NOT NULL,"
      "  labels TEXT NOT NULL,"
      "  options TEXT NOT NULL,"
      "  bridge TEXT NOT NULL);",
      "CREATE TABLE endpoints ("
      "  container_id TEXT NOT NULL,"
      "  network_id TEXT NOT NULL,"
      "  endpoint_id TEXT NOT NULL,"
      "  container_name TEXT NOT NULL,"
      "  address INTEGER NOT NULL,"
      "  mac TEXT NOT NULL,"
      "  aliases TEXT NOT NULL,"
      "  interface TEXT NOT NULL,"
      "  host_interface TEXT NOT NULL,"
      "  static_address INTEGER NOT NULL,"
      "  PRIMARY KEY (container_id, network_id));"
      "CREATE UNIQUE INDEX endpoint_address ON endpoints (network_id, address) WHERE address != 0;",
      // Whether the subnet was the user's (--subnet): only then may
      // containers ask for an address.
      "ALTER TABLE networks ADD COLUMN configured_subnet INTEGER NOT NULL DEFAULT 0;",
      // IPv6 next to IPv4, --attachable, --aux-address; endpoints' IPv6
      // leases (unique per network like IPv4's) and --link aliases.
      "ALTER TABLE networks ADD COLUMN attachable INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE networks ADD COLUMN aux_addresses TEXT NOT NULL DEFAULT '{}';"
      "ALTER TABLE networks ADD COLUMN enable_ipv6 INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE networks ADD COLUMN subnet6 TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE networks ADD COLUMN gateway6 TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE networks ADD COLUMN ip_range6 TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE networks ADD COLUMN configured_subnet6 INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE endpoints ADD COLUMN address6 TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE endpoints ADD COLUMN static_address6 INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE endpoints ADD COLUMN links TEXT NOT NULL DEFAULT '[]';"
      "CREATE UNIQUE INDEX endpoint_address6 ON endpoints (network_id, address6) "
      "WHERE address6 != '';",
  };
  return migrations;
}

absl::Status NetworkStore::PutNetwork(const Network& network) {
  ASSIGN_OR_RETURN(Statement insert,
                   db_->Prepare(absl::StrCat(
                       "INSERT OR REPLACE INTO networks (", kNetworkColumns,
                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")));
  insert.Bind(1, network.id)
      .Bind(2, network.name)
      .Bind(3, network.driver)
      .Bind(4, network.created)
      .Bind(5, SubnetText(network.subnet, network.subnet.prefix_length != 0))
      .Bind(6, static_cast<int64_t>(network.gateway))
      .Bind(7, SubnetText(network.ip_range, network.has_ip_range))
      .Bind(8, static_cast<int64_t>(network.internal ? 1 : 0))
      .Bind(9, MapToJson(network.labels))
      .Bind(10, MapToJson(network.options))
      .Bind(11, network.bridge)
      .Bind(12, static_cast<int64_t>(network.configured_subnet ? 1 : 0))
      .Bind(13, static_cast<int64_t>(network.attachable ? 1 : 0))
      .Bind(14, MapToJson(network.aux_addresses))
      .Bind(15, static_cast<int64_t>(network.enable_ipv6 ? 1 : 0))
      .Bind(16, network.subnet6.Empty() ? "" : network.subnet6.ToString())
      .Bind(17, Ipv6Text(network.gateway6))
      .Bind(18, network.has_ip_range6 ? network.ip_range6.ToString() : "")
      .Bind(19, static_cast<int64_t>(network.configured_subnet6 ? 1 : 0));
  return insert.Run();
}

absl::Status NetworkStore::DeleteNetwork(const std::string& id) {
  ASSIGN_OR_RETURN(Statement del, db_->Prepare("DELETE FROM networks WHERE id = ?"));
  return del.Bind(1, id).Run();
}

absl::StatusOr<std::vector<Network>> NetworkStore::ListNetworks() {
  ASSIGN_OR_RETURN(Statement query, db_->Prepare(absl::StrCat("SELECT ", kNetworkColumns,
                                                              " FROM networks ORDER BY created")));
  std::vector<Network> networks;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    networks.push_back(NetworkFromRow(query));
  }
  return networks;
}

absl::StatusOr<Network> NetworkStore::FindNetwork(const std::string& name_or_id) {
  ASSIGN_OR_RETURN(std::vector<Network> networks, ListNetworks());
  if (!name_or_id.empty()) {
    for (const Network& network : networks) {
      if (network.id == name_or_id) return network;
    }
    for (const Network& network : networks) {
      if (network.name == name_or_id) return network;
    }
    std::vector<const Network*> matches;
    for (const Network& network : networks) {
      if (network.id.compare(0, name_or_id.size(), name_or_id) == 0) matches.push_back(&network);
    }
    if (matches.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat("network ", name_or_id, " is ambiguous (",
                                                     matches.size(), " matches found on ID)"));
    }
    if (matches.size() == 1) return *matches[0];
  }
  return absl::NotFoundError(absl::StrCat("network ", name_or_id, " not found"));
}

absl::Status NetworkStore::PutEndpoint(const Endpoint& endpoint) {
  ASSIGN_OR_RETURN(
      Statement insert,
      db_->Prepare("INSERT INTO endpoints (container_id, network_id, endpoint_id, "
                   "container_name, address, mac, aliases, interface, host_interface, "
                   "static_address, address6, static_address6, links) VALUES (?, ?, ?, "
                   "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  insert.Bind(1, endpoint.container_id)
      .Bind(2, endpoint.network_id)
      .Bind(3, endpoint.endpoint_id)
      .Bind(4, endpoint.container_name)
      .Bind(5, static_cast<int64_t>(endpoint.address))
      .Bind(6, FormatMac(endpoint.mac))
      .Bind(7, Json(endpoint.aliases).dump())
      .Bind(8, endpoint.interface)
      .Bind(9, endpoint.host_interface)
      .Bind(10, static_cast<int64_t>(endpoint.static_address ? 1 : 0))
      .Bind(11, Ipv6Text(endpoint.address6))
      .Bind(12, static_cast<int64_t>(endpoint.static_address6 ? 1 : 0))
      .Bind(13, Json(endpoint.links).dump());
  return insert.Run();
}

absl::Status NetworkStore::DeleteEndpoint(const std::string& container_id,
                                          const std::string& network_id) {
  ASSIGN_OR_RETURN(Statement del, db_->Prepare("DELETE FROM endpoints WHERE container_id = ? AND "
                                               "network_id = ?"));
  return del.Bind(1, container_id).Bind(2, network_id).Run();
}

absl::Status NetworkStore::RenameEndpoints(const std::string& container_id,
                                           const std::string& container_name) {
  ASSIGN_OR_RETURN(Statement update, db_->Prepare("UPDATE endpoints SET container_name = ? WHERE "
                                                  "container_id = ?"));
  return update.Bind(1, container_name).Bind(2, container_id).Run();
}

absl::StatusOr<std::vector<Endpoint>> NetworkStore::QueryEndpoints(const std::string& where,
                                                                   const std::string& argument) {
  ASSIGN_OR_RETURN(
      Statement query,
      db_->Prepare(absl::StrCat(
          "SELECT container_id, network_id, endpoint_id, container_name, address, "
          "mac, aliases, interface, host_interface, static_address, address6, static_address6, "
          "links FROM endpoints ",
          where, " ORDER BY container_id, interface")));
  if (!argument.empty()) query.Bind(1, argument);
  std::vector<Endpoint> endpoints;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    Endpoint endpoint;
    endpoint.container_id = query.ColumnText(0);
    endpoint.network_id = query.ColumnText(1);
    endpoint.endpoint_id = query.ColumnText(2);
    endpoint.container_name = query.ColumnText(3);
    endpoint.address = static_cast<uint32_t>(query.ColumnInt(4));
    endpoint.mac = ParseMac(query.ColumnText(5)).value_or("");
    absl::StatusOr<Json> aliases = ParseJson(query.ColumnText(6));
    if (aliases.ok() && aliases->is_array()) {
      for (const Json& alias : *aliases) {
        if (alias.is_string()) endpoint.aliases.push_back(alias.get<std::string>());
      }
    }
    endpoint.interface = query.ColumnText(7);
    endpoint.host_interface = query.ColumnText(8);
    endpoint.static_address = query.ColumnInt(9) != 0;
    endpoint.address6 = Ipv6From(query.ColumnText(10));
    endpoint.static_address6 = query.ColumnInt(11) != 0;
    endpoint.links = StringsFromJson(query.ColumnText(12));
    endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
}

absl::StatusOr<std::vector<Endpoint>> NetworkStore::ListEndpoints() {
  return QueryEndpoints("", "");
}

absl::StatusOr<std::vector<Endpoint>> NetworkStore::EndpointsOfNetwork(
    const std::string& network_id) {
  return QueryEndpoints("WHERE network_id = ?", network_id);
}

absl::StatusOr<std::vector<Endpoint>> NetworkStore::EndpointsOfContainer(
    const std::string& container_id) {
  return QueryEndpoints("WHERE container_id = ?", container_id);
}

absl::StatusOr<std::vector<Ipv6>> NetworkStore::Addresses6InUse(const std::string& network_id) {
  ASSIGN_OR_RETURN(Statement query,
                   db_->Prepare("SELECT address6 FROM endpoints WHERE network_id = ? AND "
                                "address6 != ''"));
  query.Bind(1, network_id);
  std::vector<Ipv6> addresses;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    addresses.push_back(Ipv6From(query.ColumnText(0)));
  }
  return addresses;
}

absl::StatusOr<std::vector<uint32_t>> NetworkStore::AddressesInUse(const std::string& network_id) {
  ASSIGN_OR_RETURN(Statement query,
                   db_->Prepare("SELECT address FROM endpoints WHERE network_id = ? ORDER BY "
                                "address"));
  query.Bind(1, network_id);
  std::vector<uint32_t> addresses;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    addresses.push_back(static_cast<uint32_t>(query.ColumnInt(0)));
  }
  return addresses;
}

}  // namespace berth::netd
