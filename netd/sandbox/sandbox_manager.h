// netd's local object: one network sandbox (a pinned network namespace) per
// container that does not use the host's network.
//
// Layout:
//   <state>/netd.db                 sandboxes(container_id TEXT PK, network_mode TEXT,
//                                   netns_path TEXT, created_at INTEGER)
//   <run>/netns/                    a private bind mount of itself
//   <run>/netns/<container_id>      an empty file with the nsfs of the namespace mounted on it
//
// The namespace is pinned before its row is written, and the row deleted
// after it is unpinned, so after a crash reconciliation only has to drop
// rows without a pinned file and unpin files without a row.
//
// Bridge networking (veth pairs, IPAM, DNS, port mappings) is a later step;
// it will hang off CreateSandbox for kBridge/kUser modes and record its
// endpoints next to the sandbox row. Until then "default"/"bridge" get the
// same loopback-only namespace as "none".
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/database.h"

namespace berth::netd {

struct Sandbox {
  std::string container_id;
  std::string network_mode;
  std::string netns_path;
};

class SandboxManager {
 public:
  // state_dir holds the database, run_dir the netns files. Reconciles both
  // with what is mounted.
  static absl::StatusOr<std::unique_ptr<SandboxManager>> Open(const std::string& state_dir,
                                                              const std::string& run_dir);

  // Returns the namespace path for the container to join, "" for the host's.
  // Creating an existing sandbox returns it.
  absl::StatusOr<std::string> CreateSandbox(const std::string& container_id,
                                            const std::string& network_mode);
  // Idempotent.
  absl::Status RemoveSandbox(const std::string& container_id);

  absl::StatusOr<std::vector<Sandbox>> ListSandboxes();

  // For a clean shutdown: when no sandbox is left, unmounts the netns
  // directory's own bind mount, so a stopped engine leaves no mount behind.
  // With sandboxes left (containers keep running while netd is stopped) it
  // keeps everything.
  absl::Status Close();

  std::string NetnsDir() const { return run_dir_ + "/netns"; }
  static const std::vector<std::string>& Migrations();

 private:
  SandboxManager(std::string run_dir, std::unique_ptr<Database> db)
      : run_dir_(std::move(run_dir)), db_(std::move(db)) {}
  absl::Status Reconcile();
  absl::Status DeleteRow(const std::string& container_id);

  const std::string run_dir_;
  std::unique_ptr<Database> db_;
  std::mutex mu_;
};

}  // namespace berth::netd
