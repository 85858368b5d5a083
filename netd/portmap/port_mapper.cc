#include "netd/portmap/port_mapper.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::netd {
namespace {

const std::vector<std::string>& Migrations() {
  static const std::vector<std::string> migrations = {
      // 1: one row per published host port.
      "CREATE TABLE port_mappings ("
      "  container_id TEXT NOT NULL,"
      "  proto TEXT NOT NULL,"
      "  container_port INTEGER NOT NULL,"
      "  host_ip TEXT NOT NULL,"
      "  host_port INTEGER NOT NULL,"
      "  container_ip TEXT NOT NULL,"
      "  bridge TEXT NOT NULL,"
      "  PRIMARY KEY (proto, host_ip, host_port));"
      "CREATE INDEX port_mappings_by_container ON port_mappings (container_id);",
      // 2: what inspect shows, exposed-only ports included.
      "CREATE TABLE published (container_id TEXT PRIMARY KEY, ports TEXT NOT NULL);",
  };
  return migrations;
}

absl::StatusOr<sockaddr_in> SocketAddress(const std::string& ip, int port) {
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("invalid IP address: ", ip));
  }
  return address;
}

bool IsLoopback(const std::string& ip) { return ip.rfind("127.", 0) == 0; }

std::string Owner(const std::string& container_id) { return "ports/" + container_id; }

// Binds host_ip:port; for TCP also listens, which is what makes the port
// taken for everyone else. AlreadyExists in Docker's words when it is taken.
absl::StatusOr<UniqueFd> BindHostPort(const std::string& proto, const std::string& host_ip,
                                      int port) {
  ASSIGN_OR_RETURN(sockaddr_in address, SocketAddress(host_ip, port));
  const bool tcp = proto == "tcp";
  UniqueFd fd(socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return LastErrnoStatus("socket");
  const std::string where = absl::StrCat("Bind for ", host_ip, ":", port, " failed");
  if (tcp) {
    // Only lets a restarted netd take back a port whose old connections are
    // in TIME_WAIT; a listening socket still refuses a second bind.
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  }
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      (tcp && listen(fd.get(), SOMAXCONN) != 0)) {
    if (errno == EADDRINUSE) {
      return absl::AlreadyExistsError(absl::StrCat(where, ": port is already allocated"));
    }
    return LastErrnoStatus(where);
  }
  return fd;
}

}  // namespace

PortRange EphemeralPortRange() {
  PortRange range;
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int first = 0;
  int last = 0;
  if (in >> first >> last && first >= 1 && first <= last && last <= 65535) {
    range.first = first;
    range.last = last;
  }
  return range;
}

std::vector<FirewallRule> PortRules(const std::string& container_ip, const std::string& bridge,
                                    const std::vector<PortMapping>& mappings) {
  std::vector<FirewallRule> rules;
  // Interface names are [A-Za-z0-9_.-]: quoting cannot fail for them; a
  // bridge it refuses is left out of the match rather than written raw.
  absl::StatusOr<std::string> quoted = NftQuote(bridge);
  const std::string from_outside =
      bridge.empty() || !quoted.ok() ? "" : absl::StrCat("iifname != ", *quoted, " ");
  for (const PortMapping& mapping : mappings) {
    // The host's loopback is the proxy's alone: DNAT to another host's
    // address would need route_localnet.
    if (IsLoopback(mapping.host_ip)) continue;
    const std::string daddr =
        mapping.host_ip == "0.0.0.0" ? "" : absl::StrCat("ip daddr ", mapping.host_ip, " ");
    // The counter shows (nft list table) whether traffic takes the kernel path.
    const std::string match =
        absl::StrCat(daddr, mapping.proto, " dport ", mapping.host_port, " counter dnat to ",
                     container_ip, ":", mapping.container_port);
    rules.push_back(
        {Chain::kPrerouting, absl::StrCat("fib daddr type local ", from_outside, match)});
    rules.push_back(
        {Chain::kOutput, absl::StrCat("fib daddr type local ip daddr != 127.0.0.0/8 ", match)});
  }
  return rules;
}

absl::StatusOr<std::unique_ptr<PortMapper>> PortMapper::Open(const std::string& state_dir,
                                                             Firewall* firewall, EventLoop* loop,
                                                             PortRange range) {
  RETURN_IF_ERROR(MakeDirs(state_dir, 0700));
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db,
                   Database::Open(state_dir + "/ports.db", Migrations()));
  return std::unique_ptr<PortMapper>(new PortMapper(std::move(db), firewall, loop, range));
}

PortMapper::~PortMapper() {
  // Proxies first: they run on the loop, which may outlive nothing here.
  std::lock_guard<std::mutex> lock(mu_);
  active_.clear();
}

absl::StatusOr<PortMapper::Active> PortMapper::BindOne(const PortRequest& port,
                                                       const std::string& container_ip) {
  PortMapping mapping{port.proto, port.container_port, port.host_ip, 0};
  int first = port.host_port_first;
  int last = port.host_port_last;
  int start = first;
  if (first == 0) {
    first = range_.first;
    last = range_.last;
    // A random start, as Docker: ports of removed containers are not handed
    // out again straight away.
    static std::mt19937 random(std::random_device{}());
    start = std::uniform_int_distribution<int>(first, last)(random);
  }
  const int count = last - first + 1;
  for (int i = 0; i < count; ++i) {
    mapping.host_port = first + (start - first + i) % count;
    absl::StatusOr<Active> bound = BindExact(mapping, container_ip);
    if (bound.ok() || !absl::IsAlreadyExists(bound.status()) || count == 1) return bound;
  }
  return absl::AlreadyExistsError(absl::StrCat("Bind for ", port.host_ip, ":", first, "-", last,
                                               " failed: port is already allocated"));
}

absl::StatusOr<PortMapper::Active> PortMapper::BindExact(const PortMapping& mapping,
                                                         const std::string& container_ip) {
  ASSIGN_OR_RETURN(UniqueFd fd, BindHostPort(mapping.proto, mapping.host_ip, mapping.host_port));
  ASSIGN_OR_RETURN(sockaddr_in backend, SocketAddress(container_ip, mapping.container_port));
  Active active{mapping, nullptr};
  if (mapping.proto == "tcp") {
    ASSIGN_OR_RETURN(active.proxy, StartTcpProxy(loop_, std::move(fd), backend));
  } else {
    ASSIGN_OR_RETURN(active.proxy, StartUdpProxy(loop_, std::move(fd), backend));
  }
  return active;
}

absl::StatusOr<std::vector<PortMapper::Active>> PortMapper::Bind(const PublishRequest& request) {
  // Exact ports first, so that a random pick never takes a port the same
  // request names.
  std::vector<Active> bound(request.ports.size());
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < request.ports.size(); ++i) {
      const PortRequest& port = request.ports[i];
      const bool exact = port.host_port_first != 0 && port.host_port_first == port.host_port_last;
      if (exact != (pass == 0)) continue;
      ASSIGN_OR_RETURN(bound[i], BindOne(port, request.container_ip));
    }
  }
  return bound;
}

absl::StatusOr<std::vector<PortMapping>> PortMapper::Publish(const PublishRequest& request) {
  ASSIGN_OR_RETURN(sockaddr_in unused, SocketAddress(request.container_ip, 1));
  (void)unused;
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(UnpublishLocked(request.container_id));
  if (request.ports.empty()) return std::vector<PortMapping>();
  // The proxies start serving as soon as they are bound; until the rows and
  // rules are in place that only means early connections reach the container.
  ASSIGN_OR_RETURN(std::vector<Active> bound, Bind(request));
  std::vector<PortMapping> mappings;
  for (const Active& active : bound) mappings.push_back(active.mapping);

  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    for (const PortMapping& mapping : mappings) {
      ASSIGN_OR_RETURN(
          Statement insert,
          db_->Prepare("INSERT OR REPLACE INTO port_mappings (container_id, proto, container_port, "
                       "host_ip, host_port, container_ip, bridge) VALUES (?, ?, ?, ?, ?, ?, ?)"));
      insert.Bind(1, request.container_id)
          .Bind(2, mapping.proto)
          .Bind(3, static_cast<int64_t>(mapping.container_port))
          .Bind(4, mapping.host_ip)
          .Bind(5, static_cast<int64_t>(mapping.host_port))
          .Bind(6, request.container_ip)
          .Bind(7, request.bridge);
      RETURN_IF_ERROR(insert.Run());
    }
    return absl::OkStatus();
  }));
  absl::Status ruled = firewall_->SetRules(
      Owner(request.container_id), PortRules(request.container_ip, request.bridge, mappings));
  if (!ruled.ok()) {
    DeleteRows(request.container_id).IgnoreError();
    return ruled;
  }
  active_[request.container_id] = std::move(bound);
  for (const PortMapping& mapping : mappings) {
    spdlog::info("container {}: {}:{} -> {}:{}/{}", request.container_id.substr(0, 12),
                 mapping.host_ip, mapping.host_port, request.container_ip, mapping.container_port,
                 mapping.proto);
  }
  return mappings;
}

absl::Status PortMapper::Unpublish(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return UnpublishLocked(container_id);
}

absl::Status PortMapper::UnpublishLocked(const std::string& container_id) {
  RETURN_IF_ERROR(firewall_->RemoveRules(Owner(container_id)));
  active_.erase(container_id);
  return DeleteRows(container_id);
}

absl::Status PortMapper::DeleteRows(const std::string& container_id) {
  return db_->Transaction([&]() -> absl::Status {
    for (const char* sql : {"DELETE FROM port_mappings WHERE container_id = ?",
                            "DELETE FROM published WHERE container_id = ?"}) {
      ASSIGN_OR_RETURN(Statement del, db_->Prepare(sql));
      RETURN_IF_ERROR(del.Bind(1, container_id).Run());
    }
    return absl::OkStatus();
  });
}

absl::Status PortMapper::PublishContainer(const std::string& container_id, const Json& config,
                                          const Json& host_config, const std::string& container_ip,
                                          const std::string& bridge) {
  ASSIGN_OR_RETURN(std::vector<PortRequest> requests, ParsePortRequests(host_config, config));
  ASSIGN_OR_RETURN(std::vector<PortMapping> mappings,
                   Publish(PublishRequest{container_id, container_ip, bridge, requests}));
  const Json ports = FormatPorts(mappings, config, host_config);
  if (ports.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(Statement insert,
                   db_->Prepare("INSERT OR REPLACE INTO published (container_id, ports) "
                                "VALUES (?, ?)"));
  absl::Status stored = insert.Bind(1, container_id).Bind(2, ports.dump()).Run();
  if (!stored.ok()) Unpublish(container_id).IgnoreError();
  return stored;
}

Json PortMapper::Ports(const std::string& container_id) {
  absl::StatusOr<Statement> query =
      db_->Prepare("SELECT ports FROM published WHERE container_id = ?");
  if (!query.ok()) return Json::object();
  query->Bind(1, container_id);
  absl::StatusOr<bool> row = query->Step();
  if (!row.ok() || !*row) return Json::object();
  absl::StatusOr<Json> ports = ParseJson(query->ColumnText(0));
  return ports.ok() && ports->is_object() ? *ports : Json::object();
}

absl::StatusOr<std::vector<PortMapping>> PortMapper::Mappings(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PortMapping> mappings;
  auto it = active_.find(container_id);
  if (it != active_.end()) {
    for (const Active& active : it->second) mappings.push_back(active.mapping);
  }
  return mappings;
}

absl::StatusOr<std::map<std::string, PortMapper::Stored>> PortMapper::LoadAll() {
  ASSIGN_OR_RETURN(Statement query,
                   db_->Prepare("SELECT container_id, proto, container_port, host_ip, host_port, "
                                "container_ip, bridge FROM port_mappings ORDER BY rowid"));
  std::map<std::string, Stored> all;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    Stored& stored = all[query.ColumnText(0)];
    stored.container_ip = query.ColumnText(5);
    stored.bridge = query.ColumnText(6);
    stored.mappings.push_back({query.ColumnText(1), static_cast<int>(query.ColumnInt(2)),
                               query.ColumnText(3), static_cast<int>(query.ColumnInt(4))});
  }
  return all;
}

absl::Status PortMapper::Restore(const std::set<std::string>& live) {
  std::lock_guard<std::mutex> lock(mu_);
  // Containers with only exposed ports have a published row and no mapping.
  ASSIGN_OR_RETURN(Statement published, db_->Prepare("SELECT container_id FROM published"));
  std::vector<std::string> gone;
  while (true) {
    ASSIGN_OR_RETURN(bool row, published.Step());
    if (!row) break;
    if (live.count(published.ColumnText(0)) == 0) gone.push_back(published.ColumnText(0));
  }
  for (const std::string& container_id : gone) RETURN_IF_ERROR(DeleteRows(container_id));
  ASSIGN_OR_RETURN(auto all, LoadAll());
  for (const auto& [container_id, stored] : all) {
    if (live.count(container_id) == 0) {
      spdlog::info("dropping the published ports of container {}: its sandbox is gone",
                   container_id);
      RETURN_IF_ERROR(DeleteRows(container_id));
      continue;
    }
    std::vector<Active> restored;
    std::vector<PortMapping> mappings;
    for (const PortMapping& mapping : stored.mappings) {
      absl::StatusOr<Active> bound = BindExact(mapping, stored.container_ip);
      if (!bound.ok()) {
        spdlog::warn("container {}: cannot restore {}:{}/{}: {}", container_id, mapping.host_ip,
                     mapping.host_port, mapping.proto, bound.status().ToString());
        continue;
      }
      mappings.push_back(mapping);
      restored.push_back(std::move(*bound));
    }
    RETURN_IF_ERROR(firewall_->SetRules(Owner(container_id),
                                        PortRules(stored.container_ip, stored.bridge, mappings)));
    active_[container_id] = std::move(restored);
  }
  return absl::OkStatus();
}

}  // namespace berth::netd
