#include "netd/sandbox/sandbox_manager.h"

#include <dirent.h>
#include <sys/mount.h>

#include <ctime>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mountinfo.h"
#include "common/status.h"
#include "netd/sandbox/netns.h"
#include "netd/sandbox/network_mode.h"

namespace berth::netd {
namespace {

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

}  // namespace

const std::vector<std::string>& SandboxManager::Migrations() {
  static const std::vector<std::string> migrations = {
      // 1: one row per pinned network namespace.
      "CREATE TABLE sandboxes ("
      "  container_id TEXT PRIMARY KEY,"
      "  network_mode TEXT NOT NULL,"
      "  netns_path TEXT NOT NULL,"
      "  created_at INTEGER NOT NULL);",
  };
  return migrations;
}

absl::StatusOr<std::unique_ptr<SandboxManager>> SandboxManager::Open(const std::string& state_dir,
                                                                     const std::string& run_dir) {
  RETURN_IF_ERROR(MakeDirs(state_dir, 0700));
  RETURN_IF_ERROR(MakeDirs(run_dir + "/netns", 0755));
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db,
                   Database::Open(state_dir + "/netd.db", Migrations()));
  std::unique_ptr<SandboxManager> manager(new SandboxManager(run_dir, std::move(db)));
  RETURN_IF_ERROR(MakePrivateMountDir(manager->NetnsDir()));
  RETURN_IF_ERROR(manager->Reconcile());
  return manager;
}

absl::Status SandboxManager::Reconcile() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::set<std::string> mounted, MountPoints());
  ASSIGN_OR_RETURN(std::vector<Sandbox> sandboxes, ListSandboxes());
  std::set<std::string> kept;
  for (const Sandbox& sandbox : sandboxes) {
    if (mounted.count(sandbox.netns_path) != 0) {
      kept.insert(sandbox.netns_path);
      continue;
    }
    spdlog::warn("dropping sandbox of container {}: {} is no longer pinned", sandbox.container_id,
                 sandbox.netns_path);
    RETURN_IF_ERROR(RemovePinnedNetns(sandbox.netns_path));
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
  spdlog::info("netd state reconciled: {} sandboxes kept, {} dropped, {} orphans removed",
               kept.size(), sandboxes.size() - kept.size(), orphans.size());
  return absl::OkStatus();
}

absl::StatusOr<std::string> SandboxManager::CreateSandbox(const std::string& container_id,
                                                          const std::string& network_mode) {
  RETURN_IF_ERROR(ValidateContainerId(container_id));
  const NetworkMode mode = ParseNetworkMode(network_mode);
  switch (mode.kind) {
    case NetworkMode::kHost:
      return std::string();
    case NetworkMode::kContainer:
      return absl::UnimplementedError(
          absl::StrCat("network mode \"", network_mode,
                       "\" (sharing another container's network namespace) is not supported yet"));
    case NetworkMode::kUser:
      // No user-defined networks exist yet; Docker's words for a missing one.
      return absl::NotFoundError(absl::StrCat("network ", mode.target, " not found"));
    case NetworkMode::kNone:
    case NetworkMode::kBridge:
      break;
  }

  std::lock_guard<std::mutex> lock(mu_);
  const std::string path = NetnsDir() + "/" + container_id;
  ASSIGN_OR_RETURN(bool pinned, IsMountPoint(path));
  if (pinned) {
    ASSIGN_OR_RETURN(Statement query,
                     db_->Prepare("SELECT 1 FROM sandboxes WHERE container_id = ?"));
    query.Bind(1, container_id);
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (row) return path;
  }
  // A leftover file (pinned or not) without a complete sandbox: start over.
  RETURN_IF_ERROR(RemovePinnedNetns(path));
  RETURN_IF_ERROR(CreatePinnedNetns(path));
  ASSIGN_OR_RETURN(Statement insert,
                   db_->Prepare("INSERT OR REPLACE INTO sandboxes (container_id, network_mode, "
                                "netns_path, created_at) VALUES (?, ?, ?, ?)"));
  insert.Bind(1, container_id)
      .Bind(2, network_mode)
      .Bind(3, path)
      .Bind(4, static_cast<int64_t>(time(nullptr)));
  absl::Status status = insert.Run();
  if (!status.ok()) {
    RemovePinnedNetns(path).IgnoreError();
    return status;
  }
  spdlog::info("created network sandbox for container {} ({})", container_id,
               network_mode.empty() ? "default" : network_mode);
  return path;
}

absl::Status SandboxManager::RemoveSandbox(const std::string& container_id) {
  RETURN_IF_ERROR(ValidateContainerId(container_id));
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(RemovePinnedNetns(NetnsDir() + "/" + container_id));
  return DeleteRow(container_id);
}

absl::Status SandboxManager::DeleteRow(const std::string& container_id) {
  ASSIGN_OR_RETURN(Statement del, db_->Prepare("DELETE FROM sandboxes WHERE container_id = ?"));
  return del.Bind(1, container_id).Run();
}

absl::Status SandboxManager::Close() {
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
                   db_->Prepare("SELECT container_id, network_mode, netns_path FROM sandboxes "
                                "ORDER BY container_id"));
  std::vector<Sandbox> sandboxes;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    sandboxes.push_back({query.ColumnText(0), query.ColumnText(1), query.ColumnText(2)});
  }
  return sandboxes;
}

}  // namespace berth::netd
