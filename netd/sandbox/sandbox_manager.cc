#include "netd/sandbox/sandbox_manager.h"

#include <dirent.h>
#include <sys/mount.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mountinfo.h"
#include "common/status.h"
#include "netd/dns/dns_observer.h"
#include "netd/netlink/netlink.h"
#include "netd/network/deferred_detach_driver.h"
#include "netd/network/render.h"
#include "netd/sandbox/links.h"
#include "netd/sandbox/netns.h"
#include "netd/sandbox/network_mode.h"

namespace berth::netd {
namespace {

// What docker run pays netd, in the log for the lead's benchmarks.
double MillisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// The ID names a file: keep it to what Docker IDs and names are made of.
absl::Status ValidateContainerId(const std::string& id) {
  if (id.empty() || id.size() > 128 || id == "." || id == "..") {
    return absl::InvalidArgumentError(absl::StrCat("invalid container ID \"", id, "\""));
  }
  for (char c : id) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat("invalid container ID \"", id, "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::set<std::string>> MountPoints() {
  ASSIGN_OR_RETURN(std::vector<MountInfo> mounts, ReadMountInfo());
  std::set<std::string> points;
  for (const MountInfo& mount : mounts) points.insert(mount.mount_point);
  return points;
}

const Json& Field(const Json& object, const char* key) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string StringField(const Json& object, const char* key) {
  const Json& value = Field(object, key);
  return value.is_string() ? value.get<std::string>() : "";
}

std::vector<std::string> StringsField(const Json& object, const char* key) {
  std::vector<std::string> strings;
  const Json& value = Field(object, key);
  if (!value.is_array()) return strings;
  for (const Json& item : value) {
    if (item.is_string()) strings.push_back(item.get<std::string>());
  }
  return strings;
}

}  // namespace

const std::vector<std::string>& SandboxManager::Migrations() {
  static const std::vector<std::string> migrations = [] {
    std::vector<std::string> all = {
        // 1: one row per pinned network namespace.
        "CREATE TABLE sandboxes ("
        "  container_id TEXT PRIMARY KEY,"
        "  network_mode TEXT NOT NULL,"
        "  netns_path TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL);",
    };
    // 2, 3: networks and endpoints.
    const std::vector<std::string>& network = NetworkStore::Migrations();
    all.insert(all.end(), network.begin(), network.begin() + 2);
    // 4: the name, for network inspect's Containers and the DNS server.
    all.push_back("ALTER TABLE sandboxes ADD COLUMN container_name TEXT NOT NULL DEFAULT '';");
    // 5...: the network store's later migrations, in their order.
    all.insert(all.end(), network.begin() + 2, network.end());
    return all;
  }();
  return migrations;
}

absl::StatusOr<std::unique_ptr<SandboxManager>> SandboxManager::Open(const std::string& state_dir,
                                                                     const std::string& run_dir,
                                                                     NetworkConfig config,
                                                                     BridgeDriver* driver) {
  RETURN_IF_ERROR(MakeDirs(state_dir, 0700));
  RETURN_IF_ERROR(MakeDirs(run_dir + "/netns", 0755));
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db,
                   Database::Open(state_dir + "/netd.db", Migrations()));
  std::unique_ptr<SandboxManager> manager(new SandboxManager(run_dir, std::move(db)));
  RETURN_IF_ERROR(MakePrivateMountDir(manager->NetnsDir()));
  config.netns_dir = manager->NetnsDir();
  ASSIGN_OR_RETURN(manager->networks_,
                   NetworkManager::Open(manager->db_.get(), driver, std::move(config)));
  RETURN_IF_ERROR(manager->Reconcile());
  return manager;
}

absl::Status SandboxManager::Reconcile() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::set<std::string> mounted, MountPoints());
  ASSIGN_OR_RETURN(std::vector<Sandbox> sandboxes, ListSandboxes());
  std::set<std::string> kept, live;
  for (const Sandbox& sandbox : sandboxes) {
    if (mounted.count(sandbox.netns_path) != 0) {
      kept.insert(sandbox.netns_path);
      live.insert(sandbox.container_id);
      continue;
    }
    spdlog::warn("dropping sandbox of container {}: {} is no longer pinned", sandbox.container_id,
                 sandbox.netns_path);
    if (sandbox.netns_path == NetnsDir() + "/" + sandbox.container_id) {
      RETURN_IF_ERROR(RemovePinnedNetns(sandbox.netns_path));
    }
    RETURN_IF_ERROR(DeleteRow(sandbox.container_id));
  }

  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(NetnsDir()));
  std::vector<std::string> orphans;
  for (const std::string& name : names) {
    std::string path = NetnsDir() + "/" + name;
    if (name[0] == '.' || kept.count(path) != 0) continue;
    orphans.push_back(std::move(path));
  }
  for (const std::string& path : orphans) {
    spdlog::warn("removing network namespace {} that has no sandbox", path);
    RETURN_IF_ERROR(RemovePinnedNetns(path));
  }
  RETURN_IF_ERROR(networks_->Reconcile(live));
  spdlog::info("netd state reconciled: {} sandboxes kept, {} dropped, {} orphans removed",
               live.size(), sandboxes.size() - live.size(), orphans.size());
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Sandbox>> SandboxManager::FindRow(const std::string& container_id) {
  ASSIGN_OR_RETURN(std::vector<Sandbox> sandboxes, ListSandboxes());
  for (Sandbox& sandbox : sandboxes) {
    if (sandbox.container_id == container_id) return std::optional<Sandbox>(std::move(sandbox));
  }
  return std::optional<Sandbox>();
}

absl::StatusOr<Json> SandboxManager::RenderSettings(const Sandbox& sandbox) {
  const NetworkMode mode = ParseNetworkMode(sandbox.network_mode);
  std::vector<std::pair<Network, Endpoint>> attached;
  std::vector<Network> endpointless;
  if (mode.kind == NetworkMode::kHost || mode.kind == NetworkMode::kNone) {
    ASSIGN_OR_RETURN(
        Network network,
        networks_->GetNetwork(mode.kind == NetworkMode::kHost ? kHostNetwork : kNoneNetwork));
    endpointless.push_back(std::move(network));
  }
  ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints, networks_->EndpointsOf(sandbox.container_id));
  for (Endpoint& endpoint : endpoints) {
    absl::StatusOr<Network> network = networks_->GetNetwork(endpoint.network_id);
    if (network.ok()) attached.emplace_back(std::move(*network), std::move(endpoint));
  }
  Json settings =
      RenderNetworkSettings(sandbox.container_id, sandbox.netns_path, attached, endpointless);
  if (ports_ != nullptr) settings["Ports"] = ports_->Ports(sandbox.container_id);
  return settings;
}

// Docker publishes on the endpoint of the network the container was started
// on, the one with the default route.
absl::Status SandboxManager::PublishPorts(const SandboxRequest& request,
                                          const std::string& network_name) {
  if (ports_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(Network network, networks_->GetNetwork(network_name));
  ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints, networks_->EndpointsOf(request.container_id));
  for (const Endpoint& endpoint : endpoints) {
    if (endpoint.network_id != network.id) continue;
    // Docker's words around the mapper's, e.g. "Bind for 0.0.0.0:80 failed:
    // port is already allocated".
    return Annotate(
        ports_->PublishContainer(request.container_id, request.config, request.host_config,
                                 FormatIpv4(endpoint.address), network.bridge),
        absl::StrCat("driver failed programming external connectivity on endpoint ",
                     request.container_name, " (", endpoint.endpoint_id, ")"));
  }
  return absl::OkStatus();
}

absl::Status SandboxManager::ConnectAll(const SandboxRequest& request, const std::string& network,
                                        const std::string& netns_path) {
  ASSIGN_OR_RETURN(Network primary, networks_->GetNetwork(network));
  const Json& endpoints = Field(request.networking_config, "EndpointsConfig");
  Json primary_settings = Json::object();
  std::vector<std::pair<std::string, Json>> others;
  if (endpoints.is_object()) {
    for (auto it = endpoints.begin(); it != endpoints.end(); ++it) {
      // The CLI keys the default bridge's settings by the mode, "default".
      if (it.key() == network || it.key() == primary.name || it.key() == primary.id ||
          (primary.name == kDefaultBridgeNetwork && it.key() == "default")) {
        primary_settings = it.value();
      } else {
        others.emplace_back(it.key(), it.value());
      }
    }
  }
  ASSIGN_OR_RETURN(EndpointRequest first, ParseEndpointRequest(primary_settings));
  // Before API 1.44 the MAC address came in Config.
  if (std::string mac = StringField(request.config, "MacAddress");
      first.mac.empty() && !mac.empty()) {
    ASSIGN_OR_RETURN(first.mac, ParseMac(mac));
  }
  // docker run --link on a user-defined network: aliases its DNS answers.
  if (const Json& links = Field(request.host_config, "Links"); links.is_array()) {
    ASSIGN_OR_RETURN(EndpointRequest linked, ParseEndpointRequest(Json{{"Links", links}}));
    // The CLI sends them in the endpoint's settings too.
    for (std::string& link : linked.links) {
      if (std::find(first.links.begin(), first.links.end(), link) == first.links.end()) {
        first.links.push_back(std::move(link));
      }
    }
  }
  RETURN_IF_ERROR(
      networks_
          ->Connect(request.container_id, request.container_name, primary.id, first, netns_path)
          .status());
  for (const auto& [name, settings] : others) {
    ASSIGN_OR_RETURN(EndpointRequest more, ParseEndpointRequest(settings));
    RETURN_IF_ERROR(
        networks_->Connect(request.container_id, request.container_name, name, more, netns_path)
            .status());
  }
  return absl::OkStatus();
}

absl::StatusOr<SandboxInfo> SandboxManager::CreateSandbox(const SandboxRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  const std::string& container_id = request.container_id;
  RETURN_IF_ERROR(ValidateContainerId(container_id));
  const std::string network_mode = StringField(request.host_config, "NetworkMode");
  const NetworkMode mode = ParseNetworkMode(network_mode);

  std::lock_guard<std::mutex> lock(mu_);
  Sandbox sandbox{container_id, network_mode, NetnsDir() + "/" + container_id,
                  request.container_name};
  switch (mode.kind) {
    case NetworkMode::kHost:
      sandbox.netns_path.clear();
      break;
    case NetworkMode::kContainer: {
      ASSIGN_OR_RETURN(std::vector<Sandbox> sandboxes, ListSandboxes());
      const Sandbox* owner = nullptr;
      for (const Sandbox& other : sandboxes) {
        if (other.container_id == mode.target || other.container_name == mode.target) {
          owner = &other;
          break;
        }
      }
      if (owner == nullptr) {
        return absl::FailedPreconditionError(absl::StrCat(
            "cannot join network namespace of a non running container: ", mode.target));
      }
      if (owner->netns_path.empty()) {
        return absl::InvalidArgumentError(
            "cannot share the network namespace of a container that uses the host's network");
      }
      sandbox.netns_path = owner->netns_path;
      break;
    }
    case NetworkMode::kUser: {
      ASSIGN_OR_RETURN(Network network, networks_->GetNetwork(mode.target));
      if (network.name == kHostNetwork) {
        sandbox.netns_path.clear();
        sandbox.network_mode = "host";
      } else if (network.name == kNoneNetwork) {
        sandbox.network_mode = "none";
      }
      break;
    }
    case NetworkMode::kNone:
    case NetworkMode::kBridge:
      break;
  }
  if (sandbox.netns_path.empty()) {
    ASSIGN_OR_RETURN(Json settings, RenderSettings(sandbox));
    return SandboxInfo{"", std::move(settings)};
  }

  ASSIGN_OR_RETURN(std::optional<Sandbox> existing, FindRow(container_id));
  if (existing) {
    ASSIGN_OR_RETURN(bool pinned, IsMountPoint(existing->netns_path));
    // A removal cut short by a crash may have released the endpoints while
    // their veth pairs, deleted after the fact, stayed in the namespace:
    // such a sandbox is not complete and starts over.
    const NetworkMode::Kind kind = ParseNetworkMode(existing->network_mode).kind;
    ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints, networks_->EndpointsOf(container_id));
    const bool released =
        (kind == NetworkMode::kBridge || kind == NetworkMode::kUser) && endpoints.empty();
    if (pinned && !released) {
      ASSIGN_OR_RETURN(Json settings, RenderSettings(*existing));
      return SandboxInfo{existing->netns_path, std::move(settings)};
    }
  }
  std::vector<std::string> link_hosts;
  if (mode.kind == NetworkMode::kBridge) {
    ASSIGN_OR_RETURN(link_hosts, LinkHosts(request));
  }
  const bool own = mode.kind != NetworkMode::kContainer;
  const std::string own_path = NetnsDir() + "/" + container_id;
  // A leftover file (pinned or not) without a complete sandbox: start over.
  RETURN_IF_ERROR(networks_->DisconnectAll(container_id));
  RETURN_IF_ERROR(RemovePinnedNetns(own_path));
  if (own) RETURN_IF_ERROR(CreatePinnedNetns(own_path));
  ASSIGN_OR_RETURN(Statement insert,
                   db_->Prepare("INSERT OR REPLACE INTO sandboxes (container_id, network_mode, "
                                "netns_path, created_at, container_name) VALUES (?, ?, ?, ?, ?)"));
  insert.Bind(1, container_id)
      .Bind(2, sandbox.network_mode)
      .Bind(3, sandbox.netns_path)
      .Bind(4, static_cast<int64_t>(time(nullptr)))
      .Bind(5, request.container_name);
  absl::Status status = insert.Run();
  // Before the endpoints: the DNS server starts with the first one.
  if (status.ok() && dns_ != nullptr) {
    status = dns_->SetUpstreams(container_id, StringsField(request.host_config, "Dns"));
  }
  if (status.ok() && (mode.kind == NetworkMode::kBridge || mode.kind == NetworkMode::kUser) &&
      sandbox.network_mode != "none") {
    const std::string network =
        mode.kind == NetworkMode::kBridge ? kDefaultBridgeNetwork : mode.target;
    status = ConnectAll(request, network, sandbox.netns_path);
    if (status.ok()) status = PublishPorts(request, network);
  }
  absl::StatusOr<Json> settings = status.ok() ? RenderSettings(sandbox) : status;
  if (!settings.ok()) {
    if (ports_ != nullptr) ports_->Unpublish(container_id).IgnoreError();
    networks_->DisconnectAll(container_id).IgnoreError();
    if (own) RemovePinnedNetns(own_path).IgnoreError();
    DeleteRow(container_id).IgnoreError();
    return settings.status();
  }
  spdlog::info("created network sandbox for container {} ({}) in {:.1f} ms", container_id,
               network_mode.empty() ? "default" : network_mode, MillisecondsSince(started));
  return SandboxInfo{sandbox.netns_path, std::move(*settings), std::move(link_hosts)};
}

absl::StatusOr<std::vector<std::string>> SandboxManager::LinkHosts(const SandboxRequest& request) {
  const Json& links = Field(request.host_config, "Links");
  if (!links.is_array() || links.empty()) return std::vector<std::string>();
  ASSIGN_OR_RETURN(std::vector<Sandbox> sandboxes, ListSandboxes());
  ASSIGN_OR_RETURN(Network bridge, networks_->GetNetwork(kDefaultBridgeNetwork));
  return LegacyLinkHosts(
      links, request.container_name, [&](const std::string& name) -> std::optional<LinkTarget> {
        for (const Sandbox& sandbox : sandboxes) {
          if (sandbox.container_name != name) continue;
          LinkTarget target{sandbox.container_id, 0};
          absl::StatusOr<std::vector<Endpoint>> endpoints =
              networks_->EndpointsOf(sandbox.container_id);
          for (const Endpoint& endpoint : endpoints.value_or(std::vector<Endpoint>())) {
            if (endpoint.network_id == bridge.id) target.address = endpoint.address;
          }
          return target;
        }
        return std::nullopt;
      });
}

absl::StatusOr<SandboxInfo> SandboxManager::GetSandbox(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<Sandbox> sandbox, FindRow(container_id));
  if (!sandbox) {
    return absl::NotFoundError(absl::StrCat("container ", container_id, " has no network sandbox"));
  }
  ASSIGN_OR_RETURN(Json settings, RenderSettings(*sandbox));
  return SandboxInfo{sandbox->netns_path, std::move(settings)};
}

absl::StatusOr<Json> SandboxManager::Connect(const std::string& container_id,
                                             const std::string& container_name,
                                             const std::string& network,
                                             const Json& endpoint_config) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<Sandbox> sandbox, FindRow(container_id));
  if (!sandbox) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", container_id, " is not running"));
  }
  const NetworkMode mode = ParseNetworkMode(sandbox->network_mode);
  if (mode.kind == NetworkMode::kNone) {
    return absl::FailedPreconditionError(
        "container cannot be connected to multiple networks with one of the networks in private "
        "(none) mode");
  }
  if (mode.kind == NetworkMode::kContainer) {
    return absl::FailedPreconditionError(
        "container sharing network namespace with another container or host cannot be connected "
        "to any other network");
  }
  ASSIGN_OR_RETURN(EndpointRequest request, ParseEndpointRequest(endpoint_config));
  RETURN_IF_ERROR(
      networks_->Connect(container_id, container_name, network, request, sandbox->netns_path)
          .status());
  return RenderSettings(*sandbox);
}

absl::StatusOr<Json> SandboxManager::Disconnect(const std::string& container_id,
                                                const std::string& network) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<Sandbox> sandbox, FindRow(container_id));
  if (!sandbox) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", container_id, " is not running"));
  }
  // A macvlan interface lives in the container's namespace only: it goes
  // with the endpoint, or its address could be handed out twice.
  ASSIGN_OR_RETURN(Network target, networks_->GetNetwork(network));
  std::string macvlan;
  if (target.IsMacvlan()) {
    ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints, networks_->EndpointsOf(container_id));
    for (const Endpoint& endpoint : endpoints) {
      if (endpoint.network_id == target.id) macvlan = endpoint.interface;
    }
  }
  RETURN_IF_ERROR(networks_->Disconnect(container_id, network));
  if (!macvlan.empty()) {
    RETURN_IF_ERROR(InNetns(sandbox->netns_path, [&] { return DeleteLink(macvlan); }));
  }
  return RenderSettings(*sandbox);
}

absl::StatusOr<Json> SandboxManager::Rename(const std::string& container_id,
                                            const std::string& container_name) {
  RETURN_IF_ERROR(ValidateContainerId(container_id));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<Sandbox> sandbox, FindRow(container_id));
  if (!sandbox) {
    return absl::NotFoundError(absl::StrCat("container ", container_id, " has no network sandbox"));
  }
  ASSIGN_OR_RETURN(Statement update, db_->Prepare("UPDATE sandboxes SET container_name = ? WHERE "
                                                  "container_id = ?"));
  RETURN_IF_ERROR(update.Bind(1, container_name).Bind(2, container_id).Run());
  RETURN_IF_ERROR(networks_->RenameContainer(container_id, container_name));
  sandbox->container_name = container_name;
  return RenderSettings(*sandbox);
}

absl::Status SandboxManager::RemoveSandbox(const std::string& container_id) {
  const auto started = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(ValidateContainerId(container_id));
  std::lock_guard<std::mutex> lock(mu_);
  // Ports before the endpoint they lead to.
  if (ports_ != nullptr) RETURN_IF_ERROR(ports_->Unpublish(container_id));
  {
    // Endpoints first: their rows are the address leases. Their veth pairs
    // are deleted after the reply: the kernel takes an RCU grace period per
    // link, and the container ends go away with the namespace unpinned here.
    DeferredDetachDriver::Deferral deferral;
    RETURN_IF_ERROR(networks_->DisconnectAll(container_id));
  }
  RETURN_IF_ERROR(RemovePinnedNetns(NetnsDir() + "/" + container_id));
  RETURN_IF_ERROR(DeleteRow(container_id));
  spdlog::info("removed network sandbox of container {} in {:.1f} ms", container_id,
               MillisecondsSince(started));
  return absl::OkStatus();
}

absl::Status SandboxManager::DeleteRow(const std::string& container_id) {
  ASSIGN_OR_RETURN(Statement del, db_->Prepare("DELETE FROM sandboxes WHERE container_id = ?"));
  return del.Bind(1, container_id).Run();
}

absl::Status SandboxManager::Close() {
  RETURN_IF_ERROR(networks_->Close());
  ASSIGN_OR_RETURN(std::vector<Sandbox> sandboxes, ListSandboxes());
  if (!sandboxes.empty()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(bool mounted, IsMountPoint(NetnsDir()));
  if (mounted && umount2(NetnsDir().c_str(), MNT_DETACH) != 0) {
    return LastErrnoStatus("unmount " + NetnsDir());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Sandbox>> SandboxManager::ListSandboxes() {
  ASSIGN_OR_RETURN(Statement query,
                   db_->Prepare("SELECT container_id, network_mode, netns_path, container_name "
                                "FROM sandboxes ORDER BY container_id"));
  std::vector<Sandbox> sandboxes;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    sandboxes.push_back(
        {query.ColumnText(0), query.ColumnText(1), query.ColumnText(2), query.ColumnText(3)});
  }
  return sandboxes;
}

}  // namespace berth::netd
