// netd's local object: one network sandbox (a pinned network namespace) per
// container that does not use the host's network, wired to its networks
// through NetworkManager.
//
// Layout:
//   <state>/netd.db                 sandboxes(container_id TEXT PK, network_mode TEXT,
//                                   netns_path TEXT, created_at INTEGER, container_name TEXT)
//                                   + networks, endpoints (netd/network/store.h)
//   <run>/netns/                    a private bind mount of itself
//   <run>/netns/<container_id>      an empty file with the nsfs of the namespace mounted on it
//
// The namespace is pinned before its row is written, and the row deleted
// after it is unpinned, so after a crash reconciliation only has to drop
// rows without a pinned file and unpin files without a row; endpoints of
// containers without a sandbox row are then released.
// A "container:<id>" sandbox pins nothing: its row points at the other
// container's namespace.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/database.h"
#include "common/json.h"
#include "netd/network/driver.h"
#include "netd/network/network_manager.h"
#include "netd/portmap/publisher.h"

namespace berth::netd {

namespace dns {
class DnsObserver;
}  // namespace dns

struct Sandbox {
  std::string container_id;
  std::string network_mode;
  std::string netns_path;
  std::string container_name;
};

// What runtimed knows of the container at start, as the client sent it.
struct SandboxRequest {
  std::string container_id;
  // Without the leading "/".
  std::string container_name;
  Json config = Json::object();
  Json host_config = Json::object();
  Json networking_config = Json::object();
};

struct SandboxInfo {
  // "" means the host's namespace.
  std::string netns_path;
  // Docker's NetworkSettings.
  Json network_settings;
  // /etc/hosts lines of --link on the default bridge ("<address>\t<names>").
  std::vector<std::string> link_hosts;
};

class SandboxManager {
 public:
  // state_dir holds the database, run_dir the netns files. Reconciles both
  // with what is mounted, then endpoints with sandboxes. The driver outlives
  // the manager.
  static absl::StatusOr<std::unique_ptr<SandboxManager>> Open(const std::string& state_dir,
                                                              const std::string& run_dir,
                                                              NetworkConfig config,
                                                              BridgeDriver* driver);

  // Creating an existing sandbox returns it. A failure leaves nothing behind.
  absl::StatusOr<SandboxInfo> CreateSandbox(const SandboxRequest& request);
  // Idempotent.
  absl::Status RemoveSandbox(const std::string& container_id);
  // NotFound when the container has no sandbox.
  absl::StatusOr<SandboxInfo> GetSandbox(const std::string& container_id);

  // docker network connect / disconnect on a running container; return the
  // container's NetworkSettings afterwards.
  absl::StatusOr<Json> Connect(const std::string& container_id, const std::string& container_name,
                               const std::string& network, const Json& endpoint_config);
  absl::StatusOr<Json> Disconnect(const std::string& container_id, const std::string& network);
  // docker rename of a running container: its NetworkSettings afterwards.
  // NotFound when it has no sandbox.
  absl::StatusOr<Json> Rename(const std::string& container_id, const std::string& container_name);

  absl::StatusOr<std::vector<Sandbox>> ListSandboxes();
  NetworkManager* networks() { return networks_.get(); }

  // Published ports and the embedded DNS server's --dns lists (netd/portmap,
  // netd/dns); either may be null. Set before serving; they outlive the manager.
  void SetEdge(PortPublisher* ports, dns::DnsObserver* dns) {
    ports_ = ports;
    dns_ = dns;
  }

  // For a clean shutdown: removes bridges no endpoint uses and, when no
  // sandbox is left, unmounts the netns directory's own bind mount, so a
  // stopped engine leaves nothing behind. With sandboxes left (containers
  // keep running while netd is stopped) it keeps them and their bridges.
  absl::Status Close();

  std::string NetnsDir() const { return run_dir_ + "/netns"; }
  static const std::vector<std::string>& Migrations();

 private:
  SandboxManager(std::string run_dir, std::unique_ptr<Database> db)
      : run_dir_(std::move(run_dir)), db_(std::move(db)) {}
  absl::Status Reconcile();
  absl::Status DeleteRow(const std::string& container_id);
  absl::StatusOr<std::optional<Sandbox>> FindRow(const std::string& container_id);
  absl::StatusOr<Json> RenderSettings(const Sandbox& sandbox);
  absl::Status ConnectAll(const SandboxRequest& request, const std::string& network,
                          const std::string& netns_path);
  absl::Status PublishPorts(const SandboxRequest& request, const std::string& network);
  absl::StatusOr<std::vector<std::string>> LinkHosts(const SandboxRequest& request);

  const std::string run_dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<NetworkManager> networks_;
  PortPublisher* ports_ = nullptr;
  dns::DnsObserver* dns_ = nullptr;
  // Serialises sandbox creation and removal; NetworkManager has its own lock.
  std::mutex mu_;
};

}  // namespace berth::netd
